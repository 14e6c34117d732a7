"""Cluster mode (issue 19 item 3), checked without Spark: the warehouse keeps the cube and
the account facts, not the tasks, and answers as the full warehouse does.

The dataset is the demo warehouse's own tasks, cube rows and account facts written in
the Spark build's layout (`seed_dataset`, the facts compiled for DuckDB from the same Ibis
expression Spark runs); the cluster-mode warehouse is a copy of the demo file (accounts,
disputes, audits) loaded from that dataset in cluster mode. Every answer is compared with
the full demo warehouse: backtest totals and metrics, statements' billed tasks, explain,
the evidence pack. `tests/test_scale_spark.py` builds the same on Spark.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from outcome_pricing.errors import ConfigError, UnknownAccountError
from outcome_pricing.ingest import ingest_files
from outcome_pricing.ingest.disputes import ingest_disputes
from outcome_pricing.pricing import account_month_metrics, backtest, example_plans, statement
from outcome_pricing.pricing.deals.savings import ai_time, baselines
from outcome_pricing.pricing.deals.schedule import go_live_frame
from outcome_pricing.pricing.metrics import usage_by_tier
from outcome_pricing.pricing.splits import usage_by_dimension
from outcome_pricing.proof.audit.pack import evidence_pack
from outcome_pricing.rules import Definition, evaluate_tasks
from outcome_pricing.rules.evaluate import outcomes_by_dimension
from outcome_pricing.scale import load, spark
from outcome_pricing.scale.ingest import ingest_on_spark, seed_dataset
from outcome_pricing.warehouse import cluster, cube
from outcome_pricing.warehouse.handle import Warehouse

PRESETS = ("zendesk-ar", "strict")


@pytest.fixture(scope="module")
def cluster_wh(demo_db_path: Path, demo_wh: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    folder = tmp_path_factory.mktemp("cluster")
    seed_dataset(demo_wh, folder / "ds")
    shutil.copyfile(demo_db_path, folder / "cluster.duckdb")
    wh = Warehouse.open(folder / "cluster.duckdb")
    load.load(wh, spark.SparkBuild(folder / "ds", (), 0, 0), "seeded", cluster_mode=True)
    yield wh
    wh.close()


def busiest(wh: Warehouse, extra: str = "") -> tuple[str, str]:
    """The account-month with the most tasks (among those `extra` selects)."""
    row = wh.query_df(
        f"SELECT account_id, strftime(month, '%Y-%m') AS m FROM tasks {extra} GROUP BY ALL "
        "ORDER BY count(*) DESC, 1, 2 LIMIT 1").iloc[0]
    return str(row["account_id"]), str(row["m"])


class TestWhatItHolds:
    def test_only_the_tasks_side_files_name_and_a_current_cube(self, cluster_wh: Warehouse, demo_wh: Warehouse) -> None:
        held = set(cluster_wh.query_df("SELECT task_id FROM tasks")["task_id"])
        named = set(demo_wh.query_df(cluster.SIDE_TASK_IDS)["task_id"])
        assert held == named and 0 < len(held) < demo_wh.summary()["tasks"] / 5
        with cluster_wh.cursor() as cur:
            assert cube.is_current(cur)
        assert cluster.is_cluster(cluster_wh) and not cluster.is_cluster(demo_wh)

    def test_freshness_is_the_build_records_not_a_task_count(self, cluster_wh: Warehouse) -> None:
        class Undo(Exception):
            pass

        with pytest.raises(Undo), cluster_wh.transaction() as cur:
            cur.execute(f"UPDATE {cluster.BUILD_TABLE} SET cube_stamp = 'another build'")
            assert not cube.is_current(cur)
            raise Undo  # rolled back
        with cluster_wh.cursor() as cur:
            assert cube.is_current(cur)

    def test_summary_and_accounts_are_the_full_warehouses(self, cluster_wh: Warehouse, demo_wh: Warehouse) -> None:
        assert cluster_wh.summary() == demo_wh.summary()
        assert cluster_wh.account_ids() == demo_wh.account_ids()
        assert not cluster_wh.is_empty()

    def test_the_account_facts_give_the_full_warehouses_sums(self, cluster_wh: Warehouse, demo_wh: Warehouse) -> None:
        def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
            keys = [c for c in a.columns if c not in ("ms", "n", "tasks", "ai_tasks", "human_ms",
                                                     "input_tokens", "output_tokens")]
            pd.testing.assert_frame_equal(a.sort_values(keys, ignore_index=True), b.sort_values(keys, ignore_index=True),
                                          check_dtype=False)
        same(usage_by_tier(cluster_wh), usage_by_tier(demo_wh))
        same(ai_time(cluster_wh), ai_time(demo_wh))
        same(go_live_frame(cluster_wh), go_live_frame(demo_wh))
        assert baselines(cluster_wh) == baselines(demo_wh)


@pytest.mark.slow  # each about 1 s (a backtest, a statement, a pack on two warehouses)
class TestSameAnswers:
    @pytest.mark.parametrize("preset", PRESETS)
    def test_backtest_totals_and_metrics(self, cluster_wh: Warehouse, demo_wh: Warehouse, preset: str) -> None:
        d, plans = Definition.preset(preset), example_plans()
        pd.testing.assert_frame_equal(backtest(cluster_wh, plans, d).totals(), backtest(demo_wh, plans, d).totals())
        pd.testing.assert_frame_equal(account_month_metrics(cluster_wh, d, plans.costs, plans.plans),
                                      account_month_metrics(demo_wh, d, plans.costs, plans.plans))

    @pytest.mark.parametrize("preset", PRESETS)
    def test_a_statements_billed_tasks(self, cluster_wh: Warehouse, demo_wh: Warehouse, preset: str) -> None:
        d, plans = Definition.preset(preset), example_plans()
        for account, month in (busiest(demo_wh), busiest(demo_wh, "WHERE task_id IN (SELECT task_id FROM disputes)")):
            want = statement(demo_wh, plans, plans.default_proposed(), d, account, month)
            got = statement(cluster_wh, plans, plans.default_proposed(), d, account, month)
            pd.testing.assert_frame_equal(got.tasks.reset_index(drop=True), want.tasks.reset_index(drop=True))
            assert got.total == want.total and len(got.tasks) > 0

    def test_explain_reads_the_tasks_month_from_parquet(self, cluster_wh: Warehouse, demo_wh: Warehouse) -> None:
        d = Definition.preset("zendesk-ar")
        task_id = str(demo_wh.scalar("SELECT max(task_id) FROM tasks WHERE ai_answered"))
        assert not cluster_wh.scalar("SELECT count(*) FROM tasks WHERE task_id = ?", [task_id])
        with cluster.evidence_for_task(cluster_wh, task_id) as ev:
            got = evaluate_tasks(ev, d, task_ids=[task_id])
        pd.testing.assert_frame_equal(got, evaluate_tasks(demo_wh, d, task_ids=[task_id]))
        with cluster.evidence_for_task(cluster_wh, "NO-SUCH-TASK") as ev:
            assert evaluate_tasks(ev, d, task_ids=["NO-SUCH-TASK"]).empty

    def test_the_evidence_pack(self, cluster_wh: Warehouse, demo_wh: Warehouse) -> None:
        d, plans = Definition.preset("zendesk-ar"), example_plans()
        account, month = busiest(demo_wh, "WHERE task_id IN (SELECT task_id FROM audits)")

        def files(wh: Warehouse) -> dict[str, bytes]:
            with zipfile.ZipFile(io.BytesIO(evidence_pack(wh, plans, plans.default_proposed(), d, account, month))) as z:
                return {n: z.read(n) for n in ("billed_tasks.csv", "audits.csv", "estimate.csv")}
        got, want = files(cluster_wh), files(demo_wh)
        assert got == want and len(want["audits.csv"].splitlines()) > 1


class TestRefusals:
    def test_a_scoped_viewer_reads_no_other_accounts_parquet(self, cluster_wh: Warehouse, demo_wh: Warehouse) -> None:
        account, month = busiest(demo_wh)
        other = next(a for a in demo_wh.account_ids() if a != account)
        first = dt.date.fromisoformat(f"{month}-01")
        with pytest.raises(UnknownAccountError, match=account), cluster.evidence_for(
                cluster_wh.scoped([other]), account, first):
            pass
        task_id = str(demo_wh.scalar("SELECT min(task_id) FROM tasks WHERE account_id = ?", [account]))
        scoped = cluster_wh.scoped([other])
        with cluster.evidence_for_task(scoped, task_id) as ev:
            assert ev is scoped and evaluate_tasks(ev, Definition.preset("zendesk-ar"), task_ids=[task_id]).empty

    def test_a_duckdb_task_ingest_is_refused_and_changes_nothing(self, cluster_wh: Warehouse, tmp_path: Path) -> None:
        path = tmp_path / "t.csv"
        frame = cluster_wh.query_df("SELECT * EXCLUDE (month, reopen_gap_hours) FROM tasks LIMIT 2")
        frame.to_csv(path, index=False)
        before = cluster_wh.summary(), cluster_wh.scalar("SELECT count(*) FROM tasks")
        with pytest.raises(ConfigError, match="cluster mode"):
            ingest_files(cluster_wh, tasks=path)
        assert (cluster_wh.summary(), cluster_wh.scalar("SELECT count(*) FROM tasks")) == before

    def test_a_spark_ingest_must_stay_in_cluster_mode_on_its_dataset(self, cluster_wh: Warehouse, tmp_path: Path) -> None:
        path = tmp_path / "t.csv"
        path.write_text("task_id\n", encoding="utf-8")
        with pytest.raises(ConfigError, match="add --cluster"):
            ingest_on_spark(cluster_wh, path)  # refused before Spark starts
        with pytest.raises(ConfigError, match="give --parquet"):
            ingest_on_spark(cluster_wh, path, dataset=tmp_path / "elsewhere", cluster_mode=True)

    def test_what_needs_every_task_is_refused_not_guessed(self, cluster_wh: Warehouse, demo_wh: Warehouse) -> None:
        d = Definition.preset("zendesk-ar")
        with pytest.raises(ConfigError, match="cluster mode"):
            usage_by_dimension(cluster_wh, "channel")
        with pytest.raises(ConfigError, match="cluster mode"):
            outcomes_by_dimension(cluster_wh, d, "topic")
        keys = ["account_id", "month", "value"]
        pd.testing.assert_frame_equal(
            usage_by_dimension(cluster_wh, "model_tier").sort_values(keys, ignore_index=True),
            usage_by_dimension(demo_wh, "model_tier").sort_values(keys, ignore_index=True), check_dtype=False)

    def test_pages_that_need_every_task_say_so(self, cluster_wh: Warehouse, demo_wh: Warehouse) -> None:
        said = cluster.needs_tasks(cluster_wh, "The data quality report")
        assert said is not None and "cluster mode" in said and "The data quality report needs every task" in said
        assert cluster.needs_tasks(demo_wh, "The data quality report") is None


def test_a_dispute_on_a_task_not_held_is_read_from_parquet(demo_db_path: Path, demo_wh: Warehouse, tmp_path: Path) -> None:
    seed_dataset(demo_wh, tmp_path / "ds")
    shutil.copyfile(demo_db_path, tmp_path / "c.duckdb")
    with Warehouse.open(tmp_path / "c.duckdb") as wh:
        load.load(wh, spark.SparkBuild(tmp_path / "ds", (), 0, 0), "seeded", cluster_mode=True)
        task_id = str(wh.query_df(
            f"SELECT task_id FROM read_parquet(?) WHERE task_id NOT IN ({cluster.SIDE_TASK_IDS}) "
            "ORDER BY task_id LIMIT 1", [load.task_files(tmp_path / "ds")])["task_id"].iloc[0])
        path = tmp_path / "disputes.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["dispute_id", "task_id", "filed_at", "status"])
            out.writerow(["D-NEW", task_id, "2026-01-05 10:00:00", "open"])
        ingest_disputes(wh, path)
        assert wh.scalar("SELECT account_id FROM tasks WHERE task_id = ?", [task_id]) == \
            demo_wh.scalar("SELECT account_id FROM tasks WHERE task_id = ?", [task_id])


@pytest.mark.slow  # four pages under AppTest
def test_the_pages_render_and_those_needing_every_task_say_so(
    demo_db_path: Path, demo_wh: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outcome_pricing.warehouse import DB_ENV
    from tests.apptest import open_app

    seed_dataset(demo_wh, tmp_path / "ds")
    shutil.copyfile(demo_db_path, tmp_path / "c.duckdb")
    with Warehouse.open(tmp_path / "c.duckdb") as wh:
        load.load(wh, spark.SparkBuild(tmp_path / "ds", (), 0, 0), "seeded", cluster_mode=True)
    monkeypatch.setenv(DB_ENV, str(tmp_path / "c.duckdb"))
    for page, says in (("ai_impact.py", True), ("data.py", True), ("resolution_rules.py", True),
                       ("statements.py", False)):
        at = open_app(page, timeout=180)
        assert not at.error, (page, [e.value for e in at.error])
        told = [i.value for i in at.info if "cluster mode" in i.value]
        assert bool(told) == says, (page, told)
