"""`ingest --audits FILE`: people's judgments of tasks, all or nothing (DESIGN section 9).

Columns: task_id, audited_at, genuine (required), auditor, note. The file goes
through the same reader and rules as a task log (ingest/read.py, validate.py),
so a problem is named by file, row and column the same way; then every task_id
must be in the warehouse. A task appears at most once in a file (one round of
audits); a later ingest adds rows, and for one task the latest audited_at wins
(proof/audit/records.py). A row identical to one already stored is not added
again, so ingesting the same file twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from outcome_pricing.ingest.mapping import Mapping
from outcome_pricing.ingest.read import FileSpec, InputFile, stage_file
from outcome_pricing.ingest.side import check_tasks_exist, ingest_side_file
from outcome_pricing.ingest.validate import raise_rejects, validate_staged
from outcome_pricing.warehouse.handle import Warehouse
from outcome_pricing.warehouse.schema import AUDIT_COLUMNS

AUDITS = FileSpec("audits", AUDIT_COLUMNS, "task_id")
STORED = ("task_id", "audited_at", "genuine", "auditor", "note")


@dataclass(frozen=True)
class AuditIngestReport:
    source: str
    rows_inserted: int
    rows_unchanged: int
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        text = f"{self.source}: {self.rows_inserted:,} audit(s) added"
        if self.rows_unchanged:
            text += f"; {self.rows_unchanged:,} already stored unchanged"
        return text + "".join(f"\nNote: {n}" for n in self.notes)


def ingest_audits(wh: Warehouse, path: str | Path, *, name: str | None = None) -> AuditIngestReport:
    """Validate and add an audits file in one transaction; ValidationError writes nothing."""
    (added, same), item = ingest_side_file(wh, AUDITS, path, name, _load)
    return AuditIngestReport(item.name, added, same, tuple(item.notes))


def _load(cur: duckdb.DuckDBPyConnection, item: InputFile, m: Mapping, sha: str) -> tuple[int, int]:
    src, from_text = stage_file(cur, item, m)
    if not item.is_parquet:
        raise_rejects(cur, item, src)
    stage = AUDITS.stage_table
    n_rows = int(cur.execute(f"SELECT count(*) FROM {stage}").fetchone()[0])  # type: ignore[index]
    if n_rows:
        validate_staged(cur, item, from_text)
        check_tasks_exist(cur, item, "; ingest its tasks first")
    cols = ", ".join(STORED)
    fresh = f"SELECT {cols} FROM {stage} EXCEPT SELECT {cols} FROM audits"
    added = int(cur.execute(f"SELECT count(*) FROM ({fresh})").fetchone()[0])  # type: ignore[index]
    ingest_id = int(cur.execute("SELECT coalesce(max(ingest_id), 0) + 1 FROM ingest_log").fetchone()[0])  # type: ignore[index]
    cur.execute(
        f"INSERT INTO audits SELECT f.task_id, t.account_id, f.audited_at, f.genuine, f.auditor, f.note, ? "
        f"FROM ({fresh}) AS f JOIN tasks AS t USING (task_id)",
        [ingest_id],
    )
    cur.execute(
        "INSERT INTO ingest_log VALUES (?, ?, ?, 'audits', ?, 0, now()::TIMESTAMP)",
        [ingest_id, item.name, sha, added],
    )
    cur.execute(f"DROP TABLE {stage}")
    if not n_rows:
        item.notes.append(f"{item.name}: the file has a header but no data rows; nothing to load.")
    return added, n_rows - added
