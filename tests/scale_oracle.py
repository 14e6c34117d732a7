"""Today's hand-written build SQL, kept as the test oracle of the Ibis build (issue 19).

This is the SQL `warehouse/derive.py` and `warehouse/cube.py` ran before the build was
written once as Ibis expressions (`scale/`). tests/test_scale.py builds the same tasks both
ways and requires identical gaps and cubes. Do not use it outside tests.
"""

from __future__ import annotations

import duckdb

from outcome_pricing.warehouse.grid import HOUR_GRID

KEYS_TABLE = "oracle_cube_keys"
PROFILES_TABLE = "oracle_cube_profiles"
CUBE_TABLE = "oracle_cube"

REOPEN_GAP = """date_diff('millisecond', closed_at,
                   LEAD(created_at) OVER (PARTITION BY account_id, requester_id, topic
                                          ORDER BY created_at, task_id)) / 3600000.0"""


RAW_INPUTS: dict[str, str] = {
    "ai_enabled": "coalesce(ai_enabled, false)",
    "ai_answered": "coalesce(ai_answered, false)",
    "handoff": "coalesce(handoff, false)",
    "context_retained": "coalesce(context_retained, false)",
    "customer_confirmed": "coalesce(customer_confirmed, false)",
    "verified": "coalesce(verified, false)",
    "ai_error_corrected": "coalesce(ai_error_corrected, false)",
    "csat": "csat",
    "gap_hours": "reopen_gap_hours",
    "quiet_hours": "quiet_hours",
    "tasks": "1",
    "issue_units": "greatest(1, coalesce(n_issues_resolved, n_issues, 1))",
}


def _round_up_to_grid(x: str) -> str:
    """SQL: the smallest grid value >= x (x <= 0 gives 0), above the grid one more than its last."""
    whens = " ".join(f"WHEN {x} <= {g} THEN {g}" for g in HOUR_GRID)
    return f"CASE {whens} ELSE {HOUR_GRID[-1] + 1} END"


def _round_down_to_grid(x: str) -> str:
    """SQL: the largest grid value <= x (-1 below the grid, which no knob reaches)."""
    whens = " ".join(f"WHEN {x} >= {g} THEN {g}" for g in reversed(HOUR_GRID))
    return f"CASE {whens} ELSE -1 END"


# The cube's rows by account and month (the benchmark times this SELECT on its own).
CUBE_SELECT = f"""
WITH t AS (
  SELECT *,
         {RAW_INPUTS["ai_enabled"]} AS live,
         live AND {RAW_INPUTS["ai_answered"]} AS answered,
         answered AND {RAW_INPUTS["handoff"]} AS handed
  FROM tasks
)
SELECT account_id, month,
       live AS ai_enabled,
       answered AS ai_answered,
       handed AS handoff,
       handed AND {RAW_INPUTS["context_retained"]} AS context_retained,
       answered AND NOT handed AND {RAW_INPUTS["customer_confirmed"]} AS customer_confirmed,
       answered AND {RAW_INPUTS["verified"]} AS verified,
       answered AND {RAW_INPUTS["ai_error_corrected"]} AS ai_error_corrected,
       CASE WHEN answered THEN csat END::TINYINT AS csat,
       CASE WHEN answered AND reopen_gap_hours IS NOT NULL
            THEN {_round_up_to_grid("reopen_gap_hours")} END::SMALLINT AS gap_hours,
       CASE WHEN answered AND NOT handed AND NOT {RAW_INPUTS["customer_confirmed"]}
                 AND quiet_hours IS NOT NULL
            THEN {_round_down_to_grid("quiet_hours")} END::SMALLINT AS quiet_hours,
       count(*)::INTEGER AS tasks,
       sum({RAW_INPUTS["issue_units"]})::BIGINT AS issue_units  -- BIGINT since issue 13
FROM t
GROUP BY ALL
"""

_INPUT_COLUMNS = (
    "ai_enabled, ai_answered, handoff, context_retained, customer_confirmed, verified, "
    "ai_error_corrected, csat, gap_hours, quiet_hours"
)

# Account-months and input combinations numbered, so a query reads integers only.
CUBE_SQL = (
    f"CREATE OR REPLACE TEMP TABLE _cube_rows AS {CUBE_SELECT}",
    f"""CREATE OR REPLACE TABLE {KEYS_TABLE} AS
        SELECT (row_number() OVER (ORDER BY account_id, month))::INTEGER AS k, account_id, month
        FROM (SELECT DISTINCT account_id, month FROM _cube_rows)""",
    f"""CREATE OR REPLACE TABLE {PROFILES_TABLE} AS
        SELECT (row_number() OVER (ORDER BY {_INPUT_COLUMNS}) - 1)::INTEGER AS p, *
        FROM (SELECT DISTINCT {_INPUT_COLUMNS} FROM _cube_rows)""",
    f"""CREATE OR REPLACE TABLE {CUBE_TABLE} AS
        SELECT c.account_id, k.k, pr.p, c.tasks, c.issue_units
        FROM _cube_rows AS c
        JOIN {KEYS_TABLE} AS k USING (account_id, month)
        JOIN {PROFILES_TABLE} AS pr
          ON (c.ai_enabled, c.ai_answered, c.handoff, c.context_retained, c.customer_confirmed,
              c.verified, c.ai_error_corrected)
           = (pr.ai_enabled, pr.ai_answered, pr.handoff, pr.context_retained, pr.customer_confirmed,
              pr.verified, pr.ai_error_corrected)
         AND c.csat IS NOT DISTINCT FROM pr.csat
         AND c.gap_hours IS NOT DISTINCT FROM pr.gap_hours
         AND c.quiet_hours IS NOT DISTINCT FROM pr.quiet_hours
        ORDER BY k.k, pr.p""",
    "DROP TABLE _cube_rows",
)




def oracle_gaps(cur: duckdb.DuckDBPyConnection) -> dict[str, float | None]:
    """task_id -> reopen gap, computed over the whole `tasks` table by the old SQL."""
    rows = cur.execute(f"SELECT task_id, {REOPEN_GAP} FROM tasks").fetchall()
    return {str(t): (None if g is None else float(g)) for t, g in rows}


def oracle_cube(cur: duckdb.DuckDBPyConnection) -> None:
    """Build the oracle's keys, profiles and cube tables (oracle_cube*) from `tasks`."""
    for statement in CUBE_SQL:
        cur.execute(statement)
