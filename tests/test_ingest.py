"""Ingestion: every validation rule, atomicity, idempotency, replacement, derived
reopen gaps (against a plain-Python reference), mappings, encodings, hostile text."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcome_pricing.errors import ConfigError, ValidationError
from outcome_pricing.ingest import (
    MAX_UPLOAD_BYTES,
    IngestReport,
    Upload,
    find_invalid_utf8,
    ingest_files,
    ingest_uploads,
)
from outcome_pricing.ingest.mapping import Mapping
from outcome_pricing.warehouse.handle import Warehouse
from outcome_pricing.warehouse.schema import TASK_COLUMN_NAMES

REPO = Path(__file__).resolve().parents[1]
SAMPLE_EXPORT = REPO / "data" / "sample_helpdesk_export.csv"
SAMPLE_MAPPING = REPO / "data" / "helpdesk_mapping.toml"
SAMPLE_TASKS = REPO / "data" / "sample_tasks.csv"

BASE_ROW: dict[str, str] = {
    "task_id": "T0",
    "account_id": "acme",
    "requester_id": "r0",
    "topic": "billing",
    "channel": "chat",
    "created_at": "2025-01-01 10:00:00",
    "closed_at": "2025-01-01 11:00:00",
    "ai_enabled": "true",
    "ai_answered": "true",
    "handoff": "false",
    "context_retained": "",
    "customer_confirmed": "true",
    "quiet_hours": "30",
    "verified": "true",
    "ai_error_corrected": "false",
    "n_issues": "1",
    "n_issues_resolved": "1",
    "csat": "5",
    "tokens_in": "100",
    "tokens_out": "50",
    "model_tier": "standard",
    "human_seconds": "0",
    "ai_seconds": "12.5",
    "qa_audited": "false",
    "missed_issue": "",
}


def task_rows(n: int, **overrides: str) -> list[dict[str, str]]:
    """n valid rows (distinct task_ids, a few requesters), with `overrides` applied to all."""
    rows = []
    for i in range(n):
        row = dict(BASE_ROW, task_id=f"T{i:04d}", requester_id=f"r{i % 3}")
        start = datetime(2025, 1, 1, 10) + timedelta(hours=5 * i)
        row["created_at"] = start.strftime("%Y-%m-%d %H:%M:%S")
        row["closed_at"] = (start + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
        rows.append(row | overrides)
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None) -> Path:
    cols = columns or list(rows[0]) if rows else columns or list(BASE_ROW)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def snapshot(wh: Warehouse) -> dict[str, pd.DataFrame]:
    """Everything an ingest may touch, in a stable order."""
    return {
        "tasks": wh.query_df("SELECT * FROM tasks ORDER BY task_id"),
        "accounts": wh.query_df("SELECT * FROM accounts ORDER BY account_id"),
        "ingest_log": wh.query_df("SELECT * FROM ingest_log ORDER BY ingest_id"),
    }


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def refused(wh: Warehouse, **files: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        ingest_files(wh, **files)
    return info.value


@pytest.fixture
def wh() -> Iterator[Warehouse]:
    w = Warehouse.in_memory()
    yield w
    w.close()


# ====================================================================== validation rules
BAD_VALUES = [
    # (column, bad value, words of the rule)
    ("task_id", "", "required value is empty"),
    ("account_id", "   ", "required value is empty"),
    ("requester_id", "", "required value is empty"),
    ("topic", "", "required value is empty"),
    ("created_at", "", "required value is empty"),
    ("ai_answered", "", "required value is empty"),
    ("ai_enabled", "maybe", "not a valid boolean"),
    ("handoff", "2", "not a valid boolean"),
    ("qa_audited", "yes please", "not a valid boolean"),
    ("n_issues", "3.5", "not a valid whole number"),
    ("tokens_in", "12abc", "not a valid whole number"),
    ("csat", "4.5", "not a valid whole number"),
    ("quiet_hours", "inf", "not a valid finite number"),
    ("human_seconds", "fast", "not a valid finite number"),
    ("ai_seconds", "NaN", "not a valid finite number"),
    ("created_at", "next tuesday", "not a valid timestamp"),
    ("closed_at", "epoch", "timestamp outside 2000-01-01 .. 2100-01-01"),
    ("created_at", "infinity", "timestamp outside"),
    ("created_at", "1970-01-01 00:00:00", "timestamp outside"),
    ("closed_at", "2025-01-01 25:00:00", "not a valid timestamp"),
    ("closed_at", "2024-12-31 09:00:00", "closed_at is before created_at"),
    ("csat", "0", "must be >= 1"),
    ("csat", "6", "must be <= 5"),
    ("n_issues", "0", "must be >= 1"),
    ("n_issues_resolved", "-1", "must be >= 0"),
    ("n_issues_resolved", "2", "n_issues_resolved is greater than n_issues"),
    ("tokens_in", "-1", "must be >= 0"),
    ("tokens_out", "-5", "must be >= 0"),
    ("human_seconds", "-0.5", "must be >= 0"),
    ("ai_seconds", "-3", "must be >= 0"),
    ("quiet_hours", "-1", "must be >= 0"),
]


class TestEveryRuleRefusesTheFile:
    @pytest.mark.parametrize(("column", "value", "rule"), BAD_VALUES, ids=[f"{c}={v!r}" for c, v, _ in BAD_VALUES])
    def test_a_bad_value_names_file_row_column_and_rule(
        self, wh: Warehouse, tmp_path: Path, column: str, value: str, rule: str
    ) -> None:
        rows = task_rows(5)
        rows[2][column] = value  # the third data row is row 4 (the header is row 1)
        if column == "closed_at" and "before" in rule:
            rows[2]["created_at"] = "2025-01-01 10:00:00"
        path = write_csv(tmp_path / "tasks.csv", rows)
        exc = refused(wh, tasks=path)
        assert exc.total == 1, exc.message
        problem = exc.problems[0]
        assert (problem.file, problem.row, problem.column) == (str(path), 4, column)
        assert rule in problem.rule
        if "must be" in rule:  # the offending value is shown (whole numbers as written: 9, not 9.0)
            assert float(problem.value) == float(value)
            assert problem.value == value or column in ("quiet_hours", "human_seconds", "ai_seconds")
        assert f"row 4, column '{column}'" in exc.message and str(path) in exc.message
        assert wh.is_empty()

    def test_a_task_id_twice_in_one_file_names_both_rows(self, wh: Warehouse, tmp_path: Path) -> None:
        rows = task_rows(5)
        rows[3]["task_id"] = rows[0]["task_id"]
        exc = refused(wh, tasks=write_csv(tmp_path / "dup.csv", rows))
        assert [(p.row, p.column) for p in exc.problems] == [(2, "task_id"), (5, "task_id")]
        assert "more than once" in exc.problems[0].rule

    def test_a_missing_required_column_is_named_at_the_header(self, wh: Warehouse, tmp_path: Path) -> None:
        cols = [c for c in BASE_ROW if c != "handoff"]
        exc = refused(wh, tasks=write_csv(tmp_path / "t.csv", task_rows(3), cols))
        assert [(p.row, p.column) for p in exc.problems] == [(1, "handoff")]
        assert "required column missing" in exc.problems[0].rule

    def test_a_column_twice_in_the_header_is_refused(self, wh: Warehouse, tmp_path: Path) -> None:
        path = tmp_path / "t.csv"
        path.write_text("task_id,TOPIC," + ",".join(BASE_ROW) + "\n", encoding="utf-8")
        exc = refused(wh, tasks=path)
        assert any(p.column == "topic" and "more than once" in p.rule for p in exc.problems)

    def test_many_problems_show_the_first_twenty_in_file_order_and_the_total(
        self, wh: Warehouse, tmp_path: Path
    ) -> None:
        rows = task_rows(30, csat="9")
        rows[5]["tokens_in"] = "-3"
        exc = refused(wh, tasks=write_csv(tmp_path / "t.csv", rows))
        assert exc.total == 31
        assert len(exc.problems) == 20
        assert [p.row for p in exc.problems] == sorted(p.row for p in exc.problems)
        assert exc.problems[0].row == 2
        assert "and 11 more problem(s)" in exc.message

    def test_a_missing_file_is_refused_with_its_name(self, wh: Warehouse, tmp_path: Path) -> None:
        exc = refused(wh, tasks=tmp_path / "nope.csv")
        assert "not found" in exc.problems[0].rule and "nope.csv" in exc.message

    def test_a_line_with_too_few_fields_gives_its_line(self, wh: Warehouse, tmp_path: Path) -> None:
        path = write_csv(tmp_path / "t.csv", task_rows(4))
        lines = path.read_text().splitlines()
        lines[3] = ",".join(lines[3].split(",")[:5])
        path.write_text("\n".join(lines) + "\n")
        exc = refused(wh, tasks=path)
        assert exc.problems[0].row == 4 and "too few fields" in exc.problems[0].rule


class TestAcceptedForms:
    def test_booleans_accept_true_false_1_0_yes_no_in_any_case(self, wh: Warehouse, tmp_path: Path) -> None:
        spellings = ["TRUE", "Yes", "1", "no", "False", "0", "yes"]
        rows = [r | {"ai_enabled": s} for r, s in zip(task_rows(len(spellings)), spellings, strict=True)]
        ingest_files(wh, tasks=write_csv(tmp_path / "t.csv", rows))
        got = wh.query_df("SELECT ai_enabled FROM tasks ORDER BY task_id")["ai_enabled"].tolist()
        assert got == [True, True, True, False, False, False, True]

    @pytest.mark.parametrize(
        ("text", "utc"),
        [
            ("2025-03-01 10:00:00", "2025-03-01 10:00:00"),
            ("2025-03-01T10:00:00", "2025-03-01 10:00:00"),
            ("2025-03-01T10:00:00Z", "2025-03-01 10:00:00"),
            ("2025-03-01T10:00:00+02:00", "2025-03-01 08:00:00"),
            ("2025-03-01T10:00:00-05:00", "2025-03-01 15:00:00"),
            ("2025-03-01T23:30:00-02:00", "2025-03-02 01:30:00"),
        ],
    )
    def test_timestamps_are_stored_in_utc(self, wh: Warehouse, tmp_path: Path, text: str, utc: str) -> None:
        row = BASE_ROW | {"created_at": "2025-02-01 00:00:00", "closed_at": text}
        ingest_files(wh, tasks=write_csv(tmp_path / "t.csv", [row]))
        stored = wh.scalar("SELECT strftime(closed_at, '%Y-%m-%d %H:%M:%S') FROM tasks")
        assert stored == utc
        # month follows the UTC closing time
        assert wh.scalar("SELECT strftime(month, '%Y-%m') FROM tasks") == utc[:7]

    def test_whole_numbers_may_be_written_with_a_zero_fraction(self, wh: Warehouse, tmp_path: Path) -> None:
        ingest_files(wh, tasks=write_csv(tmp_path / "t.csv", [BASE_ROW | {"n_issues": "3.0", "tokens_in": "1e3"}]))
        assert wh.query_df("SELECT n_issues, tokens_in FROM tasks").iloc[0].tolist() == [3, 1000]

    def test_defaults_fill_absent_and_empty_optional_columns(self, wh: Warehouse, tmp_path: Path) -> None:
        absent = [c for c in BASE_ROW if c not in ("channel", "n_issues", "tokens_in", "tokens_out")]
        rows = task_rows(2)
        write_csv(tmp_path / "a.csv", rows[:1], absent)
        write_csv(tmp_path / "b.csv", [rows[1] | {"channel": "", "n_issues": "", "tokens_in": "", "tokens_out": ""}])
        ingest_files(wh, tasks=tmp_path / "a.csv")
        ingest_files(wh, tasks=tmp_path / "b.csv")
        got = wh.query_df("SELECT channel, n_issues, tokens_in, tokens_out FROM tasks ORDER BY task_id")
        assert got.values.tolist() == [["chat", 1, 0, 0], ["chat", 1, 0, 0]]

    def test_unknown_columns_are_ignored_and_named_in_a_note(self, wh: Warehouse, tmp_path: Path) -> None:
        rows = [r | {"Subject": "hello", "internal note": "x"} for r in task_rows(2)]
        result = ingest_files(wh, tasks=write_csv(tmp_path / "t.csv", rows))
        assert result.rows_inserted == 2
        assert "'Subject'" in result.notes[0] and "'internal note'" in result.notes[0]
        assert "ignored" in result.summary()

    def test_header_names_match_ignoring_case_and_spaces(self, wh: Warehouse, tmp_path: Path) -> None:
        path = tmp_path / "t.csv"
        header = ",".join(f" {c.upper()} " for c in BASE_ROW)
        path.write_text(header + "\n" + ",".join(BASE_ROW.values()) + "\n", encoding="utf-8")
        assert ingest_files(wh, tasks=path).rows_inserted == 1

    def test_a_header_only_file_changes_nothing_and_says_so(self, wh: Warehouse, tmp_path: Path) -> None:
        path = tmp_path / "t.csv"
        path.write_text(",".join(BASE_ROW) + "\n", encoding="utf-8")
        result = ingest_files(wh, tasks=path)
        assert (result.rows_inserted, result.rows_updated) == (0, 0)
        assert "no data rows" in result.notes[0]
        assert wh.is_empty()

    def test_a_semicolon_file_loads_with_the_mapping_delimiter(self, wh: Warehouse, tmp_path: Path) -> None:
        path = tmp_path / "t.csv"
        path.write_text(";".join(BASE_ROW) + "\n" + ";".join(BASE_ROW.values()) + "\n", encoding="utf-8")
        m = Mapping.from_toml_text('[file]\ndelimiter = ";"\n')
        assert ingest_files(wh, tasks=path, mapping=m).rows_inserted == 1


# ====================================================================== atomicity
def write_large_csv(path: Path, n: int) -> None:
    """n valid rows in our format, written by DuckDB (fast), in task_id order."""
    con = duckdb.connect()
    try:
        con.execute(
            f"""
            COPY (
              SELECT 'L' || lpad(i::VARCHAR, 7, '0') AS task_id, 'acc' || (i % 40) AS account_id,
                     'r' || (i % 5000) AS requester_id, 'topic' || (i % 7) AS topic, 'chat' AS channel,
                     TIMESTAMP '2025-01-01' + INTERVAL (i) MINUTE AS created_at,
                     TIMESTAMP '2025-01-01' + INTERVAL (i + 30) MINUTE AS closed_at,
                     i % 3 > 0 AS ai_enabled, i % 4 > 0 AS ai_answered, i % 9 = 0 AS handoff,
                     NULL AS context_retained, i % 2 = 0 AS customer_confirmed, (i % 100) * 1.5 AS quiet_hours,
                     true AS verified, false AS ai_error_corrected, 1 AS n_issues, 1 AS n_issues_resolved,
                     CASE WHEN i % 5 = 0 THEN 1 + i % 5 END AS csat, 100 AS tokens_in, 40 AS tokens_out,
                     'standard' AS model_tier, (i % 600) AS human_seconds, 10 AS ai_seconds,
                     false AS qa_audited, NULL AS missed_issue
              FROM range(?) t(i)
            ) TO '{path}' (HEADER)
            """,
            [n],
        )
    finally:
        con.close()


class TestAllOrNothing:
    @pytest.mark.slow
    def test_a_bad_last_row_of_a_large_file_leaves_the_warehouse_unchanged(
        self, tmp_path: Path
    ) -> None:
        n = 200_000
        path = tmp_path / "large.csv"
        write_large_csv(path, n)
        with path.open("a", encoding="utf-8") as fh:  # closed before created, on the very last row
            fh.write("LAST,acc1,r1,t,chat,2025-06-01 10:00:00,2025-06-01 09:00:00,true,true,false,,"
                     "false,,true,false,1,1,,0,0,standard,0,0,false,\n")
        db = tmp_path / "wh.duckdb"
        with Warehouse.open(db) as wh:
            ingest_files(wh, tasks=SAMPLE_TASKS)
            before = snapshot(wh)
            generation = wh.generation
            exc = refused(wh, tasks=path)
            assert [(p.row, p.column) for p in exc.problems] == [(n + 2, "closed_at")]
            assert_same(before, snapshot(wh))
            assert wh.generation == generation
        with Warehouse.open(db, read_only=True) as wh:  # and nothing reached the file
            assert_same(before, snapshot(wh))

    def test_a_bad_accounts_file_keeps_a_good_tasks_file_out_too(self, wh: Warehouse, tmp_path: Path) -> None:
        tasks = write_csv(tmp_path / "t.csv", task_rows(3))
        accounts = write_csv(tmp_path / "a.csv", [{"account_id": "acme", "seats": "-2"}])
        exc = refused(wh, tasks=tasks, accounts=accounts)
        assert (exc.problems[0].row, exc.problems[0].column) == (2, "seats")
        assert wh.is_empty() and wh.scalar("SELECT count(*) FROM accounts") == 0

    def test_a_failure_while_writing_rolls_everything_back(
        self, wh: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        ingest_files(wh, tasks=write_csv(tmp_path / "a.csv", task_rows(3)))
        before = snapshot(wh)

        def broken(cur: Any) -> None:
            raise RuntimeError("disk full")

        monkeypatch.setattr(Warehouse, "_refresh_derived", lambda self, cur: broken(cur))
        with pytest.raises(RuntimeError):
            ingest_files(wh, tasks=write_csv(tmp_path / "b.csv", task_rows(6, csat="1")))
        assert_same(before, snapshot(wh))


# ====================================================================== idempotency, replacement
class TestSameFileTwiceAndReplacement:
    def test_the_same_file_twice_changes_no_data_and_reports_rows_unchanged(
        self, wh: Warehouse
    ) -> None:
        first = ingest_files(wh, tasks=SAMPLE_TASKS)
        before = snapshot(wh)
        second = ingest_files(wh, tasks=SAMPLE_TASKS)
        assert (first.rows_inserted, first.rows_updated) == (40, 0)
        assert (second.rows_inserted, second.rows_updated, second.rows_unchanged) == (0, 0, 40)
        after = snapshot(wh)
        pd.testing.assert_frame_equal(before["tasks"], after["tasks"])
        log = after["ingest_log"]
        assert log["sha256"].nunique() == 1 and len(log["sha256"].iloc[0]) == 64
        assert log[["rows_inserted", "rows_updated"]].values.tolist() == [[40, 0], [0, 0]]

    def test_a_stored_task_id_is_replaced_and_counted_as_updated(self, wh: Warehouse, tmp_path: Path) -> None:
        rows = task_rows(4)
        ingest_files(wh, tasks=write_csv(tmp_path / "a.csv", rows))
        rows[1]["csat"] = "2"  # a late CSAT
        rows.append(dict(BASE_ROW, task_id="NEW"))
        result = ingest_files(wh, tasks=write_csv(tmp_path / "b.csv", rows))
        assert (result.rows_inserted, result.rows_updated, result.rows_unchanged) == (1, 1, 3)
        assert wh.scalar("SELECT csat FROM tasks WHERE task_id = 'T0001'") == 2
        assert wh.scalar("SELECT count(*) FROM tasks") == 5

    def test_a_new_task_changes_the_reopen_gap_of_an_older_one(self, wh: Warehouse, tmp_path: Path) -> None:
        old = BASE_ROW | {"task_id": "A", "created_at": "2025-01-01 08:00:00", "closed_at": "2025-01-01 10:00:00"}
        ingest_files(wh, tasks=write_csv(tmp_path / "a.csv", [old]))
        assert wh.scalar("SELECT reopen_gap_hours FROM tasks WHERE task_id = 'A'") is None
        new = BASE_ROW | {"task_id": "B", "created_at": "2025-01-01 13:30:00", "closed_at": "2025-01-01 14:00:00"}
        ingest_files(wh, tasks=write_csv(tmp_path / "b.csv", [new]))
        assert wh.scalar("SELECT reopen_gap_hours FROM tasks WHERE task_id = 'A'") == pytest.approx(3.5)

    def test_correcting_a_topic_clears_the_gap_it_left_behind(self, wh: Warehouse, tmp_path: Path) -> None:
        a = BASE_ROW | {"task_id": "A", "created_at": "2025-01-01 08:00:00", "closed_at": "2025-01-01 10:00:00"}
        b = BASE_ROW | {"task_id": "B", "created_at": "2025-01-01 12:00:00", "closed_at": "2025-01-01 13:00:00"}
        ingest_files(wh, tasks=write_csv(tmp_path / "a.csv", [a, b]))
        assert wh.scalar("SELECT reopen_gap_hours FROM tasks WHERE task_id = 'A'") == pytest.approx(2.0)
        ingest_files(wh, tasks=write_csv(tmp_path / "b.csv", [b | {"topic": "refund"}]))
        assert wh.scalar("SELECT reopen_gap_hours FROM tasks WHERE task_id = 'A'") is None


# ====================================================================== reopen gaps vs a reference
def reference_gaps(tasks: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """Plain Python: hours from closed_at to created_at of the next task (created_at, task_id)
    with the same account, requester and topic."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for t in tasks.values():
        groups.setdefault((t["account_id"], t["requester_id"], t["topic"]), []).append(t)
    gaps: dict[str, float | None] = {}
    for members in groups.values():
        members.sort(key=lambda t: (t["created"], t["task_id"]))
        for this, nxt in zip(members, members[1:] + [None], strict=True):
            gaps[this["task_id"]] = (
                None if nxt is None else (nxt["created"] - this["closed"]).total_seconds() / 3600
            )
    return gaps


task_strategy = st.fixed_dictionaries(
    {
        "account_id": st.sampled_from(["a", "b"]),
        "requester_id": st.sampled_from(["r1", "r2"]),
        "topic": st.sampled_from(["x", "y"]),
        "start": st.integers(0, 30),  # half-hours: ties in created_at are common
        "minutes": st.integers(0, 600),  # long tasks make negative gaps
    }
)


def as_row(task_id: str, t: dict[str, Any]) -> dict[str, Any]:
    created = datetime(2025, 3, 1) + timedelta(minutes=30 * t["start"])
    closed = created + timedelta(minutes=t["minutes"])
    row = BASE_ROW | {k: t[k] for k in ("account_id", "requester_id", "topic")}
    row |= {"task_id": task_id, "created_at": f"{created:%Y-%m-%d %H:%M:%S}", "closed_at": f"{closed:%Y-%m-%d %H:%M:%S}"}
    return row | {"created": created, "closed": closed}


class TestReopenGapsMatchAPlainReference:
    @pytest.mark.slow
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        first=st.lists(task_strategy, min_size=1, max_size=20),
        second=st.lists(task_strategy, max_size=10),
        restated=st.lists(st.tuples(st.integers(0, 19), task_strategy), max_size=4),
    )
    def test_gaps_after_two_ingests_match_python(
        self, tmp_path: Path, first: list[dict], second: list[dict], restated: list[tuple[int, dict]]
    ) -> None:
        # task_ids are not in time order, so ties in created_at are broken by them.
        file1 = {f"T{(i * 7) % 97:02d}": as_row(f"T{(i * 7) % 97:02d}", t) for i, t in enumerate(first)}
        file2 = {f"U{i:02d}": as_row(f"U{i:02d}", t) for i, t in enumerate(second)}
        ids1 = list(file1)
        for index, t in restated:  # corrections of tasks from the first file (new key, new times)
            tid = ids1[index % len(ids1)]
            file2[tid] = as_row(tid, t)
        with Warehouse.in_memory() as wh:
            ingest_files(wh, tasks=write_csv(tmp_path / "one.csv", list(file1.values()), list(BASE_ROW)))
            if file2:
                ingest_files(wh, tasks=write_csv(tmp_path / "two.csv", list(file2.values()), list(BASE_ROW)))
            got = dict(wh.query_df("SELECT task_id, reopen_gap_hours FROM tasks").itertuples(index=False))
        expected = reference_gaps(file1 | file2)
        assert set(got) == set(expected)
        for tid, gap in expected.items():
            if gap is None:
                assert pd.isna(got[tid]), tid
            else:
                assert got[tid] == pytest.approx(gap), tid


# ====================================================================== mappings
class TestMappings:
    def test_the_sample_help_desk_export_loads_unedited(self, wh: Warehouse) -> None:
        result = ingest_files(wh, tasks=SAMPLE_EXPORT, mapping=SAMPLE_MAPPING)
        assert result.rows_inserted == 200 and result.rows_updated == 0
        assert "'Subject'" in result.notes[0]
        first = wh.query_df("SELECT * FROM tasks WHERE task_id = 'ZD-48213'").iloc[0]
        with SAMPLE_EXPORT.open(encoding="utf-8") as fh:
            theirs = next(r for r in csv.DictReader(fh) if r["Ticket ID"] == "ZD-48213")
        assert first["account_id"] == theirs["Organization"]
        assert first["channel"] == {"Web widget": "chat", "Email": "email", "Phone": "voice"}[theirs["Channel"]]
        assert first["human_seconds"] == pytest.approx(float(theirs["Agent handle time (min)"]) * 60)
        assert first["created_at"] == datetime.strptime(theirs["Created"], "%d/%m/%Y %H:%M")
        assert wh.scalar("SELECT count(*) FROM tasks WHERE csat IS NOT NULL AND csat NOT IN (1, 5)") == 0
        assert wh.scalar("SELECT count(*) FROM tasks WHERE reopen_gap_hours BETWEEN 0 AND 72") > 0

    def test_the_sample_in_our_own_format_loads(self, wh: Warehouse) -> None:
        assert ingest_files(wh, tasks=SAMPLE_TASKS).rows_inserted == 40

    @pytest.mark.parametrize(
        ("toml", "named"),
        [
            ('[tasks.columns]\nticket = "Ticket ID"\n', "'ticket'"),
            ('[taskz.columns]\ntask_id = "Ticket ID"\n', "'taskz'"),
            ('[tasks.scale]\ntopic = 60\n', "[tasks.scale] topic"),
            ('[tasks.scale]\nhuman_seconds = -1\n', "[tasks.scale] human_seconds"),
            ('[tasks.values.csat]\nGood = [5]\n', "[tasks.values.csat]"),
            ('[tasks.values.csat]\nGood = true\n', "csat"),
            ('[file]\ndelimiter = ",,"\n', "delimiter"),
            ('[file]\ntimestamp_format = "dd/mm/yyyy"\n', "timestamp_format"),
            ('[tasks.columns]\ntask_id = ""\n', "task_id"),
            ("[tasks.columns\n", "not valid TOML"),
        ],
    )
    def test_a_bad_mapping_is_a_config_error_naming_the_key(self, toml: str, named: str) -> None:
        with pytest.raises(ConfigError) as info:
            Mapping.from_toml_text(toml, source="m.toml")
        assert named in str(info.value) and "m.toml" in str(info.value)

    def test_a_mapped_column_missing_from_the_file_names_their_header(self, wh: Warehouse, tmp_path: Path) -> None:
        m = Mapping.from_toml_text('[tasks.columns]\ntask_id = "Ticket ID"\n')
        exc = refused(wh, tasks=write_csv(tmp_path / "t.csv", task_rows(2)), mapping=m)
        assert exc.problems[0].column == "Ticket ID" and "mapped to task_id" in exc.problems[0].rule

    def test_constants_fill_a_column_the_export_lacks(self, wh: Warehouse, tmp_path: Path) -> None:
        cols = [c for c in BASE_ROW if c != "ai_enabled"]
        m = Mapping.from_toml_text("[tasks.constants]\nai_enabled = true\n")
        ingest_files(wh, tasks=write_csv(tmp_path / "t.csv", task_rows(2), cols), mapping=m)
        assert wh.scalar("SELECT bool_and(ai_enabled) FROM tasks") is True

    def test_a_mapped_value_that_is_still_invalid_is_refused(self, wh: Warehouse, tmp_path: Path) -> None:
        m = Mapping.from_toml_text('[tasks.values.csat]\nGood = 5\n')
        rows = task_rows(3)
        rows[0]["csat"], rows[1]["csat"] = "Good", "Meh"
        exc = refused(wh, tasks=write_csv(tmp_path / "t.csv", rows), mapping=m)
        assert [(p.row, p.column, p.value) for p in exc.problems] == [(3, "csat", "Meh")]


# ====================================================================== encodings
class TestEncodings:
    def test_an_invalid_utf8_byte_names_its_row(self, wh: Warehouse, tmp_path: Path) -> None:
        path = write_csv(tmp_path / "t.csv", task_rows(6))
        lines = path.read_bytes().split(b"\n")
        lines[4] = lines[4].replace(b"billing", b"bill\xe9ing")  # Latin-1 é on row 5
        path.write_bytes(b"\n".join(lines))
        exc = refused(wh, tasks=path)
        assert exc.problems[0].row == 5 and "UTF-8" in exc.problems[0].rule
        assert find_invalid_utf8(path)[0] == 5  # type: ignore[index]

    def test_a_huge_field_is_refused_naming_its_row(self, wh: Warehouse, tmp_path: Path) -> None:
        rows = task_rows(4)
        rows[2]["topic"] = "x" * 3_000_000
        exc = refused(wh, tasks=write_csv(tmp_path / "t.csv", rows))
        assert exc.problems[0].row == 4 and "bytes" in exc.problems[0].rule
        assert len(exc.message) < 2_000  # the huge line is not echoed back

    def test_a_quote_that_never_closes_names_the_row_it_opens_on(self, wh: Warehouse, tmp_path: Path) -> None:
        path = write_csv(tmp_path / "t.csv", task_rows(4))
        lines = path.read_text().splitlines()
        lines[2] = lines[2].replace("billing", '"billing', 1)
        path.write_text("\n".join(lines) + "\n")
        exc = refused(wh, tasks=path)
        assert exc.problems[0].row == 3 and "quote" in exc.problems[0].rule

    def test_a_tsv_file_is_read_with_tabs(self, wh: Warehouse, tmp_path: Path) -> None:
        path = tmp_path / "t.tsv"
        path.write_text("\t".join(BASE_ROW) + "\n" + "\t".join(BASE_ROW.values()) + "\n", encoding="utf-8")
        assert ingest_files(wh, tasks=path).rows_inserted == 1

    def test_a_latin1_file_is_refused_not_misread(self, wh: Warehouse, tmp_path: Path) -> None:
        path = tmp_path / "t.csv"
        rows = task_rows(3, topic="Réclamation")
        text = ",".join(BASE_ROW) + "\n" + "\n".join(",".join(r.values()) for r in rows) + "\n"
        path.write_bytes(text.encode("latin-1"))
        exc = refused(wh, tasks=path)
        assert exc.problems[0].row == 2 and "UTF-8" in exc.problems[0].rule

    def test_a_utf16_file_is_refused_with_a_message(self, wh: Warehouse, tmp_path: Path) -> None:
        path = tmp_path / "t.csv"
        path.write_bytes((",".join(BASE_ROW) + "\n" + ",".join(BASE_ROW.values()) + "\n").encode("utf-16"))
        exc = refused(wh, tasks=path)
        assert "t.csv" in exc.message and wh.is_empty()

    def test_a_utf8_byte_order_mark_is_accepted(self, wh: Warehouse, tmp_path: Path) -> None:
        path = tmp_path / "t.csv"
        path.write_bytes(("\ufeff" + ",".join(BASE_ROW) + "\n" + ",".join(BASE_ROW.values()) + "\n").encode("utf-8"))
        assert ingest_files(wh, tasks=path).rows_inserted == 1

    def test_an_empty_file_is_refused(self, wh: Warehouse, tmp_path: Path) -> None:
        path = tmp_path / "t.csv"
        path.write_bytes(b"")
        exc = refused(wh, tasks=path)
        assert "t.csv" in exc.message


# ====================================================================== hostile text
HOSTILE = [
    "=SUM(A1:A9)",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@import",
    "'; DROP TABLE tasks; --",
    'Robert"); DELETE FROM accounts; --',
    'a "quoted", comma',
    "line one\nline two",
    "  padded  ",
    "ünïcødé 🚀 中文",
    "$1 ? %s {}",
]


class TestHostileStringsAreData:
    def test_hostile_strings_are_stored_verbatim(self, wh: Warehouse, tmp_path: Path) -> None:
        rows = task_rows(len(HOSTILE))
        for row, text in zip(rows, HOSTILE, strict=True):
            row.update(topic=text, requester_id=text, model_tier=text)
        rows[0]["task_id"] = HOSTILE[4]
        rows[1]["account_id"] = HOSTILE[5]
        ingest_files(wh, tasks=write_csv(tmp_path / "t.csv", rows))
        got = wh.query_df("SELECT task_id, account_id, topic, requester_id, model_tier FROM tasks")
        assert sorted(got["topic"]) == sorted(HOSTILE)
        assert (got["topic"] == got["requester_id"]).all() and (got["topic"] == got["model_tier"]).all()
        assert HOSTILE[4] in set(got["task_id"]) and HOSTILE[5] in set(got["account_id"])
        assert wh.scalar("SELECT count(*) FROM tasks") == len(HOSTILE)

    @pytest.mark.slow
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(text=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=60))
    def test_any_text_is_stored_exactly_or_refused_as_empty(self, tmp_path: Path, text: str) -> None:
        with Warehouse.in_memory() as wh:
            path = write_csv(tmp_path / "t.csv", [BASE_ROW | {"topic": text}])
            if not text.strip():
                assert refused(wh, tasks=path).problems[0].column == "topic"
            else:
                ingest_files(wh, tasks=path)
                assert wh.scalar("SELECT topic FROM tasks") == text

    @pytest.mark.slow
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        cut=st.integers(0, 2000),
        junk=st.binary(max_size=40),
        mode=st.sampled_from(["insert", "truncate", "replace"]),
    )
    def test_malformed_files_are_refused_cleanly_or_loaded_whole(
        self, tmp_path: Path, cut: int, junk: bytes, mode: str
    ) -> None:
        good = write_csv(tmp_path / "good.csv", task_rows(12)).read_bytes()
        at = cut % len(good)
        data = {
            "insert": good[:at] + junk + good[at:],
            "truncate": good[:at],
            "replace": good[:at] + junk + good[at + len(junk):],
        }[mode]
        path = tmp_path / "bad.csv"
        path.write_bytes(data)
        with Warehouse.in_memory() as wh:
            try:
                result = ingest_files(wh, tasks=path)
            except ValidationError as exc:
                assert exc.problems and all(p.file == str(path) for p in exc.problems)
                assert wh.is_empty() and wh.scalar("SELECT count(*) FROM ingest_log") == 0
            else:
                assert isinstance(result, IngestReport)
                assert wh.scalar("SELECT count(*) FROM tasks") == result.rows_inserted


# ====================================================================== parquet, accounts, uploads
class TestParquetAndAccounts:
    def test_a_typed_parquet_file_loads(self, wh: Warehouse, tmp_path: Path) -> None:
        df = pd.DataFrame(task_rows(4))
        table = pa.table({
            "task_id": df["task_id"], "account_id": df["account_id"], "requester_id": df["requester_id"],
            "topic": df["topic"],
            "created_at": pd.to_datetime(df["created_at"]).dt.tz_localize("Europe/Paris"),
            "closed_at": pd.to_datetime(df["closed_at"]),
            "ai_enabled": [True, False, True, True], "ai_answered": [True] * 4, "handoff": [False] * 4,
            "csat": pa.array([5, None, 3, 1], pa.int64()), "quiet_hours": [1.5, 2.0, 0.0, 80.25],
        })
        path = tmp_path / "t.parquet"
        pq.write_table(table, path)
        assert ingest_files(wh, tasks=path).rows_inserted == 4
        got = wh.query_df("SELECT * FROM tasks ORDER BY task_id")
        assert got["csat"].tolist()[0] == 5 and pd.isna(got["csat"].tolist()[1])
        assert got["quiet_hours"].tolist() == [1.5, 2.0, 0.0, 80.25]
        # 10:00 in Paris (winter) is 09:00 UTC
        assert got["created_at"].iloc[0] == pd.Timestamp("2025-01-01 09:00:00")

    def test_a_bad_parquet_record_names_its_row(self, wh: Warehouse, tmp_path: Path) -> None:
        df = pd.DataFrame(task_rows(5))
        df.loc[3, "csat"] = "9"
        path = tmp_path / "t.parquet"
        df.to_parquet(path)
        exc = refused(wh, tasks=path)
        assert [(p.row, p.column) for p in exc.problems] == [(4, "csat")]  # records count from 1

    def test_a_corrupt_parquet_file_is_refused(self, wh: Warehouse, tmp_path: Path) -> None:
        path = tmp_path / "t.parquet"
        path.write_bytes(b"PAR1 not really")
        assert "Parquet" in refused(wh, tasks=path).problems[0].rule

    def test_accounts_load_alone_and_are_replaced_by_id(self, wh: Warehouse, tmp_path: Path) -> None:
        rows = [
            {"account_id": "acme", "name": "Acme", "segment": "SMB", "seats": "12", "seat_price": "89",
             "agent_hourly_cost": "31.5", "ai_go_live": "2025-02-01", "owner": "dana"},
            {"account_id": "globex", "name": "Globex", "seats": "3"},
        ]
        r1 = ingest_files(wh, accounts=write_csv(tmp_path / "a.csv", rows, list(rows[0])))
        assert (r1.accounts_inserted, r1.accounts_updated) == (2, 0)
        rows[1]["seats"] = "5"
        r2 = ingest_files(wh, accounts=write_csv(tmp_path / "b.csv", rows, list(rows[0])))
        assert (r2.accounts_inserted, r2.accounts_updated, r2.accounts_unchanged) == (0, 1, 1)
        assert wh.scalar("SELECT seats FROM accounts WHERE account_id = 'globex'") == 5
        assert str(wh.scalar("SELECT ai_go_live FROM accounts WHERE account_id = 'acme'")) == "2025-02-01"
        assert wh.query_df("SELECT kind FROM ingest_log")["kind"].tolist() == ["accounts", "accounts"]

    @pytest.mark.parametrize(
        ("row", "column"),
        [
            ({"account_id": ""}, "account_id"),
            ({"account_id": "x", "seats": "-1"}, "seats"),
            ({"account_id": "x", "seat_price": "free"}, "seat_price"),
            ({"account_id": "x", "ai_go_live": "soon"}, "ai_go_live"),
        ],
    )
    def test_a_bad_accounts_row_is_refused(self, wh: Warehouse, tmp_path: Path, row: dict, column: str) -> None:
        cols = ["account_id", "name", "seats", "seat_price", "ai_go_live"]
        path = write_csv(tmp_path / "a.csv", [{"account_id": "ok"}, row], cols)
        exc = refused(wh, accounts=path)
        assert [(p.row, p.column) for p in exc.problems] == [(3, column)]

    def test_accounts_and_tasks_in_one_call_log_two_files(self, wh: Warehouse, tmp_path: Path) -> None:
        result = ingest_files(
            wh, tasks=write_csv(tmp_path / "t.csv", task_rows(3)),
            accounts=write_csv(tmp_path / "a.csv", [{"account_id": "acme", "seats": "4"}]),
        )
        assert (result.rows_inserted, result.accounts_inserted) == (3, 1)
        assert sorted(wh.query_df("SELECT kind FROM ingest_log")["kind"]) == ["accounts", "tasks"]


class TestUploads:
    def test_an_upload_is_logged_under_its_own_name(self, wh: Warehouse) -> None:
        ingest_uploads(wh, Upload("my export.csv", SAMPLE_EXPORT.read_bytes()),
                       mapping=Upload("map.toml", SAMPLE_MAPPING.read_bytes()))
        assert wh.ingest_log()["source"].tolist() == ["my export.csv"]

    def test_a_refused_upload_names_the_uploaded_file(self, wh: Warehouse) -> None:
        data = SAMPLE_TASKS.read_bytes().replace(b",5,", b",7,", 1)
        with pytest.raises(ValidationError) as info:
            ingest_uploads(wh, Upload("../../etc/passwd.csv", data))
        assert info.value.problems[0].file == "../../etc/passwd.csv"
        assert info.value.problems[0].column == "csat"

    def test_an_upload_over_the_limit_is_refused_before_reading(
        self, wh: Warehouse, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("outcome_pricing.ingest.uploads.MAX_UPLOAD_BYTES", 100)
        with pytest.raises(ValidationError) as info:
            ingest_uploads(wh, Upload("big.csv", b"x" * 101))
        assert "upload limit" in info.value.problems[0].rule
        assert MAX_UPLOAD_BYTES == 200 * 2**20


class TestCommand:
    @pytest.mark.slow
    def test_a_refused_file_exits_2_with_the_row_and_column_and_no_traceback(self, tmp_path: Path) -> None:
        rows = task_rows(3)
        rows[1]["csat"] = "11"
        path = write_csv(tmp_path / "t.csv", rows)
        db = tmp_path / "wh.duckdb"
        run = subprocess.run(
            [sys.executable, "-c", "from outcome_pricing.cli import main; main()",
             "--db", str(db), "ingest", "--tasks", str(path)],
            capture_output=True, text=True, timeout=120,
        )
        assert run.returncode == 2
        assert "row 3, column 'csat'" in run.stderr and "Traceback" not in run.stderr
        ok = subprocess.run(
            [sys.executable, "-c", "from outcome_pricing.cli import main; main()",
             "--db", str(db), "ingest", "--tasks", str(SAMPLE_TASKS)],
            capture_output=True, text=True, timeout=120,
        )
        assert ok.returncode == 0, ok.stderr
        assert "40 task(s) inserted" in ok.stdout


    def test_help_explains_each_option(self) -> None:
        from click.testing import CliRunner

        from outcome_pricing.cli import cli

        result = CliRunner().invoke(cli, ["ingest", "--help"])
        assert result.exit_code == 0
        for option, words in (("--tasks", "Task-log file"), ("--accounts", "accounts file"), ("--mapping", "mapping TOML")):
            assert option in result.output and words in result.output


def test_task_columns_cover_the_contract() -> None:
    assert list(BASE_ROW) == list(TASK_COLUMN_NAMES)
