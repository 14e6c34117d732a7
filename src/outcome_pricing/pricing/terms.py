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
from outcome_pricing.pricing.deal_terms import DealTerms, deal_dict

ACCOUNT_PRICE = "account"
DEFAULT_HOURS_PER_SEAT = Decimal(120)
DEFAULT_COST_TIER = "default"
MICRO_STEP = Decimal("0.000001")  # prices carry at most 6 decimals
DEFAULT_PRICE_KEY = "default"  # prices by dimension: the price of every value not listed
DEFAULT_AUDIT_WINDOW_MONTHS = 3
DEFAULT_CLOSE_LAG_DAYS = 0
DEFAULT_ROLLOVER_MAX_PCT = Decimal(1)


class Metric(StrEnum):
    """What a charge counts, per account per month (tasks that closed in the month)."""

    SEATS = "seats"  # contracted seats (accounts.seats; 0 without an accounts row)
    SEATS_NEEDED = "seats_needed"  # ceil(human hours / hours_per_seat)
    CONVERSATIONS = "conversations"  # tasks with the AI live (ai_enabled)
    OUTCOMES = "outcomes"  # billable units under the chosen definition
    INPUT_TOKENS_M = "input_tokens_m"  # input tokens, in millions
    OUTPUT_TOKENS_M = "output_tokens_m"  # output tokens, in millions
    TASKS = "tasks"  # all tasks
    SAVINGS_USD = "savings_usd"  # labour saved by the AI, in dollars (DESIGN 11 gain-share)


class Mode(StrEnum):
    """How tiers price a quantity."""

    GRADUATED = "graduated"  # each band of the quantity at its own price
    VOLUME = "volume"  # the whole quantity at the price of the band it falls in


class Dimension(StrEnum):
    """What a charge with ``by`` prices separately (DESIGN 10: prices by dimension)."""

    MODEL_TIER = "model_tier"
    CHANNEL = "channel"
    TOPIC = "topic"


class Settlement(StrEnum):
    """Audit settlement of an outcomes charge (DESIGN 9): which false-resolution rate
    reduces the outcomes metric before the allowance and tiers."""

    NONE = "none"
    POINT = "point"  # the point estimate x/n
    UPPER_BOUND = "upper_bound"  # the Wilson upper bound


# The metrics a charge may price by dimension (DESIGN 10).
BY_METRICS = frozenset({"outcomes", "conversations", "tasks", "input_tokens_m", "output_tokens_m"})

DIMENSION_WORDS = {"model_tier": "model tier", "channel": "channel", "topic": "topic"}

# Each metric in words, for statement lines.
METRIC_WORDS = {
    "seats": "contracted seats",
    "seats_needed": "seats needed",
    "conversations": "conversations",
    "outcomes": "outcomes",
    "input_tokens_m": "input tokens (millions)",
    "output_tokens_m": "output tokens (millions)",
    "tasks": "tasks",
    "savings_usd": "labour savings (USD)",
}


class LineKind(StrEnum):
    """The kinds of statement lines, in the order DESIGN 11 lists them."""

    CHARGE = "charge"
    CAP = "cap"
    PLATFORM_FEE = "platform_fee"
    MINIMUM = "minimum"
    COMMITMENT = "commitment"
    DRAWDOWN = "drawdown"
    GUARANTEE = "guarantee"  # a guarantee window's credit (DESIGN 11)


@dataclass(frozen=True)
class Tier:
    """One band: quantities up to and including ``up_to`` (None = no upper bound)."""

    up_to: Decimal | None
    price: Decimal
    flat: Decimal = Decimal(0)  # a fixed amount for reaching the band (DESIGN 10)


@dataclass(frozen=True)
class Charge:
    """A usage charge on one metric: flat ``price`` or ``tiers``, after ``included`` free units;
    or ``by`` a dimension with ``prices`` per value (a ``default`` for the rest).

    ``block``: bill whole blocks of this many units (rounded up) after the allowance;
    the price and tier bounds then count blocks. ``audit_settlement`` and
    ``audit_window_months`` (outcomes only, DESIGN 9) reduce the outcomes metric by
    the audited false-resolution rate (see metrics.outcomes_metric).
    """

    metric: Metric
    included: Decimal = Decimal(0)
    price: Decimal | None = None
    tiers: tuple[Tier, ...] = ()
    mode: Mode = Mode.GRADUATED
    account_price: bool = False  # price = "account": the account's own seat price
    hours_per_seat: Decimal = DEFAULT_HOURS_PER_SEAT  # seats_needed only
    label: str = ""
    block: Decimal | None = None
    by: Dimension | None = None
    prices: tuple[tuple[str, Decimal], ...] = ()  # (value, price), `default` last
    audit_settlement: Settlement = Settlement.NONE
    audit_window_months: int = DEFAULT_AUDIT_WINDOW_MONTHS

    @property
    def name(self) -> str:
        return self.label or METRIC_WORDS[self.metric.value]

    @property
    def listed_values(self) -> tuple[str, ...]:
        """The dimension values with their own price (``by`` charges; without `default`)."""
        return tuple(v for v, _ in self.prices if v != DEFAULT_PRICE_KEY)

    @property
    def settlement_key(self) -> tuple[str, int] | None:
        """Which settled outcomes metric this charge prices (None: the billable units as counted)."""
        if self.metric is not Metric.OUTCOMES or self.audit_settlement is Settlement.NONE:
            return None
        return (self.audit_settlement.value, self.audit_window_months)

    def price_of(self, value: str) -> Decimal:
        """The price of one dimension value (a listed value, or `default`)."""
        return dict(self.prices)[value]

    @property
    def is_tiered(self) -> bool:
        return bool(self.tiers)

    def price_text(self) -> str:
        """The unit price as a statement shows it."""
        if self.account_price:
            return "account seat price"
        per = f" per block of {self.block.normalize():f}" if self.block is not None else ""
        if not self.tiers:
            return price_text(self.price or Decimal(0)) + per
        bands = []
        low = Decimal(0)
        for tier in self.tiers:
            span = f"{low}-{tier.up_to}" if tier.up_to is not None else f"over {low}"
            flat = f" + {price_text(tier.flat)} flat" if tier.flat else ""
            bands.append(f"{span}: {price_text(tier.price)}{flat}")
            low = tier.up_to if tier.up_to is not None else low
        return f"{self.mode.value}{per}: " + "; ".join(bands)


@dataclass(frozen=True)
class Commitment:
    """A prepaid commitment (DESIGN 10): ``amount`` billed at the start of every period
    of ``months``, drawn down by usage; the rest expires (breakage) or rolls over,
    up to ``rollover_max_pct`` x amount."""

    amount: Decimal
    months: int
    rollover: bool = False
    rollover_max_pct: Decimal = DEFAULT_ROLLOVER_MAX_PCT


@dataclass(frozen=True)
class Plan:
    name: str
    description: str = ""
    platform_fee: Decimal = Decimal(0)
    minimum: Decimal = Decimal(0)
    cap: Decimal = Decimal(0)
    charges: tuple[Charge, ...] = ()
    close_lag_days: int = DEFAULT_CLOSE_LAG_DAYS  # the close is this many days after month end (DESIGN 8)
    commitment: Commitment | None = None
    deal: DealTerms = DealTerms()  # DESIGN 11: charge start, free months, funded deployment, guarantee

    def outcome_price(self) -> Decimal | None:
        """The plan's per-outcome price: that of its first outcome charge at a set price (not
        an account's own), flat, its first tier's, or its `default` price by dimension;
        None without such a charge."""
        charge = next((c for c in self.charges if c.metric is Metric.OUTCOMES and not c.account_price), None)
        if charge is None:
            return None
        if charge.by is not None:
            return charge.price_of(DEFAULT_PRICE_KEY)
        return charge.price if charge.price is not None else charge.tiers[0].price

    def with_outcome_price(self, price: Decimal | float) -> Plan:
        """This plan with its outcome price set to ``price`` (for price sweeps and the form).

        A flat outcome charge gets the new price; a tiered one has every tier
        scaled so its first tier costs ``price`` (the ladder keeps its shape; per-tier
        flat fees stay); one priced by dimension has every price scaled so its
        `default` costs ``price``.
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


def _scaled(value: Decimal, factor: Decimal) -> Decimal:
    return (value * factor).quantize(MICRO_STEP, rounding=ROUND_HALF_UP)


def _reprice(charge: Charge, price: Decimal) -> Charge:
    if charge.by is not None:
        first = charge.price_of(DEFAULT_PRICE_KEY)
        factor = price / first if first else Decimal(0)
        return replace(charge, prices=tuple((v, price if not first else _scaled(p, factor)) for v, p in charge.prices))
    if not charge.tiers:
        return replace(charge, price=price)
    first = charge.tiers[0].price
    factor = price / first if first else Decimal(0)
    tiers = tuple(
        Tier(t.up_to, price if not first else _scaled(t.price, factor), t.flat) for t in charge.tiers
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


# A key added later is written only when it differs from its default, so the version
# of a plan that keeps the default does not change.
def _tier_dict(t: Tier) -> dict[str, Any]:
    out: dict[str, Any] = {} if t.up_to is None else {"up_to": _number(t.up_to)}
    out["price"] = t.price
    if t.flat:
        out["flat"] = t.flat
    return out


def _charge_dict(c: Charge) -> dict[str, Any]:
    out: dict[str, Any] = {"metric": c.metric.value}
    if c.label:
        out["name"] = c.label
    if c.included:
        out["included"] = _number(c.included)
    if c.metric is Metric.SEATS_NEEDED:
        out["hours_per_seat"] = _number(c.hours_per_seat)
    if c.block is not None:
        out["block"] = _number(c.block)
    if c.account_price:
        out["price"] = ACCOUNT_PRICE
    elif c.by is not None:
        out["by"] = c.by.value
        out["prices"] = dict(c.prices)
    elif c.tiers:
        out["mode"] = c.mode.value
        out["tiers"] = [_tier_dict(t) for t in c.tiers]
    else:
        out["price"] = c.price
    if c.audit_settlement is not Settlement.NONE:
        out["audit_settlement"] = c.audit_settlement.value
    if c.audit_window_months != DEFAULT_AUDIT_WINDOW_MONTHS:
        out["audit_window_months"] = c.audit_window_months
    return out


def commitment_dict(c: Commitment) -> dict[str, Any]:
    out: dict[str, Any] = {"amount": c.amount, "months": c.months}
    if c.rollover:
        out["rollover"] = True
    if c.rollover_max_pct != DEFAULT_ROLLOVER_MAX_PCT:
        out["rollover_max_pct"] = c.rollover_max_pct
    return out


def plan_dict(p: Plan) -> dict[str, Any]:
    d: dict[str, Any] = {"name": p.name}
    if p.description:
        d["description"] = p.description
    d.update(platform_fee=p.platform_fee, minimum=p.minimum, cap=p.cap)
    if p.close_lag_days != DEFAULT_CLOSE_LAG_DAYS:
        d["close_lag_days"] = p.close_lag_days
    if p.commitment is not None:
        d["commitment"] = commitment_dict(p.commitment)
    d.update(deal_dict(p.deal))  # only keys off their defaults
    d["charges"] = [_charge_dict(c) for c in p.charges]
    return d


def costs_dict(costs: Costs) -> dict[str, Any]:
    return {
        "input_per_million": dict(costs.input_per_million),
        "output_per_million": dict(costs.output_per_million),
        "per_ai_task": costs.per_ai_task,
    }
