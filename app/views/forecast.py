"""Forecast (pricing, executive): where each pricing model takes revenue over the coming months.

Draws what `forecast.forecast` computed: for every plan of the scenario, a fan
chart (history, then the P10-P90 band and the median), the probability that
the proposed plan beats the reference plan, how volatile each model's
revenue is, and for plans with such terms the prepaid commitments' breakage and
overage bands and the guarantee risk (revenue is net of the credits). The assumptions are estimated from the warehouse and shown as
controls; changing one re-runs the (cached, seeded) simulation in a moment.
Rates are entered in percent and handed to the engine as fractions (the
conversion happens here, at the boundary).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Mapping
from typing import Any

import fmt
import frame
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from outcome_pricing.analysis import forecast as fc
from outcome_pricing.kit.cells import to_safe_csv
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse

SCENARIO_CHOICES = (250, 500, 1000, 2000, 5000)
BAND_FILL = "rgba(31, 119, 180, 0.18)"
BAND_LINE = "rgba(31, 119, 180, 0.0)"
RANGE_LINE = "rgba(31, 119, 180, 0.4)"  # a plan's P10-P90 range over the horizon: visible beside its P50 dot
HISTORY_LINE = "rgba(128, 128, 128, 0.9)"  # readable on the light and the dark theme
MONEY_AXIS = {"tickformat": fmt.MONEY_TICKS}
# Assumptions that are rates: entered in percent, passed to the engine as fractions.
PERCENT_CONTROLS = frozenset({
    "volume_growth", "growth_uncertainty", "market_uncertainty", "volume_noise", "resolution_ceiling",
    "ceiling_uncertainty", "resolution_noise", "token_drift", "churn_hazard",
})
MEASURES = {"revenue": "Revenue", "margin": "Margin"}


@st.cache_data(show_spinner="Estimating the assumptions from history…", max_entries=16)
def _estimates(_wh: Warehouse, plans_toml: str, definition_toml: str, version: str) -> fc.Assumptions:
    return fc.assumptions_from_warehouse(
        _wh, Definition.from_toml_text(definition_toml), PlanSet.from_toml_text(plans_toml)
    )


@st.cache_data(show_spinner="Simulating scenarios…", max_entries=32)
def _forecast(
    _wh: Warehouse, plans_toml: str, definition_toml: str, overrides: tuple[tuple[str, float], ...],
    months: int, scenarios: int, seed: int, reference: str, version: str,
) -> fc.ForecastResult:
    planset = PlanSet.from_toml_text(plans_toml)
    d = Definition.from_toml_text(definition_toml)
    base = _estimates(_wh, plans_toml, definition_toml, version)
    return fc.forecast(
        _wh, planset, d, months=months, scenarios=scenarios, seed=seed, assumptions=base,
        reference=reference, overrides=dict(overrides), workers=2,
    )


# ---------------------------------------------------------------------- controls
def _is_pct(control: fc.Control) -> bool:
    return control.name in PERCENT_CONTROLS


def _shown(control: fc.Control, value: float) -> float:
    """An assumption as its control shows it: rates in percent (rounded so 0.07 shows 7, not 7.000000000000001)."""
    return fmt.to_percent(value) if _is_pct(control) else value


def _engine(control: fc.Control, shown: float) -> float:
    """Back from the control's unit to the engine's (fractions)."""
    return fmt.from_percent(shown) if _is_pct(control) else float(shown)


def _format(control: fc.Control) -> str:
    if _is_pct(control):
        return "%.2f"
    return "%.2f" if control.step < 0.5 else "%.1f" if control.step < 1 else "%.0f"


def _text(control: fc.Control, value: float) -> str:
    """An assumption's value as text: 0.65% for rates, 6 or 0.25 otherwise."""
    return fmt.pct(value, 2) if _is_pct(control) else f"{value:.4g}"


def _assumption_controls(estimates: fc.Assumptions) -> tuple[tuple[str, float], ...]:
    """One input per assumption, starting at its estimate; returns the values the user changed."""
    # Keys carry the estimates, so new data or another definition starts from the new estimates.
    tag = hashlib.sha256(json.dumps(estimates.values(), sort_keys=True).encode()).hexdigest()[:10]
    values = estimates.values()
    changed: list[tuple[str, float]] = []
    with st.expander("Assumptions (estimated from your history; change any of them)", expanded=True,
                     icon=":material/tune:"):
        if st.button("Reset to the estimates", icon=":material/restart_alt:", key="fc.reset",
                     help="Forget every change below: each assumption goes back to its estimate from history."):
            for c in fc.CONTROLS:
                st.session_state.pop(f"fc.{tag}.{c.name}", None)
        cols = st.columns(3)
        for i, c in enumerate(fc.CONTROLS):
            source = estimates.sources.get(c.name, "")
            estimate = _shown(c, values[c.name])
            unit = "\n\nEntered in percent: 2.00 here is 0.02 in the formula." if _is_pct(c) else ""
            new = cols[i % 3].number_input(
                f"{c.label} (%)" if _is_pct(c) else c.label,
                min_value=_shown(c, c.minimum), max_value=_shown(c, c.maximum),
                value=min(max(estimate, _shown(c, c.minimum)), _shown(c, c.maximum)),
                step=_shown(c, c.step), format=_format(c), key=f"fc.{tag}.{c.name}",
                help=f"{c.help}{unit}\n\nEstimate: {_text(c, values[c.name])} ({source}).",
            )
            if new != estimate:
                changed.append((c.name, _engine(c, new)))
    return tuple(changed)


def _run_controls() -> tuple[int, int, int]:
    left, mid, right = st.columns(3)
    months = left.slider("Months ahead", 3, 36, fc.DEFAULT_MONTHS, key="fc.months",
                         help="The horizon: months after the last month of history.")
    scenarios = mid.select_slider("Scenarios", SCENARIO_CHOICES, value=fc.DEFAULT_SCENARIOS, key="fc.scenarios",
                                  help="More scenarios give smoother bands and take longer (the command line's "
                                       "default is the same).")
    seed = int(right.number_input("Seed", min_value=0, max_value=2**31 - 1, value=fc.DEFAULT_SEED, step=1,
                                  key="fc.seed",
                                  help="The same seed gives the same scenarios, so runs can be compared."))
    return months, scenarios, seed


# ---------------------------------------------------------------------- drawing
def _headline(result: fc.ForecastResult, reference: str, proposed: str) -> None:
    vol = result.volatility.set_index("plan")
    horizon = fmt.months(result.months[0], result.months[-1])
    chance = None if proposed == reference else result.prob(proposed, reference)
    if chance is not None:
        st.markdown(f"#### {result.chance_sentence(proposed, reference)} from {horizon}")
    cols = st.columns(4)
    if chance is None:
        cols[0].metric("Chance the proposed plan wins", fmt.NOTHING,
                       help="Pick a proposed plan different from the reference plan in the sidebar.")
    else:
        cols[0].metric(
            "Chance the proposed plan wins", fc.chance_text(chance),
            help=f"Share of scenarios in which {proposed} earns more than {reference} over the whole horizon "
                 "(both plans priced on the same scenarios).",
        )
    for col, name in zip(cols[1:3], (reference, proposed), strict=True):
        col.metric(f"{name}: horizon revenue", fmt.money(fmt.cell(vol, name, "p50")),
                   help=f"Median (P50) total revenue {horizon}: P10 {fmt.money(fmt.cell(vol, name, 'p10'))} to "
                        f"P90 {fmt.money(fmt.cell(vol, name, 'p90'))}.")
    cols[3].metric(f"{proposed}: downside", fmt.pct(fmt.cell(vol, proposed, "downside")),
                   help="How far the P10 horizon revenue falls below the median (1 - P10 / P50).")



def _fans(result: fc.ForecastResult, plans: list[str], measure: str) -> go.Figure:
    """One fan per plan, two to a row, in one figure (one chart for the browser to draw, one legend):
    history as a line, then the P10-P90 band and the median, opening from the last actual month."""
    cols = 1 if len(plans) == 1 else 2
    rows = -(-len(plans) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"{plan}: {measure} per month" for plan in plans],
                        horizontal_spacing=0.09, vertical_spacing=0.25 / rows)
    for i, plan in enumerate(plans):
        _add_fan(fig, result, plan, measure, row=i // cols + 1, col=i % cols + 1, legend=i == 0)
    # From zero: a 5% dip must not look like a cliff.
    fig.update_yaxes(**MONEY_AXIS, title_text=f"{MEASURES[measure]} per month", rangemode="tozero")
    fig.update_layout(hovermode="x unified", margin={"t": 50, "b": 30}, height=360 * rows,
                      legend={"orientation": "h", "y": -0.25 / rows})
    return fig


def _add_fan(fig: go.Figure, result: fc.ForecastResult, plan: str, measure: str, *, row: int, col: int,
             legend: bool) -> None:
    bands = (result.revenue if measure == "revenue" else result.margin)
    bands = bands[bands["plan"] == plan]
    hist = result.history[result.history["plan"] == plan] if len(result.history) else result.history
    x, p10, p50, p90 = list(bands["month"]), list(bands["p10"]), list(bands["p50"]), list(bands["p90"])
    if len(hist):
        last = hist.iloc[-1]
        x, p10, p50, p90 = [last["month"], *x], [last[measure], *p10], [last[measure], *p50], [last[measure], *p90]
    at = {"row": row, "col": col}
    if len(hist):
        fig.add_scatter(x=hist["month"], y=hist[measure], name="history", line={"color": HISTORY_LINE},
                        legendgroup="history", showlegend=legend, **at)
    fig.add_scatter(x=x, y=p90, name="P90", line={"color": BAND_LINE}, showlegend=False, **at)
    fig.add_scatter(x=x, y=p10, name="P10-P90", fill="tonexty", fillcolor=BAND_FILL, line={"color": BAND_LINE},
                    legendgroup="band", showlegend=legend, **at)
    fig.add_scatter(x=x, y=p50, name="P50", line={"color": "#1f77b4", "dash": "dash"}, legendgroup="p50",
                    showlegend=legend, **at)
    fig.update_xaxes(title_text="Month", **at)


def _ranges(result: fc.ForecastResult) -> go.Figure:
    """Every plan at a glance: the median horizon revenue and its P10-P90 range."""
    vol = result.volatility
    x: list[str | None] = []
    y: list[float | None] = []
    for plan, p10, p90 in zip(vol["plan"].astype(str), vol["p10"].astype(float), vol["p90"].astype(float), strict=True):
        x += [plan, plan, None]  # one vertical segment per plan, None breaks the line
        y += [p10, p90, None]
    fig = go.Figure()
    fig.add_scatter(x=x, y=y, mode="lines", line={"width": 14, "color": RANGE_LINE}, name="P10-P90")
    fig.add_scatter(x=vol["plan"], y=vol["p50"], mode="markers", marker={"size": 12, "color": "#1f77b4"},
                    name="P50")
    fig.update_layout(title="Revenue over the horizon, every plan",
                      yaxis={**MONEY_AXIS, "title": "Total revenue over the horizon", "rangemode": "tozero"},
                      xaxis_title="Plan", margin={"t": 50, "b": 30}, height=360,
                      legend={"orientation": "h", "y": -0.3})
    return fig


def _fan_charts(result: fc.ForecastResult, reference: str, proposed: str) -> None:
    names = list(result.plans)
    default = [p for p in dict.fromkeys((reference, proposed)) if p in names]
    left, right = st.columns([3, 1])
    shown = left.multiselect(
        "Plans to chart", names, default=default, key="fc.shown", persist_state="session",
        help="One fan chart per plan: the history, then the P10-P90 band and the median (P50). "
             "Starts with the reference and the proposed plan of the sidebar.",
    )
    measure = right.radio(
        "Measure", list(MEASURES), format_func=MEASURES.get, horizontal=True, key="fc.measure",
        persist_state="session",
        help="Revenue: what the plan bills. Margin: revenue minus the cost to serve (model tokens and the "
             "per-AI-task cost).",
    )
    if shown:
        st.plotly_chart(_fans(result, list(shown), measure), width="stretch", key="fc.fans",
                        config=frame.CHART_CONFIG)
    st.caption(
        f"Seat charges: the history bills each account's contracted seats as they stand today (the accounts "
        f"file holds one seat count). The forecast starts from those seats and moves them toward the seats the "
        f"human workload needs, closing 1/{result.assumptions.seat_lag_months:g} of the gap a month (the seat "
        f"right-sizing lag), so a seat plan eases down gradually where accounts hold more seats than they need."
    )
    st.caption(
        f"{fc.MIX_ASSUMPTION} Deal terms as in the backtest: nothing is billed before an account's first charged "
        f"month (go-live plus free months), commitments run in their periods, and revenue is net of guarantee "
        f"credits (see the tab Commitments and guarantees)."
    )


def _volatility(result: fc.ForecastResult) -> None:
    st.subheader("Revenue volatility by model")
    st.caption("Over the whole horizon: mean and P10/P50/P90 of total revenue; CV = standard deviation / mean "
               "(of the horizon total, and month by month on average); downside = 1 - P10/P50.")
    st.dataframe(result.volatility, hide_index=True, height="content", column_config={
        "plan": st.column_config.TextColumn("Plan"),
        "mean": fmt.dollars_column("Mean"),
        "p10": fmt.dollars_column("P10"),
        "p50": fmt.dollars_column("P50 (median)"),
        "p90": fmt.dollars_column("P90"),
        "cv_horizon": fmt.percent_column("CV, horizon", "Standard deviation / mean of the horizon total."),
        "cv_monthly": fmt.percent_column("CV, monthly", "Standard deviation / mean of each month, averaged over months."),
        "downside": fmt.percent_column("Downside", "1 - P10 / P50: how far a bad case falls below the median."),
        "margin_p50": fmt.dollars_column("Margin, P50"),
    })
    st.caption("Probability that the row plan earns more than the column plan over the horizon "
               "(no figure where a plan meets itself)")
    # Text decided by the engine: blank where a plan meets itself, "0%" only when it is 0.
    st.dataframe(result.beats_text(), height="content", column_config={"_index": st.column_config.TextColumn("Plan")})


def _accounts(result: fc.ForecastResult, reference: str, proposed: str) -> None:
    if proposed == reference:
        st.info("The reference and the proposed plan are the same: pick another in the sidebar to see which "
                "accounts drive the difference.")
        return
    st.subheader(f"Which accounts drive the difference ({proposed} vs {reference})")
    st.caption("Mean revenue over the horizon per account, across scenarios.")
    st.dataframe(result.account_changes(proposed, reference), hide_index=True, column_config={
        "account_id": st.column_config.TextColumn("Account"),
        "reference_revenue": fmt.dollars_column(f"{reference} (reference)"),
        "revenue": fmt.dollars_column(f"{proposed} (proposed)"),
        "change": fmt.dollars_column("Change"),
    })


def _range_text(row: Mapping[Hashable, Any], measure: str) -> str:
    """'$9,620 (P10-P90 $9,330-$9,910)' from a row's mean and bands (formatting only)."""
    return (f"{fmt.money(row[f'{measure}_mean'])} (P10-P90 {fmt.money(row[f'{measure}_p10'])}-"
            f"{fmt.money(row[f'{measure}_p90'])})")


def _commitments(result: fc.ForecastResult) -> None:
    """Prepaid commitments: what expires unused (breakage) and what is billed beyond (overage)."""
    if result.commitments.empty:
        return
    st.subheader("Prepaid commitments: breakage and overage")
    horizon = fmt.months(result.months[0], result.months[-1])
    for row in result.commitments.to_dict("records"):
        st.markdown(f"**{row['plan']}**: expected breakage {_range_text(row, 'breakage')}; expected overage "
                    f"{_range_text(row, 'overage')}, {horizon}.")
    st.caption("Breakage: commitment left unused at the end of a period, after any rollover (the customer paid "
               "for it; the vendor books it, no service delivered). Overage: usage billed beyond the commitment's "
               "balance. Periods run from each account's first charged month; a period open at the end of the "
               "history carries its balance into the forecast. Totals over the horizon, all accounts; the "
               "commitment lines themselves are in the revenue above.")
    st.dataframe(result.commitments, hide_index=True, height="content", column_config={
        "plan": st.column_config.TextColumn("Plan"),
        **{f"{m}_{q}": fmt.dollars_column(f"{m.capitalize()}, {'mean' if q == 'mean' else q.upper()}")
           for m in ("breakage", "overage") for q in ("mean", "p10", "p50", "p90")},
    })


def _guarantees(result: fc.ForecastResult) -> None:
    """Guarantee risk: how likely each account triggers, and what the credits cost."""
    if result.guarantee_totals.empty:
        return
    st.subheader("Guarantee risk")
    st.caption("Revenue above is already net of these credits. A guarantee window triggers when its billable "
               "outcomes per conversation fall below the plan's minimum resolution rate; its credit is a share of "
               "the window's outcome charges, booked in the window's last month. Outcomes in each window are drawn "
               "around the forecast's expectation with binomial noise (the Deal desk uses the same draws).")
    for row in result.guarantee_totals.to_dict("records"):
        plan = str(row["plan"])
        st.markdown(f"**{plan}**: expected credits {fmt.money(row['expected_credit'])} (P10-P90 "
                    f"{fmt.money(row['p10_credit'])}-{fmt.money(row['p90_credit'])}); "
                    f"{fc.chance_text(float(row['p_any_trigger']))} chance that at least one account triggers.")
        accounts = result.guarantees[result.guarantees["plan"] == plan].drop(columns="plan")
        st.dataframe(accounts, hide_index=True, height=fmt.table_height(len(accounts), 10), column_config={
            "account_id": st.column_config.TextColumn("Account"),
            "p_trigger": fmt.percent_column("Chance of a credit", "Share of scenarios in which at least one of "
                                            "the account's windows over the horizon triggers."),
            "expected_credit": fmt.dollars_column("Expected credits"),
            "p90_credit": fmt.dollars_column("P90 credits", "Credits in a bad case: 1 scenario in 10 credits more."),
        })


def _risks(result: fc.ForecastResult) -> None:
    if result.commitments.empty and result.guarantee_totals.empty:
        st.info("No plan has a prepaid commitment or a guarantee: nothing can expire unused or be credited back.")
        return
    _commitments(result)
    _guarantees(result)


def _sources(result: fc.ForecastResult) -> None:
    """Each assumption's value and where it comes from, and today's level per account."""
    a = result.assumptions
    rows = [{"Assumption": c.label, "Value": _text(c, a.values()[c.name]),
             "Source": a.sources.get(c.name, "set on this page")} for c in fc.CONTROLS]
    st.dataframe(rows, hide_index=True)
    st.caption("Today's level per account (the starting point of every scenario)")
    st.dataframe(a.accounts, hide_index=True)


def _download(result: fc.ForecastResult) -> None:
    bands = result.revenue.assign(month=result.revenue["month"].map(fmt.month_key))
    st.download_button("Download the revenue bands (CSV)", to_safe_csv(bands), file_name="forecast_bands.csv",
                       mime="text/csv", icon=":material/download:")


def main() -> None:
    page = frame.start(
        "Where each pricing model takes revenue over the coming months: the range, not one line. "
        "Outcome pricing moves risk to the seller; see how wide the band is and who wins how often.",
        empty="No history to forecast from yet.",
    )
    sc = page.scenario
    plans_toml, reference, proposed = sc.plans_toml, sc.reference_plan, sc.proposed_plan
    definition_toml, version = sc.definition.to_toml(), page.version
    months, scenarios, seed = _run_controls()
    estimates = frame.guarded(lambda: _estimates(page.wh, plans_toml, definition_toml, version))
    overrides = _assumption_controls(estimates)
    result = frame.guarded(lambda: _forecast(page.wh, plans_toml, definition_toml, overrides, months, scenarios,
                                             seed, reference, version))
    st.caption(f"Definition **{sc.definition.name}** (version {sc.definition.version}); {fmt.count(scenarios)} scenarios, "
               f"seed {seed}; {fmt.months(result.months[0], result.months[-1])}. Reference plan **{reference}**, "
               f"proposed plan **{proposed}** (change them in the sidebar).")
    _headline(result, reference, proposed)
    st.plotly_chart(_ranges(result), width="stretch", key="fc.ranges", config=frame.CHART_CONFIG)
    # Only the open tab is drawn (frame.lazy_tabs): fans, tables and per-account grids all on one
    # page were most of its time in the browser. The assumptions' sources are a tab too: in a
    # collapsed expander their two data grids were still drawn on every visit (issue 20.1).
    frame.lazy_tabs("fc.view", {
        "Fan charts": lambda: _fan_charts(result, reference, proposed),
        "Volatility and odds": lambda: _volatility(result),
        "Commitments and guarantees": lambda: _risks(result),
        "By account": lambda: _accounts(result, reference, proposed),
        "Where the assumptions come from": lambda: _sources(result),
    })
    _download(result)


main()
