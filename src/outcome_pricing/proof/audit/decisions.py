"""A reviewer's verdict in the app: genuine or not, kept with who and when, never overwritten.

A decision is an audit like a row of the audits file: for one task the latest
(audited_at or decided_at) wins, and every earlier decision stays in the
history. Only tasks the reviewer can see may be decided (the caller passes the
reviewer's own scoped view as `visible`).
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.proof.audit.records import has_audit_tables
from outcome_pricing.rules.source import Source

MAX_NOTE = 2000  # characters: a note, not a document
HISTORY_COLUMNS = ["decision_id", "task_id", "account_id", "genuine", "decided_by", "decided_at", "note"]


class Writable(Source, Protocol):
    """A warehouse that can write (Warehouse.transaction)."""

    def transaction(self) -> object: ...


def record_decision(
    wh: Writable, visible: Source, task_id: str, genuine: bool, decided_by: str, note: str = ""
) -> int:
    """Store one decision; return its decision_id. ConfigError for a task the reviewer cannot see."""
    who = decided_by.strip()
    if not who:
        raise ConfigError("A decision needs the reviewer's name or email.")
    if len(note) > MAX_NOTE:
        raise ConfigError(f"The note is {len(note):,} characters; keep it under {MAX_NOTE:,}.")
    found = visible.query_df("SELECT account_id FROM tasks WHERE task_id = $t", {"t": str(task_id)})
    if found.empty:
        raise ConfigError(f"No task '{task_id}' that you may see; check the id.")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with wh.transaction() as cur:  # type: ignore[attr-defined]
        row = cur.execute("SELECT coalesce(max(decision_id), 0) + 1 FROM audit_decisions").fetchall()
        decision_id = int(row[0][0])
        cur.execute(
            "INSERT INTO audit_decisions VALUES (?, ?, ?, ?, ?, ?, ?)",
            [decision_id, str(task_id), str(found["account_id"].iloc[0]), bool(genuine), who, now, note or None],
        )
    return decision_id


def decision_history(wh: Source, task_ids: list[str] | None = None) -> pd.DataFrame:
    """Every decision (newest first): decision_id, task_id, account_id, genuine, decided_by,
    decided_at, note."""
    if not has_audit_tables(wh):  # a warehouse from before audits, opened read-only
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    where = "" if task_ids is None else "WHERE list_contains($ids, task_id)"
    params = {} if task_ids is None else {"ids": [str(t) for t in task_ids]}
    return wh.query_df(
        f"SELECT {', '.join(HISTORY_COLUMNS)} FROM audit_decisions {where} ORDER BY decided_at DESC, decision_id DESC",
        params,
    )
