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

Month-spanning terms (a prepaid commitment, free months, a guarantee) belong
in `bill_months`, the one place that sees the whole sequence of months.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum

from outcome_pricing.analysis.roi.assumptions import MONTHS_PER_YEAR
from outcome_pricing.kit.money import MICRO_PLACES, to_decimal
from outcome_pricing.pricing.charges import Usage, bill_total, month_lines
from outcome_pricing.pricing.lines import Line
from outcome_pricing.pricing.spanning import span_account
from outcome_pricing.pricing.terms import Metric, Plan

SEAT_METRICS = frozenset({Metric.SEATS, Metric.SEATS_NEEDED})


class Scope(StrEnum):
    """Whose logs a measured rate comes from (read inside the assumption's source text)."""

    ACCOUNT = "this account"
    PORTFOLIO = "the portfolio (all accounts)"


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
    return Usage(
        quantities={
            Metric.TASKS: _usage_quantity(v),
            Metric.CONVERSATIONS: _usage_quantity(v),
            Metric.OUTCOMES: _usage_quantity(v * rates.outcomes),
            Metric.INPUT_TOKENS_M: _usage_quantity(v * rates.input_tokens_m),
            Metric.OUTPUT_TOKENS_M: _usage_quantity(v * rates.output_tokens_m),
            Metric.SEATS: _usage_quantity(month.seats),
            Metric.SAVINGS_USD: _usage_quantity(max(month.savings_usd, 0.0)),
        },
        human_ms=int(v * max(month.human_minutes_per_task, 0.0) * 60_000),
        seat_price=_usage_quantity(month.seat_price),
    )


@dataclass(frozen=True)
class MonthBill:
    """One projected month's bill: the whole of it and its AI part (without seat charges)."""

    total: Decimal
    ai_part: Decimal

    @property
    def seat_part(self) -> Decimal:
        return self.total - self.ai_part


MonthLines = tuple[tuple[Line, ...], tuple[Line, ...]]  # a month's own lines: the plan's, its AI part's


def bill_months(
    plan: Plan, usages: Sequence[Usage], cache: dict[tuple[object, ...], MonthLines] | None = None
) -> tuple[MonthBill, ...]:
    """Every projected month billed under ``plan`` (and its AI part), in order.

    Each month's own lines (`month_lines`: usage, cap, fee, minimum) are priced
    once per distinct usage (a projection repeats a month twelve times a year);
    then the terms that span months run over the whole sequence from month 0
    (`spanning.span_account`: a prepaid commitment and its drawdown, and the
    stages that join it there), as a statement runs them over an account's months.
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
            key = (tuple(sorted(usage.quantities.items())), usage.human_ms, usage.seat_price)
            if key not in seen:
                seen[key] = (month_lines(plan, usage), month_lines(ai_plan, usage))
            previous = usage
        lines, ai_lines = seen[key]
        full.append((month, lines))
        ai.append((month, ai_lines))
    if not spans_months(plan):  # each month is its own bill: total its lines once per usage
        totals: dict[int, Decimal] = {}
        for _, lines in (*full, *ai):
            if id(lines) not in totals:
                totals[id(lines)] = bill_total(lines)
        return tuple(MonthBill(totals[id(f)], totals[id(a)]) for (_, f), (_, a) in zip(full, ai, strict=True))
    return tuple(
        MonthBill(bill_total(f.lines), bill_total(a.lines))
        for f, a in zip(span_account(plan, full, start=0), span_account(ai_plan, ai, start=0), strict=True)
    )


def spans_months(plan: Plan) -> bool:
    """A term whose lines depend on other months: a prepaid commitment, a charge start, free
    months, a guarantee (the stages of `spanning.span_account`)."""
    deal = getattr(plan, "deal", None)
    return plan.commitment is not None or bool(deal is not None and deal.spans_months)


@dataclass(frozen=True)
class YearSpend:
    """Per year of the case (index 0..N; nothing at year 0): the AI spend and the plan's
    own seat charges, in dollars (floats from exact cents)."""

    ai: tuple[float, ...]
    seats: tuple[float, ...]


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
    # The months' lines by usage, kept across the case's many runs (the plan never changes).
    _lines: dict[tuple[object, ...], MonthLines] = field(default_factory=dict, compare=False, repr=False)

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

    def bills(self, v: Mapping[str, float], years: int) -> tuple[MonthBill, ...]:
        """Every month of years 1..N billed, in order (12 a year)."""
        usages = []
        for y in range(1, years + 1):
            month = projected_usage(self.month(v, y), self.rates)  # every month of a year alike
            usages.extend([month] * MONTHS_PER_YEAR)
        return bill_months(self.plan, usages, self._lines)

    def yearly(self, v: Mapping[str, float], years: int) -> YearSpend:
        """The months' bills summed by year (exact cents, then dollars)."""
        months = self.bills(v, years)
        ai, seats = [0.0], [0.0]
        for y in range(years):
            year = months[y * MONTHS_PER_YEAR:(y + 1) * MONTHS_PER_YEAR]
            ai.append(float(sum((m.ai_part for m in year), Decimal(0))))
            seats.append(float(sum((m.seat_part for m in year), Decimal(0))))
        return YearSpend(tuple(ai), tuple(seats))
