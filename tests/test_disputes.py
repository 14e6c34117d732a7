"""Disputes (DESIGN section 8): the file (hostile first), the reviewers' decisions and
their history, and what an accepted dispute does to the outcomes."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from outcome_pricing.errors import ConfigError, ValidationError
from outcome_pricing.ingest.disputes import decide, decision_history, ingest_disputes, list_disputes
from outcome_pricing.rules import Definition, evaluate_tasks, outcomes, outcomes_from_tasks
from outcome_pricing.warehouse.handle import Warehouse
from tests.rows import load_tasks

HEADER = "dispute_id,task_id,filed_at,status,decided_at,reason,reviewer\n"
# T1 confirmed (billable) in January, T2 not resolved, T3 of another account.
TASKS = [
    {"task_id": "T1", "closed_at": dt.datetime(2025, 1, 10, 10)},
    {"task_id": "T2", "requester_id": "R2", "customer_confirmed": False, "closed_at": dt.datetime(2025, 1, 11, 10),
     "created_at": dt.datetime(2025, 1, 11, 9)},
    {"task_id": "T3", "account_id": "A2", "closed_at": dt.datetime(2025, 1, 12, 10),
     "created_at": dt.datetime(2025, 1, 12, 9)},
]


@pytest.fixture
def wh() -> Warehouse:
    w = Warehouse.in_memory()
    load_tasks(w, TASKS)
    return w


def write(tmp_path: Path, body: str, name: str = "disputes.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def stored(wh: Warehouse) -> int:
    return int(wh.scalar("SELECT count(*) FROM disputes"))


class TestHostileFiles:
    @pytest.mark.parametrize(("body", "row", "column", "words"), [
        ("D1,T9,2025-02-01,open,,,\n", 2, "task_id", "no task with this task_id"),
        ("D1,T1,2025-02-01,open,,,\nD2,T1,2025-02-01,maybe,,,\n", 3, "status", "must be one of"),
        ("D1,T1,2025-02-01,accepted,,,\n", 2, "decided_at", "required for an accepted"),
        ("D1,T1,2025-02-05,rejected,2025-02-01,,\n", 2, "decided_at", "before filed_at"),
        ("D1,T1,not a time,open,,,\n", 2, "filed_at", "timestamp"),
        ("D1,T1,2025-02-01,open,,,\nD1,T1,2025-02-02,open,,,\n", 2, "dispute_id", "more than once"),
        (",T1,2025-02-01,open,,,\n", 2, "dispute_id", "required value is empty"),
    ])
    def test_a_bad_row_is_named_and_nothing_is_written(
        self, wh: Warehouse, tmp_path: Path, body: str, row: int, column: str, words: str
    ) -> None:
        ingest_disputes(wh, write(tmp_path, "D0,T2,2025-02-01,open,,,\n", "first.csv"))
        with pytest.raises(ValidationError) as err:
            ingest_disputes(wh, write(tmp_path, body))
        problem = err.value.problems[0]
        assert (problem.row, problem.column) == (row, column) and words in problem.rule
        assert "disputes.csv" in str(err.value)
        assert stored(wh) == 1 and list(list_disputes(wh)["dispute_id"]) == ["D0"]

    @pytest.mark.slow
    def test_the_cli_refuses_with_exit_code_2_and_the_row(self, tmp_path: Path) -> None:
        db = tmp_path / "w.duckdb"
        with Warehouse.open(db) as w:
            load_tasks(w, TASKS)
        bad = write(tmp_path, "D1,T404,2025-02-01,open,,,\n")
        run = subprocess.run(
            [sys.executable, "-c", "from outcome_pricing.cli import main; main()", "--db", str(db),
             "ingest", "--disputes", str(bad)], capture_output=True, text=True, check=False,
        )
        assert run.returncode == 2
        assert "row 2" in run.stderr and "task_id" in run.stderr and "T404" in run.stderr


class TestStoring:
    def test_a_reingest_replaces_the_dispute_and_keeps_the_history(self, wh: Warehouse, tmp_path: Path) -> None:
        ingest_disputes(wh, write(tmp_path, "D1,T1,2025-02-01,rejected,2025-02-03,wrong,ana\n"))
        report = ingest_disputes(wh, write(tmp_path, "D1,T1,2025-02-01,ACCEPTED,2025-02-09,wrong,bo\n"))
        assert (report.rows_inserted, report.rows_updated) == (0, 1)
        assert list_disputes(wh)["status"].tolist() == ["accepted"]
        history = decision_history(wh, "D1")
        assert history[["status", "decided_by"]].values.tolist() == [["rejected", "ana"], ["accepted", "bo"]]
        ingest_disputes(wh, write(tmp_path, "D1,T1,2025-02-01,accepted,2025-02-09,wrong,bo\n"))
        assert len(decision_history(wh, "D1")) == 2  # the same decision is not recorded twice

    def test_a_reviewer_decides_an_open_dispute_once(self, wh: Warehouse, tmp_path: Path) -> None:
        ingest_disputes(wh, write(tmp_path, "D1,T1,2025-02-01,open,,wrong,\n"))
        with pytest.raises(ConfigError, match="reviewer"):
            decide(wh, "D1", "accepted", " ")
        with pytest.raises(ConfigError, match="one of"):
            decide(wh, "D1", "open", "ana@x")
        decide(wh, "D1", "accepted", "ana@x", "agent confirmed the answer was wrong", at=dt.datetime(2025, 3, 1))
        with pytest.raises(ConfigError, match="already accepted"):
            decide(wh, "D1", "rejected", "bo@x")
        row = list_disputes(wh).iloc[0]
        assert (row["status"], row["reviewer"], row["decided_at"]) == ("accepted", "ana@x", dt.datetime(2025, 3, 1))
        history = decision_history(wh, "D1")
        assert history[["status", "decided_by", "note", "source"]].values.tolist() == [
            ["accepted", "ana@x", "agent confirmed the answer was wrong", "app"]]

    def test_a_scoped_view_sees_only_its_accounts_disputes(self, wh: Warehouse, tmp_path: Path) -> None:
        ingest_disputes(wh, write(tmp_path, "D1,T1,2025-02-01,open,,,\nD3,T3,2025-02-01,open,,,\n"))
        assert list(list_disputes(wh.scoped(["A2"]))["dispute_id"]) == ["D3"]
        assert list(decision_history(wh.scoped(["A2"]))["dispute_id"]) == []
        with pytest.raises(ConfigError, match="that you may see"):
            decide(wh, "D1", "accepted", "ana@x", visible=wh.scoped(["A2"]))
        assert list_disputes(wh, status="open")["dispute_id"].tolist() == ["D1", "D3"]


class TestWhatADisputeDoes:
    @pytest.mark.parametrize(("line", "window", "voided"), [
        ("D1,T1,2025-02-01,accepted,2025-03-01,,", 0, True),
        ("D1,T1,2025-02-01,rejected,2025-03-01,,", 0, False),
        ("D1,T1,2025-02-01,open,,,", 0, False),
        ("D1,T1,2025-02-06 00:00:00,accepted,2025-03-01,,", 5, True),  # exactly at the window's end
        ("D1,T1,2025-02-06 00:00:01,accepted,2025-03-01,,", 5, False),  # filed too late
        ("D1,T2,2025-02-01,accepted,2025-03-01,,", 0, False),  # not billable: nothing to void
    ])
    def test_an_accepted_dispute_in_force_voids_a_billable_outcome(
        self, wh: Warehouse, tmp_path: Path, line: str, window: int, voided: bool
    ) -> None:
        d = Definition(dispute_window_days=window)
        before = float(outcomes(wh, d, by=())["billable_units"].iloc[0])
        ingest_disputes(wh, write(tmp_path, line + "\n"))
        after = outcomes(wh, d, by=())
        assert float(after["billable_units"].iloc[0]) == before - (1 if voided else 0)
        assert int(after["n_disputed"].iloc[0]) == int(voided)
        assert float(outcomes_from_tasks(wh, d, by=())["billable_units"].iloc[0]) == before - (1 if voided else 0)
        task = evaluate_tasks(wh, d, task_ids=[line.split(",")[1]]).iloc[0]
        assert (task["reason"] == "disputed") is voided

    def test_a_dispute_applies_only_from_its_decision(self, wh: Warehouse, tmp_path: Path) -> None:
        ingest_disputes(wh, write(tmp_path, "D1,T1,2025-02-01,accepted,2025-03-01,,\n"))
        d = Definition()
        reason = {at: evaluate_tasks(wh, d, task_ids=["T1"], as_of=at)["reason"].iloc[0]
                  for at in ("2025-02-01", "2025-03-01", None)}
        assert reason == {"2025-02-01": "confirmed", "2025-03-01": "disputed", None: "disputed"}


class TestTheKnob:
    def test_the_default_window_keeps_every_version_hash(self) -> None:
        d = Definition.preset("zendesk-ar")
        assert "dispute_window_days" not in d.canonical()
        assert d.with_knobs(dispute_window_days=30).version != d.version
        assert Definition.from_toml_text(d.with_knobs(dispute_window_days=30).to_toml()).dispute_window_days == 30

    @pytest.mark.parametrize("bad", [-1, 1.5, 100_000, "ten"])
    def test_a_bad_window_is_refused_by_name(self, bad: object) -> None:
        with pytest.raises(ConfigError, match="dispute_window_days"):
            Definition(dispute_window_days=bad)  # type: ignore[arg-type]
