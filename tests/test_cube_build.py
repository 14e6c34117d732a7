"""How the cube is built inside the ingest transaction (warehouse/cube.py `rebuild`).

The cube's scratch rows (`_cube_rows`, 2.2M rows at 10M tasks) go into a table of
the database, not a TEMP table: rows a transaction writes into a temp table stay in
memory until it ends (blamed for the 100M demo build's 16.8 GB peak). The
scratch table must not outlive the transaction, and a refused ingest leaves none.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from outcome_pricing.errors import ValidationError
from outcome_pricing.ingest import ingest_files
from outcome_pricing.warehouse import cube
from outcome_pricing.warehouse.handle import Warehouse
from tests.test_ingest import task_rows, write_csv

SCRATCH = "SELECT database_name, schema_name, temporary FROM duckdb_tables() WHERE table_name = '_cube_rows'"


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    w = Warehouse.open(tmp_path / "w.duckdb")
    yield w
    w.close()


def _record_scratch(monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[object, ...]]]:
    """Where `_cube_rows` lives when the numbering starts, one entry per rebuild."""
    seen: list[list[tuple[object, ...]]] = []
    numbering = cube.number_rows

    def spy(cur: duckdb.DuckDBPyConnection, n_tasks: int | None = None) -> str:
        seen.append(cur.execute(SCRATCH).fetchall())
        return numbering(cur, n_tasks)

    monkeypatch.setattr(cube, "number_rows", spy)
    return seen


def test_the_scratch_rows_are_a_database_table_dropped_before_the_commit(
    wh: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _record_scratch(monkeypatch)
    ingest_files(wh, tasks=write_csv(tmp_path / "t.csv", task_rows(30)))
    assert len(seen) == 1
    [(schema, temporary)] = [(s, t) for _, s, t in seen[0]]
    assert (schema, temporary) == ("main", False)
    with wh.cursor() as cur:
        assert cur.execute(SCRATCH).fetchall() == []
        assert cube.is_current(cur)


def test_a_refused_ingest_leaves_no_scratch_table(wh: Warehouse, tmp_path: Path) -> None:
    ingest_files(wh, tasks=write_csv(tmp_path / "a.csv", task_rows(10)))
    rows = [r | {"task_id": f"N{i}"} for i, r in enumerate(task_rows(5))]
    rows[2]["csat"] = "9"
    with pytest.raises(ValidationError):
        ingest_files(wh, tasks=write_csv(tmp_path / "b.csv", rows))
    with wh.cursor() as cur:
        assert cur.execute(SCRATCH).fetchall() == []
        assert cube.is_current(cur)
