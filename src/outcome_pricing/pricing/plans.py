"""Plan sets and the plans file: several plans and the cost to serve, read from TOML (DESIGN section 5).

The terms themselves (Metric, Charge, Tier, Plan, Costs) are values in `terms.py`;
this module holds the `PlanSet` and the strict reading of its TOML.

A plan is a platform fee plus charges on metrics, per account per month, with
an optional monthly minimum and a cap on usage charges::

    [[plans]]
    name = "outcome-tiered"
    platform_fee = 0.0
    minimum = 0.0
    cap = 0.0
      [[plans.charges]]
      metric = "outcomes"
      included = 50
      mode = "graduated"
      tiers = [ { up_to = 1000, price = 0.99 }, { price = 0.79 } ]

    [costs]
    input_per_million = { standard = 0.40, advanced = 3.00, default = 0.40 }
    output_per_million = { standard = 1.60, advanced = 15.00 }
    per_ai_task = 0.002

``price = "account"`` on a flat charge bills each account at its own current
seat price (``accounts.seat_price``): that is how "today's seat plan" is
written, since seat prices were negotiated account by account.

Money is Decimal: fees, minimums and caps in whole cents; prices, included
allowances and tier bounds with at most 6 decimals (the backtest computes in
exact integers of millionths, see money.py). Anything else is refused with a
ConfigError naming the plan, the charge (number and metric) and the key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import tomli_w

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit import tomlio
from outcome_pricing.kit.digest import canonical as canonical_json
from outcome_pricing.kit.digest import digest
from outcome_pricing.kit.money import MICRO_PLACES, form_amount
from outcome_pricing.pricing import bounds
from outcome_pricing.pricing.deal_terms import DEAL_KEYS, read_deal
from outcome_pricing.pricing.terms import (
    ACCOUNT_PRICE,
    BY_METRICS,
    DEFAULT_AUDIT_WINDOW_MONTHS,
    DEFAULT_CLOSE_LAG_DAYS,
    DEFAULT_HOURS_PER_SEAT,
    DEFAULT_PRICE_KEY,
    DEFAULT_ROLLOVER_MAX_PCT,
    Charge,
    Commitment,
    Costs,
    Dimension,
    Metric,
    Mode,
    Plan,
    Settlement,
    Tier,
    costs_dict,
    plan_dict,
)

CENT_KEYS = frozenset({"platform_fee", "minimum", "cap", "amount"})  # whole cents; other amounts 6 decimals


@dataclass(frozen=True)
class PlanSet:
    """Several plans compared on the same history, plus the cost to serve."""

    plans: tuple[Plan, ...]
    costs: Costs = field(default_factory=Costs)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.plans)

    def plan(self, name: str) -> Plan:
        for p in self.plans:
            if p.name == name:
                return p
        raise ConfigError(
            f"There is no plan named {name!r}. Plans in this set: {', '.join(self.names)}."
        )

    # The one place the default plans are decided (backtest, sweep, overview, ROI, app).
    def default_reference(self) -> str:
        """The plan changes are measured against by default: the first plan (today's bill)."""
        return self.plans[0].name

    def default_proposed(self) -> str:
        """The plan proposed by default: the first with an outcome charge, else the last plan."""
        return next((p.name for p in self.plans if p.has_outcome_charge), self.plans[-1].name)

    def replace_plan(self, plan: Plan) -> PlanSet:
        """A copy with the plan of the same name replaced (used by the Price lab form)."""
        return replace(self, plans=tuple(plan if p.name == plan.name else p for p in self.plans))

    def edited(
        self,
        plan: str,
        fields: Mapping[str, Any] | None = None,
        charges: Mapping[int, Mapping[str, Any]] | None = None,
        source: str = "plan form",
    ) -> PlanSet:
        """A copy with one plan's keys changed, validated like a TOML file.

        ``fields``: plan keys (platform_fee, minimum, cap, description, close_lag_days,
        commitment = {"amount": 1000.0, "months": 12, "rollover": True, ...});
        ``charges``: charge index (0-based) -> charge keys (included, price, block,
        by = "model_tier" with prices = {"advanced": 1.49, "default": 0.99}, tiers
        with flat, ...). A value of None removes the key (e.g. ``price=None`` when
        switching a flat charge to ``by``; ``commitment=None`` drops the commitment).
        Numbers may be floats from a form: fees, minimum, cap and the commitment
        amount are rounded to whole cents, other amounts to 6 decimals
        (`form_amount`), then validated.
        """
        data = _planset_dict(self)
        index = self.names.index(self.plan(plan).name)
        target = data["plans"][index]
        _update(target, fields or {})
        for i, changes in (charges or {}).items():
            _update(target["charges"][i], changes)
        return _Parser(source).planset(data)

    # ------------------------------------------------------------------ TOML
    @classmethod
    def from_toml(cls, path: str | Path) -> PlanSet:
        return cls.from_toml_text(tomlio.read_text(path, "the plans file"), source=str(path))

    @classmethod
    def from_toml_text(cls, text: str, source: str = "plans") -> PlanSet:
        return _Parser(source).planset(tomlio.parse(text, source))

    def to_toml(self) -> str:
        return tomli_w.dumps(_planset_dict(self))

    # ------------------------------------------------------------------ identity
    def canonical(self) -> str:
        """The canonical form hashed into `version`: every plan's name and terms (names
        pick the reference and proposed plans, so they count; descriptions do not) and
        the costs, as sorted-key compact JSON."""
        plans = [{"name": p.name, **p.terms()} for p in self.plans]
        return canonical_json({"plans": plans, "costs": costs_dict(self.costs)})

    @property
    def version(self) -> str:
        """10 hex characters of the sha256 of the canonical plan set."""
        return digest(self.canonical())


def _from_form(key: str, value: Any) -> Any:
    """Form floats rounded to what their key allows: cents for `CENT_KEYS`, else 6 decimals
    (inside tables and lists too: a commitment, prices by dimension, tiers)."""
    if isinstance(value, float):
        return form_amount(value, 2 if key in CENT_KEYS else MICRO_PLACES) if math.isfinite(value) else value
    if isinstance(value, Mapping):
        return {k: _from_form(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_from_form(key, v) for v in value]
    return value


def _update(target: dict[str, Any], changes: Mapping[str, Any]) -> None:
    for key, value in changes.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = _from_form(key, value)


def _planset_dict(ps: PlanSet) -> dict[str, Any]:
    return {"plans": [plan_dict(p) for p in ps.plans], "costs": costs_dict(ps.costs)}


# ---------------------------------------------------------------------- reading
PLAN_KEYS = {"name", "description", "platform_fee", "minimum", "cap", "charges", "close_lag_days", "commitment"}
PLAN_KEYS |= DEAL_KEYS  # DESIGN 11: charge_from, free_months, implementation_cost, hourly_cost_default, guarantee
CHARGE_KEYS = {
    "metric", "name", "included", "price", "tiers", "mode", "hours_per_seat", "block", "by", "prices",
    "audit_settlement", "audit_window_months",
}
TIER_KEYS = {"up_to", "price", "flat"}
COMMITMENT_KEYS = {"amount", "months", "rollover", "rollover_max_pct"}
COST_KEYS = {"input_per_million", "output_per_million", "per_ai_task"}


class _Parser:
    """Strict reading of a plans TOML: every problem names where it is and how to fix it."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {where}, key '{key}': {problem}")

    def planset(self, data: dict[str, Any]) -> PlanSet:
        unknown = set(data) - {"plans", "costs"}
        if unknown:
            raise self.fail("top level", sorted(unknown)[0], "unknown key; expected [[plans]] and [costs].")
        raw_plans = data.get("plans")
        if not isinstance(raw_plans, list) or not raw_plans:
            raise self.fail("top level", "plans", "at least one [[plans]] table is required.")
        bounds.count(self.fail, "top level", "plans", raw_plans, bounds.MAX_PLANS)
        plans = tuple(self.plan(i, raw) for i, raw in enumerate(raw_plans, start=1))
        seen: set[str] = set()
        for p in plans:
            if p.name in seen:
                raise self.fail(f"plan '{p.name}'", "name", "two plans have this name; names must be unique.")
            seen.add(p.name)
        return PlanSet(plans, self.costs(data.get("costs", {})))

    def plan(self, index: int, raw: Any) -> Plan:
        if not isinstance(raw, dict):
            raise self.fail(f"plan {index}", "plans", "each plan must be a [[plans]] table.")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.fail(f"plan {index}", "name", "every plan needs a non-empty name.")
        where = f"plan '{name}'"
        bounds.text(self.fail, where, raw, "name")
        self.no_unknown(where, raw, PLAN_KEYS)
        charges_raw = raw.get("charges", [])
        if not isinstance(charges_raw, list):
            raise self.fail(where, "charges", "must be a list of [[plans.charges]] tables.")
        bounds.count(self.fail, where, "charges", charges_raw, bounds.MAX_CHARGES)
        plan = Plan(
            name=name.strip(),
            description=bounds.text(self.fail, where, raw, "description"),
            platform_fee=self.cents(where, raw, "platform_fee"),
            minimum=self.cents(where, raw, "minimum"),
            cap=self.cents(where, raw, "cap"),
            charges=tuple(self.charge(where, i, c) for i, c in enumerate(charges_raw, start=1)),
            close_lag_days=bounds.integer(
                self.fail, where, raw, "close_lag_days", DEFAULT_CLOSE_LAG_DAYS, 0, bounds.MAX_CLOSE_LAG_DAYS
            ),
            commitment=self.commitment(where, raw["commitment"]) if "commitment" in raw else None,
            deal=read_deal(self.fail, where, raw, [c.get("metric") for c in charges_raw if isinstance(c, dict)]),
        )
        if plan.commitment is not None and plan.minimum > 0:
            raise self.fail(where, "minimum", "a plan with a [plans.commitment] takes no minimum "
                            "(the commitment is the least it bills); remove one of them.")
        return plan

    def commitment(self, plan_where: str, raw: Any) -> Commitment:
        where = f"{plan_where}, commitment"
        if not isinstance(raw, dict):
            raise self.fail(where, "commitment", "must be a table [plans.commitment] with amount and months.")
        self.no_unknown(where, raw, COMMITMENT_KEYS)
        amount = bounds.number(self.fail, where, raw, "amount", None, 2, bounds.MAX_FEE, positive=True)
        rollover = bounds.boolean(self.fail, where, raw, "rollover", False)
        if "rollover_max_pct" in raw and not rollover:
            raise self.fail(where, "rollover_max_pct", "only applies with rollover = true.")
        return Commitment(
            amount=amount,
            months=bounds.integer(self.fail, where, raw, "months", None, 1, bounds.MAX_MONTHS),
            rollover=rollover,
            rollover_max_pct=bounds.number(
                self.fail, where, raw, "rollover_max_pct", DEFAULT_ROLLOVER_MAX_PCT, MICRO_PLACES, Decimal(1)
            ),
        )

    def charge(self, plan_where: str, index: int, raw: Any) -> Charge:
        if not isinstance(raw, dict):
            raise self.fail(f"{plan_where}, charge {index}", "charges", "must be a table.")
        metric_raw = raw.get("metric")
        try:
            metric = Metric(metric_raw if isinstance(metric_raw, str) else "")
        except ValueError:
            raise self.fail(
                f"{plan_where}, charge {index}",
                "metric",
                f"{metric_raw!r} is not a metric; use one of {', '.join(m.value for m in Metric)}.",
            ) from None
        where = f"{plan_where}, charge {index} ({metric.value})"
        self.no_unknown(where, raw, CHARGE_KEYS)
        self.check_shape(where, raw, metric)
        # Three decimals keep seats_needed an exact integer ceiling (see charges.py).
        hours = bounds.number(self.fail, where, raw, "hours_per_seat", DEFAULT_HOURS_PER_SEAT, 3,
                              bounds.MAX_HOURS_PER_SEAT, positive=True)
        charge = Charge(
            metric=metric,
            included=self.quantity(where, raw, "included", Decimal(0)),
            hours_per_seat=hours,
            label=bounds.text(self.fail, where, raw, "name"),
            block=self.quantity(where, raw, "block", None, positive=True) if "block" in raw else None,
            audit_settlement=self.settlement(where, raw),
            audit_window_months=bounds.integer(
                self.fail, where, raw, "audit_window_months", DEFAULT_AUDIT_WINDOW_MONTHS, 1, bounds.MAX_MONTHS
            ),
        )
        if "tiers" in raw:
            return replace(charge, tiers=self.tiers(where, raw["tiers"]), mode=self.mode(where, raw))
        if "by" in raw:
            return replace(charge, by=self.dimension(where, raw), prices=self.prices(where, raw.get("prices")))
        if raw["price"] == ACCOUNT_PRICE:
            return replace(charge, account_price=True)
        return replace(charge, price=self.price(where, raw, "price"))

    def check_shape(self, where: str, raw: dict[str, Any], metric: Metric) -> None:
        """Refuse combinations of keys that make no sense, naming the key to remove."""
        shapes = [k for k in ("price", "tiers", "by") if k in raw]
        if "by" in raw and len(shapes) > 1:
            other = "tiers" if "tiers" in raw else "price"
            raise self.fail(where, "by", f"a charge priced `by` a dimension takes no `{other}` "
                            "(its `prices` are flat per unit); remove one of them.")
        if len(shapes) != 1:
            raise self.fail(where, "price", "give exactly one of `price` (flat), `tiers`, or `by` with `prices`.")
        if "prices" in raw and "by" not in raw:
            raise self.fail(where, "prices", "`prices` go with `by` (e.g. by = \"model_tier\"); "
                            "for one price write `price`.")
        if "mode" in raw and "tiers" not in raw:
            raise self.fail(where, "mode", "only tiered charges have a mode; remove it or add `tiers`.")
        if "hours_per_seat" in raw and metric is not Metric.SEATS_NEEDED:
            raise self.fail(where, "hours_per_seat", "only applies to metric = \"seats_needed\".")
        if "by" in raw:
            for key in ("included", "block"):
                if key in raw:
                    raise self.fail(where, key, "a charge priced `by` a dimension takes no "
                                    f"{'allowance' if key == 'included' else 'blocks'} (flat per unit); remove it.")
            if metric.value not in BY_METRICS:
                raise self.fail(where, "by", f"metric {metric.value!r} cannot be priced by dimension; "
                                f"use one of {', '.join(sorted(BY_METRICS))}.")
        if "block" in raw and raw.get("price") == ACCOUNT_PRICE:
            raise self.fail(where, "block", "the account's seat price is per seat; remove `block` "
                            "or write a price per block.")
        for key in ("audit_settlement", "audit_window_months"):
            if key in raw and metric is not Metric.OUTCOMES:
                raise self.fail(where, key, "audit settlement only applies to metric = \"outcomes\".")

    def settlement(self, where: str, raw: dict[str, Any]) -> Settlement:
        value = raw.get("audit_settlement", Settlement.NONE.value)
        try:
            return Settlement(value if isinstance(value, str) else "")
        except ValueError:
            raise self.fail(where, "audit_settlement", f"{value!r} is not a settlement; use "
                            f"{', '.join(repr(s.value) for s in Settlement)}.") from None

    def dimension(self, where: str, raw: dict[str, Any]) -> Dimension:
        value = raw["by"]
        try:
            return Dimension(value if isinstance(value, str) else "")
        except ValueError:
            raise self.fail(where, "by", f"{value!r} is not a dimension; use "
                            f"{', '.join(repr(d.value) for d in Dimension)}.") from None

    def prices(self, where: str, raw: Any) -> tuple[tuple[str, Decimal], ...]:
        if not isinstance(raw, dict) or not raw:
            raise self.fail(where, "prices", "must be a table like { advanced = 1.49, default = 0.99 }.")
        bounds.count(self.fail, where, "prices", raw, bounds.MAX_PRICES)
        if DEFAULT_PRICE_KEY not in raw:
            raise self.fail(where, "prices", f"needs a `{DEFAULT_PRICE_KEY}` price for every value not listed (and empty ones).")
        listed = []
        for value in raw:
            if not value.strip() or len(value) > bounds.MAX_TEXT:
                raise self.fail(where, "prices", f"{value!r} is not a value to price; use a non-empty name.")
            if value != DEFAULT_PRICE_KEY:
                listed.append((value, self.price(f"{where}, prices", raw, value)))
        return (*sorted(listed), (DEFAULT_PRICE_KEY, self.price(f"{where}, prices", raw, DEFAULT_PRICE_KEY)))

    def mode(self, where: str, raw: dict[str, Any]) -> Mode:
        try:
            return Mode(raw.get("mode", Mode.GRADUATED.value))
        except (ValueError, TypeError):
            raise self.fail(where, "mode", f"{raw.get('mode')!r} is not a mode; use \"graduated\" or \"volume\".") from None

    def tiers(self, where: str, raw: Any) -> tuple[Tier, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail(where, "tiers", "must be a non-empty list like [ { up_to = 1000, price = 0.99 }, { price = 0.79 } ].")
        bounds.count(self.fail, where, "tiers", raw, bounds.MAX_TIERS)
        tiers: list[Tier] = []
        previous = Decimal(0)
        for i, t in enumerate(raw, start=1):
            tw = f"{where}, tier {i}"
            if not isinstance(t, dict):
                raise self.fail(tw, "tiers", "each tier must be a table { up_to = ..., price = ... }.")
            self.no_unknown(tw, t, TIER_KEYS)
            if "price" not in t and "flat" not in t:
                raise self.fail(tw, "price", "every tier needs a price (or a flat fee).")
            price = self.price(tw, t, "price", Decimal(0))
            flat = bounds.number(self.fail, tw, t, "flat", Decimal(0), MICRO_PLACES, bounds.MAX_FEE)
            last = i == len(raw)
            if last and "up_to" in t:
                raise self.fail(tw, "up_to", "the last tier must not have up_to (it covers everything above).")
            if not last and "up_to" not in t:
                raise self.fail(tw, "up_to", "every tier but the last needs up_to.")
            up_to = None if last else self.quantity(tw, t, "up_to", None)
            if up_to is not None and up_to <= previous:
                raise self.fail(tw, "up_to", f"must be greater than the previous bound ({previous}).")
            previous = up_to if up_to is not None else previous
            tiers.append(Tier(up_to, price, flat))
        return tuple(tiers)

    def costs(self, raw: Any) -> Costs:
        if not isinstance(raw, dict):
            raise self.fail("[costs]", "costs", "must be a table.")
        self.no_unknown("[costs]", raw, COST_KEYS)
        tables: dict[str, dict[str, Decimal]] = {}
        for key in ("input_per_million", "output_per_million"):
            table = raw.get(key, {})
            if not isinstance(table, dict):
                raise self.fail("[costs]", key, "must be a table of model tier = price per million tokens.")
            bounds.count(self.fail, "[costs]", key, table, bounds.MAX_PRICES)
            tables[key] = {
                str(tier): bounds.number(self.fail, f"[costs].{key}", table, tier, None, MICRO_PLACES, bounds.MAX_COST)
                for tier in table
            }
        return Costs(
            input_per_million=tables["input_per_million"],
            output_per_million=tables["output_per_million"],
            per_ai_task=bounds.number(self.fail, "[costs]", raw, "per_ai_task", Decimal(0), MICRO_PLACES, bounds.MAX_COST),
        )

    # -------------------------------------------------------------- values
    def no_unknown(self, where: str, raw: dict[str, Any], allowed: set[str]) -> None:
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise self.fail(where, unknown[0], f"unknown key; allowed keys are {', '.join(sorted(allowed))}.")

    def price(self, where: str, raw: dict[str, Any], key: str, default: Decimal | None = None) -> Decimal:
        """A unit price: at most 6 decimals, at most MAX_PRICE."""
        return bounds.number(self.fail, where, raw, key, default, MICRO_PLACES, bounds.MAX_PRICE)

    def quantity(self, where: str, raw: dict[str, Any], key: str, default: Decimal | None,
                 positive: bool = False) -> Decimal:
        """A count of units (included, up_to, block): at most 6 decimals, at most MAX_QUANTITY."""
        return bounds.number(self.fail, where, raw, key, default, MICRO_PLACES, bounds.MAX_QUANTITY, positive)

    def cents(self, where: str, raw: dict[str, Any], key: str) -> Decimal:
        """Fees, minimums and caps are whole cents (2 decimal places at most)."""
        return bounds.number(self.fail, where, raw, key, Decimal(0), 2, bounds.MAX_FEE)
