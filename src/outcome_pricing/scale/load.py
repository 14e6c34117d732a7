"""The Spark build's Parquet back into the DuckDB warehouse, in one transaction.

The warehouse gets the tasks of the months the build rewrote (with the month and
gap Spark derived) and the whole cube, numbered by the same compiled expressions
as a DuckDB ingest (`warehouse/cube.py` `number_rows`). Parquet is read by
DuckDB's built-in reader (no extension): the dataset must be on a path this
machine can read.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from outcome_pricing.scale.cube import ROWS_SCHEMA
from outcome_pricing.scale.spark import CUBE_DIR, TASKS_DIR, SparkBuild, month_dir
from outcome_pricing.warehouse import cube
from outcome_pricing.warehouse.handle import IngestResult, Warehouse
from outcome_pricing.warehouse.schema import DERIVED_COLUMNS, TASK_COLUMNS

DUCKDB_TYPE = {"string": "VARCHAR", "date": "DATE", "boolean": "BOOLEAN", "int8": "TINYINT",
               "int16": "SMALLINT", "int32": "INTEGER", "int64": "BIGINT"}


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


def load(wh: Warehouse, built: SparkBuild, source: str) -> IngestResult:
    """Replace the rewritten months' tasks and the whole cube with the build's Parquet."""
    task_cols = task_columns()
    months = [m.isoformat() for m in built.months]
    with wh.transaction() as cur:
        cur.execute("DELETE FROM tasks WHERE month IN (SELECT unnest(?::DATE[]))", [months])
        files = _files(built.dataset / TASKS_DIR, built.months)
        if files:
            cols = ", ".join(task_cols)
            cur.execute(
                f"INSERT INTO tasks ({cols}) SELECT {typed_columns(task_cols)} "
                "FROM read_parquet(?, hive_partitioning = true)",
                [files],
            )
        load_cube(cur, built.dataset)
        next_id = cur.execute("SELECT coalesce(max(ingest_id), 0) + 1 FROM ingest_log").fetchone()
        cur.execute(
            "INSERT INTO ingest_log VALUES (?, ?, NULL, 'tasks', ?, ?, now()::TIMESTAMP)",
            [next_id[0] if next_id else 1, f"{source} (spark)", built.inserted, built.updated],
        )
    return IngestResult(f"{source} (spark)", built.inserted, built.updated)


def load_cube(cur: duckdb.DuckDBPyConnection, dataset: Path) -> None:
    """The cube rows of every month from Parquet, numbered into the cube's tables."""
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
    cube.number_rows(cur)
