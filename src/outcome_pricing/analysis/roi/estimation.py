"""Measuring a case's inputs from the warehouse: the AI's effect, volumes, seats and the plan's bill.

Everything here reads the warehouse through the engine's public functions
(impact, pricing, forecast); nothing recomputes what they measure. A measured
value carries its n and 95% interval where it has one, and is clamped into
its assumption's range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import cast

import pandas as pd

from outcome_pricing.analysis import forecast
from outcome_pricing.analysis.recent import RECENT_MONTHS
from outcome_pricing.analysis.roi.assumptions import (
    MONTHS_PER_YEAR,
    Assumption,
    Source,
    clamp,
)
from outcome_pricing.kit.money import MICRO_PLACES, to_decimal
from outcome_pricing.pricing.charges import Usage, bill, bill_total
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import Metric, Plan
from outcome_pricing.proof.impact import ImpactSummary
from outcome_pricing.proof.stats import Comparison
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse.handle import Warehouse

SEAT_METRICS = frozenset({Metric.SEATS, Metric.SEATS_NEEDED})


class Scope(StrEnum):
    """Whose logs a measured rate comes from (read inside the assumption's source text)."""

    ACCOUNT = "this account"
    PORTFOLIO = "portfolio (all accounts)"


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


def measured_assumption(key: str, value: float, n: int | None, ci: tuple[float | None, float | None],
              detail: str) -> Assumption:
    lo, hi = ci
    return Assumption(key, clamp(key, value), Source.MEASURED, detail, n,
                      None if lo is None else clamp(key, lo), None if hi is None else clamp(key, hi))


def minutes_comparison(summary: ImpactSummary) -> Comparison:
    """Prefer the same-topic-mix change: AI taking the easy topics is not speed."""
    mix = summary.human_minutes_mix_adjusted
    return mix if mix.diff is not None else summary.human_minutes


def impact_assumptions(summary: ImpactSummary, scope: str) -> dict[str, Assumption]:
    """Minutes saved and missed issues avoided per task, from impact.impact_summary."""
    out: dict[str, Assumption] = {}
    minutes = minutes_comparison(summary)
    if minutes.diff is not None:
        out["minutes_saved_per_task"] = measured_assumption(
            "minutes_saved_per_task", -minutes.diff, minutes.n_baseline + minutes.n_ai,
            _ci_of_saving(minutes),
            f"{scope}: {minutes.label}, baseline {minutes.baseline:.2f} vs AI {minutes.ai:.2f} "
            f"(n = {minutes.n_baseline:,} baseline, {minutes.n_ai:,} AI tasks)"
            + (f". {minutes.warning}" if minutes.warning else ""),
        )
    missed = summary.missed_issue_rate
    if missed.diff is not None:
        out["missed_issue_reduction"] = measured_assumption(
            "missed_issue_reduction", -missed.diff, missed.n_baseline + missed.n_ai,
            _ci_of_saving(missed),
            f"{scope}: missed-issue rate among QA-audited tasks, baseline {missed.baseline:.2%} "
            f"vs AI {missed.ai:.2%}" + (f". {missed.warning}" if missed.warning else ""),
        )
    return out


def recent_metrics(metrics: pd.DataFrame, account_id: str | None) -> pd.DataFrame:
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
    scope: Scope


def usage_rates(recent: pd.DataFrame, scope: Scope) -> UsageRates | None:
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
        "plan_seat_charges": measured_assumption(
            "plan_seat_charges", float(full - ai_part) if includes else 0.0, None, (None, None),
            f"seat charges: {where}",
        ),
        "ai_spend_per_task": measured_assumption(
            "ai_spend_per_task", float(ai_part) / max(month.tasks, 1.0), rates.ai_tasks, (None, None),
            f"bill without seat charges / tasks: {where}",
        ),
    }


def volume_assumptions(metrics: pd.DataFrame, account_id: str, per_ai_task: float) -> dict[str, Assumption]:
    """Tasks per month today and the yearly trend, from the forecast's estimates."""
    est = forecast.estimate_assumptions(metrics, per_ai_task=per_ai_task)
    # One row per account in the estimates: .loc gives that row as a Series.
    row = cast("pd.Series[float]", est.accounts.set_index("account_id").loc[account_id])
    months = int(metrics.loc[metrics["account_id"] == account_id, "month"].nunique())
    monthly_log_growth = est.volume_growth + float(row["growth_offset"])
    return {
        "monthly_volume": measured_assumption(
            "monthly_volume", float(row["tasks"]), months, (None, None),
            f"trend level of monthly tasks at the last month ({months} months of history; forecast)",
        ),
        "volume_growth": measured_assumption(
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
        "seats": measured_assumption("seats", float(r["seats"]), None, (None, None), detail),
        "seat_price": measured_assumption("seat_price", float(r["seat_price"]), None, (None, None), detail),
    }
    if r["agent_hourly_cost"] is not None and not math.isnan(r["agent_hourly_cost"]):
        out["agent_hourly_cost"] = measured_assumption(
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
