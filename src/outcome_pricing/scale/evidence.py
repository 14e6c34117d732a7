"""Task-level evidence read from the Parquet tasks, one account-month at a time.

A statement, an explanation or an evidence panel needs the tasks of one account
and month, not all of them. `evidence_warehouse` reads only that month's Parquet
directory, keeps only that account's rows (with the month and gap the build
derived, so a reopen in the next month still counts), and returns a throw-away
in-memory warehouse: every task-level engine call (`rules.evaluate_tasks`,
`rules.explain`, statements) then runs on it unchanged, through the same SQL.

In cluster mode (`warehouse/cluster.py`) this is what `cluster.evidence_for` opens;
`locate_task` finds one task's account and month (for `explain TASK_ID`);
`tasks_warehouse` reads the tasks a fixed filter selects from every month (one
account's, or those billing as it happened re-rates), `closed_span` the data's first
and last close from its first and last months' files.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from outcome_pricing.errors import UnknownAccountError
from outcome_pricing.scale.load import files_naming, task_columns, task_files, typed_columns
from outcome_pricing.scale.spark import TASKS_DIR, month_dir
from outcome_pricing.warehouse import cluster, usage_facts
from outcome_pricing.warehouse.handle import Warehouse

# Tables the build makes or reads from Parquet: never copied from the warehouse.
BUILT = ("tasks", "definition_cube", "definition_cube_keys", "definition_cube_profiles",
         "definition_cube_tiers", "definition_cube_tier_names", "definition_cube_hours",
         "definition_cube_stamp", "ingest_log",
         cluster.FACTS_TABLE, cluster.BUILD_TABLE, usage_facts.TABLE, usage_facts.STAMP_TABLE)


def evidence_warehouse(wh: Warehouse, dataset: Path, account_id: str, month: dt.date) -> Warehouse:
    """An in-memory warehouse with the tasks of `account_id` that closed in `month` (from
    the Parquet dataset) and that account's facts from `wh` (accounts, disputes, audits)."""
    ev = _read_tasks(_month_files(dataset, month), "account_id = $account_id", {"account_id": account_id})
    try:
        if ev.is_empty():
            raise UnknownAccountError(
                f"No tasks for account '{account_id}' closed in {month:%Y-%m} in the dataset {dataset}."
            )
        _copy_facts(wh, ev, account_id)
    except BaseException:
        ev.close()
        raise
    return ev


def tasks_warehouse(
    wh: Warehouse, dataset: Path, where: str, params: Mapping[str, Any], account_id: str | None
) -> Warehouse:
    """An in-memory warehouse with the dataset's tasks (every month) that `where` selects
    (fixed SQL of ours over the task columns, named parameters) and `wh`'s other tables,
    only `account_id`'s rows of them when given. DuckDB reads only the columns the filter
    names to select the rows, then those rows whole."""
    ev = _read_tasks(task_files(dataset), where, params)
    try:
        _copy_facts(wh, ev, account_id)
    except BaseException:
        ev.close()
        raise
    return ev


def dataset_warehouse(wh: Warehouse, dataset: Path) -> Warehouse:
    """An in-memory warehouse whose `tasks` is a view of every Parquet task of the dataset
    (scanned where read, never loaded: DuckDB reads only the columns a query names) and
    with `wh`'s other tables: for a read that needs every task (a price by channel or topic)."""
    ev = Warehouse.in_memory()
    try:
        files = task_files(dataset)
        with ev.transaction() as cur:
            cur.execute("DROP TABLE tasks")
            # DDL takes no parameters: the files are the dataset's own names found on disk, each
            # a quoted literal (a quote in a folder name doubled), never a value from a user's row.
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            source = (f"read_parquet([{listed}], hive_partitioning = true)" if files
                      else "(SELECT * FROM tasks_empty)")
            if not files:
                cols = ", ".join(f"NULL::{sql} AS {name}" for name, sql in task_columns().items())
                cur.execute(f"CREATE VIEW tasks_empty AS SELECT {cols} WHERE false")
            # A scope shadows tables, not views: a scoped viewer's view keeps its accounts only.
            scope = ""
            if wh.accounts is not None:
                cur.execute("CREATE TABLE _scope AS SELECT unnest(?::VARCHAR[]) AS account_id", [list(wh.accounts)])
                scope = " WHERE account_id IN (SELECT account_id FROM _scope)"
            cur.execute(f"CREATE VIEW tasks AS SELECT * FROM (SELECT {typed_columns(task_columns())} "
                        f"FROM {source}){scope}")
        _copy_facts(wh, ev, None)
    except BaseException:
        ev.close()
        raise
    return ev


def closed_span(dataset: Path, first: dt.date, last: dt.date) -> tuple[Any, Any]:
    """min(closed_at) over month `first`'s files, max(closed_at) over month `last`'s: the
    data's first and last close, reading two month directories (None where one is empty)."""
    with duckdb.connect(":memory:") as con:
        def one(agg: str, month: dt.date) -> Any:
            files = _month_files(dataset, month)
            if not files:
                return None
            row = con.execute(f"SELECT {agg}(CAST(closed_at AS TIMESTAMP)) FROM read_parquet(?)", [files]).fetchone()
            return None if row is None else row[0]
        return one("min", first), one("max", last)


def _month_files(dataset: Path, month: dt.date) -> list[str]:
    folder = dataset / TASKS_DIR / month_dir(month.replace(day=1))
    return sorted(str(f) for f in folder.glob("*.parquet"))


def _read_tasks(files: list[str], where: str, params: Mapping[str, Any]) -> Warehouse:
    """A fresh in-memory warehouse with the rows of `files` that `where` selects."""
    ev = Warehouse.in_memory()
    if not files:
        return ev
    columns = task_columns()
    sql = (f"INSERT INTO tasks ({', '.join(columns)}) SELECT * FROM (SELECT {typed_columns(columns)} "
           f"FROM read_parquet($_files, hive_partitioning = true)) WHERE {where}")
    named = set(re.findall(r"\$(\w+)", sql))  # DuckDB refuses a parameter the SQL does not name
    try:
        with ev.transaction() as cur:
            cur.execute(sql, {**{k: v for k, v in params.items() if k in named}, "_files": files})
    except BaseException:
        ev.close()
        raise
    return ev


def locate_task(dataset: Path, task_id: str) -> tuple[str, dt.date] | None:
    """The account and month of one task in the dataset (None when it has none): reads the
    files' footers, then the task_id and account_id columns of the files whose task_id
    range holds it (and the month from the directory names)."""
    files = task_files(dataset)
    if not files:
        return None
    with duckdb.connect(":memory:") as con:
        con.execute("CREATE TEMP TABLE _asked AS SELECT ?::VARCHAR AS task_id", [task_id])
        files = files_naming(con, files, "SELECT task_id FROM _asked")  # footers only: see load.py
        if not files:
            return None
        row = con.execute(
            "SELECT account_id, month FROM read_parquet(?, hive_partitioning = true) WHERE task_id = ? LIMIT 1",
            [files, task_id],
        ).fetchone()
    return None if row is None else (str(row[0]), dt.date.fromisoformat(str(row[1])[:10]))


def _account_tables(wh: Warehouse) -> set[str]:
    """Base tables with an account_id column (names from the catalog, not from users)."""
    found = wh.query_df(
        "SELECT table_name FROM information_schema.columns WHERE column_name = 'account_id' "
        "AND table_schema = 'main' AND table_name IN (SELECT table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE')"
    )
    return set(found["table_name"]) - set(BUILT)


def _copy_facts(wh: Warehouse, ev: Warehouse, account_id: str | None) -> None:
    """`wh`'s tables that `ev` also has (accounts, disputes, audits, ...; not the built
    ones) into `ev`: only `account_id`'s rows when given, else whole (they are small)."""
    tables = _account_tables(wh) & _account_tables(ev) if account_id is not None else _side_tables(wh) & _side_tables(ev)
    for table in sorted(tables):
        if account_id is None:
            rows = wh.query_df(f'SELECT * FROM "{table}"')
        else:
            rows = wh.query_df(f'SELECT * FROM "{table}" WHERE account_id = ?', [account_id])
        if rows.empty:
            continue
        with ev.transaction() as cur:
            cur.register("_facts", rows)
            cur.execute(f'INSERT INTO "{table}" SELECT * FROM _facts')
            cur.unregister("_facts")


def _side_tables(wh: Warehouse) -> set[str]:
    """Every base table but the built ones (names from the catalog, not from users)."""
    found = wh.query_df("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                        "AND table_type = 'BASE TABLE'")
    return set(found["table_name"]) - set(BUILT)
