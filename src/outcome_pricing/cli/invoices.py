"""`invoices` and `reconcile`: billing as it happened (DESIGN section 8)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from outcome_pricing.cli._common import (
    DEF_HELP,
    FORMAT_TABLE_CSV_JSON,
    PLANS_OPTION,
    Context,
    echo_frame,
    load_plans,
    pass_context,
)
from outcome_pricing.rules import load_definition


@click.command("invoices")
@PLANS_OPTION
@click.option("--definition", required=True, metavar="DEF", help=DEF_HELP)
@click.option("--plan", "plan_name", default=None, metavar="NAME", help="One plan (default: every plan that can be rated).")
@click.option("--account", default=None, metavar="ID", help="One account (default: every account).")
@click.option("--format", "fmt", type=FORMAT_TABLE_CSV_JSON, default="table", show_default=True)
@pass_context
def invoices_command(
    ctx: Context, plans_file: Path | None, definition: str, plan_name: str | None, account: str | None, fmt: str
) -> None:
    """Every statement as issued at its month's close, per account, month and plan: issued
    (what the close knew), adjustments (corrections of earlier months on this statement),
    billed, final (hindsight) and open (what the last close does not know yet).

    JSON: account_id, month, plan, issued, adjustments, billed, final, open (dollars).
    A plan with a commitment or a guarantee spans months and is refused when named.
    """
    from outcome_pricing.pricing.invoices import invoice_records, invoices

    planset = load_plans(plans_file)
    d = load_definition(definition)
    if plan_name is not None:
        planset.plan(plan_name)  # fail fast on an unknown plan
    with ctx.open(read_only=True) as wh:
        result = invoices(wh, planset, d, plan=plan_name, account=account)
    for why in result.skipped:
        click.echo(f"Not rated: {why} (invoices as issued are not defined for it yet).", err=True)
    if fmt == "json":
        click.echo(json.dumps(invoice_records(result), indent=2))
        return
    if fmt == "table":
        click.echo(f"Definition {d.name}, version {d.version}; last close {result.last_month:%Y-%m}")
        summary = result.summary()[["plan", "issued", "late", "clawback", "open", "final", "late_rate", "clawback_rate"]]
        click.echo(summary.round(4).to_string(index=False) + "\n")
    echo_frame(result.records(), fmt)


@click.command("reconcile")
@click.option("--their", "their_file", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="The customer's own count: CSV or Parquet with account_id, month (YYYY-MM), outcomes; "
              "or with task_id, resolved (a task missing from the list is not resolved for them).")
@click.option("--definition", required=True, metavar="DEF", help=DEF_HELP)
@click.option("--format", "fmt", type=FORMAT_TABLE_CSV_JSON, default="table", show_default=True)
@pass_context
def reconcile_command(ctx: Context, their_file: Path, definition: str, fmt: str) -> None:
    """Our hindsight count against the customer's, per account-month: ours, theirs,
    difference (ours - theirs); with a task list also the tasks only we count and only they
    count, by our reason code. Their file is validated (file, row, column) and never stored.

    JSON: account_id, month, ours, theirs, difference; with a task list also only_ours and
    only_theirs, each {"tasks": n, "by_reason": {reason: tasks}}.
    """
    from outcome_pricing.pricing.reconcile import reconcile

    d = load_definition(definition)
    with ctx.open(read_only=True) as wh:
        result = reconcile(wh, d, their_file)
    if fmt == "json":
        click.echo(json.dumps(result.records(), indent=2))
        return
    echo_frame(result.frame, fmt)
    if fmt == "table" and result.by_task:
        click.echo("\nTasks one side counts and the other does not, by our reason code")
        echo_frame(result.by_reason(), fmt)


def register(group: click.Group) -> None:
    group.add_command(invoices_command)
    group.add_command(reconcile_command)
