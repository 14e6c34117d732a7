"""The impact broken down: per topic, account, month or channel, by months from each
account's go-live, and the per-task distributions behind the charts and the power defaults."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from outcome_pricing.errors import OutcomePricingError
from outcome_pricing.pricing.usage import go_live_sql
from outcome_pricing.proof import stats
from outcome_pricing.proof.impact.metrics import (
    DEFAULT_REOPEN_WINDOW_HOURS,
    DEFAULT_SEED,
    ENDS_JOIN,
    GROUPINGS,
    HANDLED_SQL,
    MISSED_SQL,
    OBSERVED_SQL,
    REOPENED_SQL,
    RESOLUTION_HOURS_SQL,
    SAMPLE_METRICS,
    check_account,
    query,
    scope,
)
from outcome_pricing.warehouse.handle import Warehouse


def _arm_aggregates() -> list[str]:
    """Per-arm aggregate expressions shared by the breakdown and the trend."""
    parts = []
    for arm, cond in (("baseline", "NOT ai_enabled"), ("ai", "ai_enabled")):
        parts += [
            f"count(*) FILTER (WHERE {cond}) AS tasks_{arm}",
            f"avg(human_seconds / 60.0) FILTER (WHERE {cond}) AS human_minutes_{arm}",
            f"var_samp(human_seconds / 60.0) FILTER (WHERE {cond}) AS _var_{arm}",
            f"count(human_seconds) FILTER (WHERE {cond}) AS _n_{arm}",
            f"avg(human_seconds / 60.0) FILTER (WHERE {cond} AND {HANDLED_SQL}) "
            f"AS human_minutes_per_handled_task_{arm}",
            f"avg({RESOLUTION_HOURS_SQL}) FILTER (WHERE {cond}) AS resolution_hours_{arm}",
            f"count(*) FILTER (WHERE {cond} AND qa_audited) AS audited_{arm}",
            f"avg({MISSED_SQL}::INTEGER) FILTER (WHERE {cond} AND qa_audited) "
            f"AS missed_issue_rate_{arm}",
            f"avg({REOPENED_SQL}::INTEGER) FILTER (WHERE {cond} AND {OBSERVED_SQL}) "
            f"AS reopen_rate_{arm}",
            f"avg(csat) FILTER (WHERE {cond}) AS csat_{arm}",
        ]
    parts.append("avg(handoff::INTEGER) FILTER (WHERE ai_enabled) AS handoff_rate_ai")
    return parts


def _finish(df: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Add differences, the human-minutes interval (Welch, normal) and flags; drop helpers."""
    z = stats.z_value(confidence)
    for key in ("human_minutes", "human_minutes_per_handled_task", "resolution_hours",
                "missed_issue_rate", "reopen_rate", "csat"):
        df[f"{key}_diff"] = df[f"{key}_ai"] - df[f"{key}_baseline"]
    se = np.sqrt(df["_var_ai"] / df["_n_ai"] + df["_var_baseline"] / df["_n_baseline"])
    df["human_minutes_diff_ci_low"] = df["human_minutes_diff"] - z * se
    df["human_minutes_diff_ci_high"] = df["human_minutes_diff"] + z * se
    df["ai_share"] = df["tasks_ai"] / (df["tasks_ai"] + df["tasks_baseline"])
    df["small_sample"] = df[["tasks_ai", "tasks_baseline"]].min(axis=1) < stats.MIN_N_PER_ARM
    return df.drop(columns=[c for c in df.columns if c.startswith("_")])


def impact_by(
    wh: Warehouse,
    by: Literal["topic", "account_id", "month", "channel"] = "topic",
    account_id: str | None = None,
    *,
    reopen_window_hours: float = DEFAULT_REOPEN_WINDOW_HOURS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Every metric per `by` value, both arms side by side.

    Columns: `by`, tasks_baseline, tasks_ai, share_baseline / share_ai (the
    group's share of its arm: the mix of work, e.g. AI taking the easy
    topics), ai_share, <metric>_baseline, <metric>_ai, <metric>_diff,
    human_minutes_diff_ci_low/high (normal approximation with Welch standard
    error: a large-sample interval for the table; the headline uses the
    bootstrap), handoff_rate_ai, small_sample (fewer than 30 tasks in an arm).
    """
    if by not in GROUPINGS:
        raise OutcomePricingError(f"Cannot break the impact down by '{by}'; use one of {', '.join(GROUPINGS)}.")
    check_account(wh, account_id)
    where, params = scope(account_id)
    col = GROUPINGS[by]
    sql = (
        f"SELECT {col}, {', '.join(_arm_aggregates())} FROM tasks {ENDS_JOIN} {where} "
        f"GROUP BY {col} ORDER BY {col}"
    )
    df = _finish(query(wh, sql, {**params, "window": reopen_window_hours}), confidence)
    df.insert(3, "share_baseline", df["tasks_baseline"] / max(1, int(df["tasks_baseline"].sum())))
    df.insert(4, "share_ai", df["tasks_ai"] / max(1, int(df["tasks_ai"].sum())))
    return df


def go_live_months(wh: Warehouse, account_id: str | None = None) -> pd.DataFrame:
    """Each account's go-live month: accounts.ai_go_live, else its first month with an AI task.

    Columns: account_id, name (from accounts, may be empty), tasks, go_live_month
    (None if neither is known), source.
    """
    check_account(wh, account_id)
    where, params = scope(account_id)
    sql = f"{_go_live_cte(wh, where)} SELECT * FROM golive ORDER BY account_id"
    return query(wh, sql, params)


def _go_live_cte(wh: Warehouse, where: str) -> str:
    """The go-live rule (one place: pricing.usage.go_live_sql) as the CTE `golive`."""
    return f"WITH golive AS {go_live_sql(wh, where)}"


def trend_by_go_live(
    wh: Warehouse,
    account_id: str | None = None,
    *,
    reopen_window_hours: float = DEFAULT_REOPEN_WINDOW_HOURS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Metrics per month relative to each account's go-live (0 = the go-live month).

    Accounts without a go-live (no ai_go_live and never an AI task) are left
    out. Columns: months_from_go_live, accounts, tasks, human_minutes (all
    tasks of that month), then the per-arm columns of `impact_by`.
    """
    check_account(wh, account_id)
    where, params = scope(account_id)
    rel = "date_diff('month', golive.go_live_month, tasks.month)"
    sql = f"""
        {_go_live_cte(wh, where)}
        SELECT {rel} AS months_from_go_live,
               count(DISTINCT account_id) AS accounts,
               count(*) AS tasks,
               avg(human_seconds / 60.0) AS human_minutes,
               {', '.join(_arm_aggregates())}
        FROM tasks JOIN golive USING (account_id) {ENDS_JOIN}
        {where}
        {'AND' if where else 'WHERE'} golive.go_live_month IS NOT NULL
        GROUP BY 1 ORDER BY 1
    """
    return _finish(query(wh, sql, {**params, "window": reopen_window_hours}), confidence)


def distribution_sample(
    wh: Warehouse,
    metric: str = "human_minutes",
    account_id: str | None = None,
    *,
    per_arm: int = 5000,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Up to `per_arm` values of `metric` per arm, a seeded subsample (for ECDF/violin plots).

    The sample is the `per_arm` tasks with the smallest hash(task_id, seed):
    the same seed gives the same tasks whatever the thread count.
    Columns: arm ("baseline" | "AI"), value.
    """
    if metric not in SAMPLE_METRICS:
        raise OutcomePricingError(
            f"No distribution for '{metric}'; use one of {', '.join(SAMPLE_METRICS)}."
        )
    check_account(wh, account_id)
    expr, cond = SAMPLE_METRICS[metric]
    where, params = scope(account_id)
    where = f"{where} AND {cond}" if where else f"WHERE {cond}"
    # One top-N per arm (cheaper than a window over every task).
    sql = " UNION ALL ".join(
        f"""(SELECT '{label}' AS arm, {expr} AS value FROM tasks {where} AND {arm}
             ORDER BY hash(task_id, $seed), task_id LIMIT $n)"""
        for label, arm in (("baseline", "NOT ai_enabled"), ("AI", "ai_enabled"))
    ) + " ORDER BY arm, value"
    return query(wh, sql, {**params, "seed": int(seed), "n": int(per_arm)})


def sd_of(wh: Warehouse, metric: str = "human_minutes", account_id: str | None = None) -> float | None:
    """Standard deviation of a per-task metric (for the power calculator's defaults)."""
    if metric not in SAMPLE_METRICS:
        raise OutcomePricingError(f"No standard deviation for '{metric}'.")
    expr, cond = SAMPLE_METRICS[metric]
    where, params = scope(account_id)
    where = f"{where} AND {cond}" if where else f"WHERE {cond}"
    value = query(wh, f"SELECT stddev_samp({expr}) AS sd FROM tasks {where}", params)["sd"].iloc[0]
    return None if pd.isna(value) else float(value)
