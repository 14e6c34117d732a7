"""Realistic synthetic task logs: the embedded default data of the product.

The story the numbers tell is the one the field reports (research/market.md):
a few enterprise accounts carry most of the volume; every account has
human-only baseline months before its AI agent goes live (some late, a few
never); after go-live the AI's resolution rate climbs a learning curve toward
a ceiling of 55-75% (chat first, email weeks later, voice months later or
never); it takes the easy topics first, so the humans are left
with the harder queue (human minutes per human-handled task rise) while human
minutes per task overall fall. Wrong answers and false "assumed" resolutions
come back as reopens by the same requester on the same topic.

Everything is vectorised numpy on a Generator derived from the seed. Tasks are
generated in fixed-size chunks, each with its own SeedSequence child, so the
same (seed, sizes) give the same rows however they are consumed, and memory stays
flat for 10M tasks. The chunks are staged in one temp table inside a single
transaction and handed to `Warehouse.apply_staged` once (the reopen gaps and
the cube are computed once, not per chunk).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from outcome_pricing.errors import ConfigError
from outcome_pricing.warehouse.schema import ACCOUNT_COLUMNS, TASK_COLUMNS, table_ddl

if TYPE_CHECKING:
    import duckdb

    from outcome_pricing.warehouse.handle import IngestResult, Warehouse

Progress = Callable[[float, str], None]

# Bumped whenever the same seed starts giving different rows (named in the ingest log).
GENERATOR_VERSION = 1
# Fixed chunk size: part of the seed's meaning (changing it changes the data).
CHUNK_TASKS = 500_000
# Share of the progress bar for generating; the rest is storing (measured: about half each).
GENERATE_SHARE = 0.45
# The demo window ends here, whatever today's date, so a seed always means the same rows.
DEFAULT_END_MONTH = date(2026, 10, 1)
HOURS_PER_SEAT_MONTH = 120.0
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

_TOPIC_DIFF = np.array([t.difficulty for t in TOPICS])
_TOPIC_SHARE = np.array([t.share for t in TOPICS]) / sum(t.share for t in TOPICS)
_TOPIC_MINUTES = np.array([t.human_minutes for t in TOPICS])
# AI ease by topic: easy topics resolve ~2x the average, the hardest ~0.3x.
_TOPIC_EASE = 1.55 - 1.3 * _TOPIC_DIFF
_MEAN_EASE = float(_TOPIC_SHARE @ _TOPIC_EASE) * float(CHANNEL_SHARE @ CHANNEL_AI_EASE)
_P_ANSWERED = 0.94  # the AI gives a substantive answer (not greeting-only, not "agent please")
_HUMAN_SIGMA = 0.45  # spread of human handling time (lognormal)


@dataclass(frozen=True)
class DemoSpec:
    tasks: int = 300_000
    accounts: int = 150
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
class _Accounts:
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
        (_TOPIC_SHARE @ _TOPIC_MINUTES)
        * (CHANNEL_SHARE @ CHANNEL_HUMAN_FACTOR)
        * issues_factor
        * math.exp(_HUMAN_SIGMA**2 / 2)
    )


def _make_accounts(spec: DemoSpec, rng: np.random.Generator) -> _Accounts:
    n, m = spec.accounts, spec.months
    # Heavy-tailed sizes: a few enterprise accounts carry most of the volume.
    size = rng.lognormal(0.0, 1.5, n)
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
    topic_mix = rng.dirichlet(_TOPIC_SHARE * 40.0, n)
    # Roll-out: chat at go-live, email some weeks later, voice months later or never.
    email = rng.uniform(0.0, 3.0, n)
    voice = np.where(rng.random(n) < 0.35, np.inf, rng.uniform(2.0, 9.0, n))
    delay_months = np.stack([np.zeros(n), email, voice], axis=1)
    channel_delay = np.where(
        np.isinf(delay_months), np.iinfo(np.int64).max // 2, delay_months * US_PER_MONTH
    ).astype(np.int64)
    return _Accounts(
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


def _accounts_table(
    spec: DemoSpec, acc: _Accounts, rng: np.random.Generator, baseline_hours: np.ndarray
) -> pa.Table:
    """The accounts file. `baseline_hours`: mean human hours per month before the AI (NaN if none)."""
    n = spec.accounts
    expected = acc.weight * spec.tasks / spec.months * _expected_baseline_minutes() / 60.0
    hours = np.where(np.isnan(baseline_hours), expected, baseline_hours)
    # Contracts are sticky: seats were sized to the pre-AI workload, with some headroom.
    seats = np.maximum(1, np.ceil(hours / HOURS_PER_SEAT_MONTH * rng.uniform(1.0, 1.25, n))).astype(np.int64)
    discount = rng.choice([1.0, 1.0, 0.95, 0.9], n)
    seat_price = np.round(SEAT_PRICE[acc.segment] * discount, 0)
    hourly = np.round(AGENT_HOURLY_COST[acc.segment] * rng.uniform(0.85, 1.2, n), 2)
    owner = rng.integers(0, len(OWNERS), n)
    go_live = acc.go_live_us.astype("datetime64[us]").astype("datetime64[D]")
    return pa.table(
        {
            "account_id": pa.array(_account_ids(n)),
            "name": pa.array(_account_names(n, rng)),
            "segment": pa.array([SEGMENTS[s] for s in acc.segment]),
            "seats": pa.array(seats),
            "seat_price": pa.array(seat_price),
            "agent_hourly_cost": pa.array(hourly),
            "ai_go_live": pa.array(go_live, mask=acc.go_live_us < 0, type=pa.date32()),
            "owner": pa.array([OWNERS[o] for o in owner]),
        }
    )


# Mean human hours per month over each account's fully human-only months.
BASELINE_HOURS_SQL = """
SELECT account_id, avg(hours) AS hours
FROM (SELECT account_id, date_trunc('month', closed_at) AS month,
             sum(human_seconds) / 3600.0 AS hours, bool_or(ai_enabled) AS any_ai
      FROM demo_stage GROUP BY ALL)
WHERE NOT any_ai
GROUP BY account_id
"""


def _baseline_hours(cur: duckdb.DuckDBPyConnection, n: int) -> np.ndarray:
    hours = np.full(n, np.nan)
    index = {a: i for i, a in enumerate(_account_ids(n))}
    for account_id, value in cur.execute(BASELINE_HOURS_SQL).fetchall():
        hours[index[account_id]] = value
    return hours


def _account_ids(n: int) -> list[str]:
    width = max(4, len(str(n)))
    return [f"A{i + 1:0{width}d}" for i in range(n)]


@dataclass
class _Base:
    """Who asked what, when: the inputs of the outcome model."""

    account: np.ndarray
    topic: np.ndarray
    channel: np.ndarray
    requester: np.ndarray
    created_us: np.ndarray


def _draw_base(spec: DemoSpec, acc: _Accounts, rng: np.random.Generator, n: int) -> _Base:
    cell = rng.choice(acc.cell_p.size, size=n, p=acc.cell_p)
    account, month = np.divmod(cell, spec.months)
    start = acc.month_start_us[month]
    length = acc.month_start_us[month + 1] - start
    # Office-hours profile (UTC) with quieter weekends.
    hour_p = np.array([1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 10, 9, 9, 10, 10, 9, 7, 6, 5, 4, 3, 2, 1.5])
    hour = rng.choice(24, size=n, p=hour_p / hour_p.sum())
    day = (rng.random(n) * (length // (24 * US_PER_HOUR))).astype(np.int64)
    second = rng.integers(0, 3600, n) * US_PER_SECOND  # logs carry whole seconds
    created = start + day * 24 * US_PER_HOUR + hour * US_PER_HOUR + second
    weekday = ((created // (24 * US_PER_HOUR)) + 3) % 7  # 1970-01-01 was a Thursday; 5,6 = Sat, Sun
    move = (weekday >= 5) & (rng.random(n) < 0.45)
    shift = np.where(day >= 2, -2, 2) * 24 * US_PER_HOUR
    created = np.where(move, created + shift, created)
    # Some requesters come back far more often than others.
    local = np.floor(rng.random(n) ** 1.6 * acc.pool[account]).astype(np.int64)
    return _Base(
        account=account,
        topic=np.minimum((rng.random(n)[:, None] > acc.topic_cum[account]).sum(axis=1), len(TOPICS) - 1),
        channel=rng.choice(len(CHANNELS), size=n, p=CHANNEL_SHARE),
        requester=acc.pool_offset[account] + local,
        created_us=created,
    )


def _outcomes(acc: _Accounts, base: _Base, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """What happened in each task, given who asked what and when (all vectorised)."""
    n = base.account.size
    a, k, ch = base.account, base.topic, base.channel
    diff = _TOPIC_DIFF[k]
    u = rng.random((14, n))  # independent uniforms, one row per decision

    go = acc.go_live_us[a]
    ai = (go >= 0) & (base.created_us - go >= acc.channel_delay_us[a, ch])
    months_live = np.where(ai, (base.created_us - go) / US_PER_MONTH, 0.0)
    # Learning curve: the account's resolution rate climbs from `start` toward `ceiling`.
    rate = acc.ceiling[a] - (acc.ceiling[a] - acc.start[a]) * np.exp(-months_live / acc.tau_months[a])
    n_issues = 1 + (u[0] > 0.82 - 0.1 * diff).astype(np.int64) + (u[0] > 0.96 - 0.04 * diff)
    p_genuine = rate * _TOPIC_EASE[k] * CHANNEL_AI_EASE[ch] / _MEAN_EASE / _P_ANSWERED
    p_genuine = np.clip(p_genuine * 0.85 ** (n_issues - 1), 0.0, 0.97)

    answered = ai & (u[1] < _P_ANSWERED)
    genuine = answered & (u[2] < p_genuine)
    handoff = ai & ~genuine & (u[3] < 0.8)
    silent_fail = ai & ~genuine & ~handoff  # left without asking for more help, not helped
    context = handoff & (u[4] < acc.context_rate[a])
    error = answered & (u[5] < 0.02 + 0.07 * np.exp(-months_live / 6.0) * (0.5 + diff))
    confirmed = (genuine & (u[6] < np.where(ch == 1, 0.3, 0.45))) | (silent_fail & (u[6] < 0.03))

    # Silence after the AI's last answer: mostly long, some short; none after a handoff.
    long_quiet = np.minimum(rng.lognormal(math.log(110.0), 0.9, n), 720.0)
    short_quiet = rng.exponential(3.0, n)
    p_long = np.where(genuine, 0.78, 0.45)
    quiet = np.where(u[7] < p_long, long_quiet, short_quiet)

    verified = np.where(genuine, u[8] < 0.93, answered & ~handoff & (u[8] < 0.12))
    partial = rng.binomial(np.maximum(n_issues - 1, 0), 0.3)
    resolved_issues = np.where(
        genuine, n_issues - ((n_issues > 1) & (u[9] < 0.2)), np.where(handoff & answered, partial, 0)
    )

    advanced = answered & (u[10] < 0.08 + 0.55 * diff)
    tok_scale = 1500.0 * (1 + 2.0 * diff) * n_issues**0.6 * np.where(advanced, 1.35, 1.0)
    tokens_in = np.where(
        answered, rng.lognormal(np.log(tok_scale), 0.45), np.where(ai, rng.integers(200, 600, n), 0)
    ).astype(np.int64)
    tokens_out = (tokens_in * (0.12 + 0.1 * u[11])).astype(np.int64)
    ai_seconds = np.where(
        answered,
        rng.lognormal(np.log(45.0 * (1 + diff) * np.where(ch == 2, 2.5, 1.0)), 0.5),
        np.where(ai, 5 + 10 * u[11], 0.0),
    )

    human = ~ai | handoff
    # Handed-off tasks are the harder cases of their topic; context spares re-asking.
    handoff_factor = np.where(handoff, np.where(context, 1.0, 1.3) * 1.12, 1.0)
    minutes = (
        _TOPIC_MINUTES[k] * CHANNEL_HUMAN_FACTOR[ch] * (1 + 0.55 * (n_issues - 1)) * handoff_factor
    ) * rng.lognormal(0.0, _HUMAN_SIGMA, n)
    human_seconds = np.where(human, np.round(minutes * 60.0), 0.0)
    wait_s = np.where(ch == 1, rng.lognormal(math.log(5 * 3600), 1.0, n), rng.exponential(240.0, n))
    duration_s = ai_seconds + np.where(human, human_seconds + wait_s, 0.0)
    closed = base.created_us + np.ceil(duration_s).astype(np.int64) * US_PER_SECOND

    audited = u[12] < 0.07
    p_missed = np.select(
        [~ai, genuine, silent_fail],
        [0.04 + 0.12 * diff, 0.003 + 0.03 * diff, 0.3],
        default=0.03 + 0.12 * diff + np.where(context, 0.0, 0.04),
    ) + np.where(error, 0.1, 0.0)
    missed = audited & (u[13] < p_missed)

    csat_mean = np.select(
        [~ai, genuine, silent_fail, context],
        [4.1 - 0.6 * diff, 4.4 - 0.2 * diff, 2.4, 3.9 - 0.3 * diff],
        default=3.2 - 0.3 * diff,
    ) - np.where(error, 0.5, 0.0)
    answered_survey = rng.random(n) < np.where(silent_fail, 0.1, 0.2)
    csat = np.clip(np.round(csat_mean + rng.normal(0, 0.9, n)), 1, 5).astype(np.int64)

    # Chance the same requester comes back on the same topic soon after.
    p_reopen = np.select(
        [~ai, genuine, silent_fail, context],
        [0.03 + 0.06 * diff, 0.015, 0.3, 0.05],
        default=0.09,
    ) + np.where(error, 0.15, 0.0)
    return {
        "ai": ai,
        "answered": answered,
        "handoff": handoff,
        "context": context,
        "context_null": ~handoff,
        "confirmed": confirmed,
        "ai_null": ~ai,
        "quiet": quiet,
        "quiet_null": ~ai | handoff,
        "verified": verified,
        "error": error,
        "n_issues": n_issues,
        "n_resolved": resolved_issues.astype(np.int64),
        "csat": csat,
        "csat_null": ~answered_survey,
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "advanced": advanced,
        "tier_null": ~ai,
        "human_seconds": human_seconds,
        "ai_seconds": np.round(ai_seconds, 1),
        "audited": audited,
        "missed": missed,
        "closed_us": closed,
        "p_reopen": p_reopen,
    }


def _reopen_gap_hours(rng: np.random.Generator, n: int) -> np.ndarray:
    """Most returns come within three days; a tail comes back after a week or more."""
    soon = np.minimum(rng.lognormal(math.log(12.0), 1.0, n), 160.0)
    late = rng.uniform(72.0, 400.0, n)
    return np.where(rng.random(n) < 0.8, soon, late)


def _chunk(spec: DemoSpec, acc: _Accounts, index: int, n_out: int) -> pa.Table:
    """`n_out` tasks: first-contact tasks plus the reopens they cause, in time order."""
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(1, index)))
    n_base = n_out  # reopens push the tail of the first contacts out of the chunk
    base = _draw_base(spec, acc, rng, n_base)
    out = _outcomes(acc, base, rng)
    gap_us = (_reopen_gap_hours(rng, n_base) * 3600).astype(np.int64) * US_PER_SECOND
    child_created = out["closed_us"] + gap_us
    window_end = acc.month_start_us[-1]
    spawn = (rng.random(n_base) < out["p_reopen"]) & (child_created < window_end - US_PER_HOUR)
    # Keep the first M first contacts such that M + their reopens == n_out.
    total = np.arange(1, n_base + 1) + np.cumsum(spawn)
    keep = int(np.searchsorted(total, n_out)) + 1
    spawn[keep:] = False
    if total[keep - 1] > n_out:  # the last kept first contact would overshoot: drop its reopen
        spawn[keep - 1] = False
    # A reopen ends the silence: the customer spoke again after `gap` hours.
    out["quiet"] = np.where(spawn, np.minimum(out["quiet"], gap_us / US_PER_HOUR), out["quiet"])
    parents = np.flatnonzero(spawn)
    child = _Base(
        account=base.account[parents],
        topic=base.topic[parents],
        channel=base.channel[parents],
        requester=base.requester[parents],
        created_us=child_created[parents],
    )
    child_out = _outcomes(acc, child, rng)
    sel = slice(0, keep)
    cols = {
        name: np.concatenate([getattr(base, name)[sel], getattr(child, name)])
        for name in ("account", "topic", "channel", "requester", "created_us")
    }
    for name, values in out.items():
        cols[name] = np.concatenate([values[sel], child_out[name]])
    # Clamp to the window: a task created at the very end may not close after it.
    over = np.maximum(cols["closed_us"] - (window_end - US_PER_SECOND), 0)
    cols["created_us"] = cols["created_us"] - over
    cols["closed_us"] = cols["closed_us"] - over
    order = np.argsort(cols["created_us"], kind="stable")
    return _arrow_chunk({k: v[order] for k, v in cols.items()}, first_id=index * CHUNK_TASKS + 1)


def _arrow_chunk(c: dict[str, np.ndarray], first_id: int) -> pa.Table:
    """Numeric columns; SQL turns codes into the contract's text columns while staging."""
    n = c["account"].size

    def nullable(values: np.ndarray, null: np.ndarray) -> pa.Array:
        return pa.array(values, mask=null)

    return pa.table(
        {
            "task_no": pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
            "account_no": pa.array(c["account"].astype(np.int32)),
            "requester_no": pa.array(c["requester"]),
            "topic_no": pa.array(c["topic"].astype(np.int8)),
            "channel_no": pa.array(c["channel"].astype(np.int8)),
            "created_at": pa.array(c["created_us"], type=pa.timestamp("us")),
            "closed_at": pa.array(c["closed_us"], type=pa.timestamp("us")),
            "ai_enabled": pa.array(c["ai"]),
            "ai_answered": pa.array(c["answered"]),
            "handoff": pa.array(c["handoff"]),
            "context_retained": nullable(c["context"], c["context_null"]),
            "customer_confirmed": nullable(c["confirmed"], c["ai_null"]),
            "quiet_hours": nullable(np.round(c["quiet"], 2), c["quiet_null"]),
            "verified": nullable(c["verified"], c["ai_null"]),
            "ai_error_corrected": nullable(c["error"], c["ai_null"]),
            "n_issues": pa.array(c["n_issues"]),
            "n_issues_resolved": pa.array(c["n_resolved"]),
            "csat": nullable(c["csat"], c["csat_null"]),
            "tokens_in": pa.array(c["tokens_in"]),
            "tokens_out": pa.array(c["tokens_out"]),
            "tier_no": nullable(c["advanced"].astype(np.int8), c["tier_null"]),
            "human_seconds": pa.array(c["human_seconds"]),
            "ai_seconds": pa.array(c["ai_seconds"]),
            "qa_audited": pa.array(c["audited"]),
            "missed_issue": nullable(c["missed"], ~c["audited"]),
        }
    )


def _sql_list(values: tuple[str, ...]) -> str:
    # Fixed module constants only (never user input), so inlining them is safe.
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _stage_sql(spec: DemoSpec) -> str:
    id_width = max(7, len(str(spec.tasks)))
    acc_width = max(4, len(str(spec.accounts)))
    return f"""
    INSERT INTO demo_stage
    SELECT 'T' || lpad(task_no::VARCHAR, {id_width}, '0') AS task_id,
           'A' || lpad((account_no + 1)::VARCHAR, {acc_width}, '0') AS account_id,
           'U' || lpad(requester_no::VARCHAR, 8, '0') AS requester_id,
           {_sql_list(tuple(t.name for t in TOPICS))}[topic_no + 1] AS topic,
           {_sql_list(CHANNELS)}[channel_no + 1] AS channel,
           created_at, closed_at, ai_enabled, ai_answered, handoff, context_retained,
           customer_confirmed, quiet_hours, verified, ai_error_corrected,
           n_issues, n_issues_resolved, csat, tokens_in, tokens_out,
           {_sql_list(MODEL_TIERS)}[tier_no + 1] AS model_tier,
           human_seconds, ai_seconds, qa_audited, missed_issue
    FROM demo_chunk
    """


def _create_stage(cur: duckdb.DuckDBPyConnection) -> None:
    """Temp tables with the contract columns and types, private to this cursor."""
    cur.execute(table_ddl("demo_stage", TASK_COLUMNS).replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
    cur.execute(table_ddl("demo_accounts", ACCOUNT_COLUMNS).replace("CREATE TABLE", "CREATE TEMP TABLE", 1))


def chunk_sizes(total: int) -> list[int]:
    """Fixed-size chunks (the last one shorter): part of what a seed means."""
    full, rest = divmod(total, CHUNK_TASKS)
    return [CHUNK_TASKS] * full + ([rest] if rest else [])


def _chunks_ahead(spec: DemoSpec, acc: _Accounts, sizes: list[int]) -> Iterator[tuple[int, pa.Table]]:
    """Chunks in order, the next one generated on a thread while the caller stages this one.

    numpy and DuckDB both release the GIL, so the two cores overlap; each chunk
    has its own seed, so the rows do not depend on the timing.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_chunk, spec, acc, 0, sizes[0])
        for index, size in enumerate(sizes):
            table = pending.result()
            if index + 1 < len(sizes):
                pending = pool.submit(_chunk, spec, acc, index + 1, sizes[index + 1])
            yield size, table


def build_demo(
    wh: Warehouse,
    tasks: int = 300_000,
    accounts: int = 150,
    months: int = 18,
    seed: int = 7,
    progress: Progress | None = None,
    *,
    end_month: date = DEFAULT_END_MONTH,
    replace: bool = True,
) -> IngestResult:
    """Write a synthetic task log of `tasks` tasks into `wh` in one transaction.

    With `replace` (the default) every earlier task and account is removed in
    the same transaction: a warehouse holds one data set, and demo rows mixed
    with real logs would mislead. Same arguments, same rows.
    """
    spec = DemoSpec(tasks, accounts, months, seed, end_month)
    spec.check()
    report = progress or (lambda fraction, message: None)
    started = time.perf_counter()
    acc_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    acc = _make_accounts(spec, acc_rng)
    sizes = chunk_sizes(tasks)
    stage_sql = _stage_sql(spec)
    with wh.transaction() as cur:
        _create_stage(cur)
        done = 0
        for size, table in _chunks_ahead(spec, acc, sizes):
            cur.register("demo_chunk", table)
            cur.execute(stage_sql)
            cur.unregister("demo_chunk")
            done += size
            report(GENERATE_SHARE * done / tasks, f"generated {done:,} of {tasks:,} tasks")
        accounts_table = _accounts_table(spec, acc, acc_rng, _baseline_hours(cur, accounts))
        cur.register("demo_accounts_arrow", accounts_table)
        cur.execute("INSERT INTO demo_accounts SELECT * FROM demo_accounts_arrow")
        cur.unregister("demo_accounts_arrow")
        if replace:
            cur.execute("DELETE FROM tasks")
            cur.execute("DELETE FROM accounts")
        report(GENERATE_SHARE, "storing: reopen gaps and the definition cube")
        result = wh.apply_staged(
            cur, tasks="demo_stage", accounts="demo_accounts", source=spec.source, sha256=None, kind="demo"
        )
        cur.execute("DROP TABLE temp.main.demo_stage")
        cur.execute("DROP TABLE temp.main.demo_accounts")
    report(1.0, f"done in {time.perf_counter() - started:.1f} s")
    return result
