"""The case's cash flows: benefit and cost lines by year, discounted once; NPV, ROI, payback.

Year 0 holds the initial investment and is not discounted; later years are
discounted at year end. Benefit lines are risk-adjusted exactly once, per
line, in `Line.adjusted`, before anything is summed or discounted; costs are
not haircut. Amounts are floats (a projection, not a statement).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from outcome_pricing.analysis.roi.assumptions import (
    MAX_YEARS,
    MONTHS_PER_YEAR,
    Assumption,
    Source,
    resolve_derived,
    value_map,
)
from outcome_pricing.analysis.roi.spend import SpendModel, YearSpend
from outcome_pricing.errors import ConfigError


class LineKind(StrEnum):
    """Which side of the case a line is on: benefits are risk-adjusted, costs are not."""

    BENEFIT = "benefit"
    COST = "cost"
    MEMO = "memo"  # a part of the cost line above it, shown and never added again


@dataclass(frozen=True)
class Line:
    """One row of the cash-flow table: gross amounts by year (index 0..N) and a haircut."""

    key: str
    label: str
    kind: LineKind
    gross: tuple[float, ...]
    risk_adjustment: float = 0.0

    @property
    def adjusted(self) -> tuple[float, ...]:
        """Risk-adjusted amounts: the one and only place the haircut is applied.

        Only gains are cut: a negative benefit (the AI made something worse)
        stays whole, so the risk adjustment can only ever lower the case.
        """
        keep = 1.0 - self.risk_adjustment
        return tuple((a * keep if a > 0 else a) + 0.0 for a in self.gross)  # + 0.0: no -0.0


@dataclass(frozen=True)
class YearFlow:
    year: int
    benefits: float
    costs: float
    net: float
    cumulative: float
    discount_factor: float

    @property
    def pv_net(self) -> float:
        return self.net * self.discount_factor


@dataclass(frozen=True)
class CashFlows:
    lines: tuple[Line, ...]
    years: tuple[YearFlow, ...]
    discount_rate: float
    pv_benefits: float
    pv_costs: float
    npv: float
    roi: float | None
    payback_months: float | None


def discount_factor(year: int, rate: float) -> float:
    """Year 0 is undiscounted; year y is discounted at year end."""
    return 1.0 / (1.0 + rate) ** year


def payback_months(nets: Iterable[float]) -> float | None:
    """Months until the cumulative net cash flow (year 0 = initial investment) reaches zero.

    Interpolated linearly within the year it turns non-negative; 0 when there
    is no initial investment; None when it never pays back within the horizon.
    """
    flows = list(nets)
    cumulative = flows[0] if flows else 0.0
    if cumulative >= 0:
        return 0.0
    for year, net in enumerate(flows[1:], start=1):
        if cumulative + net >= 0:
            return MONTHS_PER_YEAR * (year - 1) + MONTHS_PER_YEAR * (-cumulative / net)
        cumulative += net
    return None


def cash_flows(lines: Iterable[Line], years: int, discount_rate: float) -> CashFlows:
    """Sum risk-adjusted lines by year, discount once, and derive NPV, ROI and payback."""
    lines = tuple(lines)
    validate_horizon(years, discount_rate)
    flows: list[YearFlow] = []
    cumulative = 0.0
    pv_b = pv_c = 0.0
    for y in range(years + 1):
        b = sum(ln.adjusted[y] for ln in lines if ln.kind is LineKind.BENEFIT)
        c = sum(ln.adjusted[y] for ln in lines if ln.kind is LineKind.COST)
        cumulative += b - c
        f = discount_factor(y, discount_rate)
        flows.append(YearFlow(y, b, c, b - c, cumulative, f))
        pv_b += b * f
        pv_c += c * f
    return CashFlows(
        lines=lines,
        years=tuple(flows),
        discount_rate=discount_rate,
        pv_benefits=pv_b,
        pv_costs=pv_c,
        npv=sum(yf.pv_net for yf in flows),
        roi=(pv_b - pv_c) / pv_c if pv_c > 0 else None,
        payback_months=payback_months(yf.net for yf in flows),
    )


def present_value(amounts: Iterable[float], rate: float) -> float:
    return sum(a * discount_factor(y, rate) for y, a in enumerate(amounts))


def validate_horizon(years: int, discount_rate: float) -> None:
    if not 1 <= years <= MAX_YEARS:
        raise ConfigError(f"years = {years}: the ROI horizon must be 1..{MAX_YEARS} years.")
    if not 0 <= discount_rate <= 1:
        raise ConfigError(
            f"discount rate = {discount_rate}: enter a yearly rate between 0 and 1 (0.10 = 10%)."
        )


def kept_seats(v: Mapping[str, float]) -> float:
    return max(v["seats"] - v["seats_avoided"], 0.0)


def remaining_seat_change(v: Mapping[str, float]) -> float:
    """Monthly change in what the seats kept cost (see the seat convention): 0 unless the
    plan charges for seats, then its seat charges minus today's licences for the seats kept."""
    if not v["plan_includes_seats"]:
        return 0.0
    return v["plan_seat_charges"] - kept_seats(v) * v["seat_price"]


def annual_volumes(v: Mapping[str, float], years: int) -> tuple[float, ...]:
    """Tasks per year, index 0..years (none at year 0: the AI is being set up)."""
    year1 = v["monthly_volume"] * MONTHS_PER_YEAR
    return (0.0,) + tuple(year1 * (1 + v["volume_growth"]) ** (y - 1) for y in range(1, years + 1))


def _remaining_seat_costs(v: Mapping[str, float], years: int, spend: YearSpend | None) -> tuple[float, ...]:
    every_year = (0.0,) + (1.0,) * years
    if spend is None or not v["plan_includes_seats"]:
        return tuple(e * remaining_seat_change(v) * MONTHS_PER_YEAR for e in every_year)
    licences = kept_seats(v) * v["seat_price"] * MONTHS_PER_YEAR
    return tuple(s - e * licences for s, e in zip(spend.seats, every_year, strict=True))


def _minus(amounts: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(-a + 0.0 for a in amounts)  # + 0.0: no -0.0


def spend_lines(spend: YearSpend, plan_label: str) -> tuple[Line, ...]:
    """The plan's bill as the customer reads it: fees and usage, then a line per deal term
    the plan has (roi.deal explains each). Their sum is what the customer pays for the AI,
    less the guarantee's expected credits:

        fees and usage = paid - gain-share - commitment + value of the free months (without
                         their gain-share part)
        gain-share     = charges on the labour saved, free months included
        free months    = -(what the free months would have billed)
    """
    gain, free_gain = spend.part("gain_share"), spend.part("free_gain_share")
    commitment, free = spend.part("commitment"), spend.part("free_value")
    usage = tuple(a - g - c + f - fg + 0.0 for a, g, c, f, fg in zip(
        spend.ai, gain, commitment, free, free_gain, strict=True))
    terms = spend.gain_share or spend.commitment or spend.free_value or spend.guarantee
    label = f"AI spend under {plan_label}" + (
        ": fees and usage beyond the commitment" if spend.commitment else ": fees and usage" if terms else "")
    out = [Line("ai_spend", label, LineKind.COST, usage)]
    if spend.commitment:
        out.append(Line("commitment", "Prepaid commitment (drawn down by usage)", LineKind.COST, commitment))
        out.append(Line("breakage", "of which prepaid and unused (expected breakage)", LineKind.MEMO,
                        spend.part("breakage")))
    if spend.gain_share:
        out.append(Line("gain_share", "Gain-share: the plan's share of the labour saved", LineKind.COST,
                        tuple(g + fg for g, fg in zip(gain, free_gain, strict=True))))
    if spend.free_value:
        n = spend.free_months
        first = f"the first {n} months" if n > 1 else "the first month"
        out.append(Line("free_months", f"Free months: {first} after go-live, not charged", LineKind.COST,
                        _minus(free)))
    if spend.guarantee:
        out.append(Line("guarantee", "Guarantee: expected credits (a risk reduction)", LineKind.COST,
                        _minus(spend.guarantee)))
    return tuple(out)


def funded_lines(spend: YearSpend, v: Mapping[str, float], year0: tuple[float, ...]) -> tuple[Line, ...]:
    """The deployment the vendor funds: the customer's implementation cost it covers."""
    if spend.funded <= 0:
        return ()
    covered = min(spend.funded, v["implementation_cost"])
    return (Line("implementation_funded", "Implementation funded by the vendor", LineKind.COST,
                 tuple(-e * covered + 0.0 for e in year0)),)


def case_lines(
    v: Mapping[str, float], years: int, plan_label: str = "the plan", spend: YearSpend | None = None
) -> tuple[Line, ...]:
    """The benefit and cost lines of the case from plain assumption values.

    ``spend``: the plan billed month by month (see spend.py); without it the AI
    spend is tasks x the AI spend per task (an entered price, or no plan to bill).
    """
    vol = annual_volumes(v, years)
    every_year = (0.0,) + (1.0,) * years
    year0 = (1.0,) + (0.0,) * years
    ai_spend = spend.ai if spend is not None else tuple(n * v["ai_spend_per_task"] for n in vol)
    return (
        Line(
            "labour", "Labour hours saved", LineKind.BENEFIT,
            tuple(n * v["minutes_saved_per_task"] / 60.0 * v["agent_hourly_cost"] for n in vol),
            v["risk_labour"],
        ),
        Line(
            "quality", "Missed issues avoided", LineKind.BENEFIT,
            tuple(n * v["missed_issue_reduction"] * v["cost_per_missed_issue"] for n in vol),
            v["risk_quality"],
        ),
        Line(
            "seats", "Seats no longer needed", LineKind.BENEFIT,
            tuple(e * v["seats_avoided"] * v["seat_price"] * MONTHS_PER_YEAR for e in every_year),
            v["risk_seats"],
        ),
        *(spend_lines(spend, plan_label) if spend is not None
          else (Line("ai_spend", f"AI spend under {plan_label}", LineKind.COST, ai_spend),)),
        Line(
            "implementation", "Implementation", LineKind.COST,
            tuple(e * v["implementation_cost"] for e in year0),
        ),
        *(funded_lines(spend, v, year0) if spend is not None else ()),
        Line(
            "running", "Internal running cost", LineKind.COST,
            tuple(e * v["annual_running_cost"] for e in every_year),
        ),
        Line("remaining_seats", "Remaining seat costs", LineKind.COST, _remaining_seat_costs(v, years, spend)),
    )


def billed_spend(
    assumptions: Mapping[str, Assumption], v: Mapping[str, float], years: int,
    model: SpendModel | None, factor: float = 1.0,
) -> YearSpend | None:
    """The plan billed month by month, unless there is no plan to bill (no model) or the AI
    spend per task was entered (an entered price wins). An entered monthly seat charge
    replaces the billed one. ``factor`` scales the AI part (the tornado's +/- swing)."""
    spend_per_task = assumptions.get("ai_spend_per_task")
    if model is None or spend_per_task is None or spend_per_task.source is not Source.MEASURED:
        return None
    billed = model.yearly(v, years)
    seats = billed.seats
    seat_charges = assumptions.get("plan_seat_charges")
    if seat_charges is not None and seat_charges.source is not Source.MEASURED:
        seats = (0.0,) + (seat_charges.value * MONTHS_PER_YEAR,) * years
    return replace(billed.scaled(factor), seats=seats)


def flows_for(
    assumptions: Mapping[str, Assumption], years: int, discount_rate: float, plan_label: str,
    spend: SpendModel | None = None, spend_factor: float = 1.0,
) -> CashFlows:
    resolved = resolve_derived(assumptions)
    v = value_map(resolved)
    billed = billed_spend(resolved, v, years, spend, spend_factor)
    return cash_flows(case_lines(v, years, plan_label, billed), years, discount_rate)


def period_labels(years: int) -> list[str]:
    return ["Initial"] + [f"Year {y}" for y in range(1, years + 1)]
