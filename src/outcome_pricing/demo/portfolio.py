"""The synthetic portfolio: topics, channels, segments and the accounts that use them.

The story the numbers tell is the one the field reports:
a few enterprise accounts carry most of the volume; every account has
human-only baseline months before its AI agent goes live (some late, a few
never); after go-live the AI's resolution rate climbs a learning curve toward
a ceiling of 55-75% (chat first, email weeks later, voice months later or
never). Seats were sized to each account's pre-AI workload (one seat per 120 h
of human handling a month, with some headroom), and the number of accounts
follows the volume (`default_accounts`), so seat revenue and its erosion are
a real customer's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing.terms import DEFAULT_HOURS_PER_SEAT

# Bumped whenever the same seed starts giving different rows (named in the ingest log).
GENERATOR_VERSION = 2
# The demo window ends here, whatever today's date, so a seed always means the same rows.
DEFAULT_END_MONTH = date(2026, 10, 1)
US_PER_SECOND = 1_000_000
US_PER_HOUR = 3600 * US_PER_SECOND
US_PER_MONTH = int(30.44 * 24 * US_PER_HOUR)


@dataclass(frozen=True)
class Topic:
    name: str
    share: float  # share of incoming tasks
    difficulty: float  # 0 easy .. 1 hard: drives AI success, tokens, handling time, misses
    human_minutes: float  # median human handling time for one issue on chat


TOPICS: tuple[Topic, ...] = (
    Topic("password_reset", 0.15, 0.05, 5.0),
    Topic("order_status", 0.15, 0.12, 6.0),
    Topic("shipping_delivery", 0.11, 0.25, 8.0),
    Topic("how_to", 0.13, 0.35, 10.0),
    Topic("account_access", 0.09, 0.40, 11.0),
    Topic("returns_refunds", 0.11, 0.50, 13.0),
    Topic("plan_change", 0.07, 0.55, 12.0),
    Topic("technical_issue", 0.10, 0.80, 22.0),
    Topic("billing_dispute", 0.06, 0.95, 26.0),
    Topic("cancellation", 0.03, 0.85, 17.0),
)
CHANNELS = ("chat", "email", "voice")
CHANNEL_SHARE = np.array([0.58, 0.30, 0.12])
CHANNEL_AI_EASE = np.array([1.0, 0.95, 0.7])  # voice is harder for the AI
CHANNEL_HUMAN_FACTOR = np.array([1.0, 0.8, 1.35])  # email answers are shorter, calls longer
SEGMENTS = ("SMB", "mid-market", "enterprise")
SEAT_PRICE = np.array([85.0, 105.0, 132.0])
AGENT_HOURLY_COST = np.array([29.0, 35.0, 43.0])
OWNERS = ("Dana Whitfield", "Marco Ruiz", "Priya Natarajan", "Tom Okafor", "Lena Hoffmann", "Sam Chen")
MODEL_TIERS = ("standard", "advanced")
NAME_HEADS = (
    "Acme", "Northwind", "Bluepeak", "Cedar", "Brightline", "Copperleaf", "Driftwood", "Evergreen",
    "Falcon", "Granite", "Harbor", "Ironwood", "Juniper", "Keystone", "Lakeside", "Maple", "Meridian",
    "Nimbus", "Oakridge", "Pinecrest", "Quarry", "Redwood", "Silverline", "Summit", "Tidewater",
    "Umbra", "Vantage", "Willow", "Zenith", "Atlas", "Beacon", "Cobalt", "Delta", "Ember", "Fjord",
    "Helix", "Lumen", "Orbit", "Pioneer", "Sierra Vista",
)
NAME_TAILS = (
    "Retail", "Health", "Logistics", "Software", "Telecom", "Insurance", "Bank", "Travel", "Foods",
    "Energy", "Apparel", "Games", "Labs", "Mobility", "Home",
)

TOPIC_DIFF = np.array([t.difficulty for t in TOPICS])
TOPIC_SHARE = np.array([t.share for t in TOPICS]) / sum(t.share for t in TOPICS)
TOPIC_MINUTES = np.array([t.human_minutes for t in TOPICS])
# AI ease by topic: easy topics resolve ~2x the average, the hardest ~0.3x.
TOPIC_EASE = 1.55 - 1.3 * TOPIC_DIFF
MEAN_EASE = float(TOPIC_SHARE @ TOPIC_EASE) * float(CHANNEL_SHARE @ CHANNEL_AI_EASE)
P_ANSWERED = 0.94  # the AI gives a substantive answer (not greeting-only, not "agent please")
HUMAN_SIGMA = 0.45  # spread of human handling time (lognormal)


# Portfolio size follows the volume: one account per this many tasks of history (between
# the bounds), so an account's workload, and so its seats, is that of a real customer at
# any --tasks: seats are sized to the pre-AI human hours (one seat per DEFAULT_HOURS_PER_SEAT),
# and 150 accounts sharing 300,000 tasks would each need a fraction of one seat.
TASKS_PER_ACCOUNT = 20_000
MIN_DEFAULT_ACCOUNTS, MAX_DEFAULT_ACCOUNTS = 8, 150
# Spread of account sizes (lognormal sigma): enterprise accounts carry several times the
# workload of mid-market ones, and those several times that of SMB ones.
SIZE_SIGMA = 1.0


def default_accounts(tasks: int) -> int:
    """The number of demo accounts for `tasks` tasks when none is given."""
    return int(min(MAX_DEFAULT_ACCOUNTS, max(MIN_DEFAULT_ACCOUNTS, round(tasks / TASKS_PER_ACCOUNT))))


@dataclass(frozen=True)
class DemoSpec:
    tasks: int = 300_000
    accounts: int = 15  # default_accounts(300_000)
    months: int = 18
    seed: int = 7
    end_month: date = DEFAULT_END_MONTH

    def check(self) -> None:
        for name, value, low in (("tasks", self.tasks, 1), ("accounts", self.accounts, 1), ("months", self.months, 1)):
            if value < low:
                raise ConfigError(f"Demo option --{name} must be at least {low} (got {value}).")
        if self.accounts > len(NAME_HEADS) * len(NAME_TAILS) * 10:
            raise ConfigError(f"Demo option --accounts is at most {len(NAME_HEADS) * len(NAME_TAILS) * 10}.")
        if self.months > 120:
            raise ConfigError(f"Demo option --months is at most 120 (got {self.months}).")

    @property
    def source(self) -> str:
        return (
            f"demo v{GENERATOR_VERSION} (seed={self.seed}, tasks={self.tasks}, "
            f"accounts={self.accounts}, months={self.months}, end={self.end_month:%Y-%m})"
        )


@dataclass(frozen=True)
class Accounts:
    """Per-account parameters (arrays indexed by account number)."""

    weight: np.ndarray  # share of all tasks
    segment: np.ndarray  # index into SEGMENTS
    go_live_us: np.ndarray  # microseconds since epoch; -1 = never
    channel_delay_us: np.ndarray  # (account, channel): AI reaches email and voice later, if ever
    ceiling: np.ndarray  # AI resolution rate the learning curve tends to
    start: np.ndarray  # AI resolution rate at go-live
    tau_months: np.ndarray  # learning-curve time constant
    context_rate: np.ndarray  # share of handoffs that keep the AI's context
    pool: np.ndarray  # number of distinct requesters
    pool_offset: np.ndarray  # first global requester number
    cell_p: np.ndarray  # probability of (account, month) cells, flattened account-major
    topic_cum: np.ndarray  # (account, topic) cumulative topic mix: each business asks differently
    month_start_us: np.ndarray  # months + 1 boundaries


def _month_bounds(spec: DemoSpec) -> np.ndarray:
    end = np.datetime64(spec.end_month.strftime("%Y-%m"), "M")
    months = np.arange(end - spec.months + 1, end + 2, dtype="datetime64[M]")
    return months.astype("datetime64[us]").astype(np.int64)


def _expected_baseline_minutes() -> float:
    """Approximate mean human minutes per task before AI (topic, channel and issue mix).

    Only sizes the seats of an account that has no human-only month in the window.
    """
    issues_factor = 1.0 + 0.55 * (0.14 * 1 + 0.04 * 2)
    return float(
        (TOPIC_SHARE @ TOPIC_MINUTES)
        * (CHANNEL_SHARE @ CHANNEL_HUMAN_FACTOR)
        * issues_factor
        * math.exp(HUMAN_SIGMA**2 / 2)
    )


def make_accounts(spec: DemoSpec, rng: np.random.Generator) -> Accounts:
    n, m = spec.accounts, spec.months
    # Heavy-tailed sizes: a few enterprise accounts carry most of the volume.
    size = rng.lognormal(0.0, SIZE_SIGMA, n)
    order = np.argsort(-size)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    segment = np.where(rank < max(1, round(0.1 * n)), 2, np.where(rank < round(0.4 * n), 1, 0))

    bounds = _month_bounds(spec)
    growth = rng.normal(0.012, 0.012, n)
    month_idx = np.arange(m)
    month_of_year = bounds[:-1].astype("datetime64[us]").astype("datetime64[M]").astype(np.int64) % 12
    season = 1.0 + 0.08 * np.cos(2 * np.pi * month_of_year / 12)  # peaks in January
    vol = size[:, None] * np.exp(growth[:, None] * month_idx[None, :]) * season[None, :]
    cell_p = (vol / vol.sum()).ravel()
    weight = vol.sum(axis=1) / vol.sum()

    # Go-live: most accounts after 3+ baseline months, enterprise a little earlier,
    # some late, ~7% never (still evaluating).
    earliest = min(3, max(m - 1, 0))
    late_bias = np.where(segment == 2, 0.6, 1.0)
    frac = np.clip(rng.beta(1.6, 2.2, n) * late_bias, 0, 1)
    go_month = earliest + np.floor(frac * max(m - earliest, 1)).astype(np.int64)
    never = (rng.random(n) < 0.07) | (go_month >= m)
    day_us = rng.integers(0, 28, n) * 24 * US_PER_HOUR
    go_live = np.where(never, -1, bounds[np.minimum(go_month, m - 1)] + day_us)

    pool = np.maximum(5, np.round(weight * spec.tasks / 2.2)).astype(np.int64)
    topic_mix = rng.dirichlet(TOPIC_SHARE * 40.0, n)
    # Roll-out: chat at go-live, email some weeks later, voice months later or never.
    email = rng.uniform(0.0, 3.0, n)
    voice = np.where(rng.random(n) < 0.35, np.inf, rng.uniform(2.0, 9.0, n))
    delay_months = np.stack([np.zeros(n), email, voice], axis=1)
    channel_delay = np.where(
        np.isinf(delay_months), np.iinfo(np.int64).max // 2, delay_months * US_PER_MONTH
    ).astype(np.int64)
    return Accounts(
        weight=weight,
        segment=segment,
        go_live_us=go_live,
        channel_delay_us=channel_delay,
        ceiling=rng.uniform(0.55, 0.75, n),
        start=rng.uniform(0.22, 0.35, n),
        tau_months=rng.uniform(1.5, 5.0, n),
        context_rate=rng.uniform(0.5, 0.92, n),
        pool=pool,
        pool_offset=np.concatenate(([0], np.cumsum(pool)[:-1])),
        cell_p=cell_p,
        topic_cum=np.cumsum(topic_mix, axis=1),
        month_start_us=bounds,
    )


def _account_names(n: int, rng: np.random.Generator) -> list[str]:
    combos = [f"{h} {t}" for h in NAME_HEADS for t in NAME_TAILS]
    picked = rng.permutation(len(combos))
    names = []
    for i in range(n):
        base = combos[picked[i % len(combos)]]
        names.append(base if i < len(combos) else f"{base} {i // len(combos) + 1}")
    return names


def accounts_file(
    spec: DemoSpec, acc: Accounts, rng: np.random.Generator, baseline_hours: np.ndarray
) -> pa.Table:
    """The accounts file. `baseline_hours`: mean human hours per month before the AI (NaN if none)."""
    n = spec.accounts
    expected = acc.weight * spec.tasks / spec.months * _expected_baseline_minutes() / 60.0
    hours = np.where(np.isnan(baseline_hours), expected, baseline_hours)
    # Contracts are sticky: seats were sized to the pre-AI workload, with some headroom.
    seats = np.maximum(1, np.ceil(hours / float(DEFAULT_HOURS_PER_SEAT) * rng.uniform(1.0, 1.25, n))).astype(np.int64)
    discount = rng.choice([1.0, 1.0, 0.95, 0.9], n)
    seat_price = np.round(SEAT_PRICE[acc.segment] * discount, 0)
    hourly = np.round(AGENT_HOURLY_COST[acc.segment] * rng.uniform(0.85, 1.2, n), 2)
    owner = rng.integers(0, len(OWNERS), n)
    go_live = acc.go_live_us.astype("datetime64[us]").astype("datetime64[D]")
    return pa.table(
        {
            "account_id": pa.array(account_ids(n)),
            "name": pa.array(_account_names(n, rng)),
            "segment": pa.array([SEGMENTS[s] for s in acc.segment]),
            "seats": pa.array(seats),
            "seat_price": pa.array(seat_price),
            "agent_hourly_cost": pa.array(hourly),
            "ai_go_live": pa.array(go_live, mask=acc.go_live_us < 0, type=pa.date32()),
            "owner": pa.array([OWNERS[o] for o in owner]),
        }
    )


def account_ids(n: int) -> list[str]:
    width = max(4, len(str(n)))
    return [f"A{i + 1:0{width}d}" for i in range(n)]
