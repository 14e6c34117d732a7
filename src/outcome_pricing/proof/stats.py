"""Two-arm statistics for "before and after the AI": generic, numpy/scipy only.

A `Comparison` is one metric compared between a baseline arm and an AI arm:
the two estimates, the difference AI - baseline with a confidence interval, a
p-value, the sample sizes and, when the data cannot carry the claim, a
warning in words (never NaN, never an exception).

Methods, and why:

- **Means** (`compare_means`): the interval is a percentile bootstrap of the
  difference of means; the p-value is a two-sided Mann-Whitney U test (a rank
  test, robust to the long right tail of handling times; it asks whether one
  arm's values tend to be lower, the interval says by how much on average).
- **Bootstrap at scale** (`value_histogram`, `bootstrap_means`): resampling n
  values with replacement from a sample is the same as drawing multinomial
  counts over its distinct values, and the resampled mean only depends on
  those counts. We therefore group the values into at most a few hundred bins
  (each represented by the mean of its values, so the sample mean is kept
  exactly) and draw multinomial counts per resample: the cost is
  resamples x bins instead of resamples x n, so 1M tasks bootstrap in
  milliseconds. It is exact when the data take few distinct values (CSAT
  1..5). Otherwise the bins hide the spread inside them; the resampled means
  are then stretched about the sample mean by sqrt(total / between-bin sum
  of squares), which makes their variance equal to the plain bootstrap's
  while keeping the binned shape. They are also stretched by sqrt(n / (n - 1))
  so the variance is s^2 / n with the unbiased s^2 (the plain bootstrap runs
  short by (n - 1) / n, which shows in small samples). Where
  bins would hide more than `MAX_BINNING_LOSS` of the variance (an outlier
  stretches the range), quantile edges are added first so the bulk of the
  data is resolved. Tests check it against a plain index-resampling bootstrap.
- **Rates** (`compare_rates`): Newcombe's hybrid score interval (method 10 of
  Newcombe 1998, built from two Wilson intervals) for the difference of two
  proportions; p from Pearson's chi-square test of the 2x2 table, or Fisher's
  exact test when an expected count is below 5.
- **Mix adjustment** (`compare_means_stratified`): per-stratum differences of
  means, weighted by the AI arm's stratum mix (what the AI-era work would have
  taken at baseline speed, topic by topic), with a stratified bootstrap and
  van Elteren's stratified rank test.
- **Power** (`tasks_per_arm_for_mean`, `tasks_per_arm_for_rates`, ...): the
  two-sample t-test (noncentral t) and the two-proportion normal
  approximation (Fleiss, no continuity correction), both two-sided.

Every random step takes a numpy Generator: the same seed gives the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
from scipy import optimize
from scipy import stats as sps

from outcome_pricing.errors import ConfigError

# Below these, an interval or p-value is too fragile to put in front of a customer.
MIN_N_PER_ARM = 30
MIN_EVENTS = 5
DEFAULT_RESAMPLES = 2000
DEFAULT_BINS = 64
MAX_BINNING_LOSS = 0.05
STRATUM_BINS = 32
# Up to this many values in total, scipy's Mann-Whitney (exact for small samples) is cheap.
SCIPY_MWU_MAX_N = 10_000


@dataclass(frozen=True)
class Comparison:
    """One metric, baseline arm against AI arm.

    `baseline` and `ai` are the arm estimates (means per task, or rates as
    fractions), `diff` = ai - baseline in the metric's unit, `ci_low`/`ci_high`
    the confidence interval of `diff`, `p_value` two-sided. Values the data
    cannot support are None and `warning` says why. For a single-arm metric
    (e.g. the handoff rate, which only exists where the AI is live) `baseline`,
    `diff` and `p_value` are None and the interval is that of `ai`.
    """

    metric: str
    label: str
    unit: str
    baseline: float | None
    ai: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_baseline: int
    n_ai: int
    test: str = ""
    ci_method: str = ""
    confidence: float = 0.95
    events_baseline: int | None = None
    events_ai: int | None = None
    definition: str = ""
    warning: str | None = None

    @property
    def is_rate(self) -> bool:
        return self.unit == "fraction"

    @property
    def significant(self) -> bool:
        """The interval excludes zero (so the data show a change at this confidence)."""
        if self.ci_low is None or self.ci_high is None or self.diff is None:
            return False
        return self.ci_low > 0 or self.ci_high < 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: numbers as numbers, missing values as None."""
        return {k: _plain(v) for k, v in asdict(self).items()}

    def with_warning(self, text: str | None) -> Comparison:
        """A copy with `text` added to the warning."""
        if not text:
            return self
        joined = f"{self.warning} {text}" if self.warning else text
        return replace(self, warning=joined)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def z_value(confidence: float) -> float:
    """The two-sided normal quantile for a confidence level (0.95 -> 1.96)."""
    return float(sps.norm.ppf(0.5 + confidence / 2))


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be between 0 and 1 (exclusive), got {confidence}.")


# ------------------------------------------------------------------ rates
def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n (n > 0)."""
    if n <= 0:
        raise ConfigError("wilson_interval needs n > 0.")
    z = z_value(confidence)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(
    k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p1 - p2 (method 10, Newcombe 1998).

    Worked example from the paper: 56/70 against 48/80 gives 0.0524 to 0.3339.
    """
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, confidence)
    l2, u2 = wilson_interval(k2, n2, confidence)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return low, high


def rate_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, str]:
    """Two-sided p-value for equal proportions, and the test used.

    Pearson chi-square (no continuity correction, matching the score
    interval) unless an expected count is below 5, then Fisher's exact test.
    With no events (or only events) in both arms the rates are equal: p = 1.
    """
    events, total = k1 + k2, n1 + n2
    if events in (0, total):
        return 1.0, "none (no variation)"
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]])
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    if expected.min() < MIN_EVENTS:
        return float(sps.fisher_exact(table).pvalue), "Fisher exact"
    result = sps.chi2_contingency(table, correction=False)
    return float(result.pvalue), "chi-square"


def compare_rates(
    k_baseline: int,
    n_baseline: int,
    k_ai: int,
    n_ai: int,
    *,
    metric: str,
    label: str,
    definition: str = "",
    confidence: float = 0.95,
) -> Comparison:
    """Rate among the AI arm minus rate among the baseline arm (fractions)."""
    _check_confidence(confidence)
    base = Comparison(
        metric, label, "fraction", None, None, None, None, None, None,
        int(n_baseline), int(n_ai), confidence=confidence,
        events_baseline=int(k_baseline), events_ai=int(k_ai), definition=definition,
    )
    empty = _empty_arm_warning(n_baseline, n_ai)
    if empty:
        rate_b = k_baseline / n_baseline if n_baseline else None
        rate_a = k_ai / n_ai if n_ai else None
        return replace(base, baseline=rate_b, ai=rate_a, warning=empty)
    low, high = newcombe_interval(k_ai, n_ai, k_baseline, n_baseline, confidence)
    p, test = rate_test(k_ai, n_ai, k_baseline, n_baseline)
    result = replace(
        base,
        baseline=k_baseline / n_baseline,
        ai=k_ai / n_ai,
        diff=k_ai / n_ai - k_baseline / n_baseline,
        ci_low=low,
        ci_high=high,
        p_value=p,
        test=test,
        ci_method="Newcombe hybrid score (Wilson)",
    )
    return result.with_warning(_small_n_warning(n_baseline, n_ai)).with_warning(
        _small_rate_warning(k_baseline, n_baseline, k_ai, n_ai)
    )


def single_rate(
    k: int, n: int, *, metric: str, label: str, definition: str = "", confidence: float = 0.95
) -> Comparison:
    """A rate that only exists in the AI arm (e.g. handoffs): Wilson interval of the rate."""
    _check_confidence(confidence)
    base = Comparison(
        metric, label, "fraction", None, None, None, None, None, None, 0, int(n),
        confidence=confidence, events_ai=int(k), definition=definition,
        ci_method="Wilson score (of the AI rate)",
    )
    if n == 0:
        return replace(base, warning="No AI tasks in this selection: no rate to report.")
    low, high = wilson_interval(k, n, confidence)
    result = replace(base, ai=k / n, ci_low=low, ci_high=high)
    if min(k, n - k) < MIN_EVENTS:
        result = result.with_warning(
            f"Only {_events(k, n)} among {n:,} AI tasks (fewer than {MIN_EVENTS}): "
            "the rate is very uncertain."
        )
    return result


def _empty_arm_warning(n_baseline: int, n_ai: int) -> str | None:
    if n_baseline == 0 and n_ai == 0:
        return "No tasks in either arm for this metric: nothing to compare."
    if n_baseline == 0:
        return "No baseline tasks (ai_enabled = false) for this metric: nothing to compare against."
    if n_ai == 0:
        return "No AI tasks (ai_enabled = true) for this metric: nothing to compare."
    return None


def _small_rate_warning(k_b: int, n_b: int, k_a: int, n_a: int) -> str | None:
    small = [
        f"{arm} has {_events(k, n)} of {n:,}"
        for arm, k, n in (("baseline", k_b, n_b), ("AI", k_a, n_a))
        if min(k, n - k) < MIN_EVENTS
    ]
    if not small:
        return None
    return (
        f"Too few events to say much ({'; '.join(small)}; fewer than {MIN_EVENTS}): "
        "read the interval, not the point estimate."
    )


def _events(k: int, n: int) -> str:
    """'3 events' or '2 non-events', whichever is rarer (the one that limits the test)."""
    rare, word = (k, "event") if k <= n - k else (n - k, "non-event")
    return f"{rare} {word}{'' if rare == 1 else 's'}"


def _small_n_warning(n_b: int, n_a: int) -> str | None:
    small = [f"{arm} n = {n:,}" for arm, n in (("baseline", n_b), ("AI", n_a)) if n < MIN_N_PER_ARM]
    if not small:
        return None
    return (
        f"Small sample ({', '.join(small)}; fewer than {MIN_N_PER_ARM} per arm): the interval "
        "and p-value are unreliable; treat the result as anecdotal."
    )


# ------------------------------------------------------------------ bootstrap of means
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
    means = draws @ hist.values / hist.n
    return hist.mean + (means - hist.mean) * hist.spread


def percentile_interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2
    low, high = np.quantile(samples, [tail, 1 - tail])
    return float(low), float(high)


def mann_whitney_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided Mann-Whitney U p-value (normal approximation with tie correction).

    Small samples go to scipy (exact where it can be); large ones use one
    merge of the two sorted samples, which is what keeps 1M tasks fast. Both
    agree with scipy's asymptotic method (tested).
    """
    if x.size + y.size <= SCIPY_MWU_MAX_N:
        return float(sps.mannwhitneyu(x, y, alternative="two-sided").pvalue)
    shift, variance = _rank_sum(x, y)
    return _two_sided_p(abs(shift) - 0.5, variance)  # continuity correction, as scipy


def van_elteren_p(strata: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Two-sided van Elteren test: Mann-Whitney within each stratum, summed with weights
    1 / (n_s + 1). Asks whether one arm's values tend to be lower within strata."""
    shift = variance = 0.0
    for x, y in strata:
        s, v = _rank_sum(x, y)
        weight = 1.0 / (x.size + y.size + 1)
        shift += weight * s
        variance += weight * weight * v
    return _two_sided_p(abs(shift), variance)


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


def _two_sided_p(distance: float, variance: float) -> float:
    if variance <= 0:
        return 1.0
    return float(min(1.0, 2 * sps.norm.sf(max(distance, 0.0) / math.sqrt(variance))))


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
    _check_confidence(confidence)
    b = _finite(baseline)
    a = _finite(ai)
    base = Comparison(
        metric, label, unit, None, None, None, None, None, None, b.size, a.size,
        confidence=confidence, definition=definition,
    )
    empty = _empty_arm_warning(b.size, a.size)
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
    return result.with_warning(_small_n_warning(b.size, a.size)).with_warning(_constant_warning(a, b))


def _finite(x: np.ndarray) -> np.ndarray:
    """The finite values; float32 stays float32 (it sorts ~3x faster for the rank tests)."""
    x = np.asarray(x)
    if x.dtype != np.float32:
        x = x.astype(float)
    return x[np.isfinite(x)]


def _mean(x: np.ndarray) -> float:
    return float(x.mean(dtype=np.float64))


def _constant_warning(a: np.ndarray, b: np.ndarray) -> str | None:
    if a.min() == a.max() and b.min() == b.max():
        return "Every value is the same within each arm: the interval has zero width; check the data."
    return None


# ------------------------------------------------------------------ mix adjustment
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
    _check_confidence(confidence)
    keep = np.isfinite(values)
    values, is_ai, strata = _finite(values[keep]), is_ai[keep].astype(bool), strata[keep]
    n_b, n_a = int((~is_ai).sum()), int(is_ai.sum())
    base = Comparison(
        metric, label, unit, None, None, None, None, None, None, n_b, n_a,
        confidence=confidence, definition=definition,
    )
    empty = _empty_arm_warning(n_b, n_a)
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
    return result.with_warning(_small_n_warning(kept_b, kept_a))


# ------------------------------------------------------------------ power
def _check_alpha_power(alpha: float, power: float) -> None:
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha (the false-alarm rate) must be between 0 and 1, got {alpha}.")
    if not 0 < power < 1:
        raise ConfigError(f"power must be between 0 and 1, got {power}.")


def t_test_power(n: float, effect_size: float, alpha: float = 0.05) -> float:
    """Power of a two-sided two-sample t-test, n per arm, effect in SD units (Cohen's d)."""
    df = 2 * n - 2
    crit = sps.t.ppf(1 - alpha / 2, df)
    nc = abs(effect_size) * math.sqrt(n / 2)
    power = float(sps.nct.sf(crit, df, nc) + sps.nct.cdf(-crit, df, nc))
    # scipy's noncentral t returns NaN far in the tail, where the power is 1.
    return 1.0 if math.isnan(power) else power


def tasks_per_arm_for_mean(delta: float, sd: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Tasks per arm for a two-sided two-sample t-test to detect a change `delta` in a mean.

    d = 0.5 (delta 0.5 with sd 1), alpha 0.05, power 0.8 -> 64 per arm.
    """
    _check_alpha_power(alpha, power)
    if sd <= 0:
        raise ConfigError(f"The standard deviation must be positive, got {sd}.")
    if delta == 0:
        raise ConfigError("The change to detect must not be zero.")
    d = abs(delta) / sd
    n = max(2, math.ceil(2 * ((z_value(1 - alpha) + sps.norm.ppf(power)) / d) ** 2))
    while n > 2 and t_test_power(n - 1, d, alpha) >= power:
        n -= 1
    while t_test_power(n, d, alpha) < power:
        n += 1
    return n


def detectable_mean_change(n: int, sd: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest change in a mean detectable with n tasks per arm (same units as sd)."""
    _check_alpha_power(alpha, power)
    if n < 2:
        raise ConfigError(f"Need at least 2 tasks per arm, got {n}.")
    if sd <= 0:
        raise ConfigError(f"The standard deviation must be positive, got {sd}.")
    d = optimize.brentq(lambda e: t_test_power(n, e, alpha) - power, 1e-9, 100.0)
    return float(d * sd)


def rates_power(n: float, p1: float, p2: float, alpha: float = 0.05) -> float:
    """Power of the two-sided two-proportion z-test with n per arm (normal approximation)."""
    pbar = (p1 + p2) / 2
    spread = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    if spread == 0:
        return 1.0 if p1 != p2 else 0.0
    za = z_value(1 - alpha)
    z = (abs(p1 - p2) * math.sqrt(n) - za * math.sqrt(2 * pbar * (1 - pbar))) / spread
    return float(sps.norm.cdf(z))


def tasks_per_arm_for_rates(p1: float, p2: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Tasks per arm to detect a change of a rate from p1 to p2 (Fleiss, no continuity correction).

    n = (z_a sqrt(2 pbar qbar) + z_b sqrt(p1 q1 + p2 q2))^2 / (p1 - p2)^2;
    0.5 against 0.6 at alpha 0.05, power 0.8 -> 388 per arm.
    """
    _check_alpha_power(alpha, power)
    for name, p in (("p1", p1), ("p2", p2)):
        if not 0 <= p <= 1:
            raise ConfigError(f"{name} must be a rate between 0 and 1, got {p}.")
    if p1 == p2:
        raise ConfigError("The two rates are equal: there is no change to detect.")
    pbar = (p1 + p2) / 2
    root = z_value(1 - alpha) * math.sqrt(2 * pbar * (1 - pbar)) + sps.norm.ppf(power) * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    return max(1, math.ceil(root**2 / (p1 - p2) ** 2))


def detectable_rate_change(
    n: int,
    p1: float,
    alpha: float = 0.05,
    power: float = 0.8,
    direction: Literal["decrease", "increase"] = "decrease",
) -> float | None:
    """The smallest absolute change from rate p1 detectable with n tasks per arm.

    None when even the largest possible change (to 0 or to 1) is not detectable.
    """
    _check_alpha_power(alpha, power)
    if n < 1:
        raise ConfigError(f"Need at least 1 task per arm, got {n}.")
    if not 0 <= p1 <= 1:
        raise ConfigError(f"The baseline rate must be between 0 and 1, got {p1}.")
    sign = -1 if direction == "decrease" else 1
    room = p1 if direction == "decrease" else 1 - p1
    if room <= 0 or rates_power(n, p1, p1 + sign * room, alpha) < power:
        return None
    return float(
        optimize.brentq(lambda d: rates_power(n, p1, p1 + sign * d, alpha) - power, 1e-12, room)
    )
