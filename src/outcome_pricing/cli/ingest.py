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
    type=click.Path(exists=False, path_type=Path),  # a directory or a glob with --engine spark
    default=None,
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
@click.option(
    "--audits",
    "audits",
    type=FILE,
    default=None,
    help="Optional audits file (CSV or Parquet: task_id, audited_at, genuine, auditor, note): "
    "people's judgments of billed tasks, loaded after the tasks, all or nothing. A later "
    "ingest adds rows; for one task the latest audited_at wins.",
)
@click.option(
    "--disputes",
    "disputes",
    type=FILE,
    default=None,
    help="Optional disputes file (CSV or Parquet: dispute_id, task_id, filed_at, status "
    "open|accepted|rejected, decided_at, reason, reviewer): customers contesting billed outcomes, "
    "loaded after the tasks, all or nothing. A dispute_id already stored is replaced.",
)
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark"]),
    default="duckdb",
    show_default=True,
    help="Where the definition-independent build runs. spark: on Apache Spark (local[*], or a "
    "cluster with --spark-remote), over --tasks files, a directory or a glob; the derived tasks "
    "and the cube are written as Parquet by month (--parquet) and loaded into the warehouse. "
    "Needs the `scale` extra and Java 17.",
)
@click.option(
    "--spark-remote",
    "spark_remote",
    default=None,
    metavar="URL",
    help="Spark Connect URL of a cluster (sc://HOST:15002); default $SPARK_REMOTE, else local[*].",
)
@click.option(
    "--parquet",
    "parquet",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --engine spark: the Parquet dataset directory (default: next to the warehouse, "
    "DB.parquet). Later ingests rewrite only the months they change.",
)
@click.option(
    "--cluster",
    "cluster_mode",
    is_flag=True,
    default=False,
    help="With --engine spark: cluster mode. The warehouse keeps the definition cube and the "
    "account facts only, not the tasks; definition changes, the backtest and the forecast read "
    "those, and task-level evidence (statements, explain, the evidence pack) reads one "
    "account-month of the Parquet tasks at a time. Pages that need every task say so.",
)
@pass_context
def ingest(
    ctx: Context, tasks: Path | None, accounts: Path | None, mapping: Path | None, audits: Path | None = None,
    disputes: Path | None = None, engine: str = "duckdb", spark_remote: str | None = None,
    parquet: Path | None = None, cluster_mode: bool = False,
) -> None:
    """Validate and load a task-log file (and optionally accounts) into the warehouse.

    Every row is checked against the data contract first; a file with any
    problem is refused whole, with the file, row, column and rule of the first
    20 problems, and the warehouse is left untouched (exit code 2). Ingesting
    the same file twice changes nothing.
    """
    from outcome_pricing.ingest import ingest_files

    if tasks is None and accounts is None and audits is None and disputes is None:
        raise click.UsageError("Give --tasks FILE (and optionally --accounts, --audits), or --audits FILE.")
    if cluster_mode and engine != "spark":
        raise click.UsageError("--cluster needs --engine spark (the cluster build writes the Parquet tasks).")
    with ctx.open(read_only=False) as wh:
        if engine == "spark" and tasks is not None:
            from outcome_pricing.scale.ingest import ingest_on_spark

            if mapping is not None:
                raise click.UsageError("--mapping works with --engine duckdb only: map the files first.")
            click.echo(ingest_on_spark(wh, tasks, accounts, remote=spark_remote, dataset=parquet,
                                       cluster_mode=cluster_mode).summary())
        elif tasks is not None or accounts is not None:
            result = ingest_files(wh, tasks=tasks, accounts=accounts, mapping=mapping)
            click.echo(result.summary())
        if audits is not None:
            from outcome_pricing.ingest.audits import ingest_audits

            click.echo(ingest_audits(wh, audits).summary())
        if disputes is not None:
            from outcome_pricing.ingest.disputes import ingest_disputes

            click.echo(ingest_disputes(wh, disputes).summary())
        summary = wh.summary()
    click.echo(
        f"Warehouse {ctx.db_path}: {summary['tasks']:,} tasks, {summary['accounts']:,} accounts, "
        f"{summary['months']} month(s) ({summary['first_month']} to {summary['last_month']})."
    )


def register(group: click.Group) -> None:
    group.add_command(ingest)
