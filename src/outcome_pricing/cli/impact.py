"""`outcome-pricing impact`: baseline against AI, with intervals and p-values."""

from __future__ import annotations

import json

import click

from outcome_pricing.cli._common import Context, pass_context
from outcome_pricing.proof.impact import DEFAULT_REOPEN_WINDOW_HOURS, DEFAULT_SEED, impact_summary


def register(group: click.Group) -> None:
    group.add_command(impact_command)


@click.command("impact")
@click.option("--account", default=None, metavar="ID", help="One account's tasks only (default: all accounts).")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
    help="table for people; json for machines (one object per metric).",
)
@click.option(
    "--reopen-window", type=click.FloatRange(min=0), default=DEFAULT_REOPEN_WINDOW_HOURS,
    show_default=True, metavar="HOURS", help="A next task within this many hours of closing is a reopen.",
)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Seed of the bootstrap.")
@pass_context
def impact_command(ctx: Context, account: str | None, fmt: str, reopen_window: float, seed: int) -> None:
    """What the AI changed: human minutes, resolution time, missed issues, reopens,
    handoffs and CSAT, baseline (ai_enabled false) against AI (ai_enabled true).

    Each metric: both means or rates, the difference AI - baseline with a 95%
    confidence interval (bootstrap for means, Newcombe for rates), a p-value
    (Mann-Whitney for means, chi-square or Fisher for rates) and n per arm;
    plus human minutes at the same topic mix, and warnings where a sample is
    too small to say anything.
    """
    with ctx.open(read_only=True) as wh:
        summary = impact_summary(wh, account, reopen_window_hours=reopen_window, seed=seed)
    if fmt == "json":
        click.echo(json.dumps(summary.to_dict(), indent=2))
        return
    scope = f"account {account}" if account else "all accounts"
    click.echo(f"AI impact, {scope}: {summary.tasks:,} tasks\n")
    click.echo(summary.display_table().drop(columns=["Warning"]).to_string(index=False))
    click.echo("\n" + click.wrap_text(summary.to_dict()["summary"], width=100))
    for warning in summary.warnings:
        click.echo(click.wrap_text(f"Warning: {warning}", width=100, subsequent_indent="  "))
