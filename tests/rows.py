"""Hand-made task rows for tests: a complete default task, and loading rows into a
warehouse the way every file lands (one staged transaction)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

from outcome_pricing.warehouse import Warehouse
from outcome_pricing.warehouse.schema import TASK_COLUMNS

BASE_TASK: dict[str, Any] = {
    "task_id": "T1",
    "account_id": "A1",
    "requester_id": "R1",
    "topic": "billing",
    "channel": "chat",
    "created_at": dt.datetime(2025, 1, 10, 9),
    "closed_at": dt.datetime(2025, 1, 10, 10),
    "ai_enabled": True,
    "ai_answered": True,
    "handoff": False,
    "context_retained": None,
    "customer_confirmed": True,
    "quiet_hours": None,
    "verified": True,
    "ai_error_corrected": False,
    "n_issues": 1,
    "n_issues_resolved": 1,
    "csat": None,
    "tokens_in": 0,
    "tokens_out": 0,
    "model_tier": "standard",
    "human_seconds": 0.0,
    "ai_seconds": 30.0,
    "qa_audited": False,
    "missed_issue": None,
}


def load_tasks(wh: Warehouse, rows: Sequence[dict[str, Any]], source: str = "test") -> None:
    """Ingest rows (contract columns) the way every file lands: one apply_staged transaction."""
    frame = pd.DataFrame([{**BASE_TASK, **r} for r in rows], columns=[c.name for c in TASK_COLUMNS])
    frame = frame.astype(object).where(frame.notna(), None)
    typed = ", ".join(f"CAST({c.name} AS {c.sql_type}) AS {c.name}" for c in TASK_COLUMNS)
    with wh.transaction() as cur:
        cur.register("rows_frame", frame)
        cur.execute(f"CREATE OR REPLACE TEMP TABLE staged_tasks AS SELECT {typed} FROM rows_frame")
        cur.unregister("rows_frame")
        wh.apply_staged(cur, tasks="staged_tasks", accounts=None, source=source, sha256=None)
        cur.execute("DROP TABLE staged_tasks")
