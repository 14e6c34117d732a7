"""The terms of a plan: what it bills, on which metric, at which price (DESIGN section 5).

Values only: `Metric`, `Charge` (flat or tiered, after an allowance), `Tier`,
`Plan` (platform fee, minimum, cap, charges), `Costs` (the vendor's cost to
serve), and their dict form (what a plans file holds and a version hashes).
Reading and validating a plans file is `plans.py`; the arithmetic is `charges.py`.

Money is Decimal: fees, minimums and caps in whole cents; prices, included
allowances and tier bounds with at most 6 decimals (see kit/money.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from outcome_pricing.kit.digest import canonical as canonical_json
from outcome_pricing.kit.digest import digest
from outcome_pricing.kit.money import form_amount, price_text

ACCOUNT_PRICE = "account"
DEFAULT_HOURS_PER_SEAT = Decimal(120)
DEFAULT_COST_TIER = "default"
MICRO_STEP = Decimal("0.000001")  # prices carry at most 6 decimals




class Metric(StrEnum):
    """What a charge counts, per account per month (tasks that closed in the month)."""

    SEATS = "seats"  # contracted seats (accounts.seats; 0 without an accounts row)
    SEATS_NEEDED = "seats_needed"  # ceil(human hours / hours_per_seat)
    CONVERSATIONS = "conversations"  # tasks with the AI live (ai_enabled)
    OUTCOMES = "outcomes"  # billable units under the chosen definition
    INPUT_TOKENS_M = "input_tokens_m"  # input tokens, in millions
    OUTPUT_TOKENS_M = "output_tokens_m"  # output tokens, in millions
    TASKS = "tasks"  # all tasks


class Mode(StrEnum):
    """How tiers price a quantity."""

    GRADUATED = "graduated"  # each band of the quantity at its own price
    VOLUME = "volume"  # the whole quantity at the price of the band it falls in


class LineKind(StrEnum):
    CHARGE = "charge"
    CAP = "cap"
    PLATFORM_FEE = "platform_fee"
    MINIMUM = "minimum"


@dataclass(frozen=True)
class Tier:
    """One band: quantities up to and including ``up_to`` (None = no upper bound)."""

    up_to: Decimal | None
    price: Decimal


@dataclass(frozen=True)
class Charge:
    """A usage charge on one metric: flat ``price`` or ``tiers``, after ``included`` free units."""

    metric: Metric
    included: Decimal = Decimal(0)
    price: Decimal | None = None
    tiers: tuple[Tier, ...] = ()
    mode: Mode = Mode.GRADUATED
    account_price: bool = False  # price = "account": the account's own seat price
    hours_per_seat: Decimal = DEFAULT_HOURS_PER_SEAT  # seats_needed only
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.metric.value

    @property
    def is_tiered(self) -> bool:
        return bool(self.tiers)

    def price_text(self) -> str:
        """The unit price as a statement shows it."""
        if self.account_price:
            return "account seat price"
        if not self.tiers:
            return price_text(self.price or Decimal(0))
        bands = []
        low = Decimal(0)
        for tier in self.tiers:
            span = f"{low}-{tier.up_to}" if tier.up_to is not None else f"over {low}"
            bands.append(f"{span}: {price_text(tier.price)}")
            low = tier.up_to if tier.up_to is not None else low
        return f"{self.mode.value}: " + "; ".join(bands)


@dataclass(frozen=True)
class Plan:
    name: str
    description: str = ""
    platform_fee: Decimal = Decimal(0)
    minimum: Decimal = Decimal(0)
    cap: Decimal = Decimal(0)
    charges: tuple[Charge, ...] = ()

    def outcome_price(self) -> Decimal | None:
        """The plan's per-outcome price: that of its first outcome charge at a set price (not
        an account's own), flat or its first tier's; None without such a charge."""
        charge = next((c for c in self.charges if c.metric is Metric.OUTCOMES and not c.account_price), None)
        if charge is None:
            return None
        return charge.price if charge.price is not None else charge.tiers[0].price

    def with_outcome_price(self, price: Decimal | float) -> Plan:
        """This plan with its outcome price set to ``price`` (for price sweeps and the form).

        A flat outcome charge gets the new price; a tiered one has every tier
        scaled so its first tier costs ``price`` (the ladder keeps its shape).
        A float (from a form) is rounded to 6 decimals first (`form_amount`).
        """
        if isinstance(price, float):
            price = form_amount(price)
        charges = []
        for charge in self.charges:
            if charge.metric is Metric.OUTCOMES and not charge.account_price:
                charge = _reprice(charge, price)
            charges.append(charge)
        return replace(self, charges=tuple(charges))

    @property
    def has_outcome_charge(self) -> bool:
        return any(c.metric is Metric.OUTCOMES for c in self.charges)

    # ------------------------------------------------------------------ identity
    def terms(self) -> dict[str, Any]:
        """What the plan bills (fees, minimum, cap, charges): no name or description."""
        terms = plan_dict(self)
        del terms["name"]
        terms.pop("description", None)
        return terms

    def canonical(self) -> str:
        """The canonical form hashed into `version`: sorted keys, compact JSON."""
        return canonical_json(self.terms())

    @property
    def version(self) -> str:
        """10 hex characters of the sha256 of the canonical terms: like a definition's
        version, the same terms under another name (or description) have the same version."""
        return digest(self.canonical())


def _reprice(charge: Charge, price: Decimal) -> Charge:
    if not charge.tiers:
        return replace(charge, price=price)
    first = charge.tiers[0].price
    factor = price / first if first else Decimal(0)
    tiers = tuple(
        Tier(t.up_to, price if not first else (t.price * factor).quantize(MICRO_STEP, rounding=ROUND_HALF_UP))
        for t in charge.tiers
    )
    return replace(charge, tiers=tiers)


@dataclass(frozen=True)
class Costs:
    """The vendor's cost to serve: token prices per million by model tier, and per AI task.

    A model tier without an entry uses the ``default`` entry if there is one,
    else its tokens cost nothing.
    """

    input_per_million: dict[str, Decimal] = field(default_factory=dict)
    output_per_million: dict[str, Decimal] = field(default_factory=dict)
    per_ai_task: Decimal = Decimal(0)

    def token_price(self, direction: str, tier: str | None) -> Decimal:
        table = self.input_per_million if direction == "input" else self.output_per_million
        if tier is not None and tier in table:
            return table[tier]
        return table.get(DEFAULT_COST_TIER, Decimal(0))


# ---------------------------------------------------------------------- as TOML tables
# The dict form of the terms: what plans files hold, and what versions hash.
def _number(value: Decimal) -> Decimal | int:
    return int(value) if value == value.to_integral_value() else value


def _charge_dict(c: Charge) -> dict[str, Any]:
    out: dict[str, Any] = {"metric": c.metric.value}
    if c.label:
        out["name"] = c.label
    if c.included:
        out["included"] = _number(c.included)
    if c.metric is Metric.SEATS_NEEDED:
        out["hours_per_seat"] = _number(c.hours_per_seat)
    if c.account_price:
        out["price"] = ACCOUNT_PRICE
    elif c.tiers:
        out["mode"] = c.mode.value
        out["tiers"] = [
            {"price": t.price} if t.up_to is None else {"up_to": _number(t.up_to), "price": t.price}
            for t in c.tiers
        ]
    else:
        out["price"] = c.price
    return out


def plan_dict(p: Plan) -> dict[str, Any]:
    d: dict[str, Any] = {"name": p.name}
    if p.description:
        d["description"] = p.description
    d.update(platform_fee=p.platform_fee, minimum=p.minimum, cap=p.cap)
    d["charges"] = [_charge_dict(c) for c in p.charges]
    return d


def costs_dict(costs: Costs) -> dict[str, Any]:
    return {
        "input_per_million": dict(costs.input_per_million),
        "output_per_million": dict(costs.output_per_million),
        "per_ai_task": costs.per_ai_task,
    }
