"""The definition-independent build: month and reopen gap on the way in, then the cube.

Nothing here depends on a definition of "resolved": `month` (the month a task
closed, where its outcome belongs) and `reopen_gap_hours` (hours to the same
requester's next task on the same topic) are facts of the log, computed once at
ingest; the definition cube is rebuilt from them in the same transaction.
"""

from __future__ import annotations

import duckdb

from outcome_pricing.warehouse import cube
from outcome_pricing.warehouse.schema import TASK_COLUMN_NAMES

# Hours from a task's close to the start of the next task (created_at, then
# task_id) with the same account, requester and topic; NULL for the last one.
REOPEN_GAP = """date_diff('millisecond', closed_at,
                   LEAD(created_at) OVER (PARTITION BY account_id, requester_id, topic
                                          ORDER BY created_at, task_id)) / 3600000.0"""

# Recomputes reopen_gap_hours of stored tasks in the affected (account, requester,
# topic) partitions: a new task can change the gap of an older one. Only rows whose
# gap changes are written.
REOPEN_GAP_SQL = f"""
UPDATE tasks SET reopen_gap_hours = g.gap
FROM (
  SELECT task_id, {REOPEN_GAP} AS gap
  FROM tasks SEMI JOIN _gap_keys USING (account_id, requester_id, topic)
) AS g
WHERE tasks.task_id = g.task_id
  AND tasks.reopen_gap_hours IS DISTINCT FROM g.gap
"""


def upsert_tasks(cur: duckdb.DuckDBPyConnection, staged: str) -> tuple[int, int]:
    """Replace/insert the staged tasks with month and reopen_gap_hours computed on the way in.

    The gap of a new row is computed over the staged rows plus the stored rows of
    the same partitions; stored rows of affected partitions are then updated
    (only those whose gap changed). Affected partitions include the old key of a
    replaced task: correcting its topic leaves a gap behind in the old partition.
    On an empty table this is one INSERT with a window, no UPDATE.
    """
    cols = ", ".join(TASK_COLUMN_NAMES)
    prefixed = ", ".join(f"s.{c}" for c in TASK_COLUMN_NAMES)
    narrow = "task_id, account_id, requester_id, topic, created_at, closed_at"
    total = int(cur.execute(f"SELECT count(*) FROM {staged}").fetchone()[0])  # type: ignore[index]
    had_rows = cur.execute("SELECT count(*) FROM (SELECT 1 FROM tasks LIMIT 1)").fetchone()[0]  # type: ignore[index]
    updated = neighbours = 0
    union = ""
    if had_rows:
        keys = "account_id, requester_id, topic"
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE _gap_keys AS SELECT {keys} FROM {staged} UNION "
            f"SELECT {keys} FROM tasks WHERE task_id IN (SELECT task_id FROM {staged})"
        )
        updated = int(cur.execute(
            f"SELECT count(*) FROM tasks WHERE task_id IN (SELECT task_id FROM {staged})"
        ).fetchone()[0])  # type: ignore[index]
        if updated:
            cur.execute(f"DELETE FROM tasks WHERE task_id IN (SELECT task_id FROM {staged})")
        neighbours = int(cur.execute(
            "SELECT count(*) FROM tasks SEMI JOIN _gap_keys USING (account_id, requester_id, topic)"
        ).fetchone()[0])  # type: ignore[index]
        if neighbours:
            union = (
                f"UNION ALL SELECT {narrow}, false AS _new FROM tasks "
                "SEMI JOIN _gap_keys USING (account_id, requester_id, topic)"
            )
    # The window sorts only the narrow key/time columns (sorting all columns through
    # it costs more than the insert); the wide rows then join the gaps by task_id.
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _new_gaps AS SELECT task_id, gap FROM ("
        f"  SELECT task_id, _new, {REOPEN_GAP} AS gap FROM ("
        f"    SELECT {narrow}, true AS _new FROM {staged} {union})"
        ") WHERE _new"
    )
    cur.execute(
        f"INSERT INTO tasks ({cols}, month, reopen_gap_hours) "
        f"SELECT {prefixed}, date_trunc('month', s.closed_at)::DATE, g.gap "
        f"FROM {staged} AS s LEFT JOIN _new_gaps AS g USING (task_id)"
    )
    cur.execute("DROP TABLE _new_gaps")
    if neighbours:
        cur.execute(REOPEN_GAP_SQL)
    if had_rows:
        cur.execute("DROP TABLE _gap_keys")
    return total - updated, updated


def rebuild(cur: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the definition-independent aggregates (the definition cube)."""
    cube.rebuild(cur)
