"""The rules over the cube's profiles in numpy (`rules.profile_rules`) against the one SQL CASE
(`sql.reason_sql`, run by DuckDB on the same profiles, NULLs included) and against the
plain-Python reference (tests/reference.py) on profiles as the cube stores them.

Profiles are stored out of p order (they are placed by p), with hours on, beside and far
from the knobs, and each definition's off-grid variants (`cube_read.variant_params`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcome_pricing.rules import REASONS, Definition, outcomes
from outcome_pricing.rules.cube_read import _arrays, hour_knobs, variant_params
from outcome_pricing.rules.profile_rules import (
    FLAGS,
    ProfileInputs,
    profile_reasons,
    read_profile_inputs,
    variant_reasons,
)
from outcome_pricing.rules.sql import knob_params, reason_sql
from outcome_pricing.warehouse import cube
from outcome_pricing.warehouse.handle import Warehouse
from tests.reference import reference_rule
from tests.rows import load_tasks
from tests.strategies import definitions_over

HOURS = [0.0, 1.0, 1.5, 2.0, 5.0, 24.0, 29.75, 30.0, 30.25, 36.5, 72.0, 720.0, 721.0, 800.0]
KNOB_HOURS = [0, 1.5, 5, 24, 30, 36.5, 72, 720, 800]

profiles = st.lists(
    st.fixed_dictionaries({
        **{name: st.none() | st.booleans() for name in FLAGS},
        "csat": st.none() | st.integers(1, 5),
        "gap_hours": st.none() | st.sampled_from(HOURS),
        "quiet_hours": st.none() | st.sampled_from(HOURS),
    }),
    min_size=1, max_size=30,
)
definitions = definitions_over(KNOB_HOURS, [0.0, 0.5])


COLUMNS = ("p", *FLAGS, "csat", "gap_hours", "quiet_hours")
TYPES = ("INTEGER", *("BOOLEAN" for _ in FLAGS), "TINYINT", "DOUBLE", "DOUBLE")


def _profiles_table(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], order: list[int]) -> None:
    """The profiles as a table like the cube's (p numbered from 0), stored in `order`:
    one INSERT with bound values (no frame: hypothesis runs this often)."""
    con.execute(f"CREATE OR REPLACE TABLE profiles ({', '.join(f'{c} {t}' for c, t in zip(COLUMNS, TYPES, strict=True))})")
    one = f"({', '.join('?' for _ in COLUMNS)})"
    values = [p if c == "p" else rows[p][c] for p in order for c in COLUMNS]
    con.execute(f"INSERT INTO profiles VALUES {', '.join(one for _ in order)}", values)


def _sql_reasons(con: duckdb.DuckDBPyConnection, params: dict[str, Any], prefix: str) -> np.ndarray:
    found = con.execute(f"SELECT p, {reason_sql(cube.PROFILE_INPUTS, prefix)} AS r FROM profiles ORDER BY p",
                        params).fetchnumpy()
    return np.asarray(found["r"], dtype="int64")


class TestRulesOverProfiles:
    @settings(max_examples=25, deadline=None)
    @given(rows=profiles, d=definitions, data=st.data())
    def test_numpy_equals_the_sql_case_on_every_variant(self, rows: list[dict[str, Any]], d: Definition,
                                                        data: st.DataObject) -> None:
        order = data.draw(st.permutations(list(range(len(rows)))))
        with duckdb.connect(":memory:") as con:
            _profiles_table(con, rows, order)
            inputs = read_profile_inputs(con, "profiles")
            variants = variant_params(d, hour_knobs(d), "v0_")
            fast = variant_reasons(inputs, variants)
            for i, params in enumerate(variants):
                assert fast[i].tolist() == _sql_reasons(con, params, f"v0_{i}_").tolist()

    @pytest.mark.slow
    @settings(max_examples=40, deadline=None)
    @given(rows=profiles, d=definitions)
    def test_numpy_equals_plain_python_on_profiles_as_the_cube_stores_them(
        self, rows: list[dict[str, Any]], d: Definition
    ) -> None:
        stored = [{**r, **{name: bool(r[name]) for name in FLAGS}} for r in rows]  # NULL read as false
        with duckdb.connect(":memory:") as con:
            _profiles_table(con, stored, list(range(len(stored))))
            got = profile_reasons(read_profile_inputs(con, "profiles"), knob_params(d, "x_"), "x_")
        task = {"n_issues": 1, "n_issues_resolved": 1}
        expected = [reference_rule({**task, **r}, r["gap_hours"], d)[0].code for r in stored]
        assert got.tolist() == expected


class TestFreshness:
    def test_a_file_rewritten_between_handles_is_read_afresh(self, tmp_path: Path) -> None:
        """The stamp is remembered per handle and data generation: a new handle on a file
        changed meanwhile (same task count, new values) never reuses the old one."""
        db = tmp_path / "w.duckdb"
        d = Definition()
        with Warehouse.open(db) as wh:
            load_tasks(wh, [{"task_id": "T1", "customer_confirmed": True}])
        with Warehouse.open(db, read_only=True) as wh:
            assert int(outcomes(wh, d, by=())["n_confirmed"].iloc[0]) == 1
        with Warehouse.open(db) as wh:  # the same task id: an update, the count stays 1
            load_tasks(wh, [{"task_id": "T1", "customer_confirmed": False, "ai_answered": False}])
        with Warehouse.open(db, read_only=True) as wh:
            total = outcomes(wh, d, by=())
            assert int(total["n_confirmed"].iloc[0]) == 0 and int(total["n_no_ai_answer"].iloc[0]) == 1

    def test_a_write_through_the_handle_is_seen_at_once(self) -> None:
        d = Definition()
        with Warehouse.in_memory() as wh:
            load_tasks(wh, [{"task_id": "T1", "customer_confirmed": True}])
            assert int(outcomes(wh, d, by=())["n_confirmed"].iloc[0]) == 1
            load_tasks(wh, [{"task_id": "T1", "customer_confirmed": False, "ai_answered": False}])
            assert int(outcomes(wh, d, by=())["n_confirmed"].iloc[0]) == 0


    def test_a_read_only_handle_asks_nothing_for_freshness_within_a_generation(self, tmp_path: Path) -> None:
        """Read-only, nothing can write behind the cube's back: a definition change after the
        first is answered with no statement at all; a read-write handle still counts the tasks."""
        db = tmp_path / "w.duckdb"
        with Warehouse.open(db) as wh:
            load_tasks(wh, [{"task_id": "T1", "customer_confirmed": True}])
            outcomes(wh, Definition(), by=())
            assert not wh.sealed
        with Warehouse.open(db, read_only=True) as wh:
            outcomes(wh, Definition(), by=())
            assert wh.sealed
            seen = statements_of(wh, lambda: outcomes(wh, Definition(silence_hours=48), by=()))
            assert seen == []

    def test_a_shared_handle_lets_the_file_go_only_with_a_new_generation(self, tmp_path: Path) -> None:
        """The app's handle swaps its connection around a write: even a write that fails bumps
        the generation (another process may have written while the file was not held)."""
        db = tmp_path / "w.duckdb"
        with Warehouse.open(db) as wh:
            load_tasks(wh, [{"task_id": "T1"}])
        with Warehouse.open_shared(db) as wh:
            assert wh.sealed
            before = wh.generation
            with pytest.raises(RuntimeError), wh.transaction():
                raise RuntimeError("refused")
            assert wh.sealed and wh.generation > before


def statements_of(wh: Warehouse, read: Callable[[], object]) -> list[str]:
    """The SQL `read` executes through the handle's cursors."""
    seen: list[str] = []
    real = Warehouse.cursor

    @contextlib.contextmanager
    def recording(self: Warehouse) -> Iterator[Any]:
        with real(self) as cur:
            class Recorder:
                def __getattr__(self, name: str) -> Any:
                    return getattr(cur, name)

                def execute(self, sql: str, *args: Any) -> Any:
                    seen.append(sql)
                    return cur.execute(sql, *args)

                def sql(self, sql: str, *args: Any, **kwargs: Any) -> Any:
                    seen.append(sql)
                    return cur.sql(sql, *args, **kwargs)

            yield Recorder()

    Warehouse.cursor = recording  # type: ignore[method-assign]
    try:
        read()
    finally:
        Warehouse.cursor = real  # type: ignore[method-assign]
    return seen


class TestCountsFromTheRememberedDefinitions:
    @settings(max_examples=40, deadline=None)
    @given(data=st.data(), n_keys=st.integers(1, 4), n_profiles=st.integers(1, 6))
    def test_each_definition_counts_as_plain_python_sums(self, data: st.DataObject, n_keys: int, n_profiles: int) -> None:
        """A chain of definitions (reasons per profile): each counted from the remembered one
        nearest to it (`CubeArrays.dense`), equal to summing the cube rows in plain Python."""
        cube_rows = data.draw(st.lists(st.tuples(st.integers(0, n_keys - 1), st.integers(0, n_profiles - 1),
                                                 st.integers(1, 9), st.integers(1, 30)), min_size=1, max_size=25))
        keys = pd.DataFrame({"account_id": [f"A{i}" for i in range(n_keys)], "month": [pd.Timestamp("2025-01-01")] * n_keys})
        rows = {name: np.array([r[i] for r in cube_rows]) for i, name in ((1, "p"), (2, "tasks"), (3, "issue_units"))}
        no_inputs = ProfileInputs({}, {}, {"csat": np.zeros(n_profiles)})  # only their number is read
        arrays = _arrays(keys, np.arange(n_keys), 0, np.array([r[0] for r in cube_rows]), rows, no_inputs)
        chain = data.draw(st.lists(st.tuples(st.lists(st.integers(0, len(REASONS) - 1), min_size=n_profiles,
                                                      max_size=n_profiles), st.booleans()),
                                   min_size=1, max_size=8))
        # issue units asked on some steps only (a definition of issues): each quantity is
        # counted from its own remembered sums, which may be of other definitions
        for reasons, issues in chain:
            found = arrays.dense(np.array(reasons, dtype="int64"), issue_units=issues)
            tasks = np.zeros((n_keys, len(REASONS)))
            units = np.zeros((n_keys, len(REASONS)))
            for row, p, n, iu in cube_rows:
                tasks[row, reasons[p]] += n
                units[row, reasons[p]] += iu
            assert found.tasks.tolist() == tasks.reshape(-1).tolist()
            if issues:
                assert found.counted_issue_units().tolist() == units.reshape(-1).tolist()
            else:
                assert found.issue_units is None
