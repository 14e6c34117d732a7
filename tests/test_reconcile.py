"""Reconciliation with the customer's own count (DESIGN section 8): hostile files first,
then counts and task lists against a plain reading of the contract."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from outcome_pricing.errors import ValidationError
from outcome_pricing.pricing.reconcile import reconcile
from outcome_pricing.rules import Definition, evaluate_tasks
from outcome_pricing.warehouse.handle import Warehouse
from tests.rows import load_tasks

# Jan: T1 confirmed, T2 not resolved; Feb: T3 confirmed (A1); T4 confirmed (A2, Jan).
TASKS = [
    {"task_id": "T1", "closed_at": dt.datetime(2025, 1, 10, 10)},
    {"task_id": "T2", "requester_id": "R2", "customer_confirmed": False, "closed_at": dt.datetime(2025, 1, 11, 10),
     "created_at": dt.datetime(2025, 1, 11, 9)},
    {"task_id": "T3", "requester_id": "R3", "closed_at": dt.datetime(2025, 2, 11, 10),
     "created_at": dt.datetime(2025, 2, 11, 9)},
    {"task_id": "T4", "account_id": "A2", "closed_at": dt.datetime(2025, 1, 12, 10),
     "created_at": dt.datetime(2025, 1, 12, 9)},
]


@pytest.fixture
def wh() -> Warehouse:
    w = Warehouse.in_memory()
    load_tasks(w, TASKS)
    return w


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "theirs.csv"
    path.write_text(text, encoding="utf-8")
    return path


class TestHostileFiles:
    @pytest.mark.parametrize(("text", "row", "column", "words"), [
        ("account_id,month,outcomes\nA1,2025-13,3\n", 2, "month", "YYYY-MM"),
        ("account_id,month,outcomes\nA1,2025-01,3\nA1,2025-01,4\n", 2, "month", "more than once"),
        ("account_id,month,outcomes\nA1,2025-01,-1\n", 2, "outcomes", ">= 0"),
        ("account_id,month,outcomes\nA1,2025-01,lots\n", 2, "outcomes", "number"),
        ("task_id,resolved\nT1,true\nT99,true\n", 3, "task_id", "no task"),
        ("task_id,resolved\nT1,perhaps\n", 2, "resolved", "boolean"),
        ("account_id,outcomes\nA1,3\n", 1, "month", "missing"),
    ])
    def test_a_bad_row_is_named(self, wh: Warehouse, tmp_path: Path, text: str, row: int, column: str,
                                words: str) -> None:
        with pytest.raises(ValidationError) as err:
            reconcile(wh, Definition(), write(tmp_path, text))
        problem = err.value.problems[0]
        assert (problem.row, problem.column) == (row, column) and words in problem.rule, problem


class TestCounts:
    def test_ours_theirs_and_the_difference_over_the_union(self, wh: Warehouse, tmp_path: Path) -> None:
        their = "account_id,month,outcomes\nA1,2025-01,3\nA3,2025-01,2\n"
        frame = reconcile(wh, Definition(), write(tmp_path, their)).frame
        got = {(r.account_id, f"{r.month:%Y-%m}"): (r.ours, r.theirs, r.difference) for r in frame.itertuples()}
        assert got == {
            ("A1", "2025-01"): (1.0, 3.0, -2.0), ("A1", "2025-02"): (1.0, 0.0, 1.0),
            ("A2", "2025-01"): (1.0, 0.0, 1.0), ("A3", "2025-01"): (0.0, 2.0, -2.0),
        }


class TestTaskLists:
    def test_only_ours_and_only_theirs_by_our_reason(self, wh: Warehouse, tmp_path: Path) -> None:
        d = Definition()
        # They count T2 (we do not: not_resolved) and not T1 (missing = not resolved) nor T3 (false).
        result = reconcile(wh, d, write(tmp_path, "task_id,resolved\nT2,yes\nT3,false\nT4,true\n"))
        ours = evaluate_tasks(wh, d).set_index("task_id")
        theirs = {"T2": True, "T3": False, "T4": True}
        expected = {
            t: ("only_ours" if ours.loc[t, "billable_units"] > 0 else "only_theirs", ours.loc[t, "reason"])
            for t in ours.index if (ours.loc[t, "billable_units"] > 0) != theirs.get(t, False)
        }
        got = {r.task_id: (r.side, r.reason) for r in result.tasks.itertuples()}  # type: ignore[union-attr]
        assert got == expected == {"T1": ("only_ours", "confirmed"), "T2": ("only_theirs", "not_resolved"),
                                   "T3": ("only_ours", "confirmed")}
        records = {(r["account_id"], r["month"]): r for r in result.records()}
        jan = records[("A1", "2025-01")]
        assert (jan["ours"], jan["theirs"], jan["difference"]) == (1.0, 1.0, 0.0)
        assert jan["only_ours"] == {"tasks": 1, "by_reason": {"confirmed": 1}}
        assert jan["only_theirs"] == {"tasks": 1, "by_reason": {"not_resolved": 1}}
        assert records[("A2", "2025-01")]["only_ours"] == {"tasks": 0, "by_reason": {}}

    @pytest.mark.slow
    def test_the_cli_prints_the_json_keys(self, tmp_path: Path) -> None:
        db = tmp_path / "w.duckdb"
        with Warehouse.open(db) as w:
            load_tasks(w, TASKS)
        their = write(tmp_path, "task_id,resolved\nT2,yes\n")
        run = subprocess.run(
            [sys.executable, "-c", "from outcome_pricing.cli import main; main()", "--db", str(db), "reconcile",
             "--their", str(their), "--definition", "intercom-fin-2025", "--format", "json"],
            capture_output=True, text=True, check=False,
        )
        assert run.returncode == 0, run.stderr
        rows = json.loads(run.stdout)
        assert set(rows[0]) == {"account_id", "month", "ours", "theirs", "difference", "only_ours", "only_theirs"}
        assert pd.DataFrame(rows)["month"].str.fullmatch(r"\d{4}-\d{2}").all()
