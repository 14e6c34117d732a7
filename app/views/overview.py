"""Overview (executives): where we stand this month and what is at risk.

Draws what `overview.overview` computed for the sidebar's scenario: the
headline cards for the last complete month, trends by month, the accounts that
move most under the proposed plan, the definition and plans in force with their
versions, and the one-page brief to download.
"""

from __future__ import annotations

from collections.abc import Callable

import fmt
import frame
import pandas as pd
import plotly.graph_objects as go
import results
import scenario
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from outcome_pricing.analysis.forecast import chance_text
from outcome_pricing.pricing.terms import DEFAULT_HOURS_PER_SEAT
from outcome_pricing.reports import brief, verdict
from outcome_pricing.reports import overview as ov_engine
from outcome_pricing.reports.roi_report import TABLE_STYLE

REFERENCE_COLOUR = "#8a8a8a"
PROPOSED_COLOUR = "#1565c0"
BASELINE_COLOUR = "#9e9e9e"
GAIN_COLOUR = "#2e7d32"
LOSS_COLOUR = "#c62828"


# ---------------------------------------------------------------------- cards
def _delta(change: float | None, shown: Callable[[float], str]) -> str | None:
    """The change as the card shows it; None (no arrow) when there is none to show."""
    return None if change is None or abs(change) < 1e-9 else shown(change)


SPARK_MONTHS = 12  # the cards' small trend lines: the last year


def _spark(values: pd.Series) -> list[float]:
    return [float(v) for v in values.tail(SPARK_MONTHS).fillna(0.0)]


def _plan_cards(col: DeltaGenerator, ov: ov_engine.Overview, role: str) -> None:
    """Revenue and gross margin of one plan, side by side under its name."""
    k = ov.kpis
    plan = ov.reference if role == "reference" else ov.proposed
    col.markdown(f"**{plan}** · {role} plan" + (" (today's contract)" if role == "reference" else ""))
    left, right = col.columns(2)
    if role == "reference":
        left.metric(
            "Revenue (reference)", fmt.money(k.revenue_reference),
            delta=_delta(ov.month_change("revenue_reference"), fmt.money),
            delta_description=None if ov.previous is None else f"vs {fmt.month(ov.previous.month)}",
            chart_data=_spark(ov.plan_trend(plan)), border=True,
            help=f"What {plan} bills for {fmt.month(ov.month, full=True)}, all accounts. Line: the last 12 months.",
        )
        right.metric(
            "Gross margin (reference)", fmt.money(k.margin_reference),
            delta=None if k.margin_pct_reference is None else fmt.pct(k.margin_pct_reference),
            delta_description="of revenue", delta_color="off", delta_arrow="off",
            chart_data=_spark(ov.plan_trend(plan, "margin")), border=True,
            help="Revenue minus the cost to serve (model tokens and per-task costs from the plans file's [costs]).",
        )
        return
    left.metric(
        "Revenue (proposed)", fmt.money(k.revenue_proposed),
        delta=_delta(k.revenue_change, fmt.money), delta_description="vs reference",
        chart_data=_spark(ov.plan_trend(plan)), border=True,
        help=f"What {plan} would have billed for the same month and usage. Line: the last 12 months.",
    )
    right.metric(
        "Gross margin (proposed)", fmt.money(k.margin),
        delta=_delta(k.margin_change, fmt.money), delta_description="vs reference",
        chart_data=_spark(ov.plan_trend(plan, "margin")), border=True,
        help=f"Revenue minus the cost to serve ({fmt.money(k.cogs)})"
        + ("" if k.margin_pct is None else f": {fmt.pct(k.margin_pct)} of its revenue") + ".",
    )


def _cards(ov: ov_engine.Overview, chance: verdict.Outlook | None) -> None:
    k, p = ov.kpis, ov.previous
    change = ov.month_change
    when = fmt.month(ov.month)
    before = None if p is None else f"vs {fmt.month(p.month)}"
    act, seats = ov.activity_trend, ov.seat_trend
    st.subheader(fmt.month(ov.month, full=True), anchor=False)
    left, right = st.columns(2)
    _plan_cards(left, ov, "reference")
    _plan_cards(right, ov, "proposed")
    second = st.columns(4)
    second[0].metric(
        "Chance proposed wins", fmt.NOTHING if chance is None else chance_text(chance.chance),
        delta=None if chance is None else f"{fmt.month(chance.first)} to {fmt.month(chance.last)}",
        delta_color="off", delta_arrow="off", border=True,
        help="The chance that the proposed plan earns more revenue than the reference over the next months: "
        "the forecast's share of scenarios in which it does (the Forecast page's default run: the same figure there)."
        if chance is not None else "Pick a proposed plan different from the reference plan in the sidebar.",
    )
    second[1].metric(
        f"Seat revenue at risk {when}", fmt.money(k.seat_revenue_at_risk),
        delta=_delta(change("seat_revenue_at_risk"), fmt.money), delta_description=before,
        delta_color="inverse", chart_data=_spark(seats["seat_revenue_at_risk"]), border=True,
        help=f"Contracted seats beyond what the human workload needs (human hours / {fmt.hours(DEFAULT_HOURS_PER_SEAT)} a seat) "
        f"x each account's seat price, out of {fmt.money(k.seat_revenue)} seat revenue.",
    )
    second[2].metric(
        f"Billable outcomes {when}", fmt.count(k.outcomes),
        delta=_delta(change("outcomes"), fmt.count), delta_description=before,
        chart_data=_spark(act["billable_units"]), chart_type="bar", border=True,
        help=f"Billable units under the definition {ov.definition_name}.",
    )
    second[3].metric(
        f"Resolution rate {when}", fmt.pct(k.resolution_rate),
        delta=_delta(change("resolution_rate"), fmt.points),
        delta_description=before, chart_data=_spark(act["resolution_rate"]), border=True,
        help=f"Tasks counted as one whole outcome / the {fmt.count(k.ai_tasks)} tasks with the AI live.",
    )


YEARLY_SHOWN = ["year", "months", "revenue_reference", "revenue_proposed", "revenue_change",
                "margin_pct_reference", "margin_pct_proposed"]


def _yearly(ov: ov_engine.Overview, years: pd.DataFrame) -> None:
    st.subheader("Year by year")
    st.dataframe(
        years[YEARLY_SHOWN], hide_index=True, width="stretch",
        column_config={
            "year": st.column_config.NumberColumn("Year", format="%d"),
            "months": st.column_config.NumberColumn("Months", help="Months of data in the year."),
            "revenue_reference": fmt.dollars_column(f"Revenue, {ov.reference}"),
            "revenue_proposed": fmt.dollars_column(f"Revenue, {ov.proposed}"),
            "revenue_change": fmt.dollars_column("Change"),
            "margin_pct_reference": fmt.percent_column(f"Margin, {ov.reference}", "Gross margin / revenue."),
            "margin_pct_proposed": fmt.percent_column(f"Margin, {ov.proposed}", "Gross margin / revenue."),
        },
    )
    st.caption("Calendar years of the history up to this month; the brief adds the margins in dollars.")


# ---------------------------------------------------------------------- trends
def _layout(fig: go.Figure, title: str, y_format: str) -> go.Figure:
    fig.update_layout(title=title, height=330, margin={"t": 50, "b": 10, "l": 10, "r": 10},
                      legend={"orientation": "h", "y": -0.15}, hovermode="x unified")
    fig.update_layout(yaxis={"tickformat": y_format, "rangemode": "tozero"})  # y2 keeps its own format
    return fig


def _revenue_chart(ov: ov_engine.Overview, every_plan: bool) -> go.Figure:
    fig = go.Figure()
    for plan, rows in ov.revenue_trend.groupby("plan", sort=False):
        role = {ov.reference: "reference", ov.proposed: "proposed"}.get(str(plan))
        if role is None and not every_plan:
            continue
        style = {"reference": {"color": REFERENCE_COLOUR, "dash": "dash", "width": 3},
                 "proposed": {"color": PROPOSED_COLOUR, "width": 3}}.get(role or "", {"width": 1.5})
        fig.add_scatter(x=rows["month"], y=rows["revenue"], name=f"{plan} ({role})" if role else str(plan),
                        line=style, mode="lines+markers", hovertemplate=f"%{{y:{fmt.MONEY_TICKS}}}")
    return _layout(fig, "Revenue by month", fmt.MONEY_TICKS)


def _activity_chart(ov: ov_engine.Overview) -> go.Figure:
    act = ov.activity_trend
    fig = go.Figure()
    fig.add_bar(x=act["month"], y=act["billable_units"], name="billable outcomes",
                marker_color="#90caf9", hovertemplate=f"%{{y:{fmt.COUNT_TICKS}}}")
    fig.add_scatter(x=act["month"], y=act["resolution_rate"], name="resolution rate", yaxis="y2",
                    line={"color": PROPOSED_COLOUR, "width": 3}, hovertemplate=f"%{{y:{fmt.PERCENT_HOVER}}}")
    # Round steps of 10 points on the rate's axis (synchronised ticks would read 18%, 37%, 55%).
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "tickformat": fmt.PERCENT_TICKS, "rangemode": "tozero",
                              "showgrid": False, "tickmode": "linear", "dtick": 0.1})
    return _layout(fig, "Billable outcomes and resolution rate", fmt.COUNT_TICKS)


QUALITY = (
    ("missed_issue_rate", "Missed-issue rate (QA-audited tasks)", fmt.PERCENT_HOVER),
    ("csat", "CSAT (1-5)", ".2f"),
    ("reopen_rate", "Reopen rate", fmt.PERCENT_HOVER),
)


def _quality_chart(ov: ov_engine.Overview, metric: str, title: str, ticks: str) -> go.Figure:
    q = ov.quality_trend
    fig = go.Figure()
    fig.add_scatter(x=q["month"], y=q[f"{metric}_ai"], name="AI live", line={"color": PROPOSED_COLOUR, "width": 3},
                    hovertemplate=f"%{{y:{ticks}}}")
    fig.add_scatter(x=q["month"], y=q[f"{metric}_baseline"], name="human baseline",
                    line={"color": BASELINE_COLOUR, "dash": "dash"}, hovertemplate=f"%{{y:{ticks}}}")
    return _layout(fig, title, ticks)


def _trends(ov: ov_engine.Overview) -> None:
    st.subheader("Trends by month")
    every_plan = st.toggle("Show every plan", value=False, key="overview.every_plan",
                           help="Add every other plan of the plan set to the revenue chart "
                           "(the reference and proposed plans are always drawn).")
    left, right = st.columns(2)
    left.plotly_chart(_revenue_chart(ov, every_plan), width="stretch")
    right.plotly_chart(_activity_chart(ov), width="stretch")
    cols = st.columns(3)
    for col, (metric, title, ticks) in zip(cols, QUALITY, strict=True):
        col.plotly_chart(_quality_chart(ov, metric, title, ticks), width="stretch")
    st.caption(f"Quality compares tasks with the AI live against the human-only baseline; the reopen rate "
               f"counts a return within {ov.reopen_window_hours:g} hours.")


# ---------------------------------------------------------------------- movers
MOVER_COLUMNS = ["account", "reference_revenue", "revenue", "change", "change_pct"]


def _movers_table(df: pd.DataFrame, empty: str, reference: str, proposed: str) -> None:
    if df.empty:
        st.info(empty)
        return
    named = df["name"].notna() & (df["name"].astype(str) != "")
    shown = df.assign(account=(df["name"].astype(str) + " (" + df["account_id"] + ")").where(named, df["account_id"]))
    st.dataframe(
        fmt.shown_rounded(shown[MOVER_COLUMNS], ("reference_revenue", "revenue", "change"), ("change_pct",)),
        hide_index=True, width="stretch",
        column_config={
            # Fixed widths: two tables side by side must fit half the page without a scroll bar.
            "account": st.column_config.TextColumn("Account", width=160),
            "reference_revenue": fmt.dollars_column(reference, width=80),
            "revenue": fmt.dollars_column(proposed, width=80),
            "change": fmt.dollars_column("Change", width=80),
            "change_pct": fmt.percent_column("Change %", width=65),
        },
    )


def _movers(ov: ov_engine.Overview, moved: Callable[[int | None], results.Movers]) -> int | None:
    st.subheader("Top movers")
    label = st.segmented_control(
        "Period", list(ov_engine.MOVER_WINDOWS), default=results.DEFAULT_MOVERS_WINDOW, key="overview.movers_window",
        help="The months over which each account's bill under the proposed plan is compared with the "
        "reference plan, ending with this month.",
    ) or results.DEFAULT_MOVERS_WINDOW
    months = ov_engine.MOVER_WINDOWS[label]
    m = moved(months)  # shared by every session of this scope (results.py)
    gainers, losers, w = m.gainers, m.losers, m.window
    st.caption(
        f"{brief.window_text(months, ov)}: across all {w.accounts} accounts, {ov.proposed} bills "
        f"{fmt.money(abs(w.change))} {'more' if w.change >= 0 else 'less'} than {ov.reference} "
        f"({w.paying_more} pay more, {w.paying_less} pay less)."
    )
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Would pay more** under {ov.proposed} (the vendor gains)")
        _movers_table(gainers, "No account would pay more in this period.", ov.reference, ov.proposed)
    with right:
        st.markdown(f"**Would pay less** under {ov.proposed} (the vendor loses)")
        _movers_table(losers, "No account would pay less in this period.", ov.reference, ov.proposed)
    apart = m.not_live
    if len(apart):
        st.caption(
            "Not live, left out of the movers (they never had a task with the AI live, so an outcome price "
            "says nothing about them yet): " + ", ".join(f"{r.name} ({r.account_id})" for r in apart.itertuples())
            + "."
        )
    return months


# ---------------------------------------------------------------------- plans in force
def _in_force(ov: ov_engine.Overview, sc: scenario.Scenario) -> None:
    st.subheader("Definition and plans in force")
    st.markdown(
        f"Definition of resolved **{ov.definition_name}**, version `{ov.definition_version}`"
        f"{' · ' + sc.definition.description.rstrip('.') if sc.definition.description else ''}. "
        f"Plan set version `{ov.planset_version}`."
    )
    # The brief's table: every plan's terms in words (they follow an edit), wrapped, never cut off.
    st.html(f"<style>{TABLE_STYLE}{brief.PLANS_TABLE_STYLE}</style>{brief.plans_html(ov)}")
    st.caption("Versions are short hashes of the definition's knobs and of each plan's terms: the same "
               "version means the same rules. Change them in the sidebar, on Resolution rules and in the Price lab.")


def main() -> None:
    page = frame.start(
        "Where we stand and what is at risk: this month's revenue under today's plan and the proposed "
        "one, outcomes and quality over time, and the accounts that move most.",
        empty="No month to report on yet.",
    )
    sc = page.scenario
    # Shared by every session of the same scope and warmed at server start (results.py).
    key = (sc.plans_toml, sc.definition.to_toml(), sc.reference_plan, sc.proposed_plan)
    with st.spinner("Computing the overview…"):  # shows only when it takes a while
        ov = frame.guarded(lambda: results.overview(page.wh, *key))
    partial = "" if ov.month_complete else " The data holds only part of this month, so figures are partial."
    st.caption(
        f"**This month = {fmt.month(ov.month, full=True)}**, the last complete month in the data.{partial} "
        f"Reference plan **{ov.reference}**, proposed plan **{ov.proposed}**, definition "
        f"**{ov.definition_name}** (`{ov.definition_version}`): change them in the sidebar."
    )
    with st.spinner("Forecasting the coming months…"):
        chance = frame.guarded(lambda: results.outlook(page.wh, *key))
    st.info(f"**Verdict:** {verdict.verdict(ov, chance)}", icon=":material/gavel:")
    _cards(ov, chance)
    _yearly(ov, frame.guarded(lambda: results.yearly(page.wh, *key)))
    _trends(ov)
    months = _movers(ov, lambda months: frame.guarded(lambda: results.movers(page.wh, *key, months)))
    _in_force(ov, sc)
    html = frame.guarded(lambda: results.brief_html(page.wh, *key, months))
    st.download_button(
        "Download the one-page brief (HTML)", html, file_name=f"brief_{fmt.month_key(ov.month)}.html",
        mime="text/html", icon=":material/download:", type="primary",
        help="This page as one self-contained HTML page (no network needed; prints to PDF from any browser). "
        "Top movers follow the period chosen above.",
    )


main()
