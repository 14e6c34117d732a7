"""The `outcome-pricing` command. Each area adds its commands in its own module."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import click

from outcome_pricing.access import USER_ENV
from outcome_pricing.cli._common import Context, run_main

# Command modules, one per area; each defines `register(group)`.
COMMAND_MODULES = ("demo", "ingest", "outcomes", "pricing", "impact", "forecast", "roi", "serve", "audit", "invoices", "deals")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Warehouse file. Default: $OUTCOME_PRICING_DB, else data/warehouse.duckdb.",
)
@click.option(
    "--as-user",
    "as_user",
    envvar=USER_ENV,
    default=None,
    metavar="EMAIL",
    help="Run on behalf of this person (roles file: $OUTCOME_PRICING_ROLES, else data/roles.toml): "
    "a sales user sees only the accounts they own; only admins ingest. Default: $OUTCOME_PRICING_USER.",
)
@click.version_option(package_name="outcome-pricing")
@click.pass_context
def cli(ctx: click.Context, db: Path | None, as_user: str | None) -> None:
    """Outcome Pricing Lab: replay AI-agent task logs under any definition of
    "resolved" and any pricing plan, per account and month, with cost and margin.

    Start with `outcome-pricing demo` (synthetic logs) or
    `outcome-pricing ingest --tasks FILE`, then ask for outcomes, a backtest,
    a statement, the AI's impact, a forecast or a customer's ROI case.
    """
    ctx.obj = Context(db, as_user)


for _name in COMMAND_MODULES:
    if importlib.util.find_spec(f"{__name__}.{_name}") is not None:
        importlib.import_module(f"{__name__}.{_name}").register(cli)


def main() -> None:
    run_main(cli)
