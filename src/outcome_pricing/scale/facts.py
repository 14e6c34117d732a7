"""The account facts of cluster mode, as one Ibis expression: what pricing reads besides the cube.

A warehouse in cluster mode holds no tasks (see `warehouse/cluster.py`), so the
definition-independent sums the backtest and the forecast read per account and
month (usage by model tier in `pricing/metrics.py`, the human time the deal
savings compare and the first AI month in `pricing/deals/`) come from this table,
built where the tasks are (on Spark, by month, next to the cube rows).

Its grain (account, month, model tier, topic, ai_enabled) is the finest those
queries group or filter by, and every column is an integer sum, so each of them
is the same number summed from here as scanned from the tasks (the parity test
compares them). A NULL ai_enabled stays its own group, as `WHERE ai_enabled` and
`WHERE NOT ai_enabled` both leave it out.
"""

from __future__ import annotations

import ibis.expr.types as ir

from outcome_pricing.scale.tables import stored_tasks

KEYS = ("account_id", "month", "model_tier", "topic", "ai_enabled")
SCHEMA: dict[str, str] = {
    "account_id": "string", "month": "date", "model_tier": "string", "topic": "string",
    "ai_enabled": "boolean", "tasks": "int64", "ai_tasks": "int64", "human_ms": "int64",
    "input_tokens": "int64", "output_tokens": "int64", "timed_ms": "int64", "timed_tasks": "int64",
}


def account_facts(tasks: str = "tasks") -> ir.Table:
    """Sums per KEYS over the tasks with their month (SCHEMA's columns).

    human_ms: every task's human time in whole milliseconds (0 when missing), rounded
    per task as `pricing/metrics.py` does; timed_ms/timed_tasks: the same over the
    tasks that have a human time (the savings compare only those)."""
    t = stored_tasks(tasks)
    timed = t.human_seconds.notnull()
    per_task_ms = (t.human_seconds * 1000).round().cast("int64")
    return t.group_by(list(KEYS)).aggregate(
        tasks=t.count().cast("int64"),
        # Spark sums the flag: NULL, not 0, in the group where ai_enabled is NULL.
        ai_tasks=t.count(where=t.ai_enabled).fill_null(0).cast("int64"),
        human_ms=per_task_ms.fill_null(0).sum().cast("int64"),
        input_tokens=t.tokens_in.fill_null(0).sum().cast("int64"),
        output_tokens=t.tokens_out.fill_null(0).sum().cast("int64"),
        timed_ms=per_task_ms.sum(where=timed).fill_null(0).cast("int64"),
        timed_tasks=t.count(where=timed).cast("int64"),
    )
