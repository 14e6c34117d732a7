"""What the customer pays the vendor in the case: the plan billed month by month.

Each projected month is billed with the plan's own arithmetic (the pricing
engine's `bill`, the same as statements and the backtest): fees, allowances,
tiers, minimums and caps are billed, never scaled by volume, so a $1,000 fee
costs $12,000 in every year and a $100 cap at most $1,200 a year, whatever the
growth. The projected month's metrics are the case's tasks per month (year y:
tasks x (1 + growth)^(y - 1)) at the measured outcomes and tokens per AI
task; seats are the seats kept (today's minus the seats no longer needed);
human hours (for a seats_needed charge) follow the minutes saved; a gain-share
charge bills on the month's labour saving (tasks x minutes saved / 60 x the
agent hourly cost, the labour line before its haircut).

The bill is split in two (the seat convention): the AI part (the plan without
its seat charges) is the "AI spend" cost line; the rest is the plan's own
seat charges, which replace today's licences for the seats kept.

Month-spanning terms belong in `bill_months`, the one place that sees the whole
sequence of months. Month 0 of the projection is the go-live (the AI handles
every task from year 1), so a deal's first charged month is month
``free_months`` whether it charges from go-live or from the first task; free
months have no line at all. A prepaid commitment runs from the first charged
month; its breakage is reported (no cash: it is inside the commitment line).
A guarantee is not billed here: at the measured rate it would trigger always or
never, so the case counts its expected credits instead (roi.deal).

An outcomes charge with an audit settlement bills settled outcomes: the
projected outcomes x the latest settlement factor (roi.settle).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

import numpy as np

from outcome_pricing.analysis.roi.assumptions import MONTHS_PER_YEAR
from outcome_pricing.analysis.roi.assumptions import Scope as Scope  # re-exported (its old home)
from outcome_pricing.analysis.roi.odds import GuaranteeOdds, expected_credits
from outcome_pricing.analysis.roi.settle import SettlementFactor
from outcome_pricing.kit.money import MICRO_PLACES, cents, from_cents, to_decimal
from outcome_pricing.pricing.charges import Usage, bill_total, month_lines
from outcome_pricing.pricing.lines import Line
from outcome_pricing.pricing.spanning import DRAWN_KINDS, commitment_cents
from outcome_pricing.pricing.terms import LineKind, Metric, Plan

SEAT_METRICS = frozenset({Metric.SEATS, Metric.SEATS_NEEDED})


def seatless(plan: Plan) -> Plan:
    """The plan without its seat charges: the AI part of the bill (see the seat convention)."""
    keep = tuple(c for c in plan.charges if c.metric not in SEAT_METRICS)
    return replace(plan, name=f"{plan.name} (AI part)", charges=keep)


def plan_charges_seats(plan: Plan) -> bool:
    return any(c.metric in SEAT_METRICS for c in plan.charges)


@dataclass(frozen=True)
class UsageRates:
    """Outcomes and tokens per AI task over recent months: what each projected task brings."""

    outcomes: float
    input_tokens_m: float
    output_tokens_m: float
    ai_tasks: int
    scope: Scope
    settlement: tuple[SettlementFactor, ...] = ()  # one per settled outcomes charge of the plan


@dataclass(frozen=True)
class ProjectedMonth:
    """One month of the case: every task with the AI live."""

    tasks: float
    human_minutes_per_task: float  # with the AI (for a plan's seats_needed charge)
    seats: float  # contracted seats kept
    seat_price: float
    savings_usd: float = 0.0  # labour saved in the month, dollars (a gain-share charge's metric)


def _usage_quantity(x: float) -> Decimal:
    """A projected quantity as the exact decimal the charges take (at most 6 places)."""
    return to_decimal(round(x, MICRO_PLACES))


def projected_usage(month: ProjectedMonth, rates: UsageRates) -> Usage:
    """What the plan's charges count in the projected month."""
    v = month.tasks
    outcomes = _usage_quantity(v * rates.outcomes)
    return Usage(
        quantities={
            Metric.TASKS: _usage_quantity(v),
            Metric.CONVERSATIONS: _usage_quantity(v),
            Metric.OUTCOMES: outcomes,
            Metric.INPUT_TOKENS_M: _usage_quantity(v * rates.input_tokens_m),
            Metric.OUTPUT_TOKENS_M: _usage_quantity(v * rates.output_tokens_m),
            Metric.SEATS: _usage_quantity(month.seats),
            Metric.SAVINGS_USD: _usage_quantity(max(month.savings_usd, 0.0)),
        },
        human_ms=int(v * max(month.human_minutes_per_task, 0.0) * 60_000),
        seat_price=_usage_quantity(month.seat_price),
        settled={f.key: f.settle(outcomes) for f in rates.settlement},
    )


ZERO = Decimal(0)


@dataclass(frozen=True)
class MonthBill:
    """One projected month's bill: the whole of it and its AI part (without seat charges),
    with the parts of the AI part the case shows as lines of their own."""

    total: Decimal
    ai_part: Decimal
    gain_share: Decimal = ZERO  # charge lines on savings_usd
    commitment: Decimal = ZERO  # the prepaid commitment line (a period's first month)
    breakage: Decimal = ZERO  # prepaid and unused, expired at a period's end (no cash)
    outcome_charges: Decimal = ZERO  # charge lines on outcomes (what a guarantee credits)
    free_value: Decimal = ZERO  # a free month: what its AI part would have billed
    free_gain_share: Decimal = ZERO  # ... of which on savings_usd
    charged: bool = True

    @property
    def seat_part(self) -> Decimal:
        return self.total - self.ai_part


MonthLines = tuple[tuple[Line, ...], tuple[Line, ...]]  # a month's own lines: the plan's, its AI part's


def _charges_on(lines: tuple[Line, ...], metric: Metric) -> Decimal:
    return sum((ln.amount for ln in lines if ln.kind is LineKind.CHARGE and ln.metric is metric), ZERO)


def _own(full: tuple[Line, ...], ai: tuple[Line, ...]) -> MonthBill:
    """A month's own lines (before the terms that span months) as a bill."""
    return MonthBill(bill_total(full), bill_total(ai), _charges_on(ai, Metric.SAVINGS_USD),
                     outcome_charges=_charges_on(ai, Metric.OUTCOMES))


def _free(own: MonthBill) -> MonthBill:
    """A free month: no line at all; what it would have billed is kept to show its value."""
    return MonthBill(ZERO, ZERO, free_value=own.ai_part, free_gain_share=own.gain_share, charged=False)


def _drawn(lines: tuple[Line, ...]) -> int:
    """Cents of the usage lines after the cap: what draws a commitment down."""
    return cents(sum((ln.amount for ln in lines if ln.kind in DRAWN_KINDS), ZERO))


def _committed(plan: Plan, own: Sequence[MonthBill], full: Sequence[tuple[Line, ...]],
               ai: Sequence[tuple[Line, ...]]) -> tuple[MonthBill, ...]:
    """The charged months (from the first charged month) with the prepaid commitment, its
    drawdown and breakage: `spanning.commitment_cents`, the backtest's stage (checked against
    the statements' `span_account` in tests/test_backtest.py), on one account's months."""
    c = plan.commitment
    if c is None:
        return tuple(own)
    n = len(own)
    months = np.arange(n, dtype=np.int64)
    account, start = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    whole = commitment_cents(c, np.array([_drawn(f) for f in full], dtype=np.int64), account, months, start)
    part = whole if not plan_charges_seats(plan) else commitment_cents(  # the AI part is the whole bill
        c, np.array([_drawn(a) for a in ai], dtype=np.int64), account, months, start)
    return tuple(
        replace(m, total=m.total + from_cents(int(wc + wd)), ai_part=m.ai_part + from_cents(int(pc + pd)),
                commitment=from_cents(int(pc)), breakage=from_cents(int(pb)))
        for m, wc, wd, pc, pd, pb in zip(own, whole.commitment, whole.drawdown, part.commitment, part.drawdown,
                                         part.breakage, strict=True)
    )


def usage_key(usage: Usage) -> tuple[object, ...]:
    """What a month's own lines depend on (its quantities), hashable."""
    return (tuple(sorted(usage.quantities.items())), tuple(sorted(usage.settled.items())),
            usage.human_ms, usage.seat_price)


def charge_start(plan: Plan) -> int:
    """The projection's first charged month (month 0 = go-live): after the free months."""
    deal = getattr(plan, "deal", None)
    return int(deal.free_months) if deal is not None else 0


def bill_months(
    plan: Plan, usages: Sequence[Usage], cache: dict[tuple[object, ...], MonthLines] | None = None
) -> tuple[MonthBill, ...]:
    """Every projected month billed under ``plan`` (and its AI part), in order.

    Each month's own lines (`month_lines`: usage, cap, fee, minimum) are priced
    once per distinct usage (a projection repeats a month twelve times a year);
    then the terms that span months run over the charged months, from the first
    charged month (`charge_start`: months before it have no line; a prepaid
    commitment, its drawdown and breakage by the backtest's stage), as a bill runs
    them over an account's months.
    ``cache`` keeps the months' lines between calls for the same plan (the tornado
    bills the same months again and again).
    """
    ai_plan = seatless(plan)
    seen = cache if cache is not None else {}
    full: list[tuple[int, tuple[Line, ...]]] = []
    ai: list[tuple[int, tuple[Line, ...]]] = []
    previous: Usage | None = None
    key: tuple[object, ...] = ()
    for month, usage in enumerate(usages):
        if usage is not previous:  # the same month again (a year repeats its month): same lines
            key = usage_key(usage)
            if key not in seen:
                seen[key] = (month_lines(plan, usage), month_lines(ai_plan, usage))
            previous = usage
        lines, ai_lines = seen[key]
        full.append((month, lines))
        ai.append((month, ai_lines))
    bills: dict[int, MonthBill] = {}  # each distinct month's own bill, once
    own = []
    for (_, f), (_, a) in zip(full, ai, strict=True):
        if id(f) not in bills:
            bills[id(f)] = _own(f, a)
        own.append(bills[id(f)])
    if not spans_months(plan):  # each month is its own bill
        return tuple(own)
    start = charge_start(plan)
    charged = _committed(plan, own[start:], [f for _, f in full[start:]], [a for _, a in ai[start:]])
    return tuple(_free(m) for m in own[:start]) + charged


def spans_months(plan: Plan) -> bool:
    """A term whose lines depend on other months: a prepaid commitment, a charge start, free
    months, a guarantee (the stages of `spanning.span_account`)."""
    deal = getattr(plan, "deal", None)
    return plan.commitment is not None or bool(deal is not None and deal.spans_months)


AI_PARTS = ("ai", "gain_share", "commitment", "breakage", "free_value", "free_gain_share", "guarantee")


@dataclass(frozen=True)
class YearSpend:
    """Per year of the case (index 0..N; nothing at year 0), in dollars (floats from exact
    cents): what the customer pays for the AI (``ai``: the AI part of the bill as charged,
    free months at nothing, before any guarantee credit) and the plan's own seat charges;
    then the parts the case shows as lines of their own (empty: none): charges on savings,
    commitment lines, breakage (inside the commitment), the value of the free months (and
    its gain-share part) and the guarantee's expected credits (>= 0)."""

    ai: tuple[float, ...]
    seats: tuple[float, ...]
    gain_share: tuple[float, ...] = ()
    commitment: tuple[float, ...] = ()
    breakage: tuple[float, ...] = ()
    free_value: tuple[float, ...] = ()
    free_gain_share: tuple[float, ...] = ()
    guarantee: tuple[float, ...] = ()
    free_months: int = 0  # months after go-live with no charge
    funded: float = 0.0  # the deployment the vendor funds (the plan's implementation_cost)

    def part(self, name: str) -> tuple[float, ...]:
        """One of AI_PARTS by year (zeros when the plan has none)."""
        values: tuple[float, ...] = getattr(self, name)
        return values or (0.0,) * len(self.ai)

    def scaled(self, factor: float) -> YearSpend:
        """Every AI figure x ``factor`` (the tornado's swing of the bill); seats unchanged."""
        def times(values: tuple[float, ...]) -> tuple[float, ...]:
            return tuple(a * factor for a in values)

        return replace(self, ai=times(self.ai), gain_share=times(self.gain_share), commitment=times(self.commitment),
                       breakage=times(self.breakage), free_value=times(self.free_value),
                       free_gain_share=times(self.free_gain_share), guarantee=times(self.guarantee))


@dataclass(frozen=True)
class SpendModel:
    """How to bill the case's months: the plan, what each AI task brings, human minutes.

    ``baseline_minutes``: human minutes per task without the AI (None when not
    measured); with it, the minutes with the AI are baseline minus the case's
    minutes saved, so an entered saving moves a seats_needed charge too.
    """

    plan: Plan
    rates: UsageRates
    ai_minutes: float
    baseline_minutes: float | None = None
    guarantee: GuaranteeOdds | None = None  # the chance a guarantee window falls short (roi.deal)
    # The months' lines by usage, and whole projections' bills by their years' usages, kept
    # across the case's many runs (the plan never changes; most tornado runs bill the same months).
    _lines: dict[tuple[object, ...], MonthLines] = field(default_factory=dict, compare=False, repr=False)
    _bills: dict[tuple[object, ...], tuple[MonthBill, ...]] = field(default_factory=dict, compare=False, repr=False)
    _years: dict[tuple[object, ...], YearSpend] = field(default_factory=dict, compare=False, repr=False)

    @property
    def includes_seats(self) -> bool:
        return plan_charges_seats(self.plan)

    def human_minutes(self, v: Mapping[str, float]) -> float:
        if self.baseline_minutes is None:
            return self.ai_minutes
        return max(self.baseline_minutes - v["minutes_saved_per_task"], 0.0)

    def month(self, v: Mapping[str, float], year: int) -> ProjectedMonth:
        """A month of year ``year`` (1..N) of the case."""
        tasks = v["monthly_volume"] * (1 + v["volume_growth"]) ** (year - 1)
        kept = max(v["seats"] - v.get("seats_avoided", 0.0), 0.0)
        # What a gain-share charge bills on: the month's labour saving, as the labour line counts it.
        savings = tasks * v["minutes_saved_per_task"] / 60.0 * v["agent_hourly_cost"]
        return ProjectedMonth(tasks, self.human_minutes(v), kept, v["seat_price"], savings)

    def _projected(self, v: Mapping[str, float], years: int) -> tuple[tuple[object, ...], list[Usage]]:
        """Each year's projected month and the key of the whole projection (its usages)."""
        per_year = [projected_usage(self.month(v, y), self.rates) for y in range(1, years + 1)]
        return tuple(usage_key(u) for u in per_year), per_year

    def bills(self, v: Mapping[str, float], years: int) -> tuple[MonthBill, ...]:
        """Every month of years 1..N billed, in order (12 a year)."""
        key, per_year = self._projected(v, years)
        if key not in self._bills:
            usages = [u for u in per_year for _ in range(MONTHS_PER_YEAR)]  # every month of a year alike
            self._bills[key] = bill_months(self.plan, usages, self._lines)
        return self._bills[key]

    def yearly(self, v: Mapping[str, float], years: int) -> YearSpend:
        """The months' bills summed by year (exact cents, then dollars), with the parts the
        case shows as lines and the guarantee's expected credits (once per projection: the
        usages decide them, tasks included)."""
        key, _ = self._projected(v, years)
        if key not in self._years:
            self._years[key] = self._summed(v, years)
        return self._years[key]

    def _summed(self, v: Mapping[str, float], years: int) -> YearSpend:
        months = self.bills(v, years)

        def by_year(part: str) -> tuple[float, ...]:
            return (0.0,) + tuple(
                float(sum((getattr(m, part) for m in months[y * MONTHS_PER_YEAR:(y + 1) * MONTHS_PER_YEAR]), ZERO))
                for y in range(years)
            )

        plan, start = self.plan, charge_start(self.plan)
        tasks = [self.month(v, y).tasks for y in range(1, years + 1)]
        expected = () if self.guarantee is None or plan.deal.guarantee is None else expected_credits(
            self.guarantee, [m.outcome_charges for m in months], tasks, self.rates.outcomes, start)
        gain = any(c.metric is Metric.SAVINGS_USD for c in plan.charges)
        committed = plan.commitment is not None
        return YearSpend(
            by_year("ai_part"), by_year("seat_part"),
            gain_share=by_year("gain_share") if gain else (),
            commitment=by_year("commitment") if committed else (),
            breakage=by_year("breakage") if committed else (),
            free_value=by_year("free_value") if start else (),
            free_gain_share=by_year("free_gain_share") if start and gain else (),
            guarantee=expected, free_months=start, funded=float(plan.deal.implementation_cost),
        )
