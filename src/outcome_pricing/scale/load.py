"""The Spark build's Parquet back into the DuckDB warehouse, in one transaction.

The warehouse gets the tasks of the months the build rewrote (with the month and
gap Spark derived) and the whole cube, numbered by the same compiled expressions
as a DuckDB ingest (`warehouse/cube.py` `number_rows`). Parquet is read by
DuckDB's built-in reader (no extension): the dataset must be on a path this
machine can read.

In cluster mode (`warehouse/cluster.py`) the warehouse loads no tasks: the whole
cube, the account facts of every month and the build's record, in one transaction.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from outcome_pricing.errors import ConfigError
from outcome_pricing.scale import facts
from outcome_pricing.scale.cube import ROWS_SCHEMA
from outcome_pricing.scale.spark import CUBE_DIR, FACTS_DIR, TASKS_DIR, SparkBuild, month_dir
from outcome_pricing.warehouse import cluster, cube
from outcome_pricing.warehouse.handle import IngestResult, Warehouse
from outcome_pricing.warehouse.schema import DERIVED_COLUMNS, TASK_COLUMNS

DUCKDB_TYPE = {"string": "VARCHAR", "date": "DATE", "boolean": "BOOLEAN", "int8": "TINYINT",
               "int16": "SMALLINT", "int32": "INTEGER", "int64": "BIGINT", "float64": "DOUBLE"}


def _files(root: Path, months: tuple[dt.date, ...] | None = None) -> list[str]:
    """The Parquet files under root (only those of `months` when given)."""
    dirs = [root / month_dir(m) for m in months] if months is not None else sorted(root.glob("month=*"))
    return [str(f) for d in dirs if d.is_dir() for f in sorted(d.glob("*.parquet"))]


def typed_columns(columns: dict[str, str]) -> str:
    """SELECT list casting each Parquet column to its warehouse type (names from our schema)."""
    return ", ".join(f"CAST({name} AS {sql}) AS {name}" for name, sql in columns.items())


def task_columns() -> dict[str, str]:
    """The warehouse's task columns and their SQL types."""
    return {c.name: c.sql_type for c in TASK_COLUMNS + DERIVED_COLUMNS}


def load(wh: Warehouse, built: SparkBuild, source: str, *, cluster_mode: bool = False) -> IngestResult:
    """Replace the rewritten months' tasks and the whole cube with the build's Parquet
    (in cluster mode: the cube, the account facts and the build record, no tasks)."""
    with wh.transaction() as cur:
        if cluster_mode:
            load_cluster(cur, built.dataset)
        else:
            load_tasks(cur, built)
            load_cube(cur, built.dataset)
        next_id = cur.execute("SELECT coalesce(max(ingest_id), 0) + 1 FROM ingest_log").fetchone()
        cur.execute(
            "INSERT INTO ingest_log VALUES (?, ?, NULL, 'tasks', ?, ?, now()::TIMESTAMP)",
            [next_id[0] if next_id else 1, f"{source} (spark)", built.inserted, built.updated],
        )
    return IngestResult(f"{source} (spark)", built.inserted, built.updated)


def load_tasks(cur: duckdb.DuckDBPyConnection, built: SparkBuild) -> None:
    """The rewritten months' tasks, replacing what the warehouse held for those months."""
    task_cols = task_columns()
    months = [m.isoformat() for m in built.months]
    cur.execute("DELETE FROM tasks WHERE month IN (SELECT unnest(?::DATE[]))", [months])
    files = _files(built.dataset / TASKS_DIR, built.months)
    if files:
        cols = ", ".join(task_cols)
        cur.execute(
            f"INSERT INTO tasks ({cols}) SELECT {typed_columns(task_cols)} "
            "FROM read_parquet(?, hive_partitioning = true)",
            [files],
        )


def hold_tasks(cur: duckdb.DuckDBPyConnection, dataset: Path, ids_sql: str) -> None:
    """Insert into `tasks` the dataset's rows of the task ids `ids_sql` names (fixed SQL of
    ours) that `tasks` does not hold yet: the tasks side files name, in cluster mode. Only
    the files that can hold one of them are read (`files_naming`)."""
    wanted = f"SELECT task_id FROM ({ids_sql}) EXCEPT SELECT task_id FROM tasks"
    files = files_naming(cur, task_files(dataset), wanted)
    if not files:
        return
    columns = task_columns()
    cur.execute(
        f"INSERT INTO tasks ({', '.join(columns)}) SELECT {typed_columns(columns)} "
        f"FROM read_parquet(?, hive_partitioning = true) WHERE task_id IN ({wanted})",
        [files],
    )


def files_naming(cur: duckdb.DuckDBPyConnection, files: list[str], ids_sql: str) -> list[str]:
    """The files among `files` that can hold a task id `ids_sql` names (fixed SQL of ours).

    Pruning by the files' own statistics: each row group's footer records the least and
    the greatest task_id in it (the build writes each month's tasks sorted by task_id, so
    the ranges are narrow), and only the footers are read here, not the tasks. A row
    group without statistics is kept (read, as before)."""
    if not files:
        return []
    found = cur.execute(
        f"""WITH named AS ({ids_sql}),
        groups AS (SELECT file_name, stats_min_value AS lo, stats_max_value AS hi
                   FROM parquet_metadata(?) WHERE path_in_schema = 'task_id')
        SELECT DISTINCT file_name FROM groups
        WHERE lo IS NULL OR hi IS NULL OR EXISTS (SELECT 1 FROM named WHERE task_id BETWEEN lo AND hi)
        ORDER BY 1""",
        [files],
    ).fetchall()
    return [str(r[0]) for r in found]


def task_files(dataset: Path) -> list[str]:
    """Every Parquet file of the dataset's tasks."""
    return sorted(str(f) for f in (dataset / TASKS_DIR).glob("month=*/*.parquet"))


def load_cluster(cur: duckdb.DuckDBPyConnection, dataset: Path) -> None:
    """Cluster mode: the cube and the account facts of every month, the build record the
    cube's freshness is checked against, and of the tasks only those that disputes and
    audits name (all in the caller's transaction)."""
    task_months = _months(dataset / TASKS_DIR)
    missing = sorted(set(task_months) - set(_months(dataset / FACTS_DIR)))
    if missing:
        raise ConfigError(
            f"The Parquet dataset {dataset} has no account facts for {len(missing)} month(s) "
            f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}): it was written before "
            "cluster mode existed. Rebuild it: move it away and run `ingest --engine spark --cluster` "
            "on all the task files."
        )
    files = task_files(dataset)
    # From the files' metadata: the build's own count, which the cube's stamp records.
    n_tasks = int(cur.execute("SELECT count(*) FROM read_parquet(?)", [files]).fetchone()[0]  # type: ignore[index]
                  if files else 0)
    # A warehouse in cluster mode holds only the tasks side files name (its cube is the build's).
    cur.execute("DELETE FROM tasks")
    hold_tasks(cur, dataset, cluster.SIDE_TASK_IDS)
    stamp = load_cube(cur, dataset, n_tasks)
    cur.execute(cluster.FACTS_DDL)
    cur.execute(f"DELETE FROM {cluster.FACTS_TABLE}")
    fact_files = _files(dataset / FACTS_DIR)
    if fact_files:
        columns = {name: DUCKDB_TYPE[kind] for name, kind in facts.SCHEMA.items()}
        cur.execute(
            f"INSERT INTO {cluster.FACTS_TABLE} ({', '.join(columns)}) SELECT {typed_columns(columns)} "
            "FROM read_parquet(?, hive_partitioning = true)",
            [fact_files],
        )
    cluster.record_build(cur, dataset, n_tasks, stamp)


def _months(root: Path) -> list[str]:
    return [d.name.removeprefix("month=") for d in sorted(root.glob("month=*")) if any(d.glob("*.parquet"))]


def load_cube(cur: duckdb.DuckDBPyConnection, dataset: Path, n_tasks: int | None = None) -> str:
    """The cube rows of every month from Parquet, numbered into the cube's tables (stamped
    with `n_tasks`, the build's task count, in cluster mode). Returns the cube's stamp."""
    files = _files(dataset / CUBE_DIR)
    columns = {name: DUCKDB_TYPE[kind] for name, kind in ROWS_SCHEMA.items()}
    if files:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE _cube_rows AS SELECT {typed_columns(columns)} "
            "FROM read_parquet(?, hive_partitioning = true)",
            [files],
        )
    else:
        cols = ", ".join(f"{name} {sql}" for name, sql in columns.items())
        cur.execute(f"CREATE OR REPLACE TEMP TABLE _cube_rows ({cols})")
    return cube.number_rows(cur, n_tasks)
