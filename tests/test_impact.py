"""The AI impact engine against known answers: synthetic logs with a known effect,
a plain-Python reference for every SQL aggregate, degenerate inputs, and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from outcome_pricing.cli import cli
from outcome_pricing.errors import OutcomePricingError, UnknownAccountError
from outcome_pricing.proof import impact, stats
from outcome_pricing.warehouse.handle import Warehouse
from outcome_pricing.warehouse.schema import ACCOUNT_COLUMNS, TASK_COLUMN_NAMES, TASK_COLUMNS

TOPIC_MINUTES = {"password_reset": 4.0, "billing": 10.0, "technical": 20.0}
START = dt.datetime(2025, 1, 1)


# ----------------------------------------------------------------------------- synthetic logs
def make_tasks(
    n: int,
    *,
    seed: int,
    minutes_saved: float = 0.0,
    ai_share: float = 0.5,
    ai_easy_share: float | None = None,
    missed: tuple[float, float] = (0.10, 0.10),
    accounts: tuple[str, ...] = ("A1",),
    go_live: dt.datetime | None = None,
    requesters: int | None = None,
    days: int = 180,
    missing_minutes: float = 0.0,
) -> pd.DataFrame:
    """Task logs with a known effect: the AI saves `minutes_saved` human minutes on every topic.

    `ai_easy_share` (share of AI tasks on password_reset) makes the AI take the easy work;
    `missed` = (baseline, AI) missed-issue probabilities among audited tasks; with `go_live`
    the AI is live for tasks created from that moment (else at random with `ai_share`).
    """
    rng = np.random.default_rng(seed)
    created = START + pd.to_timedelta(rng.uniform(0, days * 24, n), unit="h")
    is_ai = (created >= go_live) if go_live is not None else (rng.random(n) < ai_share)
    topics = np.array(list(TOPIC_MINUTES))
    topic = topics[rng.integers(0, 3, n)]
    if ai_easy_share is not None:
        easy = rng.random(n) < ai_easy_share
        topic = np.where(is_ai & easy, "password_reset", np.where(is_ai, topics[1 + rng.integers(0, 2, n)], topic))
    mean = np.array([TOPIC_MINUTES[t] for t in topic]) - np.where(is_ai, minutes_saved, 0.0)
    minutes = rng.exponential(mean)
    handoff = is_ai & (rng.random(n) < 0.3)
    human_seconds = np.round(minutes * 60.0)
    human_seconds[rng.random(n) < missing_minutes] = np.nan
    audited = rng.random(n) < 0.5
    missed_issue = audited & (rng.random(n) < np.where(is_ai, missed[1], missed[0]))
    csat = pd.array(np.where(rng.random(n) < 0.4, rng.integers(1, 6, n), -1), dtype="Int64")
    csat[csat == -1] = pd.NA
    return pd.DataFrame(
        {
            "task_id": [f"T{seed}-{i:06d}" for i in range(n)],
            "account_id": np.array(accounts)[rng.integers(0, len(accounts), n)],
            "requester_id": [f"R{r}" for r in rng.integers(0, requesters or 10 * n, n)],
            "topic": topic,
            "channel": "chat",
            "created_at": created,
            "closed_at": created + pd.to_timedelta(rng.exponential(2.0, n) * 3600 + minutes * 60, unit="s"),
            "ai_enabled": is_ai,
            "ai_answered": is_ai,
            "handoff": handoff,
            "human_seconds": human_seconds,
            "qa_audited": audited,
            "missed_issue": np.where(audited, missed_issue, None),
            "csat": csat,
            "ai_seconds": np.where(is_ai, 30.0, 0.0),
        }
    )


def load(wh: Warehouse, tasks: pd.DataFrame, accounts: pd.DataFrame | None = None) -> Warehouse:
    """Ingest a frame the way files land: typed staging tables, one apply_staged transaction."""
    frame = tasks.reindex(columns=list(TASK_COLUMN_NAMES))
    with wh.transaction() as cur:
        cur.register("frame_tasks", frame)
        typed = ", ".join(f"CAST({c.name} AS {c.sql_type}) AS {c.name}" for c in TASK_COLUMNS)
        cur.execute(f"CREATE OR REPLACE TEMP TABLE staged_tasks AS SELECT {typed} FROM frame_tasks")
        staged_accounts = None
        if accounts is not None:
            cur.register("frame_accounts", accounts.reindex(columns=[c.name for c in ACCOUNT_COLUMNS]))
            typed = ", ".join(f"CAST({c.name} AS {c.sql_type}) AS {c.name}" for c in ACCOUNT_COLUMNS)
            cur.execute(f"CREATE OR REPLACE TEMP TABLE staged_accounts AS SELECT {typed} FROM frame_accounts")
            staged_accounts = "staged_accounts"
        wh.apply_staged(cur, tasks="staged_tasks", accounts=staged_accounts, source="test", sha256=None, kind="test")
    return wh


@pytest.fixture
def wh():
    with Warehouse.in_memory() as w:
        yield w


# ----------------------------------------------------------------------------- the reference
def reference_rows(tasks: pd.DataFrame, window: float = 72.0) -> list[dict[str, Any]]:
    """Plain Python: each task with `reopened` (gap <= window) and `observed` (its whole
    window lies before its account's last created_at), read from the rows."""
    rows = [dict(r) for r in tasks.astype(object).where(tasks.notna(), None).to_dict("records")]
    end: dict[str, Any] = {}
    for r in rows:
        end[r["account_id"]] = max(end.get(r["account_id"], r["created_at"]), r["created_at"])
    for r in rows:
        r["observed"] = (end[r["account_id"]] - r["closed_at"]).total_seconds() / 3600 >= window
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["account_id"], r["requester_id"], r["topic"])].append(r)
    for members in groups.values():
        members.sort(key=lambda r: (r["created_at"], r["task_id"]))
        for this, nxt in zip(members, [*members[1:], None], strict=True):
            gap = None if nxt is None else (nxt["created_at"] - this["closed_at"]).total_seconds() / 3600
            this["reopened"] = gap is not None and gap <= window
    return rows


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def reference_arm(rows: list[dict[str, Any]], ai: bool) -> dict[str, Any]:
    arm = [r for r in rows if bool(r["ai_enabled"]) == ai]
    timed = [r for r in arm if r["human_seconds"] is not None]
    handled = [r for r in timed if not r["ai_enabled"] or r["handoff"] or r["human_seconds"] > 0]
    audited = [r for r in arm if r["qa_audited"]]
    scored = [r["csat"] for r in arm if r["csat"] is not None]
    return {
        "tasks": len(arm),
        "human_minutes": _mean([r["human_seconds"] / 60 for r in timed]),
        "n_timed": len(timed),
        "human_minutes_per_handled_task": _mean([r["human_seconds"] / 60 for r in handled]),
        "n_handled": len(handled),
        "resolution_hours": _mean([(r["closed_at"] - r["created_at"]).total_seconds() / 3600 for r in arm]),
        "missed_issue_rate": _mean([1.0 if r["missed_issue"] else 0.0 for r in audited]),
        "n_audited": len(audited),
        "reopen_rate": _mean([1.0 if r["reopened"] else 0.0 for r in arm if r["observed"]]),
        "handoff_rate": _mean([1.0 if r["handoff"] else 0.0 for r in arm]),
        "csat": _mean([float(c) for c in scored]),
        "n_scored": len(scored),
    }


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or math.isnan(a)) and b is None
    return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-6)


# ----------------------------------------------------------------------------- tests
class TestKnownEffect:
    def test_interval_covers_the_minutes_the_ai_saves(self, wh):
        load(wh, make_tasks(6000, seed=1, minutes_saved=2.0))
        s = impact.impact_summary(wh, seed=5)
        assert s.human_minutes.ci_low <= -2.0 <= s.human_minutes.ci_high
        assert s.human_minutes_mix_adjusted.ci_low <= -2.0 <= s.human_minutes_mix_adjusted.ci_high
        assert s.human_minutes.p_value < 0.001
        assert s.human_minutes.n_baseline + s.human_minutes.n_ai == 6000

    def test_mix_adjustment_separates_easier_work_from_faster_work(self, wh):
        load(wh, make_tasks(8000, seed=2, minutes_saved=1.0, ai_easy_share=0.8))
        s = impact.impact_summary(wh, seed=5)
        adj = s.human_minutes_mix_adjusted
        assert adj.ci_low <= -1.0 <= adj.ci_high
        assert s.human_minutes.ci_high < -3.0  # pooled: mostly the AI taking the easy topic
        mix = impact.impact_by(wh, "topic").set_index("topic")
        assert mix.loc["password_reset", "share_ai"] > 0.75 > mix.loc["password_reset", "share_baseline"]

    def test_missed_issue_rate_interval_covers_the_known_change(self, wh):
        load(wh, make_tasks(8000, seed=3, missed=(0.12, 0.06)))
        s = impact.impact_summary(wh)
        c = s.missed_issue_rate
        assert c.ci_low <= -0.06 <= c.ci_high and c.ci_high < 0
        assert c.n_baseline + c.n_ai == int(wh.scalar("SELECT count(*) FROM tasks WHERE qa_audited"))
        assert c.test == "chi-square"

    def test_no_effect_gives_no_alarm_on_this_seed(self, wh):
        load(wh, make_tasks(3000, seed=4))
        s = impact.impact_summary(wh)
        assert s.human_minutes_mix_adjusted.ci_low <= 0 <= s.human_minutes_mix_adjusted.ci_high
        assert not s.missed_issue_rate.significant

    def test_row_order_does_not_change_the_figures(self):
        tasks = make_tasks(1500, seed=16, minutes_saved=1.0)
        with Warehouse.in_memory() as one, Warehouse.in_memory() as two:
            a = impact.impact_summary(load(one, tasks)).human_minutes_mix_adjusted
            b = impact.impact_summary(load(two, tasks.sample(frac=1.0, random_state=3))).human_minutes_mix_adjusted
        assert (a.diff, a.ci_low, a.ci_high, a.p_value) == pytest.approx((b.diff, b.ci_low, b.ci_high, b.p_value))

    def test_same_seed_same_summary(self, wh):
        load(wh, make_tasks(2000, seed=6, minutes_saved=1.0))
        assert impact.impact_summary(wh, seed=3) == impact.impact_summary(wh, seed=3)


class TestAgreesWithPlainPython:
    @pytest.mark.slow
    @given(seed=st.integers(0, 10_000), n=st.integers(5, 120), requesters=st.integers(2, 30))
    @settings(max_examples=30, deadline=None)
    def test_summary_and_breakdowns_match_the_reference(self, seed, n, requesters):
        tasks = make_tasks(n, seed=seed, requesters=requesters, days=20, missing_minutes=0.1,
                           accounts=("A1", "A2"))
        with Warehouse.in_memory() as w:
            load(w, tasks)
            rows = reference_rows(tasks)
            s = impact.impact_summary(w, resamples=50)
            by_topic = impact.impact_by(w, "topic").set_index("topic")
            for ai, suffix in ((False, "baseline"), (True, "ai")):
                ref = reference_arm(rows, ai)
                assert _close(getattr(s.human_minutes, suffix), ref["human_minutes"])
                assert getattr(s.human_minutes, f"n_{suffix}") == ref["n_timed"]
                assert _close(getattr(s.human_minutes_per_handled_task, suffix), ref["human_minutes_per_handled_task"])
                assert getattr(s.human_minutes_per_handled_task, f"n_{suffix}") == ref["n_handled"]
                assert _close(getattr(s.resolution_hours, suffix), ref["resolution_hours"])
                assert _close(getattr(s.missed_issue_rate, suffix), ref["missed_issue_rate"])
                assert getattr(s.missed_issue_rate, f"n_{suffix}") == ref["n_audited"]
                assert _close(getattr(s.reopen_rate, suffix), ref["reopen_rate"])
                assert _close(getattr(s.csat, suffix), ref["csat"])
                for topic, part in by_topic.iterrows():
                    tref = reference_arm([r for r in rows if r["topic"] == topic], ai)
                    assert part[f"tasks_{suffix}"] == tref["tasks"]
                    for key in ("human_minutes", "resolution_hours", "missed_issue_rate", "reopen_rate", "csat"):
                        got = part[f"{key}_{suffix}"]
                        assert _close(None if pd.isna(got) else float(got), tref[key]), (topic, key, suffix)
            assert _close(s.handoff_rate.ai, reference_arm(rows, True)["handoff_rate"])

    def _pair(self, wh, first: tuple[float, float], second: tuple[float, float]) -> None:
        """Two tasks of one requester on one topic (created, closed in hours from START), and a
        task of someone else 30 days later so both reopen windows are over inside the logs."""
        tasks = make_tasks(3, seed=1, requesters=1)
        tasks["requester_id"] = ["R1", "R1", "R2"]
        tasks["topic"] = "billing"
        tasks["ai_enabled"] = True
        hours = [first, second, (720.0, 721.0)]
        tasks["created_at"] = [START + dt.timedelta(hours=c) for c, _ in hours]
        tasks["closed_at"] = [START + dt.timedelta(hours=c) for _, c in hours]
        load(wh, tasks)

    def test_negative_gaps_count_as_reopens_as_in_the_resolution_rules(self, wh):
        self._pair(wh, (0.0, 2.0), (0.5, 3.0))
        assert wh.scalar("SELECT min(reopen_gap_hours) FROM tasks") < 0
        c = impact.impact_summary(wh).reopen_rate
        assert (c.events_ai, c.n_ai) == (1, 2)  # the last task's window is not over: left out

    def test_reopen_window_is_a_parameter(self, wh):
        self._pair(wh, (0.0, 1.0), (100.0, 101.0))
        events = lambda w: impact.impact_summary(wh, reopen_window_hours=w).reopen_rate.events_ai  # noqa: E731
        assert events(72) == 0 and events(120) == 1

    def test_tasks_whose_window_is_still_open_are_left_out(self, wh):
        self._pair(wh, (0.0, 1.0), (700.0, 701.0))
        c = impact.impact_summary(wh).reopen_rate  # 720 - 701 = 19 h < 72 h: the second is out
        assert c.n_ai == 1


class TestTrendAroundGoLive:
    def test_months_are_counted_from_each_accounts_go_live(self, wh):
        a1 = make_tasks(1500, seed=7, accounts=("A1",), go_live=dt.datetime(2025, 3, 10), minutes_saved=2.0)
        a2 = make_tasks(1500, seed=8, accounts=("A2",), go_live=dt.datetime(2025, 5, 1), minutes_saved=2.0)
        accounts = pd.DataFrame({"account_id": ["A1"], "ai_go_live": [dt.date(2025, 3, 10)]})
        load(wh, pd.concat([a1, a2]), accounts)
        live = impact.go_live_months(wh).set_index("account_id")
        assert str(live.loc["A1", "go_live_month"])[:10] == "2025-03-01"
        assert live.loc["A1", "source"] == "accounts.ai_go_live"
        assert str(live.loc["A2", "go_live_month"])[:10] == "2025-05-01"  # first month with an AI task
        assert live.loc["A2", "source"] == "first month with an AI task"
        trend = impact.trend_by_go_live(wh).set_index("months_from_go_live")
        # Reference: each task's month minus its account's go-live month.
        both = pd.concat([a1, a2])
        month = both["closed_at"].dt.year * 12 + both["closed_at"].dt.month
        gl = both["account_id"].map({"A1": 2025 * 12 + 3, "A2": 2025 * 12 + 5})
        expected = (month - gl).value_counts().sort_index()
        assert trend["tasks"].to_dict() == expected.to_dict()
        assert trend.loc[-1, "ai_share"] == 0.0 and trend.loc[1, "ai_share"] == 1.0
        assert trend.loc[2, "human_minutes"] < trend.loc[-2, "human_minutes"]

    def test_accounts_that_never_went_live_are_left_out(self, wh):
        load(wh, make_tasks(100, seed=9, ai_share=0.0))
        assert impact.trend_by_go_live(wh).empty


class TestDegenerateInputs:
    def test_no_ai_tasks_gives_warnings_not_errors(self, wh):
        load(wh, make_tasks(200, seed=10, ai_share=0.0))
        s = impact.impact_summary(wh)
        assert s.human_minutes.diff is None and "No AI tasks" in s.human_minutes.warning
        assert "No AI tasks" in s.handoff_rate.warning
        payload = json.dumps(s.to_dict(), allow_nan=False)  # no NaN anywhere
        assert "no comparison" in json.loads(payload)["summary"]

    def test_empty_warehouse_gives_warnings_not_errors(self, wh):
        s = impact.impact_summary(wh)
        assert s.tasks == 0 and all(c.warning for c in s.comparisons.values())
        json.dumps(s.to_dict(), allow_nan=False)

    def test_small_sample_warns(self, wh):
        load(wh, make_tasks(40, seed=11))
        s = impact.impact_summary(wh)
        assert "fewer than 30" in s.human_minutes.warning
        assert any(w.startswith("Human minutes per task:") for w in s.warnings)

    def test_unknown_account_names_it_and_some_known_ones(self, wh):
        load(wh, make_tasks(50, seed=12, accounts=("ACME", "GLOBEX")))
        with pytest.raises(UnknownAccountError, match="'NOPE'.*ACME, GLOBEX"):
            impact.impact_summary(wh, "NOPE")

    def test_one_account_is_compared_on_its_own_tasks(self, wh):
        load(wh, make_tasks(400, seed=13, accounts=("ACME", "GLOBEX")))
        s = impact.impact_summary(wh, "ACME")
        n = wh.scalar("SELECT count(*) FROM tasks WHERE account_id = 'ACME'")
        assert s.account_id == "ACME" and s.tasks == n

    def test_unknown_grouping_or_metric_is_refused(self, wh):
        with pytest.raises(OutcomePricingError, match="topic, account_id"):
            impact.impact_by(wh, "requester_id")  # type: ignore[arg-type]
        with pytest.raises(OutcomePricingError, match="human_minutes"):
            impact.distribution_sample(wh, "tokens_in")


class TestDistributionSample:
    def test_seeded_subsample_of_each_arm(self, wh):
        tasks = make_tasks(600, seed=14)
        load(wh, tasks)
        one = impact.distribution_sample(wh, per_arm=100, seed=1)
        assert one.groupby("arm").size().to_dict() == {"AI": 100, "baseline": 100}
        assert one.equals(impact.distribution_sample(wh, per_arm=100, seed=1))
        assert not one.equals(impact.distribution_sample(wh, per_arm=100, seed=2))
        ai_minutes = set(np.round(tasks.loc[tasks["ai_enabled"], "human_seconds"] / 60, 6))
        assert set(np.round(one.loc[one["arm"] == "AI", "value"], 6)) <= ai_minutes


class TestPlainLanguage:
    def test_sentence_names_the_change_interval_sizes_and_p(self, wh):
        load(wh, make_tasks(3000, seed=15, minutes_saved=3.0))
        s = impact.impact_summary(wh)
        text = impact.plain_language(s)
        c = s.human_minutes
        assert text.startswith(
            f"Human minutes per task fell by {abs(c.diff):.1f} (95% CI {-c.ci_high:.1f} to {-c.ci_low:.1f})"
        )
        assert f"n = {c.n_baseline:,} baseline and {c.n_ai:,} AI tasks; p < 0.001." in text

    def test_inconclusive_change_is_said_so(self):
        c = stats.compare_rates(10, 100, 11, 100, metric="r", label="missed-issue rate")
        text = impact.describe(c, "QA-audited tasks")
        assert "rose by 1.0 percentage points" in text
        assert "cannot tell this apart from no change" in text


class TestCommandLine:
    def test_json_has_the_contract_keys(self, demo_db_path):
        result = CliRunner().invoke(cli, ["--db", str(demo_db_path), "impact", "--format", "json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        keys = {"baseline", "ai", "diff", "ci_low", "ci_high", "p_value", "n_baseline", "n_ai"}
        for metric in ("human_minutes", "missed_issue_rate", "human_minutes_per_handled_task",
                       "resolution_hours", "reopen_rate", "handoff_rate", "csat", "human_minutes_mix_adjusted"):
            assert keys <= set(data[metric]), metric
        hm = data["human_minutes"]
        assert hm["diff"] == pytest.approx(hm["ai"] - hm["baseline"])
        assert hm["ci_low"] <= hm["diff"] <= hm["ci_high"]
        assert 0 <= data["missed_issue_rate"]["baseline"] <= 1
        assert isinstance(data["warnings"], list) and data["summary"].startswith("Human minutes per task")

    def test_table_for_one_account(self, demo_db_path, demo_wh):
        account = demo_wh.query_df("SELECT min(account_id) AS a FROM tasks")["a"].iloc[0]
        result = CliRunner().invoke(cli, ["--db", str(demo_db_path), "impact", "--account", account])
        assert result.exit_code == 0, result.output
        assert f"account {account}" in result.output and "Missed-issue rate" in result.output

    def test_unknown_account_is_a_clear_error(self, demo_db_path):
        result = CliRunner().invoke(cli, ["--db", str(demo_db_path), "impact", "--account", "NOPE"])
        assert isinstance(result.exception, UnknownAccountError)
        assert "No tasks for account 'NOPE'" in str(result.exception)
