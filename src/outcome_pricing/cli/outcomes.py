"""`outcomes` and `explain`: billable outcomes under a definition, and why one task got its code."""

from __future__ import annotations

import json
from typing import Any

import click
import pandas as pd

from outcome_pricing.cli._common import (
    DEF_HELP,
    FORMAT_TABLE_CSV_JSON,
    Context,
    echo_frame,
    frame_records,
    pass_context,
)
from outcome_pricing.errors import UnknownTaskError
from outcome_pricing.rules import (
    EVIDENCE_FIELDS,
    Definition,
    evaluate_tasks,
    explain_reason,
    load_definition,
    outcomes,
)
from outcome_pricing.warehouse import cluster

# --by choices -> grouping columns (a fixed whitelist).
GROUPINGS: dict[str, tuple[str, ...]] = {
    "account,month": ("account_id", "month"),
    "account": ("account_id",),
    "month": ("month",),
    "total": (),
}


@click.command("outcomes")
@click.option("--definition", "definition", required=True, metavar="DEF", help=DEF_HELP)
@click.option(
    "--by",
    type=click.Choice(list(GROUPINGS)),
    default="account,month",
    show_default=True,
    help="Grouping; 'total' gives the portfolio total.",
)
@click.option("--format", "fmt", type=FORMAT_TABLE_CSV_JSON, default="table", show_default=True)
@pass_context
def outcomes_command(ctx: Context, definition: str, by: str, fmt: str) -> None:
    """Billable outcomes and the task count per reason code, by account and/or month."""
    d = load_definition(definition)
    with ctx.open(read_only=True) as wh:
        df = outcomes(wh, d, by=GROUPINGS[by])
    if fmt == "table":  # the heading belongs to the table (stderr is for progress and errors)
        click.echo(f"Definition {d.name}, version {d.version}")
    echo_frame(df, fmt)


@click.command("explain")
@click.argument("task_id")
@click.option("--definition", "definition", required=True, metavar="DEF", help=DEF_HELP)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_context
def explain_command(ctx: Context, task_id: str, definition: str, fmt: str) -> None:
    """Why one task is (or is not) billable: its reason code, units and the fields the rules read."""
    d = load_definition(definition)
    with ctx.open(read_only=True) as wh, cluster.evidence_for_task(wh, task_id) as ev:  # cluster mode: Parquet
        rows = evaluate_tasks(ev, d, task_ids=[task_id])
    if rows.empty:
        # Exit 2 like every refusal; the same words whether the task is absent or not visible.
        raise UnknownTaskError(
            f"No task with task_id '{task_id}' in {ctx.db_path}. Check the id "
            f"(ids are case-sensitive) or the --db warehouse."
        )
    record = explanation(rows, d)
    if fmt == "json":
        click.echo(json.dumps(record, indent=2, default=str))
    else:
        shown = pd.DataFrame({"field": list(record), "value": [_cell(v) for v in record.values()]})
        click.echo(shown.to_string(index=False))


def explanation(rows: pd.DataFrame, d: Definition) -> dict[str, Any]:
    """One task's evidence as a flat JSON-ready record (definition name and version included)."""
    row = frame_records(rows)[0]
    head = {k: row[k] for k in ("task_id", "account_id", "month", "reason", "billable_units")}
    return {
        **head,
        "why": explain_reason(row["reason"], d),
        **{f: row[f] for f in EVIDENCE_FIELDS},
        "definition": d.name,
        "definition_version": d.version,
    }


def _cell(value: Any) -> str:
    return "(empty)" if value is None else str(value)


def register(group: click.Group) -> None:
    group.add_command(outcomes_command)
    group.add_command(explain_command)
