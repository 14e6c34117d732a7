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
        with pytest.raises(ConfigError, match="cluster mode"):  # the rules' own scan: held tasks only
            outcomes_by_dimension(cluster_wh, d, "topic")
        keys = ["account_id", "month", "value"]
        for dim in ("model_tier", "channel", "topic"):  # model tier from the facts, the others from Parquet
            pd.testing.assert_frame_equal(
                usage_by_dimension(cluster_wh, dim).sort_values(keys, ignore_index=True),
                usage_by_dimension(demo_wh, dim).sort_values(keys, ignore_index=True), check_dtype=False)

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
    from tests.apptest import open_app, open_tab

    seed_dataset(demo_wh, tmp_path / "ds")
    shutil.copyfile(demo_db_path, tmp_path / "c.duckdb")
    with Warehouse.open(tmp_path / "c.duckdb") as wh:
        load.load(wh, spark.SparkBuild(tmp_path / "ds", (), 0, 0), "seeded", cluster_mode=True)
    monkeypatch.setenv(DB_ENV, str(tmp_path / "c.duckdb"))
    for page, says in (("ai_impact.py", True), ("data.py", True), ("resolution_rules.py", True),
                       ("statements.py", False)):
        at = open_app(page, timeout=180)
        tab = {"data.py": ("data.view", "Data quality"), "resolution_rules.py": ("rules.view", "Evidence")}.get(page)
        if tab is not None:  # said in the tab that needs the tasks (drawn when opened)
            at = open_tab(at, *tab)
        assert not at.error, (page, [e.value for e in at.error])
        told = [i.value for i in at.info if "cluster mode" in i.value]
        assert bool(told) == says, (page, told)


class TestReadsBeyondTheHeldTasks:
    """Reads that once saw only the held tasks (a few hundred of the demo's 20k): each must
    give the full warehouse's answer, and the held tasks alone must not (else the test
    could not fail)."""

    def test_the_overviews_first_and_last_close(self, cluster_wh: Warehouse, demo_wh: Warehouse) -> None:
        from outcome_pricing.reports.overview import latest_month

        span = "SELECT min(closed_at), max(closed_at) FROM tasks"
        assert cluster_wh.query_df(span).iloc[0].tolist() != demo_wh.query_df(span).iloc[0].tolist()
        assert cluster.closed_span(cluster_wh) == tuple(demo_wh.query_df(span).iloc[0].tolist())
        assert cluster.closed_span(demo_wh) is None
        assert latest_month(cluster_wh) == latest_month(demo_wh)

    @pytest.mark.slow  # two ROI measurements (bootstrap intervals), about 2 s
    def test_the_roi_cases_default_account_and_measured_effect(self, cluster_wh: Warehouse, demo_wh: Warehouse) -> None:
        from outcome_pricing.analysis.roi.estimation import (
            DEFAULT_ACCOUNT_SQL,
            CaseContext,
            default_account,
        )
        from outcome_pricing.analysis.roi.subjects import measure_account
        from outcome_pricing.proof import impact

        assert default_account(cluster_wh) == default_account(demo_wh)
        account = str(demo_wh.query_df(DEFAULT_ACCOUNT_SQL).iloc[0]["account_id"])
        held = impact.impact_summary(cluster_wh, account)  # the held tasks alone: not the account's
        assert held.human_minutes.n_ai != impact.impact_summary(demo_wh, account).human_minutes.n_ai
        plans = example_plans()
        ctx = CaseContext(plans, plans.default_proposed(), Definition.preset("zendesk-ar"))
        got, want = measure_account(cluster_wh, account, ctx), measure_account(demo_wh, account, ctx)
        assert got.assumptions == want.assumptions and got.notes == want.notes


@pytest.mark.slow  # invoices on two warehouses, about 1 s each
def test_billing_as_it_happened_rerates_the_late_tasks_from_parquet(
    cluster_wh: Warehouse, demo_wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    from outcome_pricing.pricing.invoices import invoices
    from outcome_pricing.rules.knowledge import billable_steps

    d, plans = Definition.preset("zendesk-ar"), example_plans()
    want_steps = billable_steps(demo_wh, d, 0)
    pd.testing.assert_frame_equal(billable_steps(cluster_wh, d, 0), want_steps)
    with monkeypatch.context() as m:  # the held tasks alone (as before): not the full answer
        m.setattr(cluster, "is_cluster", lambda wh: False)
        assert len(billable_steps(cluster_wh, d, 0)) < len(want_steps)
    for plan in ("per-outcome", None):
        got, want = invoices(cluster_wh, plans, d, plan=plan), invoices(demo_wh, plans, d, plan=plan)
        pd.testing.assert_frame_equal(got.frame, want.frame)
        pd.testing.assert_frame_equal(got.lines, want.lines)


def test_is_cluster_asks_the_catalog_once_per_generation(
    cluster_wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[int] = []
    real = cluster.recorded_build

    def counting(cur: object) -> object:
        asked.append(1)
        return real(cur)  # type: ignore[arg-type]

    monkeypatch.setattr(cluster, "recorded_build", counting)
    cluster._known.clear()
    for _ in range(3):
        assert cluster.is_cluster(cluster_wh) and cluster.dataset(cluster_wh) is not None
    assert len(asked) == 1
    with cluster_wh.transaction() as cur:  # a write: asked again (it could have left cluster mode)
        cur.execute("SELECT 1")
    assert cluster.is_cluster(cluster_wh) and len(asked) == 2


@pytest.mark.slow  # a backtest on two warehouses, about 1 s each
def test_charges_priced_by_channel_and_topic_read_every_parquet_task(cluster_wh: Warehouse, demo_wh: Warehouse) -> None:
    from decimal import Decimal as D

    from outcome_pricing.pricing.plans import PlanSet
    from outcome_pricing.pricing.terms import Charge, Dimension, Metric, Plan

    by = PlanSet((
        Plan("outcomes-by-channel", charges=(Charge(Metric.OUTCOMES, by=Dimension.CHANNEL,
                                                    prices=(("email", D("0.4")), ("default", D("0.25")))),)),
        Plan("outcomes-by-topic", charges=(Charge(Metric.OUTCOMES, by=Dimension.TOPIC,
                                                  prices=(("billing", D(2)), ("default", D(1)))),)),
        Plan("tasks-by-channel", charges=(Charge(Metric.TASKS, by=Dimension.CHANNEL,
                                                 prices=(("chat", D("0.05")), ("default", D("0.02")))),)),
    ), example_plans().costs)
    d = Definition.preset("strict")
    got, want = backtest(cluster_wh, by, d), backtest(demo_wh, by, d)
    pd.testing.assert_frame_equal(got.totals(), want.totals())
    assert (want.totals()["revenue"] > 0).all()
    pd.testing.assert_frame_equal(account_month_metrics(cluster_wh, d, by.costs, by.plans),
                                  account_month_metrics(demo_wh, d, by.costs, by.plans))
    # A scoped viewer's split sees only its accounts' Parquet rows.
    account = demo_wh.account_ids()[0]
    scoped = usage_by_dimension(cluster_wh.scoped([account]), "channel")
    assert set(scoped["account_id"]) == {account}


def test_a_later_side_file_reads_only_the_files_that_can_hold_its_tasks(
    cluster_wh: Warehouse, demo_wh: Warehouse
) -> None:
    import duckdb

    found = cluster.dataset(cluster_wh)
    assert found is not None
    files = load.task_files(found)
    not_held = demo_wh.query_df(
        f"SELECT task_id, strftime(month, '%Y-%m-%d') AS m FROM tasks WHERE task_id NOT IN ({cluster.SIDE_TASK_IDS}) "
        "ORDER BY hash(task_id) LIMIT 3")
    with duckdb.connect(":memory:") as con:
        con.execute("CREATE TABLE named AS SELECT unnest(?::VARCHAR[]) AS task_id", [list(not_held["task_id"])])
        picked = load.files_naming(con, files, "SELECT task_id FROM named")
        # The footers alone: a file is read only where its task_id range holds a named id.
        assert set(picked) <= set(files) and len(picked) <= len(not_held) < len(files)
        assert {f"month={m}" for m in not_held["m"]} == {Path(f).parent.name for f in picked}
        con.execute("CREATE TABLE tasks AS SELECT * FROM read_parquet(?, hive_partitioning = true) LIMIT 0", [files])
        load.hold_tasks(con, found, "SELECT task_id FROM named")
        assert sorted(r[0] for r in con.execute("SELECT task_id FROM tasks").fetchall()) == sorted(not_held["task_id"])
        assert load.files_naming(con, files, "SELECT 'NO-SUCH-TASK' AS task_id") == []
