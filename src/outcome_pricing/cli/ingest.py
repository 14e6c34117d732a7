"""`outcome-pricing ingest`: load task logs (and accounts) into the warehouse, all or nothing."""

from __future__ import annotations

from pathlib import Path

import click

from outcome_pricing.cli._common import Context, pass_context

FILE = click.Path(exists=False, dir_okay=False, path_type=Path)


@click.command("ingest")
@click.option(
    "--tasks",
    "tasks",
    type=FILE,
    required=True,
    help="Task-log file, CSV (UTF-8, header row) or Parquet, with the columns of the data "
    "contract (task_id, account_id, requester_id, topic, created_at, closed_at, ai_enabled, "
    "ai_answered, handoff, ...). A task_id already stored is replaced and reported as updated.",
)
@click.option(
    "--accounts",
    "accounts",
    type=FILE,
    default=None,
    help="Optional accounts file (CSV or Parquet; account_id required; name, segment, seats, "
    "seat_price, agent_hourly_cost, ai_go_live, owner). Loaded in the same transaction.",
)
@click.option(
    "--mapping",
    "mapping",
    type=FILE,
    default=None,
    help="Optional mapping TOML for exports from other tools: our column = their column, value "
    "maps (e.g. \"Yes\" = true), unit scales, a timestamp format. See data/helpdesk_mapping.toml.",
)
@pass_context
def ingest(ctx: Context, tasks: Path, accounts: Path | None, mapping: Path | None) -> None:
    """Validate and load a task-log file (and optionally accounts) into the warehouse.

    Every row is checked against the data contract first; a file with any
    problem is refused whole, with the file, row, column and rule of the first
    20 problems, and the warehouse is left untouched (exit code 2). Ingesting
    the same file twice changes nothing.
    """
    from outcome_pricing.ingest import ingest_files

    with ctx.open(read_only=False) as wh:
        result = ingest_files(wh, tasks=tasks, accounts=accounts, mapping=mapping)
        click.echo(result.summary())
        summary = wh.summary()
    click.echo(
        f"Warehouse {ctx.db_path}: {summary['tasks']:,} tasks, {summary['accounts']:,} accounts, "
        f"{summary['months']} month(s) ({summary['first_month']} to {summary['last_month']})."
    )


def register(group: click.Group) -> None:
    group.add_command(ingest)
