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
- **Counted samples** (`ValueCounts`, `compare_counted_means`, ...): the same
  comparisons from (distinct value, count) pairs counted in SQL, so a 100M-task
  summary never holds the tasks in memory: the histogram, hence every
  bootstrap draw for a seed, and the rank sums equal those of the expanded
  sample (tested against the per-value functions).
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

The package: ``comparison`` (:class:`Comparison`, shared warnings), ``rates``,
``bootstrap`` (value histograms), ``means`` (rank tests, pooled and stratified
means), ``counted`` (the same from value counts) and ``power`` (sample sizes); every public name is importable from here.
"""

from __future__ import annotations

from outcome_pricing.proof.stats.bootstrap import (
    DEFAULT_BINS,
    DEFAULT_RESAMPLES,
    MAX_BINNING_LOSS,
    ValueHistogram,
    bootstrap_means,
    percentile_interval,
    value_histogram,
)
from outcome_pricing.proof.stats.comparison import MIN_EVENTS, MIN_N_PER_ARM, Comparison, z_value
from outcome_pricing.proof.stats.counted import (
    ValueCounts,
    compare_counted_means,
    compare_counted_means_stratified,
    compare_means,
    compare_means_stratified,
    counted,
    histogram_of_counts,
    mann_whitney_p_of_counts,
    quantiles_of_counts,
    rank_sum_of_counts,
    value_counts,
    van_elteren_p_of_counts,
)
from outcome_pricing.proof.stats.means import (
    SCIPY_MWU_MAX_N,
    STRATUM_BINS,
    mann_whitney_p,
    van_elteren_p,
)
from outcome_pricing.proof.stats.power import (
    PILOT_BASELINE_RATE_FALLBACK,
    PILOT_SD_FALLBACK,
    PILOT_TARGET_FACTOR,
    detectable_mean_change,
    detectable_rate_change,
    pilot_baseline_rate,
    pilot_sd,
    pilot_target_rate,
    rates_power,
    t_test_power,
    tasks_per_arm_for_mean,
    tasks_per_arm_for_rates,
)
from outcome_pricing.proof.stats.rates import (
    compare_rates,
    newcombe_interval,
    rate_test,
    single_rate,
    wilson_interval,
)

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_RESAMPLES",
    "MAX_BINNING_LOSS",
    "MIN_EVENTS",
    "MIN_N_PER_ARM",
    "PILOT_BASELINE_RATE_FALLBACK",
    "PILOT_SD_FALLBACK",
    "PILOT_TARGET_FACTOR",
    "SCIPY_MWU_MAX_N",
    "STRATUM_BINS",
    "Comparison",
    "ValueCounts",
    "ValueHistogram",
    "bootstrap_means",
    "compare_counted_means",
    "compare_counted_means_stratified",
    "compare_means",
    "counted",
    "compare_means_stratified",
    "compare_rates",
    "detectable_mean_change",
    "detectable_rate_change",
    "histogram_of_counts",
    "mann_whitney_p",
    "mann_whitney_p_of_counts",
    "newcombe_interval",
    "percentile_interval",
    "pilot_baseline_rate",
    "pilot_sd",
    "pilot_target_rate",
    "quantiles_of_counts",
    "rank_sum_of_counts",
    "rate_test",
    "rates_power",
    "single_rate",
    "t_test_power",
    "tasks_per_arm_for_mean",
    "tasks_per_arm_for_rates",
    "value_counts",
    "value_histogram",
    "van_elteren_p",
    "van_elteren_p_of_counts",
    "wilson_interval",
    "z_value",
]
