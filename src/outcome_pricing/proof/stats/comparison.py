"""The result of every two-arm comparison, and the warnings shared by rates and means."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from scipy import stats as sps

from outcome_pricing.errors import ConfigError

# Below these, an interval or p-value is too fragile to put in front of a customer.
MIN_N_PER_ARM = 30
MIN_EVENTS = 5


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


def check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be between 0 and 1 (exclusive), got {confidence}.")


def empty_arm_warning(n_baseline: int, n_ai: int) -> str | None:
    if n_baseline == 0 and n_ai == 0:
        return "No tasks in either arm for this metric: nothing to compare."
    if n_baseline == 0:
        return "No baseline tasks (ai_enabled = false) for this metric: nothing to compare against."
    if n_ai == 0:
        return "No AI tasks (ai_enabled = true) for this metric: nothing to compare."
    return None


def small_n_warning(n_b: int, n_a: int) -> str | None:
    small = [f"{arm} n = {n:,}" for arm, n in (("baseline", n_b), ("AI", n_a)) if n < MIN_N_PER_ARM]
    if not small:
        return None
    return (
        f"Small sample ({', '.join(small)}; fewer than {MIN_N_PER_ARM} per arm): the interval "
        "and p-value are unreliable; treat the result as anecdotal."
    )
