"""The DuckDB warehouse: one owner of the database file per process.

Rules (DESIGN section 2): one connection per process (`connection.py`), a cursor
per query (Streamlit serves each browser session on its own thread, and a shared
connection raises ResourceInUseException), user values only as bound
parameters, every ingestion in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from outcome_pricing.errors import UnknownAccountError, WarehouseError
from outcome_pricing.warehouse import cluster, derive
from outcome_pricing.warehouse.connection import Hold, _Connection, default_db_path
from outcome_pricing.warehouse.schema import (
    ACCOUNT_COLUMN_NAMES,
    ACCOUNT_COLUMNS,
    AUDIT_TABLES_DDL,
    DERIVED_COLUMNS,
    DISPUTE_TABLES_DDL,
    TASK_COLUMNS,
    table_ddl,
)

_CREATED = re.compile(r"CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+(\w+)", re.IGNORECASE)


class _RecordingCursor:
    """Collects the schema's DDL instead of running it (to find missing tables read-only)."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    def execute(self, sql: str, *args: Any) -> _RecordingCursor:
        self.sql.append(sql)
        return self


INGEST_LOG_DDL = """
CREATE TABLE IF NOT EXISTS ingest_log (
  ingest_id BIGINT,
  source VARCHAR,
  sha256 VARCHAR,
  kind VARCHAR,
  rows_inserted BIGINT,
  rows_updated BIGINT,
  ingested_at TIMESTAMP
)
"""

# Bound parameters: positional for `?`, a mapping for `$name`.
Params = Sequence[Any] | Mapping[str, Any] | None


@dataclass(frozen=True)
class IngestResult:
    source: str
    rows_inserted: int
    rows_updated: int
    accounts_inserted: int = 0
    accounts_updated: int = 0

    def summary(self) -> str:
        text = f"{self.source}: {self.rows_inserted:,} task(s) inserted, {self.rows_updated:,} updated"
        if self.accounts_inserted or self.accounts_updated:
            text += (
                f"; {self.accounts_inserted:,} account(s) inserted, "
                f"{self.accounts_updated:,} updated"
            )
        return text


class Warehouse:
    """A handle on the warehouse; hands out one cursor per query."""

    def __init__(
        self,
        shared: _Connection,
        path: Path,
        read_only: bool,
        accounts: tuple[str, ...] | None = None,
    ) -> None:
        self._shared = shared
        self.path = path
        self.read_only = read_only
        # Row-level scope: None = every account; else only these (see `scoped`).
        self.accounts = accounts
        self._closed = False
        self._owner = True  # views made by scoped()/read_only_view() release nothing

    @property
    def generation(self) -> int:
        """Bumped after every successful write (and every reopen), so caches can key on it."""
        return self._shared.generation

    @property
    def sealed(self) -> bool:
        """True while the file cannot change without `generation` moving (a read-only
        connection, no write under way): a cache keyed on the generation needs no other check."""
        return self._shared.sealed

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(cls, path: str | Path | None = None, read_only: bool = False) -> Warehouse:
        """Open (and, unless read_only, create) the warehouse file.

        Raises WarehouseLockedError naming the file when another process
        holds it, and WarehouseError when a read-only open finds no file.
        """
        db = Path(path) if path is not None else default_db_path()
        if read_only and not db.exists():
            raise WarehouseError(
                f"No warehouse at {db}. Create one with `outcome-pricing --db {db} demo` "
                f"or `outcome-pricing --db {db} ingest --tasks FILE`."
            )
        if not read_only:
            db.parent.mkdir(parents=True, exist_ok=True)
        shared = _Connection.acquire(db, Hold.READ_ONLY if read_only else Hold.READ_WRITE)
        wh = cls(shared, db, read_only)
        if not read_only:
            wh._create_schema()
        return wh

    @classmethod
    def open_shared(cls, path: str | Path | None = None) -> Warehouse:
        """Open for a long-running process (the app) that writes now and then.

        The file is held read-only, so other processes (the CLI, a DuckDB shell
        opening it read-only) can read it while this one runs; each `transaction()`
        takes the write lock only for its own duration (see connection.py). A file
        that does not exist yet, or lacks a table, is created in one such moment.
        """
        db = Path(path) if path is not None else default_db_path()
        if not db.exists():
            db.parent.mkdir(parents=True, exist_ok=True)
            Warehouse.open(db).close()  # create it (waits, bounded, if another process holds it)
        shared = _Connection.acquire(db, Hold.WRITE_ON_DEMAND)
        wh = cls(shared, db, read_only=False)
        try:
            wh._create_schema()
        except BaseException:
            wh.close()
            raise
        return wh

    @classmethod
    def in_memory(cls) -> Warehouse:
        """A throw-away warehouse (tests, prospects' uploads that must not be stored)."""
        wh = cls(_Connection(duckdb.connect(":memory:"), None, Hold.READ_WRITE), Path(":memory:"), False)
        wh._create_schema()
        return wh

    def close(self) -> None:
        """Release this handle; the connection closes with the last handle on it."""
        if not self._closed and self._owner:
            self._shared.release()
        self._closed = True

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create_schema(self, cur: Any = None) -> None:
        """Create the tables that are missing (the DDL is CREATE ... IF NOT EXISTS).

        A write-on-demand handle (the app) holds the file read-only, so it writes only
        when a table is actually missing, in one short write moment.
        """
        if cur is None:
            if self._shared.hold is not Hold.WRITE_ON_DEMAND:
                with self.cursor() as cur:
                    self._create_schema(cur)
            elif self._missing_tables():
                with self.transaction() as cur:
                    self._create_schema(cur)
            return
        cur.execute(table_ddl("tasks", TASK_COLUMNS + DERIVED_COLUMNS))
        cur.execute(table_ddl("accounts", ACCOUNT_COLUMNS))
        cur.execute(INGEST_LOG_DDL)
        for ddl in AUDIT_TABLES_DDL:
            cur.execute(ddl)
        for ddl in DISPUTE_TABLES_DDL:
            cur.execute(ddl)

    def _missing_tables(self) -> list[str]:
        """Tables the schema DDL would create that the file does not hold."""
        recorder = _RecordingCursor()
        self._create_schema(recorder)
        wanted = [m.group(1) for sql in recorder.sql if (m := _CREATED.search(sql))]
        present = set(self.query_df(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_catalog = current_database()")["table_name"])
        return [name for name in wanted if name not in present]

    # ----------------------------------------------------------------- queries
    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh cursor on the one connection (thread-safe), closed afterwards.

        On a scoped warehouse the cursor first shadows every table that has an
        account_id column with a temporary view limited to the allowed accounts,
        so every engine query, export and statement sees only those rows.
        """
        with self._shared.reading() as con:
            cur = con.cursor()
            try:
                if self.accounts is not None:
                    self._install_scope(cur)
                yield cur
            finally:
                cur.close()

    def scoped(self, accounts: Sequence[str]) -> Warehouse:
        """The same warehouse seen by someone allowed only `accounts` (read-only).

        Shares the one connection and owns nothing; writes are refused. Scoping
        an already scoped handle narrows it (never widens).
        """
        allowed = set(accounts)
        if self.accounts is not None:
            allowed &= set(self.accounts)
        return self._view(tuple(sorted(allowed)))

    def read_only_view(self) -> Warehouse:
        """The same warehouse, same scope, refusing writes (for people who may not ingest)."""
        return self._view(self.accounts)

    def _view(self, accounts: tuple[str, ...] | None) -> Warehouse:
        view = Warehouse(self._shared, self.path, read_only=True, accounts=accounts)
        view._owner = False
        return view

    def _install_scope(self, cur: duckdb.DuckDBPyConnection) -> None:
        # Temp objects live per cursor (DuckDB cursors are separate connections),
        # and an unqualified name resolves to the temp schema first.
        catalog = cur.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        tables = [
            r[0]
            for r in cur.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_catalog = ? "
                "AND table_schema = 'main' AND column_name = 'account_id' "
                "AND table_name IN (SELECT table_name FROM information_schema.tables "
                "WHERE table_catalog = ? AND table_schema = 'main' AND table_type = 'BASE TABLE')",
                [catalog, catalog],
            ).fetchall()
        ]
        cur.execute(
            "CREATE TEMP TABLE scope_accounts AS SELECT unnest(?::VARCHAR[]) AS account_id",
            [list(self.accounts or ())],
        )
        quoted = '"' + str(catalog).replace('"', '""') + '"'
        for table in tables:  # names come from the catalog, not from users
            cur.execute(
                f'CREATE TEMP VIEW "{table}" AS SELECT * FROM {quoted}.main."{table}" '
                f"WHERE account_id IN (SELECT account_id FROM scope_accounts)"
            )

    def query_df(self, sql: str, params: Params = None) -> pd.DataFrame:
        """Run SQL with bound parameters (`?` list or `$name` mapping) on its own cursor."""
        with self.cursor() as cur:
            return cur.execute(sql, params or []).df()

    def scalar(self, sql: str, params: Params = None) -> Any:
        with self.cursor() as cur:
            row = cur.execute(sql, params or []).fetchone()
            return None if row is None else row[0]

    # ----------------------------------------------------------------- writing
    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: commit when the block ends, roll back on any error."""
        if self.read_only:
            raise WarehouseError(
                f"The warehouse {self.path} is open read-only (or scoped to some accounts); "
                f"cannot write."
            )
        # The write lock of this process, then (for the app) the file's write lock
        # across processes for just this block, then a cursor on that connection.
        with self._shared.write_lock, self._shared.writable(), self.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
        self._shared.generation += 1

    def apply_staged(
        self,
        cur: duckdb.DuckDBPyConnection,
        *,
        tasks: str | None,
        accounts: str | None,
        source: str,
        sha256: str | None,
        kind: str = "file",
    ) -> IngestResult:
        """Upsert typed, validated staging tables into the warehouse (inside `transaction`).

        `tasks` / `accounts` name relations (tables or registered views) that
        already hold the contract columns with their contract types. A task_id
        already stored is replaced by the staged row and counted as updated.
        """
        ins = upd = a_ins = a_upd = 0
        if tasks is not None:
            cluster.refuse_task_ingest(cur)
            ins, upd = derive.upsert_tasks(cur, tasks)
            self._refresh_derived(cur)
        if accounts is not None:
            a_ins, a_upd = self._upsert(cur, "accounts", accounts, "account_id", ACCOUNT_COLUMN_NAMES)
        next_id = cur.execute("SELECT coalesce(max(ingest_id), 0) + 1 FROM ingest_log").fetchone()
        cur.execute(
            "INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
            [next_id[0] if next_id else 1, source, sha256, kind, ins + a_ins, upd + a_upd],
        )
        return IngestResult(source, ins, upd, a_ins, a_upd)

    @staticmethod
    def _upsert(
        cur: duckdb.DuckDBPyConnection, table: str, staged: str, key: str, columns: Sequence[str]
    ) -> tuple[int, int]:
        # Table and column names come from the fixed schema, never from users.
        total = cur.execute(f"SELECT count(*) FROM {staged}").fetchone()[0]  # type: ignore[index]
        updated = cur.execute(
            f"SELECT count(*) FROM {table} WHERE {key} IN (SELECT {key} FROM {staged})"
        ).fetchone()[0]  # type: ignore[index]
        if updated:
            cur.execute(f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {staged})")
        cols = ", ".join(columns)
        cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {staged}")
        return int(total) - int(updated), int(updated)

    def _refresh_derived(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Rebuild the definition-independent aggregates (the definition cube)."""
        derive.rebuild(cur)

    # ----------------------------------------------------------------- facts
    def is_empty(self) -> bool:
        return not self.scalar(f"SELECT count(*) FROM {self._task_facts()}")

    def _task_facts(self) -> str:
        """What says which accounts and months have tasks: `tasks`, or in cluster mode
        (warehouse/cluster.py) the account facts, as the tasks stay in Parquet."""
        return cluster.FACTS_TABLE if cluster.is_cluster(self) else "tasks"

    def summary(self) -> dict[str, Any]:
        """Tasks, accounts, months covered, share of tasks with AI live."""
        row = self.query_df(cluster.SUMMARY_SQL if cluster.is_cluster(self) else
            """
            SELECT count(*) AS tasks,
                   count(DISTINCT account_id) AS accounts,
                   min(month) AS first_month,
                   max(month) AS last_month,
                   count(DISTINCT month) AS months,
                   avg(ai_enabled::INT) AS ai_share
            FROM tasks
            """
        ).iloc[0]
        return {
            "tasks": int(row["tasks"]),
            "accounts": int(row["accounts"]),
            "first_month": None if pd.isna(row["first_month"]) else pd.Timestamp(row["first_month"]).strftime("%Y-%m"),
            "last_month": None if pd.isna(row["last_month"]) else pd.Timestamp(row["last_month"]).strftime("%Y-%m"),
            "months": int(row["months"]),
            "ai_share": None if pd.isna(row["ai_share"]) else float(row["ai_share"]),
            "accounts_with_details": int(self.scalar("SELECT count(*) FROM accounts") or 0),
        }

    def account_ids(self) -> list[str]:
        """Every account with tasks, sorted."""
        return list(self.query_df(f"SELECT DISTINCT account_id FROM {self._task_facts()} ORDER BY 1")["account_id"])

    def require_account(self, account_id: str, purpose: str = "") -> None:
        """Raise UnknownAccountError, naming a few known accounts, if account_id has no tasks.

        `purpose` finishes the sentence for the caller ("so there is no ROI case to build").
        """
        if self.scalar(f"SELECT count(*) FROM {self._task_facts()} WHERE account_id = ?", [account_id]):
            return
        known = self.account_ids()
        listed = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "") if known else "none"
        why = f", {purpose}" if purpose else ""
        raise UnknownAccountError(
            f"No tasks for account '{account_id}' in the warehouse {self.path}{why}. "
            f"Check the ID (accounts include: {listed})."
        )

    def ingest_log(self) -> pd.DataFrame:
        return self.query_df("SELECT * FROM ingest_log ORDER BY ingest_id DESC")

    # ----------------------------------------------------------------- engine entry points
    def outcomes(self, definition: Any, by: Sequence[str] = ("account_id", "month")) -> pd.DataFrame:
        """Billable outcomes under `definition` (a `rules.Definition`), grouped by `by`.

        The shortcut of DESIGN section 6 for `rules.outcomes(wh, definition, by=by)`,
        answered by the evaluator plugged in with `use_outcomes` (see that function).
        """
        if _outcomes is None:
            raise RuntimeError(
                "No outcome evaluator is plugged in; import outcome_pricing (it plugs in the rules)."
            )
        return _outcomes(self, definition, by=by)


# (warehouse, definition, by=...) -> the outcomes DataFrame: `rules.outcomes`.
OutcomesEvaluator = Callable[..., pd.DataFrame]
_outcomes: OutcomesEvaluator | None = None


def use_outcomes(evaluator: OutcomesEvaluator) -> None:
    """Plug in what `Warehouse.outcomes` calls (done once, by `outcome_pricing/__init__.py`).

    Why a plug and not an import: the rules are a layer above the warehouse and read
    it through a small Protocol (`rules.source.Source`); the warehouse importing the
    rules back, even inside a method, was the import circle of the first version.
    The package root knows both layers and runs before any submodule is usable, so
    it plugs `rules.outcomes` in here and `wh.outcomes(d)` always works. `definition`
    is typed `Any` because naming its type here would import the rules again.
    """
    global _outcomes
    _outcomes = evaluator
