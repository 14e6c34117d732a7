"""Price lab (pricing team): every plan on the same history, per account and month.

Draws what `pricing.price_lab` computed: revenue and margin by month for every
plan, winners and losers against the reference plan, the per-outcome price sweep
with its break-even price, and seat erosion. Plans are edited here (a form for
the main knobs, or the TOML itself) and shared with every page via the scenario.
"""

from __future__ import annotations

import hashlib

import fmt
import frame
import plotly.express as px
import plotly.graph_objects as go
import scenario
import streamlit as st

from outcome_pricing import pricing
from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import DEFAULT_HOURS_PER_SEAT
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse


@st.cache_data(show_spinner="Pricing every plan on the history…", max_entries=16)
def _lab(_wh: Warehouse, plans_toml: str, definition_toml: str, reference: str, proposed: str, version: str) -> pricing.PriceLab:
    planset = PlanSet.from_toml_text(plans_toml)
    d = Definition.from_toml_text(definition_toml)
    return pricing.price_lab(_wh, planset, d, reference, proposed)


# ---------------------------------------------------------------------- editing plans
def _widget_key(*parts: object) -> str:
    """Keys that change with the plans, so every input starts from the plan's current value
    (a key that outlived an edit would hold the old value and undo the edit)."""
    version = hashlib.sha1(scenario.plans_toml().encode()).hexdigest()[:10]
    return ".".join(["lab", version, *map(str, parts)])


# What each plan-level knob means to the account paying the bill.
KNOB_HELP = {
    "platform_fee": "A fixed amount every account pays each month, whatever its usage.",
    "minimum": "The least an account pays in a month: a lower bill is topped up to this amount "
               "(a minimum commitment). 0 means no minimum.",
    "cap": "The most an account pays for usage in a month; usage beyond it is not billed "
           "(the platform fee comes on top). 0 means no cap.",
}


def _knob_form(planset: PlanSet, plan_name: str) -> PlanSet | None:
    """Number inputs for one plan's main knobs; the edited plan set, or None if unchanged."""
    plan = planset.plan(plan_name)
    fields: dict[str, float] = {}
    cols = st.columns(3)
    for col, key in zip(cols, ("platform_fee", "minimum", "cap"), strict=True):
        value = float(getattr(plan, key))
        new = col.number_input(key.replace("_", " ").capitalize() + " ($/month)", min_value=0.0, value=value,
                               step=10.0, format="%.2f", key=_widget_key(plan_name, key), help=KNOB_HELP[key])
        if new != value:
            fields[key] = new  # the plan set rounds form amounts (PlanSet.edited)
    charges: dict[int, dict[str, float]] = {}
    for i, charge in enumerate(plan.charges):
        left, right = st.columns(2)
        included = float(charge.included)
        new_inc = left.number_input(f"{charge.name}: included units", min_value=0.0, value=included, step=10.0,
                                    key=_widget_key(plan_name, i, "included"),
                                    help=f"How many {charge.metric.value.replace('_', ' ')} each account gets free "
                                         f"every month before the {charge.name} charge starts.")
        changes: dict[str, float] = {}
        if new_inc != included:
            changes["included"] = new_inc
        if charge.price is not None and not charge.account_price:
            price = float(charge.price)
            new_price = right.number_input(f"{charge.name}: unit price ($)", min_value=0.0, value=price, step=0.01,
                                           format="%.4f", key=_widget_key(plan_name, i, "price"),
                                           help=f"What each {charge.metric.value.replace('_', ' ')} beyond the "
                                                "included units costs the account.")
            if new_price != price:
                changes["price"] = new_price
        else:
            right.caption(f"{charge.name}: {charge.price_text()} (edit tiers in the TOML tab)")
        if changes:
            charges[i] = changes
    if not fields and not charges:
        return None
    return planset.edited(plan_name, fields, charges)


def _plan_editor(sc: scenario.Scenario) -> None:
    with st.expander("Edit plans", expanded=False, icon=":material/edit:"):
        form_tab, toml_tab = st.tabs(["Main knobs", "TOML"])
        with form_tab:
            plan_name = st.selectbox("Plan", sc.planset.names, index=sc.planset.names.index(sc.proposed_plan),
                                     key="lab.edit_plan",
                                     help="The plan whose prices you change here. Edits apply to every page, "
                                          "since all pages share the plans chosen in the sidebar.")
            try:
                edited = _knob_form(sc.planset, plan_name)
            except ConfigError as exc:
                frame.show_error(exc)
                edited = None
            if edited is not None:
                scenario.set_plans_toml(edited.to_toml())
                st.rerun()
        with toml_tab:
            text = st.text_area("Plans TOML", value=scenario.plans_toml(), height=360, key=_widget_key("toml"),
                                help="Every plan written out: platform fee, minimum, cap and charges (flat or "
                                     "tiered prices, included units), plus the cost to serve. Edit, then press "
                                     "Apply TOML; a mistake is named by plan and key and nothing changes.")
            upload = st.file_uploader("Upload a plans TOML", type=["toml"], key="lab.upload",
                                      help="A plans file downloaded from here or written by hand in the same "
                                           "format. Press Use uploaded file to price the history with it.")
            left, mid, right = st.columns(3)
            if left.button("Apply TOML", icon=":material/check:"):
                _apply_text(text)
            if upload is not None and mid.button("Use uploaded file", icon=":material/upload:"):
                _apply_text(upload.getvalue().decode("utf-8", errors="replace"), upload.name)
            right.download_button("Download plans.toml", scenario.plans_toml(), file_name="plans.toml",
                                  mime="application/toml", icon=":material/download:")
            if st.button("Back to the example plans", icon=":material/restart_alt:"):
                scenario.set_plans_toml(pricing.example_plans_text())
                st.rerun()


def _apply_text(text: str, source: str = "plans TOML") -> None:
    try:
        PlanSet.from_toml_text(text, source=source)
    except ConfigError as exc:
        frame.show_error(exc)
        return
    scenario.set_plans_toml(text)
    st.rerun()


# ---------------------------------------------------------------------- drawing
def _outcome_price_input(sc: scenario.Scenario) -> None:
    """The one knob everybody asks about: the proposed plan's per-outcome price."""
    plan = sc.planset.plan(sc.proposed_plan)
    current = plan.outcome_price()
    if current is None:
        st.caption(f"Plan **{plan.name}** has no outcome charge; pick one with outcomes to sweep its price.")
        return
    new = st.number_input(f"Per-outcome price of **{plan.name}** ($)", min_value=0.0, value=float(current), step=0.05,
                          format="%.2f", key=_widget_key("outcome_price", plan.name),
                          help="What the proposed plan charges for each resolved conversation (a billable "
                               "outcome under the sidebar's definition of resolved). Changing it re-prices the "
                               "whole history on every page; a tiered price keeps its ladder's shape.")
    repriced = plan.with_outcome_price(new)  # the plan rounds a form's float (one place)
    if repriced.outcome_price() != current:
        edited = sc.planset.replace_plan(repriced)
        scenario.set_plans_toml(edited.to_toml())
        st.rerun()


def _dollar_axis(fig: go.Figure, axis: str, title: str, cents: bool = False) -> None:
    """Dollar ticks ($1,234, or $0.99 for prices; -$500 below zero, where a tickprefix
    would give $-500) and a readable title on one axis."""
    ticks = fmt.PRICE_TICKS if cents else fmt.MONEY_TICKS
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    update(title_text=title, tickformat=ticks, hoverformat=ticks)


def _period(lab: pricing.PriceLab) -> str:
    months = lab.backtest.frame["month"]
    return f"Whole history, {fmt.months(months.min(), months.max(), key=True)}"



def _totals(lab: pricing.PriceLab, proposed: str) -> None:
    totals = lab.backtest.totals().set_index("plan")
    ref = lab.backtest.reference
    period = _period(lab)
    st.caption(f"**{period}**: every figure below sums all accounts over all months.")
    cols = st.columns(4)
    cols[0].metric(f"Revenue, {ref} (reference)", fmt.money(fmt.cell(totals, ref, "revenue")),
                   help=f"{period}: what every account would have paid under {ref}, the plan we compare against.")
    cols[1].metric(f"Revenue, {proposed}", fmt.money(fmt.cell(totals, proposed, "revenue")),
                   delta=fmt.money(fmt.cell(totals, proposed, "change_vs_reference")), delta_description=f"vs {ref}",
                   help=f"{period}: what every account would have paid under {proposed}; "
                        f"the change is against {ref}.")
    cols[2].metric(f"Margin, {proposed}", fmt.money(fmt.cell(totals, proposed, "margin")),
                   delta=f"{fmt.pct(fmt.cell(totals, proposed, 'margin_pct'))} of revenue", delta_color="off",
                   delta_arrow="off",
                   help=f"{period}: revenue under {proposed} minus the cost to serve (AI tokens and per-task costs).")
    sweep = lab.sweep
    cols[3].metric("Break-even per-outcome price", fmt.NOTHING if sweep is None else fmt.money(sweep.break_even_price, cents=True),
                   help=f"{period}: the per-outcome price at which the swept plan earns what the reference plan earns.")
    st.dataframe(
        fmt.shown_rounded(totals.reset_index(), ("revenue", "cogs", "margin", "change_vs_reference"), ("margin_pct",)),
        hide_index=True,
        column_config={
            "plan": st.column_config.TextColumn("Plan"),
            "revenue": fmt.dollars_column("Revenue"),
            "cogs": fmt.dollars_column("Cost to serve", tip="AI tokens and per-task costs of serving the accounts."),
            "margin": fmt.dollars_column("Margin", tip="Revenue minus cost to serve."),
            "margin_pct": fmt.percent_column("Margin %", tip="Margin as a share of revenue."),
            "change_vs_reference": fmt.dollars_column("Change vs reference", tip=f"Revenue minus the revenue under {ref}."),
        },
    )


def _portfolio(lab: pricing.PriceLab) -> None:
    port = lab.backtest.portfolio()
    port["plan"] = port["plan"].astype(str)
    labels = {"month": "Month", "plan": "Plan"}
    revenue = px.line(port, x="month", y="revenue", color="plan", markers=True, labels=labels,
                      title="Revenue by month, every plan")
    _dollar_axis(revenue, "y", "Revenue")
    margin = px.line(port, x="month", y="margin", color="plan", markers=True, labels=labels,
                     title="Margin by month (revenue minus cost to serve)")
    _dollar_axis(margin, "y", "Margin")
    left, right = st.columns(2)
    left.plotly_chart(revenue, width="stretch")
    right.plotly_chart(margin, width="stretch")


def _winners_losers(lab: pricing.PriceLab, proposed: str) -> None:
    changes = lab.backtest.account_changes(proposed)
    changes["label"] = changes["name"].fillna(changes["account_id"])
    direction = changes["change"].gt(0).map({True: "pays more", False: "pays less or the same"})
    fig = px.bar(changes, x="label", y="change", color=direction,
                 color_discrete_map={"pays more": "#2e7d32", "pays less or the same": "#c62828"},
                 title=f"Change per account, {proposed} vs {lab.backtest.reference} (whole history)",
                 labels={"label": "Account", "color": f"Under {proposed}"})
    _dollar_axis(fig, "y", "Change in revenue")
    st.plotly_chart(fig, width="stretch")
    ref = lab.backtest.reference
    st.dataframe(
        fmt.shown_rounded(changes[["account_id", "name", "segment", "reference_revenue", "revenue", "change", "change_pct"]],
               ("reference_revenue", "revenue", "change"), ("change_pct",)),
        hide_index=True,
        column_config={
            "account_id": st.column_config.TextColumn("Account"),
            "name": st.column_config.TextColumn("Name"),
            "segment": st.column_config.TextColumn("Segment"),
            "reference_revenue": fmt.dollars_column(f"Revenue, {ref}"),
            "revenue": fmt.dollars_column(f"Revenue, {proposed}"),
            "change": fmt.dollars_column("Change", tip="What the account would pay more (or less, negative) over the history."),
            "change_pct": fmt.percent_column("Change %", tip=f"The change as a share of the revenue under {ref}."),
        },
    )


def _sweep(lab: pricing.PriceLab) -> None:
    sweep = lab.sweep
    if sweep is None:
        st.info("No plan has an outcome charge, so there is no per-outcome price to sweep.")
        return
    port = sweep.portfolio
    fig = go.Figure()
    fig.add_scatter(x=port["price"], y=port["revenue"], name=f"Revenue, {sweep.plan}")
    fig.add_scatter(x=port["price"], y=port["margin"], name=f"Margin, {sweep.plan}")
    fig.add_scatter(x=port["price"], y=port["reference_revenue"], name=f"Revenue, {sweep.reference}",
                    line={"dash": "dash"})
    if sweep.break_even_price == sweep.break_even_price:  # not NaN
        fig.add_vline(x=sweep.break_even_price, line_dash="dot",
                      annotation_text=f"break-even {fmt.money(sweep.break_even_price, cents=True)}")
    fig.add_vline(x=sweep.current_price, line_color="gray",
                  annotation_text=f"current {fmt.money(sweep.current_price, cents=True)}", annotation_position="bottom")
    fig.update_layout(title=f"Per-outcome price sweep of {sweep.plan} (portfolio, whole history)")
    _dollar_axis(fig, "x", "Price per outcome", cents=True)
    _dollar_axis(fig, "y", "Revenue and margin, whole history")
    st.plotly_chart(fig, width="stretch")
    be = sweep.break_even.sort_values("break_even_price")
    left, right = st.columns([3, 2])
    fig = px.bar(be, x="account_id", y="break_even_price", log_y=True,
                 title="Break-even per-outcome price per account (log scale; line: current price)",
                 labels={"account_id": "Account"})
    _dollar_axis(fig, "y", "Break-even price per outcome", cents=True)
    fig.add_hline(y=sweep.current_price, line_dash="dot")
    left.plotly_chart(fig, width="stretch")
    right.dataframe(fmt.shown_rounded(be, ("reference_revenue",)), hide_index=True, column_config={
        "account_id": st.column_config.TextColumn("Account"),
        "outcomes": st.column_config.NumberColumn("Outcomes", format="%.1f"),
        "reference_revenue": fmt.dollars_column(f"Revenue, {sweep.reference}"),
        "break_even_price": fmt.price_column(
            "Break-even price",
            tip=f"The per-outcome price at which this account pays what it pays under {sweep.reference}."),
    })


def _seat_erosion(lab: pricing.PriceLab) -> None:
    erosion = lab.backtest.seat_erosion()
    seats = px.line(erosion.rename(columns={"seats": "Contracted seats", "seats_needed": "Seats needed"}),
                    x="month", y=["Contracted seats", "Seats needed"], markers=True,
                    labels={"month": "Month", "value": "Seats", "variable": ""},
                    title=f"Contracted seats vs seats needed ({fmt.hours(DEFAULT_HOURS_PER_SEAT)} a seat)")
    at_risk = px.bar(erosion, x="month", y="seat_revenue_at_risk", labels={"month": "Month"},
                     title="Seat revenue at risk (unneeded seats x seat price)")
    _dollar_axis(at_risk, "y", "Seat revenue at risk")
    left, right = st.columns(2)
    left.plotly_chart(seats, width="stretch")
    right.plotly_chart(at_risk, width="stretch")


def main() -> None:
    page = frame.start(
        "What would each plan have earned from every account, month by month, with margin? "
        "Change a price and see who pays more, who pays less, and where per-outcome pricing breaks even with seats.",
        empty="No history to price yet.",
    )
    sc = page.scenario
    _plan_editor(sc)
    _outcome_price_input(sc)
    lab = frame.guarded(lambda: _lab(page.wh, sc.plans_toml, sc.definition.to_toml(), sc.reference_plan,
                                     sc.proposed_plan, page.version))
    st.caption(f"Definition **{sc.definition.name}** (version {sc.definition.version}); "
               f"reference plan **{lab.backtest.reference}**.")
    _totals(lab, sc.proposed_plan)
    tabs = st.tabs(["Revenue and margin", "Winners and losers", "Price sweep", "Seat erosion"])
    with tabs[0]:
        _portfolio(lab)
    with tabs[1]:
        _winners_losers(lab, sc.proposed_plan)
    with tabs[2]:
        _sweep(lab)
    with tabs[3]:
        _seat_erosion(lab)


main()
