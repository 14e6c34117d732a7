"""The gain-share metric ``savings_usd``: dollars of labour saved in an account-month (DESIGN 11).

    savings_usd = max(0, sum over the month's ai_enabled tasks with human_seconds
                  of (baseline_s - human_seconds)) / 3600 x agent_hourly_cost

baseline_s is the mean human_seconds of the account's baseline tasks
(ai_enabled false) on the task's topic, else of all the account's baseline
tasks, else the portfolio's baseline on that topic, else the portfolio's
baseline (over the whole history, pooled over tasks; tasks without
human_seconds are left out). With no baseline task anywhere nothing is
measured and the savings are 0. agent_hourly_cost is the account's, else the
plan's ``hourly_cost_default``.

Exact: human time is summed in whole milliseconds by SQL (as the usage scan
does), and the means, the sum and the dollars are rational numbers
(``Fraction``), never rounded before a charge prices them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import pandas as pd

from outcome_pricing.kit.money import to_decimal
from outcome_pricing.pricing.usage import facts_table
from outcome_pricing.warehouse.memo import GenerationMemo

if TYPE_CHECKING:
    from outcome_pricing.warehouse.handle import Warehouse

MS_PER_HOUR = 3_600_000
MS_PER_MINUTE = 60_000

# Baseline human time per account and topic (ai_enabled false), in whole milliseconds.
BASELINE_SQL = """
SELECT account_id, topic,
       sum(round(human_seconds * 1000)::BIGINT)::BIGINT AS ms, count(*)::BIGINT AS n
FROM tasks
WHERE NOT ai_enabled AND human_seconds IS NOT NULL
GROUP BY ALL
"""

# The AI tasks whose human time is compared with it, per account, month and topic.
AI_SQL = """
SELECT account_id, month, topic,
       sum(round(human_seconds * 1000)::BIGINT)::BIGINT AS ms, count(*)::BIGINT AS n
FROM tasks
WHERE ai_enabled AND human_seconds IS NOT NULL
GROUP BY ALL
"""

# The same sums from account facts (pricing/usage.py `facts_table`): cluster mode's
# (scale/facts.py), or the usage facts built with the cube (warehouse/usage_facts.py).
BASELINE_FACTS_SQL = """
SELECT account_id, topic, sum(timed_ms)::BIGINT AS ms, sum(timed_tasks)::BIGINT AS n
FROM {facts}
WHERE NOT ai_enabled AND timed_tasks > 0
GROUP BY ALL
"""
AI_FACTS_SQL = """
SELECT account_id, month, topic, sum(timed_ms)::BIGINT AS ms, sum(timed_tasks)::BIGINT AS n
FROM {facts}
WHERE ai_enabled AND timed_tasks > 0
GROUP BY ALL
"""

HOURLY_SQL = "SELECT account_id, agent_hourly_cost FROM accounts WHERE agent_hourly_cost IS NOT NULL"


class BaselineSource(StrEnum):
    """Which baseline a topic's AI tasks were compared with (the first that exists)."""

    ACCOUNT_TOPIC = "account, same topic"
    ACCOUNT = "account, all topics"
    PORTFOLIO_TOPIC = "portfolio, same topic"
    PORTFOLIO = "portfolio, all topics"
    NONE = "no baseline"


@dataclass(frozen=True)
class Pool:
    """Summed baseline milliseconds and task count; the mean is exact."""

    ms: int = 0
    n: int = 0

    def add(self, ms: int, n: int) -> Pool:
        return Pool(self.ms + ms, self.n + n)

    @property
    def mean_ms(self) -> Fraction:
        return Fraction(self.ms, self.n)


@dataclass(frozen=True)
class Baselines:
    """Every baseline pool the fallbacks may use."""

    account_topic: Mapping[tuple[str, str], Pool]
    account: Mapping[str, Pool]
    portfolio_topic: Mapping[str, Pool]
    portfolio: Pool

    @classmethod
    def of(cls, rows: pd.DataFrame) -> Baselines:
        """From (account_id, topic, ms, n) rows of baseline tasks."""
        account_topic: dict[tuple[str, str], Pool] = {}
        account: dict[str, Pool] = {}
        topic: dict[str, Pool] = {}
        portfolio = Pool()
        for acc, top, ms, n in rows[["account_id", "topic", "ms", "n"]].itertuples(index=False):
            ms, n = int(ms), int(n)
            account_topic[(acc, top)] = account_topic.get((acc, top), Pool()).add(ms, n)
            account[acc] = account.get(acc, Pool()).add(ms, n)
            topic[top] = topic.get(top, Pool()).add(ms, n)
            portfolio = portfolio.add(ms, n)
        return cls(account_topic, account, topic, portfolio)

    def pick(self, account_id: str, topic: str) -> tuple[BaselineSource, Pool | None]:
        """The baseline of DESIGN 11's fallback order, and where it came from."""
        for source, pool in (
            (BaselineSource.ACCOUNT_TOPIC, self.account_topic.get((account_id, topic))),
            (BaselineSource.ACCOUNT, self.account.get(account_id)),
            (BaselineSource.PORTFOLIO_TOPIC, self.portfolio_topic.get(topic)),
            (BaselineSource.PORTFOLIO, self.portfolio),
        ):
            if pool is not None and pool.n > 0:
                return source, pool
        return BaselineSource.NONE, None


def topic_savings(baselines: Baselines, ai: pd.DataFrame) -> pd.DataFrame:
    """Per AI (account_id, month, topic, ms, n) row: the baseline picked and the saved milliseconds.

    Adds baseline_source, baseline_ms (Fraction: the mean) and saved_ms
    (Fraction: n x baseline - ms, negative when the AI's tasks took longer).
    """
    out = ai.copy()
    picks = [baselines.pick(a, t) for a, t in zip(out["account_id"], out["topic"], strict=True)]
    saved = [
        Fraction(int(n) * pool.ms - int(ms) * pool.n, pool.n) if pool is not None else Fraction(0)
        for (_, pool), n, ms in zip(picks, out["n"], out["ms"], strict=True)
    ]
    out["baseline_source"] = [source.value for source, _ in picks]
    out["baseline_ms"] = pd.Series([p.mean_ms if p is not None else None for _, p in picks], index=out.index, dtype=object)
    out["saved_ms"] = pd.Series(saved, index=out.index, dtype=object)
    return out


def saved_ms_by_month(topics: pd.DataFrame) -> pd.DataFrame:
    """account_id, month, saved_ms (Fraction, before the floor at 0), ai_timed_tasks."""
    rows: dict[tuple[str, pd.Timestamp], list[Any]] = {}
    for acc, month, saved, n in zip(topics["account_id"], topics["month"], topics["saved_ms"], topics["n"], strict=True):
        row = rows.setdefault((acc, month), [[], 0])
        row[0].append(saved)
        row[1] += int(n)
    return pd.DataFrame({
        "account_id": [a for a, _ in rows],
        "month": pd.to_datetime(pd.Series([m for _, m in rows], dtype="datetime64[ns]")),
        "saved_ms": pd.Series([sum(r[0], Fraction(0)) for r in rows.values()], dtype=object),
        "ai_timed_tasks": pd.Series([r[1] for r in rows.values()], dtype="int64"),
    })


def savings_usd(saved_ms: Fraction, hourly_cost: Decimal | None) -> Fraction:
    """DESIGN 11's dollars: max(0, saved) / 3600 s x the hourly cost (0 without one)."""
    if hourly_cost is None or saved_ms <= 0:
        return Fraction(0)
    return saved_ms / MS_PER_HOUR * Fraction(hourly_cost)


def hourly_cost_for(account_cost: Decimal | None, default: Decimal | None) -> Decimal | None:
    """The account's agent_hourly_cost, else the plan's hourly_cost_default."""
    return account_cost if account_cost is not None else default


# ---------------------------------------------------------------------- from the warehouse
def baselines(wh: Warehouse) -> Baselines:
    facts = facts_table(wh)
    return Baselines.of(wh.query_df(BASELINE_SQL if facts is None else BASELINE_FACTS_SQL.format(facts=facts)))


def ai_time(wh: Warehouse, account_id: str | None = None) -> pd.DataFrame:
    facts = facts_table(wh)
    df = wh.query_df(AI_SQL if facts is None else AI_FACTS_SQL.format(facts=facts))
    df["month"] = pd.to_datetime(df["month"])
    if account_id is not None:
        df = df[df["account_id"] == account_id]
    return df.reset_index(drop=True)


def account_hourly_costs(wh: Warehouse) -> dict[str, Decimal]:
    """accounts.agent_hourly_cost as the Decimal a person wrote (45.5 -> 45.5)."""
    df = wh.query_df(HOURLY_SQL)
    return {str(a): to_decimal(float(c)) for a, c in zip(df["account_id"], df["agent_hourly_cost"], strict=True)}


_cache: GenerationMemo[pd.DataFrame] = GenerationMemo(entries=1)


def savings_columns(wh: Warehouse) -> pd.DataFrame:
    """account_id, month, saved_ms (Fraction), ai_timed_tasks: what metrics merge in
    (kept per warehouse and data generation, like the usage scan)."""
    return _cache.get(wh, "savings", lambda: saved_ms_by_month(topic_savings(baselines(wh), ai_time(wh)))).copy()


@dataclass(frozen=True)
class SavingsDetail:
    """The computation behind one account-month's savings_usd, for the customer to check.

    ``topics``: topic, ai_tasks, ai_minutes (mean human minutes of those AI
    tasks), baseline_minutes, baseline_source, saved_minutes (AI tasks x
    baseline - their minutes; negative when slower); floats rounded for reading.
    """

    topics: pd.DataFrame
    saved_ms: Fraction
    hourly_cost: Decimal | None
    hourly_source: str
    savings: Fraction

    @property
    def saved_hours(self) -> Fraction:
        return max(self.saved_ms, Fraction(0)) / MS_PER_HOUR

    def lines(self) -> list[str]:
        """The computation in words, one line a topic, then the total."""
        out = [
            f"{r.topic}: {r.ai_tasks} AI tasks x (baseline {r.baseline_minutes:.2f} min [{r.baseline_source}]"
            f" - {r.ai_minutes:.2f} min) = {r.saved_minutes:,.2f} min"
            for r in self.topics.itertuples(index=False)
        ]
        cost = f"${self.hourly_cost:,f}/h ({self.hourly_source})" if self.hourly_cost is not None else "no hourly cost"
        out.append(
            f"saved max(0, {float(self.saved_ms) / MS_PER_MINUTE:,.2f} min) = {float(self.saved_hours):,.4f} h"
            f" x {cost} = ${float(self.savings):,.4f}"
        )
        return out


def savings_detail(
    wh: Warehouse, account_id: str, month: pd.Timestamp, hourly_default: Decimal | None
) -> SavingsDetail:
    """One account-month's savings computation (what a statement shows)."""
    ai = ai_time(wh, account_id)
    topics = topic_savings(baselines(wh), ai[ai["month"] == month])
    saved = sum(topics["saved_ms"], Fraction(0))
    own = account_hourly_costs(wh).get(account_id)
    cost = hourly_cost_for(own, hourly_default)
    source = "accounts.agent_hourly_cost" if own is not None else "plan hourly_cost_default"
    shown = pd.DataFrame({
        "topic": topics["topic"],
        "ai_tasks": topics["n"].astype(int),
        "ai_minutes": [int(ms) / int(n) / MS_PER_MINUTE for ms, n in zip(topics["ms"], topics["n"], strict=True)],
        "baseline_minutes": [float(m) / MS_PER_MINUTE if m is not None else 0.0 for m in topics["baseline_ms"]],
        "baseline_source": topics["baseline_source"],
        "saved_minutes": [float(s) / MS_PER_MINUTE for s in topics["saved_ms"]],
    }).sort_values("topic", ignore_index=True)
    return SavingsDetail(shown, saved, cost, source, savings_usd(saved, cost))
