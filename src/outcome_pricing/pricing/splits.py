"""Metrics split by a task dimension, for charges priced ``by`` model_tier, channel or topic
(DESIGN 10): per account-month, the metric of each value of the dimension.

The split is added to the account_month_metrics frame as one column per
(dimension, metric, settlement, value), named by `split_column`, in the same
integer millionths the backtest prices (so a statement row taken from the frame
prices the same integers). A missing or empty value is '' and is billed at the
charge's `default` price. Sources: outcomes from `rules.evaluate.outcomes_by_dimension`
(model tier from the cube's tier split: a definition change stays fast); the other
metrics from one definition-independent scan per dimension, cached per data generation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from outcome_pricing.kit.money import MICRO, floats_to_micro
from outcome_pricing.pricing.terms import Metric, Plan, Settlement
from outcome_pricing.pricing.usage import ByKey, BySplit, by_key
from outcome_pricing.warehouse import cluster
from outcome_pricing.warehouse.memo import GenerationMemo

if TYPE_CHECKING:
    from outcome_pricing.rules import Definition
    from outcome_pricing.warehouse.handle import Warehouse

KEYS = ["account_id", "month"]
PREFIX = "by|"

# One scan per dimension: the definition-independent metrics per account, month and value.
# The dimension is an identifier from a fixed whitelist (terms.Dimension), never a user value.
_USAGE_BY_SQL = """
SELECT account_id, month, coalesce(nullif({dim}, ''), '') AS value,
       count(*) AS tasks,
       count(*) FILTER (WHERE ai_enabled) AS ai_tasks,
       coalesce(sum(coalesce(tokens_in, 0)), 0)::BIGINT AS input_tokens,
       coalesce(sum(coalesce(tokens_out, 0)), 0)::BIGINT AS output_tokens
FROM tasks
GROUP BY ALL
"""
_DIMENSIONS = ("model_tier", "channel", "topic")

# metric -> (column of the usage scan, micro units per unit counted)
_USAGE_SOURCES = {
    Metric.TASKS.value: ("tasks", MICRO),
    Metric.CONVERSATIONS.value: ("ai_tasks", MICRO),
    Metric.INPUT_TOKENS_M.value: ("input_tokens", 1),  # tokens are the micro units of millions
    Metric.OUTPUT_TOKENS_M.value: ("output_tokens", 1),
}

_usage: GenerationMemo[pd.DataFrame] = GenerationMemo()


def split_column(key: ByKey, value: str) -> str:
    dim, metric, settle = key
    settled = "none" if settle is None else f"{settle[0]}:{settle[1]}"
    return f"{PREFIX}{dim}|{metric}|{settled}|{value}"


def _parse(column: str) -> tuple[ByKey, str]:
    dim, metric, settled, value = column[len(PREFIX):].split("|", 3)
    settle = None if settled == "none" else (settled.split(":")[0], int(settled.split(":")[1]))
    return (dim, metric, settle), value


def split_keys(plans: Iterable[Plan]) -> list[ByKey]:
    """Every split the plans' charges priced by dimension need."""
    return sorted({by_key(c) for p in plans for c in p.charges if c.by is not None}, key=str)


def _tasks_by(wh: Warehouse, dimension: str) -> AbstractContextManager[Warehouse]:
    """Where the split by `dimension` is read: `wh` itself (in cluster mode the account facts
    and the cube hold model tiers), else every task (`cluster.every_task`: channel, topic)."""
    return nullcontext(wh) if dimension == "model_tier" else cluster.every_task(wh)


def _usage_by_sql(wh: Warehouse, dimension: str) -> str:
    """The usage scan, or in cluster mode by model tier the same sums from the account facts
    (channel and topic: `usage_by_dimension` scans the Parquet tasks, `cluster.every_task`)."""
    if not cluster.is_cluster(wh):
        return _USAGE_BY_SQL.format(dim=dimension)
    return (f"SELECT account_id, month, coalesce(nullif(model_tier, ''), '') AS value, sum(tasks)::BIGINT AS tasks, "
            "sum(ai_tasks)::BIGINT AS ai_tasks, sum(input_tokens)::BIGINT AS input_tokens, "
            f"sum(output_tokens)::BIGINT AS output_tokens FROM {cluster.FACTS_TABLE} GROUP BY ALL")


def usage_by_dimension(wh: Warehouse, dimension: str) -> pd.DataFrame:
    """Definition-independent usage per account, month and value of one dimension (cached)."""
    assert dimension in _DIMENSIONS
    return _usage.get(wh, dimension, lambda: _read_usage_by(wh, dimension))


def _read_usage_by(wh: Warehouse, dimension: str) -> pd.DataFrame:
    with _tasks_by(wh, dimension) as every:
        df = every.query_df(_usage_by_sql(every, dimension))  # channel, topic: every (Parquet) task
    df["month"] = pd.to_datetime(df["month"])
    return df


Settle = Callable[[pd.DataFrame, np.ndarray, Settlement, int], np.ndarray]


def add_splits(wh: Warehouse, d: Definition, df: pd.DataFrame, plans: Iterable[Plan], settle: Settle) -> pd.DataFrame:
    """``df`` (account_month_metrics rows) with the split columns the plans need.

    ``settle(keys, units_micro, settlement, window)`` forms the outcomes metric of a
    charge with an audit settlement (metrics.outcomes_metric), value by value.
    """
    from outcome_pricing.rules.evaluate import outcomes_by_dimension

    keys = split_keys(plans)
    if not keys:
        return df
    index = pd.MultiIndex.from_frame(df[KEYS])
    columns: dict[str, np.ndarray] = {}
    for key in keys:
        dim, metric, settlement = key
        if metric == Metric.OUTCOMES.value:
            with _tasks_by(wh, dim) as every:
                long = outcomes_by_dimension(every, d, dim).rename(columns={dim: "value"})
            long["month"] = pd.to_datetime(long["month"])
            long["micro"] = floats_to_micro(long["billable_units"])
        else:
            long = usage_by_dimension(wh, dim).copy()
            source, scale = _USAGE_SOURCES[metric]
            long["micro"] = long[source].to_numpy(np.int64) * scale
        wide = long.pivot_table(index=KEYS, columns="value", values="micro", aggfunc="sum", fill_value=0)
        wide = wide.reindex(index, fill_value=0)
        if "" not in wide.columns:  # every split has the empty value's column: its presence
            wide[""] = 0            # says the split was made (even with no tasks at all)
        for value in wide.columns:
            micro = wide[value].to_numpy(np.int64)
            if settlement is not None:
                micro = settle(df[KEYS], micro, Settlement(settlement[0]), settlement[1])
            columns[split_column(key, str(value))] = micro
    return pd.concat([df, pd.DataFrame(columns, index=df.index)], axis=1)


def splits_of(metrics: pd.DataFrame) -> dict[ByKey, BySplit]:
    """The split columns of a metrics frame as the BySplit arrays UsageArrays carries."""
    found: dict[ByKey, list[tuple[str, str]]] = {}
    for column in metrics.columns:
        if isinstance(column, str) and column.startswith(PREFIX):
            key, value = _parse(column)
            found.setdefault(key, []).append((value, column))
    out = {}
    for key, pairs in found.items():
        micro = np.column_stack([metrics[c].to_numpy(np.int64) for _, c in pairs])
        out[key] = BySplit(tuple(v for v, _ in pairs), micro)
    return out
