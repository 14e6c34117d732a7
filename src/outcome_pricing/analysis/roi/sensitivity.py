"""How sure the case is: NPV with each assumption at its ends (tornado), low/base/high scenarios.

A measured assumption swings over its 95% confidence interval, an entered one
by its spec's swing (+/- 20% by default), the discount rate over Forrester's
8% to 16%.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from outcome_pricing.analysis.roi.assumptions import (
    DISCOUNT_RATE_RANGE,
    Assumption,
    Source,
    clamp,
    resolve_derived,
)
from outcome_pricing.analysis.roi.cashflows import CashFlows, flows_for
from outcome_pricing.analysis.roi.spend import SpendModel

SPEND_KEY = "ai_spend_per_task"


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


def _is_billed(resolved: Mapping[str, Assumption], spend: SpendModel | None) -> bool:
    """True when the AI spend is the plan billed month by month (not an entered price)."""
    return spend is not None and SPEND_KEY in resolved and resolved[SPEND_KEY].source is Source.MEASURED


def _flows_with(
    resolved: Mapping[str, Assumption], values: Mapping[str, float], years: int, discount_rate: float,
    plan_label: str, spend: SpendModel | None,
) -> CashFlows:
    """The case with some assumptions at other values. When the plan is billed, the AI spend
    per task is not replaced (that would switch to a price per task): the bill is scaled by
    the new value over the measured one instead."""
    factor = 1.0
    values = dict(values)
    if SPEND_KEY in values and _is_billed(resolved, spend):
        base = resolved[SPEND_KEY].value
        factor = values.pop(SPEND_KEY) / base if base else 1.0
    changed = {k: replace(resolved[k], value=x, source=Source.ENTERED, detail="") for k, x in values.items()}
    return flows_for({**resolved, **changed}, years, discount_rate, plan_label, spend, factor)


def tornado(
    assumptions: Mapping[str, Assumption], years: int, discount_rate: float, plan_label: str,
    spend: SpendModel | None = None,
) -> tuple[TornadoBar, ...]:
    """NPV with each main assumption at its low and at its high end, widest swing first."""
    resolved = resolve_derived(assumptions)
    base = flows_for(resolved, years, discount_rate, plan_label, spend).npv
    bars: list[TornadoBar] = []
    for key, a in resolved.items():
        if not a.spec.sensitive:
            continue
        lo, hi = (clamp(key, b) for b in a.bounds)
        npv_lo, npv_hi = (
            _flows_with(resolved, {key: x}, years, discount_rate, plan_label, spend).npv for x in (lo, hi)
        )
        if npv_lo != npv_hi:  # an assumption that moves nothing is not a bar
            bars.append(TornadoBar(key, a.spec.label, lo, hi, npv_lo, npv_hi, base))
    r_lo, r_hi = DISCOUNT_RATE_RANGE
    bars.append(
        TornadoBar(
            "discount_rate", "Discount rate", r_lo, r_hi,
            flows_for(resolved, years, r_lo, plan_label, spend).npv,
            flows_for(resolved, years, r_hi, plan_label, spend).npv,
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
    spend: SpendModel | None = None,
) -> tuple[ScenarioResult, ...]:
    """Low, base and high: every main assumption at its unfavourable, central or favourable end.

    Which end is favourable comes from the tornado (the end with the higher NPV).
    """
    resolved = resolve_derived(assumptions)
    base = flows_for(resolved, years, discount_rate, plan_label, spend)
    out = []
    for name, pick_high_npv in (("low", False), ("high", True)):
        values: dict[str, float] = {}
        for bar in bars:
            if bar.key == "discount_rate":
                continue
            hi_better = bar.npv_at_high >= bar.npv_at_low
            values[bar.key] = bar.high_value if hi_better == pick_high_npv else bar.low_value
        f = _flows_with(resolved, values, years, discount_rate, plan_label, spend)
        out.append(ScenarioResult(name, f.npv, f.roi, f.payback_months, values))
    low, high = out
    return (low, ScenarioResult("base", base.npv, base.roi, base.payback_months), high)
