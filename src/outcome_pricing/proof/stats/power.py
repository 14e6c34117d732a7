"""Power and sample size: tasks per arm to detect a change, and the change n tasks can detect."""

from __future__ import annotations

import math
from typing import Literal

from scipy import optimize
from scipy import stats as sps

from outcome_pricing.errors import ConfigError
from outcome_pricing.proof.stats.comparison import z_value

# Where a pilot calculator starts when the data cannot say (the user changes any of them).
PILOT_SD_FALLBACK = 10.0  # minutes per task: a spread when the selection has none to measure
PILOT_BASELINE_RATE_FALLBACK = 0.1  # a baseline rate when the selection has no audited baseline tasks
PILOT_TARGET_FACTOR = 0.7  # the rate worth detecting: 30% below the baseline


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
    n: int = max(2, math.ceil(2 * ((z_value(1 - alpha) + sps.norm.ppf(power)) / d) ** 2))
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
    root: float = z_value(1 - alpha) * math.sqrt(2 * pbar * (1 - pbar)) + sps.norm.ppf(power) * math.sqrt(
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


# ---------------------------------------------------------------------- pilot starting points
def pilot_sd(measured: float | None) -> float:
    """The spread a pilot calculator starts from: the measured one, else `PILOT_SD_FALLBACK`
    (a spread of 0 cannot size a test, so it falls back too)."""
    return measured or PILOT_SD_FALLBACK


def pilot_baseline_rate(measured: float | None) -> float:
    """The baseline rate a pilot calculator starts from: the measured one, else the fallback."""
    return measured if measured is not None else PILOT_BASELINE_RATE_FALLBACK


def pilot_target_rate(baseline: float) -> float:
    """The rate a pilot calculator proposes to detect: `PILOT_TARGET_FACTOR` x the baseline."""
    return max(baseline * PILOT_TARGET_FACTOR, 0.0)
