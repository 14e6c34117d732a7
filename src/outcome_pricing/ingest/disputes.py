"""`ingest --disputes FILE` and the reviewers' decisions: customers contesting billed outcomes
(DESIGN section 8), all or nothing.

Columns: dispute_id, task_id, filed_at, status (open | accepted | rejected; any case),
decided_at (required unless open, >= filed_at), reason, reviewer. The file goes through
the same reader and rules as a task log (ingest/read.py, validate.py), so a problem is
named by file, row and column the same way; then every task_id must be in the
warehouse. A dispute_id already stored is replaced by the file's row (a re-ingest
replaces). Every decision, from a file or made in the app (`decide`), is also appended
to `dispute_decisions` with who and when, and never overwritten there: the history of
a dispute survives a re-ingest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.ingest.mapping import Mapping
from outcome_pricing.ingest.read import FileSpec, InputFile, Rule
from outcome_pricing.ingest.side import check_tasks_exist, ingest_side_file
from outcome_pricing.ingest.validate import stage_validated
from outcome_pricing.warehouse.connection import has_table
from outcome_pricing.warehouse.handle import Warehouse
from outcome_pricing.warehouse.schema import DISPUTE_COLUMNS, DISPUTE_STATUSES

_STATUS = "lower(trim(status))"
_LISTED = "(" + ", ".join(f"'{s}'" for s in DISPUTE_STATUSES) + ")"  # our constants, not user text
DISPUTES = FileSpec("disputes", DISPUTE_COLUMNS, "dispute_id", rules=(
    Rule("status", f"status must be one of {', '.join(DISPUTE_STATUSES)}",
         f"status IS NOT NULL AND {_STATUS} NOT IN {_LISTED}", "status"),
    Rule("decided_at", "decided_at is required for an accepted or rejected dispute",
         f"decided_at IS NULL AND {_STATUS} IN ('accepted', 'rejected')", "status"),
    Rule("decided_at", "decided_at is before filed_at",
         "decided_at < filed_at", "decided_at::VARCHAR || ' < ' || filed_at::VARCHAR"),
))
DECIDED = ("accepted", "rejected")


@dataclass(frozen=True)
class DisputeIngestReport:
    source: str
    rows_inserted: int
    rows_updated: int
    decisions_recorded: int
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        text = (f"{self.source}: {self.rows_inserted:,} dispute(s) inserted, {self.rows_updated:,} "
                f"replaced; {self.decisions_recorded:,} decision(s) added to the history")
        return text + "".join(f"\nNote: {n}" for n in self.notes)


def ingest_disputes(wh: Warehouse, path: str | Path, *, name: str | None = None) -> DisputeIngestReport:
    """Validate and load a disputes file in one transaction; ValidationError writes nothing."""
    report, _ = ingest_side_file(wh, DISPUTES, path, name, _load)
    return report


def _load(cur: duckdb.DuckDBPyConnection, item: InputFile, m: Mapping, sha: str) -> DisputeIngestReport:
    n_rows = stage_validated(cur, item, m)
    stage = DISPUTES.stage_table
    replaced = recorded = 0
    if n_rows:
        check_tasks_exist(cur, item, "; ingest its tasks first")
        replaced = _count(cur, f"SELECT count(*) FROM disputes WHERE dispute_id IN (SELECT dispute_id FROM {stage})")
        cur.execute(f"DELETE FROM disputes WHERE dispute_id IN (SELECT dispute_id FROM {stage})")
        cur.execute(
            f"INSERT INTO disputes SELECT s.dispute_id, s.task_id, t.account_id, s.filed_at, {_STATUS}, "
            f"s.decided_at, s.reason, s.reviewer, NULL FROM {stage} AS s JOIN tasks AS t USING (task_id)"
        )
        recorded = _record_file_decisions(cur, stage, item.name)
    ingest_id = _count(cur, "SELECT coalesce(max(ingest_id), 0) + 1 FROM ingest_log")
    cur.execute(
        "INSERT INTO ingest_log VALUES (?, ?, ?, 'disputes', ?, ?, now()::TIMESTAMP)",
        [ingest_id, item.name, sha, n_rows - replaced, replaced],
    )
    cur.execute(f"DROP TABLE {stage}")
    return DisputeIngestReport(item.name, n_rows - replaced, replaced, recorded, tuple(item.notes))


def _record_file_decisions(cur: duckdb.DuckDBPyConnection, stage: str, source: str) -> int:
    """Append the file's decisions not already in the history (same dispute, status, time, who)."""
    fresh = (
        f"SELECT s.dispute_id, s.task_id, t.account_id, {_STATUS} AS status, s.reviewer, s.decided_at "
        f"FROM {stage} AS s JOIN tasks AS t USING (task_id) WHERE {_STATUS} IN ('accepted', 'rejected') "
        "AND NOT EXISTS (SELECT 1 FROM dispute_decisions AS h WHERE h.dispute_id = s.dispute_id "
        f"AND h.status = {_STATUS} AND h.decided_at IS NOT DISTINCT FROM s.decided_at "
        "AND h.decided_by IS NOT DISTINCT FROM s.reviewer)"
    )
    n = _count(cur, f"SELECT count(*) FROM ({fresh})")
    first = _count(cur, "SELECT coalesce(max(decision_id), 0) + 1 FROM dispute_decisions")
    cur.execute(
        f"INSERT INTO dispute_decisions SELECT ? + row_number() OVER (ORDER BY dispute_id) - 1, dispute_id, "
        f"task_id, account_id, status, reviewer, decided_at, NULL, ?, now()::TIMESTAMP FROM ({fresh})",
        [first, source],
    )
    return n


def _count(cur: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = cur.execute(sql).fetchone()
    return int(row[0]) if row else 0


MAX_NOTE = 2_000


def decide(
    wh: Warehouse, dispute_id: str, status: str, reviewer: str, note: str = "",
    at: dt.datetime | None = None, visible: Warehouse | None = None,
) -> None:
    """A reviewer accepts or rejects an open dispute: the dispute's state changes and the
    decision is appended to the history with who and when (one transaction).

    Refused (ConfigError) for an unknown or already decided dispute, another status, no
    reviewer, a note over MAX_NOTE characters, or a dispute not in `visible` (the
    reviewer's own view of the warehouse): a decision is made once, by someone allowed.
    """
    if status not in DECIDED:
        raise ConfigError(f"A dispute is decided as one of {', '.join(DECIDED)}; got {status!r}.")
    if not str(reviewer).strip():
        raise ConfigError("A decision needs the reviewer's identity (who decided).")
    if len(note) > MAX_NOTE:
        raise ConfigError(f"The note is {len(note):,} characters; keep it under {MAX_NOTE:,}.")
    if visible is not None and dispute_id not in set(list_disputes(visible)["dispute_id"]):
        raise ConfigError(f"There is no dispute {dispute_id!r} that you may see.")
    when = (at or dt.datetime.now(dt.UTC)).replace(tzinfo=None, microsecond=0)
    with wh.transaction() as cur:
        found = cur.execute(
            "SELECT task_id, account_id, status, filed_at FROM disputes WHERE dispute_id = ?", [dispute_id]
        ).fetchone()
        if found is None:
            raise ConfigError(f"There is no dispute {dispute_id!r}.")
        task_id, account_id, current, filed_at = found
        if current != "open":
            raise ConfigError(f"Dispute {dispute_id!r} is already {current}; only open disputes are decided.")
        when = max(when, filed_at)
        cur.execute(
            "UPDATE disputes SET status = ?, decided_at = ?, reviewer = ?, note = ? WHERE dispute_id = ?",
            [status, when, reviewer, note, dispute_id],
        )
        first = _count(cur, "SELECT coalesce(max(decision_id), 0) + 1 FROM dispute_decisions")
        cur.execute(
            "INSERT INTO dispute_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'app', now()::TIMESTAMP)",
            [first, dispute_id, task_id, account_id, status, reviewer, when, note],
        )


DISPUTE_VIEW_COLUMNS = ["dispute_id", "task_id", "account_id", "filed_at", "status", "decided_at", "reason",
                        "reviewer", "note"]
HISTORY_COLUMNS = ["decision_id", "dispute_id", "task_id", "account_id", "status", "decided_by", "decided_at",
                   "note", "source", "recorded_at"]


def _table_exists(wh: Warehouse, table: str) -> bool:
    with wh.cursor() as cur:
        return has_table(cur, table)


def list_disputes(wh: Warehouse, status: str | None = None, account_id: str | None = None) -> pd.DataFrame:
    """Stored disputes (DISPUTE_VIEW_COLUMNS), newest filed first; optionally one status or account."""
    if not _table_exists(wh, "disputes"):
        return pd.DataFrame(columns=DISPUTE_VIEW_COLUMNS)
    return wh.query_df(
        f"SELECT {', '.join(DISPUTE_VIEW_COLUMNS)} FROM disputes "
        "WHERE ($status IS NULL OR status = $status) AND ($account IS NULL OR account_id = $account) "
        "ORDER BY filed_at DESC, dispute_id",
        {"status": status, "account": account_id},
    )


def decision_history(wh: Warehouse, dispute_id: str | None = None, account_id: str | None = None) -> pd.DataFrame:
    """Every decision ever recorded (HISTORY_COLUMNS), oldest first; optionally one dispute or account."""
    if not _table_exists(wh, "dispute_decisions"):
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    return wh.query_df(
        f"SELECT {', '.join(HISTORY_COLUMNS)} FROM dispute_decisions "
        "WHERE ($dispute IS NULL OR dispute_id = $dispute) AND ($account IS NULL OR account_id = $account) "
        "ORDER BY decision_id",
        {"dispute": dispute_id, "account": account_id},
    )
