"""Validated, atomic ingestion of task logs and accounts (CSV or Parquet).

How a file gets in (DESIGN sections 2 and 3, issue 2):

1. Inside the write transaction, DuckDB's CSV reader parses the file straight
   into a staging table with our column types (booleans, DOUBLE for numbers,
   TIMESTAMPTZ converted to UTC), collecting every line it cannot read (bad
   UTF-8, wrong field count, a value of the wrong type) in a rejects table
   instead of stopping (`store_rejects`). Parquet files, mapped values and
   constants are read as text and parsed by our SQL, with the raw text of a
   value that does not parse kept in a `_raw_<column>` side column.
2. Rejected lines refuse the file. Otherwise one set-based query counts every
   rule at once; only when something is wrong do we fetch the first rows of
   each failing rule.
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
  must be finite.
- Timestamps: `YYYY-MM-DD HH:MM:SS` or ISO 8601 with `T`, `Z` or an offset;
  offsets are converted to UTC, times without an offset are taken as UTC.
  A mapping's timestamp_format (strptime) replaces this for created_at/closed_at.
- A task_id (account_id) already stored is replaced by the new row and counted
  as updated. A row identical to the stored one is counted as unchanged and
  not rewritten, so ingesting the same file twice reports
  "0 inserted, 0 updated, N unchanged" and leaves the data as it was (the
  second attempt is still recorded in the ingest log).
- A file with a header but no data rows is accepted and changes nothing.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
import re
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb

from outcome_pricing.errors import ConfigError, Problem, ValidationError
from outcome_pricing.ingest.mapping import Mapping, SectionMapping, load_mapping
from outcome_pricing.warehouse.handle import IngestResult, Warehouse
from outcome_pricing.warehouse.schema import ACCOUNT_COLUMNS, TASK_COLUMNS, Column, Kind

PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_MAGIC = b"PAR1"
MAX_PROBLEMS_PER_RULE = 20
BOOL_TRUE = ("true", "1", "yes")
BOOL_FALSE = ("false", "0", "no")


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


@dataclass(frozen=True)
class FileSpec:
    """What one kind of file holds: its contract columns and key."""

    kind: str  # "tasks" | "accounts": also the ingest_log kind
    columns: tuple[Column, ...]
    key: str

    @property
    def stage_table(self) -> str:
        return f"_stage_{self.kind}"


TASKS = FileSpec("tasks", TASK_COLUMNS, "task_id")
ACCOUNTS = FileSpec("accounts", ACCOUNT_COLUMNS, "account_id")


@dataclass
class _Input:
    spec: FileSpec
    path: Path
    name: str  # as shown in messages and the ingest log
    section: SectionMapping
    sha256: Future[str] | None = None
    notes: list[str] = field(default_factory=list)

    @cached_property
    def is_parquet(self) -> bool:
        if self.path.suffix.lower() in PARQUET_SUFFIXES:
            return True
        with self.path.open("rb") as fh:
            return fh.read(4) == PARQUET_MAGIC

    @property
    def first_row(self) -> int:
        """Row number of the first record (a CSV header is row 1)."""
        return 1 if self.is_parquet else 2


class _Unreadable(Exception):
    """DuckDB could not read the file at all; diagnosed after the rollback."""

    def __init__(self, item: _Input, cause: duckdb.Error) -> None:
        super().__init__(str(cause))
        self.item = item
        self.cause = cause


# ======================================================================== entry point
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
        _Input(spec, Path(path), name or str(path), section)
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
        except _Unreadable as exc:
            raise _diagnose(exc.item, m, exc.cause) from None


def _ingest(wh: Warehouse, items: list[_Input], m: Mapping) -> IngestReport:
    results: list[IngestResult] = []
    unchanged: dict[str, int] = {}
    with wh.transaction() as cur:
        # Naive timestamps mean UTC; the setting is per cursor, so it cannot leak.
        cur.execute("SET TimeZone = 'UTC'")
        staged = [(item, _stage(cur, item, m)) for item in items]
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


def _combine(items: list[_Input], results: list[IngestResult], unchanged: dict[str, int]) -> IngestReport:
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


def _check_readable(item: _Input) -> None:
    if not item.path.is_file() or not os.access(item.path, os.R_OK):
        raise ValidationError(
            item.name,
            [Problem(item.name, None, None, "file not found or not readable; check the path")],
        )


# ======================================================================== reading
def _delimiter(item: _Input, m: Mapping) -> str:
    """The mapping's delimiter, else tab for a .tsv file and comma for anything else."""
    if m.delimiter is not None:
        return m.delimiter
    return "\t" if item.path.suffix.lower() == ".tsv" else ","


def _header(cur: duckdb.DuckDBPyConnection, item: _Input, m: Mapping) -> list[str]:
    """The file's column names as written (DuckDB would rename a repeated name to name_1)."""
    if not item.is_parquet:
        header = _csv_header(item, _delimiter(item, m))
        if header is not None:
            return header
    try:
        if item.is_parquet:
            rows = cur.execute("DESCRIBE SELECT * FROM read_parquet($path)", {"path": str(item.path)})
            return [str(r[0]) for r in rows.fetchall()]
        first = cur.execute(
            "SELECT * FROM read_csv($path, all_varchar = true, header = false, delim = $delim, "
            "quote = '\"', escape = '\"', ignore_errors = true) LIMIT 1",
            {"path": str(item.path), "delim": _delimiter(item, m)},
        ).fetchone()
    except duckdb.Error as exc:
        raise _Unreadable(item, exc) from exc
    if first is None:
        raise _Unreadable(item, duckdb.InvalidInputException("no header row"))
    return ["" if h is None else str(h) for h in first]


def _csv_header(item: _Input, delimiter: str) -> list[str] | None:
    """The first record, read by Python's csv module (no sniffing); None to let DuckDB try."""
    opener = gzip.open if item.path.suffix.lower() == ".gz" else open
    try:
        with opener(item.path, "rt", encoding="utf-8-sig", newline="") as fh:
            return next(csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True), None)
    except (UnicodeDecodeError, csv.Error, OSError, EOFError):
        return None


@dataclass(frozen=True)
class _Sources:
    """Where each of our columns comes from: a header position or a constant."""

    position: dict[str, int]  # our column -> 1-based position in the file
    constant: dict[str, str]


def _resolve_columns(item: _Input, header: list[str]) -> _Sources:
    """Match the file's header to our columns (through the mapping); refuse what is missing."""
    sec = item.section
    by_norm: dict[str, list[int]] = {}
    for i, h in enumerate(header, start=1):
        by_norm.setdefault(h.strip().lower(), []).append(i)
    problems: list[Problem] = []
    position: dict[str, int] = {}
    used: set[int] = set()
    for col in item.spec.columns:
        wanted = sec.columns.get(col.name, col.name)
        hits = by_norm.get(wanted.strip().lower(), [])
        if len(hits) > 1:
            problems.append(Problem(item.name, 1, wanted, "column appears more than once in the header"))
        elif hits:
            position[col.name] = hits[0]
            used.add(hits[0])
        elif col.name in sec.columns:
            problems.append(Problem(
                item.name, 1, wanted,
                f"column '{wanted}' (mapped to {col.name} in the mapping file) is not in the header",
            ))
        elif col.required and col.name not in sec.constants:
            problems.append(Problem(item.name, 1, col.name, "required column missing from the header"))
    if problems:
        raise ValidationError(item.name, problems)
    ignored = [h for i, h in enumerate(header, start=1) if i not in used]
    if ignored:
        shown = ", ".join(repr(h) for h in ignored[:10]) + (" ..." if len(ignored) > 10 else "")
        item.notes.append(f"{item.name}: {len(ignored)} column(s) not in the contract were ignored: {shown}")
    return _Sources(position, {c: v for c, v in sec.constants.items() if c not in position})


# ======================================================================== parsing
class _Params:
    """Bound parameters for one statement (named, so nesting order does not matter)."""

    def __init__(self, initial: dict[str, Any]) -> None:
        self.values = dict(initial)

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


# Types DuckDB's CSV reader parses natively for us (the fast path). Whole numbers
# are read as DOUBLE so "3.0" loads and "3.5" is refused by a rule, not rounded.
# Timestamps as TIMESTAMPTZ so offsets are converted (the cursor's zone is UTC).
NATIVE_TYPE = {
    Kind.TEXT: "VARCHAR",
    Kind.BOOL: "BOOLEAN",
    Kind.INT: "DOUBLE",
    Kind.NUMBER: "DOUBLE",
    Kind.TIMESTAMP: "TIMESTAMPTZ",
}


def _parsed_from_text(col: Column, item: _Input, src: _Sources, ts_format: str | None) -> bool:
    """Does this column go through our SQL parsing of text (else DuckDB's reader types it)?

    Parquet columns (any type), mapped values and constants are parsed from text;
    dates are few (accounts only) and accept a timestamp too, so they also take this path.
    """
    if col.kind is Kind.TEXT:
        return False
    return (
        item.is_parquet
        or col.name in item.section.values
        or col.name in src.constant
        or col.kind not in NATIVE_TYPE
        or (col.kind is Kind.TIMESTAMP and ts_format is not None)
    )


def _ts_format(item: _Input, m: Mapping) -> str | None:
    """The mapping's timestamp format applies to the task timestamps (created_at, closed_at)."""
    return m.timestamp_format if item.spec is TASKS else None


def _raw_expr(col: Column, src: _Sources, item: _Input, p: _Params) -> str:
    """The file's value of `col` (after the mapping's value map), or NULL when absent."""
    if col.name in src.constant:
        return f"{p.add(src.constant[col.name])}::VARCHAR"
    if col.name not in src.position:
        return "NULL"
    raw = f"#{src.position[col.name]}"
    if item.is_parquet:
        raw = f"CAST({raw} AS VARCHAR)"
    vmap = item.section.values.get(col.name)
    if vmap:
        cases = " ".join(f"WHEN {p.add(k)} THEN {p.add(v)}" for k, v in vmap.items())
        raw = f"CASE trim({raw}) {cases} ELSE {raw} END"
    return raw


def _from_text(col: Column, s: str, factor: float | None, ts_format: str | None, p: _Params) -> str:
    """Parse text `s` (trimmed, NULL when blank) into the contract type; NULL when it does not parse."""
    match col.kind:
        case Kind.BOOL:
            return f"CASE WHEN lower({s}) IN {BOOL_TRUE} THEN true WHEN lower({s}) IN {BOOL_FALSE} THEN false END"
        case Kind.NUMBER | Kind.INT:
            d = f"TRY_CAST({s} AS DOUBLE)"
            return f"{d} * {p.add(factor)}" if factor else d
        case Kind.TIMESTAMP if ts_format:
            return f"TRY_STRPTIME({s}, {p.add(ts_format)})::TIMESTAMP"
        case Kind.TIMESTAMP:
            # "epoch", "infinity" and friends cast, but are not timestamps anyone logged.
            return f"CASE WHEN left({s}, 1) BETWEEN '0' AND '9' THEN timezone('UTC', TRY_CAST({s} AS TIMESTAMPTZ)) END"
        case Kind.DATE:
            return f"CASE WHEN left({s}, 1) BETWEEN '0' AND '9' THEN TRY_CAST({s} AS DATE) END"
        case _:
            return s


def _native(col: Column, raw: str, factor: float | None, p: _Params) -> str:
    """A column DuckDB's reader already typed: only units and UTC remain."""
    match col.kind:
        case Kind.TIMESTAMP:
            return f"timezone('UTC', {raw})"
        case Kind.NUMBER | Kind.INT if factor:
            return f"{raw} * {p.add(factor)}"
        case Kind.TEXT:
            return f"nullif({raw}, '')"
        case _:
            return raw


def _select_list(item: _Input, src: _Sources, ts_format: str | None, p: _Params) -> list[str]:
    """One expression per contract column (with its default), plus `_raw_<col>` for text-parsed ones."""
    out = []
    for col in item.spec.columns:
        raw = _raw_expr(col, src, item, p)
        factor = item.section.scale.get(col.name)
        if _parsed_from_text(col, item, src, ts_format):
            s = f"nullif(trim({raw}), '')"
            value = _from_text(col, s, factor, ts_format, p)
            out.append(f"CASE WHEN ({value}) IS NULL THEN {s} END AS _raw_{col.name}")
        else:
            value = _native(col, raw, factor, p)
        if col.default is not None:
            value = f"coalesce({value}, {p.add(col.default)})"
        out.append(f"{value} AS {col.name}")
    return out


def _read_sql(item: _Input, m: Mapping, src: _Sources, n_columns: int, p: _Params) -> str:
    """The table function reading the file: Parquet as is, CSV with our column types."""
    if item.is_parquet:
        return f"read_parquet({p.add(str(item.path))})"
    types = ["VARCHAR"] * n_columns
    for col in item.spec.columns:
        if col.name in src.position and not _parsed_from_text(col, item, src, _ts_format(item, m)):
            types[src.position[col.name] - 1] = NATIVE_TYPE[col.kind]
    k = item.spec.kind
    # store_rejects: a value that does not parse, a bad UTF-8 byte or a wrong field count
    # becomes a row of the rejects table (with its line) instead of aborting the read.
    return (
        f"read_csv({p.add(str(item.path))}, header = true, delim = {p.add(_delimiter(item, m))}, "
        f"quote = '\"', escape = '\"', types = {p.add(types)}, store_rejects = true, "
        f"rejects_table = '_rejects_{k}', rejects_scan = '_rejects_scan_{k}')"
    )


def _stage(cur: duckdb.DuckDBPyConnection, item: _Input, m: Mapping) -> int:
    """Read, parse and validate one file into its staging table; return its row count."""
    header = _header(cur, item, m)
    src = _resolve_columns(item, header)
    p = _Params({})
    ts_format = _ts_format(item, m)
    select = ", ".join(_select_list(item, src, ts_format, p))
    sql = f"CREATE TEMP TABLE {item.spec.stage_table} AS SELECT {select} FROM {_read_sql(item, m, src, len(header), p)}"
    try:
        cur.execute(sql, p.values)
    except duckdb.Error as exc:
        raise _Unreadable(item, exc) from exc
    if not item.is_parquet:
        _raise_rejects(cur, item, src)
    n_rows = int(cur.execute(f"SELECT count(*) FROM {item.spec.stage_table}").fetchone()[0])  # type: ignore[index]
    if n_rows == 0:
        item.notes.append(f"{item.name}: the file has a header but no data rows; nothing to load.")
        return 0
    _validate(cur, item, {c.name for c in item.spec.columns if _parsed_from_text(c, item, src, ts_format)})
    return n_rows


def _raise_rejects(cur: duckdb.DuckDBPyConnection, item: _Input, src: _Sources) -> None:
    """Lines DuckDB could not read: bad UTF-8, wrong field count, quoting, a value of the wrong type."""
    table = f"_rejects_{item.spec.kind}"
    total = int(cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
    if not total:
        return
    rows = cur.execute(
        f"SELECT line, column_idx, error_type, error_message FROM {table} ORDER BY line, column_idx LIMIT ?",
        [ValidationError.SHOWN],
    ).fetchall()
    ours = {pos: name for name, pos in src.position.items()}
    kinds = {c.name: c.kind for c in item.spec.columns}
    problems = []
    for line, idx, kind, message in rows:
        column = ours.get(int(idx)) if idx is not None else None
        if kind == "CAST" and column is not None:
            quoted = re.search(r'string "(.*)" to', str(message))
            problems.append(Problem(item.name, int(line), column, f"not a valid {_KIND_WORDS[kinds[column]]}",
                                    quoted.group(1) if quoted else None))
        else:
            problems.append(Problem(item.name, int(line), column, _reject_rule(str(kind), str(message))))
    raise ValidationError(item.name, problems, total=total)


def _reject_rule(kind: str, message: str) -> str:
    match kind:
        case "INVALID ENCODING" | "INVALID UNICODE":
            return "invalid UTF-8 byte sequence on this line; save the file as UTF-8"
        case "MISSING COLUMNS":
            return f"too few fields on this line ({message}); check for a truncated row"
        case "TOO MANY COLUMNS":
            return f"too many fields on this line ({message}); quote values that contain the delimiter"
        case "UNQUOTED VALUE" | "UNTERMINATED QUOTE":
            return "badly quoted value: a quote opens but does not close properly"
        case "LINE SIZE OVER MAXIMUM":
            return "line longer than the reader's maximum (a huge field?)"
        case _:
            return f"{kind.lower()}: {message}"


# ======================================================================== validation
@dataclass(frozen=True)
class _Rule:
    column: str
    text: str
    condition: str  # SQL over the staging table (identifiers from the schema only)
    shown: str  # SQL giving the offending value as text


_KIND_WORDS = {
    Kind.BOOL: "boolean (true/false, 1/0, yes/no)",
    Kind.INT: "whole number",
    Kind.NUMBER: "finite number",
    Kind.TIMESTAMP: "timestamp (YYYY-MM-DD HH:MM:SS or ISO 8601, e.g. 2025-03-01T09:30:00Z)",
    Kind.DATE: "date (YYYY-MM-DD)",
}
# Plausible task times: anything outside is a typo or a placeholder (epoch, 9999-12-31).
TIMESTAMP_RANGE = ("2000-01-01", "2100-01-01")


def _type_rule(col: Column, from_text: bool) -> _Rule | None:
    """Values of the wrong type: unparsed text, or a typed value the contract does not allow."""
    c = col.name
    words = f"not a valid {_KIND_WORDS.get(col.kind, col.kind)}"
    if from_text:
        return _Rule(c, words, f"_raw_{c} IS NOT NULL", f"_raw_{c}")
    match col.kind:
        case Kind.NUMBER:
            return _Rule(c, words, f"NOT isfinite({c})", f"{c}::VARCHAR")
        case Kind.INT:
            return _Rule(c, words, f"NOT isfinite({c}) OR {c} <> trunc({c}) OR abs({c}) >= 1e15", f"{c}::VARCHAR")
    return None


def _rules(spec: FileSpec, from_text: set[str]) -> list[_Rule]:
    """Every rule of DESIGN section 3, as conditions over the staging table."""
    rules: list[_Rule] = []
    lo, hi = TIMESTAMP_RANGE
    for col in spec.columns:
        c = col.name
        typed = _type_rule(col, c in from_text)
        if typed:
            rules.append(typed)
        if col.required:
            missing = f"{c} IS NULL OR trim({c}) = ''" if col.kind is Kind.TEXT else f"{c} IS NULL"
            if c in from_text:
                missing = f"{c} IS NULL AND _raw_{c} IS NULL"
            rules.append(_Rule(c, "required value is empty", missing, "NULL"))
        if col.kind is Kind.TIMESTAMP:
            rules.append(_Rule(c, f"timestamp outside {lo} .. {hi} (a placeholder such as epoch?)",
                               f"NOT ({c} >= TIMESTAMP '{lo}' AND {c} < TIMESTAMP '{hi}')", f"{c}::VARCHAR"))
        # Whole numbers are read as DOUBLE: show 9, not 9.0.
        shown = f"CASE WHEN {c} = trunc({c}) THEN CAST({c} AS BIGINT)::VARCHAR ELSE {c}::VARCHAR END" \
            if col.kind is Kind.INT else f"{c}::VARCHAR"
        if col.minimum is not None:
            rules.append(_Rule(c, f"must be >= {col.minimum:g}", f"{c} < {col.minimum!r}", shown))
        if col.maximum is not None:
            rules.append(_Rule(c, f"must be <= {col.maximum:g}", f"{c} > {col.maximum!r}", shown))
    if spec is TASKS:
        rules += [
            _Rule("closed_at", "closed_at is before created_at",
                  f"closed_at < created_at AND closed_at >= TIMESTAMP '{lo}' AND created_at < TIMESTAMP '{hi}'",
                  "closed_at::VARCHAR || ' < ' || created_at::VARCHAR"),
            _Rule("n_issues_resolved", "n_issues_resolved is greater than n_issues",
                  "n_issues_resolved > n_issues AND n_issues >= 1",
                  "n_issues_resolved || ' > ' || n_issues"),
        ]
    key = spec.key
    rules.append(_Rule(
        key, f"{key} appears more than once in this file",
        f"{key} IN (SELECT {key} FROM {spec.stage_table} GROUP BY {key} HAVING count(*) > 1)", key,
    ))
    return rules


def _validate(cur: duckdb.DuckDBPyConnection, item: _Input, from_text: set[str]) -> None:
    """Count every rule in one scan; on any hit, fetch the first rows of each and refuse."""
    spec = item.spec
    rules = _rules(spec, from_text)
    dup_free = f"count(DISTINCT {spec.key}) = count({spec.key})"
    counts_sql = ", ".join(f"count(*) FILTER (WHERE {r.condition})" for r in rules[:-1])
    row = cur.execute(f"SELECT {counts_sql}, {dup_free} FROM {spec.stage_table}").fetchone()
    assert row is not None
    counts = [int(n) for n in row[:-1]]
    if row[-1]:
        counts.append(0)
    else:
        counts.append(int(cur.execute(
            f"SELECT count(*) FROM {spec.stage_table} WHERE {rules[-1].condition}").fetchone()[0]))  # type: ignore[index]
    total = sum(counts)
    if not total:
        return
    # Row ids of a table created in a transaction start at a large offset; rows keep file order.
    base = cur.execute(f"SELECT min(rowid) FROM {spec.stage_table}").fetchone()[0]  # type: ignore[index]
    problems: list[tuple[int, int, Problem]] = []
    order = {c.name: i for i, c in enumerate(spec.columns)}
    for rule, n in zip(rules, counts, strict=True):
        if not n:
            continue
        hits = cur.execute(
            f"SELECT rowid - $base + $first, {rule.shown} FROM {spec.stage_table} "
            f"WHERE {rule.condition} ORDER BY rowid LIMIT $limit",
            {"base": base, "first": item.first_row, "limit": MAX_PROBLEMS_PER_RULE},
        ).fetchall()
        for r, value in hits:
            problems.append((int(r), order[rule.column], Problem(item.name, int(r), rule.column, rule.text, value)))
    problems.sort(key=lambda t: (t[0], t[1]))
    shown = [p for _, _, p in problems][: ValidationError.SHOWN]
    raise ValidationError(item.name, shown, total=total)


# ======================================================================== writing
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


# ======================================================================== diagnosis
MAX_LINE_BYTES = 2_000_000  # DuckDB's CSV reader refuses longer lines


def _diagnose(item: _Input, m: Mapping, cause: duckdb.Error) -> ValidationError:
    """Explain a file DuckDB could not read at all (after the transaction rolled back).

    This path is rare, so it may be slow: a plain Python scan finds the line.
    """
    # Only DuckDB's first line: the rest can quote a whole (huge, hostile) line of the file.
    first = str(cause).splitlines()[0][:300] if str(cause) else type(cause).__name__
    if item.is_parquet:
        return _one_problem(item, None, f"not a readable Parquet file: {first}")
    with item.path.open("rb") as fh:
        start = fh.read(64)
    if not start.removeprefix(b"\xef\xbb\xbf").strip():
        return _one_problem(item, None, "the file is empty (no header row)")
    found = find_invalid_utf8(item.path) or _find_long_line(item.path)
    if found is None:
        found = _find_csv_break(item.path, _delimiter(item, m))
    if found is not None:
        return _one_problem(item, *found)
    return _one_problem(
        item, None,
        f"not a readable CSV file with a header row and {_delimiter(item, m)!r} as delimiter: {first}",
    )


def _one_problem(item: _Input, row: int | None, rule: str) -> ValidationError:
    return ValidationError(item.name, [Problem(item.name, row, None, rule)])


def find_invalid_utf8(path: Path) -> tuple[int, str] | None:
    """(line number, rule) of the first invalid UTF-8 sequence, or None."""
    offset = 0
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, (
                    f"invalid UTF-8 byte sequence (byte offset {offset + exc.start}); "
                    "save the file as UTF-8"
                )
            offset += len(line)
    return None


def _find_long_line(path: Path) -> tuple[int, str] | None:
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if len(line) > MAX_LINE_BYTES:
                return number, (
                    f"line of {len(line):,} bytes, over the {MAX_LINE_BYTES:,}-byte limit of one row "
                    "(a huge field, or a quote that never closes?)"
                )
    return None


def _find_csv_break(path: Path, delimiter: str) -> tuple[int, str] | None:
    """The line where the CSV structure breaks: an unclosed quote or a wrong field count."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        width = None
        start = 1
        try:
            for record in reader:
                if width is None:
                    width = len(record)
                elif len(record) != width and record:
                    return start, f"{len(record)} fields where the header has {width}"
                start = reader.line_num + 1
        except csv.Error as exc:
            return start, f"badly quoted value in the row starting here ({exc})"
    return None


# ======================================================================== uploads
MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # the app's limit; .streamlit/config.toml maxUploadSize agrees
UPLOAD_SUFFIXES = (".csv", ".txt", ".tsv", ".parquet", ".pq", ".gz")


@dataclass(frozen=True)
class Upload:
    """A file received through the app: its name as the user knows it, and its bytes."""

    name: str
    data: bytes


def ingest_uploads(
    wh: Warehouse,
    tasks: Upload | None,
    accounts: Upload | None = None,
    mapping: Upload | None = None,
) -> IngestReport:
    """The app's ingest: size-check the uploads, then `ingest_files` on private temp copies.

    Messages and the ingest log name the uploaded file, not the temp path.
    """
    for up in (tasks, accounts, mapping):
        if up is not None and len(up.data) > MAX_UPLOAD_BYTES:
            raise ValidationError(up.name, [Problem(
                up.name, None, None,
                f"the file is {len(up.data) / 2**20:,.0f} MB, above the upload limit of "
                f"{MAX_UPLOAD_BYTES // 2**20} MB; load it with `outcome-pricing ingest` instead",
            )])
    m = None
    if mapping is not None:
        try:
            m = Mapping.from_toml_text(mapping.data.decode("utf-8"), source=mapping.name)
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{mapping.name} is not UTF-8 text: save the mapping as UTF-8.") from exc
    with tempfile.TemporaryDirectory(prefix="outcome-pricing-upload-") as tmp:
        paths = {
            role: _write_upload(Path(tmp), role, up)
            for role, up in (("tasks", tasks), ("accounts", accounts))
            if up is not None
        }
        return ingest_files(
            wh,
            tasks=paths.get("tasks"),
            accounts=paths.get("accounts"),
            mapping=m,
            tasks_name=tasks.name if tasks else None,
            accounts_name=accounts.name if accounts else None,
        )


def _write_upload(folder: Path, role: str, up: Upload) -> Path:
    # Our own file name (the user's name may hold anything); keep a known suffix for the reader.
    suffixes = "".join(Path(up.name).suffixes[-2:]).lower()
    suffix = suffixes if suffixes.endswith(UPLOAD_SUFFIXES) and len(suffixes) <= 12 else ".csv"
    path = folder / f"{role}{suffix}"
    path.write_bytes(up.data)
    return path


def refused_problems(exc: ValidationError) -> list[dict[str, Any]]:
    """A refusal as table rows (file, row, column, rule, value) for screens and JSON."""
    return [
        {"file": p.file, "row": p.row, "column": p.column, "rule": p.rule, "value": p.value}
        for p in exc.problems
    ]
