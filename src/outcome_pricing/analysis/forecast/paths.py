"""The random paths of the forecast and the usage they imply (the model is in the package docstring).

The public pieces other analyses build on (analysis.deal_risk prices a deal's risk on
the very same scenarios): :class:`Baseline` (per-account parameters), :func:`draw_paths`
(one block's volume, rate and survival), :class:`Usage` (the charge metrics of a block,
computed on first use), :func:`block_sizes` and ``BLOCK_SCENARIOS`` (how scenarios are
cut into seeded blocks).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from outcome_pricing.analysis.forecast.assumptions import Assumptions
from outcome_pricing.pricing.terms import Metric

# Scenarios are simulated in blocks of this many; part of the seed's meaning
# (each block draws from its own SeedSequence child), so keep it fixed.
BLOCK_SCENARIOS = 25
Floats = npt.NDArray[np.float64]  # every array of the simulation: per account, or (scenarios, accounts, months)


@dataclass(frozen=True)
class Baseline:
    """Per-account parameters as arrays of shape (accounts,)."""

    tasks: Floats
    growth: Floats
    ai_share: Floats
    rate0: Floats
    ceiling_factor: Floats
    rate_cap: Floats
    hours_per_open_task: Floats
    seats: Floats
    seat_price: Floats
    in_per_conv: Floats
    out_per_conv: Floats
    token_cost: Floats
    other_cost: Floats
    savings_per_outcome: Floats  # DESIGN 11 gain-share: savings_usd per outcome (0 without the column)
    # Metrics the plans read beyond the seven (settled outcomes, a metric's share by dimension
    # value): key -> (the metric it scales, the per-account factor held over the horizon).
    derived: Mapping[str, tuple[str, Floats]] = field(default_factory=dict)

    @classmethod
    def of(cls, a: Assumptions) -> Baseline:
        acc = a.accounts

        def col(name: str) -> Floats:
            return acc[name].to_numpy(dtype=np.float64)

        rate0 = col("resolution_rate")
        return cls(
            tasks=col("tasks"),
            growth=a.volume_growth + col("growth_offset"),
            ai_share=col("ai_share"),
            rate0=rate0,
            ceiling_factor=col("ceiling_factor"),
            rate_cap=col("rate_cap"),
            hours_per_open_task=col("hours_per_open_task"),
            seats=col("seats"),
            seat_price=col("seat_price"),
            in_per_conv=col("input_tokens_m_per_conversation"),
            out_per_conv=col("output_tokens_m_per_conversation"),
            token_cost=col("token_cost_per_conversation"),
            other_cost=col("other_cost_per_conversation"),
            savings_per_outcome=col("savings_per_outcome") if "savings_per_outcome" in acc else np.zeros(len(acc)),
            derived={key: (base, col(key)) for key, base in a.derived.items()},
        )


@dataclass
class Paths:
    """One block of scenarios: the random parts, shape (scenarios, accounts, months)."""

    volume: Floats  # tasks before price response and churn
    rate: Floats  # outcomes per conversation
    alive: Floats | None  # 1.0 while the account has not churned; None = no churn


def draw_paths(a: Assumptions, b: Baseline, months: int, n: int, rng: np.random.Generator) -> Paths:
    """Volume, resolution rate and survival for n scenarios.

    Every stream is drawn whatever the assumption values (in a fixed order),
    so changing one assumption moves the answer smoothly instead of reshuffling
    every scenario.
    """
    n_acc = len(b.tasks)
    t = np.arange(1, months + 1, dtype=np.float64)
    z_growth = rng.standard_normal((n, n_acc))
    # Month-level noise in float32 (twice as fast to draw); the paths themselves are float64.
    e_volume = rng.standard_normal((n, n_acc, months), dtype=np.float32)
    e_rate = rng.standard_normal((n, n_acc, months), dtype=np.float32)
    u_churn = rng.random((n, n_acc))
    z_market = rng.standard_normal((n, 1))  # shared by every account of a scenario
    z_ceiling = rng.standard_normal((n, 1))

    growth = b.growth[None, :] + a.growth_uncertainty * z_growth + a.market_uncertainty * z_market
    log_v = np.multiply(e_volume, a.volume_noise, dtype=np.float64)
    log_v += growth[:, :, None] * t
    log_v += np.log(np.maximum(b.tasks, 1e-300))[None, :, None]
    volume = np.exp(log_v, out=log_v)
    volume[:, b.tasks <= 0, :] = 0.0

    ceiling = np.maximum(a.resolution_ceiling + a.ceiling_uncertainty * z_ceiling, 0.0) * b.ceiling_factor[None, :]
    np.maximum(ceiling, b.rate0[None, :], out=ceiling)  # (scenarios, accounts)
    gap_left = np.exp(-t / a.learning_months)
    # rate = ceiling - (ceiling - r0) * gap_left = ceiling * (1 - gap_left) + r0 * gap_left
    curve = ceiling[:, :, None] * (1.0 - gap_left) + (b.rate0[:, None] * gap_left)[None, :, :]
    if a.resolution_noise > 0:
        rate = np.multiply(e_rate, a.resolution_noise, dtype=np.float64)
        np.exp(rate, out=rate)
        rate *= curve
    else:
        rate = curve
    np.minimum(rate, b.rate_cap[None, :, None], out=rate)

    # Alive in month t iff U < (1 - h)^t: a geometric churn month per scenario and account.
    alive = None
    if a.churn_hazard > 0:
        log_survive = math.log1p(-a.churn_hazard) * t
        alive = (np.log(np.maximum(u_churn, 1e-300))[:, :, None] < log_survive[None, None, :]).astype(np.float64)
    return Paths(volume, rate, alive)


def seat_path(needed: Floats, seats0: Floats, lag: float) -> Floats:
    """Contracted seats moving toward ``needed`` (s, a, t): 1/lag of the gap a month.

    The path starts from today's contracted seats (the seats the history
    bills) and is continuous, like every quantity here: the expected seats of
    an account that right-sizes over about ``lag`` months. Whole seats a
    month (rounding the step up) would close every gap under ``lag`` seats in
    the first forecast month, a cliff right after the history line.
    Accounts with no contracted seats today (no accounts row) stay at zero.
    """
    contracted = seats0 > 0
    if lag <= 1:
        return needed * contracted[None, :, None]
    by_month = np.ascontiguousarray(np.moveaxis(needed, 2, 0))  # month-major: each step is contiguous
    current = np.broadcast_to(seats0[None, :], needed.shape[:2]).astype(np.float64)
    step = np.empty_like(current)
    for t in range(by_month.shape[0]):
        np.subtract(by_month[t], current, out=step)
        step /= lag
        current += step
        by_month[t] = current
    by_month *= contracted[None, None, :]
    return np.ascontiguousarray(np.moveaxis(by_month, 0, 2))


class Usage(Mapping[str, Floats]):
    """The charge metrics of one block (scenarios, accounts, months), each computed on first use.

    A plan set rarely uses all seven metrics; computing only those asked for
    keeps the simulation within its time budget. The derived metrics of the
    baseline (settled outcomes, shares by dimension value) are their metric
    times a per-account factor. ``human_hours`` stands in
    for seats_needed (each charge applies its own hours_per_seat).
    """

    KEYS = (*(m.value for m in Metric if m is not Metric.SEATS_NEEDED), "human_hours")

    def __init__(self, a: Assumptions, b: Baseline, paths: Paths, scale: Floats) -> None:
        self.a, self.b, self.paths, self.scale = a, b, paths, scale
        self._cache: dict[str, Floats] = {}
        months = paths.volume.shape[2]
        self.drift = np.exp(a.token_drift * np.arange(1, months + 1, dtype=np.float64))

    def __getitem__(self, key: str) -> Floats:
        if key not in self._cache:
            if key in self.b.derived:
                base, factor = self.b.derived[key]
                self._cache[key] = self[base] * factor[None, :, None]
            elif key in self.KEYS:
                self._cache[key] = getattr(self, f"_{key}")()
            else:
                raise KeyError(key)
        return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter((*self.KEYS, *self.b.derived))

    def __len__(self) -> int:
        return len(self.KEYS) + len(self.b.derived)

    def _tasks(self) -> Floats:
        volume = self.paths.volume
        if not np.all(self.scale == 1.0):
            volume = volume * self.scale[None, :, None]
        if self.paths.alive is not None:
            volume = volume * self.paths.alive
        return volume

    def _conversations(self) -> Floats:
        return self["tasks"] * self.b.ai_share[None, :, None]

    def _outcomes(self) -> Floats:
        return self["conversations"] * self.paths.rate

    def _human_hours(self) -> Floats:
        hours = self["tasks"] - self["outcomes"]
        np.maximum(hours, 0.0, out=hours)
        hours *= self.b.hours_per_open_task[None, :, None]
        return hours

    def _savings_usd(self) -> Floats:
        """Gain-share's metric: labour savings follow the outcomes (DESIGN 11)."""
        return self["outcomes"] * self.b.savings_per_outcome[None, :, None]

    def _seats(self) -> Floats:
        needed = self["human_hours"] / self.a.hours_per_seat
        needed -= 1e-9  # float noise on exact multiples must not add a seat
        np.ceil(needed, out=needed)
        seats = seat_path(needed, self.b.seats, self.a.seat_lag_months)
        if self.paths.alive is not None:
            seats *= self.paths.alive
        return seats

    def _tokens(self, per_conversation: Floats) -> Floats:
        return self["conversations"] * (per_conversation[:, None] * self.drift[None, :])[None]

    def _input_tokens_m(self) -> Floats:
        return self._tokens(self.b.in_per_conv)

    def _output_tokens_m(self) -> Floats:
        return self._tokens(self.b.out_per_conv)

    def cogs(self) -> Floats:
        """COGS per cell: tokens (drifting) and the per-AI-task cost, per conversation."""
        per_conv = self.b.token_cost[:, None] * self.drift[None, :] + self.b.other_cost[:, None]
        return self["conversations"] * per_conv[None]


def today_metrics(a: Assumptions, b: Baseline) -> dict[str, Floats]:
    """Today's usage per account (shape (accounts,)): what the price response compares bills on."""
    conversations = b.tasks * b.ai_share
    outcomes = conversations * b.rate0
    today = {
        Metric.SEATS.value: b.seats,
        "human_hours": np.maximum(b.tasks - outcomes, 0.0) * b.hours_per_open_task,
        Metric.CONVERSATIONS.value: conversations,
        Metric.OUTCOMES.value: outcomes,
        Metric.INPUT_TOKENS_M.value: conversations * b.in_per_conv,
        Metric.OUTPUT_TOKENS_M.value: conversations * b.out_per_conv,
        Metric.TASKS.value: b.tasks,
        "savings_usd": outcomes * b.savings_per_outcome,
    }
    for key, (base, factor) in b.derived.items():  # bases come first (settled outcomes before their split)
        today[key] = today[base] * factor
    return today


def block_sizes(scenarios: int) -> list[int]:
    full, rest = divmod(scenarios, BLOCK_SCENARIOS)
    return [BLOCK_SCENARIOS] * full + ([rest] if rest else [])


