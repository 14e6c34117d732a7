"""Reading and checking task files on Spark: text -> contract types, and the rule counts.

Spark reads every column as text (CSV as it is, Parquet cast to text), so one set of
Ibis expressions parses the values (booleans true/false, 1/0, yes/no; whole numbers
written 3 or 3.0; finite numbers; timestamps with an offset converted to UTC) and
counts every rule of DESIGN section 3 in one aggregate. Only when a count is not zero
are the first task ids of that rule fetched. Spark has no row numbers for a
distributed file, so a problem names the file, the task_id and the column.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from outcome_pricing.ingest.read import TASKS, TIMESTAMP_RANGE
from outcome_pricing.ingest.validate import (
    REQUIRED_TEXT,
    maximum_text,
    minimum_text,
    range_text,
    type_text,
)
from outcome_pricing.scale.tables import IBIS_TYPE
from outcome_pricing.warehouse.schema import TASK_COLUMNS, Column, Kind

TRUE_WORDS = ("true", "1", "yes", "t", "y")
FALSE_WORDS = ("false", "0", "no", "f", "n")
# The texts of the file's own rules (closed before created, ...), as the DuckDB path words them.
FILE_RULE_TEXT = {r.column: r.text for r in TASKS.rules}
# Largest integer a double holds exactly: bigger "whole numbers" are typos or overflows.
MAX_EXACT_INT = 2.0**53


def raw(name: str) -> ir.Table:
    """Task columns as text (the file as read), under the contract's names."""
    return ibis.table({c.name: "string" for c in TASK_COLUMNS}, name=name)


def _parse(col: Column, text: ir.StringValue) -> ir.Value:
    match col.kind:
        case Kind.BOOL:
            word = text.strip().lower()
            return ibis.cases((word.isin(TRUE_WORDS), True), (word.isin(FALSE_WORDS), False),
                              else_=ibis.null("boolean"))
        case Kind.INT:
            x = text.strip().try_cast("float64")
            whole = x.notnull() & (x == x.floor()) & (x.abs() < MAX_EXACT_INT)
            return ibis.cases((whole, x.cast("int64")), else_=ibis.null("int64"))
        case Kind.NUMBER:
            x = text.strip().try_cast("float64")
            finite = x.notnull() & ~x.isnan() & ~x.isinf()
            return ibis.cases((finite, x), else_=ibis.null("float64"))
        case Kind.TIMESTAMP:
            return text.strip().try_cast("timestamp")
    return text


def parsed_relation(name: str) -> ir.Table:
    """A relation holding `parsed` output (so the rules read plain columns, not the parsing)."""
    columns = {c.name: IBIS_TYPE[c.kind] for c in TASK_COLUMNS}
    columns |= {f"_raw_{c.name}": "string" for c in TASK_COLUMNS if c.kind is not Kind.TEXT}
    return ibis.table(columns, name=name)


def parsed(name: str) -> ir.Table:
    """Typed contract columns (defaults filled in) plus `_raw_<col>` for every non-text column."""
    t = raw(name)
    out: dict[str, ir.Value] = {}
    for col in TASK_COLUMNS:
        value = _parse(col, t[col.name])
        if col.default is not None:  # for an empty value only: a bad one stays NULL, to be flagged
            given = t[col.name]
            value = ibis.cases((given.isnull() | (given.strip() == ""), col.default), else_=value)
        out[col.name] = value
    for col in TASK_COLUMNS:
        if col.kind is not Kind.TEXT:
            out[f"_raw_{col.name}"] = t[col.name]
    return t.select(**out)


@dataclass(frozen=True)
class Rule:
    column: str
    text: str
    condition: ir.BooleanValue
    shown: ir.Value


def rules(t: ir.Table) -> list[Rule]:
    """Every rule of DESIGN section 3 over the parsed relation (except duplicates: see counts)."""
    found: list[Rule] = []
    lo, hi = (ibis.timestamp(v) for v in TIMESTAMP_RANGE)
    for col in TASK_COLUMNS:
        c = t[col.name]
        if col.kind is not Kind.TEXT:
            given = t[f"_raw_{col.name}"]
            bad = given.notnull() & (given.strip() != "") & c.isnull()
            found.append(Rule(col.name, type_text(col.kind), bad, given))
        if col.required:
            missing = (c.isnull() | (c.strip() == "")) if col.kind is Kind.TEXT else (
                c.isnull() & (t[f"_raw_{col.name}"].isnull() | (t[f"_raw_{col.name}"].strip() == "")))
            found.append(Rule(col.name, REQUIRED_TEXT, missing, ibis.null("string")))
        if col.kind is Kind.TIMESTAMP:
            found.append(Rule(col.name, range_text(),
                              c.notnull() & ~((c >= lo) & (c < hi)), c.cast("string")))
        if col.minimum is not None:
            found.append(Rule(col.name, minimum_text(col.minimum), c < col.minimum, c.cast("string")))
        if col.maximum is not None:
            found.append(Rule(col.name, maximum_text(col.maximum), c > col.maximum, c.cast("string")))
    found.append(Rule("closed_at", FILE_RULE_TEXT["closed_at"], t.closed_at < t.created_at,
                      t.closed_at.cast("string")))
    found.append(Rule("n_issues_resolved", FILE_RULE_TEXT["n_issues_resolved"],
                      t.n_issues_resolved > t.n_issues, t.n_issues_resolved.cast("string")))
    return found


def counts(name: str) -> ir.Table:
    """One row: the count of every rule (r0, r1, ...), `duplicates` (task ids sent twice) and `rows`,
    over `name`, a relation of `parsed` rows."""
    t = parsed_relation(name)
    aggs = {f"r{i}": r.condition.fill_null(False).sum().cast("int64") for i, r in enumerate(rules(t))}
    return t.aggregate(**aggs, duplicates=(t.count() - t.task_id.nunique()).cast("int64"),
                       rows=t.count().cast("int64"))


def examples(name: str, index: int, limit: int) -> ir.Table:
    """The first task ids (in id order) breaking rule `index`: task_id, value."""
    t = parsed_relation(name)
    rule = rules(t)[index]
    hits = t.filter(rule.condition.fill_null(False))
    return hits.select(task_id=t.task_id, value=rule.shown.cast("string")).order_by("task_id").limit(limit)


def duplicate_ids(name: str, limit: int) -> ir.Table:
    """Task ids that appear more than once: task_id, n."""
    t = parsed_relation(name)
    grouped = t.group_by("task_id").aggregate(n=t.count())
    return grouped.filter(grouped.n > 1).order_by("task_id").limit(limit)
