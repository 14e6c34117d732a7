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
from outcome_pricing.kit.money import MICRO_PLACES, form_amount, places, to_decimal
from outcome_pricing.pricing.terms import (
    ACCOUNT_PRICE,
    DEFAULT_HOURS_PER_SEAT,
    Charge,
    Costs,
    Metric,
    Mode,
    Plan,
    Tier,
    costs_dict,
    plan_dict,
)

CENT_KEYS = frozenset({"platform_fee", "minimum", "cap"})  # whole cents; other amounts 6 decimals


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

        ``fields``: plan keys (platform_fee, minimum, cap, description);
        ``charges``: charge index (0-based) -> charge keys (included, price, ...).
        Numbers may be floats from a form: fees, minimum and cap are rounded to
        whole cents, other amounts to 6 decimals (`form_amount`), then validated.
        """
        data = _planset_dict(self)
        index = self.names.index(self.plan(plan).name)
        target = data["plans"][index]
        target.update(_from_form(fields or {}))
        for i, changes in (charges or {}).items():
            target["charges"][i].update(_from_form(changes))
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


def _from_form(values: Mapping[str, Any]) -> dict[str, Any]:
    """Form floats rounded to what their key allows: cents for `CENT_KEYS`, else 6 decimals."""
    return {
        key: form_amount(v, 2 if key in CENT_KEYS else MICRO_PLACES) if isinstance(v, float) else v
        for key, v in values.items()
    }


def _planset_dict(ps: PlanSet) -> dict[str, Any]:
    return {"plans": [plan_dict(p) for p in ps.plans], "costs": costs_dict(ps.costs)}


# ---------------------------------------------------------------------- reading
PLAN_KEYS = {"name", "description", "platform_fee", "minimum", "cap", "charges"}
CHARGE_KEYS = {"metric", "name", "included", "price", "tiers", "mode", "hours_per_seat"}
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
        self.no_unknown(where, raw, PLAN_KEYS)
        description = raw.get("description", "")
        if not isinstance(description, str):
            raise self.fail(where, "description", "must be text.")
        charges_raw = raw.get("charges", [])
        if not isinstance(charges_raw, list):
            raise self.fail(where, "charges", "must be a list of [[plans.charges]] tables.")
        return Plan(
            name=name.strip(),
            description=description,
            platform_fee=self.cents(where, raw, "platform_fee"),
            minimum=self.cents(where, raw, "minimum"),
            cap=self.cents(where, raw, "cap"),
            charges=tuple(self.charge(where, i, c) for i, c in enumerate(charges_raw, start=1)),
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
        label = raw.get("name", "")
        if not isinstance(label, str):
            raise self.fail(where, "name", "must be text.")
        has_price, has_tiers = "price" in raw, "tiers" in raw
        if has_price == has_tiers:
            raise self.fail(where, "price", "give exactly one of `price` (flat) or `tiers`.")
        if "mode" in raw and not has_tiers:
            raise self.fail(where, "mode", "only tiered charges have a mode; remove it or add `tiers`.")
        if "hours_per_seat" in raw and metric is not Metric.SEATS_NEEDED:
            raise self.fail(where, "hours_per_seat", "only applies to metric = \"seats_needed\".")
        # Three decimals keep seats_needed an exact integer ceiling (see charges.py).
        hours = self.amount(where, raw, "hours_per_seat", DEFAULT_HOURS_PER_SEAT, 3)
        if hours <= 0:
            raise self.fail(where, "hours_per_seat", f"must be greater than 0 (e.g. {DEFAULT_HOURS_PER_SEAT} hours a month).")
        charge = Charge(
            metric=metric,
            included=self.amount(where, raw, "included", Decimal(0), MICRO_PLACES),
            hours_per_seat=hours,
            label=label,
        )
        if has_tiers:
            return replace(charge, tiers=self.tiers(where, raw["tiers"]), mode=self.mode(where, raw))
        if raw["price"] == ACCOUNT_PRICE:
            return replace(charge, account_price=True)
        return replace(charge, price=self.amount(where, raw, "price", None, MICRO_PLACES))

    def mode(self, where: str, raw: dict[str, Any]) -> Mode:
        try:
            return Mode(raw.get("mode", Mode.GRADUATED.value))
        except ValueError:
            raise self.fail(where, "mode", f"{raw.get('mode')!r} is not a mode; use \"graduated\" or \"volume\".") from None

    def tiers(self, where: str, raw: Any) -> tuple[Tier, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail(where, "tiers", "must be a non-empty list like [ { up_to = 1000, price = 0.99 }, { price = 0.79 } ].")
        tiers: list[Tier] = []
        previous = Decimal(0)
        for i, t in enumerate(raw, start=1):
            tw = f"{where}, tier {i}"
            if not isinstance(t, dict):
                raise self.fail(tw, "tiers", "each tier must be a table { up_to = ..., price = ... }.")
            self.no_unknown(tw, t, {"up_to", "price"})
            if "price" not in t:
                raise self.fail(tw, "price", "every tier needs a price.")
            price = self.amount(tw, t, "price", None, MICRO_PLACES)
            last = i == len(raw)
            if last and "up_to" in t:
                raise self.fail(tw, "up_to", "the last tier must not have up_to (it covers everything above).")
            if not last and "up_to" not in t:
                raise self.fail(tw, "up_to", "every tier but the last needs up_to.")
            up_to = None if last else self.amount(tw, t, "up_to", None, MICRO_PLACES)
            if up_to is not None and up_to <= previous:
                raise self.fail(tw, "up_to", f"must be greater than the previous bound ({previous}).")
            previous = up_to if up_to is not None else previous
            tiers.append(Tier(up_to, price))
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
            tables[key] = {
                str(tier): self.amount(f"[costs].{key}", table, tier, None, MICRO_PLACES) for tier in table
            }
        return Costs(
            input_per_million=tables["input_per_million"],
            output_per_million=tables["output_per_million"],
            per_ai_task=self.amount("[costs]", raw, "per_ai_task", Decimal(0), MICRO_PLACES),
        )

    # -------------------------------------------------------------- values
    def no_unknown(self, where: str, raw: dict[str, Any], allowed: set[str]) -> None:
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise self.fail(where, unknown[0], f"unknown key; allowed keys are {', '.join(sorted(allowed))}.")

    def amount(
        self, where: str, raw: dict[str, Any], key: str, default: Decimal | None, max_places: int
    ) -> Decimal:
        if key not in raw:
            if default is None:
                raise self.fail(where, key, "is required.")
            return default
        if isinstance(raw[key], str):
            raise self.fail(where, key, f"{raw[key]!r} is text; write a number without quotes.")
        try:
            value = to_decimal(raw[key])
        except (TypeError, ArithmeticError):
            raise self.fail(where, key, f"{raw[key]!r} is not a number.") from None
        if not value.is_finite() or value < 0:
            raise self.fail(where, key, f"{raw[key]!r} must be a number >= 0.")
        if places(value) > max_places:
            raise self.fail(where, key, f"{raw[key]!r} has more than {max_places} decimal places.")
        return value

    def cents(self, where: str, raw: dict[str, Any], key: str) -> Decimal:
        """Fees, minimums and caps are whole cents (2 decimal places at most)."""
        return self.amount(where, raw, key, Decimal(0), 2)
