"""The relations the build reads, as unbound Ibis tables with the contract's types.

An unbound table is only a name and a schema: the same expression compiles to
DuckDB SQL (run through the warehouse's cursor on a table of that name) and to
Spark SQL (run on a temp view of that name), so the build is written once.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from outcome_pricing.warehouse.schema import DERIVED_COLUMNS, TASK_COLUMNS, Column, Kind

IBIS_TYPE: dict[Kind, str] = {
    Kind.TEXT: "string",
    Kind.TIMESTAMP: "timestamp",
    Kind.BOOL: "boolean",
    Kind.INT: "int64",
    Kind.NUMBER: "float64",
    Kind.DATE: "date",
}

# The columns the reopen gap reads: the window sorts only these (see derive.py in warehouse).
GAP_KEYS = ("account_id", "requester_id", "topic")
GAP_COLUMNS = ("task_id", *GAP_KEYS, "created_at", "closed_at")


def schema(columns: tuple[Column, ...]) -> dict[str, str]:
    return {c.name: IBIS_TYPE[c.kind] for c in columns}


TASK_SCHEMA = schema(TASK_COLUMNS)
DERIVED_TASK_SCHEMA = schema(TASK_COLUMNS + DERIVED_COLUMNS)


def relation(name: str, columns: dict[str, str]) -> ir.Table:
    """An unbound table: `name` must be one of our fixed relation names, never user text."""
    return ibis.table(columns, name=name)


def narrow(name: str, *, flagged: bool = False) -> ir.Table:
    """The gap's input columns (plus `_new`, which rows are being written, when flagged)."""
    cols = {c: TASK_SCHEMA[c] for c in GAP_COLUMNS}
    if flagged:
        cols["_new"] = "boolean"
    return relation(name, cols)


def stored_tasks(name: str = "tasks") -> ir.Table:
    """Tasks with their derived columns (the warehouse table, or the Parquet tasks)."""
    return relation(name, DERIVED_TASK_SCHEMA)


def staged_tasks(name: str) -> ir.Table:
    """Validated tasks with the contract columns only, before the derived ones."""
    return relation(name, TASK_SCHEMA)
