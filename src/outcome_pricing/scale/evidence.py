"""Task-level evidence read from the Parquet tasks, one account-month at a time.

A statement, an explanation or an evidence panel needs the tasks of one account
and month, not all of them. `evidence_warehouse` reads only that month's Parquet
directory, keeps only that account's rows (with the month and gap the build
derived, so a reopen in the next month still counts), and returns a throw-away
in-memory warehouse: every task-level engine call (`rules.evaluate_tasks`,
`rules.explain`, statements) then runs on it unchanged, through the same SQL.

In cluster mode (`warehouse/cluster.py`) this is what `cluster.evidence_for` opens;
`locate_task` finds one task's account and month (for `explain TASK_ID`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from outcome_pricing.errors import UnknownAccountError
from outcome_pricing.scale.load import task_columns, task_files, typed_columns
from outcome_pricing.scale.spark import TASKS_DIR, month_dir
from outcome_pricing.warehouse import cluster
from outcome_pricing.warehouse.handle import Warehouse

# Tables the build makes or reads from Parquet: never copied from the warehouse.
BUILT = ("tasks", "definition_cube", "definition_cube_keys", "definition_cube_profiles",
         "definition_cube_tiers", "definition_cube_tier_names", "definition_cube_hours",
         "definition_cube_stamp", "ingest_log",
         cluster.FACTS_TABLE, cluster.BUILD_TABLE)


def evidence_warehouse(wh: Warehouse, dataset: Path, account_id: str, month: dt.date) -> Warehouse:
    """An in-memory warehouse with the tasks of `account_id` that closed in `month` (from
    the Parquet dataset) and that account's facts from `wh` (accounts, disputes, audits)."""
    folder = dataset / TASKS_DIR / month_dir(month.replace(day=1))
    files = sorted(str(f) for f in folder.glob("*.parquet"))
    ev = Warehouse.in_memory()
    try:
        if files:
            columns = task_columns()
            with ev.transaction() as cur:
                cur.execute(
                    f"INSERT INTO tasks ({', '.join(columns)}) SELECT {typed_columns(columns)} "
                    "FROM read_parquet(?, hive_partitioning = true) WHERE account_id = ?",
                    [files, account_id],
                )
        if ev.is_empty():
            raise UnknownAccountError(
                f"No tasks for account '{account_id}' closed in {month:%Y-%m} in the dataset {dataset}."
            )
        _copy_account_facts(wh, ev, account_id)
    except BaseException:
        ev.close()
        raise
    return ev


def locate_task(dataset: Path, task_id: str) -> tuple[str, dt.date] | None:
    """The account and month of one task in the dataset (None when it has none): reads only
    the task_id and account_id columns (and the month from the directory names)."""
    files = task_files(dataset)
    if not files:
        return None
    with duckdb.connect(":memory:") as con:
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


def _copy_account_facts(wh: Warehouse, ev: Warehouse, account_id: str) -> None:
    for table in sorted(_account_tables(wh) & _account_tables(ev)):
        rows = wh.query_df(f'SELECT * FROM "{table}" WHERE account_id = ?', [account_id])
        if rows.empty:
            continue
        with ev.transaction() as cur:
            cur.register("_facts", rows)
            cur.execute(f'INSERT INTO "{table}" SELECT * FROM _facts')
            cur.unregister("_facts")
