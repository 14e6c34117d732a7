"""Measuring a case's inputs from the warehouse: the AI's effect, volumes, seats and the plan's bill.

Everything here reads the warehouse through the engine's public functions
(impact, pricing, forecast); nothing recomputes what they measure. A measured
value carries its n and 95% interval where it has one, and is clamped into
its assumption's range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import cast

import pandas as pd

from outcome_pricing.analysis import forecast
from outcome_pricing.analysis.forecast.estimation import TREND_WINDOW_MONTHS
from outcome_pricing.analysis.recent import RECENT_MONTHS
from outcome_pricing.analysis.roi.assumptions import (
    MONTHS_PER_YEAR,
    Assumption,
    Source,
    clamp,
    value_text,
)
from outcome_pricing.analysis.roi.spend import (
    Scope,
    SpendModel,
    UsageRates,
    charge_start,
    spans_months,
)
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import Plan
from outcome_pricing.proof.impact import ImpactSummary
from outcome_pricing.proof.stats import Comparison
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import cluster
from outcome_pricing.warehouse.handle import Warehouse


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


# The rule for a benefit the logs do not establish, stated once (the report's method says it).
UNPROVEN_RULE = (
    "A measured benefit whose likely range (95% interval) reaches zero is not established by the "
    "logs: it is counted as 0 (the tornado still shows its range); enter a value to count it anyway."
)


def _benefit(key: str, saving: float, c: Comparison, sentence: str) -> Assumption:
    """A measured saving (minutes, missed issues avoided), counted as 0 when its interval
    reaches zero (UNPROVEN_RULE)."""
    lo, hi = _ci_of_saving(c)
    a = measured_assumption(key, saving, c.n_baseline + c.n_ai, (lo, hi), sentence)
    low, high = a.ci_low, a.ci_high
    if low is not None and high is not None:
        a = replace(a, detail=a.detail + f", likely between {a.range_text()}")
        if low <= 0 <= high and a.value != 0:
            a = replace(a, value=0.0, detail=a.detail + "; the range reaches zero, so it is counted as 0 "
                        "(not established by the logs)")
    return replace(a, detail=a.detail + (f". {c.warning}" if c.warning else ""))


def impact_assumptions(summary: ImpactSummary, scope: Scope) -> dict[str, Assumption]:
    """Minutes saved and missed issues avoided per task, from impact.impact_summary."""
    out: dict[str, Assumption] = {}
    whose = f"{scope.value}'s" if scope is Scope.ACCOUNT else "the portfolio's"
    minutes = minutes_comparison(summary)
    if minutes.diff is not None and minutes.baseline is not None and minutes.ai is not None:
        n = minutes.n_baseline + minutes.n_ai
        out["minutes_saved_per_task"] = _benefit(
            "minutes_saved_per_task", -minutes.diff, minutes,
            f"measured from {whose} {n:,} tasks ({minutes.baseline:.1f} minutes of human handling a task "
            f"without the AI, {minutes.ai:.1f} with it, same mix of topics): "
            f"{-minutes.diff:.1f} minutes saved per task",
        )
    missed = summary.missed_issue_rate
    if missed.diff is not None and missed.baseline is not None and missed.ai is not None:
        n = missed.n_baseline + missed.n_ai
        out["missed_issue_reduction"] = _benefit(
            "missed_issue_reduction", -missed.diff, missed,
            f"measured from {whose} {n:,} quality-reviewed tasks (an issue missed on {missed.baseline:.1%} "
            f"of them without the AI, {missed.ai:.1%} with it): "
            + (f"{-missed.diff:.1%} fewer tasks with a missed issue" if missed.diff <= 0
               else f"{missed.diff:.1%} more tasks with a missed issue"),
        )
    return out


def recent_metrics(metrics: pd.DataFrame, account_id: str | None) -> pd.DataFrame:
    """The last RECENT_MONTHS months of one account (or of every account)."""
    m = metrics if account_id is None else metrics[metrics["account_id"] == account_id]
    months = sorted(m["month"].unique())[-RECENT_MONTHS:]
    return m[m["month"].isin(months)]


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


def spend_assumptions(spend: SpendModel, values: Mapping[str, float], ctx: CaseContext) -> dict[str, Assumption]:
    """The year-1 month of the plan's bill, shown as AI spend per task and plan seat charges a
    month. The case itself bills every month (see spend.py): these two are what a person
    reads and may overwrite (an entered price per task replaces the bill)."""
    rates = spend.rates
    # The first charged month (after any free months): what a month costs once charging starts;
    # with terms that span months (a commitment billed per period), the charged months' mean.
    start = min(charge_start(spend.plan), MONTHS_PER_YEAR - 1)
    year1 = spend.bills({**values, "seats_avoided": values.get("seats_avoided", 0.0)}, 1)
    month = year1[start]
    charged = [m for m in year1 if m.charged] or [month]
    spans = spans_months(spend.plan)
    ai_month = sum((m.ai_part for m in charged), Decimal(0)) / len(charged) if spans else month.ai_part
    tasks = spend.month(values, 1).tasks
    includes = spend.includes_seats
    d = ctx.definition
    whose = f"{rates.scope.value}'s" if rates.scope is Scope.ACCOUNT else "the portfolio's"
    basis = (
        f"{rates.outcomes:.2f} billable outcomes per AI task under {d.name} ({whose} last "
        f"{RECENT_MONTHS} months, {rates.ai_tasks:,} AI tasks)"
    )
    per_task = float(ai_month) / max(tasks, 1.0)
    when = "on average over the charged months of year 1" if spans else "in the first month"
    return {
        "plan_includes_seats": Assumption(
            "plan_includes_seats", float(includes), Source.ENTERED, f"from the plans file (plan '{ctx.plan}')"
        ),
        "plan_seat_charges": measured_assumption(
            "plan_seat_charges", float(month.seat_part) if includes else 0.0, None, (None, None),
            f"plan '{ctx.plan}' billed on the seats kept: {value_text(float(month.seat_part), '$')} "
            "in the first month" if includes else f"plan '{ctx.plan}' has no seat charge",
        ),
        "ai_spend_per_task": measured_assumption(
            "ai_spend_per_task", per_task, rates.ai_tasks, (None, None),
            f"plan '{ctx.plan}' billed month by month (fees, tiers, minimums and caps as billed); "
            f"{value_text(per_task, '$')} per task {when} at {tasks:,.0f} tasks a month and {basis}"
            + "".join(f"; {f.text()}" for f in rates.settlement),
        ),
    }


def volume_assumptions(metrics: pd.DataFrame, account_id: str, per_ai_task: float) -> dict[str, Assumption]:
    """Tasks per month today (whole tasks) and the yearly trend, from the forecast's estimates."""
    est = forecast.estimate_assumptions(metrics, per_ai_task=per_ai_task)
    # One row per account in the estimates: .loc gives that row as a Series.
    row = cast("pd.Series[float]", est.accounts.set_index("account_id").loc[account_id])
    months = int(metrics.loc[metrics["account_id"] == account_id, "month"].nunique())
    monthly_log_growth = est.volume_growth + float(row["growth_offset"])
    tasks = float(round(float(row["tasks"])))
    growth = math.expm1(MONTHS_PER_YEAR * monthly_log_growth)
    return {
        "monthly_volume": measured_assumption(
            "monthly_volume", tasks, months, (None, None),
            f"measured: {tasks:,.0f} tasks a month, this account's trend level at the end of its "
            f"{months} months of history",
        ),
        "volume_growth": measured_assumption(
            "volume_growth", growth, months, (None, None),
            f"measured from this account's monthly tasks over the last {TREND_WINDOW_MONTHS} months: "
            f"{growth:+.1%} a year (its trend, steadied toward the portfolio's, as one account's trend is noisy)",
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
    detail = "from the accounts file"
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
# The same order from the account facts, in cluster mode (the tasks are in Parquet).
DEFAULT_ACCOUNT_FACTS_SQL = f"""
SELECT account_id
FROM {cluster.FACTS_TABLE}
GROUP BY account_id
ORDER BY sum(ai_tasks) DESC, sum(tasks) DESC, account_id
LIMIT 1
"""
ACCOUNT_NAMES_SQL = "SELECT account_id, name FROM accounts WHERE name IS NOT NULL AND trim(name) <> ''"


def default_account(wh: Warehouse) -> str | None:
    """The account a case opens on when none is asked for: the one with the most AI tasks
    (ties: most tasks, then the smallest id); None without tasks."""
    rows = wh.query_df(DEFAULT_ACCOUNT_FACTS_SQL if cluster.is_cluster(wh) else DEFAULT_ACCOUNT_SQL)
    return None if rows.empty else str(rows.iloc[0]["account_id"])


def account_names(wh: Warehouse) -> dict[str, str]:
    """Account id -> name from the accounts file (accounts without a name are left out)."""
    rows = wh.query_df(ACCOUNT_NAMES_SQL)
    return dict(zip(rows["account_id"].astype(str), rows["name"].astype(str), strict=True))
