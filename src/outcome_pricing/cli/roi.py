"""`roi`: a customer's risk-adjusted ROI case (TEI style) as JSON, an HTML report or the same report as PDF."""

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
    RATE,
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
    "--discount-rate", type=RATE, default=DEFAULT_DISCOUNT_RATE, show_default=True,
    help="Yearly rate, as the app shows it (10%) or as a fraction (0.10); Forrester uses 10% (typically 8% to 16%).",
)
@click.option(
    "--risk-adjustment", type=RATE, default=DEFAULT_RISK_ADJUSTMENT,
    show_default=True, help="Haircut on every benefit line, 20% or 0.2 (benefits counted at 80%).",
)
@click.option(
    "--assume", multiple=True, metavar="KEY=VALUE",
    help="Enter an assumption instead of measuring it, e.g. --assume implementation_cost=25000 "
    "(repeatable; keys: " + ", ".join(OVERRIDABLE) + ").",
)
@click.option("--format", "fmt", type=click.Choice(["json", "html", "pdf"]), default="json", show_default=True,
              help="json: the figures; html: the report; pdf: the same report printed by Chromium.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to FILE instead of standard output.")
@click.option("--vendor", "vendor_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, metavar="FILE",
              help="Vendor name and contact for the report ([vendor] name, contact, email, phone, website). "
              "Default: $OUTCOME_PRICING_VENDOR or data/vendor.toml.")
@pass_context
def roi_command(
    ctx: Context, account: str, plans_file: Path | None, plan_name: str, definition: str, years: int,
    discount_rate: float, risk_adjustment: float, assume: tuple[str, ...], fmt: str, out: Path | None,
    vendor_file: Path | None,
) -> None:
    """A three-year (or N-year) risk-adjusted ROI case for one account, from its own logs.

    JSON: years (year 0..N: benefits, already risk-adjusted; costs; net), npv,
    roi, payback_months (null when it does not pay back within the horizon),
    discount_rate, risk_adjustment, plan_terms (the price in words), assumptions
    (each with its source), lines, scenarios (low/base/high), the tornado and
    deal_terms (the plan's free months, gain-share, guarantee, funded deployment
    and prepaid commitment in words, each with its line's amounts).
    HTML: a self-contained report; PDF: the same report, printed by headless
    Chromium (a clear message where Chromium is not installed).
    """
    from outcome_pricing.reports.vendor import load_vendor

    vendor = load_vendor(vendor_file) if fmt != "json" else None
    planset = load_plans(plans_file)
    case_ctx = CaseContext(planset, plan_name, load_definition(definition))
    case_ctx.plan_obj  # noqa: B018 - an unknown plan fails before any query
    settings = CaseSettings(years, discount_rate, risk_adjustment, parse_assignments(assume, OVERRIDABLE))
    with ctx.open(read_only=True) as wh:
        case = case_for_account(wh, account, case_ctx, settings)
    if fmt == "pdf":
        from outcome_pricing.reports.roi_report import render_pdf

        data = render_pdf(case, vendor)
        if out is None:
            click.get_binary_stream("stdout").write(data)
        else:
            out.write_bytes(data)
            click.echo(f"ROI case for {account} written to {out} (PDF, {len(data):,} bytes).", err=True)
        return
    if fmt == "html":
        from outcome_pricing.reports.roi_report import render_html

        text = render_html(case, vendor)
    else:
        text = json.dumps(case.to_dict(), indent=2)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"ROI case for {account} written to {out}.", err=True)


def register(group: click.Group) -> None:
    group.add_command(roi_command)
