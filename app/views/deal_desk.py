"""Deal desk (pricing, sales): build a deal that shares the risk and see both sides of it.

A deal is a plan of the scenario plus the terms of DESIGN 11 (charging from
go-live, free months, a funded deployment, gain-share on measured savings, a
resolution guarantee). For one account (its own logs) or a prospect (its
expected volume), the page shows side by side what the vendor earns and risks
and what the customer gains, and exports the terms as TOML and a one-page
summary. Percentages are entered in percent and handed to the engine as
fractions (at this boundary); every figure comes from the engine.
"""

from __future__ import annotations

import fmt
import frame
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from outcome_pricing.analysis import deal_case as dc
from outcome_pricing.analysis.deal_risk import PlanRisk, deal_risk
from outcome_pricing.analysis.forecast import assumptions_from_metrics
from outcome_pricing.pricing import account_month_metrics
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.reports import deal_sheet
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse

K = "deal_desk."
RISK_SCENARIOS = 300
RISK_MONTHS = 12


@st.cache_data(show_spinner="Pricing the deal on the history…", max_entries=16)
def _metrics(_wh: Warehouse, plans_toml: str, definition_toml: str, version: str) -> pd.DataFrame:
    planset = PlanSet.from_toml_text(plans_toml)
    return account_month_metrics(_wh, Definition.from_toml_text(definition_toml), planset.costs, planset.plans)


@st.cache_data(show_spinner="Simulating the guarantee on the forecast's scenarios…", max_entries=16)
def _risk(_wh: Warehouse, plans_toml: str, definition_toml: str, plan: str, version: str) -> PlanRisk | None:
    planset = PlanSet.from_toml_text(plans_toml)
    metrics = _metrics(_wh, plans_toml, definition_toml, version)
    single = PlanSet((planset.plan(plan),), planset.costs)
    result = deal_risk(assumptions_from_metrics(metrics, single), single, metrics, RISK_MONTHS, RISK_SCENARIOS, seed=0)
    return result.plans[0] if result.plans else None


def _form(plans: tuple[str, ...], proposed: str) -> dc.DealForm:
    st.subheader("Build the deal")
    a, b, c = st.columns(3)
    base = a.selectbox("Base plan", plans, index=plans.index(proposed), key=K + "base",
                        help="The plan whose charges the deal keeps; the terms below are added to it.")
    name = b.text_input("Deal name", value="deal", max_chars=80, key=K + "name",
                        help="The plan name in the exported terms and the summary.")
    start = c.radio("Charge from", ("go_live", "first_task"), horizontal=True, key=K + "from",
                    format_func=lambda v: "go-live" if v == "go_live" else "first task",
                    help="Go-live: accounts.ai_go_live, else the month of the account's first AI task.")
    a, b, c = st.columns(3)
    free = a.number_input("Free months", 0, 120, 2, key=K + "free",
                          help="Months after the start with no line at all (no fee, charges or minimum).")
    impl = b.number_input("Implementation cost funded ($)", 0.0, 1e9, 1500.0, step=500.0, key=K + "impl",
                          help="The vendor's cost of the deployment: COGS in the go-live month, never billed.")
    share = c.number_input("Gain-share (% of savings)", 0.0, 100.0, 20.0, step=1.0, key=K + "share",
                           help="A charge on savings_usd: this share of the labour saved each month (0 = none).")
    a, b, c, d = st.columns(4)
    hourly = a.number_input("Hourly cost default ($/h)", 0.0, 1e6, 30.0, key=K + "hourly",
                            help="Values saved time for accounts without their own agent_hourly_cost.")
    guarantee = b.toggle("Guarantee", value=True, key=K + "guar",
                         help="Credit a share of a window's outcome charges when its resolution rate falls short.")
    rate = c.number_input("Min resolution rate (%)", 0.0, 100.0, 65.0, step=1.0, key=K + "rate", disabled=not guarantee,
                          help="Billable outcome units per conversation over a window below this trigger the credit.")
    window = d.number_input("Window (months)", 1, 120, 3, key=K + "window", disabled=not guarantee,
                            help="Consecutive windows from the first charged month; a window cut by the data end credits nothing.")
    credit = st.slider("Credit (% of the window's outcome charges)", 0, 100, 100, key=K + "credit",
                       disabled=not guarantee, help="100 refunds the window's outcome charges in full.")
    return dc.DealForm(
        base_plan=str(base), name=name, charge_from=str(start), free_months=int(free),
        implementation_cost=float(impl), gain_share=fmt.from_percent(share), hourly_cost_default=float(hourly),
        min_resolution_rate=fmt.from_percent(rate) if guarantee else None, window_months=int(window),
        credit_pct=fmt.from_percent(credit),
    )


def _prospect() -> dc.Prospect:
    a, b, c, d = st.columns(4)
    return dc.Prospect(
        name="prospect",
        conversations=a.number_input("Conversations a month", 0.0, 1e8, 5000.0, step=500.0, key=K + "p_conv",
                                       help="Conversations the AI takes on each month."),
        resolution_rate=fmt.from_percent(b.number_input("Resolution rate (%)", 0.0, 100.0, 60.0, key=K + "p_rate",
                                                                 help="Expected billable outcomes per conversation.")),
        minutes_saved_per_outcome=c.number_input("Minutes saved per outcome", 0.0, 600.0, 6.0, key=K + "p_min",
                                                   help="Agent minutes an outcome saves the customer."),
        hourly_cost=d.number_input("Agent hourly cost ($/h)", 0.0, 1e6, 30.0, key=K + "p_hourly",
                                     help="The customer's loaded labour cost per agent hour."),
    )


def _rows(rows: list[tuple[str, float]]) -> None:
    st.dataframe(pd.DataFrame({"": [r[0] for r in rows], "amount": [fmt.money(r[1]) for r in rows]}),
                 hide_index=True, use_container_width=True)


def _risk_view(sides: dc.DealSides, risk: PlanRisk | None) -> None:
    st.markdown("**Risk**")
    row = risk.account(sides.account) if risk is not None else None
    if risk is not None and row is not None and "p_trigger" in row:
        st.metric("Guarantee triggers (next 12 months)", fmt.pct(row["p_trigger"]))
        st.caption(f"Expected credits {fmt.money(row['expected_credit'])}, "
                   f"P90 {fmt.money(row['p90_credit'])} ({RISK_SCENARIOS} forecast scenarios).")
        sweep = risk.sweep
        fig = go.Figure(go.Scatter(x=sweep["min_resolution_rate"] * 100, y=sweep["expected_credit"], mode="lines+markers",
                                   name="expected credits"))
        fig.update_layout(height=260, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title="Portfolio credits by threshold",
                          xaxis_title="min resolution rate (%)", yaxis={"tickformat": fmt.MONEY_TICKS})
        st.plotly_chart(fig, use_container_width=True)
        cheap = risk.expensive_from()
        st.caption("Expensive (credits over 5% of outcome charges) from "
                   + (fmt.pct(cheap, 0) if cheap is not None else "no threshold swept") + ".")
    elif sides.trigger_probability is not None:
        st.metric("Guarantee triggers at least once", fmt.pct(sides.trigger_probability))
        st.caption("Closed form: P(Binomial(window conversations, rate) < threshold) per window.")
    else:
        st.caption("No guarantee in this deal.")


page = frame.start("Offer terms that share the risk, and see what they earn, cost and give.",
                   empty="No history to price a deal on yet.")
sc = page.scenario
form = _form(sc.planset.names, sc.proposed_plan)
deal_set, plan = dc.build_deal(sc.planset, form)
reference = deal_set.plan(sc.reference_plan)
subject = st.segmented_control("Deal for", ("account", "prospect"), default="account", key=K + "subject",
                               help="An account: priced on its own logs. A prospect: on the volume you expect.")
if subject == "prospect":
    sides = dc.prospect_sides(plan, reference, _prospect())
    risk = None
else:
    toml = deal_set.to_toml()
    metrics = _metrics(page.wh, toml, sc.definition.to_toml(), page.version)
    accounts = dc.account_choices(metrics)
    account = st.selectbox("Account", accounts, key=K + "account", help="The account whose logs price the deal.")
    sides = dc.account_sides(metrics, plan, reference, str(account))
    risk = _risk(page.wh, toml, sc.definition.to_toml(), plan.name, page.version) if plan.deal.guarantee else None

vendor, middle, customer = st.columns(3)
with vendor:
    st.markdown("**Vendor**")
    st.metric("Margin under the deal", fmt.money(sides.margin),
              delta=fmt.money(sides.revenue - sides.reference_revenue) + " revenue vs reference")
    _rows(sides.vendor_rows())
with middle:
    _risk_view(sides, risk)
with customer:
    st.markdown("**Customer**")
    st.metric("Savings kept after gain-share", fmt.money(sides.savings - sides.gain_share))
    _rows(sides.customer_rows())
    st.caption("The guarantee's expected value is a risk reduction, not a saving in the expected case.")

st.subheader("Terms")
for sentence in deal_sheet.terms_words(plan):
    st.markdown(f"- {sentence}")
left, right = st.columns(2)
left.download_button("Terms as TOML", deal_sheet.terms_toml(deal_set, plan), file_name=f"{plan.name}.toml",
                     mime="application/toml", key=K + "toml")
right.download_button("One-page summary (HTML)", deal_sheet.deal_sheet_html(plan, sides, risk, deal_set),
                      file_name=f"{plan.name}.html", mime="text/html", key=K + "html")
