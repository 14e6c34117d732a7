"""Means from value counts: the pooled and mix-adjusted comparisons when a sample arrives
as (distinct value, count) pairs counted in SQL, so memory grows with the distinct values
(a few hundred thousand at 100M tasks, since values come rounded to FLOAT), not the tasks.

Each function gives what its per-value twin in `bootstrap` and `means` gives on the
expanded sample ``np.repeat(values, counts)``: the same bins and counts (so the same
multinomial draws for a seed, hence the same interval), the same rank sums and p-values;
only the order of floating-point sums differs. Tests hold each to its twin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from outcome_pricing.proof.stats.bootstrap import (
    DEFAULT_BINS,
    DEFAULT_RESAMPLES,
    MAX_BINNING_LOSS,
    ValueHistogram,
    bootstrap_means,
    percentile_interval,
)
from outcome_pricing.proof.stats.comparison import (
    Comparison,
    check_confidence,
    empty_arm_warning,
    small_n_warning,
)
from outcome_pricing.proof.stats.means import (
    CONSTANT_WARNING,
    SCIPY_MWU_MAX_N,
    STRATUM_BINS,
    mann_whitney_p,
    two_sided_p,
)


@dataclass(frozen=True)
class ValueCounts:
    """A sample as its distinct finite values (ascending) and how often each occurs."""

    values: np.ndarray
    counts: np.ndarray

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    @property
    def mean(self) -> float:
        return float(self.values @ self.counts / self.n)

    def expand(self) -> np.ndarray:
        """The sample itself (sorted): for small samples and for tests."""
        return np.repeat(self.values, self.counts)


def value_counts(values: np.ndarray, counts: np.ndarray) -> ValueCounts:
    """Distinct finite values, ascending, with their summed counts (NaN, inf and 0 counts dropped)."""
    v = np.asarray(values, dtype=float)
    c = np.asarray(counts, dtype=np.int64)
    keep = np.isfinite(v) & (c > 0)
    uniques, inverse = np.unique(v[keep], return_inverse=True)
    summed = np.bincount(inverse, weights=c[keep], minlength=uniques.size)
    return ValueCounts(uniques, np.rint(summed).astype(np.int64))


def quantiles_of_counts(vc: ValueCounts, q: np.ndarray) -> np.ndarray:
    """`np.quantile(vc.expand(), q)` (the default linear method) without expanding."""
    n = vc.n
    position = (n - 1) * np.asarray(q, dtype=float)
    lower = np.floor(position)
    gamma = position - lower
    low_at = lower.astype(np.int64)
    high_at = np.minimum(low_at + 1, n - 1)
    ends = np.cumsum(vc.counts)  # value i holds the sorted positions ends[i-1] .. ends[i] - 1
    a = vc.values[np.searchsorted(ends, low_at, side="right")]
    b = vc.values[np.searchsorted(ends, high_at, side="right")]
    step = b - a
    # numpy's lerp: from the nearer end, so a quantile on a data value is that value exactly
    out: np.ndarray = np.where(gamma >= 0.5, b - step * (1 - gamma), a + step * gamma)
    return out


def histogram_of_counts(vc: ValueCounts, bins: int = DEFAULT_BINS) -> ValueHistogram:
    """`value_histogram(vc.expand(), bins)` from the counts: the same bins, counts and spread."""
    if vc.values.size == 0:
        return ValueHistogram(np.empty(0), np.empty(0, dtype=np.int64))
    x = vc.values
    lo, hi = float(x[0]), float(x[-1])
    if lo == hi:
        return ValueHistogram(np.array([lo]), np.array([vc.n], dtype=np.int64))
    idx = np.minimum(((x - lo) * (bins / (hi - lo))).astype(np.int64), bins - 1)
    hist = _binned_counts(vc, idx, bins)
    if hist.spread**2 > 1 / (1 - MAX_BINNING_LOSS):
        edges = np.union1d(np.linspace(lo, hi, bins + 1), quantiles_of_counts(vc, np.linspace(0, 1, bins + 1)))
        idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
        hist = _binned_counts(vc, idx, edges.size - 1)
    return hist


def _binned_counts(vc: ValueCounts, idx: np.ndarray, bins: int) -> ValueHistogram:
    x, w = vc.values, vc.counts
    counts = np.rint(np.bincount(idx, weights=w, minlength=bins)).astype(np.int64)
    sums = np.bincount(idx, weights=x * w, minlength=bins)
    means = sums / np.maximum(counts, 1)
    keep = counts > 0
    values, kept = means[keep], counts[keep]
    within = float((w * (x - means[idx]) ** 2).sum())
    between = float((kept * (values - vc.mean) ** 2).sum())
    n = vc.n  # the same spread as bootstrap._binned: hidden variance back, on the n - 1 scale
    spread = math.sqrt((1 + within / between) * n / (n - 1)) if between > 0 else 1.0
    return ValueHistogram(values, kept, spread)


def rank_sum_of_counts(x: ValueCounts, y: ValueCounts) -> tuple[float, float]:
    """`means._rank_sum` from counts: U of x minus its null mean, and its tie-corrected variance."""
    distinct = np.union1d(x.values, y.values)
    in_x = np.zeros(distinct.size, dtype=np.int64)
    in_x[np.searchsorted(distinct, x.values)] = x.counts
    runs = in_x.astype(float)
    np.add.at(runs, np.searchsorted(distinct, y.values), y.counts)
    starts = np.cumsum(runs) - runs
    nx, ny = x.n, y.n
    rank_sum = float(in_x @ (starts + (runs + 1) / 2))  # midranks, 1-based
    u = rank_sum - nx * (nx + 1) / 2
    n = nx + ny
    tie_term = float((runs**3 - runs).sum()) / (n * (n - 1)) if n > 1 else 0.0
    return u - nx * ny / 2, nx * ny / 12 * ((n + 1) - tie_term)


def mann_whitney_p_of_counts(x: ValueCounts, y: ValueCounts) -> float:
    """`means.mann_whitney_p` from counts (small samples are expanded for scipy, as there)."""
    if x.n + y.n <= SCIPY_MWU_MAX_N:
        return mann_whitney_p(x.expand(), y.expand())
    shift, variance = rank_sum_of_counts(x, y)
    return two_sided_p(abs(shift) - 0.5, variance)


def van_elteren_p_of_counts(strata: Sequence[tuple[ValueCounts, ValueCounts]]) -> float:
    """`means.van_elteren_p` from counts, stratum by stratum."""
    shift = variance = 0.0
    for x, y in strata:
        s, v = rank_sum_of_counts(x, y)
        weight = 1.0 / (x.n + y.n + 1)
        shift += weight * s
        variance += weight * weight * v
    return two_sided_p(abs(shift), variance)


def compare_counted_means(
    baseline: ValueCounts,
    ai: ValueCounts,
    *,
    metric: str,
    label: str,
    unit: str,
    rng: np.random.Generator,
    resamples: int = DEFAULT_RESAMPLES,
    definition: str = "",
    confidence: float = 0.95,
) -> Comparison:
    """`means.compare_means` on the samples behind two `ValueCounts` (same draws for a seed)."""
    check_confidence(confidence)
    b, a = baseline, ai
    base = Comparison(
        metric, label, unit, None, None, None, None, None, None, b.n, a.n,
        confidence=confidence, definition=definition,
    )
    empty = empty_arm_warning(b.n, a.n)
    if empty:
        return replace(
            base, baseline=b.mean if b.n else None, ai=a.mean if a.n else None, warning=empty,
        )
    diffs = bootstrap_means(histogram_of_counts(a), resamples, rng) - bootstrap_means(
        histogram_of_counts(b), resamples, rng
    )
    low, high = percentile_interval(diffs, confidence)
    result = replace(
        base, baseline=b.mean, ai=a.mean, diff=a.mean - b.mean, ci_low=low, ci_high=high,
        p_value=mann_whitney_p_of_counts(a, b), test="Mann-Whitney U",
        ci_method=f"percentile bootstrap, {resamples:,} resamples",
    )
    constant = a.values.size == 1 and b.values.size == 1
    return result.with_warning(small_n_warning(b.n, a.n)).with_warning(
        CONSTANT_WARNING if constant else None
    )


def compare_counted_means_stratified(
    strata: Sequence[tuple[ValueCounts, ValueCounts]],
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
    """`means.compare_means_stratified` from (baseline, AI) counts per stratum, strata in the
    order the twin sorts them (its stratum codes ascending)."""
    check_confidence(confidence)
    n_b, n_a = sum(b.n for b, _ in strata), sum(a.n for _, a in strata)
    base = Comparison(
        metric, label, unit, None, None, None, None, None, None, n_b, n_a,
        confidence=confidence, definition=definition,
    )
    empty = empty_arm_warning(n_b, n_a)
    if empty:
        return replace(base, warning=empty)
    paired = [(b, a) for b, a in strata if b.n and a.n]
    if not paired:
        return replace(base, warning="No stratum has tasks in both arms: no like-for-like comparison.")
    weights = np.array([a.n for _, a in paired], dtype=float)
    dropped = 1 - weights.sum() / n_a
    weights /= weights.sum()
    mean_b = np.array([b.mean for b, _ in paired])
    mean_a = np.array([a.mean for _, a in paired])
    boot = np.zeros(resamples)
    for w, (b, a) in zip(weights, paired, strict=True):
        boot += w * (
            bootstrap_means(histogram_of_counts(a, bins), resamples, rng)
            - bootstrap_means(histogram_of_counts(b, bins), resamples, rng)
        )
    low, high = percentile_interval(boot, confidence)
    kept_b, kept_a = sum(b.n for b, _ in paired), sum(a.n for _, a in paired)
    result = replace(
        base, baseline=float(weights @ mean_b), ai=float(weights @ mean_a),
        diff=float(weights @ (mean_a - mean_b)), ci_low=low, ci_high=high,
        p_value=van_elteren_p_of_counts([(a, b) for b, a in paired]),
        n_baseline=kept_b, n_ai=kept_a, test="van Elteren (Mann-Whitney within topics)",
        ci_method=f"stratified percentile bootstrap, {resamples:,} resamples, {len(paired)} strata",
    )
    if dropped > 0:
        result = result.with_warning(
            f"{dropped:.1%} of AI tasks are in strata with no baseline tasks and are left out."
        )
    return result.with_warning(small_n_warning(kept_b, kept_a))


# ------------------------------------------------------------------ per-value entry points
# A sample of values is its value counts with a count of one each: one implementation of the
# comparisons, whether the sample comes as values or counted in SQL.
def counted(values: np.ndarray) -> ValueCounts:
    """The finite values of a sample as value counts (NaN and inf dropped)."""
    x = np.asarray(values, dtype=float)
    return value_counts(x, np.ones(x.size, dtype=np.int64))


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
    return compare_counted_means(counted(baseline), counted(ai), metric=metric, label=label, unit=unit, rng=rng,
                                 resamples=resamples, definition=definition, confidence=confidence)


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
    of the Mann-Whitney test used for the pooled means. Strata in ascending code order.
    """
    values, is_ai, strata = np.asarray(values, dtype=float), np.asarray(is_ai, dtype=bool), np.asarray(strata)
    keep = np.isfinite(values)
    values, is_ai, strata = values[keep], is_ai[keep], strata[keep]
    order = np.argsort(strata, kind="stable")
    values, is_ai, strata = values[order], is_ai[order], strata[order]
    starts = np.flatnonzero(np.r_[True, strata[1:] != strata[:-1]]) if strata.size else np.array([], dtype=int)
    groups = np.split(np.arange(strata.size), starts[1:])
    pairs = [(counted(values[g][~is_ai[g]]), counted(values[g][is_ai[g]])) for g in groups if g.size]
    return compare_counted_means_stratified(pairs, metric=metric, label=label, unit=unit, rng=rng,
                                            resamples=resamples, bins=bins, definition=definition,
                                            confidence=confidence)
