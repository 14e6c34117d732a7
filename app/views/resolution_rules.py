"""Resolution rules (pricing team): what counts as a billable outcome, and what it does.

Pick a preset or set each knob; see billable outcomes and the resolution rate by
month, the funnel of reason codes, two definitions side by side per account, the
sensitivity to each knob, and the evidence behind any reason code. The engine
(`outcome_pricing.rules.definition`) computes everything; this page draws.
"""

from __future__ import annotations

import datetime as dt
import math

import fmt
import frame
import pandas as pd
import plotly.graph_objects as go
import scenario
import streamlit as st
from plotly.subplots import make_subplots
from streamlit.delta_generator import DeltaGenerator

from outcome_pricing import rules as defs
from outcome_pricing.errors import ConfigError
from outcome_pricing.rules import KNOBS, REASONS, Definition, Reason, presets
from outcome_pricing.warehouse import Warehouse, cluster
from outcome_pricing.warehouse.grid import HOUR_GRID

EVIDENCE_ROWS = 200
ALL_ACCOUNTS = "(all accounts)"


# ---------------------------------------------------------------------- cached engine calls
# Keyed on the definition's TOML (name + knobs) and the data version; the warehouse as _wh.
@st.cache_data(show_spinner=False, max_entries=64)
def _outcomes(_wh: Warehouse, definition_toml: str, by: tuple[str, ...], version: str) -> pd.DataFrame:
    return defs.outcomes(_wh, Definition.from_toml_text(definition_toml), by=by)


@st.cache_data(show_spinner=False, max_entries=64)
def _funnel(_wh: Warehouse, definition_toml: str, version: str) -> pd.DataFrame:
    return defs.funnel(_wh, Definition.from_toml_text(definition_toml))


@st.cache_data(show_spinner=False, max_entries=64)
def _compare(_wh: Warehouse, toml_a: str, toml_b: str, version: str) -> pd.DataFrame:
    return defs.compare(_wh, Definition.from_toml_text(toml_a), Definition.from_toml_text(toml_b))


@st.cache_data(show_spinner=False, max_entries=64)
def _compare_totals(_wh: Warehouse, toml_a: str, toml_b: str, version: str) -> defs.TotalsCompared:
    return defs.compare_totals(_wh, Definition.from_toml_text(toml_a), Definition.from_toml_text(toml_b))


@st.cache_data(show_spinner=False, max_entries=64)
def _sensitivity(_wh: Warehouse, definition_toml: str, version: str) -> pd.DataFrame:
    return defs.sensitivity(_wh, Definition.from_toml_text(definition_toml))


@st.cache_data(show_spinner=False, max_entries=64)
def _evidence(_wh: Warehouse, definition_toml: str, reason: Reason, account: str | None, version: str) -> pd.DataFrame:
    d = Definition.from_toml_text(definition_toml)
    return defs.evaluate_tasks(_wh, d, account_id=account, reason=reason, limit=EVIDENCE_ROWS)


@st.cache_data(show_spinner=False, max_entries=8)
def _accounts(_wh: Warehouse, version: str) -> list[str]:
    return _wh.account_ids()


# ---------------------------------------------------------------------- knobs
def _key(knob: str) -> str:
    return f"rr.knob.{knob}"


_SYNCED = "rr.synced"
_PRESET_PICK = "rr.preset"
_UPLOAD = "rr.upload"


def _sync_widgets(d: Definition) -> None:
    """Show the scenario's definition in the knob widgets (it may have changed in the sidebar)."""
    stamp = f"{d.name}:{d.version}"
    # Streamlit drops a widget's state when its page is left, so after a visit to another
    # page the knobs must be filled again even though the definition did not change.
    widgets = [_key(knob.name) for knob in KNOBS] + [_PRESET_PICK]
    if st.session_state.get(_SYNCED) == stamp and all(k in st.session_state for k in widgets):
        return
    for knob in KNOBS:
        value = getattr(d, knob.name)
        st.session_state[_key(knob.name)] = float(value) if knob.name == "partial_credit" else value
    st.session_state[_PRESET_PICK] = scenario.preset_name(d)
    st.session_state[_SYNCED] = stamp


def _knobs_changed() -> None:
    """Widget callback (runs before the script): the edited knobs become a custom definition."""
    values = {knob.name: st.session_state[_key(knob.name)] for knob in KNOBS}
    try:
        d = Definition.from_mapping({"name": scenario.CUSTOM, **values}, "the knobs")
    except ConfigError as exc:
        st.session_state["rr.knob_error"] = str(exc)
        return
    st.session_state.pop("rr.knob_error", None)
    scenario.set_definition(d)
    st.session_state[_SYNCED] = f"{d.name}:{d.version}"
    st.session_state[_PRESET_PICK] = scenario.preset_name(d)


def _preset_picked() -> None:
    pick = st.session_state[_PRESET_PICK]
    if pick != scenario.CUSTOM:
        scenario.set_definition(presets()[pick])


def _uploaded() -> None:
    file = st.session_state.get(_UPLOAD)
    if file is None:
        return
    try:
        d = Definition.from_toml_text(file.getvalue().decode("utf-8"), source=file.name)
    except (ConfigError, UnicodeDecodeError) as exc:
        st.session_state["rr.knob_error"] = str(exc)
        return
    st.session_state.pop("rr.knob_error", None)
    scenario.set_definition(d)


def _knob_panel(d: Definition) -> None:
    _sync_widgets(d)
    options = [*presets(), *([scenario.CUSTOM] if scenario.preset_name(d) == scenario.CUSTOM else [])]
    top = st.columns([2, 3])
    top[0].selectbox(
        "Start from a preset", options, key=_PRESET_PICK, on_change=_preset_picked,
        help="Presets are modelled on public descriptions of vendors' billing rules, not the vendors' "
        "own rules. Changing any knob below makes a custom definition.",
    )
    top[1].markdown(f"**{d.name}** · version `{d.version}`  \n{d.description or 'Custom knobs.'}")
    cols = st.columns(3)
    for i, knob in enumerate(KNOBS):
        _knob_widget(cols[i % 3], knob)
    if "rr.knob_error" in st.session_state:
        st.error(f"**Not applied.** {st.session_state['rr.knob_error']}")


def _knob_widget(col: DeltaGenerator, knob: defs.Knob) -> None:
    key, tip, changed = _key(knob.name), knob.help, _knobs_changed
    if knob.kind is bool:
        col.toggle(knob.label, key=key, help=tip, on_change=changed)
    elif knob.choices:
        col.selectbox(knob.label, knob.choices, format_func=lambda c: str(c).replace("_", " "),
                      key=key, help=tip, on_change=changed)
    elif knob.name == "partial_credit":
        col.slider(knob.label, 0.0, 1.0, step=0.05, key=key, help=tip, on_change=changed)
    elif knob.kind is int:
        col.slider(knob.label, int(knob.minimum or 0), int(knob.maximum or 0), step=1,
                   key=key, help=tip, on_change=changed)
    else:  # hours: the values the cube answers at once (a TOML file may bring another)
        current = st.session_state.get(key)
        options = sorted({*HOUR_GRID, *([float(current)] if current is not None else [])})
        col.select_slider(knob.label, options, format_func=fmt.hours, key=key, help=tip, on_change=changed)


COUNT_TICKS_SIGNED = "+,.0f"  # a change in a count on an axis: +1,200 and -3,400

# ---------------------------------------------------------------------- figures
def _headline(total: pd.Series) -> None:
    cols = st.columns(4)
    cols[0].metric("Billable outcomes, whole history", fmt.count(total["billable_units"]))
    rate = None if pd.isna(total["resolution_rate"]) else float(total["resolution_rate"])
    cols[1].metric("Resolution rate, whole history", fmt.pct(rate),
                   help="Tasks counted as a whole outcome / tasks with the AI live, over all months.")
    cols[2].metric("Tasks with the AI live", fmt.count(total["ai_tasks"]))
    cols[3].metric("All tasks", fmt.count(total["tasks"]))


def _by_month(monthly: pd.DataFrame) -> None:
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=monthly["month"], y=monthly["billable_units"], name="Billable outcomes"))
    fig.add_trace(go.Scatter(x=monthly["month"], y=monthly["resolution_rate"], name="Resolution rate",
                             mode="lines+markers"), secondary_y=True)
    # Both axes from zero: a cropped axis would exaggerate the learning curve.
    fig.update_yaxes(title_text="Billable outcomes", rangemode="tozero", tickformat=fmt.COUNT_TICKS,
                     secondary_y=False)
    # Round rate ticks (0%, 10%, 20%, ...) on their own scale, not the bars' gridlines at 7%, 13%, 20%.
    top = float(monthly["resolution_rate"].max()) if monthly["resolution_rate"].notna().any() else 1.0
    fig.update_yaxes(title_text="Resolution rate", tickformat=fmt.PERCENT_TICKS, range=[0, max(0.1, math.ceil(top * 10) / 10)],
                     tickmode="linear", dtick=0.1, showgrid=False, secondary_y=True)
    fig.update_xaxes(tickformat="%b %Y", hoverformat="%b %Y")
    fig.update_layout(title="Billable outcomes and resolution rate by month", legend_orientation="h")
    st.plotly_chart(fig, width="stretch", config=frame.CHART_CONFIG)


def _funnel_chart(funnel: pd.DataFrame) -> None:
    fig = go.Figure(go.Funnel(y=funnel["stage"], x=funnel["tasks"],
                              texttemplate="%{value:,.0f} (%{percentInitial:.0%})",
                              hovertemplate="%{y}: %{value:,.0f} tasks<extra></extra>"))
    fig.update_layout(title="From all tasks to billable ones (each stage removes one reason code)")
    fig.update_xaxes(tickformat=fmt.COUNT_TICKS)
    st.plotly_chart(fig, width="stretch", config=frame.CHART_CONFIG)
    shown = funnel.assign(reason=funnel["reason"].map(lambda r: fmt.label(str(r)) if r else ""))
    st.dataframe(fmt.shown_rounded(shown, (), ("share",)), hide_index=True, width="stretch",
                 column_config={"stage": st.column_config.TextColumn("Stage"),
                                "tasks": st.column_config.NumberColumn("Tasks left", format="localized"),
                                "removed": st.column_config.NumberColumn("Removed here", format="localized"),
                                "reason": st.column_config.TextColumn("Reason removed"),
                                "share": fmt.percent_column("Share of all tasks")})


def _comparison(page: frame.Page, d: Definition) -> None:
    names = list(presets())
    default = next(n for n in names if n != d.name)
    other_name = st.selectbox("Compare with", names, index=names.index(default),
                              help="A second definition; the table shows each account's outcomes under both.")
    other = presets()[other_name]
    wh, version = page.wh, page.version
    totals = _compare_totals(wh, d.to_toml(), other.to_toml(), version)
    cols = st.columns(3)
    cols[0].metric(f"{d.name} ({d.version})", fmt.count(totals.units_a))
    cols[1].metric(f"{other.name} ({other.version})", fmt.count(totals.units_b),
                   delta=fmt.signed_count(totals.change))
    cols[2].metric(f"Resolution rate, {other.name}", fmt.pct(totals.rate_b),
                   delta=None if totals.rate_change is None else fmt.points(totals.rate_change))
    with st.spinner("Comparing the two definitions account by account…"):
        per_account = _compare(wh, d.to_toml(), other.to_toml(), version)
    top = per_account.head(25).iloc[::-1]
    fig = go.Figure(go.Bar(y=top["account_id"], x=top["change"], orientation="h",
                           marker_color=["#2e7d32" if v >= 0 else "#c62828" for v in top["change"]]))
    fig.update_layout(title=f"Outcomes gained or lost per account moving to {other.name} (largest 25)",
                      xaxis_title="Change in billable outcomes", yaxis_title="Account",
                      height=max(300, 22 * len(top) + 120))
    fig.update_xaxes(tickformat=COUNT_TICKS_SIGNED)
    st.plotly_chart(fig, width="stretch", config=frame.CHART_CONFIG)
    st.dataframe(
        fmt.shown_rounded(per_account, (), ("change_pct",)), hide_index=True, width="stretch",
        column_config={"account_id": st.column_config.TextColumn("Account"),
                       "units_a": st.column_config.NumberColumn(f"Outcomes, {d.name}", format="localized"),
                       "units_b": st.column_config.NumberColumn(f"Outcomes, {other.name}", format="localized"),
                       "change": st.column_config.NumberColumn("Change", format="localized"),
                       "change_pct": fmt.percent_column("Change %")},
    )


def _tornado(sens: pd.DataFrame) -> None:
    order = sens.groupby("label")["change"].apply(lambda s: s.abs().max()).sort_values().index.tolist()
    fig = go.Figure()
    colors = {"lower": "#1565c0", "higher": "#ef6c00", "other": "#6a1b9a"}
    for side, part in sens.groupby("side"):
        fig.add_trace(go.Bar(y=part["label"], x=part["change"], orientation="h", name=f"{side} value",
                             text=part["value"], marker_color=colors.get(str(side)),
                             hovertemplate="%{y}: %{text} → %{x:+,.0f} outcomes<extra></extra>"))
    fig.update_layout(barmode="overlay", title="Change in billable outcomes when one knob moves to a neighbouring value",
                      yaxis={"categoryorder": "array", "categoryarray": order}, xaxis_title="Change in billable outcomes")
    fig.update_xaxes(tickformat=COUNT_TICKS_SIGNED)
    st.plotly_chart(fig, width="stretch", config=frame.CHART_CONFIG)
    st.dataframe(sens.drop(columns=["knob"]), hide_index=True, width="stretch",
                 column_config={"label": st.column_config.TextColumn("Knob"),
                                "side": st.column_config.TextColumn("Moved to"),
                                "value": st.column_config.TextColumn("Value"),
                                "billable_units": st.column_config.NumberColumn("Outcomes", format="localized"),
                                "base_units": st.column_config.NumberColumn("Outcomes now", format="localized"),
                                "change": st.column_config.NumberColumn("Change", format="localized")})


def _sensitivity_view(wh: Warehouse, toml: str, version: str) -> None:
    with st.spinner("Moving each knob to its neighbouring values…"):
        sens = _sensitivity(wh, toml, version)
    _tornado(sens)


def _evidence_panel(page: frame.Page, d: Definition) -> None:
    left, right = st.columns(2)
    reason = left.selectbox("Reason code", REASONS, index=REASONS.index(Reason.ASSUMED),
                            format_func=lambda r: f"{fmt.label(str(r))} ({r})",
                            key="rules.reason", persist_state="session",
                            help="Show sample tasks that got this reason code under the definition.")
    accounts = [ALL_ACCOUNTS, *_accounts(page.wh, page.version)]
    account = right.selectbox("Account", accounts, key="rules.evidence_account", persist_state="session",
                              help="Limit the sample to one customer, e.g. to answer a dispute about its bill.")
    st.caption(f"Why: {defs.explain_reason(reason, d)}")
    if cluster.is_cluster(page.wh):  # the tasks are in Parquet: one account-month at a time
        _cluster_evidence(page, d, reason, account)
        return
    rows = _evidence(page.wh, d.to_toml(), reason, None if account == ALL_ACCOUNTS else account, page.version)
    st.caption(f"First {fmt.count(len(rows))} task(s) by task id (at most {EVIDENCE_ROWS}).")
    st.dataframe(rows, hide_index=True, placeholder="", column_config={c: fmt.label(c) for c in rows.columns})


def _month_evidence(wh: Warehouse, d: Definition, reason: Reason, account: str, month: dt.date) -> pd.DataFrame:
    with cluster.evidence_for(wh, account, month) as ev:
        return defs.evaluate_tasks(ev, d, reason=reason, limit=EVIDENCE_ROWS)


def _cluster_evidence(page: frame.Page, d: Definition, reason: Reason, account: str) -> None:
    if account == ALL_ACCOUNTS:
        frame.needs_every_task(page.wh, "A sample across every account")
        st.caption("Pick an account: its tasks are read from the Parquet dataset one month at a time.")
        return
    month = st.selectbox("Month", cluster.account_months(page.wh, account),
                         format_func=lambda m: fmt.month(pd.Timestamp(m)))
    if month is None:
        return
    rows = frame.guarded(lambda: _month_evidence(page.wh, d, reason, account, month))
    st.caption(f"First {fmt.count(len(rows))} task(s) by task id (at most {EVIDENCE_ROWS}), "
               "read from the Parquet tasks of that month.")
    st.dataframe(rows, hide_index=True, placeholder="", column_config={c: fmt.label(c) for c in rows.columns})


def _toml_panel(d: Definition) -> None:
    left, right = st.columns(2)
    left.download_button("Download definition (TOML)", d.to_toml(), file_name=f"{d.name}-{d.version}.toml",
                         mime="application/toml", icon=":material/download:")
    right.file_uploader("Upload a definition (TOML)", type=["toml"], key=_UPLOAD, on_change=_uploaded,
                        help="A definition file, e.g. one kept with a contract; it becomes the scenario's definition.")
    st.code(d.to_toml(), language="toml")


# ---------------------------------------------------------------------- page
def main() -> None:
    page = frame.start(
        "What counts as a billable outcome? Set the rules, see what they do to every account and month, "
        "and check the evidence behind each count.",
        empty="No tasks to count outcomes in yet.",
    )
    with st.expander("Definition of resolved", expanded=True, icon=":material/rule:"):
        _knob_panel(page.scenario.definition)
    d = scenario.definition()  # the knobs' callbacks ran before this run: the same definition
    wh, version, toml = page.wh, page.version, d.to_toml()
    _headline(_outcomes(wh, toml, (), version).iloc[0])
    # Only the open tab is drawn and computed (frame.lazy_tabs): the comparison and the sensitivity
    # sweep are engine work and charts the default view does not need.
    frame.lazy_tabs("rules.view", {
        "By month": lambda: _by_month(_outcomes(wh, toml, ("month",), version)),
        "Funnel": lambda: _funnel_chart(_funnel(wh, toml, version)),
        "Compare definitions": lambda: _comparison(page, d),
        "Sensitivity": lambda: _sensitivity_view(wh, toml, version),
        "Evidence": lambda: _evidence_panel(page, d),
        "TOML": lambda: _toml_panel(d),
    })


main()
