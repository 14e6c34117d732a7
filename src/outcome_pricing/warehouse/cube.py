"""The definition cube: tasks pre-aggregated over the inputs of the "resolved" rules.

Owned by the definitions work (issue 3); rebuilt inside every ingest transaction
(`Warehouse.apply_staged` calls `rebuild(cur)` through `derive`), so a definition change is
answered from a table of about accounts x months x distinct rule inputs instead
of a scan of every task (DESIGN section 7).

The tables: `definition_cube_profiles` holds each distinct combination of rule
inputs once (`p`, about 6,000 rows on the 10M demo); `definition_cube` counts
tasks per account-month `k` and profile `p` (about 0.45M rows); `definition_cube_keys`
names each `k`; the model-tier split (below); `definition_cube_hours`, the exact hours
(below); and `definition_cube_stamp`, the build's stamp as one row. A definition is
evaluated on the profiles only (the same SQL CASE as task level, over a few thousand
rows); the counts are then summed per account-month in numpy over the cube rows, which
`rules.cube_read` reads once per cube build (and account scope) and keeps in memory.

What a profile keeps, and why it is exact:
- the booleans the rules read, with NULL read as false (as the rules do);
- `csat` as stored (1..5 or NULL);
- `gap_hours` = the reopen gap rounded UP to the hour grid HOUR_GRID (grid.py; above its
  last value: one bucket, 721). For a window W on the grid, gap <= W <=> bucket <= W;
- `quiet_hours` = quiet time rounded DOWN to the grid. For a silence period S on
  the grid, quiet >= S <=> bucket >= S;
- `tasks` (count) and `issue_units` (sum of max(1, coalesce(n_issues_resolved,
  n_issues))), so both units of count are exact integers.

Why a grid and not every whole hour: on the 10M-task demo, whole-hour buckets
(capped at 10,000 h) gave a 1.15M-row cube, about one row per nine tasks, too big
to answer in a fraction of a raw scan; the grid gives about 0.45M rows and 6,214
distinct profiles. The grid holds every hour to 4, then the usual contract values up
to 30 days. A definition with an hour knob off the grid (e.g. 30 h, or 1.5 h) falls
in one bucket of each hour: only the tasks in that bucket can go either way, and
`definition_cube_hours` keeps, per cube row that has a gap or a quiet time, its exact
hours (about 2.1M rows on the 10M demo, sorted by bucket), so `rules.cube_read`
answers it exactly from that bucket's rows instead of from `tasks`.

To keep the cube small, inputs that cannot matter are collapsed to one value:
a task the AI did not answer is decided by rule 1 or 2, so its other inputs are
dropped; a handoff is decided by rule 7, so its confirmation and quiet time are
dropped; a confirmed task never reaches the quiet-time rule.
"""

from __future__ import annotations

import uuid

import duckdb

from outcome_pricing.warehouse import build_sql, cluster, usage_facts
from outcome_pricing.warehouse.connection import has_table
from outcome_pricing.warehouse.grid import HOUR_GRID

CUBE_TABLE = "definition_cube"
KEYS_TABLE = "definition_cube_keys"
PROFILES_TABLE = "definition_cube_profiles"
TIERS_TABLE = "definition_cube_tiers"
TIER_NAMES_TABLE = "definition_cube_tier_names"
HOURS_TABLE = "definition_cube_hours"
STAMP_TABLE = "definition_cube_stamp"
# The relation `build_sql.TASK_PROFILES_SQL` reads: single tasks to place in the cube's numbering.
PROFILE_TASKS = "_profile_tasks"
# v5: the model-tier split (TIERS_TABLE); v6: exact hours in the cube rows, HOURS_TABLE
CUBE_LAYOUT = "definition-cube v6"

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


# ---------------------------------------------------------------- the model-tier split
# Prices by model tier (DESIGN 10) need outcomes per account, month AND model tier. The
# split keeps the cube's own rows untouched (every other query reads `definition_cube`
# as before) and adds `definition_cube_tiers`: the same counts by k, p and a tier code t
# (`definition_cube_tier_names`: t -> model_tier, NULL and '' as one NULL tier). Summed
# over t it is the cube exactly (tests/test_charge_shapes.py checks it).
#
# The build in statements compiled from the Ibis expressions of `scale/cube.py` (the same
# ones the Spark build runs): the cube rows by account, month and model tier (the
# benchmark times this SELECT on its own), then account-months, input combinations and
# tiers numbered, so a query reads integers only; the cube is the rows summed over tiers.
#
# `_cube_rows` is a table of the database, not a TEMP table, though it is dropped before the
# commit: rows a transaction writes into a temp table stay in memory (2.2M rows at 10M tasks;
# the rebuild's peak there fell from 645 to 515 MB), while a database table's rows are written
# out to the file as they come (tests/test_cube_build.py). Cluster mode (scale/load.py) fills
# a temp `_cube_rows` from Parquet instead; the numbering reads either.
CUBE_SELECT = build_sql.CUBE_ROWS_SQL
CUBE_SQL = (
    f"CREATE OR REPLACE TABLE main._cube_rows AS {CUBE_SELECT}",
    f"CREATE OR REPLACE TABLE {KEYS_TABLE} AS {build_sql.CUBE_KEYS_SQL}",
    f"CREATE OR REPLACE TABLE {PROFILES_TABLE} AS {build_sql.CUBE_PROFILES_SQL}",
    f"CREATE OR REPLACE TABLE {CUBE_TABLE} AS {build_sql.CUBE_SQL}",
    f"CREATE OR REPLACE TABLE {TIER_NAMES_TABLE} AS {build_sql.CUBE_TIER_NAMES_SQL}",
    f"CREATE OR REPLACE TABLE {TIERS_TABLE} AS {build_sql.CUBE_TIERS_SQL}",
    f"CREATE OR REPLACE TABLE {HOURS_TABLE} AS {build_sql.CUBE_HOURS_SQL}",
    "DROP TABLE _cube_rows",
)


def rebuild(cur: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the cube from `tasks` (called inside the ingest transaction)."""
    cur.execute(CUBE_SQL[0])
    number_rows(cur)


def number_rows(cur: duckdb.DuckDBPyConnection, n_tasks: int | None = None) -> str:
    """Number the cube rows in the temp table `_cube_rows` (built from `tasks` here, or read
    from the Spark build's Parquet) into the cube's tables, stamp them, drop the rows.

    The table comment records the layout, the task count it was built from and a
    build id, so readers can tell a cube that is missing, of an older layout or
    stale, and can cache what they read from it under the build id. `n_tasks`: the
    build's own task count (cluster mode, where the warehouse holds no tasks). Returns the stamp.
    """
    if build_sql.HOUR_GRID != HOUR_GRID:
        raise RuntimeError("warehouse/build_sql.py was compiled for another hour grid; "
                           "run `python -m outcome_pricing.scale.compiler`.")
    for statement in CUBE_SQL[1:]:
        cur.execute(statement)
    from_tasks = n_tasks is None
    if n_tasks is None:
        n_tasks = int(cur.execute("SELECT count(*) FROM tasks").fetchone()[0])  # type: ignore[index]
    stamp = f"{_stamp_prefix(n_tasks)}{uuid.uuid4().hex}"
    # The comment holds only our constant, an integer and a hex id: no user value.
    cur.execute(f"COMMENT ON TABLE {CUBE_TABLE} IS '{stamp}'")
    # The same stamp as a one-row table: cheaper to read than the catalog (`stamp_columns`).
    cur.execute(f"CREATE OR REPLACE TABLE {STAMP_TABLE} AS SELECT ?::VARCHAR AS stamp", [stamp])
    if from_tasks:  # the usage per account-month goes with this cube (usage_facts.py)
        usage_facts.build(cur, stamp)
    return stamp


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
    # Cluster mode: no tasks to count; current when it is the cube the recorded build made.
    build = cluster.recorded_build(cur)
    if build is not None:
        return str(comment) if str(comment) == build[2] else None
    # The catalog-qualified table, not `tasks`: on an account-scoped cursor `tasks` (and
    # `main.tasks`) is a filtered temp view, while the stamp counts the whole table.
    table = '"' + str(catalog).replace('"', '""') + '".main.tasks'
    n_tasks = int(cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
    return str(comment) if str(comment).startswith(_stamp_prefix(n_tasks)) else None


def stamp_columns(catalog: str) -> str:
    """SQL columns (_stamp, _stamp_tasks) from which `stamp_from` tells the current stamp,
    read in the same statement as other data from the profiles (one snapshot, one round
    trip: a definition change pays for no separate freshness queries). `catalog` is the
    database's name (`current_database()`, read once)."""
    table = '"' + catalog.replace('"', '""') + '".main.tasks'
    return f"(SELECT stamp FROM {STAMP_TABLE}) AS _stamp, (SELECT count(*) FROM {table}) AS _stamp_tasks"


def stamp_from(stamp: object, n_tasks: object) -> str | None:
    """The stamp read by `stamp_columns` when it has this layout and counts the current tasks,
    else None: then ask `current_stamp` (a stale cube, or cluster mode, which counts no tasks)."""
    if stamp is None or not str(stamp).startswith(_stamp_prefix(int(n_tasks))):  # type: ignore[call-overload]
        return None
    return str(stamp)


def is_current(cur: duckdb.DuckDBPyConnection) -> bool:
    """True when the cube exists, has this layout and was built from the current tasks."""
    return current_stamp(cur) is not None


def size(cur: duckdb.DuckDBPyConnection) -> int:
    """Rows in the cube (0 when there is none)."""
    if not has_table(cur, CUBE_TABLE):
        return 0
    return int(cur.execute(f"SELECT count(*) FROM {CUBE_TABLE}").fetchone()[0])  # type: ignore[index]
