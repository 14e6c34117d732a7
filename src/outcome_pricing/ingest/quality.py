"""Data-quality facts about the warehouse, for the Data page and reports.

Each function returns a small DataFrame (columns x counts, months x flags,
bins): the views draw them and never build SQL. Column names in the SQL come
from the schema's fixed column list.
"""

from __future__ import annotations

import pandas as pd

from outcome_pricing.warehouse.handle import Warehouse
from outcome_pricing.warehouse.schema import TASK_COLUMNS, Kind

HISTOGRAM_BINS = 30


def missing_by_column(wh: Warehouse) -> pd.DataFrame:
    """Per contract column: missing values, share missing, and whether the column is required."""
    counts = ", ".join(f"count(*) - count({c.name}) AS {c.name}" for c in TASK_COLUMNS)
    row = wh.query_df(f"SELECT count(*) AS _tasks, {counts} FROM tasks").iloc[0]
    total = int(row["_tasks"])
    return pd.DataFrame(
        {
            "column": [c.name for c in TASK_COLUMNS],
            "missing": [int(row[c.name]) for c in TASK_COLUMNS],
            "share_missing": [(int(row[c.name]) / total) if total else 0.0 for c in TASK_COLUMNS],
            "required": [c.required for c in TASK_COLUMNS],
        }
    )


def tasks_per_month(wh: Warehouse) -> pd.DataFrame:
    """Tasks per closing month, split by whether the AI agent was live (month, ai_live, tasks)."""
    return wh.query_df(
        """
        SELECT month,
               CASE WHEN ai_enabled THEN 'AI live' ELSE 'human only' END AS ai_live,
               count(*) AS tasks
        FROM tasks GROUP BY ALL ORDER BY month, ai_live
        """
    )


def human_minutes_histogram(wh: Warehouse, bins: int = HISTOGRAM_BINS) -> pd.DataFrame:
    """Human handling minutes of tasks with human time, binned up to the 99th percentile.

    Columns: minutes_from, minutes_to, tasks. The last bin also holds the
    longest 1 % (so one outlier does not flatten the chart).
    """
    top = wh.scalar(
        "SELECT quantile_cont(human_seconds / 60.0, 0.99) FROM tasks WHERE human_seconds > 0"
    )
    if top is None or top <= 0:
        return pd.DataFrame({"minutes_from": [], "minutes_to": [], "tasks": []})
    width = float(top) / bins
    return wh.query_df(
        """
        SELECT least(floor(human_seconds / 60.0 / $width), $last) * $width AS minutes_from,
               (least(floor(human_seconds / 60.0 / $width), $last) + 1) * $width AS minutes_to,
               count(*) AS tasks
        FROM tasks WHERE human_seconds > 0
        GROUP BY ALL ORDER BY minutes_from
        """,
        {"width": width, "last": bins - 1},
    )


def csat_distribution(wh: Warehouse) -> pd.DataFrame:
    """Tasks per CSAT score, 'none' for tasks without one: csat (text), tasks, share of all tasks."""
    return wh.query_df(
        """
        SELECT coalesce(csat::VARCHAR, 'none') AS csat, count(*) AS tasks,
               count(*) / sum(count(*)) OVER () AS share
        FROM tasks GROUP BY ALL ORDER BY csat
        """
    )


def topic_counts(wh: Warehouse, limit: int = 20) -> pd.DataFrame:
    """The most frequent topics: topic, tasks, share with AI live, human minutes per task."""
    return wh.query_df(
        """
        SELECT topic, count(*) AS tasks,
               avg(ai_enabled::INT) AS ai_share,
               avg(coalesce(human_seconds, 0)) / 60.0 AS human_minutes_per_task
        FROM tasks GROUP BY topic ORDER BY tasks DESC, topic LIMIT ?
        """,
        [int(limit)],
    )


def boolean_shares(wh: Warehouse) -> pd.DataFrame:
    """Share true / false / missing for each boolean column (column, true, false, missing)."""
    bools = [c.name for c in TASK_COLUMNS if c.kind is Kind.BOOL]
    parts = " UNION ALL ".join(
        f"SELECT '{c}' AS column, avg(({c} IS TRUE)::INT) AS true, "
        f"avg(({c} IS FALSE)::INT) AS false, avg(({c} IS NULL)::INT) AS missing FROM tasks"
        for c in bools
    )
    return wh.query_df(parts)
