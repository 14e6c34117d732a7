"""Overview (executives): where we stand this month and what is at risk.

Draws what `overview.overview` computed for the sidebar's scenario: the
headline cards for the last complete month, trends by month, the accounts that
move most under the proposed plan, the definition and plans in force with their
versions, and the one-page brief to download.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

import cards
import fmt
import frame
import pandas as pd
import plotly.graph_objects as go
import results
import scenario
import streamlit as st
from plotly.subplots import make_subplots

from outcome_pricing.analysis.forecast import chance_text
from outcome_pricing.pricing.terms import DEFAULT_HOURS_PER_SEAT
from outcome_pricing.reports import brief, verdict
from outcome_pricing.reports import overview as ov_engine
from outcome_pricing.reports.roi_report import TABLE_STYLE, table

REFERENCE_COLOUR, PROPOSED_COLOUR = fmt.REFERENCE_COLOUR, fmt.PROPOSED_COLOUR
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


def _sign(change: float | None) -> float:
    return 0.0 if change is None or abs(change) < 1e-9 else change


def _plan_cards(ov: ov_engine.Overview, role: str) -> str:
    """Revenue and gross margin of one plan, side by side under its name."""
    k = ov.kpis
    plan = ov.reference if role == "reference" else ov.proposed
    heading = f"<b>{escape(plan)}</b> · {role} plan" + (" (today's contract)" if role == "reference" else "")
    if role == "reference":
        revenue_change = ov.month_change("revenue_reference")
        shown = [
            cards.Card(
                "Revenue (reference)", fmt.money(k.revenue_reference),
                f"What {plan} bills for {fmt.month(ov.month, full=True)}, all accounts. Line: the last 12 months.",
                delta=_delta(revenue_change, fmt.money), sign=_sign(revenue_change),
                description=None if ov.previous is None else f"vs {fmt.month(ov.previous.month)}",
                spark=_spark(ov.plan_trend(plan)),
            ),
            cards.Card(
                "Gross margin (reference)", fmt.money(k.margin_reference),
                "Revenue minus the cost to serve (model tokens and per-task costs from the plans file's [costs]).",
                delta=None if k.margin_pct_reference is None else fmt.pct(k.margin_pct_reference),
                tone=cards.Tone.OFF, description="of revenue", spark=_spark(ov.plan_trend(plan, "margin")),
            ),
        ]
        return cards.row_html(shown, heading=heading)
    shown = [
        cards.Card(
            "Revenue (proposed)", fmt.money(k.revenue_proposed),
            f"What {plan} would have billed for the same month and usage. Line: the last 12 months.",
            delta=_delta(k.revenue_change, fmt.money), sign=_sign(k.revenue_change), description="vs reference",
            spark=_spark(ov.plan_trend(plan)),
        ),
        cards.Card(
            "Gross margin (proposed)", fmt.money(k.margin),
            f"Revenue minus the cost to serve ({fmt.money(k.cogs)})"
            + ("" if k.margin_pct is None else f": {fmt.pct(k.margin_pct)} of its revenue") + ".",
            delta=_delta(k.margin_change, fmt.money), sign=_sign(k.margin_change), description="vs reference",
            spark=_spark(ov.plan_trend(plan, "margin")),
        ),
    ]
    return cards.row_html(shown, heading=heading)


def _cards(ov: ov_engine.Overview, chance: verdict.Outlook | None) -> None:
    """The eight headline cards: one HTML element with SVG trend lines (app/cards.py), light for a crowd."""
    k, p = ov.kpis, ov.previous
    change = ov.month_change
    when = fmt.month(ov.month)
    before = None if p is None else f"vs {fmt.month(p.month)}"
    act, seats = ov.activity_trend, ov.seat_trend
    st.subheader(fmt.month(ov.month, full=True), anchor=False)
    risk, outcomes, rate = change("seat_revenue_at_risk"), change("outcomes"), change("resolution_rate")
    second = [
        cards.Card(
            "Chance proposed wins", fmt.NOTHING if chance is None else chance_text(chance.chance),
            "The chance that the proposed plan earns more revenue than the reference over the next months: "
            "the forecast's share of scenarios in which it does (the Forecast page's default run: the same figure "
            "there)." if chance is not None else "Pick a proposed plan different from the reference plan in the sidebar.",
            delta=None if chance is None else f"{fmt.month(chance.first)} to {fmt.month(chance.last)}",
            tone=cards.Tone.OFF,
        ),
        cards.Card(
            f"Seat revenue at risk {when}", fmt.money(k.seat_revenue_at_risk),
            f"Contracted seats beyond what the human workload needs (human hours / "
            f"{fmt.hours(DEFAULT_HOURS_PER_SEAT)} a seat) x each account's seat price, out of "
            f"{fmt.money(k.seat_revenue)} seat revenue.",
            delta=_delta(risk, fmt.money), sign=_sign(risk), tone=cards.Tone.INVERSE, description=before,
            spark=_spark(seats["seat_revenue_at_risk"]),
        ),
        cards.Card(
            f"Billable outcomes {when}", fmt.count(k.outcomes), f"Billable units under the definition {ov.definition_name}.",
            delta=_delta(outcomes, fmt.count), sign=_sign(outcomes), description=before,
            spark=_spark(act["billable_units"]), bars=True,
        ),
        cards.Card(
            f"Resolution rate {when}", fmt.pct(k.resolution_rate),
            f"Tasks counted as one whole outcome / the {fmt.count(k.ai_tasks)} tasks with the AI live.",
            delta=_delta(rate, fmt.points), sign=_sign(rate), description=before,
            spark=_spark(act["resolution_rate"]),
        ),
    ]
    st.html(cards.block_html(_plan_cards(ov, "reference"), _plan_cards(ov, "proposed"), columns=2)
            + cards.row_html(second))


def _share(value: float) -> str:
    return fmt.NOTHING if pd.isna(value) else fmt.pct(value)


def _yearly(ov: ov_engine.Overview, years: pd.DataFrame) -> None:
    """Calendar years as a plain HTML table (drawn like text: no data grid for a crowd to load)."""
    st.subheader("Year by year")
    headers = ["Year", "Months", f"Revenue, {ov.reference}", f"Revenue, {ov.proposed}", "Change",
               f"Margin, {ov.reference}", f"Margin, {ov.proposed}"]
    rows = [[str(r["year"]), str(r["months"]), fmt.money(r["revenue_reference"]), fmt.money(r["revenue_proposed"]),
             fmt.money(r["revenue_change"]), _share(r["margin_pct_reference"]), _share(r["margin_pct_proposed"])]
            for r in years.to_dict("records")]
    st.html(f"<style>{TABLE_STYLE}</style>{table(headers, rows, kind='num years')}")
    st.caption("Calendar years of the history up to this month (months: of data in the year; margin: gross "
               "margin / revenue); the brief adds the margins in dollars.")


# ---------------------------------------------------------------------- trends
QUALITY = (
    ("missed_issue_rate", "Missed-issue rate (QA-audited tasks)", fmt.PERCENT_HOVER),
    ("csat", "CSAT (1-5)", ".2f"),
    ("reopen_rate", "Reopen rate", fmt.PERCENT_HOVER),
)
# Five panels in one figure, one chart for each browser to draw (a crowd opening the page at
# once draws it in eight renderers on two cores): revenue and activity on the first row, the
# three quality measures under them. Each row has its own legend under it (paper units).
TREND_GRID = [
    [{"colspan": 3}, None, None, {"colspan": 3, "secondary_y": True}, None, None],
    [{"colspan": 2}, None, {"colspan": 2}, None, {"colspan": 2}, None],
]
LEGENDS = {
    "legend": {"orientation": "h", "x": 0.0, "y": 0.55, "yanchor": "top"},
    "legend2": {"orientation": "h", "x": 0.54, "y": 0.55, "yanchor": "top"},
    "legend3": {"orientation": "h", "x": 0.0, "y": -0.07, "yanchor": "top"},
}


def _revenue_traces(fig: go.Figure, ov: ov_engine.Overview, every_plan: bool) -> None:
    for plan, rows in ov.revenue_trend.groupby("plan", sort=False):
        role = {ov.reference: "reference", ov.proposed: "proposed"}.get(str(plan))
        if role is None and not every_plan:
            continue
        style = {"reference": {"color": REFERENCE_COLOUR, "dash": "dash", "width": 3},
                 "proposed": {"color": PROPOSED_COLOUR, "width": 3}}.get(role or "", {"width": 1.5})
        fig.add_scatter(x=rows["month"], y=rows["revenue"], name=f"{plan} ({role})" if role else str(plan),
                        line=style, mode="lines+markers", hovertemplate=f"%{{y:{fmt.MONEY_TICKS}}}",
                        legend="legend", row=1, col=1)
    fig.update_yaxes(tickformat=fmt.MONEY_TICKS, rangemode="tozero", row=1, col=1)


def _activity_traces(fig: go.Figure, ov: ov_engine.Overview) -> None:
    act = ov.activity_trend
    fig.add_bar(x=act["month"], y=act["billable_units"], name="billable outcomes", marker_color="#90caf9",
                hovertemplate=f"%{{y:{fmt.COUNT_TICKS}}}", legend="legend2", row=1, col=4)
    fig.add_scatter(x=act["month"], y=act["resolution_rate"], name="resolution rate",
                    line={"color": PROPOSED_COLOUR, "width": 3}, hovertemplate=f"%{{y:{fmt.PERCENT_HOVER}}}",
                    legend="legend2", row=1, col=4, secondary_y=True)
    fig.update_yaxes(tickformat=fmt.COUNT_TICKS, rangemode="tozero", row=1, col=4, secondary_y=False)
    # Round steps of 10 points on the rate's axis (synchronised ticks would read 18%, 37%, 55%).
    fig.update_yaxes(tickformat=fmt.PERCENT_TICKS, rangemode="tozero", showgrid=False, tickmode="linear",
                     dtick=0.1, row=1, col=4, secondary_y=True)


def _quality_traces(fig: go.Figure, ov: ov_engine.Overview) -> None:
    q = ov.quality_trend
    for col, (metric, _, ticks) in zip((1, 3, 5), QUALITY, strict=True):
        first = col == 1  # one legend entry per line, not three
        fig.add_scatter(x=q["month"], y=q[f"{metric}_ai"], name="AI live", legendgroup="ai", showlegend=first,
                        line={"color": PROPOSED_COLOUR, "width": 3}, hovertemplate=f"%{{y:{ticks}}}",
                        legend="legend3", row=2, col=col)
        fig.add_scatter(x=q["month"], y=q[f"{metric}_baseline"], name="human baseline", legendgroup="base",
                        showlegend=first, line={"color": BASELINE_COLOUR, "dash": "dash"},
                        hovertemplate=f"%{{y:{ticks}}}", legend="legend3", row=2, col=col)
        fig.update_yaxes(tickformat=ticks, rangemode="tozero", row=2, col=col)


def _trend_chart(ov: ov_engine.Overview, every_plan: bool) -> go.Figure:
    """Revenue by month, billable outcomes with the resolution rate, and the three quality measures."""
    titles = ["Revenue by month", "Billable outcomes and resolution rate", *(title for _, title, _ in QUALITY)]
    fig = make_subplots(rows=2, cols=6, specs=TREND_GRID, subplot_titles=titles,
                        vertical_spacing=0.2, horizontal_spacing=0.07)
    _revenue_traces(fig, ov, every_plan)
    _activity_traces(fig, ov)
    _quality_traces(fig, ov)
    fig.update_layout(height=720, margin={"t": 40, "b": 10, "l": 10, "r": 10}, hovermode="x unified", **LEGENDS)
    return fig


@frame.shared_figure
def _figure(_ov: ov_engine.Overview, key: str, every_plan: bool) -> go.Figure:
    """The page's chart, built once per data version and scenario for every session (frame.shared_figure)."""
    return _trend_chart(_ov, every_plan)


# The light first view: the brief's SVG charts as images, six panels in a grid. A crowd opening
# the shared link draws no chart library: plotly was 1.1-1.2 s of each browser's main thread on a
# cold visit, most of this page's drawing (README, cold start's fourth pass).
TRENDS_STYLE = (".op-trends{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:12px}"
                ".op-trends figure{margin:0}.op-trend-title{font-weight:600;font-size:.9em;margin-bottom:4px}"
                ".op-trends img{width:100%;background:#fff;border-radius:6px;border:1px solid rgba(128,128,128,.25)}"
                ".op-trends figcaption{font-size:.8em;opacity:.75}")


@frame.shared_figure
def _static_trends(_ov: ov_engine.Overview, key: str) -> str:
    """The six trend panels as one HTML block, made once per data version and scenario (`key`)."""
    panels = "".join(
        f'<figure><div class="op-trend-title">{escape(title)}</div>'
        f"{cards.svg_image(drawing, title)}"
        f"<figcaption>{escape(caption)}</figcaption></figure>"
        for title, drawing, caption in brief.trend_figures(_ov) if drawing
    )
    return f'<style>{TRENDS_STYLE}</style><div class="op-trends">{panels}</div>'


def _trends(ov: ov_engine.Overview, key: str) -> None:
    st.subheader("Trends by month")
    left, right = st.columns(2)
    interactive = left.toggle("Interactive chart", value=False, key="overview.interactive",
                              help="Draw the trends as one chart you can hover for each month's values and "
                              "zoom, instead of the six light panels.")
    every_plan = right.toggle("Show every plan", value=False, key="overview.every_plan",
                              help="Add every other plan of the plan set to the revenue chart (the reference "
                              "and proposed plans are always drawn; this draws the interactive chart).")
    if interactive or every_plan:
        st.plotly_chart(_figure(ov, key, every_plan), width="stretch", config=frame.CHART_CONFIG)
    else:
        st.html(_static_trends(ov, key))
    st.caption(f"Quality compares tasks with the AI live against the human-only baseline; the reopen rate "
               f"counts a return within {ov.reopen_window_hours:g} hours.")


# ---------------------------------------------------------------------- movers
# Two tables side by side in half the page each: the figures stay on one line, the account wraps.
MOVERS_STYLE = "table.roi.movers td:not(:first-child),table.roi.movers th:not(:first-child){white-space:nowrap}"


def _movers_table(df: pd.DataFrame, empty: str, reference: str, proposed: str) -> None:
    if df.empty:
        st.info(empty)
        return
    rows = [[str(r["account_id"]) if not isinstance(r["name"], str) or not r["name"] else f"{r['name']} ({r['account_id']})",
             fmt.money(float(r["reference_revenue"])), fmt.money(float(r["revenue"])), fmt.money(float(r["change"])),
             _share(float(r["change_pct"]))]
            for r in df.to_dict("records")]
    headers = ["Account", reference, proposed, "Change", "Change %"]
    st.html(f"<style>{TABLE_STYLE}{MOVERS_STYLE}</style>{table(headers, rows, kind='num movers')}")


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
    _trends(ov, page.key)
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
