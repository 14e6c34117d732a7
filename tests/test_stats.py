"""Two-arm statistics against known answers: published intervals, scipy, plain bootstraps,
power tables, and the false-alarm rate on data with no effect."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from outcome_pricing.errors import ConfigError
from outcome_pricing.proof import stats

SEEDS = range(200)


def _means(b: np.ndarray, a: np.ndarray, seed: int = 0, resamples: int = 1000) -> stats.Comparison:
    return stats.compare_means(
        b, a, metric="m", label="minutes", unit="minutes",
        rng=np.random.default_rng(seed), resamples=resamples,
    )


class TestNewcombeInterval:
    # Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10.
    @pytest.mark.parametrize(
        ("k1", "n1", "k2", "n2", "low", "high"),
        [
            (56, 70, 48, 80, 0.0524, 0.3339),
            (9, 10, 3, 10, 0.1705, 0.8090),
            (5, 56, 0, 29, -0.0381, 0.1926),
            (0, 10, 0, 20, -0.1611, 0.2775),
            (0, 10, 0, 10, -0.2775, 0.2775),
            (10, 10, 0, 20, 0.6791, 1.0000),
            (10, 10, 0, 10, 0.6075, 1.0000),
        ],
    )
    def test_matches_the_published_worked_examples(self, k1, n1, k2, n2, low, high):
        got = stats.newcombe_interval(k1, n1, k2, n2)
        assert got == pytest.approx((low, high), abs=5e-5)

    @given(k=st.integers(0, 200), extra=st.integers(0, 200))
    @settings(max_examples=50, deadline=None)
    def test_wilson_interval_agrees_with_scipy(self, k, extra):
        n = k + extra
        if n == 0:
            return
        ref = sps.binomtest(k, n).proportion_ci(method="wilson")
        assert stats.wilson_interval(k, n) == pytest.approx((ref.low, ref.high), abs=1e-12)


class TestRateComparison:
    def test_difference_is_ai_minus_baseline_with_the_newcombe_interval(self):
        c = stats.compare_rates(48, 80, 56, 70, metric="r", label="rate")
        assert c.diff == pytest.approx(0.2)
        assert (c.ci_low, c.ci_high) == pytest.approx((0.0524, 0.3339), abs=5e-5)
        assert c.test == "chi-square"
        assert c.p_value == pytest.approx(sps.chi2_contingency([[56, 14], [48, 32]], correction=False).pvalue)
        assert c.warning is None

    def test_small_expected_counts_use_fisher_exact(self):
        c = stats.compare_rates(1, 40, 6, 40, metric="r", label="rate")
        assert c.test == "Fisher exact"
        assert c.p_value == pytest.approx(sps.fisher_exact([[6, 34], [1, 39]]).pvalue)
        assert "Too few events" in (c.warning or "")

    def test_all_zero_rates_give_p_one_and_a_warning_not_nan(self):
        c = stats.compare_rates(0, 100, 0, 120, metric="r", label="rate")
        assert c.diff == 0 and c.p_value == 1.0
        assert c.ci_low is not None and c.ci_low < 0 < c.ci_high
        assert "0 events" in (c.warning or "")
        assert not any(isinstance(v, float) and math.isnan(v) for v in c.to_dict().values())

    @pytest.mark.parametrize(("n_b", "n_a", "text"), [(0, 50, "No baseline"), (50, 0, "No AI"), (0, 0, "either arm")])
    def test_an_empty_arm_gives_a_message_and_no_statistics(self, n_b, n_a, text):
        c = stats.compare_rates(0, n_b, 0, n_a, metric="r", label="rate")
        assert text in (c.warning or "")
        assert c.diff is None and c.p_value is None and c.ci_low is None

    def test_single_arm_rate_has_the_wilson_interval_of_the_ai_rate(self):
        c = stats.single_rate(30, 100, metric="h", label="handoff rate")
        assert c.ai == 0.3 and c.baseline is None and c.diff is None
        assert (c.ci_low, c.ci_high) == pytest.approx(stats.wilson_interval(30, 100))
        assert "No AI tasks" in (stats.single_rate(0, 0, metric="h", label="h").warning or "")


class TestMannWhitney:
    @given(seed=st.integers(0, 2**32 - 1), nx=st.integers(5001, 9000), ny=st.integers(5001, 9000),
           levels=st.sampled_from([3, 50, 0]))
    @settings(max_examples=30, deadline=None)
    def test_fast_path_agrees_with_scipy_asymptotic(self, seed, nx, ny, levels):
        rng = np.random.default_rng(seed)
        x, y = rng.exponential(5, nx), rng.exponential(5.3, ny)
        if levels:  # heavy ties, like minutes rounded or CSAT
            x, y = np.floor(x * levels / 20), np.floor(y * levels / 20)
        ref = sps.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic").pvalue
        assert stats.mann_whitney_p(x, y) == pytest.approx(ref, rel=1e-9, abs=1e-300)

    @given(seed=st.integers(0, 2**32 - 1), strata=st.integers(1, 5), ties=st.booleans())
    @settings(max_examples=40, deadline=None)
    def test_van_elteren_agrees_with_a_plain_rank_reference(self, seed, strata, ties):
        rng = np.random.default_rng(seed)
        pairs = []
        for _ in range(strata):
            x, y = rng.exponential(5, rng.integers(1, 40)), rng.exponential(6, rng.integers(1, 40))
            pairs.append((np.round(x), np.round(y)) if ties else (x, y))
        num = var = 0.0
        for x, y in pairs:  # textbook: W = rank sum of x within its stratum, weights 1/(N+1)
            n = x.size + y.size
            ranks = sps.rankdata(np.r_[x, y])
            _, counts = np.unique(np.r_[x, y], return_counts=True)
            w = 1 / (n + 1)
            num += w * (ranks[: x.size].sum() - x.size * (n + 1) / 2)
            ties_term = (counts**3 - counts).sum() / (n * (n - 1)) if n > 1 else 0.0
            var += w * w * x.size * y.size / 12 * ((n + 1) - ties_term)
        expected = 1.0 if var <= 0 else 2 * sps.norm.sf(abs(num) / math.sqrt(var))
        assert stats.van_elteren_p(pairs) == pytest.approx(min(1.0, expected), rel=1e-9)

    def test_identical_constant_samples_give_p_one(self):
        assert stats.mann_whitney_p(np.ones(6000), np.ones(7000)) == 1.0


class TestHistogramBootstrap:
    @pytest.mark.slow
    @given(seed=st.integers(0, 2**32 - 1), n=st.integers(50, 3000),
           shape=st.sampled_from(["exponential", "lognormal_outlier", "discrete", "zero_inflated"]))
    @settings(max_examples=40, deadline=None)
    def test_agrees_with_a_plain_index_resampling_bootstrap(self, seed, n, shape):
        rng = np.random.default_rng(seed)
        x = {
            "exponential": lambda: rng.exponential(8, n),
            "lognormal_outlier": lambda: np.r_[rng.lognormal(2, 1, n - 1), 1e5],
            "discrete": lambda: rng.integers(1, 6, n).astype(float),
            "zero_inflated": lambda: np.where(rng.random(n) < 0.6, 0.0, rng.exponential(15, n)),
        }[shape]()
        hist = stats.value_histogram(x)
        assert hist.n == n and hist.mean == pytest.approx(x.mean(), rel=1e-12)
        resamples = 3000
        fast = stats.bootstrap_means(hist, resamples, np.random.default_rng(seed + 1))
        slow_rng = np.random.default_rng(seed + 2)
        slow = np.array([x[slow_rng.integers(0, n, n)].mean() for _ in range(resamples)])
        # Two independent Monte Carlo estimates of the same SD: within ~4 standard errors.
        assert fast.std() == pytest.approx(slow.std(), rel=0.12)
        assert fast.std() == pytest.approx(x.std() / math.sqrt(n), rel=0.12)

    def test_few_distinct_values_are_kept_exactly(self):
        x = np.repeat([1.0, 2.0, 3.0, 4.0, 5.0], [10, 20, 30, 25, 15])
        hist = stats.value_histogram(x)
        assert list(hist.values) == [1, 2, 3, 4, 5] and list(hist.counts) == [10, 20, 30, 25, 15]
        assert hist.spread == pytest.approx(math.sqrt(100 / 99), rel=1e-12)  # only the n - 1 scale

    def test_same_seed_same_numbers(self):
        x = np.random.default_rng(3).exponential(5, 500)
        h = stats.value_histogram(x)
        one = stats.bootstrap_means(h, 200, np.random.default_rng(9))
        two = stats.bootstrap_means(h, 200, np.random.default_rng(9))
        assert np.array_equal(one, two)


class TestMeanComparison:
    def test_known_effect_is_covered_at_about_the_stated_rate(self):
        covered = 0
        for seed in range(100):
            rng = np.random.default_rng(seed)
            b, a = rng.exponential(10, 150), rng.exponential(8, 150)
            c = _means(b, a, seed, resamples=500)
            covered += c.ci_low <= -2.0 <= c.ci_high
        assert covered >= 88  # nominal 95; percentile bootstrap runs a little short at n = 150

    def test_no_effect_raises_no_more_alarms_than_the_stated_rate(self):
        p_alarms = ci_alarms = 0
        for seed in SEEDS:
            rng = np.random.default_rng(seed)
            n_b, n_a = rng.integers(30, 80, size=2)
            b, a = rng.gamma(2, 5, n_b), rng.gamma(2, 5, n_a)
            c = _means(b, a, seed, resamples=500)
            p_alarms += c.p_value < 0.05
            ci_alarms += not (c.ci_low <= 0 <= c.ci_high)
        # 5% stated; binomial sd over 200 seeds is 1.5 points, so 9% is ~2.6 sd of slack.
        assert p_alarms / len(SEEDS) <= 0.09
        assert ci_alarms / len(SEEDS) <= 0.09

    def test_no_effect_on_rates_raises_no_more_alarms_than_the_stated_rate(self):
        alarms = 0
        for seed in SEEDS:
            rng = np.random.default_rng(seed)
            n_b, n_a = rng.integers(60, 200, size=2)
            k_b, k_a = rng.binomial(n_b, 0.15), rng.binomial(n_a, 0.15)
            c = stats.compare_rates(int(k_b), int(n_b), int(k_a), int(n_a), metric="r", label="r")
            alarms += c.p_value < 0.05
        assert alarms / len(SEEDS) <= 0.09

    def test_empty_arm_gives_a_message_not_nan(self):
        c = _means(np.array([]), np.array([1.0, 2.0, 3.0]))
        assert c.diff is None and c.p_value is None
        assert c.ai == 2.0 and "No baseline tasks" in (c.warning or "")

    def test_missing_values_are_left_out(self):
        c = _means(np.array([1.0, np.nan, 3.0]), np.array([np.nan, np.nan]))
        assert c.n_baseline == 2 and c.n_ai == 0 and "No AI tasks" in (c.warning or "")

    def test_constant_values_give_zero_width_interval_and_a_warning(self):
        c = _means(np.full(40, 5.0), np.full(50, 5.0))
        assert (c.diff, c.ci_low, c.ci_high, c.p_value) == (0.0, 0.0, 0.0, 1.0)
        assert "same within each arm" in (c.warning or "")

    def test_small_sample_is_flagged(self):
        c = _means(np.arange(10.0), np.arange(40.0))
        assert "fewer than 30" in (c.warning or "") and c.diff is not None


class TestMixAdjustment:
    def _mix_shift(self, seed: int, n: int = 4000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Two topics, easy (4 min) and hard (20 min); the AI saves 1 minute on each but takes
        mostly easy work, so the pooled difference overstates the saving."""
        rng = np.random.default_rng(seed)
        is_ai = rng.random(n) < 0.5
        easy_share = np.where(is_ai, 0.8, 0.4)
        strata = (rng.random(n) >= easy_share).astype(np.int16)  # 0 easy, 1 hard
        mean = np.where(strata == 0, 4.0, 20.0) - np.where(is_ai, 1.0, 0.0)
        return rng.exponential(mean), is_ai, strata

    def test_recovers_the_per_topic_effect_when_the_mix_shifts(self):
        values, is_ai, strata = self._mix_shift(11)
        adj = stats.compare_means_stratified(values, is_ai, strata, metric="m", label="m",
                                             unit="minutes", rng=np.random.default_rng(1))
        pooled = _means(values[~is_ai], values[is_ai])
        assert adj.ci_low <= -1.0 <= adj.ci_high
        assert pooled.ci_high < -3.0  # the mix shift alone makes the pooled saving look ~4x larger
        assert adj.warning is None

    @given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 400), strata=st.integers(1, 6))
    @settings(max_examples=40, deadline=None)
    def test_estimate_is_the_ai_mix_weighted_sum_of_topic_differences(self, seed, n, strata):
        rng = np.random.default_rng(seed)
        values, is_ai, codes = rng.exponential(5, n), rng.random(n) < 0.6, rng.integers(0, strata, n)
        adj = stats.compare_means_stratified(values, is_ai, codes, metric="m", label="m",
                                             unit="minutes", rng=rng, resamples=50)
        frame = pd.DataFrame({"v": values, "ai": is_ai, "s": codes})
        means = frame.pivot_table(index="s", columns="ai", values="v", aggfunc="mean").dropna()
        if means.empty:
            assert adj.diff is None
            return
        weights = frame[frame["ai"] & frame["s"].isin(means.index)].groupby("s").size()
        weights = weights / weights.sum()
        expected = float((weights * (means[True] - means[False])).sum())
        assert adj.diff == pytest.approx(expected, rel=1e-9, abs=1e-12)

    @pytest.mark.slow
    def test_no_effect_raises_no_more_alarms_than_the_stated_rate(self):
        alarms = 0
        for seed in SEEDS:
            rng = np.random.default_rng(seed)
            n = int(rng.integers(80, 200))
            codes = rng.integers(0, 3, n)
            is_ai = rng.random(n) < np.where(codes == 0, 0.7, 0.4)  # the mix shifts, speed does not
            values = rng.exponential(np.array([3.0, 8.0, 15.0])[codes])
            adj = stats.compare_means_stratified(values, is_ai, codes, metric="m", label="m",
                                                 unit="minutes", rng=rng, resamples=400)
            alarms += adj.p_value < 0.05
        assert alarms / len(SEEDS) <= 0.09

    def test_topics_with_one_arm_only_are_left_out_and_reported(self):
        values, is_ai, strata = self._mix_shift(12, 2000)
        strata = strata.copy()
        strata[is_ai & (np.arange(strata.size) % 10 == 0)] = 7  # an AI-only topic
        adj = stats.compare_means_stratified(values, is_ai, strata, metric="m", label="m",
                                             unit="minutes", rng=np.random.default_rng(1))
        assert "no baseline tasks and are left out" in (adj.warning or "")

    def test_no_overlap_at_all_gives_a_message(self):
        adj = stats.compare_means_stratified(
            np.ones(60), np.r_[np.zeros(30, bool), np.ones(30, bool)], np.r_[np.zeros(30), np.ones(30)],
            metric="m", label="m", unit="minutes", rng=np.random.default_rng(1),
        )
        assert adj.diff is None and "No stratum" in (adj.warning or "")


class TestPowerCalculator:
    @pytest.mark.parametrize(("d", "n"), [(0.5, 64), (0.2, 394), (0.8, 26)])
    def test_t_test_sample_sizes_match_statsmodels(self, d, n):
        # statsmodels TTestIndPower().solve_power(d, alpha=0.05, power=0.8): 63.77, 393.4, 25.5
        assert stats.tasks_per_arm_for_mean(delta=d * 3.0, sd=3.0) == n

    @pytest.mark.parametrize(("p1", "p2", "n"), [(0.5, 0.6, 388), (0.10, 0.05, 435)])
    def test_two_proportion_sample_sizes_match_the_fleiss_formula(self, p1, p2, n):
        # (1.95996 sqrt(2 pbar qbar) + 0.84162 sqrt(p1 q1 + p2 q2))^2 / (p1 - p2)^2 = 387.3, 434.4
        assert stats.tasks_per_arm_for_rates(p1, p2) == n

    def test_detectable_effect_inverts_the_sample_size(self):
        change = stats.detectable_mean_change(64, sd=1.0)
        assert change == pytest.approx(0.5, abs=0.005)
        drop = stats.detectable_rate_change(388, 0.6)
        assert drop == pytest.approx(0.1, abs=0.002)
        assert stats.tasks_per_arm_for_rates(0.6, 0.6 - drop) == 388

    def test_undetectable_rate_change_is_none(self):
        assert stats.detectable_rate_change(3, 0.02) is None

    @pytest.mark.parametrize(
        "call",
        [
            lambda: stats.tasks_per_arm_for_mean(1.0, 0.0),
            lambda: stats.tasks_per_arm_for_mean(0.0, 1.0),
            lambda: stats.tasks_per_arm_for_mean(1.0, 1.0, alpha=1.5),
            lambda: stats.tasks_per_arm_for_rates(0.3, 0.3),
            lambda: stats.tasks_per_arm_for_rates(0.3, 1.3),
            lambda: stats.detectable_mean_change(1, 1.0),
        ],
    )
    def test_impossible_inputs_raise_a_clear_error(self, call):
        with pytest.raises(ConfigError):
            call()

    def test_pilot_starting_points_use_the_data_else_the_fallbacks(self):
        assert stats.pilot_sd(4.5) == 4.5
        assert stats.pilot_sd(None) == stats.pilot_sd(0.0) == stats.PILOT_SD_FALLBACK == 10.0
        assert stats.pilot_baseline_rate(0.0) == 0.0  # a measured zero is kept
        assert stats.pilot_baseline_rate(None) == stats.PILOT_BASELINE_RATE_FALLBACK == 0.1
        assert stats.pilot_target_rate(0.2) == pytest.approx(0.14)  # 30% below the baseline
        assert stats.pilot_target_rate(0.0) == 0.0
