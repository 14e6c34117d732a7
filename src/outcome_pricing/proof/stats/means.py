"""Means: rank tests (Mann-Whitney, van Elteren) and the pooled and mix-adjusted comparisons."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

STRATUM_BINS = 32
# Up to this many values in total, scipy's Mann-Whitney (exact for small samples) is cheap.
SCIPY_MWU_MAX_N = 10_000


def mann_whitney_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided Mann-Whitney U p-value (normal approximation with tie correction).

    Small samples go to scipy (exact where it can be); large ones use one
    merge of the two sorted samples, which is what keeps 1M tasks fast. Both
    agree with scipy's asymptotic method (tested).
    """
    if x.size + y.size <= SCIPY_MWU_MAX_N:
        return float(sps.mannwhitneyu(x, y, alternative="two-sided").pvalue)
    shift, variance = _rank_sum(x, y)
    return two_sided_p(abs(shift) - 0.5, variance)  # continuity correction, as scipy


def van_elteren_p(strata: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Two-sided van Elteren test: Mann-Whitney within each stratum, summed with weights
    1 / (n_s + 1). Asks whether one arm's values tend to be lower within strata."""
    shift = variance = 0.0
    for x, y in strata:
        s, v = _rank_sum(x, y)
        weight = 1.0 / (x.size + y.size + 1)
        shift += weight * s
        variance += weight * weight * v
    return two_sided_p(abs(shift), variance)


def _rank_sum(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """U of x against y minus its mean under no difference, and its tie-corrected variance."""
    nx, ny = x.size, y.size
    xs, ys = np.sort(x), np.sort(y)
    merged = np.sort(np.concatenate([xs, ys]), kind="stable")  # two sorted runs: a linear merge
    starts = np.flatnonzero(np.r_[True, merged[1:] != merged[:-1]])
    runs = np.diff(np.r_[starts, merged.size]).astype(float)
    distinct = merged[starts]
    in_x = np.searchsorted(xs, distinct, side="right") - np.searchsorted(xs, distinct, side="left")
    rank_sum = float(in_x @ (starts + (runs + 1) / 2))  # midranks, 1-based
    u = rank_sum - nx * (nx + 1) / 2
    n = nx + ny
    tie_term = float((runs**3 - runs).sum()) / (n * (n - 1)) if n > 1 else 0.0
    return u - nx * ny / 2, nx * ny / 12 * ((n + 1) - tie_term)


def two_sided_p(distance: float, variance: float) -> float:
    """Two-sided normal p-value of a distance from the null mean with this variance."""
    if variance <= 0:
        return 1.0
    return float(min(1.0, 2 * sps.norm.sf(max(distance, 0.0) / math.sqrt(variance))))


CONSTANT_WARNING = "Every value is the same within each arm: the interval has zero width; check the data."
