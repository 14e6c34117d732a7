"""Month and reopen gap (DESIGN section 3, "Derived at ingestion") as Ibis expressions.

The one definition of both facts, compiled for DuckDB (the warehouse's ingest,
through `warehouse/build_sql.py`) and for Spark (`scale/spark.py`).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from outcome_pricing.scale.tables import GAP_COLUMNS, GAP_KEYS, narrow, staged_tasks, stored_tasks
from outcome_pricing.warehouse.schema import TASK_COLUMN_NAMES

MS_PER_HOUR = 3_600_000.0


def reopen_gap(t: ir.Table) -> ir.FloatingValue:
    """Hours from this task's close to the start of the next task (created_at, then task_id)
    with the same account, requester and topic; NULL for the last one; may be negative."""
    window = ibis.window(group_by=[t[k] for k in GAP_KEYS], order_by=[t.created_at, t.task_id])
    following = t.created_at.lead().over(window)
    # Whole milliseconds as a double before dividing: Spark divides an integer by a decimal
    # literal in decimal arithmetic; as doubles both engines give the same IEEE number.
    millis = following.delta(t.closed_at, unit="millisecond").cast("float64")
    return millis / MS_PER_HOUR


def month_of(closed_at: ir.TimestampValue) -> ir.DateValue:
    """An outcome belongs to the month its task closed (first day of that month)."""
    return closed_at.truncate("M").cast("date")


def new_gaps(source: str) -> ir.Table:
    """Gaps of the rows being written (`_new`), over them plus the stored rows of their
    partitions: task_id, gap."""
    t = narrow(source, flagged=True)
    return t.mutate(gap=reopen_gap(t)).filter(t._new).select("task_id", "gap")


def neighbour_gaps(tasks: str, keys: str) -> ir.Table:
    """Gaps of the stored tasks in the partitions listed in `keys`: task_id, gap."""
    stored = stored_tasks(tasks)
    affected = ibis.table({k: "string" for k in GAP_KEYS}, name=keys)
    t = stored.semi_join(affected, list(GAP_KEYS)).select(*GAP_COLUMNS)
    return t.select("task_id", gap=reopen_gap(t))


def with_derived(staged: str, gaps: str) -> ir.Table:
    """Staged tasks with month and their gap (from `gaps`: task_id, gap), in table order."""
    s = staged_tasks(staged)
    g = ibis.table({"task_id": "string", "gap": "float64"}, name=gaps)
    joined = s.left_join(g, s.task_id == g.task_id)
    return joined.select(
        *[s[c] for c in TASK_COLUMN_NAMES],
        month=month_of(s.closed_at),
        reopen_gap_hours=g.gap,
    )


def derived_tasks(source: str) -> ir.Table:
    """Every task of `source` with month and gap: the whole build in one pass (Spark)."""
    t = staged_tasks(source)
    return t.select(
        *[t[c] for c in TASK_COLUMN_NAMES],
        month=month_of(t.closed_at),
        reopen_gap_hours=reopen_gap(t),
    )
