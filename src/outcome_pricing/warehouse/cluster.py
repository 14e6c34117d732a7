"""Cluster mode: a warehouse that keeps the cube and the account facts, not the tasks.

`ingest --engine spark --cluster` (scale/ingest.py) builds on Spark and loads only
the definition cube and the account facts (`account_month_facts`, see
`scale/facts.py`) into the warehouse; the tasks stay in the Parquet dataset. It
records the build in `cluster_build` (one row: the dataset, the task count, the
cube's stamp) in the same transaction, and that record is what the cube's
freshness check compares with (`cube.current_stamp`), since there are no tasks to
count. The only tasks it holds are the few that disputes and audits name
(`hold_named_tasks`), so dispute corrections and audit settlement read them as on a
full warehouse.

Task-level evidence of one account-month (a statement's billed tasks, an
explanation, the evidence panels and the evidence pack) then reads that month's
Parquet tasks: `evidence_for` is the one switch point. The reader is plugged in
from above (`use_evidence`; the package root plugs `scale.evidence`), because the
scale layer sits above everything that asks for evidence. Two more reads that would
otherwise see only the held tasks: `account_evidence` (one account's tasks of every
month: the ROI case's measured effect) and `tasks_where` (the tasks a fixed filter
selects: the tasks billing as it happened re-rates after their close); `closed_span`
gives the first and last close of the data from the first and last months' files.

Whether a warehouse is in cluster mode is asked on every usage, savings and go-live
read, so the answer is kept per handle until its next write (`Warehouse.generation`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import duckdb
import pandas as pd

from outcome_pricing.errors import ConfigError, UnknownAccountError
from outcome_pricing.warehouse.connection import has_table
from outcome_pricing.warehouse.memo import GenerationMemo


class Handle(Protocol):
    """What this module reads of a `Warehouse` (handle.py imports this module, so it is
    named by its shape here, not imported)."""

    @property
    def path(self) -> Path: ...

    @property
    def accounts(self) -> tuple[str, ...] | None: ...

    @property
    def generation(self) -> int: ...

    def cursor(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]: ...

    def query_df(self, sql: str, params: Any = None) -> pd.DataFrame: ...

    def close(self) -> None: ...

    def scoped(self, accounts: Sequence[str]) -> Any: ...


W = TypeVar("W", bound=Handle)

BUILD_TABLE = "cluster_build"
FACTS_TABLE = "account_month_facts"
BUILD_DDL = f"""
CREATE TABLE IF NOT EXISTS {BUILD_TABLE} (
  dataset VARCHAR, tasks BIGINT, cube_stamp VARCHAR, built_at TIMESTAMP
)
"""
FACTS_DDL = f"""
CREATE TABLE IF NOT EXISTS {FACTS_TABLE} (
  account_id VARCHAR, month DATE, model_tier VARCHAR, topic VARCHAR, ai_enabled BOOLEAN,
  tasks BIGINT, ai_tasks BIGINT, human_ms BIGINT, input_tokens BIGINT, output_tokens BIGINT,
  timed_ms BIGINT, timed_tasks BIGINT
)
"""

# Warehouse.summary's figures from the account facts (the same columns as from tasks).
SUMMARY_SQL = f"""
SELECT coalesce(sum(tasks), 0)::BIGINT AS tasks, count(DISTINCT account_id) AS accounts, min(month) AS first_month,
       max(month) AS last_month, count(DISTINCT month) AS months,
       sum(tasks) FILTER (WHERE ai_enabled) / sum(tasks) FILTER (WHERE ai_enabled IS NOT NULL) AS ai_share
FROM {FACTS_TABLE}
"""

# What a page that needs every task says in cluster mode instead of its figures.
NEEDS_TASKS = (
    "This warehouse is in cluster mode: it holds the definition cube and the account facts, "
    "not the tasks (they stay in the Parquet dataset {dataset}). {what} needs every task, so it "
    "is not available here; run it on a warehouse built without --cluster."
)


def recorded_build(cur: duckdb.DuckDBPyConnection) -> tuple[str, int, str] | None:
    """(dataset, tasks, cube stamp) of the cluster build this warehouse holds, or None."""
    if not has_table(cur, BUILD_TABLE):
        return None
    row = cur.execute(f"SELECT dataset, tasks, cube_stamp FROM main.{BUILD_TABLE} LIMIT 1").fetchone()
    return None if row is None else (str(row[0]), int(row[1]), str(row[2]))


Build = tuple[str, int, str] | None
_known: GenerationMemo[Build] = GenerationMemo(entries=1)


def _build_of(wh: Handle) -> Build:
    """`recorded_build` of `wh`, asked of the catalog once per handle generation (a write
    bumps it, and only a write can make a warehouse cluster mode or leave it)."""
    return _known.get(wh, "build", lambda: _read_build(wh))


def _read_build(wh: Handle) -> Build:
    with wh.cursor() as cur:
        return recorded_build(cur)


def is_cluster(wh: Handle) -> bool:
    """True when `wh` is in cluster mode (holds the cube and account facts, not the tasks)."""
    return _build_of(wh) is not None


def dataset(wh: Handle) -> Path | None:
    """The Parquet dataset of a cluster-mode warehouse (None when not in cluster mode)."""
    build = _build_of(wh)
    return None if build is None else Path(build[0])


def record_build(cur: duckdb.DuckDBPyConnection, dataset_dir: Path, n_tasks: int, stamp: str) -> None:
    """Make the warehouse cluster mode (inside the load's transaction): the one build record."""
    cur.execute(BUILD_DDL)
    cur.execute(f"DELETE FROM {BUILD_TABLE}")
    cur.execute(f"INSERT INTO {BUILD_TABLE} VALUES (?, ?, ?, now()::TIMESTAMP)",
                [str(dataset_dir.resolve()), n_tasks, stamp])


# The task ids the side files name: their tasks stay in a cluster-mode warehouse.
SIDE_TASK_IDS = "SELECT task_id FROM disputes UNION SELECT task_id FROM audits"


def hold_named_tasks(cur: duckdb.DuckDBPyConnection, ids_sql: str) -> None:
    """In cluster mode, copy into `tasks` the Parquet rows of the task ids `ids_sql` (our
    fixed SQL over a staging table) names that are not held yet; else nothing."""
    build = recorded_build(cur)
    if build is not None:
        _plugged().hold(cur, Path(build[0]), ids_sql)


def account_months(wh: Handle, account_id: str) -> list[dt.date]:
    """The months in which `account_id` has tasks, latest first (from the account facts)."""
    found = wh.query_df(f"SELECT DISTINCT month FROM {FACTS_TABLE} WHERE account_id = ? ORDER BY 1 DESC",
                        [account_id])
    return [dt.date.fromisoformat(str(m)[:10]) for m in found["month"]]


def needs_tasks(wh: Handle, what: str) -> str | None:
    """The sentence a page that needs every task shows in cluster mode (None otherwise)."""
    found = dataset(wh)
    return None if found is None else NEEDS_TASKS.format(dataset=found, what=what)


def refuse_task_scan(cur: duckdb.DuckDBPyConnection, what: str) -> None:
    """In cluster mode, refuse (ConfigError) an answer that would scan every task: the
    warehouse holds only a few, so it would be silently wrong."""
    build = recorded_build(cur)
    if build is not None:
        raise ConfigError(NEEDS_TASKS.format(dataset=build[0], what=what))


def refuse_task_ingest(cur: duckdb.DuckDBPyConnection) -> None:
    """A DuckDB task ingest into a cluster-mode warehouse would build a cube from a handful
    of tasks over the cluster's: refuse it (nothing written)."""
    build = recorded_build(cur)
    if build is not None:
        raise ConfigError(
            f"This warehouse is in cluster mode (its tasks are in the Parquet dataset {build[0]}): "
            "ingest tasks with `ingest --engine spark --cluster`."
        )


class EvidenceReader(Protocol):
    """Reads task evidence from the Parquet dataset: `scale.evidence` (plugged in from above)."""

    def month(self, wh: Handle, dataset: Path, account_id: str, month: dt.date) -> Handle:
        """A throw-away warehouse with that account-month's tasks and that account's facts."""

    def locate(self, dataset: Path, task_id: str) -> tuple[str, dt.date] | None:
        """The account and month of one task (None when the dataset has no such task)."""

    def hold(self, cur: duckdb.DuckDBPyConnection, dataset: Path, ids_sql: str) -> None:
        """Insert into `tasks` the dataset's rows of the ids `ids_sql` names, not yet held."""

    def tasks(self, wh: Handle, dataset: Path, where: str, params: Mapping[str, Any],
              account_id: str | None) -> Handle:
        """A throw-away warehouse with the dataset's tasks `where` selects (fixed SQL of ours,
        named parameters) and `wh`'s other tables (only `account_id`'s rows when given)."""

    def every(self, wh: Handle, dataset: Path) -> Handle:
        """A throw-away warehouse whose `tasks` is a view of every Parquet task (not loaded)."""

    def span(self, dataset: Path, first: dt.date, last: dt.date) -> tuple[Any, Any]:
        """The earliest closed_at of month `first`'s tasks and the latest of month `last`'s."""


_reader: EvidenceReader | None = None


def use_evidence(reader: EvidenceReader) -> None:
    """Plug in the Parquet reader of cluster mode (done once, by `outcome_pricing/__init__.py`)."""
    global _reader
    _reader = reader


def _plugged() -> EvidenceReader:
    if _reader is None:
        raise ConfigError("Cluster mode reads task evidence through the `scale` extra: "
                          "pip install 'outcome-pricing[scale]'.")
    return _reader


def _refuse_out_of_scope(wh: Handle, account_id: str) -> None:
    # The Parquet files know no scope: an account the viewer may not see reads as absent.
    if wh.accounts is not None and account_id not in wh.accounts:
        raise UnknownAccountError(f"No tasks for account '{account_id}' in the warehouse {wh.path}.")


@contextmanager
def evidence_for(wh: W, account_id: str, month: dt.date) -> Iterator[W]:
    """THE switch point for task-level evidence of one account-month: `wh` itself, or in
    cluster mode a small warehouse holding that account-month's tasks from the Parquet
    dataset (closed when the block ends)."""
    found = dataset(wh)
    if found is None:
        yield wh
        return
    _refuse_out_of_scope(wh, account_id)
    ev = cast(W, _plugged().month(wh, found, account_id, month))  # a Warehouse, as `wh` is
    try:
        yield ev
    finally:
        ev.close()


@contextmanager
def evidence_for_task(wh: W, task_id: str) -> Iterator[W]:
    """The warehouse holding one task's evidence: `wh`, or in cluster mode that task's
    account-month from Parquet (`wh` itself, without the task, when no such task exists,
    so the caller says "no such task" as it always does)."""
    found = dataset(wh)
    where = None if found is None else _plugged().locate(found, task_id)
    if where is None or (wh.accounts is not None and where[0] not in wh.accounts):
        yield wh
        return
    with evidence_for(wh, *where) as ev:
        yield ev


def closed_span(wh: Handle) -> tuple[Any, Any] | None:
    """In cluster mode, the first and last closed_at of the data (from the first and last
    months' Parquet files: a task's month is its close's); None when not in cluster mode."""
    found = dataset(wh)
    if found is None:
        return None
    months = wh.query_df(f"SELECT min(month) AS first, max(month) AS last FROM {FACTS_TABLE}").iloc[0]
    if pd.isna(months["last"]):
        return None, None
    first, last = (dt.date.fromisoformat(str(months[k])[:10]) for k in ("first", "last"))
    return _plugged().span(found, first, last)


@contextmanager
def account_evidence(wh: W, account_id: str) -> Iterator[W]:
    """The warehouse holding every task of one account: `wh`, or in cluster mode a small
    warehouse with that account's tasks of every month from Parquet (closed after)."""
    found = dataset(wh)
    if found is None:
        yield wh
        return
    _refuse_out_of_scope(wh, account_id)
    ev = cast(W, _plugged().tasks(wh, found, "account_id = $account_id", {"account_id": account_id}, account_id))
    try:
        yield ev
    finally:
        ev.close()


@contextmanager
def tasks_where(wh: W, where: str, params: Mapping[str, Any]) -> Iterator[W]:
    """The warehouse holding at least the tasks `where` selects (fixed SQL of ours over the
    task columns, named parameters) and the tasks `wh` holds (those side files name): `wh`,
    or in cluster mode a small warehouse with them from Parquet (closed after). For a
    reader that over-approximates with `where` and applies its own rules after."""
    found = dataset(wh)
    if found is None:
        yield wh
        return
    held = [str(t) for t in wh.query_df("SELECT task_id FROM tasks")["task_id"]]
    ev = cast(W, _plugged().tasks(wh, found, f"({where}) OR task_id IN (SELECT unnest($_held::VARCHAR[]))",
                                  {**params, "_held": held}, None))
    try:
        yield ev
    finally:
        ev.close()


@contextmanager
def every_task(wh: W) -> Iterator[W]:
    """The warehouse whose `tasks` are every task: `wh`, or in cluster mode a throw-away one
    whose `tasks` is a view of the whole Parquet dataset (closed after). For the reads that
    need every task and are worth a scan of the dataset (a price by channel or topic)."""
    found = dataset(wh)
    if found is None:
        yield wh
        return
    ev = cast(W, _plugged().every(wh, found))
    try:  # a scoped viewer's scope holds on the view as on the tasks
        yield ev if wh.accounts is None else cast(W, ev.scoped(wh.accounts))
    finally:
        ev.close()
