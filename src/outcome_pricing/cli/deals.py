"""`deal-risk`: what the guarantees and gain-share of the plans cost and earn on the forecast's scenarios."""

from __future__ import annotations

import json
from pathlib import Path

import click

from outcome_pricing.analysis.deal_risk import DealRisk, deal_risk_from_warehouse
from outcome_pricing.cli._common import DEF_HELP, PLANS_OPTION, Context, load_plans, pass_context
from outcome_pricing.errors import ConfigError
from outcome_pricing.rules import load_definition


def _table(result: DealRisk) -> str:
    parts = [f"Deal risk over {result.months} months: {result.scenarios} scenarios, seed {result.seed} (dollars)"]
    for p in result.plans:
        parts += ["", f"Plan {p.plan}", "  " + ", ".join(f"{k} {v:,.2f}" for k, v in p.portfolio.items())]
        if len(p.sweep):
            parts += ["  Sweep of min_resolution_rate", p.sweep.round(3).to_string(index=False)]
        parts += ["  Accounts", p.accounts.round(3).to_string(index=False)]
    return "\n".join(parts)


@click.command("deal-risk")
@PLANS_OPTION
@click.option("--definition", required=True, metavar="DEF", help=DEF_HELP)
@click.option("--months", type=click.IntRange(1, 120), default=12, show_default=True, help="Months ahead.")
@click.option("--scenarios", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="Scenarios (the forecast's, with the same seed).")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same numbers.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_context
def deal_risk_command(
    ctx: Context, plans_file: Path | None, definition: str, months: int, scenarios: int, seed: int, fmt: str
) -> None:
    """For every plan with a guarantee or gain-share: per account the probability that a
    guarantee window triggers, the expected and P90 credits, gain-share revenue bands, and
    a sweep of min_resolution_rate (where the guarantee becomes expensive).

    JSON: {"months", "scenarios", "seed", "plans": {NAME: {"portfolio": {...},
    "accounts": [{account_id, p_trigger, expected_credit, p90_credit, ...}], "sweep": [...]}}}.
    """
    planset = load_plans(plans_file)
    d = load_definition(definition)
    with ctx.open(read_only=True) as wh:
        result = deal_risk_from_warehouse(wh, planset, d, months=months, scenarios=scenarios, seed=seed)
    if not result.plans:
        raise ConfigError("No plan in this plan set has a [plans.guarantee] or a charge on savings_usd; "
                          "add one (see the README's 'Deals that share the risk').")
    if fmt == "json":
        click.echo(json.dumps({"definition": {"name": d.name, "version": d.version}, **result.to_dict()}, indent=2))
    else:
        click.echo(f"Definition {d.name}, version {d.version}")
        click.echo(_table(result))


def register(group: click.Group) -> None:
    group.add_command(deal_risk_command)
