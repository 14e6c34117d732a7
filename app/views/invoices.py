"""Invoices (pricing, admin): what each invoice said at its close, what was corrected later, and
reconciliation with the customer's own count.

Draws what `pricing.invoices` computed: per month, billed at close against final (hindsight),
the adjustments carried by later statements and the amount still open; which definitions
bill late or claw back most; and, from an uploaded customer file, ours vs theirs per
account-month with the tasks each side counts and the other does not (`pricing.reconcile`),
downloadable as CSV.
"""

from __future__ import annotations

import fmt
import frame
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

from outcome_pricing.kit.cells import to_safe_csv
from outcome_pricing.pricing import invoices as inv
from outcome_pricing.pricing import issued
from outcome_pricing.pricing import reconcile as rec
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse

MONEY_COLUMNS = ("issued", "adjustments", "billed", "final", "open", "late", "clawback")


@st.cache_data(show_spinner="Re-rating every month at every close…", max_entries=16)
def _invoices(_wh: Warehouse, plans_toml: str, plan: str, definition_toml: str, version: str) -> inv.Invoices:
    return inv.invoices(_wh, PlanSet.from_toml_text(plans_toml), Definition.from_toml_text(definition_toml), plan=plan)


@st.cache_data(show_spinner="Comparing definitions…", max_entries=8)
def _by_definition(_wh: Warehouse, plans_toml: str, plan: str, definition_toml: str, version: str) -> pd.DataFrame:
    mine = Definition.from_toml_text(definition_toml)
    others = [d for d in Definition.presets().values() if d.version != mine.version]
    return inv.rates_by_definition(_wh, PlanSet.from_toml_text(plans_toml), [mine, *others], plan)


@st.cache_data(show_spinner="Making the statement as issued…", max_entries=16)
def _issued(_wh: Warehouse, plans_toml: str, plan: str, definition_toml: str, account: str, month: str,
            version: str) -> issued.IssuedStatement:
    return issued.issued_statement(_wh, PlanSet.from_toml_text(plans_toml), plan, Definition.from_toml_text(definition_toml),
                                   account, month)


@st.cache_data(show_spinner="Reconciling…", max_entries=8)
def _reconcile(_wh: Warehouse, definition_toml: str, name: str, data: bytes, version: str) -> rec.Reconciliation:
    return rec.reconcile_upload(_wh, Definition.from_toml_text(definition_toml), name, data)


def _month_chart(months: pd.DataFrame) -> None:
    labels = [fmt.month(pd.Timestamp(m)) for m in months["month"]]
    fig = go.Figure()
    fig.add_bar(x=labels, y=months["issued"], name="Billed at close")
    fig.add_bar(x=labels, y=months["adjustments"], name="Adjustments on this statement")
    fig.add_scatter(x=labels, y=months["final"], name="Final (hindsight)", mode="lines+markers")
    fig.update_layout(barmode="relative", height=340, margin={"t": 30, "b": 10}, yaxis_title="Dollars",
                      legend={"orientation": "h"})
    st.plotly_chart(fig, width="stretch", config=frame.CHART_CONFIG)


def _definition_chart(rates: pd.DataFrame) -> None:
    names = [f"{n} ({v})" for n, v in zip(rates["definition"], rates["definition_version"], strict=True)]
    fig = go.Figure()
    fig.add_bar(x=names, y=rates["late_rate"], name="Billed late (share of issued)")
    fig.add_bar(x=names, y=rates["clawback_rate"], name="Clawed back (share of issued)")
    fig.update_layout(barmode="group", height=320, margin={"t": 30, "b": 10}, yaxis_tickformat=".1%",
                      legend={"orientation": "h"})
    st.plotly_chart(fig, width="stretch", config=frame.CHART_CONFIG)


def _money_config(columns: list[str]) -> dict[str, ColumnConfig]:
    return {c: fmt.dollars_column(fmt.label(c)) for c in columns if c in MONEY_COLUMNS}


def _statement_as_issued(page: frame.Page, result: inv.Invoices, plan: str, d: Definition) -> None:
    st.subheader("A statement as issued")
    left, right = st.columns(2)
    accounts = sorted(result.frame["account_id"].unique())
    account = str(left.selectbox("Account", accounts, key="invoices.account",
                                 help="The customer whose statement you want to see as it was issued."))
    own = result.frame[result.frame["account_id"] == account].sort_values("month", ascending=False)
    keys = [fmt.month_key(m) for m in own["month"]]
    month = str(right.selectbox("Month", keys, key="invoices.month", format_func=lambda m: fmt.month(pd.Timestamp(m)),
                                help="The statement issued at this month's close: its own lines as known then, "
                                     "plus the corrections of earlier months."))
    s = frame.guarded(lambda: _issued(page.wh, page.scenario.plans_toml, plan, d.to_toml(), account, month,
                                      page.version))
    cols = st.columns(3)
    cols[0].metric("This month at close", fmt.money(s.own_total, cents=True))
    cols[1].metric("Adjustments", fmt.money(s.adjustments_total, cents=True))
    cols[2].metric("Total issued", fmt.money(s.total, cents=True))
    for table in (s.base.lines_frame(), s.adjustment_frame(), s.moved):
        if len(table):
            st.dataframe(table, hide_index=True, placeholder="", column_config=_labels(table))
    base = f"statement_as_issued_{account}_{month}_{plan}"
    a, b, _ = st.columns([1, 1, 2], vertical_alignment="bottom")
    # Made on the click, not on every run (an XLSX of every task takes a while to write).
    a.download_button("Download CSV", s.to_csv, file_name=f"{base}.csv", mime="text/csv", icon=":material/download:",
                      help="The statement as issued: header, lines, adjustments, the tasks that moved, every task.")
    b.download_button("Download XLSX", s.to_xlsx, file_name=f"{base}.xlsx", icon=":material/download:",
                      mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      help="The same as an Excel workbook, one sheet per part.")


def _labels(table: pd.DataFrame) -> dict[str, ColumnConfig | str | None]:
    """Readable headers for every column (the engine's names are snake_case)."""
    return {str(c): fmt.label(str(c)) for c in table.columns}


def _reconciliation(page: frame.Page, d: Definition) -> None:
    st.subheader("Reconcile with the customer's count")
    upload = st.file_uploader(
        "Their count", type=["csv", "parquet", "pq"], key="invoices.their",
        help="Either account_id, month (YYYY-MM), outcomes; or task_id, resolved (true/false). A task missing "
             "from their list is not resolved for them. The file is checked, compared and not stored.",
    )
    if upload is None:
        return
    result = frame.guarded(lambda: _reconcile(page.wh, d.to_toml(), upload.name, upload.getvalue(), page.version))
    st.dataframe(result.frame, hide_index=True, placeholder="",
                 column_config={"month": st.column_config.DateColumn("Month", format="MMM YYYY"),
                                **{c: fmt.label(c) for c in result.frame.columns if c != "month"}})
    st.download_button("Download ours vs theirs (CSV)", to_safe_csv(result.frame), file_name="reconciliation.csv",
                       mime="text/csv", icon=":material/download:")
    if result.tasks is not None:
        left, right = st.columns([1, 2])
        reasons = result.by_reason()
        left.dataframe(reasons, hide_index=True, placeholder="", column_config=_labels(reasons))
        right.dataframe(result.tasks, hide_index=True, placeholder="", column_config=_labels(result.tasks))
        st.download_button("Download the task lists (CSV)", to_safe_csv(result.tasks),
                           file_name="reconciliation_tasks.csv", mime="text/csv", icon=":material/download:",
                           help="Every task one side counts and the other does not, with our reason code: "
                                "for the conversation with the customer.")


def main() -> None:
    page = frame.start(
        "What each invoice said at its month's close, what later statements corrected (late outcomes, "
        "reopens clawed back, disputes) and what is still open; and your count against the customer's.",
        empty="No invoices to make yet.",
    )
    sc = page.scenario
    d = sc.definition
    names = list(inv.rateable_plans(sc.planset))
    if not names:
        st.warning("Every plan in the scenario spans months (a commitment or a guarantee): invoices as issued "
                   "are not defined for those yet.")
        return
    default = sc.proposed_plan if sc.proposed_plan in names else names[0]
    plan = str(st.selectbox("Plan", names, index=names.index(default), key="invoices.plan",
                            help="Plans with a prepaid commitment or a guarantee span months and are not listed."))
    result = frame.guarded(lambda: _invoices(page.wh, sc.plans_toml, plan, d.to_toml(), page.version))
    total = result.summary().iloc[0]
    cols = st.columns(4)
    cols[0].metric("Billed at close", fmt.money(float(total["issued"])))
    cols[1].metric("Late outcomes billed later", fmt.money(float(total["late"])))
    cols[2].metric("Clawed back later", fmt.money(float(total["clawback"])))
    cols[3].metric("Still open", fmt.money(float(total["open"])),
                   help="What the last close does not know yet (silences not elapsed, reopens, disputes to come).")
    months = result.by_month(plan)
    _month_chart(months)
    shown = months[["month", *MONEY_COLUMNS]]
    st.dataframe(shown, hide_index=True, column_config={
        "month": st.column_config.DateColumn("Month", format="MMM YYYY"), **_money_config(list(shown.columns))})
    st.subheader("Which definitions bill late or claw back most")
    _definition_chart(frame.guarded(lambda: _by_definition(page.wh, sc.plans_toml, plan, d.to_toml(), page.version)))
    st.subheader("Adjustment lines")
    lines = result.lines[result.lines["amount_cents"] != 0].drop(columns=["amount_cents"])
    st.dataframe(lines, hide_index=True, placeholder="",
                 column_config={**_labels(lines),
                                "month": st.column_config.DateColumn("Statement", format="MMM YYYY"),
                                "for_month": st.column_config.DateColumn("For month", format="MMM YYYY"),
                                "amount": fmt.dollars_column("Amount")})
    st.download_button("Download invoices (CSV)", lambda: to_safe_csv(result.records()), file_name=f"invoices_{plan}.csv",
                       mime="text/csv", icon=":material/download:",
                       help="Every account, month and plan: issued, adjustments, billed, final, open.")
    _statement_as_issued(page, result, plan, d)
    _reconciliation(page, d)


main()
