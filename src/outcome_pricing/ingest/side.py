"""One side file (audits, disputes: files keyed to stored tasks) read, checked and loaded in one
transaction, with the same file/row/column messages as the tasks file (ingest.read, validate).

Each kind supplies only its `load` step (stage, its own checks, the insert); opening, the
transaction, UTC and the diagnosis of an unreadable file are the same for every kind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from outcome_pricing.errors import Problem, ValidationError
from outcome_pricing.ingest.diagnose import diagnose
from outcome_pricing.ingest.files import file_sha256
from outcome_pricing.ingest.mapping import Mapping, SectionMapping
from outcome_pricing.ingest.read import FileSpec, InputFile, Unreadable
from outcome_pricing.ingest.validate import MAX_PROBLEMS_PER_RULE
from outcome_pricing.warehouse import cluster
from outcome_pricing.warehouse.handle import Warehouse

Loaded = TypeVar("Loaded")
Load = Callable[[duckdb.DuckDBPyConnection, InputFile, Mapping, str], Loaded]


def ingest_side_file(
    wh: Warehouse, spec: FileSpec, path: str | Path, name: str | None, load: Load[Loaded]
) -> tuple[Loaded, InputFile]:
    """`load(cursor, file, mapping, sha256)` inside one transaction; ValidationError writes nothing."""
    item = InputFile(spec, Path(path), name or str(path), SectionMapping())
    if not item.path.is_file():
        raise ValidationError(item.name, [Problem(item.name, None, None, "file not found or not readable; check the path")])
    sha = file_sha256(item.path)
    m = Mapping()
    try:
        with wh.transaction() as cur:
            cur.execute("SET TimeZone = 'UTC'")
            loaded = load(cur, item, m, sha)
    except Unreadable as exc:
        raise diagnose(exc.item, m, exc.cause) from None
    return loaded, item


NO_SUCH_TASK = "no task with this task_id in the warehouse"


def check_tasks_exist(cur: duckdb.DuckDBPyConnection, item: InputFile, hint: str = "") -> None:
    """Every staged row's task_id must be a stored task (a row about no task is a typo):
    else ValidationError naming the file, each row and its task_id (`hint` ends the message)."""
    stage = item.spec.stage_table
    cluster.hold_named_tasks(cur, f"SELECT task_id FROM {stage}")  # cluster mode: from the Parquet tasks
    missing = f"FROM {stage} WHERE task_id NOT IN (SELECT task_id FROM tasks)"
    total = int(cur.execute(f"SELECT count(*) {missing}").fetchone()[0])  # type: ignore[index]
    if not total:
        return
    base = cur.execute(f"SELECT min(rowid) FROM {stage}").fetchone()[0]  # type: ignore[index]
    rows = cur.execute(
        f"SELECT rowid - ? + ?, task_id {missing} ORDER BY rowid LIMIT ?",
        [base, item.first_row, MAX_PROBLEMS_PER_RULE],
    ).fetchall()
    text = NO_SUCH_TASK + hint
    raise ValidationError(item.name, [Problem(item.name, int(r), "task_id", text, str(v)) for r, v in rows], total=total)
