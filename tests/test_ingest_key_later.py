"""A task_id repeated in one file is refused the same way on every path.

The repeated-key rule is counted in the same scan as every other rule
(ingest/validate.py `validate_staged`), before anything is written, whether the
warehouse is empty or holds tasks (it was once left to a count after the insert
into an empty one). Both must name the same rows, list the other rules' problems
with it, and change nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcome_pricing.ingest import ingest_files
from outcome_pricing.warehouse.handle import Warehouse
from tests.test_ingest import assert_same, refused, snapshot, task_rows, write_csv


@pytest.fixture
def wh() -> Iterator[Warehouse]:
    w = Warehouse.in_memory()
    yield w
    w.close()


def test_a_repeated_task_id_into_an_empty_warehouse_is_refused_and_nothing_is_written(
    wh: Warehouse, tmp_path: Path
) -> None:
    rows = task_rows(6)
    rows[4] = rows[1] | {"topic": "shipping", "requester_id": "someone-else"}  # another gap partition
    exc = refused(wh, tasks=write_csv(tmp_path / "dup.csv", rows))
    assert [(p.file, p.row, p.column) for p in exc.problems] == [
        (str(tmp_path / "dup.csv"), 3, "task_id"), (str(tmp_path / "dup.csv"), 6, "task_id")]
    assert "more than once" in exc.problems[0].rule
    assert wh.is_empty()
    assert wh.scalar("SELECT count(*) FROM ingest_log") == 0


def test_a_repeated_task_id_is_listed_with_the_other_problems_of_the_file(wh: Warehouse, tmp_path: Path) -> None:
    rows = task_rows(5)
    rows[3]["task_id"] = rows[0]["task_id"]
    rows[2]["csat"] = "9"
    exc = refused(wh, tasks=write_csv(tmp_path / "t.csv", rows))
    assert [(p.row, p.column) for p in exc.problems] == [(2, "task_id"), (4, "csat"), (5, "task_id")]
    assert exc.total == 3
    assert wh.is_empty()


def test_a_repeated_task_id_into_a_warehouse_with_tasks_is_refused_before_anything_changes(
    wh: Warehouse, tmp_path: Path
) -> None:
    stored = task_rows(4)
    ingest_files(wh, tasks=write_csv(tmp_path / "first.csv", stored))
    before = snapshot(wh)
    # One copy identical to the stored row (it would be dropped as unchanged), one changed.
    fresh = [r | {"task_id": f"NEW{i}"} for i, r in enumerate(task_rows(2))]
    again = [stored[1], stored[1] | {"csat": "2"}, *fresh]
    exc = refused(wh, tasks=write_csv(tmp_path / "again.csv", again))
    assert [(p.row, p.column) for p in exc.problems] == [(2, "task_id"), (3, "task_id")]
    assert_same(before, snapshot(wh))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(2, 12), data=st.data())
def test_any_repeated_task_id_into_an_empty_warehouse_names_exactly_its_rows(
    tmp_path: Path, n: int, data: st.DataObject
) -> None:
    rows = task_rows(n)
    picks = data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=4))
    for i in picks[1:]:
        rows[i]["task_id"] = rows[picks[0]]["task_id"]
    ids = [r["task_id"] for r in rows]
    expected = sorted(i + 2 for i, t in enumerate(ids) if ids.count(t) > 1)
    with Warehouse.in_memory() as w:
        path = write_csv(tmp_path / f"dup{n}.csv", rows)
        if not expected:  # every pick was the same row: nothing repeated
            ingest_files(w, tasks=path)
            assert w.scalar("SELECT count(*) FROM tasks") == n
            return
        exc = refused(w, tasks=path)
        assert sorted(p.row for p in exc.problems) == expected
        assert {p.column for p in exc.problems} == {"task_id"}
        assert w.is_empty()
