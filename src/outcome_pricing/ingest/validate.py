"""The rules a staged file must pass, and the messages that name row, column and fix.

Rules are conditions over the typed staging table (DESIGN section 3), counted
in one scan; only when something is wrong are the first rows of each failing
rule fetched. Lines DuckDB's reader rejected (bad UTF-8, a wrong field count,
a value of the wrong type) are reported first, by their line in the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb

from outcome_pricing.errors import Problem, ValidationError
from outcome_pricing.ingest.read import TASKS, FileSpec, InputFile, Sources
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
# Only whitespace, as Python's str.isspace means it: SQL's trim() keeps tabs, line breaks
# and the \x1c-\x1f separators, so a tab-only task_id would pass as a value.
BLANK_TEXT = r"[\t\n\x0b\x0c\r\x1c-\x1f\x{85}\x{2028}\x{2029}\p{Zs}]*"


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
            missing = f"{c} IS NULL OR regexp_full_match({c}, '{BLANK_TEXT}')" if col.kind is Kind.TEXT else f"{c} IS NULL"
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


def validate_staged(cur: duckdb.DuckDBPyConnection, item: InputFile, from_text: set[str]) -> None:
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


def refused_problems(exc: ValidationError) -> list[dict[str, Any]]:
    """A refusal as table rows (file, row, column, rule, value) for screens and JSON."""
    return [
        {"file": p.file, "row": p.row, "column": p.column, "rule": p.rule, "value": p.value}
        for p in exc.problems
    ]
