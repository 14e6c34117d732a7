"""Data: what is in the warehouse, how clean it is, and loading more (upload or demo)."""

from __future__ import annotations

from typing import Any

import fmt
import frame
import pandas as pd
import plotly.express as px
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from outcome_pricing.errors import OutcomePricingError, ValidationError
from outcome_pricing.ingest import Upload, ingest_uploads, quality, refused_problems
from outcome_pricing.ingest.uploads import MAX_UPLOAD_BYTES
from outcome_pricing.warehouse import Warehouse

OUTCOME_KEY = "data_last_ingest"  # the last ingest's outcome, kept across reruns
DEMO_DEFAULT_TASKS = 300_000


# ------------------------------------------------------------------ cached engine calls
# Keyed on the file and the data version: a cache entry never outlives an ingest.
@st.cache_data(show_spinner=False)
def _summary(_wh: Warehouse, db: str, version: str) -> dict[str, Any]:
    return _wh.summary()


@st.cache_data(show_spinner=False)
def _quality(_wh: Warehouse, db: str, version: str) -> dict[str, pd.DataFrame]:
    return {
        "missing": quality.missing_by_column(_wh),
        "months": quality.tasks_per_month(_wh),
        "minutes": quality.human_minutes_histogram(_wh),
        "csat": quality.csat_distribution(_wh),
        "topics": quality.topic_counts(_wh),
        "bools": quality.boolean_shares(_wh),
    }


# ------------------------------------------------------------------ sections
def summary_cards(wh: Warehouse, version: str) -> None:
    s = _summary(wh, str(wh.path), version)
    cols = st.columns(4)
    cols[0].metric("Tasks", fmt.count(s["tasks"]), border=True)
    cols[1].metric(
        "Accounts", fmt.count(s["accounts"]), border=True,
        help=f"{fmt.count(s['accounts_with_details'])} with a row in the accounts table (seats, owner, ...)",
    )
    months = f"{s['months']}" if s["months"] else fmt.NOTHING
    span = f"{s['first_month']} to {s['last_month']}" if s["first_month"] else None
    cols[2].metric("Months covered", months, border=True, help=span)
    cols[3].metric(
        "Tasks with AI live", fmt.pct(s["ai_share"]), border=True,
        help="Share of tasks where ai_enabled is true; the rest is the human-only baseline.",
    )


def _upload(file: UploadedFile | None) -> Upload | None:
    return None if file is None else Upload(file.name, file.getvalue())


def _too_large(files: list[UploadedFile | None]) -> list[str]:
    return [f.name for f in files if f is not None and f.size > MAX_UPLOAD_BYTES]


def load_section(wh: Warehouse) -> None:
    st.subheader("Upload task logs")
    st.caption(
        "CSV (UTF-8, header row) or Parquet with the columns of the data contract. A file with "
        "any problem is refused whole and nothing is written; a task_id already stored is "
        "replaced. Exports from other tools load with a mapping file (TOML): see "
        "`data/helpdesk_mapping.toml`."
    )
    left, right = st.columns(2)
    tasks = left.file_uploader(
        "Task log", type=["csv", "tsv", "parquet", "pq", "txt", "gz"], key="upload_tasks",
        help="One row per conversation or ticket, with the columns of the data contract "
        "(see the README). A task already in the warehouse is replaced by the new row.",
    )
    accounts = right.file_uploader(
        "Accounts (optional)", type=["csv", "tsv", "parquet", "pq", "txt", "gz"], key="upload_accounts",
        help="One row per customer: name, segment, contracted seats, seat price, agent hourly "
        "cost, AI go-live date and sales owner. Needed for seat plans, ROI and access by owner.",
    )
    mapping = left.file_uploader(
        "Mapping (optional, TOML)", type=["toml"], key="upload_mapping",
        help="Maps another tool's column names and values (e.g. 'Yes'/'No') onto ours, so an "
        "export loads unedited. Example: data/helpdesk_mapping.toml.",
    )
    limit_mb = MAX_UPLOAD_BYTES // 2**20
    right.caption(f"Upload limit: {limit_mb} MB per file. Larger logs: `outcome-pricing ingest`.")
    clicked = st.button(
        "Validate and load", type="primary", disabled=tasks is None and accounts is None,
        key="ingest_button",
    )
    if clicked:
        too_large = _too_large([tasks, accounts, mapping])
        if too_large:
            st.session_state[OUTCOME_KEY] = {
                "ok": False,
                "message": f"{', '.join(too_large)}: larger than the {limit_mb} MB upload limit. "
                "Load it with `outcome-pricing ingest --tasks FILE` instead.",
                "problems": [],
            }
        else:
            with st.spinner("Validating and loading…"):
                st.session_state[OUTCOME_KEY] = run_ingest(
                    wh, _upload(tasks), _upload(accounts), _upload(mapping)
                )
            if st.session_state[OUTCOME_KEY]["ok"]:
                st.rerun()  # the summary above was drawn from the old data
    show_outcome(st.session_state.get(OUTCOME_KEY))


def run_ingest(
    wh: Warehouse, tasks: Upload | None, accounts: Upload | None, mapping: Upload | None
) -> dict[str, Any]:
    """Ingest the uploads; the outcome as plain data (kept in session state, shown by show_outcome)."""
    try:
        report = ingest_uploads(wh, tasks, accounts, mapping)
    except ValidationError as exc:
        return {
            "ok": False,
            "message": f"**{exc.file}** was refused: {fmt.count(exc.total)} problem(s) found, nothing was "
            f"written. Fix the file and upload it again. "
            + (f"The first {exc.SHOWN} problems:" if exc.total > exc.SHOWN else "Problems:"),
            "problems": refused_problems(exc),
        }
    except OutcomePricingError as exc:
        return {"ok": False, "message": f"**{exc.title}.** {exc}", "problems": []}
    frame.after_ingest()
    return {"ok": True, "message": report.summary(), "problems": []}


def show_outcome(outcome: dict[str, Any] | None) -> None:
    if not outcome:
        return
    if outcome["ok"]:
        st.success(outcome["message"])
        return
    st.error(outcome["message"])
    if outcome["problems"]:
        st.dataframe(
            pd.DataFrame(outcome["problems"], columns=["file", "row", "column", "rule", "value"]),
            hide_index=True,
            key="refusal_table",
            column_config={"file": "File", "row": st.column_config.NumberColumn("Row", format="%d"),
                           "column": "Column", "rule": "Rule", "value": "Value"},
        )


def demo_section(wh: Warehouse) -> None:
    with st.expander("Load demo data"):
        st.write(
            "Synthetic but realistic task logs (staggered AI go-lives, learning curves, "
            "handoffs, reopens, CSAT, QA audits). **This replaces every task and account in "
            "the warehouse.**"
        )
        n = st.number_input(
            "Tasks", min_value=10_000, max_value=5_000_000, value=DEMO_DEFAULT_TASKS,
            step=50_000, key="demo_tasks",
            help="How many synthetic tasks to generate (about 30 s per million on two cores).",
        )
        if st.button("Load demo data", key="demo_button"):
            from outcome_pricing import demo

            bar = st.progress(0.0, text="Generating demo task logs…")

            def progress(fraction: float, message: str) -> None:
                bar.progress(min(max(fraction, 0.0), 1.0), text=message)

            try:
                result = demo.build_demo(wh, tasks=int(n), progress=progress)
            except OutcomePricingError as exc:
                frame.show_error(exc)
                return
            frame.after_ingest()
            st.session_state[OUTCOME_KEY] = {
                "ok": True, "message": f"Demo data loaded: {result.summary()}", "problems": [],
            }
            st.rerun()


def history_section(wh: Warehouse) -> None:
    st.subheader("Ingest history")
    log = wh.ingest_log()
    if log.empty:
        st.info("Nothing ingested yet.")
        return
    st.dataframe(
        log,
        hide_index=True, width="stretch", placeholder="",
        column_config={
            **{c: fmt.label(c) for c in log.columns},
            "ingest_id": st.column_config.NumberColumn("#", format="%d"),
            "source": st.column_config.TextColumn("File", width="large"),
            "sha256": st.column_config.TextColumn("SHA-256", help="Fingerprint of the file as loaded"),
            "rows_inserted": st.column_config.NumberColumn("Inserted", format="localized"),
            "rows_updated": st.column_config.NumberColumn("Updated", format="localized"),
            "ingested_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        },
    )


def quality_section(wh: Warehouse, version: str) -> None:
    if frame.needs_every_task(wh, "The data quality report"):
        return
    if wh.is_empty():  # the page says so above its tabs (main)
        return
    q = _quality(wh, str(wh.path), version)
    left, right = st.columns(2)
    missing = q["missing"].sort_values("share_missing")
    fig = px.bar(
        missing, x="share_missing", y="column", orientation="h",
        title="Missing values per column", labels={"share_missing": "Share missing", "column": ""},
        hover_data={"missing": ":,", "required": True}, height=620,
    )
    fig.update_xaxes(tickformat=fmt.PERCENT_TICKS, range=[0, 1])
    left.plotly_chart(fig, key="chart_missing", config=frame.CHART_CONFIG)
    months = q["months"]
    fig = px.bar(
        months, x="month", y="tasks", color="ai_live", title="Tasks per month (by closing month)",
        labels={"ai_live": "", "month": "", "tasks": "Tasks"},
    )
    fig.update_yaxes(tickformat=fmt.COUNT_TICKS)
    fig.update_xaxes(tickformat="%b %Y", hoverformat="%b %Y")
    right.plotly_chart(fig, key="chart_months", config=frame.CHART_CONFIG)
    fig = px.bar(
        q["bools"].melt(id_vars="column", var_name="value", value_name="share"),
        x="share", y="column", color="value", orientation="h", title="Boolean columns",
        labels={"column": "", "value": "", "share": "Share"}, height=320,
    )
    fig.update_xaxes(tickformat=fmt.PERCENT_TICKS)
    right.plotly_chart(fig, key="chart_bools", config=frame.CHART_CONFIG)
    a, b, c = st.columns(3)
    minutes = q["minutes"]
    if not minutes.empty:
        fig = px.bar(
            minutes, x="minutes_from", y="tasks", title="Human minutes per task",
            labels={"minutes_from": "Minutes (last bar: longest 1 %)", "tasks": "Tasks"},
        )
        fig.update_traces(width=float((minutes["minutes_to"] - minutes["minutes_from"]).iloc[0]))
        a.plotly_chart(fig, key="chart_minutes", config=frame.CHART_CONFIG)
    csat = q["csat"]
    given = csat[csat["csat"] != "none"]
    fig = px.bar(
        given, x="csat", y="tasks", title=f"CSAT (given on {fmt.pct(float(given['share'].sum()), 0)} of tasks)",
        hover_data={"share": ":.1%"}, labels={"csat": "CSAT", "tasks": "Tasks", "share": "Share"},
    )
    fig.update_yaxes(tickformat=fmt.COUNT_TICKS)
    fig.update_xaxes(type="category", categoryorder="category ascending")
    b.plotly_chart(fig, key="chart_csat", config=frame.CHART_CONFIG)
    topics = q["topics"]
    topics = topics.assign(topic=topics["topic"].map(lambda t: fmt.label(str(t))))
    fig = px.bar(
        topics.sort_values("tasks"), x="tasks", y="topic", orientation="h", title="Topics",
        hover_data={"ai_share": ":.0%", "human_minutes_per_task": ":.1f"},
        labels={"topic": "", "tasks": "Tasks", "ai_share": "AI share", "human_minutes_per_task": "Human minutes per task"},
    )
    fig.update_xaxes(tickformat=fmt.COUNT_TICKS)
    c.plotly_chart(fig, key="chart_topics", config=frame.CHART_CONFIG)


# ------------------------------------------------------------------ page
EMPTY = "No tasks yet: load a file or the demo data to see its quality."


def _load_tab(page: frame.Page) -> None:
    if page.person.can_ingest:
        load_section(page.wh)
        demo_section(page.wh)
    else:
        st.info(f"Only admins load data into the warehouse; you are {page.person.describe()}.")


def main() -> None:
    # No data check: this is where data comes in (an empty warehouse shows the upload).
    page = frame.start(
        "The task logs every page reads: what is loaded, how clean it is, and how to add more.", empty=None
    )
    summary_cards(page.wh, page.version)
    if page.wh.is_empty():  # said above the tabs: the quality tab, which says it too, is not open
        st.info(EMPTY)
    # Only the open tab is drawn and computed (frame.lazy_tabs): the quality report's six charts
    # were drawn on every run of the page, hidden or not.
    frame.lazy_tabs("data.view", {
        "Load data": lambda: _load_tab(page),
        "Data quality": lambda: quality_section(page.wh, page.version),
        "Ingest history": lambda: history_section(page.wh),
    })


main()
