"""`outcome-pricing demo`: fill the warehouse with realistic synthetic task logs."""

from __future__ import annotations

import sys
import time

import click

from outcome_pricing import demo
from outcome_pricing.cli._common import Context, pass_context


@click.command("demo")
@click.option("--tasks", type=click.IntRange(min=1), default=300_000, show_default=True,
              help="Number of tasks (conversations) to generate.")
@click.option("--accounts", type=click.IntRange(min=1), default=None,
              help="Number of customer accounts; a few large ones carry most of the volume. "
                   f"Default: one per {demo.TASKS_PER_ACCOUNT:,} tasks (8 to 150), so each account's "
                   "workload, and its seats (one per 120 h of human handling a month), is a real customer's.")
@click.option("--months", type=click.IntRange(min=1, max=120), default=18, show_default=True,
              help=f"Months of history, ending {demo.DEFAULT_END_MONTH:%Y-%m}; "
                   "each account has human-only months before its AI goes live.")
@click.option("--seed", type=int, default=7, show_default=True,
              help="Random seed: the same seed and sizes give exactly the same data.")
@pass_context
def demo_command(ctx: Context, tasks: int, accounts: int | None, months: int, seed: int) -> None:
    """Generate synthetic task logs and write them into the warehouse.

    REPLACES all tasks and accounts in the warehouse (the ingest history is
    kept): a warehouse holds one data set, and demo rows mixed with real logs
    would mislead. The write is one transaction: on any error nothing changes.
    About 1M tasks take well under a minute.
    """
    started = time.perf_counter()
    with ctx.open(read_only=False) as wh, click.progressbar(
        length=1000, label="Building demo data", file=sys.stderr
    ) as bar:
        def progress(fraction: float, message: str) -> None:
            bar.label = message
            bar.update(int(fraction * 1000) - bar.pos)

        demo.build_demo(wh, tasks=tasks, accounts=accounts, months=months, seed=seed, progress=progress)
        summary = wh.summary()
    seconds = time.perf_counter() - started
    click.echo(
        f"Demo data written to {ctx.db_path}: {summary['tasks']:,} tasks, {summary['accounts']:,} accounts, "
        f"{summary['months']} months ({summary['first_month']} to {summary['last_month']}), "
        f"{summary['ai_share']:.0%} of tasks with the AI live; {seconds:.1f} s."
    )


def register(group: click.Group) -> None:
    group.add_command(demo_command)
