"""The rules evaluated three ways agree: task-level SQL, the cube, and plain Python.

The plain-Python reference (tests/reference.py) is the slow, obvious reading of DESIGN
section 4 (including the reopen gap, recomputed from the rows). Random logs are loaded in
two ingests (the second re-sends some task ids), so the cube must also be rebuilt
correctly on every ingest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcome_pricing.rules import (
    REASONS,
    Definition,
    Reason,
    answered_from_cube,
    evaluate_tasks,
    neighbours,
    outcomes,
    outcomes_from_tasks,
    sensitivity,
)
from outcome_pricing.warehouse import cube
from outcome_pricing.warehouse.handle import Warehouse
from tests.reference import reference_outcomes, reference_tasks
from tests.rows import load_tasks
from tests.strategies import definitions

# ----------------------------------------------------------------------------- random logs
START = dt.datetime(2025, 1, 30, 0, 0)  # logs straddle a month end
HALF_HOUR = dt.timedelta(minutes=30)
# Half-hour steps put gaps and quiet times exactly on the hour knobs' boundaries.
QUIET = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.5, 23.5, 24.0, 720.0, 720.5, 25_000.0]


@st.composite
def task_rows(draw: st.DrawFn, ids: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for task_id in ids:
        start = START + draw(st.integers(0, 96)) * HALF_HOUR
        n_issues = draw(st.integers(1, 3))
        maybe_bool = st.none() | st.booleans()
        mostly_true = st.sampled_from([True, True, True, False])  # most tasks reach the later rules
        rows.append(
            {
                "task_id": task_id,
                "account_id": draw(st.sampled_from(["A1", "A2"])),
                "requester_id": draw(st.sampled_from(["R1", "R2"])),
                "topic": draw(st.sampled_from(["billing", "login"])),
                "created_at": start,
                "closed_at": start + draw(st.integers(0, 6)) * HALF_HOUR,
                "ai_enabled": draw(mostly_true),
                "ai_answered": draw(mostly_true),
                "handoff": draw(st.booleans()),
                "context_retained": draw(maybe_bool),
                "customer_confirmed": draw(maybe_bool),
                "quiet_hours": draw(st.none() | st.sampled_from(QUIET)),
                "verified": draw(maybe_bool),
                "ai_error_corrected": draw(maybe_bool),
                "n_issues": n_issues,
                "n_issues_resolved": draw(st.none() | st.integers(0, n_issues)),
                "csat": draw(st.none() | st.integers(1, 5)),
            }
        )
    return rows


GROUPINGS = [(), ("account_id",), ("month",), ("account_id", "month")]


@st.composite
def two_ingests(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A first file, then a second that adds tasks and re-sends some of the first's ids."""
    n_first = draw(st.integers(1, 25))
    first = draw(task_rows([f"T{i:03d}" for i in range(n_first)]))
    resent = draw(st.lists(st.integers(0, n_first - 1), unique=True, max_size=5))
    new = [f"T{i:03d}" for i in range(n_first, n_first + draw(st.integers(0, 10)))]
    second = draw(task_rows([f"T{i:03d}" for i in resent] + new))
    return first, second


def final_rows(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the warehouse should hold: a re-sent task id replaces the stored task."""
    by_id = {r["task_id"]: r for r in first} | {r["task_id"]: r for r in second}
    return sorted(by_id.values(), key=lambda r: r["task_id"])


class TestThreeWaysAgree:
    @pytest.mark.slow
    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(logs=two_ingests(), d=definitions, by=st.sampled_from(GROUPINGS))
    def test_task_sql_cube_and_reference_agree(
        self, logs: tuple[list[dict[str, Any]], list[dict[str, Any]]], d: Definition, by: tuple[str, ...]
    ) -> None:
        first, second = logs
        with Warehouse.in_memory() as wh:
            load_tasks(wh, first, "first")
            load_tasks(wh, second, "second")
            expected = reference_tasks(final_rows(first, second), d)

            got = evaluate_tasks(wh, d)
            pd.testing.assert_frame_equal(
                got[expected.columns.tolist()], expected, check_dtype=False
            )

            fast = outcomes(wh, d, by=by)
            assert answered_from_cube(wh, d)  # any definition, on the grid or off it
            pd.testing.assert_frame_equal(fast, outcomes_from_tasks(wh, d, by=by))

            ref = reference_outcomes(expected, by)
            exact = [*by, "tasks", *(r.column for r in REASONS)]
            pd.testing.assert_frame_equal(fast[exact], ref[exact], check_dtype=False)
            pd.testing.assert_series_equal(
                fast["billable_units"], ref["billable_units"], rtol=1e-12, atol=1e-9
            )


class TestCubeBuckets:
    """Hour knobs on whole hours are exact on the bucketed cube, at and around the boundary."""

    @pytest.mark.parametrize(
        ("gap_hours", "window", "reopened"),
        [(2.0, 2, True), (1.5, 2, True), (2.5, 2, False), (-3.0, 1, True), (4.5, 4, False), (720.5, 720, False), (719.5, 720, True)],
    )
    def test_reopen_gap_at_window_boundary(self, gap_hours: float, window: int, reopened: bool) -> None:
        first = {"task_id": "T1", "closed_at": dt.datetime(2025, 1, 10, 10)}
        nxt = {"task_id": "T2", "created_at": dt.datetime(2025, 1, 10, 10) + dt.timedelta(hours=gap_hours),
               "closed_at": dt.datetime(2025, 3, 1)}
        if gap_hours < 0:
            first["created_at"] = dt.datetime(2025, 1, 9)
        d = Definition(reopen_window_hours=window)
        with Warehouse.in_memory() as wh:
            load_tasks(wh, [first, nxt])
            total = outcomes(wh, d, by=())
            assert answered_from_cube(wh, d)
            assert int(total[Reason.REOPENED.column].iloc[0]) == (1 if reopened else 0)

    @pytest.mark.parametrize(
        ("quiet", "silence", "assumed"),
        [(2.0, 2, True), (1.99, 2, False), (2.5, 2, True), (5.9, 6, False), (25_000.0, 720, True), (0.0, 0, True)],
    )
    def test_quiet_hours_at_silence_boundary(self, quiet: float, silence: int, assumed: bool) -> None:
        d = Definition(silence_hours=silence)
        with Warehouse.in_memory() as wh:
            load_tasks(wh, [{"customer_confirmed": False, "quiet_hours": quiet}])
            total = outcomes(wh, d, by=())
            assert answered_from_cube(wh, d)
            assert int(total[Reason.ASSUMED.column].iloc[0]) == (1 if assumed else 0)

    @pytest.mark.parametrize(("silence", "quiet", "assumed"), [(1.5, 1.0, False), (1.5, 1.5, True), (30, 29.0, False)])
    def test_hours_off_the_grid_are_answered_from_the_cube_too(self, silence: float, quiet: float, assumed: bool) -> None:
        d = Definition(silence_hours=silence)
        with Warehouse.in_memory() as wh:
            load_tasks(wh, [{"customer_confirmed": False, "quiet_hours": quiet}])
            assert answered_from_cube(wh, d)  # through the hours side table (tests/test_cube_hours.py)
            assert int(outcomes(wh, d, by=())[Reason.ASSUMED.column].iloc[0]) == (1 if assumed else 0)


class TestCubeLifecycle:
    def test_every_ingest_rebuilds_the_cube(self) -> None:
        with Warehouse.in_memory() as wh:
            load_tasks(wh, [{"task_id": "T1"}])
            assert outcomes(wh, Definition(), by=())["tasks"].tolist() == [1]  # read (and cached)
            load_tasks(wh, [{"task_id": "T2", "account_id": "A2"}])
            with wh.cursor() as cur:
                assert cube.is_current(cur)
            assert outcomes(wh, Definition(), by=())["tasks"].tolist() == [2]
            assert outcomes(wh, Definition(), by="account_id")["account_id"].tolist() == ["A1", "A2"]

    def test_tasks_written_behind_the_cubes_back_fall_back_to_tasks(self) -> None:
        d = Definition()
        with Warehouse.in_memory() as wh:
            load_tasks(wh, [{"task_id": "T1"}])
            with wh.cursor() as cur:
                cur.execute("DELETE FROM tasks")
            assert not answered_from_cube(wh, d)
            assert int(outcomes(wh, d, by=())["tasks"].iloc[0]) == 0

    def test_collapses_inputs_that_cannot_matter(self) -> None:
        """Baseline tasks differ in every other input, yet form one cube row."""
        rows = [
            {"task_id": f"T{i}", "ai_enabled": False, "csat": 1 + i % 5, "quiet_hours": float(i),
             "verified": i % 2 == 0}
            for i in range(10)
        ]
        with Warehouse.in_memory() as wh:
            load_tasks(wh, rows)
            with wh.cursor() as cur:
                assert cube.size(cur) == 1
                assert cur.execute(f"SELECT count(*) FROM {cube.PROFILES_TABLE}").fetchone() == (1,)

    def test_an_account_scoped_warehouse_counts_only_its_accounts(self) -> None:
        rows = [{"task_id": f"T{i}", "account_id": f"A{i % 3}"} for i in range(9)]
        d = Definition()
        with Warehouse.in_memory() as wh:
            load_tasks(wh, rows)
            scoped = wh.scoped(["A1"])
            assert answered_from_cube(scoped, d)
            got = outcomes(scoped, d, by=("account_id",))
            assert got["account_id"].tolist() == ["A1"] and got["tasks"].tolist() == [3]
            pd.testing.assert_frame_equal(got, outcomes_from_tasks(scoped, d, by=("account_id",)))

    def test_empty_warehouse_gives_a_zero_total(self) -> None:
        with Warehouse.in_memory() as wh:
            total = outcomes(wh, Definition(), by=())
            assert total[["tasks", "billable_units"]].iloc[0].tolist() == [0, 0.0]


class TestDisputesOnTheCube:
    @pytest.mark.parametrize("name", ["intercom-fin-2026", "zendesk-ar", "lenient"])
    def test_accepted_disputes_correct_the_cube_exactly_as_task_level(self, demo_wh: Warehouse, name: str) -> None:
        """The demo has accepted disputes: the cube answer with its small task-level correction
        equals the task-level answer for every grouping (reason counts included)."""
        d = Definition.preset(name)
        assert answered_from_cube(demo_wh, d)
        for by in (("account_id", "month"), ("month",), ()):
            fast, slow = outcomes(demo_wh, d, by=by), outcomes_from_tasks(demo_wh, d, by=by)
            pd.testing.assert_frame_equal(fast, slow)
        total = outcomes(demo_wh, d, by=())
        assert int(total[Reason.DISPUTED.column].iloc[0]) > 0
        disputed = evaluate_tasks(demo_wh, d, reason="disputed")
        assert len(disputed) == int(total[Reason.DISPUTED.column].iloc[0])
        assert (disputed["billable_units"] == 0).all()


class TestSensitivityAgrees:
    @pytest.mark.slow
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(logs=two_ingests(), d=definitions)
    def test_each_neighbour_total_matches_the_task_level_total(
        self, logs: tuple[list[dict[str, Any]], list[dict[str, Any]]], d: Definition
    ) -> None:
        first, second = logs
        with Warehouse.in_memory() as wh:
            load_tasks(wh, first)
            load_tasks(wh, second)
            table = sensitivity(wh, d)
            expected_base = reference_tasks(final_rows(first, second), d)["billable_units"].sum()
            assert table["base_units"].iloc[0] == pytest.approx(expected_base, abs=1e-9)
            for (_, _, v), got in zip(neighbours(d), table["billable_units"], strict=True):
                assert got == outcomes_from_tasks(wh, v, by=())["billable_units"].iloc[0]
