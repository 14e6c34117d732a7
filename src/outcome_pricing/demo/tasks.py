"""The synthetic tasks: who asked what and when, what the AI did, and the reopens it caused.

The AI takes the easy topics first, so the humans are left with the harder
queue (human minutes per human-handled task rise) while human minutes per task
overall fall. Wrong answers and false "assumed" resolutions come back as
reopens by the same requester on the same topic.

Everything is vectorised numpy on a Generator derived from the seed. Tasks are
generated in fixed-size chunks, each with its own SeedSequence child, so the
same (seed, sizes) give the same rows however they are consumed, and memory
stays flat for 10M tasks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from outcome_pricing.demo.portfolio import (
    CHANNEL_AI_EASE,
    CHANNEL_HUMAN_FACTOR,
    CHANNEL_SHARE,
    CHANNELS,
    HUMAN_SIGMA,
    MEAN_EASE,
    P_ANSWERED,
    TOPIC_DIFF,
    TOPIC_EASE,
    TOPIC_MINUTES,
    TOPICS,
    US_PER_HOUR,
    US_PER_MONTH,
    US_PER_SECOND,
    Accounts,
    DemoSpec,
)

# Fixed chunk size: part of the seed's meaning (changing it changes the data).
CHUNK_TASKS = 500_000


@dataclass
class _Base:
    """Who asked what, when: the inputs of the outcome model."""

    account: np.ndarray
    topic: np.ndarray
    channel: np.ndarray
    requester: np.ndarray
    created_us: np.ndarray


def _draw_base(spec: DemoSpec, acc: Accounts, rng: np.random.Generator, n: int) -> _Base:
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


def _outcomes(acc: Accounts, base: _Base, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """What happened in each task, given who asked what and when (all vectorised)."""
    n = base.account.size
    a, k, ch = base.account, base.topic, base.channel
    diff = TOPIC_DIFF[k]
    u = rng.random((14, n))  # independent uniforms, one row per decision

    go = acc.go_live_us[a]
    ai = (go >= 0) & (base.created_us - go >= acc.channel_delay_us[a, ch])
    months_live = np.where(ai, (base.created_us - go) / US_PER_MONTH, 0.0)
    # Learning curve: the account's resolution rate climbs from `start` toward `ceiling`.
    rate = acc.ceiling[a] - (acc.ceiling[a] - acc.start[a]) * np.exp(-months_live / acc.tau_months[a])
    n_issues = 1 + (u[0] > 0.82 - 0.1 * diff).astype(np.int64) + (u[0] > 0.96 - 0.04 * diff)
    p_genuine = rate * TOPIC_EASE[k] * CHANNEL_AI_EASE[ch] / MEAN_EASE / P_ANSWERED
    p_genuine = np.clip(p_genuine * 0.85 ** (n_issues - 1), 0.0, 0.97)

    answered = ai & (u[1] < P_ANSWERED)
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
        TOPIC_MINUTES[k] * CHANNEL_HUMAN_FACTOR[ch] * (1 + 0.55 * (n_issues - 1)) * handoff_factor
    ) * rng.lognormal(0.0, HUMAN_SIGMA, n)
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


def _chunk(spec: DemoSpec, acc: Accounts, index: int, n_out: int) -> pa.Table:
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


def chunk_sizes(total: int) -> list[int]:
    """Fixed-size chunks (the last one shorter): part of what a seed means."""
    full, rest = divmod(total, CHUNK_TASKS)
    return [CHUNK_TASKS] * full + ([rest] if rest else [])


def chunks_ahead(spec: DemoSpec, acc: Accounts, sizes: list[int]) -> Iterator[tuple[int, pa.Table]]:
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
