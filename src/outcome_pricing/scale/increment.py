"""What an ingest changes, as Ibis expressions: only the affected partitions are recomputed.

A new task can change the reopen gap of an older task with the same account,
requester and topic (the one before it), and a re-sent task id can move a task
to another partition (a corrected topic) and leave a gap behind in the old one.
So the gaps are recomputed over the affected (account, requester, topic)
partitions only; the months whose rows changed are then rewritten whole (Parquet
is written by month partition, and a month's cube rows need all of its tasks).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from outcome_pricing.scale.tables import GAP_KEYS, staged_tasks, stored_tasks
from outcome_pricing.warehouse.schema import TASK_COLUMN_NAMES

SENT = "_spark_sent"  # the validated tasks of this ingest (contract columns)
NEW = "_spark_new"  # those of them not already stored exactly so (what the ingest changes)
STORED = "_spark_stored"  # the Parquet tasks before it (with month and gap)
GAP_INPUT = "_spark_gap_input"  # new tasks plus the stored tasks of affected partitions
RECOMPUTED = "_spark_recomputed"  # GAP_INPUT with month and gap recomputed
MONTHS = "_spark_months"  # the months to rewrite


def changed() -> ir.Table:
    """The sent tasks that are not stored exactly so: a row identical to the stored one is
    unchanged (not rewritten, not counted as updated), as on the DuckDB path (ingest/files.py).
    EXCEPT compares NULLs as equal, which is what "identical" means here."""
    sent, stored = staged_tasks(SENT), stored_tasks(STORED)
    return sent.difference(stored.select(*TASK_COLUMN_NAMES))


def gap_input() -> ir.Table:
    """The new tasks and the stored tasks (not replaced) of every affected partition."""
    new, stored = staged_tasks(NEW), stored_tasks(STORED)
    keys = list(GAP_KEYS)
    replaced = stored.semi_join(new, "task_id")
    affected = new.select(*keys).union(replaced.select(*keys)).distinct()
    remaining = stored.anti_join(new, "task_id")
    return new.union(remaining.semi_join(affected, keys).select(*TASK_COLUMN_NAMES))


def months_to_write() -> ir.Table:
    """Months with a new row, a replaced row (where it was) or a stored row whose gap changed."""
    new, stored, again = staged_tasks(NEW), stored_tasks(STORED), stored_tasks(RECOMPUTED)
    added = again.semi_join(new, "task_id").select("month")
    replaced = stored.semi_join(new, "task_id").select("month")
    joined = again.join(stored, again.task_id == stored.task_id)
    moved = joined.filter(~again.reopen_gap_hours.identical_to(stored.reopen_gap_hours))
    return added.union(replaced).union(moved.select(month=again.month)).distinct()


def month_content() -> ir.Table:
    """Every task of the months to rewrite, as they are after this ingest."""
    stored, again = stored_tasks(STORED), stored_tasks(RECOMPUTED)
    months = ibis_months()
    kept = stored.anti_join(staged_tasks(NEW), "task_id").anti_join(again, "task_id")
    return kept.semi_join(months, "month").union(again.semi_join(months, "month"))


def ibis_months() -> ir.Table:
    return ibis.table({"month": "date"}, name=MONTHS)


def counts() -> ir.Table:
    """inserted (task ids not stored before) and updated (stored ids sent again)."""
    new, stored = staged_tasks(NEW), stored_tasks(STORED)
    # A left join, not `NOT IN (subquery)`: Spark plans that as a null-aware anti join,
    # a nested loop over both sides.
    ids = stored.select(stored_id=stored.task_id)
    joined = new.left_join(ids, new.task_id == ids.stored_id)
    was_stored = joined.stored_id.notnull()
    return joined.aggregate(
        inserted=(~was_stored).sum().fill_null(0).cast("int64"),
        updated=was_stored.sum().fill_null(0).cast("int64"),
    )
