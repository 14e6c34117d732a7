"""`backtest` and `statement`: every plan on the history, and one account-month's bill."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing import backtest, statement
from outcome_pricing.rules import load_definition

BACKTEST_COLUMNS = [
    "account_id", "month", "plan", "revenue", "cogs", "margin", "margin_pct",
    "usage", "cap_credit", "platform_fee", "minimum_true_up", "commitment", "drawdown", "breakage",
    "guarantee_credit", "implementation",  # DESIGN 11: a guarantee's credit line; a funded deployment (COGS)
    "seats", "seats_needed", "conversations", "outcomes", "input_tokens_m", "output_tokens_m", "tasks",
]


@click.command("backtest")
@PLANS_OPTION
@click.option("--definition", required=True, metavar="DEF", help=DEF_HELP)
@click.option("--reference", default=None, metavar="NAME", help="Plan to compare against (default: the first plan).")
@click.option("--format", "fmt", type=FORMAT_TABLE_CSV_JSON, default="table", show_default=True)
@pass_context
def backtest_command(ctx: Context, plans_file: Path | None, definition: str, reference: str | None, fmt: str) -> None:
    """Revenue, cost to serve and margin of every plan, per account and month.

    JSON: an array of objects with account_id, month ("YYYY-MM"), plan,
    revenue, cogs, margin (dollars) and the metrics each plan priced.
    """
    planset = load_plans(plans_file)
    d = load_definition(definition)
    with ctx.open(read_only=True) as wh:
        result = backtest(wh, planset, d, reference=reference)
    frame = result.frame[BACKTEST_COLUMNS].copy()
    frame["plan"] = frame["plan"].astype(str)
    if fmt == "table":  # the summary is part of the table output (stderr is for progress and errors)
        click.echo(f"Definition {d.name}, version {d.version}; reference plan {result.reference}")
        totals = result.totals()
        click.echo(totals.round(2).to_string(index=False) + "\n")
    echo_frame(frame, fmt)


@click.command("statement")
@click.option("--account", required=True, metavar="ID", help="Account id (accounts.account_id).")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month the tasks closed in.")
@PLANS_OPTION
@click.option("--plan", "plan_name", required=True, metavar="NAME", help="A plan name from the plan set.")
@click.option("--definition", required=True, metavar="DEF", help=DEF_HELP)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the statement to FILE: .csv (one file) or .xlsx (Summary, Lines, Tasks).",
)
@click.option(
    "--as-issued", "as_issued", is_flag=True, default=False,
    help="The statement as issued at the month's close: the month as known then, plus one "
    "adjustment line per earlier month corrected since (late outcomes, clawbacks, disputes).",
)
@pass_context
def statement_command(
    ctx: Context, account: str, month: str, plans_file: Path | None, plan_name: str, definition: str, out: Path | None,
    as_issued: bool = False,
) -> None:
    """One account-month's statement: header, charge lines, total and every task with its
    reason code and billable units. The total equals the backtest's to the cent."""
    if out is not None and out.suffix.lower() not in (".csv", ".xlsx"):
        raise ConfigError(f"--out {out}: the file name must end in .csv or .xlsx.")
    planset = load_plans(plans_file)
    planset.plan(plan_name)  # fail fast on an unknown plan, before any query
    d = load_definition(definition)
    with ctx.open(read_only=True) as wh:
        if as_issued:
            from outcome_pricing.pricing.issued import issued_statement

            result: Any = issued_statement(wh, planset, plan_name, d, account, month)
        else:
            result = statement(wh, planset, plan_name, d, account, month)
    click.echo(result.to_text(), nl=False)
    if out is not None:
        data = result.to_xlsx() if out.suffix.lower() == ".xlsx" else result.to_csv()
        out.write_bytes(data)
        click.echo(f"Statement written to {out}.", err=True)


def register(group: click.Group) -> None:
    group.add_command(backtest_command)
    group.add_command(statement_command)
