"""Validated, atomic ingestion of task logs and accounts (CSV or Parquet).

How a file gets in (DESIGN sections 2 and 3, issue 2):

1. Inside the write transaction, DuckDB's CSV reader parses the file straight
   into a staging table with our column types (booleans, DOUBLE for numbers,
   TIMESTAMPTZ converted to UTC), collecting every line it cannot read (bad
   UTF-8, wrong field count, a value of the wrong type) in a rejects table
   instead of stopping (`store_rejects`). Parquet files, mapped values,
   constants and timestamps are read as text and parsed by our SQL, with the raw
   text of a value that does not parse kept in a `_raw_<column>` side column.
2. Rejected lines refuse the file. Otherwise one set-based query tells whether
   any rule fails (every condition OR-ed in one filter); only when something is
   wrong do we count each rule and fetch the first rows of each failing rule.
3. Any problem: ValidationError, the transaction rolls back, nothing written.
   Otherwise `Warehouse.apply_staged` upserts, recomputes the derived facts and
   logs the file with its sha256, in the same transaction.

Why this shape: the budget is 2x a bare `CREATE TABLE AS SELECT * FROM
read_csv(...)`, so parsing stays in DuckDB's reader and validation is a scan of
the typed table, never a Python loop. A file DuckDB cannot open at all is
explained afterwards by a slow Python scan (first bad byte, long line, quote).

Documented behaviour (the decisions a user can rely on):
- Rows are numbered as a spreadsheet shows them: in a CSV the header is row 1,
  so the first data row is row 2. Problems found while *parsing* (bad UTF-8,
  a wrong number of fields, a value of the wrong type) give the file's line
  number, which is the same unless a quoted value spans several lines; they are
  reported first, and the other rules run once the file parses. In Parquet the
  first record is row 1.
- A timestamp must fall in 2000-01-01 .. 2100-01-01 (this catches "epoch",
  "infinity" and 9999-12-31 placeholders). A line may hold at most 2 MB.
- Header names match our columns case-insensitively, ignoring surrounding
  spaces. Columns we do not know are ignored and listed in the result's notes.
- Empty values are missing (a required text value of only spaces counts as
  empty). Text values are stored verbatim (no trimming, no formula or SQL
  interpretation).
- Booleans: true/false, 1/0, yes/no, any case (DuckDB's reader also takes
  t/f and y/n). Integers may be written "3" or "3.0" but not "3.5". Numbers
  must be finite and inside the contract's bounds (schema.py MAX_*).
- The same value rules hold on every path: a Parquet column, a mapped value or a
  constant is checked like a CSV value once parsed (never rounded into range).
- Timestamps: `YYYY-MM-DD HH:MM:SS` or ISO 8601 with `T`, `Z` or an offset;
  offsets (within +-14:00) are converted to UTC, times without an offset are
  taken as UTC. A mapping's timestamp_format (strptime) replaces this for
  created_at/closed_at. Timestamps are parsed from text on every path, since
  only the text shows the offset that was written.
- A UTF-16/UTF-32 file, and a truncated or corrupt gzip file, are refused as such.
- A task_id (account_id) already stored is replaced by the new row and counted
  as updated. A row identical to the stored one is counted as unchanged and
  not rewritten, so ingesting the same file twice reports
  "0 inserted, 0 updated, N unchanged" and leaves the data as it was (the
  second attempt is still recorded in the ingest log).
- A file with a header but no data rows is accepted and changes nothing.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from outcome_pricing.errors import ConfigError, Problem, ValidationError
from outcome_pricing.ingest.diagnose import diagnose
from outcome_pricing.ingest.mapping import Mapping, load_mapping
from outcome_pricing.ingest.read import ACCOUNTS, TASKS, FileSpec, InputFile, Unreadable
from outcome_pricing.ingest.validate import stage_validated
from outcome_pricing.warehouse.handle import IngestResult, Warehouse


@dataclass(frozen=True)
class IngestReport(IngestResult):
    """IngestResult plus what a user should know about the files."""

    rows_unchanged: int = 0
    accounts_unchanged: int = 0
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        text = super().summary()
        if self.rows_unchanged or self.accounts_unchanged:
            text += f"; {self.rows_unchanged + self.accounts_unchanged:,} row(s) already stored unchanged"
        return text + "".join(f"\nNote: {n}" for n in self.notes)

def ingest_files(
    wh: Warehouse,
    tasks: str | Path | None = None,
    accounts: str | Path | None = None,
    mapping: str | Path | Mapping | None = None,
    *,
    tasks_name: str | None = None,
    accounts_name: str | None = None,
) -> IngestReport:
    """Validate and load a tasks file and/or an accounts file, all or nothing.

    `tasks_name` / `accounts_name` replace the path in messages and the ingest
    log (the app passes the uploaded file's name instead of a temp path).
    Raises ValidationError (nothing written) or ConfigError (bad mapping).
    """
    if tasks is None and accounts is None:
        raise ConfigError("Nothing to ingest: give a tasks file, an accounts file, or both.")
    m = load_mapping(mapping)
    items = [
        InputFile(spec, Path(path), name or str(path), section)
        for spec, path, name, section in (
            (ACCOUNTS, accounts, accounts_name, m.accounts),
            (TASKS, tasks, tasks_name, m.tasks),
        )
        if path is not None
    ]
    for item in items:
        _check_readable(item)
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        # Hashing overlaps with DuckDB's parsing instead of adding to it.
        for item in items:
            item.sha256 = pool.submit(file_sha256, item.path)
        try:
            return _ingest(wh, items, m)
        except Unreadable as exc:
            raise diagnose(exc.item, m, exc.cause) from None


def _ingest(wh: Warehouse, items: list[InputFile], m: Mapping) -> IngestReport:
    results: list[IngestResult] = []
    unchanged: dict[str, int] = {}
    with wh.transaction() as cur:
        # Naive timestamps mean UTC; the setting is per cursor, so it cannot leak.
        cur.execute("SET TimeZone = 'UTC'")
        staged = [(item, stage_validated(cur, item, m)) for item in items]
        for item, n_rows in staged:
            unchanged[item.spec.kind] = _drop_unchanged(cur, item.spec) if n_rows else 0
            assert item.sha256 is not None
            kind = item.spec.kind
            results.append(
                wh.apply_staged(
                    cur,
                    tasks=TASKS.stage_table if kind == "tasks" else None,
                    accounts=ACCOUNTS.stage_table if kind == "accounts" else None,
                    source=item.name,
                    sha256=item.sha256.result(),
                    kind=kind,
                )
            )
            cur.execute(f"DROP TABLE {item.spec.stage_table}")
    return _combine(items, results, unchanged)


def _combine(items: list[InputFile], results: list[IngestResult], unchanged: dict[str, int]) -> IngestReport:
    names = " + ".join(item.name for item in reversed(items))  # tasks file first
    return IngestReport(
        source=names,
        rows_inserted=sum(r.rows_inserted for r in results),
        rows_updated=sum(r.rows_updated for r in results),
        accounts_inserted=sum(r.accounts_inserted for r in results),
        accounts_updated=sum(r.accounts_updated for r in results),
        rows_unchanged=unchanged.get("tasks", 0),
        accounts_unchanged=unchanged.get("accounts", 0),
        notes=tuple(n for item in items for n in item.notes),
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_readable(item: InputFile) -> None:
    if not item.path.is_file() or not os.access(item.path, os.R_OK):
        raise ValidationError(
            item.name,
            [Problem(item.name, None, None, "file not found or not readable; check the path")],
        )

def _drop_unchanged(cur: duckdb.DuckDBPyConnection, spec: FileSpec) -> int:
    """Remove staged rows identical to the stored ones; return how many.

    Replacing a row with itself would change nothing but would still be
    counted as an update; this keeps "same file twice" reported honestly.
    """
    table = spec.kind
    if not cur.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)").fetchone()[0]:  # type: ignore[index]
        return 0
    cols = ", ".join(c.name for c in spec.columns)
    stage, key = spec.stage_table, spec.key
    same = (
        f"SELECT {key} FROM (SELECT {cols} FROM {stage} INTERSECT "
        f"SELECT {cols} FROM {table} WHERE {key} IN (SELECT {key} FROM {stage}))"
    )
    n = cur.execute(f"DELETE FROM {stage} WHERE {key} IN ({same})").fetchone()
    return int(n[0]) if n else 0
