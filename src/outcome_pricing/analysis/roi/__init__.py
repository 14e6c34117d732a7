"""A customer's ROI case in the Forrester Total Economic Impact (TEI) shape.

Benefits, costs and a risk adjustment over a few years: the initial
investment sits at year 0 and is not discounted; later years are discounted
at year end (10% a year by default, Forrester's rate).

    NPV      = sum over y of net_y / (1 + r) ** y
    ROI      = (PV benefits - PV costs) / PV costs
    payback  = months until the cumulative (undiscounted) net cash flow covers
               the initial investment, interpolated linearly inside a year

Benefit lines are risk-adjusted exactly once: each line's gross amount times
(1 - its haircut), before anything is summed or discounted. Costs are not
haircut (TEI sometimes inflates costs; we keep them as billed).

Conventions (stated once so nothing is counted twice):
- Everything is incremental to the customer's situation today.
- Labour: hours saved = measured change in human minutes per task x projected
  tasks; valued at the agent hourly cost (wages, not licences).
- Seats: the change in seat spend is counted once, split in two lines.
  "Seats no longer needed" (a benefit, risk-adjusted) = seats_avoided x
  seat_price: licences dropped (separate from the wages above). "Remaining
  seat costs" (a cost) is what the plan changes for the seats kept: zero when
  the plan does not charge for seats (the customer pays today's licences for
  them before and after, so they are not incremental); when the plan charges
  for seats itself, its seat charges replace today's licences, so the line is
  plan seat charges - seats kept x seat_price (negative = the plan's seats are
  cheaper). The AI spend never includes seat charges.
- AI spend: the chosen plan billed (the charge arithmetic of the backtest and
  statements) for one projected month: the projected tasks at the account's
  outcomes and tokens per AI task over its last three months under the chosen
  definition; per task, times the tasks of each year.

Floats are fine here (a projection, not a statement); the report rounds to
whole dollars.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd

from outcome_pricing.analysis import forecast
from outcome_pricing.errors import ConfigError
from outcome_pricing.ingest import load as ingest
from outcome_pricing.kit.money import MICRO_PLACES, to_decimal
from outcome_pricing.pricing import account_month_metrics
from outcome_pricing.pricing.charges import Usage, bill, bill_total
from outcome_pricing.pricing.plans import Metric, Plan, PlanSet
from outcome_pricing.proof import impact
from outcome_pricing.proof.impact import ImpactSummary
from outcome_pricing.proof.stats import Comparison
from outcome_pricing.rules.definition import Definition
from outcome_pricing.warehouse.handle import Warehouse

MONTHS_PER_YEAR = 12
HOURS_PER_SEAT = 120.0  # the monthly hours one seat covers (as the seats_needed metric)
DEFAULT_YEARS = 3
DEFAULT_DISCOUNT_RATE = 0.10
DEFAULT_RISK_ADJUSTMENT = 0.20
MAX_YEARS = 10


class Source(StrEnum):
    """Where an assumption's value comes from: finance checks these first."""

    MEASURED = "measured from the logs"
    ENTERED = "entered"


class LineKind(StrEnum):
    BENEFIT = "benefit"
    COST = "cost"


# ------------------------------------------------------------------ assumptions
@dataclass(frozen=True)
class AssumptionSpec:
    """What an assumption means, its unit, default, allowed range and how far it may swing."""

    key: str
    label: str
    unit: str
    default: float
    minimum: float
    maximum: float
    help: str
    swing: float = 0.2  # tornado / scenario range when not measured: value x (1 -/+ swing)
    sensitive: bool = True  # part of the tornado and the low/high scenarios

    def __post_init__(self) -> None:
        # Floats throughout: widgets refuse a mix of int and float bounds.
        for name in ("default", "minimum", "maximum"):
            object.__setattr__(self, name, float(getattr(self, name)))


SPECS: dict[str, AssumptionSpec] = {
    s.key: s
    for s in (
        AssumptionSpec(
            "monthly_volume", "Tasks per month", "tasks", 10_000, 0, 1e9,
            "Tasks (conversations, tickets) the AI agent will handle per month in year 1.",
        ),
        AssumptionSpec(
            "volume_growth", "Volume growth per year", "fraction", 0.0, -0.5, 2.0,
            "Yearly change in tasks after year 1 (0.10 = +10% a year).", swing=0.0,
        ),
        AssumptionSpec(
            "minutes_saved_per_task", "Human minutes saved per task", "minutes", 3.0, -60, 600,
            "Baseline human handling minutes per task minus the minutes with the AI live.",
        ),
        AssumptionSpec(
            "agent_hourly_cost", "Agent hourly cost", "$/hour", 35.0, 0, 1000,
            "Fully loaded labour cost of one agent hour (wages, benefits, overhead).",
        ),
        AssumptionSpec(
            "missed_issue_reduction", "Missed issues avoided per task", "fraction", 0.0, -1, 1,
            "Baseline missed-issue rate minus the rate with the AI live (QA-audited tasks).",
        ),
        AssumptionSpec(
            "cost_per_missed_issue", "Cost per missed issue", "$", 13.50, 0, 100_000,
            "What one missed or wrongly answered issue costs: at least one more live contact "
            "(Gartner: about $13.50 per live-channel contact), plus goodwill.",
        ),
        AssumptionSpec(
            "seats", "Seats today", "seats", 0, 0, 1e6,
            "Human-agent seats the customer pays for today.", sensitive=False,
        ),
        AssumptionSpec(
            "seat_price", "Seat price per month", "$/seat/month", 0.0, 0, 100_000,
            "What the customer pays per seat per month today.", sensitive=False,
        ),
        AssumptionSpec(
            "seats_avoided", "Seats no longer needed", "seats", 0, 0, 1e6,
            f"Seats the customer can drop: hours saved per month / {HOURS_PER_SEAT:.0f} hours "
            "per seat, at most the seats today.",
        ),
        AssumptionSpec(
            "plan_includes_seats", "Plan charges for seats itself", "yes/no", 0, 0, 1,
            "1 when the chosen plan has a seat charge (seats or seats needed), 0 otherwise.",
            sensitive=False,
        ),
        AssumptionSpec(
            "plan_seat_charges", "Plan seat charges per month", "$/month", 0, 0, 1e9,
            "The chosen plan's own seat charges a month (0 when it has none).", sensitive=False,
        ),
        AssumptionSpec(
            "ai_spend_per_task", "AI spend per task", "$/task", 0.50, 0, 1000,
            "The chosen plan's bill per task under the chosen definition (recent months).",
        ),
        AssumptionSpec(
            "implementation_cost", "Implementation cost", "$", 10_000, 0, 1e9,
            "One-off cost at year 0: set-up, integration, knowledge base, training.",
        ),
        AssumptionSpec(
            "annual_running_cost", "Internal running cost per year", "$/year", 0, 0, 1e9,
            "The customer's own yearly cost of running the AI agent (knowledge upkeep, admin).",
        ),
        AssumptionSpec(
            "risk_labour", "Risk adjustment: labour", "fraction", DEFAULT_RISK_ADJUSTMENT, 0, 1,
            "Haircut on the labour benefit for the risk that it is not realised.", sensitive=False,
        ),
        AssumptionSpec(
            "risk_quality", "Risk adjustment: quality", "fraction", DEFAULT_RISK_ADJUSTMENT, 0, 1,
            "Haircut on the quality benefit.", sensitive=False,
        ),
        AssumptionSpec(
            "risk_seats", "Risk adjustment: seats", "fraction", DEFAULT_RISK_ADJUSTMENT, 0, 1,
            "Haircut on the seat benefit.", sensitive=False,
        ),
    )
}
RISK_KEYS = {"labour": "risk_labour", "quality": "risk_quality", "seats": "risk_seats"}
# Forrester: "Organizations typically use discount rates between 8% and 16%."
DISCOUNT_RATE_RANGE = (0.08, 0.16)


@dataclass(frozen=True)
class Assumption:
    """One input of the case, with where it came from (and, if measured, n and CI)."""

    key: str
    value: float
    source: Source = Source.ENTERED
    detail: str = ""
    n: int | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def spec(self) -> AssumptionSpec:
        return SPECS[self.key]

    @property
    def bounds(self) -> tuple[float, float]:
        """Low and high values for sensitivity: the CI when measured, else +/- the spec's swing."""
        if self.ci_low is not None and self.ci_high is not None:
            return (min(self.ci_low, self.ci_high), max(self.ci_low, self.ci_high))
        s = self.spec.swing
        return (self.value * (1 - s), self.value * (1 + s))

    def source_text(self) -> str:
        parts = [str(self.source)]
        if self.n is not None:
            parts.append(f"n = {self.n:,}")
        if self.ci_low is not None and self.ci_high is not None:
            parts.append(f"95% CI {self.ci_low:,.4g} to {self.ci_high:,.4g}")
        if self.detail:
            parts.append(self.detail)
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.spec.label,
            "value": self.value,
            "unit": self.spec.unit,
            "source": str(self.source),
            "detail": self.detail,
            "n": self.n,
            "ci": None if self.ci_low is None else [self.ci_low, self.ci_high],
        }


def entered(key: str, value: float, detail: str = "") -> Assumption:
    """An assumption typed in (or a default): validated against the spec's range."""
    spec = SPECS.get(key)
    if spec is None:
        raise ConfigError(f"Unknown ROI assumption '{key}'. Known: {', '.join(SPECS)}.")
    v = float(value)
    if not math.isfinite(v) or not spec.minimum <= v <= spec.maximum:
        raise ConfigError(
            f"ROI assumption '{key}' ({spec.label}) = {value!r} is outside "
            f"{spec.minimum:g}..{spec.maximum:g} {spec.unit}; enter a value in that range."
        )
    return Assumption(key, v, Source.ENTERED, detail)


# Derived from other assumptions unless entered (see resolve_derived).
DERIVED_KEYS = frozenset({"seats_avoided"})


def default_assumptions() -> dict[str, Assumption]:
    return {
        k: Assumption(k, s.default, Source.ENTERED, "default")
        for k, s in SPECS.items()
        if k not in DERIVED_KEYS
    }


def with_overrides(
    base: Mapping[str, Assumption], overrides: Mapping[str, float] | None
) -> dict[str, Assumption]:
    """Replace measured or default values by entered ones (validated)."""
    out = dict(base)
    for key, value in (overrides or {}).items():
        out[key] = entered(key, value)
    return out


def with_risk_adjustment(base: Mapping[str, Assumption], risk: float) -> dict[str, Assumption]:
    """The same haircut on every benefit line (the CLI's --risk-adjustment)."""
    return {
        **base,
        **{k: entered(k, risk, "the case's risk adjustment") for k in RISK_KEYS.values()},
    }


# ------------------------------------------------------------------ cash flows
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


# ------------------------------------------------------------------ the case's lines
def value_map(assumptions: Mapping[str, Assumption]) -> dict[str, float]:
    out = {k: s.default for k, s in SPECS.items()}
    out.update({k: a.value for k, a in assumptions.items()})
    return out


def seats_avoided_from_hours(v: Mapping[str, float]) -> float:
    """Whole seats freed by the hours saved each month, never more than the seats today."""
    hours_per_month = v["monthly_volume"] * v["minutes_saved_per_task"] / 60.0
    return float(min(v["seats"], max(0.0, math.floor(hours_per_month / HOURS_PER_SEAT))))


def remaining_seat_change(v: Mapping[str, float]) -> float:
    """Monthly change in what the seats kept cost (see the seat convention): 0 unless the
    plan charges for seats, then its seat charges minus today's licences for the seats kept."""
    if not v["plan_includes_seats"]:
        return 0.0
    kept = max(v["seats"] - v["seats_avoided"], 0.0)
    return v["plan_seat_charges"] - kept * v["seat_price"]


def annual_volumes(v: Mapping[str, float], years: int) -> tuple[float, ...]:
    """Tasks per year, index 0..years (none at year 0: the AI is being set up)."""
    year1 = v["monthly_volume"] * MONTHS_PER_YEAR
    return (0.0,) + tuple(year1 * (1 + v["volume_growth"]) ** (y - 1) for y in range(1, years + 1))


def case_lines(v: Mapping[str, float], years: int, plan_label: str = "the plan") -> tuple[Line, ...]:
    """The benefit and cost lines of the case from plain assumption values."""
    vol = annual_volumes(v, years)
    every_year = (0.0,) + (1.0,) * years
    year0 = (1.0,) + (0.0,) * years
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
        Line(
            "ai_spend", f"AI spend under {plan_label}", LineKind.COST,
            tuple(n * v["ai_spend_per_task"] for n in vol),
        ),
        Line(
            "implementation", "Implementation", LineKind.COST,
            tuple(e * v["implementation_cost"] for e in year0),
        ),
        Line(
            "running", "Internal running cost", LineKind.COST,
            tuple(e * v["annual_running_cost"] for e in every_year),
        ),
        Line(
            "remaining_seats", "Remaining seat costs", LineKind.COST,
            tuple(e * remaining_seat_change(v) * MONTHS_PER_YEAR for e in every_year),
        ),
    )


def resolve_derived(assumptions: Mapping[str, Assumption]) -> dict[str, Assumption]:
    """Fill seats_avoided from the hours saved unless it was given."""
    out = dict(assumptions)
    if "seats_avoided" not in out:
        v = value_map(out)
        minutes = out.get("minutes_saved_per_task")
        src = minutes.source if minutes else Source.ENTERED
        out["seats_avoided"] = Assumption(
            "seats_avoided",
            seats_avoided_from_hours(v),
            src,
            f"derived: tasks per month x minutes saved / 60 / {HOURS_PER_SEAT:.0f} h per seat, "
            "capped at the seats today",
        )
    return out


def flows_for(
    assumptions: Mapping[str, Assumption], years: int, discount_rate: float, plan_label: str
) -> CashFlows:
    v = value_map(resolve_derived(assumptions))
    return cash_flows(case_lines(v, years, plan_label), years, discount_rate)


# ------------------------------------------------------------------ sensitivity and scenarios
@dataclass(frozen=True)
class TornadoBar:
    key: str
    label: str
    low_value: float
    high_value: float
    npv_at_low: float
    npv_at_high: float

    base_npv: float = 0.0

    @property
    def swing(self) -> float:
        return abs(self.npv_at_high - self.npv_at_low)

    @property
    def delta_low(self) -> float:
        """NPV change with the assumption at its low end (what a tornado bar draws)."""
        return self.npv_at_low - self.base_npv

    @property
    def delta_high(self) -> float:
        return self.npv_at_high - self.base_npv

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "low_value": self.low_value,
            "high_value": self.high_value,
            "npv_at_low": round(self.npv_at_low, 2),
            "npv_at_high": round(self.npv_at_high, 2),
        }


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    npv: float
    roi: float | None
    payback_months: float | None
    values: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "npv": round(self.npv, 2),
            "roi": None if self.roi is None else round(self.roi, 4),
            "payback_months": None if self.payback_months is None else round(self.payback_months, 1),
            "values": dict(self.values),
        }


def _clamp(key: str, value: float) -> float:
    s = SPECS[key]
    return min(max(value, s.minimum), s.maximum)


def tornado(
    assumptions: Mapping[str, Assumption], years: int, discount_rate: float, plan_label: str
) -> tuple[TornadoBar, ...]:
    """NPV with each main assumption at its low and at its high end, widest swing first."""
    resolved = resolve_derived(assumptions)
    base = flows_for(resolved, years, discount_rate, plan_label).npv
    bars: list[TornadoBar] = []
    for key, a in resolved.items():
        if not a.spec.sensitive:
            continue
        lo, hi = (_clamp(key, b) for b in a.bounds)
        npv_lo, npv_hi = (
            flows_for({**resolved, key: replace(a, value=x, source=Source.ENTERED, detail="")},
                      years, discount_rate, plan_label).npv
            for x in (lo, hi)
        )
        if npv_lo != npv_hi:  # an assumption that moves nothing is not a bar
            bars.append(TornadoBar(key, a.spec.label, lo, hi, npv_lo, npv_hi, base))
    r_lo, r_hi = DISCOUNT_RATE_RANGE
    bars.append(
        TornadoBar(
            "discount_rate", "Discount rate", r_lo, r_hi,
            flows_for(resolved, years, r_lo, plan_label).npv,
            flows_for(resolved, years, r_hi, plan_label).npv,
            base,
        )
    )
    return tuple(sorted(bars, key=lambda b: b.swing, reverse=True))


def scenarios(
    assumptions: Mapping[str, Assumption],
    years: int,
    discount_rate: float,
    plan_label: str,
    bars: Iterable[TornadoBar],
) -> tuple[ScenarioResult, ...]:
    """Low, base and high: every main assumption at its unfavourable, central or favourable end.

    Which end is favourable comes from the tornado (the end with the higher NPV).
    """
    resolved = resolve_derived(assumptions)
    base = flows_for(resolved, years, discount_rate, plan_label)
    out = []
    for name, pick_high_npv in (("low", False), ("high", True)):
        values: dict[str, float] = {}
        for bar in bars:
            if bar.key == "discount_rate":
                continue
            hi_better = bar.npv_at_high >= bar.npv_at_low
            values[bar.key] = bar.high_value if hi_better == pick_high_npv else bar.low_value
        changed = {
            k: replace(resolved[k], value=x, source=Source.ENTERED, detail="") for k, x in values.items()
        }
        f = flows_for({**resolved, **changed}, years, discount_rate, plan_label)
        out.append(ScenarioResult(name, f.npv, f.roi, f.payback_months, values))
    low, high = out
    return (low, ScenarioResult("base", base.npv, base.roi, base.payback_months), high)


# ------------------------------------------------------------------ the case
@dataclass(frozen=True)
class RoiCase:
    """A complete ROI case: who, under which plan and definition, the inputs and the results."""

    subject: str  # account id or prospect name (user text: escape when shown)
    subject_kind: str  # "account" | "prospect" | "upload"
    plan: str
    definition_name: str
    definition_version: str
    prepared_on: date
    years: int
    discount_rate: float
    risk_adjustment: float
    assumptions: Mapping[str, Assumption]
    flows: CashFlows
    scenarios: tuple[ScenarioResult, ...]
    tornado: tuple[TornadoBar, ...]
    notes: tuple[str, ...] = ()

    @property
    def npv(self) -> float:
        return self.flows.npv

    @property
    def roi(self) -> float | None:
        return self.flows.roi

    @property
    def payback_months(self) -> float | None:
        return self.flows.payback_months

    @property
    def payback_years(self) -> float | None:
        """Payback on a year axis (for charts)."""
        m = self.flows.payback_months
        return None if m is None else m / MONTHS_PER_YEAR

    def to_dict(self) -> dict[str, Any]:
        f = self.flows
        return {
            "subject": self.subject,
            "subject_kind": self.subject_kind,
            "plan": self.plan,
            "definition": {"name": self.definition_name, "version": self.definition_version},
            "prepared_on": self.prepared_on.isoformat(),
            "years": [
                {
                    "year": yf.year,
                    "benefits": round(yf.benefits, 2),
                    "costs": round(yf.costs, 2),
                    "net": round(yf.net, 2),
                    "cumulative": round(yf.cumulative, 2),
                    "discount_factor": yf.discount_factor,
                }
                for yf in f.years
            ],
            "lines": [
                {
                    "key": ln.key,
                    "label": ln.label,
                    "kind": str(ln.kind),
                    "risk_adjustment": ln.risk_adjustment,
                    "gross": [round(a, 2) for a in ln.gross],
                    "adjusted": [round(a, 2) for a in ln.adjusted],
                }
                for ln in f.lines
            ],
            "pv_benefits": round(f.pv_benefits, 2),
            "pv_costs": round(f.pv_costs, 2),
            "npv": round(f.npv, 2),
            "roi": None if f.roi is None else round(f.roi, 4),
            "payback_months": None if f.payback_months is None else round(f.payback_months, 1),
            "discount_rate": self.discount_rate,
            "risk_adjustment": self.risk_adjustment,
            "risk_adjustment_by_line": {
                line: self.assumptions[key].value for line, key in RISK_KEYS.items()
            },
            "assumptions": {k: a.to_dict() for k, a in self.assumptions.items()},
            "scenarios": [s.to_dict() for s in self.scenarios],
            "tornado": [b.to_dict() for b in self.tornado],
            "notes": list(self.notes),
        }


def build_case(
    assumptions: Mapping[str, Assumption],
    *,
    subject: str,
    subject_kind: str = "prospect",
    plan: str = "",
    definition_name: str = "",
    definition_version: str = "",
    years: int = DEFAULT_YEARS,
    discount_rate: float = DEFAULT_DISCOUNT_RATE,
    risk_adjustment: float = DEFAULT_RISK_ADJUSTMENT,
    prepared_on: date | None = None,
    notes: Iterable[str] = (),
) -> RoiCase:
    """The whole case from assumptions (pure: no warehouse needed)."""
    validate_horizon(years, discount_rate)
    resolved = resolve_derived({**default_assumptions(), **assumptions})
    label = plan or "the plan"
    bars = tornado(resolved, years, discount_rate, label)
    return RoiCase(
        subject=subject,
        subject_kind=subject_kind,
        plan=plan,
        definition_name=definition_name,
        definition_version=definition_version,
        prepared_on=prepared_on or date.today(),
        years=years,
        discount_rate=discount_rate,
        risk_adjustment=risk_adjustment,
        assumptions=resolved,
        flows=flows_for(resolved, years, discount_rate, label),
        scenarios=scenarios(resolved, years, discount_rate, label, bars),
        tornado=bars,
        notes=(PROJECTION_NOTE, SEAT_CONVENTION, *notes),
    )


PROJECTION_NOTE = (
    "Projection: the AI handles every task from year 1; tasks in year y = tasks per month x 12 x "
    "(1 + growth)^(y - 1). Labour, quality and AI spend scale with those tasks; seats and running "
    "costs are per year; implementation is at year 0."
)
SEAT_CONVENTION = (
    "Seats are counted once. Seats no longer needed (benefit) = seats avoided x seat price. "
    "Remaining seat costs (cost) = what the plan changes for the seats kept: zero when the plan "
    "has no seat charge (those licences are paid today and after: not incremental); when it "
    "has one, its seat charges minus today's licences for the seats kept. The AI spend never "
    "includes seat charges."
)


# ================================================================== inputs from the logs
# Everything below reads the warehouse through the engine's public functions
# (impact, pricing, forecast); nothing here recomputes what they measure.
RECENT_MONTHS = 3  # months averaged for outcomes and tokens per AI task (as the forecast's levels)
PORTFOLIO = "portfolio (all accounts)"
SEAT_METRICS = frozenset({Metric.SEATS, Metric.SEATS_NEEDED})


@dataclass(frozen=True)
class CaseContext:
    """What the case is about: the plan set, the plan, the definition (shared by every kind)."""

    planset: PlanSet
    plan: str
    definition: Definition

    @property
    def plan_obj(self) -> Plan:
        return self.planset.plan(self.plan)  # ConfigError naming the known plans


def _ci_of_saving(c: Comparison) -> tuple[float | None, float | None]:
    """A saving is minus the measured change (AI - baseline): flip and swap the CI."""
    if c.ci_low is None or c.ci_high is None:
        return None, None
    return -c.ci_high, -c.ci_low


def _measured(key: str, value: float, n: int | None, ci: tuple[float | None, float | None],
              detail: str) -> Assumption:
    lo, hi = ci
    return Assumption(key, _clamp(key, value), Source.MEASURED, detail, n,
                      None if lo is None else _clamp(key, lo), None if hi is None else _clamp(key, hi))


def _minutes_comparison(summary: ImpactSummary) -> Comparison:
    """Prefer the same-topic-mix change: AI taking the easy topics is not speed."""
    mix = summary.human_minutes_mix_adjusted
    return mix if mix.diff is not None else summary.human_minutes


def impact_assumptions(summary: ImpactSummary, scope: str) -> dict[str, Assumption]:
    """Minutes saved and missed issues avoided per task, from impact.impact_summary."""
    out: dict[str, Assumption] = {}
    minutes = _minutes_comparison(summary)
    if minutes.diff is not None:
        out["minutes_saved_per_task"] = _measured(
            "minutes_saved_per_task", -minutes.diff, minutes.n_baseline + minutes.n_ai,
            _ci_of_saving(minutes),
            f"{scope}: {minutes.label}, baseline {minutes.baseline:.2f} vs AI {minutes.ai:.2f} "
            f"(n = {minutes.n_baseline:,} baseline, {minutes.n_ai:,} AI tasks)"
            + (f". {minutes.warning}" if minutes.warning else ""),
        )
    missed = summary.missed_issue_rate
    if missed.diff is not None:
        out["missed_issue_reduction"] = _measured(
            "missed_issue_reduction", -missed.diff, missed.n_baseline + missed.n_ai,
            _ci_of_saving(missed),
            f"{scope}: missed-issue rate among QA-audited tasks, baseline {missed.baseline:.2%} "
            f"vs AI {missed.ai:.2%}" + (f". {missed.warning}" if missed.warning else ""),
        )
    return out


def _recent(metrics: pd.DataFrame, account_id: str | None) -> pd.DataFrame:
    """The last RECENT_MONTHS months of one account (or of every account)."""
    m = metrics if account_id is None else metrics[metrics["account_id"] == account_id]
    months = sorted(m["month"].unique())[-RECENT_MONTHS:]
    return m[m["month"].isin(months)]


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
    scope: str  # whose logs: "this account", "portfolio (all accounts)"


def usage_rates(recent: pd.DataFrame, scope: str) -> UsageRates | None:
    """Per-AI-task rates of some account-months under the definition; None without AI tasks."""
    ai_tasks = int(recent["ai_tasks"].sum())
    if ai_tasks == 0:
        return None

    def per_task(col: str) -> float:
        return float(recent[col].sum()) / ai_tasks

    return UsageRates(
        per_task("outcomes"), per_task("input_tokens_m"), per_task("output_tokens_m"), ai_tasks, scope
    )


@dataclass(frozen=True)
class ProjectedMonth:
    """One month of the case: every task with the AI live."""

    tasks: float
    human_minutes_per_task: float  # with the AI (for a plan's seats_needed charge)
    seats: float
    seat_price: float


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
        },
        human_ms=int(v * max(month.human_minutes_per_task, 0.0) * 60_000),
        seat_price=_usage_quantity(month.seat_price),
    )


def spend_assumptions(month: ProjectedMonth, rates: UsageRates, ctx: CaseContext) -> dict[str, Assumption]:
    """AI spend per task and the plan's own seat charges: the plan's bill (the same charge
    arithmetic as the backtest and statements) for one projected month, with and without
    its seat charges. Fees, tiers, minimums and caps are billed, not scaled."""
    plan = ctx.plan_obj
    usage = projected_usage(month, rates)
    full = bill_total(bill(plan, usage))
    ai_part = bill_total(bill(seatless(plan), usage))
    includes = plan_charges_seats(plan)
    d = ctx.definition
    where = (
        f"plan '{ctx.plan}' billed for one month of {month.tasks:,.0f} tasks at {rates.scope}'s "
        f"{rates.outcomes:.3f} outcomes per AI task under {d.name} ({d.version}), last "
        f"{RECENT_MONTHS} months"
    )
    return {
        "plan_includes_seats": Assumption(
            "plan_includes_seats", float(includes), Source.ENTERED, f"the plans file, plan '{ctx.plan}'"
        ),
        "plan_seat_charges": _measured(
            "plan_seat_charges", float(full - ai_part) if includes else 0.0, None, (None, None),
            f"seat charges: {where}",
        ),
        "ai_spend_per_task": _measured(
            "ai_spend_per_task", float(ai_part) / max(month.tasks, 1.0), rates.ai_tasks, (None, None),
            f"bill without seat charges / tasks: {where}",
        ),
    }


def volume_assumptions(metrics: pd.DataFrame, account_id: str, per_ai_task: float) -> dict[str, Assumption]:
    """Tasks per month today and the yearly trend, from the forecast's estimates."""
    est = forecast.estimate_assumptions(metrics, per_ai_task=per_ai_task)
    row = est.accounts.set_index("account_id").loc[account_id]
    months = int(metrics.loc[metrics["account_id"] == account_id, "month"].nunique())
    monthly_log_growth = est.volume_growth + float(row["growth_offset"])
    return {
        "monthly_volume": _measured(
            "monthly_volume", float(row["tasks"]), months, (None, None),
            f"trend level of monthly tasks at the last month ({months} months of history; forecast)",
        ),
        "volume_growth": _measured(
            "volume_growth", math.expm1(MONTHS_PER_YEAR * monthly_log_growth), months, (None, None),
            "per-account log-linear trend shrunk toward the portfolio's, as a yearly rate (forecast)",
        ),
    }


ACCOUNT_SQL = """
SELECT name, coalesce(seats, 0) AS seats, coalesce(seat_price, 0) AS seat_price, agent_hourly_cost
FROM accounts WHERE account_id = ?
"""


def account_assumptions(wh: Warehouse, account_id: str) -> tuple[str, dict[str, Assumption]]:
    """Seats, seat price and agent cost from the accounts file (when there is a row)."""
    rows = wh.query_df(ACCOUNT_SQL, [account_id])
    if rows.empty:
        return account_id, {}
    r = rows.iloc[0]
    detail = "accounts file"
    out = {
        "seats": _measured("seats", float(r["seats"]), None, (None, None), detail),
        "seat_price": _measured("seat_price", float(r["seat_price"]), None, (None, None), detail),
    }
    if r["agent_hourly_cost"] is not None and not math.isnan(r["agent_hourly_cost"]):
        out["agent_hourly_cost"] = _measured(
            "agent_hourly_cost", float(r["agent_hourly_cost"]), None, (None, None), detail
        )
    name = r["name"] if isinstance(r["name"], str) and r["name"] else account_id
    return name, out


def account_ids(wh: Warehouse) -> list[str]:
    return wh.account_ids()


# The most AI tasks is the most evidence: every measured assumption has its narrowest interval.
DEFAULT_ACCOUNT_SQL = """
SELECT account_id
FROM tasks
GROUP BY account_id
ORDER BY count(*) FILTER (WHERE ai_enabled) DESC, count(*) DESC, account_id
LIMIT 1
"""
ACCOUNT_NAMES_SQL = "SELECT account_id, name FROM accounts WHERE name IS NOT NULL AND trim(name) <> ''"


def default_account(wh: Warehouse) -> str | None:
    """The account a case opens on when none is asked for: the one with the most AI tasks
    (ties: most tasks, then the smallest id); None without tasks."""
    rows = wh.query_df(DEFAULT_ACCOUNT_SQL)
    return None if rows.empty else str(rows.iloc[0]["account_id"])


def account_names(wh: Warehouse) -> dict[str, str]:
    """Account id -> name from the accounts file (accounts without a name are left out)."""
    rows = wh.query_df(ACCOUNT_NAMES_SQL)
    return dict(zip(rows["account_id"].astype(str), rows["name"].astype(str), strict=True))


@dataclass(frozen=True)
class Measured:
    """What the logs say about one customer: the slow part of a case, measured once."""

    subject: str  # display name (user text: escape when shown)
    kind: str  # "account" | "prospect" | "upload"
    assumptions: Mapping[str, Assumption]
    notes: tuple[str, ...] = ()


def measure_account(wh: Warehouse, account_id: str, ctx: CaseContext, kind: str = "account") -> Measured:
    """Every assumption the account's own logs can give; the portfolio's where they cannot.

    Raises for an unknown account or plan.
    """
    wh.require_account(account_id, "so there is no ROI case to build")
    ctx.plan_obj  # noqa: B018 - fail early, naming the known plans
    metrics = account_month_metrics(wh, ctx.definition, ctx.planset.costs)
    name, out = account_assumptions(wh, account_id)
    out.update(volume_assumptions(metrics, account_id, float(ctx.planset.costs.per_ai_task)))
    summary = impact.impact_summary(wh, account_id)
    out.update(impact_assumptions(summary, "this account's logs"))
    rates = usage_rates(_recent(metrics, account_id), "this account")
    missing = [k for k in ("minutes_saved_per_task", "missed_issue_reduction") if k not in out]
    notes: list[str] = []
    if missing or rates is None:
        labels = [SPECS[k].label for k in missing] + (["outcomes per AI task"] if rates is None else [])
        notes.append(
            "Not measurable from this account's logs (no baseline or no recent AI tasks): "
            + ", ".join(labels) + "; the portfolio's figure is used."
        )
        portfolio = impact_assumptions(impact.impact_summary(wh, None), PORTFOLIO)
        out.update({k: portfolio[k] for k in missing if k in portfolio})
        rates = rates or usage_rates(_recent(metrics, None), PORTFOLIO)
    v = value_map(out)
    ai_minutes = _minutes_comparison(summary).ai
    month = ProjectedMonth(
        v["monthly_volume"],
        ai_minutes if ai_minutes is not None else 0.0,
        v["seats"],
        v["seat_price"],
    )
    if rates is not None:
        out.update(spend_assumptions(month, rates, ctx))
    subject = account_id if name == account_id else f"{name} ({account_id})"
    return Measured(subject, kind, out, tuple(notes))


@dataclass(frozen=True)
class CaseSettings:
    """The case's frame: horizon, discount rate, the default haircut and entered overrides."""

    years: int = DEFAULT_YEARS
    discount_rate: float = DEFAULT_DISCOUNT_RATE
    risk_adjustment: float = DEFAULT_RISK_ADJUSTMENT
    overrides: Mapping[str, float] = field(default_factory=dict)
    prepared_on: date | None = None


def _measured_base(measured: Measured, risk_adjustment: float) -> dict[str, Assumption]:
    """Defaults, then what was measured, then the case's haircut (before anything entered)."""
    return with_risk_adjustment({**default_assumptions(), **measured.assumptions}, risk_adjustment)


def editable_assumptions(measured: Measured, settings: CaseSettings) -> dict[str, Assumption]:
    """For each assumption a user may enter: its value without that entry (measured, default
    or derived from the others), which is where an input starts and what "reset" returns to."""
    base = _measured_base(measured, settings.risk_adjustment)
    out = {}
    for key in OVERRIDABLE:
        others = {k: v for k, v in settings.overrides.items() if k != key}
        out[key] = resolve_derived(with_overrides(base, others))[key]
    return out


def assemble_case(measured: Measured, settings: CaseSettings, ctx: CaseContext) -> RoiCase:
    """The case from measured inputs: defaults, then what was measured, then the default
    haircut, then what the user entered (cheap: measure once, assemble on every change)."""
    return build_case(
        with_overrides(_measured_base(measured, settings.risk_adjustment), settings.overrides),
        subject=measured.subject,
        subject_kind=measured.kind,
        plan=ctx.plan,
        definition_name=ctx.definition.name,
        definition_version=ctx.definition.version,
        years=settings.years,
        discount_rate=settings.discount_rate,
        risk_adjustment=settings.risk_adjustment,
        prepared_on=settings.prepared_on,
        notes=measured.notes,
    )


def case_for_account(
    wh: Warehouse, account_id: str, ctx: CaseContext, settings: CaseSettings | None = None,
    kind: str = "account",
) -> RoiCase:
    """The case for an account in the warehouse, from its own logs (the portfolio's where not)."""
    settings = settings or CaseSettings()
    validate_horizon(settings.years, settings.discount_rate)
    return assemble_case(measure_account(wh, account_id, ctx, kind), settings, ctx)


# ------------------------------------------------------------------ prospects
@dataclass(frozen=True)
class Prospect:
    """A prospect described by hand: what sales can ask on a first call."""

    name: str
    monthly_volume: float
    human_minutes_per_task: float  # handling time today, without the AI
    agent_hourly_cost: float
    seats: float
    seat_price: float


def measure_prospect(wh: Warehouse, prospect: Prospect, ctx: CaseContext) -> Measured:
    """A prospect by hand: their volume, time, cost and seats; the AI's effect and the plan's
    outcomes and tokens per task measured on the portfolio in the warehouse."""
    entered_values = {
        "monthly_volume": prospect.monthly_volume,
        "agent_hourly_cost": prospect.agent_hourly_cost,
        "seats": prospect.seats,
        "seat_price": prospect.seat_price,
    }
    measured = {k: entered(k, v, "prospect") for k, v in entered_values.items()}
    summary = impact.impact_summary(wh, None)
    portfolio_effects = impact_assumptions(summary, PORTFOLIO)
    minutes = portfolio_effects.get("minutes_saved_per_task")
    baseline = _minutes_comparison(summary).baseline
    if minutes is not None and baseline:
        # The portfolio's relative saving applied to the prospect's own handling time.
        share = prospect.human_minutes_per_task / baseline
        measured["minutes_saved_per_task"] = replace(
            minutes,
            value=_clamp("minutes_saved_per_task", minutes.value * share),
            ci_low=None if minutes.ci_low is None else minutes.ci_low * share,
            ci_high=None if minutes.ci_high is None else minutes.ci_high * share,
            detail=f"the portfolio's saving of {minutes.value / baseline:.1%} of baseline minutes, "
            f"applied to the prospect's {prospect.human_minutes_per_task:g} minutes; "
            + minutes.detail,
        )
    if "missed_issue_reduction" in portfolio_effects:
        measured["missed_issue_reduction"] = portfolio_effects["missed_issue_reduction"]
    metrics = account_month_metrics(wh, ctx.definition, ctx.planset.costs)
    rates = usage_rates(_recent(metrics, None), PORTFOLIO)
    saved = value_map(measured)["minutes_saved_per_task"]
    month = ProjectedMonth(
        prospect.monthly_volume, prospect.human_minutes_per_task - saved, prospect.seats, prospect.seat_price
    )
    notes: tuple[str, ...] = ()
    if rates is not None:
        measured.update(spend_assumptions(month, rates, ctx))
    else:
        notes = ("The warehouse has no AI tasks to measure outcomes per task from: enter the AI "
                 "spend per task.",)
    return Measured(prospect.name, "prospect", measured, notes)


def case_for_prospect(
    wh: Warehouse, prospect: Prospect, ctx: CaseContext, settings: CaseSettings | None = None
) -> RoiCase:
    """The case for a prospect described by hand (see measure_prospect)."""
    settings = settings or CaseSettings()
    validate_horizon(settings.years, settings.discount_rate)
    return assemble_case(measure_prospect(wh, prospect, ctx), settings, ctx)


def load_prospect_logs(
    tasks: str | Path, accounts: str | Path | None = None, mapping: str | Path | None = None, *,
    tasks_name: str | None = None, accounts_name: str | None = None,
) -> Warehouse:
    """A prospect's uploaded logs in a throw-away in-memory warehouse (never stored)."""
    wh = Warehouse.in_memory()
    try:
        ingest.ingest_files(
            wh, tasks=tasks, accounts=accounts, mapping=mapping,
            tasks_name=tasks_name, accounts_name=accounts_name,
        )
    except BaseException:
        wh.close()
        raise
    return wh


def case_for_upload(
    wh: Warehouse, ctx: CaseContext, settings: CaseSettings | None = None, account_id: str | None = None
) -> RoiCase:
    """The case from a prospect's uploaded logs (see load_prospect_logs)."""
    ids = account_ids(wh)
    if account_id is None:
        if len(ids) != 1:
            raise ConfigError(
                f"The uploaded logs hold {len(ids)} accounts ({', '.join(ids[:5])}"
                f"{', ...' if len(ids) > 5 else ''}); choose one."
            )
        account_id = ids[0]
    return case_for_account(wh, account_id, ctx, settings, kind="upload")


# ------------------------------------------------------------------ the table everybody shows
def period_labels(years: int) -> list[str]:
    return ["Initial"] + [f"Year {y}" for y in range(1, years + 1)]


def cash_flow_table(case: RoiCase) -> pd.DataFrame:
    """The TEI table: one row per line (benefits risk-adjusted), totals, net and cumulative;
    columns Initial, Year 1..N, Total, PV. The report, the page and the CSV all show this."""
    f = case.flows
    periods = period_labels(case.years)
    rows: list[dict[str, Any]] = []

    def row(label: str, kind: str, amounts: Iterable[float], risk: float | None, pv: bool = True) -> None:
        amounts = list(amounts)
        rows.append(
            {
                "line": label,
                "kind": kind,
                "risk_adjustment": math.nan if risk is None else risk,
                **dict(zip(periods, amounts, strict=True)),
                "Total": sum(amounts) if pv else math.nan,
                "PV": present_value(amounts, f.discount_rate) if pv else math.nan,
            }
        )

    for kind, total_label in ((LineKind.BENEFIT, "Total benefits"), (LineKind.COST, "Total costs")):
        for ln in f.lines:
            if ln.kind is kind:
                row(ln.label, str(kind), ln.adjusted, ln.risk_adjustment if kind is LineKind.BENEFIT else None)
        attr = "benefits" if kind is LineKind.BENEFIT else "costs"
        row(total_label, "total", (getattr(y, attr) for y in f.years), None)
    row("Net cash flow", "net", (y.net for y in f.years), None)
    row("Cumulative net cash flow", "cumulative", (y.cumulative for y in f.years), None, pv=False)
    return pd.DataFrame(rows)


# ================================================================== a case as a shareable link
MODES = ("account", "prospect", "upload")
PROSPECT_KEYS = ("monthly_volume", "agent_hourly_cost", "seats", "seat_price")
PROSPECT_DEFAULTS = {
    "monthly_volume": 10_000.0, "agent_hourly_cost": 35.0, "seats": 25.0, "seat_price": 115.0,
}
HUMAN_MINUTES_RANGE = (0.0, 600.0)
DEFAULT_HUMAN_MINUTES = 8.0
MAX_NAME_LENGTH = 80
# Set by the plan, not by hand.
NOT_OVERRIDABLE = frozenset({"plan_includes_seats"})
OVERRIDABLE = tuple(k for k in SPECS if k not in NOT_OVERRIDABLE)


@dataclass(frozen=True)
class CaseRequest:
    """Everything that defines a case on the page, as it travels in the URL.

    `definition` None means the scenario's definition (the sidebar's, kept in
    the URL by the scenario itself).
    """

    mode: str = "account"
    account: str | None = None
    plan: str | None = None
    definition: str | None = None
    years: int = DEFAULT_YEARS
    discount_rate: float = DEFAULT_DISCOUNT_RATE
    risk_adjustment: float = DEFAULT_RISK_ADJUSTMENT
    prospect_name: str = "Prospect"
    human_minutes: float = DEFAULT_HUMAN_MINUTES
    overrides: Mapping[str, float] = field(default_factory=dict)

    def settings(self) -> CaseSettings:
        """The case's settings; in prospect mode the prospect's own figures are not overrides."""
        skip = set(PROSPECT_KEYS) if self.mode == "prospect" else set()
        return CaseSettings(
            self.years, self.discount_rate, self.risk_adjustment,
            {k: v for k, v in self.overrides.items() if k not in skip},
        )

    def prospect(self) -> Prospect:
        v = {**PROSPECT_DEFAULTS, **{k: self.overrides[k] for k in PROSPECT_KEYS if k in self.overrides}}
        return Prospect(self.prospect_name, v["monthly_volume"], self.human_minutes,
                        v["agent_hourly_cost"], v["seats"], v["seat_price"])

    def to_query(self) -> dict[str, str]:
        """The URL parameters of this case (only what differs from the defaults, plus the mode)."""
        q: dict[str, str] = {"mode": self.mode}
        if self.mode == "account" and self.account:
            q["account"] = self.account
        if self.plan:
            q["plan"] = self.plan
        if self.definition:
            q["definition"] = self.definition
        if self.years != DEFAULT_YEARS:
            q["years"] = str(self.years)
        if self.discount_rate != DEFAULT_DISCOUNT_RATE:
            q["rate"] = f"{self.discount_rate:g}"
        if self.risk_adjustment != DEFAULT_RISK_ADJUSTMENT:
            q["risk"] = f"{self.risk_adjustment:g}"
        if self.mode == "prospect":
            q["prospect"] = self.prospect_name
            q["human_minutes"] = f"{self.human_minutes:g}"
        q.update({k: f"{v:g}" for k, v in sorted(self.overrides.items())})
        return q


URL_KEYS = (
    "mode", "account", "plan", "definition", "years", "rate", "risk", "prospect", "human_minutes",
    *OVERRIDABLE,
)


def _number(q: Mapping[str, str], key: str, lo: float, hi: float, default: float,
            notices: list[str], integer: bool = False, fallback: str | None = None) -> float:
    raw = q.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
        ok = math.isfinite(value) and lo <= value <= hi and (not integer or value.is_integer())
    except ValueError:
        ok = False
    if ok:
        return value
    kind = "a whole number" if integer else "a number"
    notices.append(
        f"Link parameter '{key}' = '{raw}' is not {kind} between {lo:g} and {hi:g}; "
        f"using {fallback or f'the default ({default:g})'}."
    )
    return default


def _choice(q: Mapping[str, str], key: str, allowed: Sequence[str], default: str | None,
            notices: list[str], what: str) -> str | None:
    raw = q.get(key)
    if raw is None or raw in allowed:
        return raw if raw is not None else default
    notices.append(
        f"Link parameter '{key}' = '{raw[:MAX_NAME_LENGTH]}' is not a known {what}; "
        f"using {default or 'the default'}."
    )
    return default


def request_from_query(
    q: Mapping[str, str],
    *,
    accounts: Sequence[str],
    plans: Sequence[str],
    definitions: Sequence[str],
    default_plan: str | None = None,
    default_account: str | None = None,
) -> tuple[CaseRequest, list[str]]:
    """Read a case from URL parameters; every bad value falls back to its default with a
    notice naming the parameter (never an error: a shared link must always open).

    Without an account in the link the case opens on ``default_account`` (see
    :func:`default_account`) when it is one of ``accounts``, else the first."""
    notices: list[str] = []
    mode = _choice(q, "mode", MODES, "account", notices, "mode (account, prospect, upload)")
    fallback = default_account if default_account in accounts else (accounts[0] if accounts else None)
    account = _choice(q, "account", accounts, fallback, notices, "account")
    plan = _choice(q, "plan", plans, default_plan, notices, "plan")
    definition = _choice(q, "definition", definitions, None, notices, "definition")
    overrides = {}
    for key in OVERRIDABLE:
        if key in q:
            s = SPECS[key]
            value = _number(q, key, s.minimum, s.maximum, math.nan, notices,
                            fallback="the measured or default value")
            if not math.isnan(value):
                overrides[key] = value
    name = q.get("prospect", "Prospect").strip()[:MAX_NAME_LENGTH] or "Prospect"
    request = CaseRequest(
        mode=mode or "account",
        account=account,
        plan=plan,
        definition=definition,
        years=int(_number(q, "years", 1, MAX_YEARS, DEFAULT_YEARS, notices, integer=True)),
        discount_rate=_number(q, "rate", 0, 1, DEFAULT_DISCOUNT_RATE, notices),
        risk_adjustment=_number(q, "risk", 0, 1, DEFAULT_RISK_ADJUSTMENT, notices),
        prospect_name=name,
        human_minutes=_number(q, "human_minutes", *HUMAN_MINUTES_RANGE, DEFAULT_HUMAN_MINUTES, notices),
        overrides=overrides,
    )
    return request, notices
