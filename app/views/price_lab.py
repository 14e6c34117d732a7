"""Price lab (pricing team): every plan on the same history, per account and month.

Draws what `pricing.price_lab` computed: revenue and margin by month for every
plan, winners and losers against the reference plan, the per-outcome price sweep
with its break-even price, and seat erosion. Plans are edited here (a form for
the main knobs, or the TOML itself) and shared with every page via the scenario.
"""

from __future__ import annotations

from dataclasses import dataclass

import fmt
import frame
import pandas as pd
import plan_editor
import plotly.express as px
import plotly.graph_objects as go
import scenario
import streamlit as st

from outcome_pricing import pricing
from outcome_pricing.analysis import breakeven
from outcome_pricing.pricing import words as pricing_words
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import DEFAULT_HOURS_PER_SEAT
from outcome_pricing.reports.roi_report import TABLE_STYLE, table
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse


@dataclass(frozen=True)
class Lab:
    """What the page draws: the backtest and sweep, break-evens by window, standings."""

    lab: pricing.PriceLab
    break_evens: dict[breakeven.Window, breakeven.BreakEven]  # empty when no plan has an outcome charge
    standings: pd.DataFrame


LabParts = tuple[pricing.PriceLab, dict[breakeven.Window, breakeven.BreakEven], pd.DataFrame]


@st.cache_data(show_spinner="Pricing every plan on the history…", max_entries=16)
def _lab_parts(_wh: Warehouse, plans_toml: str, definition_toml: str, reference: str, proposed: str,
               version: str) -> LabParts:
    # A plain tuple of engine objects: st.cache_data pickles its results, and a class of this
    # page script (run as __main__) would not unpickle.
    planset = PlanSet.from_toml_text(plans_toml)
    d = Definition.from_toml_text(definition_toml)
    lab = pricing.price_lab(_wh, planset, d, reference, proposed)
    bt = lab.backtest
    evens = ({} if lab.sweep is None else
             breakeven.break_evens(bt.metrics, planset, lab.sweep.plan, bt.reference))
    return lab, evens, breakeven.standings(bt, proposed)


def _lab(wh: Warehouse, plans_toml: str, definition_toml: str, reference: str, proposed: str, version: str) -> Lab:
    return Lab(*_lab_parts(wh, plans_toml, definition_toml, reference, proposed, version))


# ---------------------------------------------------------------------- drawing
def _dollar_axis(fig: go.Figure, axis: str, title: str, cents: bool = False) -> None:
    """Dollar ticks ($1,234, or $0.99 for prices; -$500 below zero, where a tickprefix
    would give $-500) and a readable title on one axis."""
    ticks = fmt.PRICE_TICKS if cents else fmt.MONEY_TICKS
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    update(title_text=title, tickformat=ticks, hoverformat=ticks)


def _period(lab: pricing.PriceLab) -> str:
    months = lab.backtest.frame["month"]
    return f"Whole history, {fmt.months(months.min(), months.max())}"


def _window_text(b: breakeven.BreakEven) -> str:
    """'the AI's live months, Sep 2025 to Oct 2026 (113 account-months)'."""
    if b.first_month is None or b.last_month is None:
        return "no account-month with the AI live"
    what = "each account's months with the AI live" if b.window is breakeven.Window.LIVE else "the last 3 months"
    return f"{what}, {fmt.months(b.first_month, b.last_month)} ({fmt.count(b.account_months)} account-months)"


def _plans_in_words(sc: scenario.Scenario) -> None:
    """Each plan's terms as the account reads them, from the terms in use (so they follow
    every edit); a plan changed from the example plans says so. A plain table: the terms wrap
    (a grid would cut them off) and the browser draws it at once."""
    examples = PlanSet.from_toml_text(pricing.example_plans_text())
    rows = []
    for plan in sc.planset.plans:
        original = examples.plan(plan.name) if plan.name in examples.names else None
        state = "example" if original is not None and original.version == plan.version else (
            "edited" if original is not None else "added")
        rows.append([plan.name, pricing_words.plan_in_words(plan, sc.definition), state])
    with st.expander("The plans in words", icon=":material/description:"):
        st.html(f"<style>{TABLE_STYLE}</style>{table(['Plan', 'Terms', 'Plans file'], rows, kind='text terms')}")
        st.caption("Plans file: *example*, as shipped; *edited*, changed here, so the example description no "
                   "longer applies; *added*, not in the examples.")


def _totals(data: Lab, proposed: str) -> None:
    lab = data.lab
    totals = lab.backtest.totals().set_index("plan")
    ref = lab.backtest.reference
    period = _period(lab)
    st.caption(f"**{period}**: revenue and margin sum all accounts over all months; the break-even "
               "uses the months with the AI live only.")
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
    live = data.break_evens.get(breakeven.Window.LIVE)
    recent = data.break_evens.get(breakeven.Window.RECENT)
    cols[3].metric(
        "Break-even price, AI live",
        fmt.NOTHING if live is None or not live.found else fmt.money(live.price, cents=True),
        delta=None if recent is None or not recent.found else f"{fmt.money(recent.price, cents=True)} last 3 months",
        delta_color="off", delta_arrow="off",
        help="The per-outcome price at which the swept plan earns what the reference plan earns, over "
             + ("no live months" if live is None else _window_text(live))
             + ". Months before an account's go-live bill seats and no outcomes, so no price could win them back.")
    _totals_table(totals, ref)


TOTALS_HEADERS = ["Plan", "Revenue", "Cost to serve", "Margin", "Margin %", "Change vs reference"]


def _totals_table(totals: pd.DataFrame, ref: str) -> None:
    """Every plan's totals as a plain table (seven rows: a data grid adds nothing to the reading
    and is the slowest element for the browser to draw); the reference row in bold."""
    def shown(plan: str, column: str) -> str:
        value = fmt.cell(totals, plan, column)
        if pd.isna(value):  # a margin share of no revenue
            return fmt.NOTHING
        return fmt.pct(value) if column == "margin_pct" else fmt.money(value)

    columns = ("revenue", "cogs", "margin", "margin_pct", "change_vs_reference")
    plans = [str(plan) for plan in totals.index]
    rows = [[plan, *(shown(plan, c) for c in columns)] for plan in plans]
    classes = ["total" if plan == ref else "" for plan in plans]
    st.html(f"<style>{TABLE_STYLE}</style>{table(TOTALS_HEADERS, rows, classes)}")
    st.caption(f"Cost to serve: AI tokens and per-task costs of serving the accounts. Margin: revenue minus cost "
               f"to serve; margin % its share of revenue. Change vs reference: revenue minus the revenue under "
               f"{ref} (in bold).")


MEASURES = {"revenue": "Revenue", "margin": "Margin"}


@frame.shared_figure
def _portfolio_figure(_lab: pricing.PriceLab, key: str, measure: str, proposed: str, every_plan: bool) -> go.Figure:
    """Revenue (or margin) by month: the reference and proposed plans, or every plan (one line a
    plan); built once per data version, scenario, measure and choice (frame.shared_figure)."""
    port = _lab.backtest.portfolio()
    port["plan"] = port["plan"].astype(str)
    if not every_plan:  # two lines to read (and draw); the totals above have every plan
        port = port[port["plan"].isin([_lab.backtest.reference, proposed])]
    which = "every plan" if every_plan else "reference and proposed plans"
    title = (f"Revenue by month, {which}" if measure == "revenue"
             else f"Margin by month (revenue minus cost to serve), {which}")
    colours = {_lab.backtest.reference: fmt.REFERENCE_COLOUR, proposed: fmt.PROPOSED_COLOUR}
    fig = px.line(port, x="month", y=measure, color="plan", markers=True, title=title,
                  labels={"month": "Month", "plan": "Plan"}, color_discrete_map=colours)
    fig.update_traces(line={"dash": "dash"}, selector={"name": _lab.backtest.reference})
    _dollar_axis(fig, "y", MEASURES[measure])
    fig.update_xaxes(tickformat="%b %Y", hoverformat="%b %Y")
    return fig


def _portfolio(lab: pricing.PriceLab, key: str, proposed: str) -> None:
    left, right = st.columns([2, 3], vertical_alignment="bottom")
    with left:
        measure = st.segmented_control(
            "Show", list(MEASURES), format_func=lambda m: MEASURES[m], default="revenue", required=True,
            key="lab.measure", persist_state="session",
            help="Revenue: what every account would have paid under each plan, month by month. Margin: revenue "
                 "minus the cost to serve (AI tokens and per-task costs).")
    every_plan = right.toggle("Show every plan", value=False, key="lab.every_plan", persist_state="session",
                              help="Add every other plan of the plan set to the chart (the reference and "
                              "proposed plans are always drawn).")
    figure = _portfolio_figure(lab, key, str(measure or "revenue"), proposed, bool(every_plan))
    st.plotly_chart(figure, width="stretch", config=frame.CHART_CONFIG)


STANDING_COLORS = {
    breakeven.Standing.PAYS_MORE.value: "#2e7d32",
    breakeven.Standing.PAYS_LESS.value: "#c62828",
    breakeven.Standing.SAME.value: "#8c8c8c",
    breakeven.Standing.NOT_LIVE.value: "#bdbdbd",
}


def _labelled(data: Lab) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The accounts with the AI live and the others, each with its label (name, else id)."""
    changes = data.standings.copy()
    changes["label"] = changes["name"].fillna(changes["account_id"])
    return changes[changes["ai_live"]], changes[~changes["ai_live"]]


@frame.shared_figure
def _winners_figure(_data: Lab, key: str, proposed: str) -> go.Figure:
    live, _ = _labelled(_data)
    ref = _data.lab.backtest.reference
    fig = px.bar(live, x="label", y="change", color="standing", color_discrete_map=STANDING_COLORS,
                 title=f"Change per account with the AI live, {proposed} vs {ref} (whole history)",
                 labels={"label": "Account", "standing": f"Under {proposed}"})
    _dollar_axis(fig, "y", "Change in revenue")
    return fig


def _winners_losers(data: Lab, proposed: str, key: str) -> None:
    ref = data.lab.backtest.reference
    live, idle = _labelled(data)
    st.plotly_chart(_winners_figure(data, key, proposed), width="stretch", config=frame.CHART_CONFIG)
    if not idle.empty:
        st.info(f"**Not live: {fmt.count(len(idle))} account{'s' if len(idle) != 1 else ''}** never had an AI task "
                f"({', '.join(idle['label'].astype(str))}). An outcome plan bills them nothing because the AI never "
                "worked for them, not because they would pay less: they are left out of the chart and the "
                "break-even, and listed at the bottom of the table.", icon=":material/pause_circle:")
    table = pd.concat([live, idle], ignore_index=True)
    st.dataframe(
        fmt.shown_rounded(table[["name", "account_id", "segment", "standing", "reference_revenue", "revenue",
                                 "change", "change_pct"]],
                          ("reference_revenue", "revenue", "change"), ("change_pct",)),
        hide_index=True, width="stretch", placeholder=fmt.NOTHING,
        column_config={
            "name": st.column_config.TextColumn("Account"),
            "account_id": st.column_config.TextColumn("ID"),
            "segment": st.column_config.TextColumn("Segment"),
            "standing": st.column_config.TextColumn(f"Under {proposed}",
                                                    help="not live: the account never had an AI task."),
            "reference_revenue": fmt.dollars_column(f"Revenue, {ref}"),
            "revenue": fmt.dollars_column(f"Revenue, {proposed}"),
            "change": fmt.dollars_column("Change", tip="What the account would pay more (or less, negative) over the history."),
            "change_pct": fmt.percent_column("Change %", tip=f"The change as a share of the revenue under {ref}."),
        },
    )


def _break_even_accounts(live: breakeven.BreakEven, recent: breakeven.BreakEven) -> pd.DataFrame:
    accounts = live.accounts.merge(recent.accounts[["account_id", "break_even_price"]], on="account_id",
                                   how="left", suffixes=("", "_recent")).sort_values("break_even_price")
    accounts["label"] = accounts["name"].fillna(accounts["account_id"])
    return accounts


@frame.shared_figure
def _break_even_figure(_data: Lab, key: str) -> go.Figure:
    live, recent = _data.break_evens[breakeven.Window.LIVE], _data.break_evens[breakeven.Window.RECENT]
    fig = px.bar(_break_even_accounts(live, recent), x="label", y="break_even_price",
                 title="Break-even per-outcome price per account, AI live (line: current price)",
                 labels={"label": "Account"})
    _dollar_axis(fig, "y", "Break-even price per outcome", cents=True)
    if live.sweep is not None:
        fig.add_hline(y=live.sweep.current_price, line_dash="dot")
    return fig


def _break_even_view(data: Lab, key: str) -> None:
    if not data.break_evens:
        st.info("No plan has an outcome charge, so there is no per-outcome price to break even.")
        return
    live, recent = data.break_evens[breakeven.Window.LIVE], data.break_evens[breakeven.Window.RECENT]
    st.markdown(
        f"The per-outcome price at which **{live.plan}** earns what **{live.reference}** earns. Taken over "
        "the months with the AI live: before its go-live an account bills seats and no outcomes, so those "
        "months would push the break-even up with a gap no price can close.")
    left, right = st.columns(2)
    for col, b in ((left, live), (right, recent)):
        col.metric(("AI live months" if b.window is breakeven.Window.LIVE else "Last 3 months"),
                   fmt.money(b.price, cents=True) if b.found else fmt.NOTHING, help=_window_text(b))
        col.caption(_window_text(b))
    segments = live.segments.merge(recent.segments[["segment", "break_even_price"]], on="segment", how="left",
                                   suffixes=("", "_recent"))
    st.subheader("By segment")
    st.dataframe(fmt.shown_rounded(segments, ("reference_revenue",)), hide_index=True, width="stretch",
                 placeholder=fmt.NOTHING, column_config={
        "segment": st.column_config.TextColumn("Segment"),
        "accounts": st.column_config.NumberColumn("Accounts live", format="localized"),
        "outcomes": st.column_config.NumberColumn("Outcomes, AI live", format="localized", step=1),
        "reference_revenue": fmt.dollars_column(f"Revenue, {live.reference}, AI live"),
        "break_even_price": fmt.price_column("Break-even, AI live"),
        "break_even_price_recent": fmt.price_column("Break-even, last 3 months"),
    })
    accounts = _break_even_accounts(live, recent)
    st.subheader("By account")
    st.plotly_chart(_break_even_figure(data, key), width="stretch", config=frame.CHART_CONFIG)
    st.dataframe(fmt.shown_rounded(accounts[["name", "segment", "outcomes", "reference_revenue", "break_even_price",
                                             "break_even_price_recent"]], ("reference_revenue",)),
                    hide_index=True, width="stretch", placeholder=fmt.NOTHING, column_config={
        "name": st.column_config.TextColumn("Account"),
        "segment": st.column_config.TextColumn("Segment"),
        "outcomes": st.column_config.NumberColumn("Outcomes", format="localized", step=1),
        "reference_revenue": fmt.dollars_column(f"Revenue, {live.reference}"),
        "break_even_price": fmt.price_column(
            "Break-even, AI live",
            tip=f"The per-outcome price at which this account pays what it pays under {live.reference}, "
                "over its months with the AI live."),
        "break_even_price_recent": fmt.price_column("Break-even, last 3 months"),
    })


def _sweep(data: Lab, key: str) -> None:
    live = data.break_evens.get(breakeven.Window.LIVE)
    sweep = None if live is None else live.sweep
    if live is None or sweep is None:
        st.info("No plan has an outcome charge with the AI live anywhere, so there is no per-outcome price to sweep.")
        return
    st.plotly_chart(_sweep_figure(data, key), width="stretch", config=frame.CHART_CONFIG)
    st.caption(f"Over {_window_text(live)}. Margin is revenue minus the cost to serve in those months.")


@frame.shared_figure
def _sweep_figure(_data: Lab, key: str) -> go.Figure:
    live = _data.break_evens[breakeven.Window.LIVE]
    sweep = live.sweep
    assert sweep is not None  # _sweep draws nothing without one
    port = sweep.portfolio
    fig = go.Figure()
    fig.add_scatter(x=port["price"], y=port["revenue"], name=f"Revenue, {sweep.plan}")
    fig.add_scatter(x=port["price"], y=port["margin"], name=f"Margin, {sweep.plan}")
    fig.add_scatter(x=port["price"], y=port["reference_revenue"], name=f"Revenue, {sweep.reference}",
                    line={"dash": "dash"})
    if live.found:
        fig.add_vline(x=live.price, line_dash="dot", annotation_text=f"break-even {fmt.money(live.price, cents=True)}")
    fig.add_vline(x=sweep.current_price, line_color="gray",
                  annotation_text=f"current {fmt.money(sweep.current_price, cents=True)}", annotation_position="bottom")
    fig.update_layout(title=f"Per-outcome price sweep of {sweep.plan} (portfolio, months with the AI live)")
    _dollar_axis(fig, "x", "Price per outcome", cents=True)
    _dollar_axis(fig, "y", "Revenue and margin, AI live months")
    return fig


@frame.shared_figure
def _seat_figures(_lab: pricing.PriceLab, key: str) -> tuple[go.Figure, go.Figure]:
    erosion = _lab.backtest.seat_erosion()
    seats = px.line(erosion.rename(columns={"seats": "Contracted seats", "seats_needed": "Seats needed"}),
                    x="month", y=["Contracted seats", "Seats needed"], markers=True,
                    labels={"month": "Month", "value": "Seats", "variable": ""},
                    title=f"Contracted seats vs seats needed ({fmt.hours(DEFAULT_HOURS_PER_SEAT)} a seat)")
    seats.update_yaxes(rangemode="tozero", tickformat=fmt.COUNT_TICKS)  # from zero: a cropped axis exaggerates
    at_risk = px.bar(erosion, x="month", y="seat_revenue_at_risk", labels={"month": "Month"},
                     title="Seat revenue at risk (unneeded seats x seat price)")
    _dollar_axis(at_risk, "y", "Seat revenue at risk")
    return seats, at_risk


def _seat_erosion(lab: pricing.PriceLab, key: str) -> None:
    seats, at_risk = _seat_figures(lab, key)
    left, right = st.columns(2)
    left.plotly_chart(seats, width="stretch", config=frame.CHART_CONFIG)
    right.plotly_chart(at_risk, width="stretch", config=frame.CHART_CONFIG)


def main() -> None:
    page = frame.start(
        "What would each plan have earned from every account, month by month, with margin? "
        "Change a price and see who pays more, who pays less, and where per-outcome pricing breaks even with seats.",
        empty="No history to price yet.",
    )
    sc = page.scenario
    plan_editor.plan_editor(sc, page.wh, page.version)
    plan_editor.outcome_price_input(sc)
    data = frame.guarded(lambda: _lab(page.wh, sc.plans_toml, sc.definition.to_toml(), sc.reference_plan,
                                      sc.proposed_plan, page.version))
    st.caption(f"Definition **{sc.definition.name}** (version {sc.definition.version}); "
               f"reference plan **{data.lab.backtest.reference}**.")
    _totals(data, sc.proposed_plan)
    _plans_in_words(sc)
    key = page.key  # the figures are built once per data version and scenario (frame.shared_figure)
    # Only the open tab is drawn (frame.lazy_tabs): the page carries 7 charts and 4 grids in all.
    frame.lazy_tabs("lab.view", {
        "Revenue and margin": lambda: _portfolio(data.lab, key, sc.proposed_plan),
        "Winners and losers": lambda: _winners_losers(data, sc.proposed_plan, key),
        "Break-even": lambda: _break_even_view(data, key),
        "Price sweep": lambda: _sweep(data, key),
        "Seat erosion": lambda: _seat_erosion(data.lab, key),
    })


main()
