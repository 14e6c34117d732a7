"""Hand-made audits for the audit tests: stored the way a file or a reviewer stores them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from outcome_pricing.warehouse import Warehouse

WHEN = dt.datetime(2025, 3, 1, 12)


def store_audits(wh: Warehouse, rows: Sequence[tuple[str, bool] | tuple[str, bool, dt.datetime]],
                 ingest_id: int = 1) -> None:
    """(task_id, genuine[, audited_at]) rows into the audits table, account from the task."""
    with wh.transaction() as cur:
        for row in rows:
            task_id, genuine = row[0], row[1]
            at = row[2] if len(row) > 2 else WHEN  # type: ignore[misc]
            cur.execute(
                "INSERT INTO audits SELECT task_id, account_id, ?, ?, 'qa', NULL, ? FROM tasks WHERE task_id = ?",
                [at, genuine, ingest_id, task_id],
            )
