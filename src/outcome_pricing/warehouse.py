"""The DuckDB warehouse: one owner of the database file per process.

Rules (DESIGN section 2): one connection per process, a cursor per query
(Streamlit serves each browser session on its own thread, and a shared
connection raises ResourceInUseException), user values only as bound
parameters, every ingestion in one transaction.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from .errors import WarehouseError, WarehouseLockedError
from .schema import (
    ACCOUNT_COLUMN_NAMES,
    ACCOUNT_COLUMNS,
    DERIVED_COLUMNS,
    TASK_COLUMN_NAMES,
    TASK_COLUMNS,
    table_ddl,
)

if TYPE_CHECKING:
    from .definitions import Definition

DEFAULT_DB = Path("data") / "warehouse.duckdb"
DB_ENV = "OUTCOME_PRICING_DB"

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

# Recomputes reopen_gap_hours for every task whose (account, requester, topic)
# key appears in the staged rows: a new task can change the gap of an older one.
REOPEN_GAP_SQL = """
UPDATE tasks SET reopen_gap_hours = g.gap
FROM (
  SELECT task_id,
         date_diff('millisecond', closed_at,
                   LEAD(created_at) OVER (PARTITION BY account_id, requester_id, topic
                                          ORDER BY created_at, task_id)) / 3600000.0 AS gap
  FROM tasks
  WHERE (account_id, requester_id, topic) IN (
    SELECT DISTINCT account_id, requester_id, topic FROM {staged})
) AS g
WHERE tasks.task_id = g.task_id
  AND tasks.reopen_gap_hours IS DISTINCT FROM g.gap
"""


def default_db_path() -> Path:
    """`OUTCOME_PRICING_DB` if set, else data/warehouse.duckdb."""
    return Path(os.environ.get(DB_ENV) or DEFAULT_DB)


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
    """Owns the DuckDB connection; hands out one cursor per query."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self._con = con
        self.path = path
        self.read_only = read_only
        self._write_lock = threading.Lock()
        # Bumped after every successful write so caches can key on it.
        self.generation = 0

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
        try:
            con = duckdb.connect(str(db), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise WarehouseLockedError(
                    f"The warehouse file {db} is in use by another process (for example the "
                    f"app or another command). Close it, or open the file read-only; "
                    f"DuckDB said: {str(exc).splitlines()[0]}"
                ) from exc
            raise WarehouseError(f"Cannot open the warehouse file {db}: {exc}") from exc
        except duckdb.Error as exc:
            raise WarehouseError(f"Cannot open the warehouse file {db}: {exc}") from exc
        wh = cls(con, db, read_only)
        if not read_only:
            wh._create_schema()
        return wh

    @classmethod
    def in_memory(cls) -> Warehouse:
        """A throw-away warehouse (tests, prospects' uploads that must not be stored)."""
        wh = cls(duckdb.connect(":memory:"), Path(":memory:"), read_only=False)
        wh._create_schema()
        return wh

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create_schema(self) -> None:
        with self.cursor() as cur:
            cur.execute(table_ddl("tasks", TASK_COLUMNS + DERIVED_COLUMNS))
            cur.execute(table_ddl("accounts", ACCOUNT_COLUMNS))
            cur.execute(INGEST_LOG_DDL)

    # ----------------------------------------------------------------- queries
    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh cursor on the one connection (thread-safe), closed afterwards."""
        cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run SQL with bound parameters on its own cursor and return a DataFrame."""
        with self.cursor() as cur:
            return cur.execute(sql, params or []).df()

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        with self.cursor() as cur:
            row = cur.execute(sql, params or []).fetchone()
            return None if row is None else row[0]

    # ----------------------------------------------------------------- writing
    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: commit when the block ends, roll back on any error."""
        if self.read_only:
            raise WarehouseError(f"The warehouse {self.path} is open read-only; cannot write.")
        with self._write_lock, self.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
        self.generation += 1

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
            ins, upd = self._upsert(cur, "tasks", tasks, "task_id", TASK_COLUMN_NAMES)
            cur.execute(REOPEN_GAP_SQL.format(staged=tasks))
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
        if table == "tasks":
            cur.execute(
                f"INSERT INTO tasks ({cols}, month, reopen_gap_hours) "
                f"SELECT {cols}, date_trunc('month', closed_at)::DATE, NULL FROM {staged}"
            )
        else:
            cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {staged}")
        return int(total) - int(updated), int(updated)

    def _refresh_derived(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Rebuild the definition-independent aggregates (the definition cube)."""
        from . import cube  # local import: cube imports nothing from here at module level

        cube.rebuild(cur)

    # ----------------------------------------------------------------- facts
    def is_empty(self) -> bool:
        return not self.scalar("SELECT count(*) FROM tasks")

    def summary(self) -> dict[str, Any]:
        """Tasks, accounts, months covered, share of tasks with AI live."""
        row = self.query_df(
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

    def ingest_log(self) -> pd.DataFrame:
        return self.query_df("SELECT * FROM ingest_log ORDER BY ingest_id DESC")

    # ----------------------------------------------------------------- engine entry points
    def outcomes(self, definition: Definition, by: Sequence[str] = ("account_id", "month")) -> pd.DataFrame:
        """Billable outcomes under `definition`, grouped by `by` (see definitions.outcomes)."""
        from .definitions import outcomes

        return outcomes(self, definition, by=by)
