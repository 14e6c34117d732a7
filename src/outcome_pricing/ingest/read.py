"""Reading a file into its staging table: formats, header, mapping, staging SQL.

DuckDB's CSV reader types the columns it can (the fast path), and a Parquet column
already of the contract's type is read as it is; other Parquet columns, mapped
values, constants and CSV timestamps are read as text and parsed by our SQL, with the
raw text of a value that does not parse kept in a `_raw_<column>` side column
for the rules (validate.py). Every user value reaches SQL as a bound parameter;
identifiers come from the schema's fixed column list.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb

from outcome_pricing.errors import Problem, ValidationError
from outcome_pricing.ingest.mapping import Mapping, SectionMapping
from outcome_pricing.warehouse.schema import ACCOUNT_COLUMNS, TASK_COLUMNS, Column, Kind

PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_MAGIC = b"PAR1"
BOOL_TRUE = ("true", "1", "yes")
BOOL_FALSE = ("false", "0", "no")


@dataclass(frozen=True)
class Rule:
    """One rule over a staging table: the rows where `condition` holds are refused.

    `column` and `text` name the problem in the message; `shown` is SQL giving the
    offending value as text. Conditions use identifiers from the schema only.
    """

    column: str
    text: str
    condition: str
    shown: str


@dataclass(frozen=True)
class FileSpec:
    """What one kind of file holds: its contract columns, key and cross-column rules.

    Every column gets the value rules of its kind and bounds (validate.value_rules);
    `rules` adds the file's own (closed_at >= created_at and the like).
    """

    kind: str  # "tasks" | "accounts" | ...: also the ingest_log kind
    columns: tuple[Column, ...]
    key: str
    rules: tuple[Rule, ...] = ()

    @property
    def stage_table(self) -> str:
        return f"_stage_{self.kind}"


# Said for a required column the header lacks (here and in the Spark build's reader).
MISSING_COLUMN_TEXT = "required column missing from the header"
# Plausible task times: anything outside is a typo or a placeholder (epoch, 9999-12-31).
TIMESTAMP_RANGE = ("2000-01-01", "2100-01-01")
_LO, _HI = TIMESTAMP_RANGE
# YYYY-MM-DD HH:MM:SS (or with T): all digits where digits go, so no offset or zone.
PLAIN_TIMESTAMP = r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d"
TASKS = FileSpec("tasks", TASK_COLUMNS, "task_id", rules=(
    Rule("closed_at", "closed_at is before created_at",
         f"closed_at < created_at AND closed_at >= TIMESTAMP '{_LO}' AND created_at < TIMESTAMP '{_HI}'",
         "closed_at::VARCHAR || ' < ' || created_at::VARCHAR"),
    Rule("n_issues_resolved", "n_issues_resolved is greater than n_issues",
         "n_issues_resolved > n_issues AND n_issues >= 1",
         "CAST(n_issues_resolved AS VARCHAR) || ' > ' || CAST(n_issues AS VARCHAR)"),
))
ACCOUNTS = FileSpec("accounts", ACCOUNT_COLUMNS, "account_id")


@dataclass
class InputFile:
    """One file being ingested: what it holds, where it is, and what to tell the user."""

    spec: FileSpec
    path: Path
    name: str  # as shown in messages and the ingest log
    section: SectionMapping
    sha256: Future[str] | None = None
    notes: list[str] = field(default_factory=list)
    # A Parquet file's column types by 1-based position (DuckDB's names), from its header.
    parquet_types: dict[int, str] = field(default_factory=dict)

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


class Unreadable(Exception):
    """DuckDB could not read the file at all; diagnosed after the rollback."""

    def __init__(self, item: InputFile, cause: duckdb.Error) -> None:
        super().__init__(str(cause))
        self.item = item
        self.cause = cause


def file_delimiter(item: InputFile, m: Mapping) -> str:
    """The mapping's delimiter, else tab for a .tsv file and comma for anything else."""
    if m.delimiter is not None:
        return m.delimiter
    return "\t" if item.path.suffix.lower() == ".tsv" else ","


# Byte-order marks of the encodings a spreadsheet may save "Unicode text" in.
WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"),
)


def opener(path: Path) -> Any:
    """open, or gzip.open for a .gz file: the file's bytes as the reader sees them."""
    return gzip.open if path.suffix.lower() == ".gz" else open


def check_text_encoding(item: InputFile) -> None:
    """Refuse a UTF-16 or UTF-32 file by name (its header would read as no column at all).

    Looks at the first bytes only (a BOM, or the NUL bytes of wide text without one).
    A gzip file that cannot even start to decompress is left to the reader and diagnose.
    """
    try:
        with opener(item.path)(item.path, "rb") as fh:
            start = fh.read(4096)
    except (OSError, EOFError, zlib.error):
        return
    encoding = next((name for bom, name in WIDE_BOMS if start.startswith(bom)), None)
    if encoding is None and start and start.count(0) * 4 >= len(start):
        encoding = "UTF-16"  # wide text without a BOM: every other byte is 0 for ASCII
    if encoding is not None:
        raise ValidationError(item.name, [Problem(
            item.name, 1, None,
            f"the file is {encoding} text, not UTF-8; save it as \"CSV UTF-8\" (or re-encode it to UTF-8)",
        )])


def _header(cur: duckdb.DuckDBPyConnection, item: InputFile, m: Mapping) -> list[str]:
    """The file's column names as written (DuckDB would rename a repeated name to name_1)."""
    if not item.is_parquet:
        check_text_encoding(item)
        header = _csv_header(item, file_delimiter(item, m))
        if header is not None:
            return header
    try:
        if item.is_parquet:
            described = cur.execute(
                "DESCRIBE SELECT * FROM read_parquet($path)", {"path": str(item.path)}).fetchall()
            item.parquet_types = {i: str(r[1]) for i, r in enumerate(described, start=1)}
            return [str(r[0]) for r in described]
        first = cur.execute(
            "SELECT * FROM read_csv($path, all_varchar = true, header = false, delim = $delim, "
            "quote = '\"', escape = '\"', ignore_errors = true) LIMIT 1",
            {"path": str(item.path), "delim": file_delimiter(item, m)},
        ).fetchone()
    except duckdb.Error as exc:
        raise Unreadable(item, exc) from exc
    if first is None:
        raise Unreadable(item, duckdb.InvalidInputException("no header row"))
    return ["" if h is None else str(h) for h in first]


def _csv_header(item: InputFile, delimiter: str) -> list[str] | None:
    """The first record, read by Python's csv module (no sniffing); None to let DuckDB try."""
    try:
        with opener(item.path)(item.path, "rt", encoding="utf-8-sig", newline="") as fh:
            return next(csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True), None)
    except (UnicodeDecodeError, csv.Error, OSError, EOFError, zlib.error):
        return None


@dataclass(frozen=True)
class Sources:
    """Where each of our columns comes from: a header position or a constant."""

    position: dict[str, int]  # our column -> 1-based position in the file
    constant: dict[str, str]


def _resolve_columns(item: InputFile, header: list[str]) -> Sources:
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
            problems.append(Problem(item.name, 1, col.name, MISSING_COLUMN_TEXT))
    if problems:
        raise ValidationError(item.name, problems)
    ignored = [h for i, h in enumerate(header, start=1) if i not in used]
    if ignored:
        shown = ", ".join(repr(h) for h in ignored[:10]) + (" ..." if len(ignored) > 10 else "")
        item.notes.append(f"{item.name}: {len(ignored)} column(s) not in the contract were ignored: {shown}")
    return Sources(position, {c: v for c, v in sec.constants.items() if c not in position})


# Parsing: one SELECT from the file into the contract's columns and types.
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


# Parquet column types that already hold the contract's values: such a column is read as
# it is (no text round trip, a third of a 10M-row Parquet ingest's CPU), through the same
# value rules; any other type (text dates, 0/1 integers for booleans) is parsed from text.
PARQUET_NATIVE = {
    Kind.BOOL: ("BOOLEAN",),
    # Not FLOAT: widened to DOUBLE it would store 0.10000000149 where its text says 0.1.
    Kind.INT: ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "DOUBLE"),
    Kind.NUMBER: ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "DOUBLE"),
    Kind.TIMESTAMP: ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE"),
}


def _parquet_native(col: Column, item: InputFile, src: Sources) -> str | None:
    """The Parquet type of `col` when it is read as it is, else None."""
    if not item.is_parquet or col.name not in src.position or col.name in item.section.values:
        return None
    kind = item.parquet_types.get(src.position[col.name])
    return kind if kind in PARQUET_NATIVE.get(col.kind, ()) else None


def _parsed_from_text(col: Column, item: InputFile, src: Sources, ts_format: str | None) -> bool:
    """Does this column go through our SQL parsing of text (else DuckDB's reader types it)?

    Parquet columns of a type the contract's kind already is (PARQUET_NATIVE) are read
    as they are (unless a timestamp format is mapped: it applies to text); other
    Parquet columns, mapped values and constants are parsed from text;
    dates are few (accounts only) and accept a timestamp too, so they also take this path.
    Timestamps always do: the reader converts any offset silently (even "+99:00"), and
    only the text shows which offset was written.
    """
    if col.kind is Kind.TEXT:
        return False
    if _parquet_native(col, item, src) and not (col.kind is Kind.TIMESTAMP and ts_format):
        return False
    return (
        item.is_parquet
        or col.name in item.section.values
        or col.name in src.constant
        or col.kind not in NATIVE_TYPE
        or col.kind is Kind.TIMESTAMP
    )


def _ts_format(item: InputFile, m: Mapping) -> str | None:
    """The mapping's timestamp format applies to the task timestamps (created_at, closed_at)."""
    return m.timestamp_format if item.spec is TASKS else None


def _raw_expr(col: Column, src: Sources, item: InputFile, p: _Params) -> str:
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
            # The plain form has no room for an offset: it parses as TIMESTAMP, a third of
            # the cost of the zone-aware cast and back (the same value, checked on every
            # form by tests/test_ingest_timestamps.py). "epoch", "infinity" and friends
            # cast on the other path: the range rule refuses them as placeholders.
            return (f"CASE WHEN regexp_full_match({s}, '{PLAIN_TIMESTAMP}') THEN TRY_CAST({s} AS TIMESTAMP) "
                    f"ELSE timezone('UTC', TRY_CAST({s} AS TIMESTAMPTZ)) END")
        case Kind.DATE:
            return f"CASE WHEN left({s}, 1) BETWEEN '0' AND '9' THEN TRY_CAST({s} AS DATE) END"
        case _:
            return s


def _native(col: Column, raw: str, factor: float | None, p: _Params, parquet: str | None) -> str:
    """A column DuckDB's reader already typed: only units and UTC remain.

    `parquet`: the column's Parquet type when it is read as it is (a naive timestamp
    is UTC, as in text; numbers are staged as DOUBLE, as the CSV reader gives them).
    """
    if parquet is not None:
        if col.kind is Kind.TIMESTAMP:
            return f"timezone('UTC', {raw})" if parquet == "TIMESTAMP WITH TIME ZONE" else raw
        if col.kind in (Kind.INT, Kind.NUMBER):
            raw = f"CAST({raw} AS DOUBLE)"
    match col.kind:
        case Kind.TIMESTAMP:
            return f"timezone('UTC', {raw})"
        case Kind.NUMBER | Kind.INT if factor:
            return f"{raw} * {p.add(factor)}"
        case Kind.TEXT:
            return f"nullif({raw}, '')"
        case _:
            return raw


def _offset_seconds(s: str, utc: str, ts_format: str | None) -> str:
    """The UTC offset written in text `s`, in seconds (the clock time as written minus UTC).

    Only text longer than "YYYY-MM-DD HH:MM:SS" can carry one, so plain timestamps
    (the common case) cost nothing. NULL with a strptime format (no offsets there).
    """
    if ts_format:
        return "NULL::BIGINT"
    return f"CASE WHEN length({s}) > 19 THEN date_diff('second', {utc}, TRY_CAST({s} AS TIMESTAMP)) END"


def _select_list(item: InputFile, src: Sources, ts_format: str | None, p: _Params) -> list[str]:
    """One expression per contract column (with its default), plus `_raw_<col>` for text-parsed ones."""
    out = []
    for col in item.spec.columns:
        raw = _raw_expr(col, src, item, p)
        factor = item.section.scale.get(col.name)
        if _parsed_from_text(col, item, src, ts_format):
            s = f"nullif(trim({raw}), '')"
            value = _from_text(col, s, factor, ts_format, p)
            out.append(f"CASE WHEN ({value}) IS NULL THEN {s} END AS _raw_{col.name}")
            if col.kind is Kind.TIMESTAMP:
                out.append(f"{_offset_seconds(s, value, ts_format)} AS _offset_{col.name}")
        else:
            parquet = None if col.kind is Kind.TEXT else _parquet_native(col, item, src)
            value = _native(col, f"#{src.position[col.name]}" if parquet else raw, factor, p, parquet)
        if col.default is not None:
            value = f"coalesce({value}, {p.add(col.default)})"
        out.append(f"{value} AS {col.name}")
    return out


def _read_sql(item: InputFile, m: Mapping, src: Sources, n_columns: int, p: _Params) -> str:
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
        f"read_csv({p.add(str(item.path))}, header = true, delim = {p.add(file_delimiter(item, m))}, "
        f"quote = '\"', escape = '\"', types = {p.add(types)}, store_rejects = true, "
        f"rejects_table = '_rejects_{k}', rejects_scan = '_rejects_scan_{k}')"
    )


def stage_file(cur: duckdb.DuckDBPyConnection, item: InputFile, m: Mapping) -> tuple[Sources, set[str]]:
    """Read and parse one file into its staging table.

    Returns where each column came from and the columns parsed from text (their
    `_raw_<column>` holds what did not parse). Raises Unreadable when DuckDB
    cannot read the file at all.
    """
    header = _header(cur, item, m)
    src = _resolve_columns(item, header)
    p = _Params({})
    ts_format = _ts_format(item, m)
    select = ", ".join(_select_list(item, src, ts_format, p))
    sql = f"CREATE TEMP TABLE {item.spec.stage_table} AS SELECT {select} FROM {_read_sql(item, m, src, len(header), p)}"
    try:
        cur.execute(sql, p.values)
    except duckdb.Error as exc:
        raise Unreadable(item, exc) from exc
    return src, {c.name for c in item.spec.columns if _parsed_from_text(c, item, src, ts_format)}
