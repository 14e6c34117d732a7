"""Statements (pricing team, finance): one account, month and plan, every cent traced to a task.

Draws what `pricing.statement` computed: the header (with the definition's
version hash), the charge lines, the total (equal to the backtest's to the
cent), the evidence by reason code and every task; downloads as CSV and XLSX.
"""

from __future__ import annotations

import pandas as pd
import scenario
import streamlit as st
import ui

from outcome_pricing import pricing
from outcome_pricing.definitions import Definition
from outcome_pricing.plans import PlanSet

SCENARIO_DEFINITION = "the scenario's definition"


@st.cache_data(show_spinner=False, max_entries=8)
def _account_months(_wh: object, plans_toml: str, definition_toml: str, version: int) -> pd.DataFrame:
    d = Definition.from_toml_text(definition_toml)
    metrics = pricing.account_month_metrics(_wh, d, PlanSet.from_toml_text(plans_toml).costs)  # type: ignore[arg-type]
    return metrics[["account_id", "name", "month", "tasks", "outcomes"]]


@st.cache_data(show_spinner="Making the statement…", max_entries=32)
def _statement(
    _wh: object, plans_toml: str, plan: str, definition_toml: str, account_id: str, month: str, version: int
) -> pricing.Statement:
    planset = PlanSet.from_toml_text(plans_toml)
    d = Definition.from_toml_text(definition_toml)
    return pricing.statement(_wh, planset, plan, d, account_id, month)  # type: ignore[arg-type]


def _pick_definition(sc: scenario.Scenario) -> Definition:
    presets = Definition.presets()
    options = [SCENARIO_DEFINITION, *presets]
    choice = st.selectbox("Definition", options, key="stmt.definition",
                          help="The rules that decide which tasks are billable outcomes.")
    return sc.definition if choice == SCENARIO_DEFINITION else presets[choice]


def _pick(sc: scenario.Scenario, months: pd.DataFrame) -> tuple[str, str, str]:
    accounts = months.drop_duplicates("account_id")
    labels = {a: f"{n} ({a})" if isinstance(n, str) and n else a for a, n in zip(accounts["account_id"], accounts["name"], strict=True)}
    left, mid, right = st.columns(3)
    account = left.selectbox("Account", list(labels), format_func=labels.get, key="stmt.account")
    own = months[months["account_id"] == account].sort_values("month", ascending=False)
    month = mid.selectbox("Month", [m.strftime("%Y-%m") for m in own["month"]], key="stmt.month")
    names = list(sc.planset.names)
    plan = right.selectbox("Plan", names, index=names.index(sc.proposed_plan), key="stmt.plan")
    return str(account), str(month), str(plan)


def _draw(s: pricing.Statement) -> None:
    cols = st.columns(4)
    cols[0].metric("Total", ui.money(s.total, cents=True))
    cols[1].metric("Tasks", ui.count(len(s.tasks)))
    cols[2].metric("Billable units", f"{s.evidence_units:,.2f}")
    cols[3].metric("Definition version", s.definition_version)
    st.dataframe(pd.DataFrame(s.header(), columns=["field", "value"]), hide_index=True)
    st.subheader("Charge lines")
    lines = s.lines_frame()
    lines["amount"] = [float(line.amount) for line in s.lines]  # exact cents, shown as numbers
    st.dataframe(lines, hide_index=True, column_config={"amount": st.column_config.NumberColumn(format="$%.2f")})
    st.markdown(f"**Total: {ui.money(s.total, cents=True)}** (equals the backtest's revenue for this account-month)")
    st.subheader("Evidence")
    left, right = st.columns([1, 2])
    left.dataframe(s.reasons(), hide_index=True)
    reason = right.selectbox("Show tasks with reason", ["all", *s.reasons()["reason"]], key="stmt.reason")
    tasks = s.task_records()
    st.dataframe(tasks if reason == "all" else tasks[tasks["reason"] == reason], hide_index=True)
    base = f"statement_{s.account_id}_{s.month}_{s.plan}"
    a, b = st.columns(2)
    a.download_button("Download CSV", s.to_csv(), file_name=f"{base}.csv", mime="text/csv", icon=":material/download:")
    b.download_button("Download XLSX", s.to_xlsx(), file_name=f"{base}.xlsx", icon=":material/download:",
                      mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def main() -> None:
    ui.page_header(
        "Statements",
        "One account's bill for one month under one plan: the charge lines, the total, and every task "
        "with its reason code, so each cent traces to a task.",
    )
    wh = ui.require_data()
    sc = scenario.current()
    d = _pick_definition(sc)
    plans_toml = scenario.plans_toml()
    months = ui.guarded(lambda: _account_months(wh, plans_toml, d.to_toml(), ui.data_version()))
    account, month, plan = _pick(sc, months)
    s = ui.guarded(lambda: _statement(wh, plans_toml, plan, d.to_toml(), account, month, ui.data_version()))
    _draw(s)


main()
