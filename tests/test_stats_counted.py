"""Means from value counts against their per-value twins: the same histogram (hence the same
bootstrap draws for a seed), quantiles, rank sums and comparisons; and the AI impact headline,
counted in SQL, against the plain per-task computation it replaces."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcome_pricing.proof import impact, stats
from outcome_pricing.proof.impact.metrics import HANDLED_SQL, RESOLUTION_HOURS_SQL
from outcome_pricing.warehouse.handle import Warehouse
from tests import reference_means
from tests.test_impact import load, make_tasks

SHAPES = ["exponential", "lognormal_outlier", "discrete", "zero_inflated", "constant"]


def sample(rng: np.random.Generator, n: int, shape: str) -> np.ndarray:
    """Values as the impact SQL delivers them: rounded to FLOAT (many ties), then widened."""
    if n == 0:
        return np.empty(0)
    x = {
        "exponential": lambda: rng.exponential(8, n),
        "lognormal_outlier": lambda: np.r_[rng.lognormal(2, 1, n - 1), 1e5],
        "discrete": lambda: rng.integers(1, 6, n).astype(float),
        "zero_inflated": lambda: np.where(rng.random(n) < 0.6, 0.0, np.round(rng.exponential(15, n))),
        "constant": lambda: np.full(n, 3.0),
    }[shape]()
    return x.astype(np.float32).astype(float)


def counted(x: np.ndarray) -> stats.ValueCounts:
    values, counts = np.unique(x, return_counts=True)
    return stats.value_counts(values, counts)


def same(one: stats.Comparison, two: stats.Comparison, rel: float = 1e-9) -> None:
    """Every field equal; floats to `rel` (only the order of sums differs)."""
    for field in dataclasses.fields(one):
        a, b = getattr(one, field.name), getattr(two, field.name)
        if isinstance(a, float) and isinstance(b, float):
            assert a == pytest.approx(b, rel=rel, abs=1e-300), field.name
        else:
            assert a == b, field.name


class TestCountsAgreeWithTheSample:
    @given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 400), shape=st.sampled_from(SHAPES),
           bins=st.sampled_from([4, 32, 64]))
    @settings(max_examples=60, deadline=None)
    def test_histogram_and_quantiles_equal_the_per_value_ones(self, seed, n, shape, bins):
        x = sample(np.random.default_rng(seed), n, shape)
        vc = counted(x)
        slow, fast = stats.value_histogram(x, bins), stats.histogram_of_counts(vc, bins)
        assert np.array_equal(fast.counts, slow.counts)  # equal counts: equal multinomial draws
        assert np.allclose(fast.values, slow.values, rtol=1e-12, atol=0)
        assert fast.spread == pytest.approx(slow.spread, rel=1e-9)
        q = np.linspace(0, 1, 65)
        assert np.allclose(stats.quantiles_of_counts(vc, q), np.quantile(x, q), rtol=1e-12, atol=0)
        assert vc.n == n and vc.mean == pytest.approx(x.mean(), rel=1e-12)

    @given(seed=st.integers(0, 2**32 - 1), nx=st.integers(1, 300), ny=st.integers(1, 300),
           shape=st.sampled_from(SHAPES))
    @settings(max_examples=40, deadline=None)
    def test_rank_sums_equal_the_merge_of_the_samples(self, seed, nx, ny, shape):
        rng = np.random.default_rng(seed)
        x, y = sample(rng, nx, shape), sample(rng, ny, shape)
        from outcome_pricing.proof.stats.means import _rank_sum

        assert stats.rank_sum_of_counts(counted(x), counted(y)) == pytest.approx(_rank_sum(x, y), rel=1e-12)

    @given(seed=st.integers(0, 2**32 - 1), nb=st.integers(0, 200), na=st.integers(0, 200),
           shape=st.sampled_from(SHAPES))
    @settings(max_examples=40, deadline=None)
    def test_comparison_equals_the_per_value_one_for_the_same_seed(self, seed, nb, na, shape):
        rng = np.random.default_rng(seed)
        b, a = sample(rng, nb, shape), sample(rng, na, shape)
        kw = dict(metric="m", label="m", unit="minutes", resamples=200)
        slow = reference_means.compare_means(b, a, rng=np.random.default_rng(seed), **kw)
        fast = stats.compare_counted_means(counted(b), counted(a), rng=np.random.default_rng(seed), **kw)
        same(slow, fast)

    @given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300), strata=st.integers(1, 5),
           shape=st.sampled_from(SHAPES))
    @settings(max_examples=40, deadline=None)
    def test_mix_adjusted_comparison_equals_the_per_value_one(self, seed, n, strata, shape):
        rng = np.random.default_rng(seed)
        x, is_ai, codes = sample(rng, n, shape), rng.random(n) < 0.5, rng.integers(0, strata, n)
        kw = dict(metric="m", label="m", unit="minutes", resamples=100)
        slow = reference_means.compare_means_stratified(x, is_ai, codes, rng=np.random.default_rng(seed), **kw)
        per = [(counted(x[(codes == s) & ~is_ai]), counted(x[(codes == s) & is_ai])) for s in np.unique(codes)]
        fast = stats.compare_counted_means_stratified(per, rng=np.random.default_rng(seed), **kw)
        same(slow, fast)

    def test_large_samples_use_the_merge_and_agree_with_it(self):
        rng = np.random.default_rng(4)
        x, y = np.round(rng.exponential(8, 9000)), np.round(rng.exponential(9, 6000))
        assert stats.mann_whitney_p_of_counts(counted(x), counted(y)) == pytest.approx(
            stats.mann_whitney_p(x, y), rel=1e-9
        )

    def test_value_counts_merges_repeats_and_drops_what_is_not_a_value(self):
        vc = stats.value_counts(np.array([2.0, np.nan, 1.0, 2.0, np.inf, 3.0]), np.array([1, 5, 2, 3, 1, 0]))
        assert list(vc.values) == [1.0, 2.0] and list(vc.counts) == [2, 4] and vc.n == 6


def per_task_summary(wh: Warehouse, resamples: int, seed: int) -> dict[str, stats.Comparison]:
    """The headline's means the plain way: every task's values in memory, the per-value functions,
    the draws in the summary's order (pooled, mix-adjusted, handled, hours, CSAT)."""
    with wh.cursor() as cur:
        got = cur.execute(
            f"""SELECT ai_enabled, {HANDLED_SQL} AS handled, hash(topic) AS topic,
                       coalesce(human_seconds / 60.0, 'NaN'::DOUBLE)::FLOAT AS minutes,
                       ({RESOLUTION_HOURS_SQL})::FLOAT AS hours,
                       coalesce(csat::FLOAT, 'NaN'::FLOAT) AS csat FROM tasks"""
        ).fetchnumpy()
    ai, handled = np.asarray(got["ai_enabled"], dtype=bool), np.asarray(got["handled"], dtype=bool)
    rng = np.random.default_rng(seed)
    kw = dict(metric="m", label="m", unit="u", rng=rng, resamples=resamples)
    minutes = np.asarray(got["minutes"], dtype=float)
    out = {"human_minutes": reference_means.compare_means(minutes[~ai], minutes[ai], **kw)}
    codes = np.unique(np.asarray(got["topic"]), return_inverse=True)[1]
    out["mix"] = reference_means.compare_means_stratified(minutes, ai, codes, **{**kw, "resamples": resamples // 2})
    out["handled"] = reference_means.compare_means(minutes[~ai & handled], minutes[ai & handled], **kw)
    for key in ("hours", "csat"):
        values = np.asarray(got[key], dtype=float)
        out[key] = reference_means.compare_means(values[~ai], values[ai], **kw)
    return out


@pytest.mark.slow
@given(seed=st.integers(0, 10_000), n=st.integers(0, 150), missing=st.sampled_from([0.0, 0.3]))
@settings(max_examples=8, deadline=None)
def test_summary_counted_in_sql_equals_the_per_task_computation(seed, n, missing):
    with Warehouse.in_memory() as wh:
        if n:
            load(wh, make_tasks(n, seed=seed, minutes_saved=1.0, missing_minutes=missing))
        s = impact.impact_summary(wh, seed=seed, resamples=60)
        ref = per_task_summary(wh, 60, seed)
    pairs = {
        "human_minutes": s.human_minutes, "mix": s.human_minutes_mix_adjusted,
        "handled": s.human_minutes_per_handled_task, "hours": s.resolution_hours, "csat": s.csat,
    }
    for key, got in pairs.items():
        same(dataclasses.replace(ref[key], metric=got.metric, label=got.label, unit=got.unit,
                                 definition=got.definition), got)
    assert s.tasks == n
