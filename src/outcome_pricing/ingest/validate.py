"""The rules a staged file must pass, and the messages that name row, column and fix.

Rules are conditions over the typed staging table (DESIGN section 3), counted
in one scan; only when something is wrong are the first rows of each failing
rule fetched. Lines DuckDB's reader rejected (bad UTF-8, a wrong field count,
a value of the wrong type) are reported first, by their line in the file.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

from outcome_pricing.errors import Problem, ValidationError
from outcome_pricing.ingest.mapping import Mapping
from outcome_pricing.ingest.read import (
    TIMESTAMP_RANGE,
    FileSpec,
    InputFile,
    Rule,
    Sources,
    stage_file,
)
from outcome_pricing.warehouse.schema import Column, Kind

MAX_PROBLEMS_PER_RULE = 20


def raise_rejects(cur: duckdb.DuckDBPyConnection, item: InputFile, src: Sources) -> None:
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


_KIND_WORDS = {
    Kind.BOOL: "boolean (true/false, 1/0, yes/no)",
    Kind.INT: "whole number",
    Kind.NUMBER: "finite number",
    Kind.TIMESTAMP: "timestamp (YYYY-MM-DD HH:MM:SS or ISO 8601, e.g. 2025-03-01T09:30:00Z)",
    Kind.DATE: "date (YYYY-MM-DD)",
}
# Real UTC offsets run from -12:00 to +14:00; DuckDB would convert "+99:00" without a word.
MAX_UTC_OFFSET_HOURS = 14
# Only whitespace, as Python's str.isspace means it: SQL's trim() keeps tabs, line breaks
# and the \x1c-\x1f separators, so a tab-only task_id would pass as a value.
BLANK_TEXT = r"[\t\n\x0b\x0c\r\x1c-\x1f\x{85}\x{2028}\x{2029}\p{Zs}]*"


def blank_condition(c: str) -> str:
    """SQL: text column `c` is NULL or only whitespace (BLANK_TEXT).

    A value whose first byte is printable ASCII ('!' .. '~') cannot be blank, and
    nearly every real value starts so: the regular expression (a third of the
    whole rule scan at 1M rows) then runs only on the rest. Every blank character
    is below '!' or encodes in UTF-8 from byte 0xC2 up, and text compares by bytes.
    """
    return (f"{c} IS NULL OR CASE WHEN {c} >= chr(33) AND {c} < chr(127) THEN false "
            f"ELSE regexp_full_match({c}, '{BLANK_TEXT}') END")


def number_text(value: float) -> str:
    """A bound as a person reads it: 315,360,000 rather than 3.1536e+08."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,g}"


# The rule texts, written once: the checks here and the Spark build's (scale/checks.py).
REQUIRED_TEXT = "required value is empty"


def type_text(kind: Kind) -> str:
    return f"not a valid {_KIND_WORDS.get(kind, kind)}"


def range_text() -> str:
    lo, hi = TIMESTAMP_RANGE
    return f"timestamp outside {lo} .. {hi} (a placeholder such as epoch?)"


def minimum_text(value: float) -> str:
    return f"must be >= {number_text(value)}"


def maximum_text(value: float) -> str:
    return f"must be <= {number_text(value)}"


def duplicate_text(key: str) -> str:
    return f"{key} appears more than once in this file"


def _typed_shown(col: Column) -> str:
    """SQL showing a typed value as text; whole numbers (read as DOUBLE) as 9, not 9.0."""
    c = col.name
    if col.kind is Kind.INT:
        return (f"CASE WHEN isfinite({c}) AND {c} = trunc({c}) AND abs({c}) < 1e15 "
                f"THEN CAST({c} AS BIGINT)::VARCHAR ELSE {c}::VARCHAR END")
    return f"{c}::VARCHAR"


def _typed_condition(col: Column) -> str | None:
    """A typed value the contract does not allow, whatever path it came by (NaN, inf, 3.5)."""
    c = col.name
    match col.kind:
        case Kind.NUMBER:
            return f"NOT isfinite({c})"
        case Kind.INT:
            return f"NOT isfinite({c}) OR {c} <> trunc({c})"
    return None


def value_rules(col: Column, from_text: bool) -> list[Rule]:
    """The rules on one column's values: type, required, range, bounds.

    The same rules whether DuckDB's reader typed the value (CSV) or our SQL parsed
    it from text (Parquet, a mapped value, a constant): a value that parsed still
    has to be finite, whole where the contract says int, and inside the bounds.
    """
    c = col.name
    rules: list[Rule] = []
    typed, shown = _typed_condition(col), _typed_shown(col)
    words = type_text(col.kind)
    if from_text:
        cond = f"_raw_{c} IS NOT NULL" + (f" OR {typed}" if typed else "")
        rules.append(Rule(c, words, cond, f"coalesce(_raw_{c}, {shown})"))
    elif typed:
        rules.append(Rule(c, words, typed, shown))
    if col.required:
        missing = blank_condition(c) if col.kind is Kind.TEXT else f"{c} IS NULL"
        if from_text:
            missing = f"{c} IS NULL AND _raw_{c} IS NULL"
        rules.append(Rule(c, REQUIRED_TEXT, missing, "NULL"))
    if col.kind is Kind.TIMESTAMP:
        lo, hi = TIMESTAMP_RANGE
        rules.append(Rule(c, range_text(),
                          f"NOT ({c} >= TIMESTAMP '{lo}' AND {c} < TIMESTAMP '{hi}')", f"{c}::VARCHAR"))
        if from_text:
            rules.append(Rule(
                c, f"UTC offset beyond +-{MAX_UTC_OFFSET_HOURS}:00 (real time zones run from -12:00 to +14:00)",
                f"_offset_{c} IS NOT NULL AND abs(_offset_{c}) > {MAX_UTC_OFFSET_HOURS * 3600}",
                f"printf('UTC%s%02d:%02d', CASE WHEN _offset_{c} < 0 THEN '-' ELSE '+' END, "
                f"abs(_offset_{c}) // 3600, abs(_offset_{c}) % 3600 // 60)"))
    # NaN and infinity are refused as "not a valid number" above, not twice.
    if col.minimum is not None:
        rules.append(Rule(c, minimum_text(col.minimum),
                          f"isfinite({c}) AND {c} < {col.minimum!r}", shown))
    if col.maximum is not None:
        rules.append(Rule(c, maximum_text(col.maximum),
                          f"isfinite({c}) AND {c} > {col.maximum!r}", shown))
    return rules


def _rules(spec: FileSpec, from_text: set[str]) -> list[Rule]:
    """Every rule of the file: each column's value rules, the file's own, then the key."""
    rules = [r for col in spec.columns for r in value_rules(col, col.name in from_text)]
    rules += list(spec.rules)
    key = spec.key
    rules.append(Rule(
        key, duplicate_text(key),
        f"{key} IN (SELECT {key} FROM {spec.stage_table} GROUP BY {key} HAVING count(*) > 1)", key,
    ))
    return rules


def validate_staged(cur: duckdb.DuckDBPyConnection, item: InputFile, from_text: set[str]) -> None:
    """Count every rule (`_rule_counts`); on any hit, fetch the first rows of each and refuse.

    The repeated-key rule is a distinct count in the same scan (about a fiftieth of a
    bare load at 1M rows); its rows are fetched only when it fails. (It used to be left
    to a count after the insert, which only held while the insert's gap join had a row
    for every task; the join now keeps only the tasks with a gap, which saves more.)
    """
    spec = item.spec
    rules = _rules(spec, from_text)
    counts = _rule_counts(cur, spec, rules)
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


def _rule_counts(cur: duckdb.DuckDBPyConnection, spec: FileSpec, rules: list[Rule]) -> list[int]:
    """How many staged rows each rule refuses (the key rule last).

    A file that passes (the common case) is told by one filter of every condition OR-ed
    together (a row counts in some rule exactly when one condition is true): one filter
    in the scan instead of a filtered aggregate per rule (41 for a task file), 0.08
    against 0.36 CPU-s at 1M rows. Only a file with a problem pays for the counts.
    """
    stage, key = spec.stage_table, spec.key
    value_rules = rules[:-1]
    refused = " OR ".join(f"({r.condition})" for r in value_rules)
    row = cur.execute(
        f"SELECT (SELECT count(*) FROM {stage} WHERE {refused}), "
        f"count(DISTINCT {key}) = count({key}) FROM {stage}"
    ).fetchone()
    assert row is not None
    counts = [0] * len(value_rules)
    if row[0]:
        counts_sql = ", ".join(f"count(*) FILTER (WHERE {r.condition})" for r in value_rules)
        counts = [int(n) for n in cur.execute(f"SELECT {counts_sql} FROM {stage}").fetchone()]  # type: ignore[union-attr]
    repeated = 0 if row[1] else int(cur.execute(
        f"SELECT count(*) FROM {stage} WHERE {rules[-1].condition}").fetchone()[0])  # type: ignore[index]
    return [*counts, repeated]


def stage_validated(cur: duckdb.DuckDBPyConnection, item: InputFile, m: Mapping) -> int:
    """Read, parse and validate one file into its staging table; return its row count.

    The one entry for every kind of file (tasks, accounts, disputes, audits): any
    problem raises ValidationError naming file, row and column (roll the transaction
    back); a file DuckDB cannot read at all raises read.Unreadable (explain it with
    diagnose.diagnose after the rollback). The staged rows are in
    `item.spec.stage_table`, typed as the contract says.
    """
    src, from_text = stage_file(cur, item, m)
    if not item.is_parquet:
        raise_rejects(cur, item, src)
    n_rows = int(cur.execute(f"SELECT count(*) FROM {item.spec.stage_table}").fetchone()[0])  # type: ignore[index]
    if n_rows == 0:
        item.notes.append(f"{item.name}: the file has a header but no data rows; nothing to load.")
        return 0
    validate_staged(cur, item, from_text)
    return n_rows


def refused_problems(exc: ValidationError) -> list[dict[str, Any]]:
    """A refusal as table rows (file, row, column, rule, value) for screens and JSON."""
    return [
        {"file": p.file, "row": p.row, "column": p.column, "rule": p.rule, "value": p.value}
        for p in exc.problems
    ]
