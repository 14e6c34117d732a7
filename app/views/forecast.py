"""Forecast (pricing, executive): where each pricing model takes revenue over the coming months.

Draws what `forecast.forecast` computed: for every plan of the scenario, a fan
chart (history, then the P10-P90 band and the median), the probability that
the proposed plan beats the reference plan, and how volatile each model's
revenue is. The assumptions are estimated from the warehouse and shown as
controls; changing one re-runs the (cached, seeded) simulation in a moment.
"""

from __future__ import annotations

import hashlib
import json

import plotly.graph_objects as go
import scenario
import streamlit as st
import ui

from outcome_pricing import forecast as fc
from outcome_pricing import pricing
from outcome_pricing.definitions import Definition
from outcome_pricing.exports import to_safe_csv
from outcome_pricing.plans import PlanSet

SCENARIO_CHOICES = (250, 500, 1000, 2000, 5000)
BAND_FILL = "rgba(31, 119, 180, 0.18)"
BAND_LINE = "rgba(31, 119, 180, 0.0)"


@st.cache_data(show_spinner="Estimating the assumptions from history…", max_entries=16)
def _estimates(_wh: object, plans_toml: str, definition_toml: str, version: str) -> fc.Assumptions:
    return fc.assumptions_from_warehouse(  # type: ignore[arg-type]
        _wh, Definition.from_toml_text(definition_toml), PlanSet.from_toml_text(plans_toml)
    )


@st.cache_data(show_spinner="Simulating scenarios…", max_entries=32)
def _forecast(
    _wh: object, plans_toml: str, definition_toml: str, overrides: tuple[tuple[str, float], ...],
    months: int, scenarios: int, seed: int, reference: str, version: str,
) -> fc.ForecastResult:
    planset = PlanSet.from_toml_text(plans_toml)
    d = Definition.from_toml_text(definition_toml)
    base = _estimates(_wh, plans_toml, definition_toml, version)
    return fc.forecast(  # type: ignore[arg-type]
        _wh, planset, d, months=months, scenarios=scenarios, seed=seed, assumptions=base,
        reference=reference, overrides=dict(overrides), workers=2,
    )


# ---------------------------------------------------------------------- controls
def _format(control: fc.Control) -> str:
    return "%.4f" if control.step < 0.01 else "%.2f" if control.step < 0.5 else "%.1f" if control.step < 1 else "%.0f"


def _assumption_controls(estimates: fc.Assumptions) -> tuple[tuple[str, float], ...]:
    """One input per assumption, starting at its estimate; returns the values the user changed."""
    # Keys carry the estimates, so new data or another definition starts from the new estimates.
    tag = hashlib.sha256(json.dumps(estimates.values(), sort_keys=True).encode()).hexdigest()[:10]
    values = estimates.values()
    changed: list[tuple[str, float]] = []
    with st.expander("Assumptions (estimated from your history; change any of them)", expanded=True,
                     icon=":material/tune:"):
        if st.button("Reset to the estimates", icon=":material/restart_alt:", key="fc.reset"):
            for c in fc.CONTROLS:
                st.session_state.pop(f"fc.{tag}.{c.name}", None)
        cols = st.columns(3)
        for i, c in enumerate(fc.CONTROLS):
            source = estimates.sources.get(c.name, "")
            estimate = values[c.name]
            new = cols[i % 3].number_input(
                c.label, min_value=c.minimum, max_value=c.maximum, value=min(max(estimate, c.minimum), c.maximum),
                step=c.step, format=_format(c), key=f"fc.{tag}.{c.name}",
                help=f"{c.help}\n\nEstimate: {estimate:.4g} ({source}).",
            )
            if new != estimate:
                changed.append((c.name, float(new)))
    return tuple(changed)


def _run_controls() -> tuple[int, int, int]:
    left, mid, right = st.columns(3)
    months = left.slider("Months ahead", 3, 36, 12, key="fc.months",
                         help="The horizon: months after the last month of history.")
    scenarios = mid.select_slider("Scenarios", SCENARIO_CHOICES, value=1000, key="fc.scenarios",
                                  help="More scenarios give smoother bands and take longer.")
    seed = int(right.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="fc.seed",
                                  help="The same seed gives the same scenarios, so runs can be compared."))
    return months, scenarios, seed


# ---------------------------------------------------------------------- drawing
def _headline(result: fc.ForecastResult, reference: str, proposed: str) -> None:
    vol = result.volatility.set_index("plan")
    horizon = f"{result.months[0]:%b %Y} to {result.months[-1]:%b %Y}"
    chance = None if proposed == reference else result.prob(proposed, reference)
    if chance is not None:
        st.markdown(f"#### {ui.pct(chance, 0)} chance that **{proposed}** earns more than **{reference}** "
                    f"from {horizon}")
    cols = st.columns(4)
    if chance is None:
        cols[0].metric("Chance the proposed plan wins", "—",
                       help="Pick a proposed plan different from the reference plan in the sidebar.")
    else:
        cols[0].metric(
            "Chance the proposed plan wins", ui.pct(chance, 0),
            help=f"Share of scenarios in which {proposed} earns more than {reference} over the whole horizon "
                 "(both plans priced on the same scenarios).",
        )
    for col, name in zip(cols[1:3], (reference, proposed), strict=True):
        row = vol.loc[name]
        col.metric(f"{name}: horizon revenue", ui.money(row["p50"]),
                   help=f"Median (P50) total revenue {horizon}: P10 {ui.money(row['p10'])} to "
                        f"P90 {ui.money(row['p90'])}.")
    cols[3].metric(f"{proposed}: downside", ui.pct(vol.loc[proposed, "downside"]),
                   help="How far the P10 horizon revenue falls below the median (1 - P10 / P50).")


def _fan(result: fc.ForecastResult, plan: str, measure: str) -> go.Figure:
    """History as a line, then the P10-P90 band and the median, opening from the last actual month."""
    bands = (result.revenue if measure == "revenue" else result.margin)
    bands = bands[bands["plan"] == plan]
    hist = result.history[result.history["plan"] == plan] if len(result.history) else result.history
    x, p10, p50, p90 = list(bands["month"]), list(bands["p10"]), list(bands["p50"]), list(bands["p90"])
    if len(hist):
        last = hist.iloc[-1]
        x, p10, p50, p90 = [last["month"], *x], [last[measure], *p10], [last[measure], *p50], [last[measure], *p90]
    fig = go.Figure()
    if len(hist):
        fig.add_scatter(x=hist["month"], y=hist[measure], name="history", line={"color": "#444"})
    fig.add_scatter(x=x, y=p90, name="P90", line={"color": BAND_LINE}, showlegend=False)
    fig.add_scatter(x=x, y=p10, name="P10-P90", fill="tonexty", fillcolor=BAND_FILL, line={"color": BAND_LINE})
    fig.add_scatter(x=x, y=p50, name="P50", line={"color": "#1f77b4", "dash": "dash"})
    # From zero: a 5% dip must not look like a cliff.
    fig.update_layout(title=f"{plan}: {measure} per month", yaxis_title="$", hovermode="x unified",
                      yaxis_rangemode="tozero",
                      margin={"t": 50, "b": 30}, height=330, legend={"orientation": "h", "y": -0.15})
    return fig


def _ranges(result: fc.ForecastResult) -> go.Figure:
    """Every plan at a glance: the median horizon revenue and its P10-P90 range."""
    vol = result.volatility
    x: list[str | None] = []
    y: list[float | None] = []
    for row in vol.itertuples(index=False):
        x += [row.plan, row.plan, None]
        y += [row.p10, row.p90, None]
    fig = go.Figure()
    fig.add_scatter(x=x, y=y, mode="lines", line={"width": 10, "color": BAND_FILL}, name="P10-P90")
    fig.add_scatter(x=vol["plan"], y=vol["p50"], mode="markers", marker={"size": 12, "color": "#1f77b4"},
                    name="P50")
    fig.update_layout(title="Revenue over the horizon, every plan", yaxis_title="$", yaxis_rangemode="tozero",
                      margin={"t": 50, "b": 30}, height=330, legend={"orientation": "h", "y": -0.2})
    return fig


def _fans(result: fc.ForecastResult, reference: str, proposed: str) -> None:
    names = list(result.plans)
    default = [p for p in dict.fromkeys((reference, proposed)) if p in names]
    left, right = st.columns([3, 1])
    shown = left.multiselect("Plans to chart", names, default=default, key="fc.shown")
    measure = right.radio("Measure", ["revenue", "margin"], horizontal=True, key="fc.measure")
    cols = st.columns(2)
    for i, plan in enumerate(shown):
        cols[i % 2].plotly_chart(_fan(result, plan, measure), width="stretch", key=f"fc.fan.{plan}.{measure}")


def _volatility(result: fc.ForecastResult) -> None:
    st.subheader("Revenue volatility by model")
    st.caption("Over the whole horizon: mean and P10/P50/P90 of total revenue; CV = standard deviation / mean "
               "(of the horizon total, and month by month on average); downside = 1 - P10/P50.")
    money = {c: ui.MONEY_COLUMN for c in ("mean", "p10", "p50", "p90", "margin_p50")}
    st.dataframe(result.volatility, hide_index=True, column_config={
        **money, "cv_horizon": ui.PCT_COLUMN, "cv_monthly": ui.PCT_COLUMN, "downside": ui.PCT_COLUMN,
    })
    st.caption("Probability that the row plan earns more than the column plan over the horizon")
    st.dataframe(result.prob_beats, column_config={p: ui.PCT_COLUMN for p in result.prob_beats.columns})


def _accounts(result: fc.ForecastResult, reference: str, proposed: str) -> None:
    if proposed == reference:
        return
    with st.expander(f"Which accounts drive the difference ({proposed} vs {reference})", icon=":material/group:"):
        st.caption("Mean revenue over the horizon per account, across scenarios.")
        st.dataframe(result.account_changes(proposed, reference), hide_index=True, column_config={
            "reference_revenue": ui.MONEY_COLUMN, "revenue": ui.MONEY_COLUMN, "change": ui.MONEY_COLUMN,
        })


def _sources(result: fc.ForecastResult) -> None:
    with st.expander("Where the assumptions come from", icon=":material/info:"):
        a = result.assumptions
        rows = [{"assumption": c.label, "value": a.values()[c.name], "source": a.sources.get(c.name, "set on this page")}
                for c in fc.CONTROLS]
        st.dataframe(rows, hide_index=True)
        st.caption("Today's level per account (the starting point of every scenario)")
        st.dataframe(a.accounts, hide_index=True)
    bands = result.revenue.assign(month=result.revenue["month"].dt.strftime("%Y-%m"))
    st.download_button("Download the revenue bands (CSV)", to_safe_csv(bands), file_name="forecast_bands.csv",
                       mime="text/csv", icon=":material/download:")


def _plans(sc: scenario.Scenario) -> tuple[str, str, str]:
    """The scenario's plans (TOML), reference and proposed plan.

    Until the sidebar carries plans, the example plans, the first as reference
    and the first other plan with an outcome charge as proposed.
    """
    plans_toml = getattr(scenario, "plans_toml", pricing.example_plans_text)()
    planset = ui.guarded(lambda: PlanSet.from_toml_text(plans_toml))
    reference = sc.reference_plan or planset.plans[0].name
    proposed = sc.proposed_plan or next(
        (p.name for p in planset.plans if p.has_outcome_charge and p.name != reference), reference
    )
    return plans_toml, reference, proposed


def main() -> None:
    ui.page_header(
        "Forecast",
        "Where each pricing model takes revenue over the coming months: the range, not one line. "
        "Outcome pricing moves risk to the seller; see how wide the band is and who wins how often.",
    )
    wh = ui.require_data()
    sc = scenario.current()
    plans_toml, reference, proposed = _plans(sc)
    definition_toml, version = sc.definition.to_toml(), ui.data_version()
    months, scenarios, seed = _run_controls()
    estimates = ui.guarded(lambda: _estimates(wh, plans_toml, definition_toml, version))
    overrides = _assumption_controls(estimates)
    result = ui.guarded(lambda: _forecast(wh, plans_toml, definition_toml, overrides, months, scenarios, seed,
                                          reference, version))
    st.caption(f"Definition **{sc.definition.name}** (version {sc.definition.version}); {scenarios:,} scenarios, "
               f"seed {seed}; {result.months[0]:%b %Y} to {result.months[-1]:%b %Y}. Reference plan **{reference}**, "
               f"proposed plan **{proposed}** (change them in the sidebar).")
    _headline(result, reference, proposed)
    st.plotly_chart(_ranges(result), width="stretch", key="fc.ranges")
    _fans(result, reference, proposed)
    _volatility(result)
    _accounts(result, reference, proposed)
    _sources(result)


main()
