"""The per-value comparisons of means, the plain way (every value in memory, the strata split
by sorting): the slow reference that `proof/stats/counted.py`, which counts values, is held to."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from outcome_pricing.proof.stats.bootstrap import (
    DEFAULT_RESAMPLES,
    bootstrap_means,
    percentile_interval,
    value_histogram,
)
from outcome_pricing.proof.stats.comparison import (
    Comparison,
    check_confidence,
    empty_arm_warning,
    small_n_warning,
)
from outcome_pricing.proof.stats.means import (
    CONSTANT_WARNING,
    STRATUM_BINS,
    mann_whitney_p,
    van_elteren_p,
)


def compare_means(
    baseline: np.ndarray,
    ai: np.ndarray,
    *,
    metric: str,
    label: str,
    unit: str,
    rng: np.random.Generator,
    resamples: int = DEFAULT_RESAMPLES,
    definition: str = "",
    confidence: float = 0.95,
) -> Comparison:
    """Mean of the AI arm minus mean of the baseline arm; NaN values are ignored."""
    check_confidence(confidence)
    b = _finite(baseline)
    a = _finite(ai)
    base = Comparison(
        metric, label, unit, None, None, None, None, None, None, b.size, a.size,
        confidence=confidence, definition=definition,
    )
    empty = empty_arm_warning(b.size, a.size)
    if empty:
        return replace(
            base,
            baseline=_mean(b) if b.size else None,
            ai=_mean(a) if a.size else None,
            warning=empty,
        )
    diffs = bootstrap_means(value_histogram(a), resamples, rng) - bootstrap_means(
        value_histogram(b), resamples, rng
    )
    low, high = percentile_interval(diffs, confidence)
    result = replace(
        base,
        baseline=_mean(b),
        ai=_mean(a),
        diff=_mean(a) - _mean(b),
        ci_low=low,
        ci_high=high,
        p_value=mann_whitney_p(a, b),
        test="Mann-Whitney U",
        ci_method=f"percentile bootstrap, {resamples:,} resamples",
    )
    return result.with_warning(small_n_warning(b.size, a.size)).with_warning(_constant_warning(a, b))


def _finite(x: np.ndarray) -> np.ndarray:
    """The finite values; float32 stays float32 (it sorts ~3x faster for the rank tests)."""
    x = np.asarray(x)
    if x.dtype != np.float32:
        x = x.astype(float)
    finite: np.ndarray = x[np.isfinite(x)]
    return finite


def _mean(x: np.ndarray) -> float:
    return float(x.mean(dtype=np.float64))


def _constant_warning(a: np.ndarray, b: np.ndarray) -> str | None:
    return CONSTANT_WARNING if a.min() == a.max() and b.min() == b.max() else None


def compare_means_stratified(
    values: np.ndarray,
    is_ai: np.ndarray,
    strata: np.ndarray,
    *,
    metric: str,
    label: str,
    unit: str,
    rng: np.random.Generator,
    resamples: int = DEFAULT_RESAMPLES // 2,
    bins: int = STRATUM_BINS,
    definition: str = "",
    confidence: float = 0.95,
) -> Comparison:
    """Mix-adjusted difference of means: sum over strata of w_s (mean_ai_s - mean_base_s).

    w_s is the AI arm's share of tasks in stratum s, among strata that have
    tasks in both arms (the others cannot be compared and are reported in the
    warning). `baseline` is the baseline arm re-weighted to the AI arm's mix,
    `ai` the AI arm's mean over the same strata. Interval: stratified
    bootstrap (each stratum and arm resampled on its own, weights fixed).
    p-value: van Elteren's stratified rank test, the within-topic counterpart
    of the Mann-Whitney test used for the pooled means.
    """
    check_confidence(confidence)
    keep = np.isfinite(values)
    values, is_ai, strata = _finite(values[keep]), is_ai[keep].astype(bool), strata[keep]
    n_b, n_a = int((~is_ai).sum()), int(is_ai.sum())
    base = Comparison(
        metric, label, unit, None, None, None, None, None, None, n_b, n_a,
        confidence=confidence, definition=definition,
    )
    empty = empty_arm_warning(n_b, n_a)
    if empty:
        return replace(base, warning=empty)
    order = np.argsort(strata, kind="stable")
    values, is_ai, strata = values[order], is_ai[order], strata[order]
    starts = np.flatnonzero(np.r_[True, strata[1:] != strata[:-1]])
    groups = np.split(np.arange(strata.size), starts[1:])
    paired = [(values[g][~is_ai[g]], values[g][is_ai[g]]) for g in groups]
    paired = [(b, a) for b, a in paired if b.size and a.size]
    if not paired:
        return replace(base, warning="No stratum has tasks in both arms: no like-for-like comparison.")
    weights = np.array([a.size for _, a in paired], dtype=float)
    dropped = 1 - weights.sum() / n_a
    weights /= weights.sum()
    mean_b = np.array([_mean(b) for b, _ in paired])
    mean_a = np.array([_mean(a) for _, a in paired])
    boot = np.zeros(resamples)
    for w, (b, a) in zip(weights, paired, strict=True):
        boot += w * (
            bootstrap_means(value_histogram(a, bins), resamples, rng)
            - bootstrap_means(value_histogram(b, bins), resamples, rng)
        )
    est = float(weights @ (mean_a - mean_b))
    low, high = percentile_interval(boot, confidence)
    kept_b = sum(b.size for b, _ in paired)
    kept_a = sum(a.size for _, a in paired)
    result = replace(
        base,
        baseline=float(weights @ mean_b),
        ai=float(weights @ mean_a),
        diff=est,
        ci_low=low,
        ci_high=high,
        p_value=van_elteren_p([(a, b) for b, a in paired]),
        n_baseline=kept_b,
        n_ai=kept_a,
        test="van Elteren (Mann-Whitney within topics)",
        ci_method=f"stratified percentile bootstrap, {resamples:,} resamples, {len(paired)} strata",
    )
    if dropped > 0:
        result = result.with_warning(
            f"{dropped:.1%} of AI tasks are in strata with no baseline tasks and are left out."
        )
    return result.with_warning(small_n_warning(kept_b, kept_a))
