"""The inputs of an ROI case: what each assumption means, its range, where its value came from.

Every assumption is a float in the unit of its spec; an entered value is
validated against the spec's range, a measured one is clamped into it. The
horizon and the default haircut live here too, so every part of the case
(cash flows, sensitivity, the link) reads one set of defaults.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing.terms import DEFAULT_HOURS_PER_SEAT

MONTHS_PER_YEAR = 12
# The monthly hours one seat covers (as the seats_needed metric): float, the case is a projection.
HOURS_PER_SEAT = float(DEFAULT_HOURS_PER_SEAT)
DEFAULT_YEARS = 3
DEFAULT_DISCOUNT_RATE = 0.10
DEFAULT_RISK_ADJUSTMENT = 0.20
MAX_YEARS = 10


class Scope(StrEnum):
    """Whose logs a measured rate comes from (read inside the assumption's source text)."""

    ACCOUNT = "this account"
    PORTFOLIO = "the portfolio (all accounts)"


class Source(StrEnum):
    """Where an assumption's value comes from: finance checks these first."""

    MEASURED = "measured from the logs"
    ENTERED = "entered"


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
        """Where the value comes from, in plain words with rounded figures (what finance reads):
        "measured from this account's 22,475 tasks: 8.0 minutes saved per task, likely between
        7.6 and 8.3"."""
        if self.source is Source.MEASURED:
            if self.detail:
                return self.detail
            text = "measured" + (f" from {self.n:,} tasks" if self.n is not None else "")
            text += f": {value_text(self.value, self.spec.unit)}"
            if self.ci_low is not None and self.ci_high is not None:
                text += f", likely between {self.range_text()}"
            return text
        if self.detail == "default":
            return "default (the logs do not say): enter the customer's own figure"
        if self.detail.startswith(("from ", "derived")):
            return self.detail
        return "entered" + (f": {self.detail}" if self.detail else "")

    def range_text(self) -> str:
        """The 95% interval as 'a and b' in the assumption's unit (empty without one)."""
        if self.ci_low is None or self.ci_high is None:
            return ""
        unit = self.spec.unit
        return f"{value_text(self.ci_low, unit, bare=True)} and {value_text(self.ci_high, unit, bare=True)}"

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


def value_text(value: float, unit: str, bare: bool = False) -> str:
    """An assumption's value as its unit reads, rounded for people: $1,234 or $0.45, 12.3%,
    yes/no, whole tasks and seats, minutes to one decimal. ``bare`` drops the unit word."""
    if unit.startswith("$"):
        if abs(value) >= 100:
            dollars = f"${abs(value):,.0f}"
        else:
            whole = float(value).is_integer() and unit != "$/task"
            dollars = (f"${abs(value):,.0f}" if whole else f"${abs(value):,.2f}" if abs(value) >= 0.1
                       else f"${abs(value):.2g}")
        return f"-{dollars}" if value < 0 and dollars.strip("$0.,") else dollars
    if unit == "fraction":
        return f"{value * 100:.1f}%"
    if unit == "yes/no":
        return "yes" if value else "no"
    if unit in WHOLE_UNITS:
        number = f"{value:,.0f}"
    elif unit == "minutes":
        number = f"{value:,.1f}"
    else:
        number = f"{value:,.2f}"
    if bare:
        return number
    one = number == "1" and unit.endswith("s")  # 1 seat, 1 task
    return f"{number} {unit[:-1] if one else unit}"


WHOLE_UNITS = frozenset({"tasks", "seats"})  # counted in whole units: never "10,234.57 tasks"


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


# Set by the plan, not by hand.
NOT_OVERRIDABLE = frozenset({"plan_includes_seats"})
OVERRIDABLE = tuple(k for k in SPECS if k not in NOT_OVERRIDABLE)


def clamp(key: str, value: float) -> float:
    """A value pulled into its spec's range (for measured values, which are not refused)."""
    s = SPECS[key]
    return min(max(value, s.minimum), s.maximum)


def value_map(assumptions: Mapping[str, Assumption]) -> dict[str, float]:
    out = {k: s.default for k, s in SPECS.items()}
    out.update({k: a.value for k, a in assumptions.items()})
    return out


def seats_avoided_from_hours(v: Mapping[str, float]) -> float:
    """Whole seats freed by the hours saved each month, never more than the seats today."""
    hours_per_month = v["monthly_volume"] * v["minutes_saved_per_task"] / 60.0
    return float(min(v["seats"], max(0.0, math.floor(hours_per_month / HOURS_PER_SEAT))))


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
            f"derived: the hours saved a month (tasks x minutes saved / 60) over {HOURS_PER_SEAT:.0f} "
            "hours a seat, in whole seats, at most the seats today",
        )
    return out
