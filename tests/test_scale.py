"""The build written once as Ibis expressions (issue 19), checked without Spark.

- The DuckDB warehouse runs SQL compiled from the expressions (warehouse/build_sql.py):
  it must be exactly what they compile to today.
- On random logs loaded in two ingests (re-sent ids, moved topics), the compiled build
  gives the gaps and the cube of the hand-written SQL it replaced (tests/scale_oracle.py)
  and of the plain-Python reference gaps.
- The Parquet dataset round trip (what the Spark build writes, what the warehouse loads)
  gives back the same cube, and the Spark file checks (compiled for DuckDB here) flag
  each bad value on its column.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from outcome_pricing.errors import UnknownAccountError
from outcome_pricing.ingest.read import TASKS
from outcome_pricing.ingest.validate import value_rules
from outcome_pricing.rules import Definition, evaluate_tasks, outcomes, outcomes_from_tasks
from outcome_pricing.scale import checks, compiler, load, spark
from outcome_pricing.scale.evidence import evidence_warehouse
from outcome_pricing.scale.ingest import seed_dataset
from outcome_pricing.warehouse import build_sql, cube, derive
from outcome_pricing.warehouse.handle import Warehouse
from outcome_pricing.warehouse.schema import TASK_COLUMNS
from tests.reference import reference_gaps
from tests.rows import BASE_TASK, load_tasks
from tests.scale_oracle import CUBE_TABLE, KEYS_TABLE, PROFILES_TABLE, oracle_cube, oracle_gaps
from tests.test_cube import final_rows, two_ingests

CUBE_TABLES = ((cube.KEYS_TABLE, KEYS_TABLE, "k"), (cube.PROFILES_TABLE, PROFILES_TABLE, "p"),
               (cube.CUBE_TABLE, CUBE_TABLE, "k, p"))
TIER_TABLES = ((cube.TIER_NAMES_TABLE, "", "t"), (cube.TIERS_TABLE, "", "k, p, t"),
               (cube.HOURS_TABLE, "", "gap_bucket, quiet_bucket, k, p, t, gap_hours, quiet_hours"))


def stored_gaps(wh: Warehouse) -> dict[str, float | None]:
    rows = wh.query_df("SELECT task_id, reopen_gap_hours FROM tasks")
    return {str(t): (None if pd.isna(g) else float(g)) for t, g in rows.itertuples(index=False)}


def assert_gaps_equal(got: dict[str, float | None], want: dict[str, float | None]) -> None:
    assert got.keys() == want.keys()
    for task_id, gap in want.items():
        assert (got[task_id] is None) == (gap is None), task_id
        if gap is not None:
            assert got[task_id] == pytest.approx(gap, abs=1e-9), task_id


def cube_frames(wh: Warehouse, tables: tuple[str, str, str]) -> pd.DataFrame:
    return wh.query_df(f"SELECT * FROM {tables[0]} ORDER BY {tables[2]}")


class TestOneImplementation:
    def test_the_compiled_duckdb_sql_is_what_the_expressions_compile_to(self) -> None:
        assert compiler.GENERATED.read_text(encoding="utf-8") == compiler.duckdb_module(), (
            "run `python -m outcome_pricing.scale.compiler`"
        )

    def test_sql_compiled_for_other_task_columns_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(build_sql, "TASK_COLUMNS", build_sql.TASK_COLUMNS[:-1])
        with Warehouse.in_memory() as wh, pytest.raises(RuntimeError, match="scale.compile"):
            load_tasks(wh, [{}])

    @pytest.mark.slow
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(logs=two_ingests())
    def test_ibis_build_equals_the_hand_written_sql_and_the_reference(
        self, logs: tuple[list[dict[str, Any]], list[dict[str, Any]]]
    ) -> None:
        first, second = logs
        with Warehouse.in_memory() as wh:
            load_tasks(wh, first, "first")
            load_tasks(wh, second, "second")
            with wh.cursor() as cur:
                want = oracle_gaps(cur)
                oracle_cube(cur)
            assert_gaps_equal(stored_gaps(wh), want)
            rows = [{**BASE_TASK, **r} for r in final_rows(first, second)]
            assert_gaps_equal(stored_gaps(wh), reference_gaps(rows))
            for ours, theirs, order in CUBE_TABLES:
                pd.testing.assert_frame_equal(
                    wh.query_df(f"SELECT * FROM {ours} ORDER BY {order}"),
                    wh.query_df(f"SELECT * FROM {theirs} ORDER BY {order}"),
                )


class TestParquetRoundTrip:
    def test_the_dataset_loads_back_into_an_identical_cube(self, demo_wh: Warehouse, tmp_path: Path) -> None:
        seed_dataset(demo_wh, tmp_path / "ds")
        months = tuple(sorted(pd.to_datetime(demo_wh.query_df("SELECT DISTINCT month FROM tasks")["month"]).dt.date))
        built = spark.SparkBuild(tmp_path / "ds", months, inserted=0, updated=0)
        with Warehouse.open(tmp_path / "copy.duckdb") as copy:
            load.load(copy, built, "seeded")
            with copy.cursor() as cur:
                assert cube.is_current(cur)
            for tables in CUBE_TABLES + TIER_TABLES:
                pd.testing.assert_frame_equal(cube_frames(copy, tables), cube_frames(demo_wh, tables))
            # The loaded cube answers as the loaded tasks do (the demo also holds disputes,
            # which the copy does not: its outcomes are compared with its own tasks).
            for name in Definition.presets():
                d = Definition.preset(name)
                pd.testing.assert_frame_equal(outcomes(copy, d), outcomes_from_tasks(copy, d))

    def test_loading_replaces_only_the_rewritten_months(self, tmp_path: Path) -> None:
        jan = {"task_id": "T1", "created_at": dt.datetime(2025, 1, 5), "closed_at": dt.datetime(2025, 1, 5, 1)}
        feb = {"task_id": "T2", "created_at": dt.datetime(2025, 2, 5), "closed_at": dt.datetime(2025, 2, 5, 1)}
        with Warehouse.open(tmp_path / "wh.duckdb") as wh:
            load_tasks(wh, [jan, feb])
            seed_dataset(wh, tmp_path / "ds")
            with wh.transaction() as cur:  # February changes behind the dataset's back ...
                cur.execute("UPDATE tasks SET topic = 'changed' WHERE task_id = 'T2'")
            load.load(wh, spark.SparkBuild(tmp_path / "ds", (dt.date(2025, 1, 1),), 0, 1), "jan")
            # ... and a load of January alone leaves it as it is.
            assert wh.query_df("SELECT task_id, topic FROM tasks ORDER BY 1").values.tolist() == [
                ["T1", "billing"], ["T2", "changed"]]


class TestEvidenceFromParquet:
    def test_one_account_months_evidence_equals_the_warehouses(self, demo_wh: Warehouse, tmp_path: Path) -> None:
        seed_dataset(demo_wh, tmp_path / "ds")
        account, month = demo_wh.query_df(
            "SELECT account_id, month FROM tasks WHERE ai_enabled AND task_id IN (SELECT task_id FROM audits) "
            "GROUP BY ALL ORDER BY count(*) DESC LIMIT 1"
        ).iloc[0]
        month = pd.Timestamp(month).date()
        with evidence_warehouse(demo_wh, tmp_path / "ds", str(account), month) as ev:
            for name in Definition.presets():
                d = Definition.preset(name)
                want = evaluate_tasks(demo_wh, d, account_id=str(account), month=month).reset_index(drop=True)
                pd.testing.assert_frame_equal(evaluate_tasks(ev, d).reset_index(drop=True), want)

    def test_an_account_month_without_tasks_names_what_is_missing(self, demo_wh: Warehouse, tmp_path: Path) -> None:
        seed_dataset(demo_wh, tmp_path / "ds")
        with pytest.raises(UnknownAccountError, match="NOPE"):
            evidence_warehouse(demo_wh, tmp_path / "ds", "NOPE", dt.date(2025, 6, 1))


def _raw_row(**values: str | None) -> dict[str, str | None]:
    row: dict[str, str | None] = {c: None for c in checks.raw("x").columns}
    row.update(task_id="T1", account_id="A1", requester_id="R1", topic="billing",
               created_at="2025-01-10 09:00:00", closed_at="2025-01-10 10:00:00",
               ai_enabled="yes", ai_answered="1", handoff="false")
    row.update(values)
    return row


class TestFileChecks:
    """The rules Spark counts, compiled for DuckDB: each bad value is flagged on its column."""

    @pytest.mark.parametrize(("column", "value", "rule"), [
        ("ai_answered", "maybe", "not a valid boolean"),
        ("quiet_hours", "inf", "not a valid finite number"),
        ("n_issues", "2.5", "not a valid whole number"),
        ("csat", "9", "must be <= 5"),
        ("created_at", "1970-01-01 00:00:00", "timestamp outside"),
        ("topic", "", "required value is empty"),
        ("handoff", None, "required value is empty"),
        ("closed_at", "2025-01-10 08:00:00", "closed_at is before created_at"),
    ])
    def test_a_bad_value_is_flagged_on_its_column(self, column: str, value: str | None, rule: str) -> None:
        frame = pd.DataFrame([_raw_row(), _raw_row(task_id="T2", **{column: value})], dtype=object)
        with Warehouse.in_memory() as wh, wh.cursor() as cur:
            cur.register("_raw", frame)
            cur.execute(f"CREATE TEMP TABLE _parsed AS {compiler.to_sql(checks.parsed('_raw'), 'duckdb')}")
            row = cur.execute(compiler.to_sql(checks.counts("_parsed"), "duckdb")).fetchone()
            assert row is not None
            rules = checks.rules(checks.parsed_relation("_parsed"))
            hits = [(i, r.column, r.text) for i, (r, n) in enumerate(zip(rules, row[:-2], strict=True)) if n]
            assert len(hits) == 1 and hits[0][1] == column and hits[0][2].startswith(rule), hits
            examples = cur.execute(compiler.to_sql(checks.examples("_parsed", hits[0][0], 5), "duckdb")).fetchall()
            assert [e[0] for e in examples] == ["T2"]

    def test_a_good_row_passes_and_gets_the_defaults(self) -> None:
        frame = pd.DataFrame([_raw_row()], dtype=object)
        with Warehouse.in_memory() as wh, wh.cursor() as cur:
            cur.register("_raw", frame)
            parsed = cur.execute(compiler.to_sql(checks.parsed("_raw"), "duckdb")).df()
            assert parsed.loc[0, "channel"] == "chat" and parsed.loc[0, "n_issues"] == 1
            assert bool(parsed.loc[0, "ai_enabled"]) and not bool(parsed.loc[0, "handoff"])


def test_the_spark_checks_word_every_rule_as_the_duckdb_checks_do() -> None:
    """One text per rule (ingest/validate.py): a refusal reads the same on either engine."""
    duckdb_texts = {(r.column, r.text) for col in TASK_COLUMNS for r in value_rules(col, from_text=True)}
    duckdb_texts |= {(r.column, r.text) for r in TASKS.rules}
    spark_texts = {(r.column, r.text) for r in checks.rules(checks.parsed_relation("_parsed"))}
    assert spark_texts <= duckdb_texts, spark_texts - duckdb_texts
    assert {"must be <= 315,360,000", "must be >= 0"} <= {t for _, t in spark_texts}


def test_derive_checks_the_compiled_columns() -> None:
    derive.check_compiled()  # the compiled SQL is for today's task columns


class TestCommand:
    """`ingest --engine spark` refuses what it cannot do before starting Spark, exit code 2."""

    def _run(self, args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
        import sys

        from outcome_pricing.cli import main

        monkeypatch.setattr(sys, "argv", ["outcome-pricing", "--db", str(tmp_path / "wh.duckdb"), *args])
        with pytest.raises(SystemExit) as done:
            main()
        return int(done.value.code or 0)

    def test_a_mapping_is_refused_with_the_spark_engine(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (tmp_path / "t.csv").write_text("task_id\n", encoding="utf-8")
        (tmp_path / "m.toml").write_text("", encoding="utf-8")
        code = self._run(["ingest", "--engine", "spark", "--tasks", str(tmp_path / "t.csv"),
                          "--mapping", str(tmp_path / "m.toml")], tmp_path, monkeypatch)
        assert code == 2 and "--mapping works with --engine duckdb only" in capsys.readouterr().err

    def test_without_java_the_spark_engine_says_what_to_install(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from outcome_pricing.scale import session

        monkeypatch.setattr(session, "java_available", lambda: False)
        monkeypatch.delenv(session.REMOTE_ENV, raising=False)
        (tmp_path / "t.csv").write_text("task_id\n", encoding="utf-8")
        code = self._run(["ingest", "--engine", "spark", "--tasks", str(tmp_path / "t.csv")], tmp_path, monkeypatch)
        err = capsys.readouterr().err
        assert code == 2 and "openjdk-17-jre-headless" in err, err
        with Warehouse.open(tmp_path / "wh.duckdb", read_only=True) as wh:
            assert wh.is_empty()
