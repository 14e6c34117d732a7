"""Statements (pricing team, finance): one account, month and plan, every cent traced to a task.

Draws what `pricing.statement` computed: the header (with the definition's
version hash), the charge lines, the total (equal to the backtest's to the
cent), the evidence by reason code and every task; downloads as CSV and XLSX.
"""

from __future__ import annotations

import fmt
import frame
import links
import pandas as pd
import scenario
import streamlit as st

from outcome_pricing import pricing
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse

SCENARIO_DEFINITION = "the scenario's definition"
TASK_ROWS_SHOWN = 1_000  # rows of the task grid; the downloads carry every task


@st.cache_data(show_spinner=False, max_entries=8)
def _account_months(_wh: Warehouse, plans_toml: str, definition_toml: str, version: str) -> pd.DataFrame:
    d = Definition.from_toml_text(definition_toml)
    metrics = pricing.account_month_metrics(_wh, d, PlanSet.from_toml_text(plans_toml).costs)
    return metrics[["account_id", "name", "month", "tasks", "outcomes"]]


@st.cache_data(show_spinner="Making the statement…", max_entries=32)
def _statement(
    _wh: Warehouse, plans_toml: str, plan: str, definition_toml: str, account_id: str, month: str, version: str
) -> pricing.Statement:
    planset = PlanSet.from_toml_text(plans_toml)
    d = Definition.from_toml_text(definition_toml)
    return pricing.statement(_wh, planset, plan, d, account_id, month)


def _pick_definition(sc: scenario.Scenario) -> Definition:
    presets = Definition.presets()
    options = [SCENARIO_DEFINITION, *presets]
    choice = st.selectbox("Definition", options, key="stmt.definition",
                          help="The rules that decide which tasks are billable outcomes.")
    return sc.definition if choice == SCENARIO_DEFINITION else presets[choice]


def _pick(sc: scenario.Scenario, months: pd.DataFrame) -> tuple[str, str, str]:
    """Account, month and plan: from the link (?account=&month=&plan=) until the user picks,
    then mirrored into it, so a shared link reopens the same bill."""
    accounts = months.drop_duplicates("account_id")
    labels = {a: f"{n} ({a})" if isinstance(n, str) and n else a for a, n in zip(accounts["account_id"], accounts["name"], strict=True)}
    left, mid, right = st.columns(3)
    links.start_from_link("account", "stmt.account", list(labels), "account")
    with left:
        account = str(st.selectbox("Account", list(labels), format_func=lambda a: labels[a], key="stmt.account",
                                   help="The customer whose bill you want to see."))
        links.follow("account", "stmt.account", account, labels[account])
    own = months[months["account_id"] == account].sort_values("month", ascending=False)
    month_keys = [fmt.month_key(m) for m in own["month"]]
    links.start_from_link("month", "stmt.month", month_keys, "month (YYYY-MM) for this account")
    with mid:
        month = str(st.selectbox("Month", month_keys, key="stmt.month", format_func=lambda m: fmt.month(pd.Timestamp(m)),
                                 help="The billing month: tasks closed in this calendar month are billed on it. "
                                      "Months run from the account's first task to the latest data, newest first."))
        links.follow("month", "stmt.month", month, fmt.month(pd.Timestamp(month)))
    names = list(sc.planset.names)
    links.start_from_link("plan", "stmt.plan", names, "plan")
    if "stmt.plan" not in st.session_state or st.session_state["stmt.plan"] not in names:
        st.session_state["stmt.plan"] = sc.proposed_plan
    with right:
        plan = str(st.selectbox("Plan", names, key="stmt.plan",
                                help="The price plan the bill is made under. Defaults to the sidebar's proposed "
                                     "plan; prices edited in the Price lab apply here too."))
        links.follow("plan", "stmt.plan", plan)
    return account, month, plan


def _headers(frame: pd.DataFrame) -> dict[str, str]:
    """Readable column headers (ai_enabled -> AI enabled); the data keeps its names."""
    return {c: fmt.label(c) for c in frame.columns}


def _header_table(s: pricing.Statement) -> pd.DataFrame:
    """The statement's header as the page shows it: the month as people read it (Oct 2026)."""
    shown = {"Month": lambda v: fmt.month(pd.Timestamp(v), full=True), "Tasks": lambda v: fmt.count(int(v))}
    rows = [(k, shown[k](v) if k in shown else v) for k, v in s.header() if k != "Plan description"]
    return pd.DataFrame(rows, columns=["Field", "Value"])


QUANTITIES = ("quantity", "included", "billable")  # exact decimals as text in the engine's frame


def _draw(s: pricing.Statement) -> None:
    cols = st.columns(4)
    cols[0].metric("Total", fmt.money(s.total, cents=True))
    cols[1].metric("Tasks", fmt.count(len(s.tasks)))
    cols[2].metric("Billable units", fmt.units(s.evidence_units))
    cols[3].metric("Definition version", s.definition_version,
                   help=f"A short code for the rules of {s.definition_name}: the same code means "
                        "the same rules decided which tasks are billable.")
    st.caption(f"Plan **{s.plan}** (version `{s.plan_version}`) · definition **{s.definition_name}** "
               f"(version `{s.definition_version}`). A version is a short code of the terms: the same "
               "code means the same prices or rules, whatever the name.")
    st.dataframe(_header_table(s), hide_index=True, width="stretch")
    if s.plan_description:  # the whole sentence, which a table cell would cut off
        st.caption(f"**Plan description:** {s.plan_description}")
    st.subheader("Charge lines")
    lines = s.lines_frame()
    lines["amount"] = [float(line.amount) for line in s.lines]  # exact cents, shown as numbers
    lines["kind"] = lines["kind"].map(lambda k: fmt.label(str(k)))
    for column in QUANTITIES:
        lines[column] = pd.to_numeric(lines[column], errors="coerce")  # display only: 2,489 not 2489
    st.dataframe(lines, hide_index=True, width="stretch", placeholder="", column_config={
        **_headers(lines),
        **{c: st.column_config.NumberColumn(fmt.label(c), format="localized") for c in QUANTITIES},
        "amount": fmt.price_column("Amount"),
    })
    st.markdown(f"**Total: {fmt.money(s.total, cents=True)}** (equals the backtest's revenue for this account-month)")
    st.subheader("Evidence")
    left, right = st.columns([1, 2])
    reasons = s.reasons()
    left.dataframe(reasons.assign(reason=reasons["reason"].map(fmt.label)), hide_index=True, column_config={
        "reason": "Reason", "tasks": st.column_config.NumberColumn("Tasks", format="localized"),
        "billable_units": st.column_config.NumberColumn("Billable units", format="localized"),
    })
    reason = right.selectbox("Show tasks with reason", ["all", *reasons["reason"]], key="stmt.reason",
                             format_func=lambda r: "all" if r == "all" else f"{fmt.label(r)} ({r})",
                             help="Narrow the task list to one reason code: why each task was billed as an "
                                  "outcome or not (e.g. confirmed by the customer, handed off to a person).")
    tasks = s.task_records()
    tasks = tasks.assign(month=tasks["month"].map(lambda m: fmt.month(pd.Timestamp(m)))) if "month" in tasks else tasks
    # A field the task log left empty (no CSAT, never reopened) shows blank, not "None".
    hours = {c: st.column_config.NumberColumn(fmt.label(c), format="%.1f") for c in tasks.columns if c.endswith("_hours")}
    chosen = tasks if reason == "all" else tasks[tasks["reason"] == reason]
    if len(chosen) > TASK_ROWS_SHOWN:  # thousands of grid rows are slow to draw; the downloads hold them all
        st.caption(f"The first {fmt.count(TASK_ROWS_SHOWN)} of {fmt.count(len(chosen))} tasks; the CSV and XLSX "
                   "below have every task.")
    st.dataframe(chosen.head(TASK_ROWS_SHOWN), hide_index=True, placeholder="",
                 column_config={**_headers(tasks), **hours})
    base = f"statement_{s.account_id}_{s.month}_{s.plan}"
    a, b, _ = st.columns([1, 1, 2], vertical_alignment="bottom")
    # Made on the click, not on every run: an XLSX of every task takes a while to write.
    a.download_button("Download CSV", s.to_csv, file_name=f"{base}.csv", mime="text/csv", icon=":material/download:",
                      width="stretch", help="The statement as one CSV file: header, charge lines and every task.")
    b.download_button("Download XLSX", s.to_xlsx, file_name=f"{base}.xlsx", icon=":material/download:",
                      mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", width="stretch",
                      help="The statement as an Excel workbook: sheets Summary, Lines and Tasks.")


def main() -> None:
    page = frame.start(
        "One account's bill for one month under one plan: the charge lines, the total, and every task "
        "with its reason code, so each cent traces to a task.",
        empty="No bill to make yet.",
    )
    sc = page.scenario
    d = _pick_definition(sc)
    months = frame.guarded(lambda: _account_months(page.wh, sc.plans_toml, d.to_toml(), page.version))
    account, month, plan = _pick(sc, months)
    s = frame.guarded(lambda: _statement(page.wh, sc.plans_toml, plan, d.to_toml(), account, month, page.version))
    _draw(s)


main()
