"""Proof by audit (DESIGN section 9): the statistics against known answers, the audit
sources and their precedence, estimates on hand-made logs, the judge, the planner, and
drawing a sample."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from outcome_pricing.errors import ConfigError
from outcome_pricing.proof.audit import (
    Rate,
    Selection,
    draw_sample,
    effective_audits,
    estimate,
    judge,
    largest_remainder,
    rogan_gladen,
    sample_size,
    stratified_rate,
    trend,
)
from outcome_pricing.proof.audit.decisions import decision_history, record_decision
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse
from tests.audit_rows import store_audits
from tests.rows import load_tasks

CONFIRMED = {"customer_confirmed": True}
ASSUMED = {"customer_confirmed": False, "quiet_hours": 100.0}
NOT_RESOLVED = {"customer_confirmed": False, "quiet_hours": 1.0}
D = Definition.preset("intercom-fin-2025")  # confirmed or 24 h quiet, no handoffs


def tasks(kind: dict[str, object], ids: range, account: str = "A1", month: int = 1,
          **extra: object) -> list[dict[str, object]]:
    when = dt.datetime(2025, month, 10, 9)
    return [{"task_id": f"T{i:04d}", "account_id": account, "requester_id": f"R{i}",
             "created_at": when, "closed_at": when + dt.timedelta(hours=1), **kind, **extra} for i in ids]


class TestWilson:
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (score, no correction).
    @pytest.mark.parametrize(("x", "n", "low", "high"), [
        (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718),
    ])
    def test_matches_the_published_intervals(self, x: int, n: int, low: float, high: float) -> None:
        r = Rate.of(x, n)
        assert r.low is not None and r.high is not None
        assert (round(r.low, 4), round(r.high, 4)) == (low, high)

    @given(n=st.integers(1, 5000), share=st.floats(0, 1))
    def test_agrees_with_statsmodels(self, n: int, share: float) -> None:
        x = round(share * n)
        low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
        r = Rate.of(x, n)
        assert r.low == pytest.approx(low, abs=1e-9) and r.high == pytest.approx(high, abs=1e-9)

    def test_no_audits_is_no_rate_never_a_confident_zero(self) -> None:
        assert Rate.of(0, 0) == Rate(0, 0, None, None, None)

    def test_the_bounds_at_none_and_all_are_exact(self) -> None:
        assert Rate.of(0, 7).low == 0.0 and Rate.of(7, 7).high == 1.0


class TestRoganGladen:
    def test_corrects_the_share_verified_by_the_judges_errors(self) -> None:
        # q = 0.6 verified, Se 0.9, Sp 0.8: (0.6 + 0.8 - 1) / (0.9 + 0.8 - 1) = 0.4 / 0.7
        assert rogan_gladen(0.6, 0.9, 0.8) == pytest.approx(4 / 7)

    def test_is_clipped_to_zero_and_one(self) -> None:
        assert rogan_gladen(0.1, 0.9, 0.8) == 0.0
        assert rogan_gladen(0.99, 0.9, 0.8) == 1.0

    def test_a_judge_no_better_than_chance_gives_no_correction(self) -> None:
        assert rogan_gladen(0.5, 0.5, 0.5) is None

    def test_the_judge_on_hand_made_counts(self, fresh_wh: Warehouse) -> None:
        # 10 genuine (8 verified), 5 not genuine (1 verified), 5 answered unaudited (all verified)
        rows = (tasks(CONFIRMED, range(0, 8), verified=True) + tasks(CONFIRMED, range(8, 10), verified=False)
                + tasks(NOT_RESOLVED, range(10, 11), verified=True) + tasks(NOT_RESOLVED, range(11, 15), verified=False)
                + tasks(CONFIRMED, range(15, 20), verified=True) + tasks(CONFIRMED, range(20, 22), verified=None))
        load_tasks(fresh_wh, rows)
        store_audits(fresh_wh, [(f"T{i:04d}", i < 10) for i in range(15)])
        j = judge(fresh_wh, D)
        assert (j.sensitivity.x, j.sensitivity.n, j.specificity.x, j.specificity.n, j.n) == (8, 10, 4, 5, 15)
        assert j.verified_share == pytest.approx(14 / 20)  # verified present on 20 answered tasks
        assert j.corrected_genuine_rate == pytest.approx((0.7 + 0.8 - 1) / (0.8 + 0.8 - 1))


class TestStratified:
    def test_hand_computed_case(self) -> None:
        # confirmed N=800 n=40 x=4, assumed N=200 n=20 x=6, a stratum of 100 without audits
        s = stratified_rate([(800, 40, 4), (200, 20, 6), (100, 0, 0)])
        assert s.rate == pytest.approx(0.8 * 0.1 + 0.2 * 0.3)
        assert s.unaudited_share == pytest.approx(100 / 1100)
        v = 0.8**2 * 0.1 * 0.9 / 40 + 0.2**2 * 0.3 * 0.7 / 20
        assert s.effective_n == pytest.approx(0.14 * 0.86 / v)
        z = 1.959963984540054
        n = s.effective_n or 0
        centre = (0.14 + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(0.14 * 0.86 / n + z * z / (4 * n * n)) / (1 + z * z / n)
        assert (s.low, s.high) == (pytest.approx(centre - half), pytest.approx(centre + half))

    def test_one_stratum_is_the_plain_wilson_interval(self) -> None:
        s, r = stratified_rate([(500, 50, 5)]), Rate.of(5, 50)
        assert (s.low, s.high) == (pytest.approx(r.low), pytest.approx(r.high))

    def test_all_genuine_strata_still_have_an_upper_bound(self) -> None:
        s = stratified_rate([(500, 30, 0), (100, 10, 0)])
        assert s.rate == 0 and s.low == 0 and (s.high or 0) > 0.05

    def test_no_audits_gives_no_rate(self) -> None:
        assert stratified_rate([(10, 0, 0)]).rate is None


class TestPlanner:
    # Cochran's formula with the finite population correction; Krejcie and Morgan's table
    # (1970) gives the same for 5% at p = 0.5: 80 of 100, 278 of 1,000, 370 of 10,000.
    @pytest.mark.parametrize(("population", "n"), [(100, 80), (1000, 278), (10_000, 370), (10**9, 385)])
    def test_the_textbook_sizes(self, population: int, n: int) -> None:
        assert sample_size(0.05, population) == n

    @given(m=st.floats(0.005, 0.2), p=st.floats(0.01, 0.99), big=st.integers(1, 10**6))
    def test_is_the_formula(self, m: float, p: float, big: int) -> None:
        n0 = 1.959963985**2 * p * (1 - p) / m**2
        assert sample_size(m, big, p) == min(big, math.ceil(n0 / (1 + (n0 - 1) / big)))

    def test_refuses_a_margin_outside_zero_and_one(self) -> None:
        with pytest.raises(ConfigError, match="margin"):
            sample_size(0, 100)


class TestWhichAuditCounts:
    def test_the_qa_columns_count_when_nothing_else_is_there(self, fresh_wh: Warehouse) -> None:
        load_tasks(fresh_wh, [{"task_id": "T1", "qa_audited": True, "missed_issue": True},
                              {"task_id": "T2", "qa_audited": True, "missed_issue": None},
                              {"task_id": "T3", "qa_audited": False, "missed_issue": True}])
        found = effective_audits(fresh_wh)
        assert found[["task_id", "genuine"]].values.tolist() == [["T1", False]]

    def test_the_file_wins_over_the_qa_columns(self, fresh_wh: Warehouse) -> None:
        load_tasks(fresh_wh, [{"task_id": "T1", "qa_audited": True, "missed_issue": True}])
        store_audits(fresh_wh, [("T1", True)])
        assert effective_audits(fresh_wh)["genuine"].tolist() == [True]

    def test_the_latest_audit_wins_and_a_later_decision_too(self, fresh_wh: Warehouse) -> None:
        load_tasks(fresh_wh, [{"task_id": "T1"}])
        store_audits(fresh_wh, [("T1", False, dt.datetime(2025, 3, 2))], ingest_id=1)
        store_audits(fresh_wh, [("T1", True, dt.datetime(2025, 3, 1))], ingest_id=2)
        assert effective_audits(fresh_wh)["genuine"].tolist() == [False]
        record_decision(fresh_wh, fresh_wh, "T1", True, "rev@example.com", "checked the thread")
        record_decision(fresh_wh, fresh_wh, "T1", False, "boss@example.com")
        found = effective_audits(fresh_wh).iloc[0]
        assert (found["genuine"], found["auditor"], found["source"]) == (False, "boss@example.com", "reviewer in the app")
        assert decision_history(fresh_wh)["decided_by"].tolist() == ["boss@example.com", "rev@example.com"]

    def test_a_reviewer_cannot_decide_a_task_out_of_sight(self, fresh_wh: Warehouse) -> None:
        load_tasks(fresh_wh, [{"task_id": "T1", "account_id": "A1"}])
        with pytest.raises(ConfigError, match="T1"):
            record_decision(fresh_wh, fresh_wh.scoped(["A2"]), "T1", True, "sales@example.com")
        assert decision_history(fresh_wh).empty


class TestEstimate:
    @pytest.fixture
    def wh(self, fresh_wh: Warehouse) -> Warehouse:
        load_tasks(fresh_wh, tasks(CONFIRMED, range(0, 60)) + tasks(ASSUMED, range(60, 100))
                   + tasks(NOT_RESOLVED, range(100, 120)) + tasks(CONFIRMED, range(120, 130), account="A2", month=2))
        # confirmed: 20 audited, 1 false; assumed: 10 audited, 3 false; one unbillable audit
        audits = [(f"T{i:04d}", i != 0) for i in range(20)] + [(f"T{i:04d}", i >= 63) for i in range(60, 70)]
        store_audits(fresh_wh, [*audits, ("T0100", False)])
        return fresh_wh

    def test_counts_rate_and_interval(self, wh: Warehouse) -> None:
        e = estimate(wh, D)
        assert (e.billable_outcomes, e.overall.n, e.overall.x) == (110, 30, 4)
        assert (e.overall.low, e.overall.high) == (Rate.of(4, 30).low, Rate.of(4, 30).high)
        point, low, high = e.genuine_units
        assert point == pytest.approx(110 * (1 - 4 / 30))
        assert low == pytest.approx(110 * (1 - (e.overall.high or 0)))

    def test_by_reason_and_stratified(self, wh: Warehouse) -> None:
        e = estimate(wh, D)
        strata = {s.reason: (s.billable_outcomes, s.audited, s.not_genuine) for s in e.by_reason}
        assert strata == {"confirmed": (70, 20, 1), "assumed": (40, 10, 3)}
        assert e.stratified.rate == pytest.approx(70 / 110 * 1 / 20 + 40 / 110 * 3 / 10)
        assert e.stratified.unaudited_share == 0

    def test_a_selection_limits_everything(self, wh: Warehouse) -> None:
        e = estimate(wh, D, Selection.of("A2"))
        assert (e.billable_outcomes, e.overall.n, e.overall.rate) == (10, 0, None)
        assert any("No audits" in w for w in e.warnings)
        assert "none was audited" in e.sentence()
        assert estimate(wh, D, Selection.of(None, ["2025-01"])).billable_outcomes == 100

    def test_a_small_sample_gets_a_warning(self, wh: Warehouse) -> None:
        assert not any("fewer than" in w for w in estimate(wh, D).warnings)  # 30 audits: enough
        with wh.transaction() as cur:
            cur.execute("DELETE FROM audits WHERE task_id = 'T0001'")
        assert any("Only 29 audits (fewer than 30)" in w for w in estimate(wh, D).warnings)

    def test_trend_by_month(self, wh: Warehouse) -> None:
        t = trend(wh, D)
        assert t["billable_outcomes"].tolist() == [100, 10]
        assert t["audited"].tolist() == [30, 0] and pd.isna(t["false_rate"].iloc[1])


class TestDrawingASample:
    @pytest.fixture
    def wh(self, fresh_wh: Warehouse) -> Warehouse:
        load_tasks(fresh_wh, tasks(CONFIRMED, range(0, 50)) + tasks(ASSUMED, range(50, 80))
                   + tasks(NOT_RESOLVED, range(80, 90)) + tasks(CONFIRMED, range(90, 110), account="A2"))
        store_audits(fresh_wh, [(f"T{i:04d}", True) for i in range(0, 10)])
        return fresh_wh

    def test_the_same_seed_draws_the_same_tasks(self, wh: Warehouse) -> None:
        a, b = draw_sample(wh, D, 15, seed=4), draw_sample(wh, D, 15, seed=4)
        assert a["task_id"].tolist() == b["task_id"].tolist()
        assert a["task_id"].tolist() != draw_sample(wh, D, 15, seed=5)["task_id"].tolist()

    def test_only_billable_tasks_not_yet_audited(self, wh: Warehouse) -> None:
        drawn = set(draw_sample(wh, D, 200, seed=1)["task_id"])
        assert len(drawn) == 90  # 100 billable, 10 audited
        assert not drawn & {f"T{i:04d}" for i in [*range(0, 10), *range(80, 90)]}

    def test_proportional_by_reason_uses_the_largest_remainder(self, wh: Warehouse) -> None:
        # not yet audited: confirmed 60, assumed 30 -> 7 as 4.67 / 2.33 -> 5 and 2
        drawn = draw_sample(wh, D, 7, by="reason", seed=2)
        assert drawn["reason"].value_counts().to_dict() == {"confirmed": 5, "assumed": 2}

    def test_proportional_by_account(self, wh: Warehouse) -> None:
        drawn = draw_sample(wh, D, 9, by="account", seed=2)  # A1 70, A2 20 -> 7.0 and 2.0
        assert drawn["account_id"].value_counts().to_dict() == {"A1": 7, "A2": 2}

    def test_the_file_has_the_audit_columns_empty_then_the_evidence(self, wh: Warehouse) -> None:
        drawn = draw_sample(wh, D, 3, seed=0)
        assert list(drawn.columns[:5]) == ["task_id", "audited_at", "genuine", "auditor", "note"]
        assert (drawn["genuine"] == "").all() and {"reason", "verified", "quiet_hours"} <= set(drawn.columns)

    def test_largest_remainder_hand_case(self) -> None:
        assert largest_remainder(7, [50, 30, 20]) == [4, 2, 1]  # 3.5, 2.1, 1.4
        assert largest_remainder(10, [1, 1, 1]) == [1, 1, 1]
        assert largest_remainder(2, [1, 1, 1]) == [1, 1, 0]  # ties go to the first groups

    @given(total=st.integers(0, 500), weights=st.lists(st.integers(0, 300), min_size=1, max_size=8))
    def test_largest_remainder_sums_and_stays_near_the_quota(self, total: int, weights: list[int]) -> None:
        shares = largest_remainder(total, weights)
        whole = sum(weights)
        assert sum(shares) == (min(total, whole) if whole else 0)
        for s, w in zip(shares, weights, strict=True):
            assert s <= w and (not whole or abs(s - min(total, whole) * w / whole) < 1)

    def test_refuses_nothing_to_draw(self, wh: Warehouse) -> None:
        with pytest.raises(ConfigError, match="at least 1"):
            draw_sample(wh, D, 0)
