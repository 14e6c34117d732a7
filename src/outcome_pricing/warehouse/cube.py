"""The definition cube: tasks pre-aggregated over the inputs of the "resolved" rules.

Owned by the definitions work (issue 3); rebuilt inside every ingest transaction
(`Warehouse.apply_staged` calls `rebuild(cur)` through `derive`), so a definition change is
answered from a table of about accounts x months x distinct rule inputs instead
of a scan of every task (DESIGN section 7).

Three tables: `definition_cube_profiles` holds each distinct combination of rule
inputs once (`p`, about 6,000 rows on the 10M demo); `definition_cube` counts
tasks per account-month `k` and profile `p` (about 0.37M rows); and
`definition_cube_keys` names each `k`. A definition is evaluated on the profiles
only (the same SQL CASE as task level, over a few thousand rows); the counts are
then summed per account-month in numpy over the cube rows, which
`rules.evaluate` reads once per cube build (and account scope) and keeps in memory.

What a profile keeps, and why it is exact:
- the booleans the rules read, with NULL read as false (as the rules do);
- `csat` as stored (1..5 or NULL);
- `gap_hours` = the reopen gap rounded UP to the hour grid HOUR_GRID (grid.py; above its
  last value: one bucket). For a window W on the grid, gap <= W <=> bucket <= W;
- `quiet_hours` = quiet time rounded DOWN to the grid. For a silence period S on
  the grid, quiet >= S <=> bucket >= S;
- `tasks` (count) and `issue_units` (sum of max(1, coalesce(n_issues_resolved,
  n_issues))), so both units of count are exact integers.

Why a grid and not every whole hour: on the 10M-task demo, whole-hour buckets
(capped at 10,000 h) gave a 1.15M-row cube, about one row per nine tasks, too big
to answer in a fraction of a raw scan; the grid gives about 0.37M rows and 6,328
distinct profiles. The grid
holds every hour to 4, then the usual contract values up to 30 days. A definition
with an hour knob off the grid (e.g. 30 h, or 1.5 h) is evaluated from `tasks`
instead: the same numbers, more slowly.

To keep the cube small, inputs that cannot matter are collapsed to one value:
a task the AI did not answer is decided by rule 1 or 2, so its other inputs are
dropped; a handoff is decided by rule 7, so its confirmation and quiet time are
dropped; a confirmed task never reaches the quiet-time rule.
"""

from __future__ import annotations

import uuid

import duckdb

from outcome_pricing.warehouse.grid import HOUR_GRID

CUBE_TABLE = "definition_cube"
KEYS_TABLE = "definition_cube_keys"
PROFILES_TABLE = "definition_cube_profiles"
CUBE_LAYOUT = "definition-cube v4"

# The rule inputs read from raw `tasks`, under the names the cube stores them.
# Rules read a missing boolean as false ("verified is not true", "... is true").
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

# The rule inputs read from the profiles table (already normalised and bucketed).
PROFILE_INPUTS: dict[str, str] = {
    name: name for name in RAW_INPUTS if name not in ("tasks", "issue_units")
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
       sum({RAW_INPUTS["issue_units"]})::INTEGER AS issue_units
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


def rebuild(cur: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the cube from `tasks` (called inside the ingest transaction).

    The table comment records the layout, the task count it was built from and a
    build id, so readers can tell a cube that is missing, of an older layout or
    stale, and can cache what they read from it under the build id.
    """
    for statement in CUBE_SQL:
        cur.execute(statement)
    n_tasks = int(cur.execute("SELECT count(*) FROM tasks").fetchone()[0])  # type: ignore[index]
    # The comment holds only our constant, an integer and a hex id: no user value.
    cur.execute(f"COMMENT ON TABLE {CUBE_TABLE} IS '{_stamp_prefix(n_tasks)}{uuid.uuid4().hex}'")


def _stamp_prefix(n_tasks: int) -> str:
    return f"{CUBE_LAYOUT}; tasks={n_tasks}; build="


def current_stamp(cur: duckdb.DuckDBPyConnection) -> str | None:
    """The cube's stamp (unique per build) when it exists, has this layout and was built
    from the current tasks; else None. Tasks written without `Warehouse.apply_staged`
    change the count and are caught."""
    catalog, comment = cur.execute(
        "SELECT current_database(), (SELECT comment FROM duckdb_tables() WHERE table_name = ? "
        "AND schema_name = 'main' AND database_name = current_database())",
        [CUBE_TABLE],
    ).fetchone()  # type: ignore[misc]
    if comment is None or not str(comment).startswith(CUBE_LAYOUT + ";"):
        return None
    # The catalog-qualified table, not `tasks`: on an account-scoped cursor `tasks` (and
    # `main.tasks`) is a filtered temp view, while the stamp counts the whole table.
    table = '"' + str(catalog).replace('"', '""') + '".main.tasks'
    n_tasks = int(cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
    return str(comment) if str(comment).startswith(_stamp_prefix(n_tasks)) else None


def is_current(cur: duckdb.DuckDBPyConnection) -> bool:
    """True when the cube exists, has this layout and was built from the current tasks."""
    return current_stamp(cur) is not None


def size(cur: duckdb.DuckDBPyConnection) -> int:
    """Rows in the cube (0 when there is none)."""
    if not cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [CUBE_TABLE]
    ).fetchone()[0]:  # type: ignore[index]
        return 0
    return int(cur.execute(f"SELECT count(*) FROM {CUBE_TABLE}").fetchone()[0])  # type: ignore[index]
