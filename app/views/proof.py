"""Proof (pricing, sales): how many billed outcomes were genuine, on what audits, how good the
judge is, what to audit next, and the evidence pack a customer gets when they question a bill.

Draws what `proof.audit` computed: coverage and the false-resolution rate with its 95%
Wilson interval (by reason, account and month), the `verified` judge against the audits,
the sample-size planner, a seeded sample to download, a reviewer's verdicts (kept with
who and when) and the evidence pack of one account and month.
"""

from __future__ import annotations

import fmt
import frame
import pandas as pd
import plotly.graph_objects as go
import scenario
import streamlit as st

from outcome_pricing.access import AUDIT_REVIEWERS
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.proof import audit
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse

ALL = "All accounts"
SCENARIO_DEFINITION = "the scenario's definition"
RATE_COLUMNS = ["reason", "billable_outcomes", "audited", "not_genuine", "false_rate", "ci_low", "ci_high"]


# ------------------------------------------------------------------ cached engine calls
def _selection(account: str | None, months: tuple[str, ...]) -> audit.Selection:
    return audit.Selection.of(account, months)


@st.cache_data(show_spinner="Reading the audits…", max_entries=32)
def _estimate(_wh: Warehouse, definition_toml: str, account: str | None, months: tuple[str, ...],
              version: str) -> audit.AuditEstimate:
    return audit.estimate(_wh, Definition.from_toml_text(definition_toml), _selection(account, months))


@st.cache_data(show_spinner=False, max_entries=32)
def _judge(_wh: Warehouse, definition_toml: str, account: str | None, months: tuple[str, ...],
           version: str) -> audit.Judge:
    return audit.judge(_wh, Definition.from_toml_text(definition_toml), _selection(account, months))


@st.cache_data(show_spinner=False, max_entries=32)
def _by_account(_wh: Warehouse, definition_toml: str, months: tuple[str, ...], version: str) -> pd.DataFrame:
    return audit.by_account(_wh, Definition.from_toml_text(definition_toml), _selection(None, months))


@st.cache_data(show_spinner=False, max_entries=32)
def _trend(_wh: Warehouse, definition_toml: str, account: str | None, version: str) -> pd.DataFrame:
    return audit.trend(_wh, Definition.from_toml_text(definition_toml), _selection(account, ()))


@st.cache_data(show_spinner="Drawing the sample…", max_entries=16)
def _sample(_wh: Warehouse, definition_toml: str, n: int, by: str, seed: int, account: str | None,
            months: tuple[str, ...], version: str) -> pd.DataFrame:
    d = Definition.from_toml_text(definition_toml)
    return audit.draw_sample(_wh, d, n, by, seed, _selection(account, months))


@st.cache_data(show_spinner="Packing the evidence…", max_entries=8)
def _pack(_wh: Warehouse, plans_toml: str, plan: str, definition_toml: str, account: str, month: str,
          version: str) -> bytes:
    d = Definition.from_toml_text(definition_toml)
    return audit.evidence_pack(_wh, PlanSet.from_toml_text(plans_toml), plan, d, account, month)


# ------------------------------------------------------------------ drawing
def _pick(sc: scenario.Scenario, wh: Warehouse) -> tuple[Definition, str | None]:
    presets = Definition.presets()
    left, right = st.columns(2)
    choice = left.selectbox("Definition", [SCENARIO_DEFINITION, *presets], key="proof.definition",
                            help="The rules that decide which tasks are billed outcomes: the audits are "
                                 "read against the outcomes this definition bills.")
    d = sc.definition if choice == SCENARIO_DEFINITION else presets[choice]
    account = right.selectbox("Account", [ALL, *wh.account_ids()], key="proof.account",
                              help="One customer, or the whole portfolio.")
    return d, None if account == ALL else str(account)


def _pick_months(trend: pd.DataFrame) -> tuple[str, ...]:
    options = [fmt.month_key(m) for m in trend["month"]]
    chosen = st.multiselect("Months", options, key="proof.months", placeholder="Every month",
                            help="Close months of the billed tasks (empty: every month).")
    return tuple(chosen)


def _interval(low: float | None, high: float | None) -> str:
    return "no audits" if low is None or high is None else f"{fmt.pct(low)} to {fmt.pct(high)}"


def _headline(e: audit.AuditEstimate) -> None:
    st.markdown(f"**{e.sentence()}**")
    r = e.overall
    point, low, high = e.genuine_units
    cols = st.columns(4)
    cols[0].metric("Billed outcomes", fmt.count(e.billable_outcomes),
                   help="Billable tasks (units > 0) under the definition, in the selection.")
    coverage = r.n / e.billable_outcomes if e.billable_outcomes else None
    cols[1].metric("Audited", fmt.count(r.n), f"{fmt.pct(coverage)} coverage" if coverage is not None else None,
                   delta_color="off", delta_arrow="off",
                   help="Billed outcomes a person judged (audits file, reviewers, QA columns).")
    cols[2].metric("False-resolution rate", fmt.pct(r.rate), _interval(r.low, r.high), delta_color="off", delta_arrow="off",
                   help="Audited billed outcomes found not genuine, with the 95% Wilson interval.")
    cols[3].metric("Genuine outcomes", fmt.count(point),
                   None if low is None else f"{fmt.count(low)} to {fmt.count(high)}", delta_color="off", delta_arrow="off",
                   help="Billable units x (1 - rate), the interval carried through.")
    s = e.stratified
    st.caption(f"Stratified by reason code: {fmt.pct(s.rate)} ({_interval(s.low, s.high)}; Wilson interval at "
               f"the effective sample size). Billed outcomes in reasons without audits: {fmt.pct(s.unaudited_share)}.")
    for warning in e.warnings:
        st.warning(warning)


def _rates_table(df: pd.DataFrame, first: str, label: str) -> None:
    st.dataframe(df, hide_index=True, placeholder="", column_config={
        first: label,
        "billable_outcomes": st.column_config.NumberColumn("Billed outcomes", format="localized"),
        "audited": st.column_config.NumberColumn("Audited", format="localized"),
        "not_genuine": st.column_config.NumberColumn("Not genuine", format="localized"),
        "false_rate": fmt.percent_column("False-resolution rate"),
        "ci_low": fmt.percent_column("95% low"),
        "ci_high": fmt.percent_column("95% high"),
    })


def _percent_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Rates as percents for a chart axis (tables format fractions themselves)."""
    out = df.copy()
    for c in ("false_rate", "ci_low", "ci_high"):
        out[c] = out[c].map(lambda v: None if v is None or pd.isna(v) else fmt.to_percent(float(v)))
    return out


def _trend_chart(trend: pd.DataFrame) -> None:
    shown = _percent_frame(trend[trend["audited"] > 0])
    if shown.empty:
        st.info("No audited billed outcomes yet: nothing to chart.")
        return
    fig = go.Figure(go.Scatter(
        x=shown["month"], y=shown["false_rate"], mode="lines+markers", name="False-resolution rate",
        error_y={"type": "data", "symmetric": False, "array": shown["ci_high"] - shown["false_rate"],
                 "arrayminus": shown["false_rate"] - shown["ci_low"]},
        customdata=shown[["audited", "billable_outcomes"]],
        hovertemplate="%{x|%b %Y}: %{y:.1f}% on %{customdata[0]} audits of %{customdata[1]} billed<extra></extra>",
    ))
    fig.update_layout(yaxis_title="False-resolution rate (%)", xaxis_title="Close month", height=320,
                      margin={"t": 10, "b": 10})
    st.plotly_chart(fig, width="stretch", config=frame.CHART_CONFIG)


def _judge_section(j: audit.Judge) -> None:
    st.markdown("The `verified` flag (often a model) against the people's audits, on audited tasks the AI "
                "answered with the flag present, billed or not.")
    cols = st.columns(3)
    se, sp = j.sensitivity, j.specificity
    cols[0].metric("Sensitivity", fmt.pct(se.rate), _interval(se.low, se.high), delta_color="off", delta_arrow="off",
                   help="Of the genuine tasks, the share the judge verified.")
    cols[1].metric("Specificity", fmt.pct(sp.rate), _interval(sp.low, sp.high), delta_color="off", delta_arrow="off",
                   help="Of the tasks found not genuine, the share the judge did not verify.")
    cols[2].metric("Corrected genuine rate", fmt.pct(j.corrected_genuine_rate),
                   f"{fmt.pct(j.verified_share)} verified" if j.verified_share is not None else None,
                   delta_color="off", delta_arrow="off", help="Rogan-Gladen: the share verified, corrected for the judge's errors.")
    if j.billed_genuine_share is not None:
        st.markdown(f"Under a definition that requires verification, about **{fmt.pct(j.billed_genuine_share)}** "
                    f"of the verified (billed) tasks are genuine, and about **{fmt.count(j.genuine_unbilled)}** "
                    "genuine tasks are never billed because the judge rejected them.")
    if j.warning:
        st.warning(j.warning)


def _planner(e: audit.AuditEstimate) -> None:
    margin = st.number_input("Margin (points, +-)", 0.5, 20.0, 2.0, 0.5, key="proof.margin",
                             help="Half-width of the 95% interval you want on the false-resolution rate.")
    n = audit.sample_size(fmt.from_percent(margin), e.billable_outcomes, e.overall.rate)
    more = max(n - e.overall.n, 0)
    st.markdown(f"**{fmt.count(n)}** audits give a 95% interval of +-{margin:g} points among "
                f"{fmt.count(e.billable_outcomes)} billed outcomes at the current rate "
                f"({fmt.pct(e.overall.rate) if e.overall.rate is not None else 'no audits yet: 50% assumed'}); "
                f"{fmt.count(more)} more than today.")


SAMPLE_TASKS, SAMPLE_BY, SAMPLE_SEED = 50, "simple", 0  # the sample draw's knobs at first


def _drawn_sample(page: frame.Page, d: Definition, account: str | None, months: tuple[str, ...]) -> pd.DataFrame:
    """The sample the draw's knobs give (they are kept in the session while another tab is open,
    so Review lists the same tasks whether or not the draw's tab was opened first)."""
    state = st.session_state
    n, by = state.get("proof.n", SAMPLE_TASKS), state.get("proof.by", SAMPLE_BY)
    seed = state.get("proof.seed", SAMPLE_SEED)
    return frame.guarded(lambda: _sample(page.wh, d.to_toml(), int(n), str(by), int(seed), account, months,
                                         page.version))


def _sample_section(page: frame.Page, d: Definition, account: str | None, months: tuple[str, ...]) -> None:
    left, mid, right = st.columns(3)
    left.number_input("Tasks to draw", 1, 5000, SAMPLE_TASKS, key="proof.n", persist_state="session",
                      help="How many billed, not yet audited tasks to put in the sample.")
    mid.selectbox("Proportional by", ["simple", "reason", "account"], key="proof.by", persist_state="session",
                  help="Simple random, or shares of the billed, not yet audited tasks per reason "
                       "code or account (largest remainder).")
    right.number_input("Seed", 0, 10**9, SAMPLE_SEED, key="proof.seed", persist_state="session",
                       help="Same seed, same sample.")
    sample = _drawn_sample(page, d, account, months)
    st.caption(f"{fmt.count(len(sample))} billed, not yet audited task(s). Fill in audited_at and genuine, then "
               "load the file with `outcome-pricing ingest --audits FILE`, or mark tasks under Review.")
    st.dataframe(sample, hide_index=True, placeholder="", height=240)
    st.download_button("Download the sample (CSV)", audit.sample_csv(sample), file_name=f"audit_sample_{d.name}.csv",
                       mime="text/csv", icon=":material/download:")


def _review(page: frame.Page, d: Definition, account: str | None, months: tuple[str, ...]) -> None:
    if page.person.role not in AUDIT_REVIEWERS:
        st.info("Only pricing and admin users mark tasks genuine or not; the history below is read-only.")
    else:
        sample = _drawn_sample(page, d, account, months)
        options = list(sample["task_id"])
        with st.form("proof.review", clear_on_submit=True):
            task = st.selectbox("Task from the sample", options, key="proof.review.task",
                                help="The tasks of the sample drawn under Plan and draw audits (its knobs there).")
            if task is not None:
                st.dataframe(sample[sample["task_id"] == task].drop(columns=["audited_at", "genuine", "auditor", "note"]),
                             hide_index=True, placeholder="")
            verdict = st.radio("Verdict", ["Genuine", "Not genuine"], horizontal=True, key="proof.review.verdict",
                               help="Was the customer's problem genuinely resolved? Saved with your name and "
                                    "the time; earlier verdicts are kept.")
            note = st.text_input("Note", key="proof.review.note", max_chars=500,
                                 help="Why: what you saw in the conversation (kept with the verdict).")
            if st.form_submit_button("Save the verdict", disabled=task is None):
                _save(page, str(task), verdict == "Genuine", note)
    history = audit.decision_history(page.wh)
    st.dataframe(history.head(200), hide_index=True, placeholder="")


def _save(page: frame.Page, task: str, genuine: bool, note: str) -> None:
    with frame.guard():
        audit.record_decision(frame.decision_warehouse(), page.wh, task, genuine, page.person.email, note)
        frame.after_ingest()
        st.success(f"Saved: {task} {'genuine' if genuine else 'not genuine'}, by {page.person.email}.")


def _pack_section(page: frame.Page, d: Definition, account: str | None, trend: pd.DataFrame) -> None:
    if account is None:
        st.info("Pick one account above: an evidence pack is per account and month.")
        return
    sc = page.scenario
    left, right = st.columns(2)
    months = [fmt.month_key(m) for m in trend["month"]][::-1]
    if not months:
        st.info("This account has no billed outcomes yet.")
        return
    month = left.selectbox("Month", months, key="proof.pack.month")
    names = list(sc.planset.names)
    plan = right.selectbox("Plan", names, index=names.index(sc.proposed_plan), key="proof.pack.plan")
    if st.button("Prepare the evidence pack", key="proof.pack.make"):
        data = frame.guarded(lambda: _pack(page.wh, sc.plans_toml, str(plan), d.to_toml(), account, str(month),
                                           page.version))
        st.download_button("Download the evidence pack (ZIP)", data, icon=":material/download:",
                           file_name=f"evidence_{account}_{month}_{plan}.zip", mime="application/zip")
    st.caption("One ZIP: an HTML index, the statement, every billed task with its reason code and fields, the "
               "audits and their results, the estimate with its interval, and the definition TOML with its "
               "version hash.")


def _audits(page: frame.Page, e: audit.AuditEstimate, d: Definition, account: str | None,
            months: tuple[str, ...]) -> None:
    _planner(e)
    _sample_section(page, d, account, months)


def main() -> None:
    page = frame.start(
        "Billed outcomes are claims: how many were genuine, on how many audits, where the false ones come "
        "from, how good the judge is, and the evidence to send when a customer questions a bill.",
        empty="No billed outcomes to prove yet.",
    )
    d, account = _pick(page.scenario, page.wh)
    trend = frame.guarded(lambda: _trend(page.wh, d.to_toml(), account, page.version))
    months = _pick_months(trend)
    e = frame.guarded(lambda: _estimate(page.wh, d.to_toml(), account, months, page.version))
    _headline(e)
    wh, toml, version = page.wh, d.to_toml(), page.version
    # Only the open tab is drawn and computed (frame.lazy_tabs): hidden tabs drew their tables and
    # chart, and asked the engine for the per-account rates and the judge, on every run.
    frame.lazy_tabs("proof.view", {
        "By reason": lambda: _rates_table(pd.DataFrame([s.record() for s in e.by_reason], columns=RATE_COLUMNS),
                                          "reason", "Reason"),
        "By account": lambda: _rates_table(frame.guarded(lambda: _by_account(wh, toml, months, version)),
                                           "account_id", "Account"),
        "By month": lambda: _trend_chart(trend),
        "The judge": lambda: _judge_section(frame.guarded(lambda: _judge(wh, toml, account, months, version))),
        "Plan and draw audits": lambda: _audits(page, e, d, account, months),
        "Review": lambda: _review(page, d, account, months),
        "Evidence pack": lambda: _pack_section(page, d, account, trend),
    })


main()
