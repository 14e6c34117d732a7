"""Rates: Wilson and Newcombe intervals, chi-square or Fisher tests, the rate comparisons."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy import stats as sps

from outcome_pricing.errors import ConfigError
from outcome_pricing.proof.stats.comparison import (
    MIN_EVENTS,
    Comparison,
    check_confidence,
    empty_arm_warning,
    small_n_warning,
    z_value,
)


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
    check_confidence(confidence)
    base = Comparison(
        metric, label, "fraction", None, None, None, None, None, None,
        int(n_baseline), int(n_ai), confidence=confidence,
        events_baseline=int(k_baseline), events_ai=int(k_ai), definition=definition,
    )
    empty = empty_arm_warning(n_baseline, n_ai)
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
    return result.with_warning(small_n_warning(n_baseline, n_ai)).with_warning(
        _small_rate_warning(k_baseline, n_baseline, k_ai, n_ai)
    )


def single_rate(
    k: int, n: int, *, metric: str, label: str, definition: str = "", confidence: float = 0.95
) -> Comparison:
    """A rate that only exists in the AI arm (e.g. handoffs): Wilson interval of the rate."""
    check_confidence(confidence)
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
