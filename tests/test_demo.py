"""The demo generator: seeded, valid against the data contract, and telling the field's story."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from outcome_pricing import demo
from outcome_pricing.cli import cli
from outcome_pricing.demo import tasks as demo_tasks
from outcome_pricing.errors import ConfigError
from outcome_pricing.warehouse.handle import Warehouse
from outcome_pricing.warehouse.schema import ACCOUNT_COLUMNS, TASK_COLUMNS


def _build(tasks: int = 3_000, accounts: int = 8, months: int = 8, seed: int = 3) -> Warehouse:
    wh = Warehouse.in_memory()
    demo.build_demo(wh, tasks=tasks, accounts=accounts, months=months, seed=seed)
    return wh


def _tasks(wh: Warehouse) -> pd.DataFrame:
    return wh.query_df("SELECT * FROM tasks ORDER BY task_id")


@pytest.fixture(scope="module")
def story_wh() -> Iterator[Warehouse]:
    """Big enough for the statistics to be stable, small enough to build in about a second."""
    wh = _build(tasks=80_000, accounts=40, months=18, seed=11)
    yield wh
    wh.close()


class TestDeterminism:
    def test_same_seed_gives_identical_tasks_and_accounts(self) -> None:
        first, second = _build(seed=5), _build(seed=5)
        pd.testing.assert_frame_equal(_tasks(first), _tasks(second))
        pd.testing.assert_frame_equal(
            first.query_df("SELECT * FROM accounts ORDER BY account_id"),
            second.query_df("SELECT * FROM accounts ORDER BY account_id"),
        )

    def test_different_seed_gives_different_tasks(self) -> None:
        a, b = _tasks(_build(seed=5)), _tasks(_build(seed=6))
        assert not a["created_at"].equals(b["created_at"])
        assert not a["topic"].equals(b["topic"])

    def test_many_chunks_give_exact_count_unique_ids_and_the_same_rows(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(demo_tasks, "CHUNK_TASKS", 1_000)
        first, second = _tasks(_build(tasks=3_500)), _tasks(_build(tasks=3_500))
        assert len(first) == 3_500
        assert first["task_id"].is_unique
        assert demo.chunk_sizes(3_500) == [1_000, 1_000, 1_000, 500]
        pd.testing.assert_frame_equal(first, second)  # chunks generated ahead on a thread

    def test_window_ends_at_the_fixed_end_month_not_today(self) -> None:
        wh = _build(months=6)
        summary = wh.summary()
        assert (summary["first_month"], summary["last_month"]) == ("2026-05", "2026-10")
        assert summary["months"] == 6


class TestContract:
    def test_columns_and_types_are_the_contract(self, demo_wh: Warehouse) -> None:
        for table, columns in (("tasks", TASK_COLUMNS), ("accounts", ACCOUNT_COLUMNS)):
            described = demo_wh.query_df(f"DESCRIBE {table}").set_index("column_name")["column_type"]
            for col in columns:
                assert described[col.name] == col.sql_type, (table, col.name)

    def test_required_columns_are_never_empty(self, demo_wh: Warehouse) -> None:
        for col in TASK_COLUMNS:
            if col.required:
                nulls = demo_wh.scalar(f"SELECT count(*) FROM tasks WHERE {col.name} IS NULL")
                assert nulls == 0, col.name

    def test_values_respect_every_rule(self, demo_wh: Warehouse) -> None:
        broken = demo_wh.scalar(
            """
            SELECT count(*) FROM tasks
            WHERE closed_at < created_at
               OR n_issues < 1 OR n_issues_resolved < 0 OR n_issues_resolved > n_issues
               OR csat NOT BETWEEN 1 AND 5
               OR tokens_in < 0 OR tokens_out < 0 OR human_seconds < 0 OR ai_seconds < 0
               OR quiet_hours < 0
               OR channel NOT IN ('chat', 'email', 'voice')
               OR model_tier NOT IN ('standard', 'advanced')
            """
        )
        assert broken == 0

    def test_task_ids_are_unique_and_all_accounts_described(self, demo_wh: Warehouse) -> None:
        row = demo_wh.query_df(
            """
            SELECT count(*) AS n, count(DISTINCT task_id) AS ids,
                   count(DISTINCT account_id) FILTER (
                       WHERE account_id NOT IN (SELECT account_id FROM accounts)) AS undescribed
            FROM tasks
            """
        ).iloc[0]
        assert row["n"] == row["ids"] == 20_000
        assert row["undescribed"] == 0

    def test_ai_is_live_from_go_live_on_chat_and_never_before(self, demo_wh: Warehouse) -> None:
        wrong = demo_wh.scalar(
            """
            SELECT count(*) FROM tasks t JOIN accounts a USING (account_id)
            WHERE (t.ai_enabled AND NOT (a.ai_go_live IS NOT NULL AND t.created_at >= a.ai_go_live))
               OR (t.channel = 'chat'
                   AND t.ai_enabled <> (a.ai_go_live IS NOT NULL AND t.created_at >= a.ai_go_live))
               OR (NOT t.ai_enabled AND (t.ai_answered OR t.handoff OR t.tokens_in > 0
                                         OR t.model_tier IS NOT NULL OR t.verified IS NOT NULL))
               OR (t.context_retained IS NOT NULL AND NOT t.handoff)
               OR (t.quiet_hours IS NOT NULL AND t.handoff)
               OR (t.missed_issue IS NOT NULL AND NOT t.qa_audited)
            """
        )
        assert wrong == 0

    def test_timestamps_are_whole_seconds_inside_the_window(self, demo_wh: Warehouse) -> None:
        row = demo_wh.query_df(
            """
            SELECT min(created_at) AS first, max(closed_at) AS last,
                   count(*) FILTER (WHERE microsecond(created_at) % 1000000 <> 0
                                       OR microsecond(closed_at) % 1000000 <> 0) AS fractional
            FROM tasks
            """
        ).iloc[0]
        assert row["first"] >= pd.Timestamp("2026-03-01")
        assert row["last"] < pd.Timestamp("2026-11-01")
        assert row["fractional"] == 0

    @pytest.mark.slow
    @settings(max_examples=25, deadline=None)
    @given(
        tasks=st.integers(1, 400),
        accounts=st.integers(1, 6),
        months=st.integers(1, 14),
        seed=st.integers(0, 2**32 - 1),
    )
    def test_any_small_size_builds_exactly_that_many_valid_tasks(
        self, tasks: int, accounts: int, months: int, seed: int
    ) -> None:
        with _build(tasks, accounts, months, seed) as wh:
            row = wh.query_df(
                """
                SELECT count(*) AS n, count(DISTINCT task_id) AS ids, count(DISTINCT month) AS months,
                       count(*) FILTER (WHERE closed_at < created_at
                                           OR n_issues_resolved > n_issues) AS broken
                FROM tasks
                """
            ).iloc[0]
            assert row["n"] == row["ids"] == tasks
            assert row["months"] <= months
            assert row["broken"] == 0
            assert wh.scalar("SELECT count(*) FROM accounts") == accounts

    @pytest.mark.parametrize("option", ["tasks", "accounts", "months"])
    def test_sizes_below_one_are_refused(self, option: str, fresh_wh: Warehouse) -> None:
        with pytest.raises(ConfigError, match=f"--{option}"):
            demo.build_demo(fresh_wh, **{option: 0})
        assert fresh_wh.is_empty()


class TestReplace:
    def test_second_build_replaces_the_first(self, fresh_wh: Warehouse) -> None:
        demo.build_demo(fresh_wh, tasks=2_000, accounts=5, months=6, seed=1)
        demo.build_demo(fresh_wh, tasks=1_000, accounts=3, months=4, seed=2)
        assert fresh_wh.summary()["tasks"] == 1_000
        assert fresh_wh.scalar("SELECT count(*) FROM accounts") == 3
        log = fresh_wh.ingest_log()
        log = log[log["kind"] == "demo"].reset_index(drop=True)  # the demo also logs its audits file
        assert list(log["kind"]) == ["demo", "demo"]
        assert "seed=2" in log["source"].iloc[0]

    def test_progress_reports_rising_fractions_up_to_one(self, fresh_wh: Warehouse) -> None:
        seen: list[float] = []
        demo.build_demo(fresh_wh, tasks=1_000, accounts=3, months=4, progress=lambda f, m: seen.append(f))
        assert seen == sorted(seen)
        assert seen[-1] == 1.0


class TestStory:
    def test_a_few_accounts_carry_most_of_the_volume(self, story_wh: Warehouse) -> None:
        sizes = story_wh.query_df("SELECT count(*) AS n FROM tasks GROUP BY account_id ORDER BY n DESC")["n"]
        top_fifth = sizes.iloc[: len(sizes) // 5].sum() / sizes.sum()
        assert top_fifth > 0.5

    def test_segments_follow_size_and_price(self, story_wh: Warehouse) -> None:
        seg = story_wh.query_df(
            """
            SELECT segment, avg(n) AS tasks, avg(seat_price) AS price
            FROM accounts JOIN (SELECT account_id, count(*) AS n FROM tasks GROUP BY 1) USING (account_id)
            GROUP BY segment
            """
        ).set_index("segment")
        assert seg.loc["enterprise", "tasks"] > seg.loc["mid-market", "tasks"] > seg.loc["SMB", "tasks"]
        assert seg.loc["enterprise", "price"] > seg.loc["SMB", "price"]

    def test_go_lives_are_staggered_with_baseline_months_first(self, story_wh: Warehouse) -> None:
        go = story_wh.query_df("SELECT ai_go_live FROM accounts")["ai_go_live"]
        live = pd.to_datetime(go.dropna())
        assert live.dt.to_period("M").nunique() >= 5
        assert live.min() >= pd.Timestamp("2025-08-01")  # at least 3 human-only months
        share = story_wh.query_df("SELECT avg(ai_enabled::INT) AS s FROM tasks GROUP BY month ORDER BY month")["s"]
        assert share.iloc[0] == 0
        assert share.iloc[-1] > 0.6
        assert np.corrcoef(np.arange(len(share)), share)[0, 1] > 0.9

    def test_ai_reaches_email_and_voice_after_chat(self, story_wh: Warehouse) -> None:
        share = story_wh.query_df(
            """
            SELECT t.channel, least(date_diff('month', a.ai_go_live, t.created_at), 12) AS months_live,
                   avg(t.ai_enabled::INT) AS ai
            FROM tasks t JOIN accounts a USING (account_id)
            WHERE t.created_at >= a.ai_go_live GROUP BY ALL
            """
        ).set_index(["channel", "months_live"])["ai"]
        assert share["chat"].min() == 1.0
        assert share[("email", 0)] < share[("email", 4)] == 1.0
        assert share[("voice", 1)] < share[("voice", 12)] < 1.0  # some accounts keep voice human

    def test_human_minutes_per_task_fall_while_per_human_handled_task_rise(
        self, story_wh: Warehouse
    ) -> None:
        m = story_wh.query_df(
            """
            SELECT ai_enabled,
                   sum(human_seconds) / count(*) AS per_task,
                   sum(human_seconds) / count(*) FILTER (WHERE human_seconds > 0) AS per_handled
            FROM tasks
            WHERE account_id IN (SELECT account_id FROM accounts WHERE ai_go_live IS NOT NULL)
            GROUP BY ai_enabled
            """
        ).set_index("ai_enabled")
        assert m.loc[True, "per_task"] < 0.8 * m.loc[False, "per_task"]
        assert m.loc[True, "per_handled"] > 1.1 * m.loc[False, "per_handled"]

    def test_resolution_climbs_a_learning_curve_toward_a_ceiling(self, story_wh: Warehouse) -> None:
        curve = story_wh.query_df(
            """
            SELECT least(date_diff('month', a.ai_go_live, t.created_at), 9) AS months_live,
                   avg((NOT t.handoff AND t.verified)::INT) AS resolved
            FROM tasks t JOIN accounts a USING (account_id)
            WHERE t.ai_enabled GROUP BY 1 ORDER BY 1
            """
        ).set_index("months_live")["resolved"]
        assert curve.loc[0] + 0.1 < curve.loc[9]
        assert 0.4 < curve.loc[9] < 0.8

    def test_the_ai_takes_the_easy_topics(self, story_wh: Warehouse) -> None:
        contained = story_wh.query_df(
            """
            SELECT topic, avg((NOT handoff)::INT) AS kept FROM tasks WHERE ai_enabled GROUP BY topic
            """
        ).set_index("topic")["kept"]
        assert contained["password_reset"] > contained["technical_issue"] + 0.2
        assert contained["order_status"] > contained["billing_dispute"] + 0.2

    def test_reopens_exist_and_follow_wrong_answers(self, story_wh: Warehouse) -> None:
        r = story_wh.query_df(
            """
            SELECT avg((reopen_gap_hours BETWEEN 0 AND 72)::INT) AS any_task,
                   avg((reopen_gap_hours BETWEEN 0 AND 72)::INT) FILTER (WHERE ai_error_corrected) AS after_error,
                   avg((reopen_gap_hours BETWEEN 0 AND 72)::INT) FILTER (
                       WHERE ai_enabled AND NOT ai_error_corrected AND verified) AS after_verified
            FROM tasks
            """
        ).iloc[0]
        assert r["any_task"] > 0.02
        assert r["after_error"] > 2 * r["after_verified"]

    def test_assumed_resolutions_mix_long_and_short_silences(self, story_wh: Warehouse) -> None:
        q = story_wh.query_df(
            """
            SELECT avg((quiet_hours >= 24)::INT) AS long, avg((quiet_hours < 6)::INT) AS short,
                   avg(customer_confirmed::INT) FILTER (WHERE ai_enabled AND NOT handoff) AS confirmed
            FROM tasks WHERE quiet_hours IS NOT NULL
            """
        ).iloc[0]
        assert q["long"] > 0.4
        assert q["short"] > 0.1
        assert 0.1 < q["confirmed"] < 0.6

    def test_csat_and_qa_cover_a_minority(self, story_wh: Warehouse) -> None:
        r = story_wh.query_df(
            """
            SELECT avg((csat IS NOT NULL)::INT) AS csat, avg(qa_audited::INT) AS qa,
                   avg(missed_issue::INT) FILTER (WHERE NOT ai_enabled) AS missed_baseline,
                   avg((n_issues = 1)::INT) AS single_issue
            FROM tasks
            """
        ).iloc[0]
        assert 0.12 < r["csat"] < 0.28
        assert 0.05 <= r["qa"] <= 0.10
        assert 0.02 < r["missed_baseline"] < 0.2
        assert r["single_issue"] > 0.7

    def test_harder_topics_use_more_tokens_and_the_advanced_tier(self, story_wh: Warehouse) -> None:
        t = story_wh.query_df(
            """
            SELECT topic, avg(tokens_in) AS tokens, avg((model_tier = 'advanced')::INT) AS advanced
            FROM tasks WHERE ai_answered GROUP BY topic
            """
        ).set_index("topic")
        assert t.loc["billing_dispute", "tokens"] > 2 * t.loc["password_reset", "tokens"]
        assert t.loc["billing_dispute", "advanced"] > t.loc["password_reset", "advanced"] + 0.2

    def test_seats_match_the_baseline_human_workload(self, story_wh: Warehouse) -> None:
        s = story_wh.query_df(
            """
            WITH monthly AS (
                SELECT account_id, month, sum(human_seconds) / 3600 AS hours
                FROM tasks GROUP BY ALL HAVING NOT bool_or(ai_enabled))
            SELECT a.seats * 120 AS seat_hours, avg(m.hours) AS hours
            FROM accounts a JOIN monthly m USING (account_id)
            GROUP BY a.account_id, a.seats
            """
        )
        assert len(s) >= 30
        # 120 h per seat per month, up to 25% headroom, rounded up to whole seats.
        assert (s["seat_hours"] >= s["hours"]).all()
        assert (s["seat_hours"] <= 1.25 * s["hours"] + 120).all()


class TestPortfolioSize:
    """Seats follow the workload (one per 120 h of human handling a month), so the number of
    accounts follows the volume: 150 accounts sharing 300,000 tasks would each need a fraction
    of a seat, and 135 of them had exactly one (issue 14)."""

    @pytest.mark.parametrize(("tasks", "accounts"), [(20_000, 8), (300_000, 15), (1_000_000, 50), (10**7, 150)])
    def test_the_default_number_of_accounts_follows_the_volume(self, tasks: int, accounts: int) -> None:
        assert demo.default_accounts(tasks) == accounts

    @pytest.mark.slow
    def test_the_default_demo_has_fewer_than_half_its_accounts_on_one_seat(self) -> None:
        wh = Warehouse.in_memory()
        demo.build_demo(wh)  # the app's first start: 300,000 tasks
        seats = wh.query_df("SELECT segment, seats FROM accounts")
        assert len(seats) == demo.default_accounts(300_000)
        assert (seats["seats"] == 1).mean() < 0.5
        median = seats.groupby("segment")["seats"].median()
        assert median["SMB"] < median["mid-market"] < median["enterprise"]
        wh.close()


class TestCommand:
    def test_demo_command_replaces_the_data_and_prints_a_summary(self, tmp_path: Path) -> None:
        db = tmp_path / "wh.duckdb"
        runner = CliRunner()
        args = ["--db", str(db), "demo", "--accounts", "4", "--months", "5", "--seed", "2"]
        first = runner.invoke(cli, [*args, "--tasks", "3000"])
        second = runner.invoke(cli, [*args, "--tasks", "2000"])
        assert first.exit_code == 0, first.output
        assert second.exit_code == 0, second.output
        assert "2,000 tasks, 4 accounts, 5 months (2026-06 to 2026-10)" in second.stdout
        with Warehouse.open(db, read_only=True) as wh:
            assert wh.summary()["tasks"] == 2_000

    def test_help_says_the_data_is_replaced(self) -> None:
        result = CliRunner().invoke(cli, ["demo", "--help"])
        assert "REPLACES all tasks and accounts" in result.output
