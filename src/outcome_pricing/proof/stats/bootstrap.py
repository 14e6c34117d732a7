"""The bootstrap of a mean at scale: resampling counts over a value histogram."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from outcome_pricing.errors import ConfigError

DEFAULT_RESAMPLES = 2000
DEFAULT_BINS = 64
MAX_BINNING_LOSS = 0.05


@dataclass(frozen=True)
class ValueHistogram:
    """A sample reduced to bins: the mean value and the count of each non-empty bin.

    `spread` = sqrt(total / between-bin sum of squares x n / (n - 1)) >= 1
    restores the variance the bins hide, on the unbiased (n - 1) scale.
    """

    values: np.ndarray
    counts: np.ndarray
    spread: float = 1.0

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    @property
    def mean(self) -> float:
        return float(self.values @ self.counts / self.n)


def value_histogram(x: np.ndarray, bins: int = DEFAULT_BINS) -> ValueHistogram:
    """Group finite values into at most ~2 x `bins` bins, each represented by its mean.

    Equal-width bins first; if they hide more than MAX_BINNING_LOSS of the
    variance (an outlier stretches the range), quantile edges are added so the
    bulk of the data is resolved too.
    """
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return ValueHistogram(np.empty(0), np.empty(0, dtype=np.int64))
    lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        return ValueHistogram(np.array([lo]), np.array([x.size], dtype=np.int64))
    idx = np.minimum(((x - lo) * (bins / (hi - lo))).astype(np.int64), bins - 1)
    hist = _binned(x, idx, bins)
    if hist.spread**2 > 1 / (1 - MAX_BINNING_LOSS):
        edges = np.union1d(np.linspace(lo, hi, bins + 1), np.quantile(x, np.linspace(0, 1, bins + 1)))
        idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
        hist = _binned(x, idx, edges.size - 1)
    return hist


def _binned(x: np.ndarray, idx: np.ndarray, bins: int) -> ValueHistogram:
    counts = np.bincount(idx, minlength=bins)
    sums = np.bincount(idx, weights=x, minlength=bins)
    means = sums / np.maximum(counts, 1)
    keep = counts > 0
    values, kept = means[keep], counts[keep].astype(np.int64)
    within = float(((x - means[idx]) ** 2).sum())  # exactly 0 when each bin holds one value
    between = float((kept * (values - x.mean()) ** 2).sum())
    # Restore the spread hidden inside bins, and use the unbiased n - 1 variance (a plain
    # bootstrap's s^2 / n runs short by (n - 1) / n, which matters in small samples).
    n = x.size
    spread = math.sqrt((1 + within / between) * n / (n - 1)) if between > 0 else 1.0
    return ValueHistogram(values, kept, spread)


def bootstrap_means(hist: ValueHistogram, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """`resamples` bootstrap means of the sample behind `hist` (multinomial counts per resample)."""
    if hist.n == 0:
        raise ConfigError("Cannot bootstrap an empty sample.")
    if hist.values.size == 1:
        return np.full(resamples, float(hist.values[0]))
    draws = rng.multinomial(hist.n, hist.counts / hist.n, size=resamples)
    means: np.ndarray = draws @ hist.values / hist.n
    return hist.mean + (means - hist.mean) * hist.spread


def percentile_interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2
    low, high = np.quantile(samples, [tail, 1 - tail])
    return float(low), float(high)
