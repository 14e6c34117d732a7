"""`roi`: a customer's risk-adjusted ROI case (TEI style) as JSON or a one-page HTML report."""

from __future__ import annotations

import json
from pathlib import Path

import click

from outcome_pricing.analysis.roi import (
    DEFAULT_DISCOUNT_RATE,
    DEFAULT_RISK_ADJUSTMENT,
    DEFAULT_YEARS,
    MAX_YEARS,
    OVERRIDABLE,
    CaseContext,
    CaseSettings,
    case_for_account,
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


@click.command("roi")
@click.option("--account", required=True, metavar="ID", help="Account id in the warehouse.")
@PLANS_OPTION
@click.option("--plan", "plan_name", required=True, metavar="NAME", help="The plan the customer would buy.")
@click.option("--definition", required=True, metavar="DEF", help=DEF_HELP)
@click.option("--years", type=click.IntRange(1, MAX_YEARS), default=DEFAULT_YEARS, show_default=True)
@click.option(
    "--discount-rate", type=click.FloatRange(0, 1), default=DEFAULT_DISCOUNT_RATE, show_default=True,
    help="Yearly rate; Forrester uses 10% (typically 8% to 16%).",
)
@click.option(
    "--risk-adjustment", type=click.FloatRange(0, 1), default=DEFAULT_RISK_ADJUSTMENT,
    show_default=True, help="Haircut on every benefit line (0.2 = benefits counted at 80%).",
)
@click.option(
    "--assume", multiple=True, metavar="KEY=VALUE",
    help="Enter an assumption instead of measuring it, e.g. --assume implementation_cost=25000 "
    "(repeatable; keys: " + ", ".join(OVERRIDABLE) + ").",
)
@click.option("--format", "fmt", type=click.Choice(["json", "html"]), default="json", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to FILE instead of standard output.")
@pass_context
def roi_command(
    ctx: Context, account: str, plans_file: Path | None, plan_name: str, definition: str, years: int,
    discount_rate: float, risk_adjustment: float, assume: tuple[str, ...], fmt: str, out: Path | None,
) -> None:
    """A three-year (or N-year) risk-adjusted ROI case for one account, from its own logs.

    JSON: years (year 0..N: benefits, already risk-adjusted; costs; net), npv,
    roi, payback_months (null when it does not pay back within the horizon),
    discount_rate, risk_adjustment, assumptions (each with its source), lines,
    scenarios (low/base/high) and the tornado. HTML: a self-contained report.
    """
    planset = load_plans(plans_file)
    case_ctx = CaseContext(planset, plan_name, load_definition(definition))
    case_ctx.plan_obj  # noqa: B018 - an unknown plan fails before any query
    settings = CaseSettings(years, discount_rate, risk_adjustment, parse_assignments(assume, OVERRIDABLE))
    with ctx.open(read_only=True) as wh:
        case = case_for_account(wh, account, case_ctx, settings)
    if fmt == "html":
        from outcome_pricing.reports.roi_report import render_html

        text = render_html(case)
    else:
        text = json.dumps(case.to_dict(), indent=2)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"ROI case for {account} written to {out}.", err=True)


def register(group: click.Group) -> None:
    group.add_command(roi_command)
