"""A deal's one-page summary (self-contained HTML, no network) and its terms as TOML.

Vendor side and customer side next to each other, the guarantee's risk, and the
terms in plain words. Every string from a user or a data file (plan, account and
prospect names) goes through `html.escape`: a hostile name shows as text.
"""

from __future__ import annotations

from html import escape

from outcome_pricing.analysis.deal_case import DealSides
from outcome_pricing.analysis.deal_risk import PlanRisk
from outcome_pricing.pricing.deal_terms import ChargeFrom
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import Plan
from outcome_pricing.reports.roi_report import money, pct


def terms_toml(planset: PlanSet, plan: Plan) -> str:
    """The deal plan alone, with the plan set's costs, as a plans file (loads back as it is)."""
    return PlanSet((plan,), planset.costs).to_toml()


def terms_words(plan: Plan) -> list[str]:
    """The deal's terms in sentences a customer reads."""
    d = plan.deal
    start = "go-live" if d.charge_from is ChargeFrom.GO_LIVE else "the first task"
    out = [f"Charging starts at {start}" + (f" plus {d.free_months} free month(s)." if d.free_months else ".")]
    if d.implementation_cost:
        out.append(f"The vendor funds the deployment ({money(float(d.implementation_cost))}).")
    shares = [c for c in plan.charges if c.metric.value == "savings_usd"]
    for c in shares:
        price = f"{float(c.price) * 100:.1f}% of measured labour savings" if c.price is not None else "tiered gain-share"
        out.append(f"Gain-share: {price} (baseline minutes per topic x the agent hourly cost"
                   + (f", ${d.hourly_cost_default}/h where the account has none)." if d.hourly_cost_default else ")."))
    g = d.guarantee
    if g is not None:
        out.append(f"Guarantee: if fewer than {pct(float(g.min_resolution_rate))} of conversations are resolved over a "
                   f"{g.window_months}-month window, {pct(float(g.credit_pct), 0)} of that window's outcome charges "
                   "are credited.")
    return out


def _table(rows: list[tuple[str, float]]) -> str:
    body = "".join(f"<tr><td>{escape(label)}</td><td class='n'>{money(value)}</td></tr>" for label, value in rows)
    return f"<table>{body}</table>"


def deal_sheet_html(plan: Plan, sides: DealSides, risk: PlanRisk | None, planset: PlanSet) -> str:
    """The one-page summary of a deal (HTML, self-contained)."""
    risk_rows = ""
    if risk is not None and risk.portfolio:
        mine = risk.account(sides.account)
        if mine is not None and "p_trigger" in mine:
            risk_rows = (f"<p>Probability the guarantee triggers over the horizon: <b>{pct(float(mine['p_trigger']))}</b>; "
                         f"expected credits {money(float(mine['expected_credit']))}, P90 {money(float(mine['p90_credit']))}.</p>")
        cheap = risk.expensive_from()
        if cheap is not None:
            risk_rows += (f"<p>Across the portfolio, the guarantee's expected credits pass 5% of outcome charges from a "
                          f"threshold of {pct(cheap, 0)}.</p>")
    elif sides.trigger_probability is not None:
        risk_rows = f"<p>Probability the guarantee triggers at least once: <b>{pct(sides.trigger_probability)}</b>.</p>"
    terms = "".join(f"<li>{escape(t)}</li>" for t in terms_words(plan))
    toml = escape(terms_toml(planset, plan))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Deal: {escape(plan.name)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}}
.cols{{display:flex;gap:2rem}}.cols>div{{flex:1}}table{{border-collapse:collapse;width:100%}}
td{{border-bottom:1px solid #ddd;padding:.3rem}}td.n{{text-align:right}}pre{{background:#f6f6f6;padding:.6rem}}
.muted{{color:#666;font-size:.9rem}}</style></head><body>
<h1>Deal {escape(plan.name)} for {escape(sides.account)}</h1>
<p class="muted">Plan version {escape(plan.version)}; {sides.months} months, {sides.charged_months} charged.</p>
<h2>Terms</h2><ul>{terms}</ul>
<div class="cols"><div><h2>Vendor</h2>{_table(sides.vendor_rows())}</div>
<div><h2>Customer</h2>{_table(sides.customer_rows())}</div></div>
<h2>Risk</h2>{risk_rows or "<p>No guarantee in this deal.</p>"}
<p class="muted">The guarantee's expected value is a reduction of the customer's risk (credits in the scenarios where
the AI underperforms), not a saving in the expected case.</p>
<h2>Terms as TOML</h2><pre>{toml}</pre></body></html>
"""


__all__ = ["deal_sheet_html", "terms_toml", "terms_words"]
