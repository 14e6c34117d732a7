"""The seeded, vectorised Monte Carlo (the model is in the package docstring).

Arrays are (scenarios, accounts, months). Scenarios are simulated in fixed
blocks, each drawing from its own SeedSequence child, so the same seed gives
the same numbers whatever the thread count, and every plan sees the same
scenarios (common random numbers).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from outcome_pricing.analysis.forecast.assumptions import Assumptions
from outcome_pricing.analysis.forecast.result import (
    ForecastResult,
    band_frame,
    prob_beats_frame,
    volatility_frame,
)
from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing.charges import plan_cents_vectorised, plan_revenue_vectorised
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import Metric, Plan

# Scenarios are simulated in blocks of this many; part of the seed's meaning
# (each block draws from its own SeedSequence child), so keep it fixed.
BLOCK_SCENARIOS = 25
PRICE_RATIO_BOUNDS = (0.2, 5.0)  # price response is computed on a clipped bill ratio
Floats = npt.NDArray[np.float64]  # every array of the simulation: per account, or (scenarios, accounts, months)


@dataclass(frozen=True)
class _Baseline:
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

    @classmethod
    def of(cls, a: Assumptions) -> _Baseline:
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
        )


@dataclass
class _Paths:
    """One block of scenarios: the random parts, shape (scenarios, accounts, months)."""

    volume: Floats  # tasks before price response and churn
    rate: Floats  # outcomes per conversation
    alive: Floats | None  # 1.0 while the account has not churned; None = no churn


def _draw_paths(a: Assumptions, b: _Baseline, months: int, n: int, rng: np.random.Generator) -> _Paths:
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
    return _Paths(volume, rate, alive)


def _seat_path(needed: Floats, seats0: Floats, lag: float) -> Floats:
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


class _Usage(Mapping[str, Floats]):
    """The charge metrics of one block (scenarios, accounts, months), each computed on first use.

    A plan set rarely uses all seven metrics; computing only those asked for
    keeps the simulation within its time budget. ``human_hours`` stands in
    for seats_needed (each charge applies its own hours_per_seat).
    """

    KEYS = (*(m.value for m in Metric if m is not Metric.SEATS_NEEDED), "human_hours")

    def __init__(self, a: Assumptions, b: _Baseline, paths: _Paths, scale: Floats) -> None:
        self.a, self.b, self.paths, self.scale = a, b, paths, scale
        self._cache: dict[str, Floats] = {}
        months = paths.volume.shape[2]
        self.drift = np.exp(a.token_drift * np.arange(1, months + 1, dtype=np.float64))

    def __getitem__(self, key: str) -> Floats:
        if key not in self._cache:
            if key not in self.KEYS:
                raise KeyError(key)
            self._cache[key] = getattr(self, f"_{key}")()
        return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.KEYS)

    def __len__(self) -> int:
        return len(self.KEYS)

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
        seats = _seat_path(needed, self.b.seats, self.a.seat_lag_months)
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


def _today_metrics(a: Assumptions, b: _Baseline) -> dict[str, Floats]:
    """Today's usage per account (shape (accounts,)): what the price response compares bills on."""
    conversations = b.tasks * b.ai_share
    outcomes = conversations * b.rate0
    return {
        Metric.SEATS.value: b.seats,
        "human_hours": np.maximum(b.tasks - outcomes, 0.0) * b.hours_per_open_task,
        Metric.CONVERSATIONS.value: conversations,
        Metric.OUTCOMES.value: outcomes,
        Metric.INPUT_TOKENS_M.value: conversations * b.in_per_conv,
        Metric.OUTPUT_TOKENS_M.value: conversations * b.out_per_conv,
        Metric.TASKS.value: b.tasks,
        "savings_usd": outcomes * b.savings_per_outcome,
    }


def _volume_scales(
    a: Assumptions, b: _Baseline, plans: Sequence[Plan], reference: Plan | None
) -> list[Floats]:
    """Per plan, the factor on each account's volume from the price response (1 when off)."""
    ones = np.ones_like(b.tasks)
    if a.price_elasticity == 0 or reference is None:
        return [ones for _ in plans]
    today = _today_metrics(a, b)
    ref_bill = plan_revenue_vectorised(reference, today, b.seat_price)
    scales = []
    for plan in plans:
        bill = plan_revenue_vectorised(plan, today, b.seat_price)
        ratio = np.where(ref_bill > 0, bill / np.where(ref_bill > 0, ref_bill, 1.0), 1.0)
        scales.append(np.clip(ratio, *PRICE_RATIO_BOUNDS) ** a.price_elasticity)
    return scales



def forecast_months(last_month: pd.Timestamp | None, months: int) -> tuple[pd.Timestamp, ...]:
    """The months after the last month of history (first day of each)."""
    start = (pd.Timestamp(last_month) if last_month is not None else pd.Timestamp.today()).to_period("M") + 1
    return tuple(p.to_timestamp() for p in pd.period_range(start, periods=months, freq="M"))


def _block_sizes(scenarios: int) -> list[int]:
    full, rest = divmod(scenarios, BLOCK_SCENARIOS)
    return [BLOCK_SCENARIOS] * full + ([rest] if rest else [])


@dataclass(frozen=True)
class _BlockResult:
    """One block's sums per plan: portfolio by month (scenarios, months) and by account (accounts,)."""

    revenue: list[Floats]
    margin: list[Floats]
    account_revenue: list[Floats]
    account_margin: list[Floats]


def _run_block(
    a: Assumptions, b: _Baseline, plans: Sequence[Plan], scales: Sequence[Floats], months: int,
    n: int, seed_seq: np.random.SeedSequence,
) -> _BlockResult:
    paths = _draw_paths(a, b, months, n, np.random.default_rng(seed_seq))
    out = _BlockResult([], [], [], [])
    usage: _Usage | None = None
    for plan, scale in zip(plans, scales, strict=True):
        # Without a price response every plan sees the same usage: compute it once.
        if usage is None or usage.scale is not scale:
            usage = _Usage(a, b, paths, scale)
            cogs = usage.cogs()
            cogs_month, cogs_account = cogs.sum(axis=1), cogs.sum(axis=(0, 2))
            del cogs
        cents = plan_cents_vectorised(plan, usage, b.seat_price)
        if paths.alive is not None:
            cents *= paths.alive  # no platform fee or minimum after an account leaves
        rev_month, rev_account = cents.sum(axis=1) / 100.0, cents.sum(axis=(0, 2)) / 100.0
        out.revenue.append(rev_month)
        out.margin.append(rev_month - cogs_month)
        out.account_revenue.append(rev_account)
        out.account_margin.append(rev_account - cogs_account)
    return out


def simulate(
    assumptions: Assumptions,
    planset: PlanSet,
    months: int = 12,
    scenarios: int = 2000,
    seed: int = 0,
    reference: str | None = None,
    workers: int = 1,
) -> ForecastResult:
    """Run the Monte Carlo for every plan of ``planset`` (see the module docstring for the model).

    ``reference`` names the plan today's bills are compared with for the
    price response (default: the first plan). ``workers`` > 1 simulates
    blocks of scenarios on threads (numpy releases the GIL); the result does
    not depend on it.
    """
    if months < 1 or months > 120:
        raise ConfigError(f"Forecast months must be between 1 and 120 (got {months}).")
    if scenarios < 1 or scenarios > 100_000:
        raise ConfigError(f"Forecast scenarios must be between 1 and 100000 (got {scenarios}).")
    assumptions.check()
    plans = planset.plans
    ref_plan = planset.plan(reference if reference is not None else planset.default_reference())
    b = _Baseline.of(assumptions)
    scales = _volume_scales(assumptions, b, plans, ref_plan)
    sizes = _block_sizes(scenarios)
    children = np.random.SeedSequence(seed).spawn(len(sizes))
    jobs = [(assumptions, b, plans, scales, months, n, s) for n, s in zip(sizes, children, strict=True)]
    if workers > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(lambda j: _run_block(*j), jobs))
    else:
        parts = [_run_block(*j) for j in jobs]
    names = [p.name for p in plans]
    idx = range(len(plans))
    revenue = [np.concatenate([part.revenue[i] for part in parts]) for i in idx]
    margin = [np.concatenate([part.margin[i] for part in parts]) for i in idx]
    acc_rev = [np.sum([part.account_revenue[i] for part in parts], axis=0) / scenarios for i in idx]
    acc_mar = [np.sum([part.account_margin[i] for part in parts], axis=0) / scenarios for i in idx]
    month_list = forecast_months(assumptions.last_month, months)
    totals = np.stack([r.sum(axis=1) for r in revenue], axis=1)
    account_ids = assumptions.accounts["account_id"].astype(str).tolist()
    accounts = pd.concat(
        [pd.DataFrame({"plan": n, "account_id": account_ids, "revenue": r, "margin": m})
         for n, r, m in zip(names, acc_rev, acc_mar, strict=True)],
        ignore_index=True,
    )
    return ForecastResult(
        revenue=band_frame(names, month_list, revenue),
        margin=band_frame(names, month_list, margin),
        totals=pd.DataFrame(totals, columns=names),
        prob_beats=prob_beats_frame(names, totals),
        volatility=volatility_frame(names, revenue, margin),
        accounts=accounts,
        assumptions=assumptions,
        months=month_list,
        scenarios=scenarios,
        seed=seed,
        reference=ref_plan.name,
    )
