"""`forecast`: Monte Carlo revenue and margin bands of every plan over the coming months."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
import pandas as pd

from outcome_pricing.analysis.forecast import (
    CONTROL_NAMES,
    DEFAULT_MONTHS,
    DEFAULT_SCENARIOS,
    DEFAULT_SEED,
    ForecastResult,
    forecast,
)
from outcome_pricing.cli._common import (
    DEF_HELP,
    PLANS_OPTION,
    Context,
    load_plans,
    parse_assignments,
    pass_context,
)
from outcome_pricing.rules import load_definition


def _table(result: ForecastResult) -> str:
    """The human summary: horizon range per plan, who beats whom, then the monthly bands."""
    months = f"{result.months[0]:%Y-%m} to {result.months[-1]:%Y-%m}"
    vol = result.volatility.copy()
    vol.columns = ["plan", "mean", "P10", "P50", "P90", "CV horizon", "CV monthly", "downside", "margin P50"]
    bands = result.revenue.copy()
    bands["month"] = pd.to_datetime(bands["month"]).dt.strftime("%Y-%m")
    bands = bands.pivot(index="month", columns="plan", values="p50")[list(result.plans)]
    parts = [
        f"Forecast {months}: {result.scenarios} scenarios, seed {result.seed} (revenue in dollars)",
        "",
        "Horizon revenue per plan",
        vol.round(3).to_string(index=False),
        "",
        "Probability that the row plan earns more than the column plan over the horizon (blank: itself)",
        result.beats_text().to_string(),
        "",
        "Median (P50) monthly revenue",
        bands.round(0).to_string(),
        "",
    ]
    if len(result.commitments):
        parts += ["Prepaid commitments over the horizon: breakage and overage (dollars)",
                  result.commitments.round(2).to_string(index=False), ""]
    if len(result.guarantee_totals):
        parts += ["Guarantee credits over the horizon (revenue above is net of them)",
                  result.guarantee_totals.round(4).to_string(index=False), ""]
    parts += [
        "Assumptions (override with --assume NAME=VALUE)",
        *(f"  {k} = {v:.6g}" for k, v in result.assumptions.values().items()),
    ]
    return "\n".join(parts)


@click.command("forecast")
@PLANS_OPTION
@click.option("--definition", required=True, metavar="DEF", help=DEF_HELP)
@click.option("--months", type=click.IntRange(1, 120), default=DEFAULT_MONTHS, show_default=True,
              help="Months ahead.")
@click.option(
    "--scenarios", type=click.IntRange(1, 100_000), default=DEFAULT_SCENARIOS, show_default=True,
    help="Monte Carlo scenarios (the Forecast page's default too).",
)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Same seed, same numbers.")
@click.option(
    "--reference", default=None, metavar="NAME", help="Plan today's bills are compared with (default: the first)."
)
@click.option(
    "--assume", "assume", multiple=True, metavar="NAME=VALUE",
    help="Override an estimated assumption, e.g. --assume churn_hazard=0.01 (repeatable).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_context
def forecast_command(
    ctx: Context, plans_file: Path | None, definition: str, months: int, scenarios: int, seed: int,
    reference: str | None, assume: tuple[str, ...], fmt: str,
) -> None:
    """Revenue and margin bands (P10/P50/P90) of every plan, month by month, from a
    Monte Carlo on the warehouse's history: volume trend and noise, the AI's
    learning curve, seat right-sizing, token drift, churn and price response.

    JSON: {"plans": {NAME: [{"month": "YYYY-MM", "p10", "p50", "p90", "mean"}, ...]},
    "margin": {same}, "prob_beats": {ROW: {COLUMN: probability}}, "volatility": {NAME: {...}},
    "assumptions": {"values": {...}, "sources": {...}}, "months", "scenarios", "seed"}.
    """
    planset = load_plans(plans_file)
    if reference is not None:
        planset.plan(reference)
    overrides = parse_assignments(assume, CONTROL_NAMES)
    d = load_definition(definition)
    with ctx.open(read_only=True) as wh:
        result = forecast(
            wh, planset, d, months=months, scenarios=scenarios, seed=seed, reference=reference,
            overrides=overrides, workers=min(2, os.cpu_count() or 1),
        )
    if fmt == "json":
        payload = {"definition": {"name": d.name, "version": d.version}, **result.to_dict()}
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(f"Definition {d.name}, version {d.version}")
        click.echo(_table(result))


def register(group: click.Group) -> None:
    group.add_command(forecast_command)
