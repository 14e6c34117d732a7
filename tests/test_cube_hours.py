"""Any definition from the cube: hour knobs off its grid (through the hours side table) and the
accepted disputes' correction (in numpy), identical to the task-by-task rule and to plain Python.

The plain-Python oracle is tests/reference.py (the rules, the reopen gap from the rows) with
tests/reference_lifecycle.py's `voided_at` (DESIGN 8: an accepted dispute filed within the
window voids a billable outcome). Gaps and quiet times are drawn on, just around and far
from the knobs, including above the grid's last value (720 h).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcome_pricing.ingest.disputes import ingest_disputes
from outcome_pricing.rules import (
    BILLABLE_REASONS,
    REASONS,
    Definition,
    Reason,
    answered_from_cube,
    outcomes,
    outcomes_from_tasks,
)
from outcome_pricing.rules.cube_read import hour_knobs
from outcome_pricing.rules.evaluate import (
    _counts_from_tasks,
    _disputes_applied,
    _pivot,
    outcomes_by_dimension,
)
from outcome_pricing.warehouse import cube
from outcome_pricing.warehouse.handle import Warehouse
from tests.reference import reference_gaps, reference_rule
from tests.reference_lifecycle import voided_at
from tests.rows import BASE_TASK, load_tasks
from tests.strategies import definitions_over

START = dt.datetime(2025, 1, 28, 0, 0)  # straddles a month end
# Hour knobs off the grid (and a few on it), and hours on, beside and far from them.
KNOB_HOURS = [1.5, 5, 10, 30, 36.5, 60, 100, 719.9, 720, 800, 24, 0]
HOURS = [0.0, 0.25, 1.5, 1.75, 5.0, 5.5, 9.75, 10.0, 29.75, 30.0, 30.25, 36.5, 60.0, 99.75, 100.0,
         719.75, 720.0, 720.25, 800.0, 800.25, 2_000.0]
GROUPINGS = [(), ("month",), ("account_id", "month")]

off_grid_definitions = definitions_over(
    KNOB_HOURS, [0.0, 0.5], unit=st.sampled_from(["conversation", "issue"]),
    dispute_window_days=st.sampled_from([0, 3, 20]),
)


@st.composite
def logs(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Tasks whose reopen gaps and quiet times fall on and around the knobs, and disputes."""
    rows: list[dict[str, Any]] = []
    n = draw(st.integers(1, 18))
    for i in range(n):
        requester = draw(st.sampled_from(["R1", "R2", "R3"]))
        same = [r for r in rows if r["requester_id"] == requester]
        follows = draw(st.booleans())
        if same and follows:  # the next task of a requester: a gap from HOURS
            created = max(r["closed_at"] for r in same) + dt.timedelta(hours=draw(st.sampled_from(HOURS)))
        else:
            created = START + dt.timedelta(hours=draw(st.integers(0, 200)))
        n_issues = draw(st.integers(1, 3))
        rows.append({
            "task_id": f"T{i:02d}",
            "account_id": draw(st.sampled_from(["A1", "A2"])),
            "requester_id": requester,
            "topic": "billing",
            "model_tier": draw(st.sampled_from(["standard", "advanced", None, ""])),
            "created_at": created,
            "closed_at": created,
            "ai_enabled": draw(st.sampled_from([True, True, True, False])),
            "ai_answered": draw(st.sampled_from([True, True, True, False])),
            "handoff": draw(st.sampled_from([False, False, True])),
            "context_retained": draw(st.none() | st.booleans()),
            "customer_confirmed": draw(st.sampled_from([None, False, False, True])),
            "quiet_hours": draw(st.none() | st.sampled_from(HOURS)),
            "verified": draw(st.none() | st.booleans()),
            "ai_error_corrected": draw(st.none() | st.booleans()),
            "n_issues": n_issues,
            "n_issues_resolved": draw(st.none() | st.integers(0, n_issues)),
            "csat": draw(st.none() | st.integers(1, 5)),
        })
    disputes = []
    for j, task_id in enumerate(draw(st.lists(st.sampled_from([r["task_id"] for r in rows]), max_size=6))):
        filed = START + dt.timedelta(days=draw(st.integers(0, 60)))
        status = draw(st.sampled_from(["accepted", "accepted", "rejected", "open"]))
        decided = None if status == "open" else filed + dt.timedelta(days=1)
        disputes.append({"dispute_id": f"D{j}", "task_id": task_id, "filed_at": filed, "status": status,
                         "decided_at": decided})
    return rows, disputes


def load_disputes(wh: Warehouse, disputes: list[dict[str, Any]]) -> None:
    if not disputes:
        return
    lines = ["dispute_id,task_id,filed_at,status,decided_at,reason,reviewer"]
    for x in disputes:
        decided = "" if x["decided_at"] is None else x["decided_at"].isoformat(sep=" ")
        lines.append(f"{x['dispute_id']},{x['task_id']},{x['filed_at'].isoformat(sep=' ')},{x['status']},{decided},,")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "disputes.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        ingest_disputes(wh, path)


def oracle(rows: list[dict[str, Any]], disputes: list[dict[str, Any]], d: Definition, by: tuple[str, ...]) -> pd.DataFrame:
    """Hindsight counts per reason by `by`, task by task in plain Python."""
    full = [{**BASE_TASK, **r} for r in rows]
    gaps = reference_gaps(full)
    out = []
    for t in full:
        reason, _ = reference_rule(t, gaps[t["task_id"]], d)
        if reason in BILLABLE_REASONS and voided_at(t, disputes, d) is not None:
            reason = Reason.DISPUTED
        out.append({"account_id": t["account_id"], "month": pd.Timestamp(t["closed_at"].year, t["closed_at"].month, 1),
                    "reason": reason})
    frame = pd.DataFrame(out)
    groups = frame.groupby(list(by), sort=True) if by else [((), frame)]
    table = []
    for key, g in groups:
        row = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=False))
        row |= {"tasks": len(g), **{r.column: int((g["reason"] == r).sum()) for r in REASONS}}
        table.append(row)
    return pd.DataFrame(table)


class TestAnyDefinitionFromTheCube:
    @pytest.mark.slow
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(log=logs(), d=off_grid_definitions, by=st.sampled_from(GROUPINGS), then=off_grid_definitions)
    def test_cube_task_level_and_plain_python_agree(
        self, log: tuple[list[dict[str, Any]], list[dict[str, Any]]], d: Definition, by: tuple[str, ...],
        then: Definition,
    ) -> None:
        rows, disputes = log
        with Warehouse.in_memory() as wh:
            load_tasks(wh, rows)
            load_disputes(wh, disputes)
            assert answered_from_cube(wh, d)
            fast = outcomes(wh, d, by=by)
            pd.testing.assert_frame_equal(fast, outcomes_from_tasks(wh, d, by=by))
            expected = oracle(rows, disputes, d, by)
            exact = [*by, "tasks", *(r.column for r in REASONS)]
            got = fast[exact].copy()
            if "month" in by:
                got["month"] = pd.to_datetime(got["month"])
            pd.testing.assert_frame_equal(got, expected[exact], check_dtype=False)
            # by model tier: the cube's tier split equals the task-level split
            by_tier = ("account_id", "month", "model_tier")
            slow = _pivot(*_disputes_applied(wh, d, _counts_from_tasks(wh, d, "model_tier"), "model_tier"), d, by_tier)
            pd.testing.assert_frame_equal(outcomes_by_dimension(wh, d, "model_tier"), slow)
            # the next definitions are counted from the remembered ones (only the profiles
            # whose reason changes move): still the task-level answer
            for step in (then, d):
                pd.testing.assert_frame_equal(outcomes(wh, step), outcomes_from_tasks(wh, step))


class TestOffTheGrid:
    @pytest.mark.parametrize(
        ("gap", "window", "reopened"),
        [(30.0, 30, True), (30.25, 30, False), (24.25, 30, True), (1.25, 1.5, True), (1.75, 1.5, False),
         (800.0, 800, True), (800.25, 800, False), (721.0, 800, True), (720.25, 719.9, False), (719.75, 719.9, True)],
    )
    def test_reopen_gap_at_an_off_grid_window(self, gap: float, window: float, reopened: bool) -> None:
        first = {"task_id": "T1", "closed_at": dt.datetime(2025, 1, 10, 10)}
        nxt = {"task_id": "T2", "created_at": dt.datetime(2025, 1, 10, 10) + dt.timedelta(hours=gap),
               "closed_at": dt.datetime(2025, 3, 1)}
        d = Definition(reopen_window_hours=window)
        assert not d.cube_exact
        with Warehouse.in_memory() as wh:
            load_tasks(wh, [first, nxt])
            assert answered_from_cube(wh, d)
            total = outcomes(wh, d, by=())
            assert int(total[Reason.REOPENED.column].iloc[0]) == (1 if reopened else 0)
            pd.testing.assert_frame_equal(total, outcomes_from_tasks(wh, d, by=()))

    @pytest.mark.parametrize(
        ("quiet", "silence", "assumed"),
        [(30.0, 30, True), (29.99, 30, False), (1.5, 1.5, True), (1.25, 1.5, False), (1000.0, 1000, True),
         (999.5, 1000, False), (720.0, 1000, False)],
    )
    def test_quiet_hours_at_an_off_grid_silence(self, quiet: float, silence: float, assumed: bool) -> None:
        d = Definition(silence_hours=silence)
        with Warehouse.in_memory() as wh:
            load_tasks(wh, [{"customer_confirmed": False, "quiet_hours": quiet}])
            assert answered_from_cube(wh, d)
            assert int(outcomes(wh, d, by=())[Reason.ASSUMED.column].iloc[0]) == (1 if assumed else 0)

    def test_the_knobs_fall_in_one_bucket(self) -> None:
        assert hour_knobs(Definition(silence_hours=30, reopen_window_hours=30)).gap_bucket == 36
        assert hour_knobs(Definition(silence_hours=30, reopen_window_hours=30)).quiet_bucket == 24
        assert hour_knobs(Definition(silence_hours=24, reopen_window_hours=800)).gap_bucket == 721
        assert hour_knobs(Definition(silence_hours=24, reopen_window_hours=72)).on_grid

    def test_the_hours_side_table_holds_every_cube_row_with_hours(self, demo_wh: Warehouse) -> None:
        with demo_wh.cursor() as cur:
            hours, in_cube = cur.execute(
                f"SELECT (SELECT sum(tasks) FROM {cube.HOURS_TABLE}), (SELECT sum(c.tasks) FROM {cube.CUBE_TABLE} c "
                f"JOIN {cube.PROFILES_TABLE} p USING (p) WHERE p.gap_hours IS NOT NULL OR p.quiet_hours IS NOT NULL)"
            ).fetchone()  # type: ignore[misc]
        assert hours == in_cube and hours > 0


class TestOneDefinitionAfterAnother:
    @pytest.mark.slow
    def test_changes_counted_from_the_previous_definitions_agree_with_task_level(self, demo_wh: Warehouse) -> None:
        """Each definition is counted from the remembered one nearest to it (only the cube rows
        of profiles whose reason changes are re-counted): a chain of knob changes, on and off
        the grid, by account-month and by model tier, each equal to the task-level answer."""
        d = Definition.preset("zendesk-ar")
        chain = [d, d.with_knobs(silence_hours=48), d.with_knobs(min_csat=3), d.with_knobs(silence_hours=30),
                 d.with_knobs(require_verification=False), d, d.with_knobs(reopen_window_hours=30, unit="issue"),
                 Definition.preset("lenient"), d.with_knobs(handoff="always", partial_credit=0.5)]
        by_tier = ("account_id", "month", "model_tier")
        for step in chain:
            pd.testing.assert_frame_equal(outcomes(demo_wh, step), outcomes_from_tasks(demo_wh, step))
            slow = _pivot(*_disputes_applied(demo_wh, step, _counts_from_tasks(demo_wh, step, "model_tier"), "model_tier"),
                          step, by_tier)
            pd.testing.assert_frame_equal(outcomes_by_dimension(demo_wh, step, "model_tier"), slow)
