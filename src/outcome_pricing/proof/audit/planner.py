"""How many audits: the sample size for a 95% interval of half-width m (finite population).

n0 = z^2 p (1 - p) / m^2 with z = 1.959963985, then n = ceil(n0 / (1 + (n0 - 1) / N))
for a population of N billable tasks (Cochran, Sampling Techniques, 3rd ed., 4.2).
The expected rate p is the current estimate, 0.5 (the worst case) without audits.
"""

from __future__ import annotations

import math

from outcome_pricing.errors import ConfigError

Z_95 = 1.959963985
WORST_CASE_RATE = 0.5


def sample_size(margin: float, population: int, rate: float | None = None) -> int:
    """Audits needed for a 95% interval of half-width `margin` among `population` tasks."""
    if not 0 < margin < 1:
        raise ConfigError(f"The margin must be between 0 and 1 (e.g. 0.03 for +-3 points), got {margin}.")
    if population < 0:
        raise ConfigError(f"The population must be a count of tasks, got {population}.")
    if population == 0:
        return 0
    p = WORST_CASE_RATE if rate is None else rate
    if not 0 <= p <= 1:
        raise ConfigError(f"The expected rate must be between 0 and 1, got {p}.")
    n0 = Z_95**2 * p * (1 - p) / margin**2
    return min(population, math.ceil(n0 / (1 + (n0 - 1) / population)))
