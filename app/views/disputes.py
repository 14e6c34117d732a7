"""Disputes (pricing, admin): customers contesting billed outcomes, decided with the evidence in view.

Draws what `ingest.disputes` stores: the open disputes, the disputed task's evidence (the
fields the rules read and why the task was billed, from `rules.evaluate_tasks` and
`explain_reason`), a form to accept or reject with a note (saved with the reviewer's
identity and the time), and every decision ever made (never overwritten).
"""

from __future__ import annotations

import fmt
import frame
import pandas as pd
import streamlit as st

from outcome_pricing.access import DISPUTE_REVIEWERS
from outcome_pricing.ingest import disputes
from outcome_pricing.kit.cells import to_safe_csv
from outcome_pricing.rules import Definition, evaluate_tasks, explain_reason
from outcome_pricing.warehouse import Warehouse

DECISIONS = {"Accept (void the outcome)": "accepted", "Reject (the outcome stands)": "rejected"}
# A warehouse can hold hundreds of thousands of disputes (150k in the 100M demo): the page lists
# the newest of each kind and offers the whole list as a download, not every row to the browser.
SHOWN_ROWS = 1_000
PICKED = 200  # open disputes in the picker (newest filed first); others are found by id


@st.cache_data(show_spinner=False, max_entries=16)
def _disputes(_wh: Warehouse, version: str) -> pd.DataFrame:
    return disputes.list_disputes(_wh)


@st.cache_data(show_spinner=False, max_entries=16)
def _history(_wh: Warehouse, version: str) -> pd.DataFrame:
    return disputes.decision_history(_wh)


@st.cache_data(show_spinner=False, max_entries=64)
def _evidence(_wh: Warehouse, definition_toml: str, task_id: str, version: str) -> pd.DataFrame:
    return evaluate_tasks(_wh, Definition.from_toml_text(definition_toml), task_ids=[task_id])


def _counts(all_disputes: pd.DataFrame) -> None:
    counts = all_disputes["status"].value_counts()
    cols = st.columns(3)
    for col, status in zip(cols, ("open", "accepted", "rejected"), strict=True):
        col.metric(status.capitalize(), fmt.count(int(counts.get(status, 0))))


def _evidence_panel(page: frame.Page, d: Definition, row: pd.Series) -> None:
    ev = _evidence(page.wh, d.to_toml(), str(row["task_id"]), page.version)
    st.markdown(f"**Dispute {row['dispute_id']}** on task `{row['task_id']}` (account {row['account_id']}), "
                f"filed {fmt.month(pd.Timestamp(row['filed_at']), full=True)}: *{row['reason'] or 'no reason given'}*")
    if ev.empty:
        st.warning("The disputed task is not in the warehouse any more.")
        return
    task = ev.iloc[0]
    st.markdown(f"Under **{d.name}** (version `{d.version}`) the task is **{fmt.label(str(task['reason']))}** "
                f"({fmt.units(float(task['billable_units']))} billable unit(s)): "
                f"{explain_reason(str(task['reason']), d)}")
    st.dataframe(ev.drop(columns=["account_id"]), hide_index=True, placeholder="",
                 column_config={c: fmt.label(c) for c in ev.columns})


def _find(open_disputes: pd.DataFrame) -> pd.DataFrame:
    """The open disputes to pick from: those matching the search (a dispute, task or account id,
    or part of one), else the newest PICKED."""
    text = st.text_input("Find an open dispute", key="disputes.find", placeholder="dispute, task or account id",
                         help=f"{fmt.count(len(open_disputes))} open disputes; the list shows the newest "
                         f"{PICKED} unless you search.").strip()
    if not text:
        return open_disputes.head(PICKED)
    ids = open_disputes[["dispute_id", "task_id", "account_id"]].astype(str)
    hit = ids.apply(lambda column: column.str.contains(text, case=False, regex=False)).any(axis=1)
    found: pd.DataFrame = open_disputes[hit.to_numpy()].head(PICKED)
    if found.empty:
        st.info(f"No open dispute matches {text!r}.")
    return found


def _table(rows: pd.DataFrame, columns: list[str], what: str, file_name: str, newest_last: bool) -> None:
    """The newest SHOWN_ROWS rows (the last ones when `rows` are oldest first), and every row as
    a CSV download."""
    shown = rows.tail(SHOWN_ROWS) if newest_last else rows.head(SHOWN_ROWS)
    st.dataframe(shown, hide_index=True, placeholder="", column_config={c: fmt.label(c) for c in columns})
    if len(rows) > SHOWN_ROWS:
        st.caption(f"The newest {fmt.count(SHOWN_ROWS)} of {fmt.count(len(rows))} {what} are shown: "
                   "the download has them all.")
    st.download_button(f"Download all {what} (CSV)", lambda: to_safe_csv(rows),
                       file_name=file_name, mime="text/csv", icon=":material/download:", key=f"disputes.{file_name}")


def _decide(page: frame.Page, open_disputes: pd.DataFrame, d: Definition) -> None:
    if page.person.role not in DISPUTE_REVIEWERS:
        st.info("Only pricing and admin users decide disputes; the lists below are read-only.")
        return
    if open_disputes.empty:
        st.success("No open disputes: every dispute has been decided.")
        return
    found = _find(open_disputes)
    if found.empty:
        return
    labels = {r.dispute_id: f"{r.dispute_id} · task {r.task_id} · {r.account_id}" for r in found.itertuples()}
    chosen = st.selectbox("Open dispute", list(labels), format_func=lambda k: labels[k], key="disputes.pick",
                          help="Newest filed first. The task's evidence is shown below before you decide.")
    row = found[found["dispute_id"] == chosen].iloc[0]
    _evidence_panel(page, d, row)
    with st.form("disputes.decide", clear_on_submit=True):
        decision = st.radio("Decision", list(DECISIONS), horizontal=True, key="disputes.decision",
                            help="Accepting voids the billed outcome from now on: it is credited on the next "
                                 "statement (as an adjustment) if the dispute was filed within the definition's "
                                 "dispute window.")
        note = st.text_area("Note", key="disputes.note", max_chars=disputes.MAX_NOTE,
                            help="Why: what you saw in the evidence (kept with the decision).")
        if st.form_submit_button("Save the decision"):
            with frame.guard():
                disputes.decide(frame.decision_warehouse(), str(chosen), DECISIONS[str(decision)], page.person.email,
                                note, visible=page.wh)
                frame.after_ingest()
                st.success(f"Saved: dispute {chosen!s} {DECISIONS[str(decision)]} by {page.person.email}.")


def main() -> None:
    page = frame.start("Customers' disputes of billed outcomes: decide them with the evidence in view.",
                       empty="No billed outcomes to dispute yet.")
    d = page.scenario.definition
    all_disputes = _disputes(page.wh, page.version)
    if all_disputes.empty:
        st.info("No disputes yet. An admin loads a disputes file with "
                "`outcome-pricing ingest --disputes FILE` (dispute_id, task_id, filed_at, status, decided_at, "
                "reason, reviewer).")
        return
    _counts(all_disputes)
    st.subheader("Decide an open dispute")
    _decide(page, all_disputes[all_disputes["status"] == "open"], d)
    st.subheader("Every decision")
    st.caption("Decisions from files and from this page, oldest first, with who and when; none is ever overwritten.")
    _table(_history(page.wh, page.version), disputes.HISTORY_COLUMNS, "decisions", "dispute_decisions.csv",
           newest_last=True)
    st.subheader("All disputes")
    _table(all_disputes, disputes.DISPUTE_VIEW_COLUMNS, "disputes", "disputes.csv", newest_last=False)


main()
