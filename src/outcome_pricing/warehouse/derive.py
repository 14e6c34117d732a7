"""The definition-independent build: month and reopen gap on the way in, then the cube.

Nothing here depends on a definition of "resolved": `month` (the month a task
closed, where its outcome belongs) and `reopen_gap_hours` (hours to the same
requester's next task on the same topic) are facts of the log, computed once at
ingest; the definition cube is rebuilt from them in the same transaction.

The SQL is compiled from the Ibis expressions in `scale/derive.py` (the same ones
the Spark build runs) into `build_sql.py`; this module only stages the fixed
relations that SQL reads and writes the result inside the ingest transaction.
"""

from __future__ import annotations

import duckdb

from outcome_pricing.warehouse import build_sql, cube
from outcome_pricing.warehouse.schema import TASK_COLUMN_NAMES

GAP_KEYS = "account_id, requester_id, topic"
NARROW = "task_id, account_id, requester_id, topic, created_at, closed_at"

# Recomputes reopen_gap_hours of stored tasks in the affected (account, requester,
# topic) partitions: a new task can change the gap of an older one. Only rows whose
# gap changes are written.
REOPEN_GAP_SQL = f"""
UPDATE tasks SET reopen_gap_hours = g.gap
FROM ({build_sql.NEIGHBOUR_GAPS_SQL}) AS g
WHERE tasks.task_id = g.task_id
  AND tasks.reopen_gap_hours IS DISTINCT FROM g.gap
"""


def check_compiled() -> None:
    """Refuse to run SQL compiled for other task columns (it would drop or misplace one)."""
    if build_sql.TASK_COLUMNS != TASK_COLUMN_NAMES:
        raise RuntimeError(
            "warehouse/build_sql.py was compiled for other task columns than schema.py holds; "
            "run `python -m outcome_pricing.scale.compiler` (needs the `scale` extra)."
        )


def _count(cur: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(cur.execute(sql).fetchone()[0])  # type: ignore[index]


def upsert_tasks(cur: duckdb.DuckDBPyConnection, staged: str) -> tuple[int, int]:
    """Replace/insert the staged tasks with month and reopen_gap_hours computed on the way in.

    The gap of a new row is computed over the staged rows plus the stored rows of
    the same partitions; stored rows of affected partitions are then updated
    (only those whose gap changed). Affected partitions include the old key of a
    replaced task: correcting its topic leaves a gap behind in the old partition.
    On an empty table this is one INSERT with a window, no UPDATE.
    """
    check_compiled()
    cols = ", ".join(TASK_COLUMN_NAMES)
    total = _count(cur, f"SELECT count(*) FROM {staged}")
    had_rows = _count(cur, "SELECT count(*) FROM (SELECT 1 FROM tasks LIMIT 1)")
    updated = neighbours = 0
    union = ""
    if had_rows:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE _gap_keys AS SELECT {GAP_KEYS} FROM {staged} UNION "
            f"SELECT {GAP_KEYS} FROM tasks WHERE task_id IN (SELECT task_id FROM {staged})"
        )
        updated = _count(cur, f"SELECT count(*) FROM tasks WHERE task_id IN (SELECT task_id FROM {staged})")
        if updated:
            cur.execute(f"DELETE FROM tasks WHERE task_id IN (SELECT task_id FROM {staged})")
        neighbours = _count(cur, f"SELECT count(*) FROM tasks SEMI JOIN _gap_keys USING ({GAP_KEYS})")
        if neighbours:
            union = (
                f"UNION ALL SELECT {NARROW}, false AS _new FROM tasks "
                f"SEMI JOIN _gap_keys USING ({GAP_KEYS})"
            )
    # The window sorts only the narrow key/time columns (sorting all columns through
    # it costs more than the insert); the wide rows then join the gaps by task_id.
    # A view, not a table: the gaps go straight into the join's hash table, which can
    # spill, instead of a temp table of every new task's gap held in transaction memory
    # (about 5% less CPU for this step at 1M rows, within the noise of a busy machine).
    # With no stored neighbours, a task alone in its partition has no next one: the
    # window sorts only the partitions of two or more (a third of the demo's tasks;
    # about 0.25 of its 1.1 CPU s at 1M, after a hash of the keys).
    shared = "" if union else (
        f"SEMI JOIN (SELECT {GAP_KEYS} FROM {staged} GROUP BY {GAP_KEYS} HAVING count(*) > 1) USING ({GAP_KEYS})"
    )
    cur.execute(f"CREATE OR REPLACE TEMP VIEW _gap_input AS SELECT {NARROW}, true AS _new FROM {staged} {shared} {union}")
    # Only the tasks that have a next one: the join's hash table shrinks to them (about a
    # fifth of the tasks in the demo; 0.4 of 3.3 CPU s of the insert at 1M), and the
    # LEFT JOIN gives the others NULL, as the gap of a task without a next one is.
    cur.execute(
        f"CREATE OR REPLACE TEMP VIEW _new_gaps AS SELECT * FROM ({build_sql.NEW_GAPS_SQL}) WHERE gap IS NOT NULL"
    )
    cur.execute(f"CREATE OR REPLACE TEMP VIEW _derive_staged AS SELECT * FROM {staged}")
    cur.execute(
        f"INSERT INTO tasks ({cols}, month, reopen_gap_hours) {build_sql.WITH_DERIVED_SQL}"
    )
    cur.execute("DROP VIEW _derive_staged")
    cur.execute("DROP VIEW _new_gaps")
    cur.execute("DROP VIEW _gap_input")
    if neighbours:
        cur.execute(REOPEN_GAP_SQL)
    if had_rows:
        cur.execute("DROP TABLE _gap_keys")
    return total - updated, updated


def rebuild(cur: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the definition-independent aggregates (the definition cube)."""
    cube.rebuild(cur)
