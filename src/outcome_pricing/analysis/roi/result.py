"""A complete ROI case: who it is for, its inputs and results, as JSON and as the TEI table."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import pandas as pd

from outcome_pricing.analysis.roi.assumptions import (
    DEFAULT_DISCOUNT_RATE,
    DEFAULT_RISK_ADJUSTMENT,
    DEFAULT_YEARS,
    MONTHS_PER_YEAR,
    RISK_KEYS,
    Assumption,
    default_assumptions,
    resolve_derived,
    value_map,
)
from outcome_pricing.analysis.roi.cashflows import (
    CashFlows,
    LineKind,
    billed_spend,
    flows_for,
    period_labels,
    present_value,
    validate_horizon,
)
from outcome_pricing.analysis.roi.deal import DealTerm, deal_terms
from outcome_pricing.analysis.roi.sensitivity import ScenarioResult, TornadoBar, scenarios, tornado
from outcome_pricing.analysis.roi.spend import SpendModel


class SubjectKind(StrEnum):
    """Whom a case is for (the value travels in JSON and in the page's link as `mode`)."""

    ACCOUNT = "account"  # an account in the warehouse, measured from its own logs
    PROSPECT = "prospect"  # described by hand; the portfolio's measured effect applied
    UPLOAD = "upload"  # a prospect's uploaded logs, in a throw-away warehouse


PROJECTION_NOTE = (
    "Projection: the AI handles every task from year 1; tasks in year y = tasks per month x 12 x "
    "(1 + growth)^(y - 1). Labour and quality scale with those tasks; seats and running costs are "
    "per year; implementation is at year 0."
)
BILLED_NOTE = (
    "AI spend: the plan is billed for every projected month with its own terms (platform fee, "
    "allowances, tiers, minimum, cap) on that month's tasks, outcomes and tokens, so a fixed fee "
    "costs the same every year and a cap limits every month."
)
PER_TASK_NOTE = "AI spend: tasks x the AI spend per task (entered, or no plan bill measurable)."
SEAT_CONVENTION = (
    "Seats are counted once. Seats no longer needed (benefit) = seats avoided x seat price. "
    "Remaining seat costs (cost) = what the plan changes for the seats kept: zero when the plan "
    "has no seat charge (those licences are paid today and after: not incremental); when it "
    "has one, its seat charges minus today's licences for the seats kept. The AI spend never "
    "includes seat charges."
)


@dataclass(frozen=True)
class RoiCase:
    """A complete ROI case: who, under which plan and definition, the inputs and the results."""

    subject: str  # account id or prospect name (user text: escape when shown)
    subject_kind: SubjectKind
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
    plan_terms: str = ""  # the price and the definition's rules in words (pricing.words)
    plan_version: str = ""
    billed: bool = False  # True: the AI spend is the plan billed month by month
    deal_terms: tuple[DealTerm, ...] = ()  # the plan's deal terms in words (each a cash-flow line)

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
            "subject_kind": str(self.subject_kind),
            "plan": self.plan,
            "plan_terms": self.plan_terms,
            "plan_version": self.plan_version,
            "ai_spend_billed": self.billed,
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
            "deal_terms": [
                {"line": t.line, "term": t.term, "meaning": t.meaning, "amounts": [round(a, 2) for a in t.amounts],
                 "total": round(sum(t.amounts), 2), "pv": round(present_value(t.amounts, f.discount_rate), 2)}
                for t in self.deal_terms
            ],
        }


def build_case(
    assumptions: Mapping[str, Assumption],
    *,
    subject: str,
    subject_kind: SubjectKind = SubjectKind.PROSPECT,
    plan: str = "",
    definition_name: str = "",
    definition_version: str = "",
    years: int = DEFAULT_YEARS,
    discount_rate: float = DEFAULT_DISCOUNT_RATE,
    risk_adjustment: float = DEFAULT_RISK_ADJUSTMENT,
    prepared_on: date | None = None,
    notes: Iterable[str] = (),
    plan_terms: str = "",
    plan_version: str = "",
    spend: SpendModel | None = None,
) -> RoiCase:
    """The whole case from assumptions (pure: no warehouse needed).

    ``spend``: bill the plan month by month (see spend.py) unless the AI spend per
    task was entered; without it the AI spend is tasks x the AI spend per task.
    """
    validate_horizon(years, discount_rate)
    resolved = resolve_derived({**default_assumptions(), **assumptions})
    label = plan or "the plan"
    bars = tornado(resolved, years, discount_rate, label, spend)
    values = value_map(resolved)
    year_spend = billed_spend(resolved, values, years, spend)
    billed = year_spend is not None
    flows = flows_for(resolved, years, discount_rate, label, spend)
    terms = deal_terms(spend.plan, values, year_spend, {ln.key: ln.adjusted for ln in flows.lines},
                       spend.guarantee, spend.rates.outcomes) if spend is not None else ()
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
        flows=flows,
        scenarios=scenarios(resolved, years, discount_rate, label, bars, spend),
        tornado=bars,
        notes=(PROJECTION_NOTE, BILLED_NOTE if billed else PER_TASK_NOTE, SEAT_CONVENTION, *notes),
        plan_terms=plan_terms,
        plan_version=plan_version,
        billed=billed,
        deal_terms=terms,
    )


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
            if ln.kind is kind or (ln.kind is LineKind.MEMO and kind is LineKind.COST):
                row(ln.label, str(ln.kind), ln.adjusted, ln.risk_adjustment if kind is LineKind.BENEFIT else None)
        attr = "benefits" if kind is LineKind.BENEFIT else "costs"
        row(total_label, "total", (getattr(y, attr) for y in f.years), None)
    row("Net cash flow", "net", (y.net for y in f.years), None)
    row("Cumulative net cash flow", "cumulative", (y.cumulative for y in f.years), None, pv=False)
    return pd.DataFrame(rows)
