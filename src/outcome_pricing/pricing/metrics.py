"""Account-month metrics: every quantity a plan can price, per account and month.

Work is split by what it depends on (DESIGN section 7):

* definition-independent usage (seats, human time, conversations, tokens by
  model tier, tasks) is one aggregate SQL scan, kept per warehouse and data
  generation, so a new plan or definition never rescans the tasks;
* outcomes come from ``rules.outcomes`` (the cube).

Account-months run from each account's first task to the warehouse's last
month, so a quiet month still bills seats, fees and minimums.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from outcome_pricing.kit.money import (
    MICRO,
    cents_to_float,
    floats_to_micro,
    pico_to_cents,
    to_micro,
)
from outcome_pricing.pricing.charges import UsageArrays, seats_needed_array
from outcome_pricing.pricing.terms import DEFAULT_HOURS_PER_SEAT, Costs, Metric

if TYPE_CHECKING:
    from outcome_pricing.rules import Definition
    from outcome_pricing.warehouse.handle import Warehouse

KEYS = ["account_id", "month"]

# One scan of the tasks: everything that does not depend on the definition.
# human time is summed in whole milliseconds so the sum is exact (a float sum
# can differ in the last bit between runs, which could move a seats ceiling).
USAGE_SQL = """
SELECT account_id,
       month,
       model_tier,
       count(*) AS tasks,
       count(*) FILTER (WHERE ai_enabled) AS ai_tasks,
       coalesce(sum(round(coalesce(human_seconds, 0) * 1000)::BIGINT), 0)::BIGINT AS human_ms,
       coalesce(sum(coalesce(tokens_in, 0)), 0)::BIGINT AS input_tokens,
       coalesce(sum(coalesce(tokens_out, 0)), 0)::BIGINT AS output_tokens
FROM tasks
GROUP BY ALL
"""

ACCOUNTS_SQL = """
SELECT account_id, name, segment,
       coalesce(seats, 0)::BIGINT AS seats,
       coalesce(seat_price, 0)::DOUBLE AS seat_price
FROM accounts
"""

# Public metric columns of account_month_metrics, in order.
METRIC_COLUMNS = [
    "seats",
    "seats_needed",
    "conversations",
    "outcomes",
    "input_tokens_m",
    "output_tokens_m",
    "tasks",
]

_usage_cache: weakref.WeakKeyDictionary[Warehouse, tuple[int, pd.DataFrame]] = weakref.WeakKeyDictionary()
_usage_lock = threading.Lock()


def usage_by_tier(wh: Warehouse) -> pd.DataFrame:
    """Definition-independent usage per account, month and model tier (cached per data generation)."""
    with _usage_lock:
        hit = _usage_cache.get(wh)
        if hit is not None and hit[0] == wh.generation:
            return hit[1]
    # Read the generation before the query: an ingest committing in between must not
    # leave the old usage cached as current.
    generation = wh.generation
    df = wh.query_df(USAGE_SQL)
    df["month"] = pd.to_datetime(df["month"])
    with _usage_lock:
        _usage_cache[wh] = (generation, df)
    return df


def _cogs_cents(by_tier: pd.DataFrame, costs: Costs) -> pd.Series:
    """Cost to serve per account-month, exact, rounded half up to cents once per account-month."""
    tiers = by_tier["model_tier"].astype(object)

    def micro_prices(direction: str) -> np.ndarray:
        # Tiers without an entry (and tasks without a tier) fall back to the `default` entry, else 0.
        lookup = {t: to_micro(costs.token_price(direction, t)) for t in tiers.dropna().unique()}
        default = to_micro(costs.token_price(direction, None))
        return tiers.map(lookup).fillna(default).to_numpy(dtype=np.int64)

    # tokens x micro-dollars per million tokens = 1e-12 dollars, like quantity x price elsewhere
    pico = (
        by_tier["input_tokens"].to_numpy(np.int64) * micro_prices("input")
        + by_tier["output_tokens"].to_numpy(np.int64) * micro_prices("output")
        + by_tier["ai_tasks"].to_numpy(np.int64) * (to_micro(costs.per_ai_task) * MICRO)
    )
    summed = pd.Series(pico, index=by_tier.index).groupby([by_tier["account_id"], by_tier["month"]]).sum()
    cogs: pd.Series = pico_to_cents(summed)
    return cogs


def _full_grid(sums: pd.DataFrame) -> pd.DataFrame:
    """Every month from each account's first task to the warehouse's last month.

    A contract runs every month whether or not a task closed in it: a quiet
    month still bills seats and fees (and a seat count that drops in and out
    with activity would fake seat erosion). Missing months get zero usage.
    """
    if sums.empty:
        return sums
    months = sums.index.get_level_values("month")
    accounts = sums.index.get_level_values("account_id")
    first = pd.Series(months, index=accounts).groupby(level=0).min()
    all_months = pd.date_range(months.min(), months.max(), freq="MS")
    grid = pd.MultiIndex.from_tuples(
        [(a, m) for a, start in first.items() for m in all_months if m >= start], names=KEYS
    )
    return sums.reindex(grid, fill_value=0)


def account_month_metrics(wh: Warehouse, d: Definition, costs: Costs | None = None) -> pd.DataFrame:
    """Every metric per account and month, with the cost to serve.

    Rows: every month from an account's first task to the warehouse's last
    month (quiet months have zero usage but still bill seats and fees).

    Columns: account_id, month, name, segment, seats, seat_price, human_hours,
    seats_needed (at DEFAULT_HOURS_PER_SEAT), conversations, outcomes (billable
    units under ``d``), input_tokens_m, output_tokens_m, tasks, ai_tasks,
    cogs (dollars); and the exact integers the charges use: human_ms,
    input_tokens, output_tokens, outcomes_micro (millionths of a unit),
    seat_price_micro, cogs_cents. Sorted by account_id, month.
    """
    from outcome_pricing.rules import outcomes

    by_tier = usage_by_tier(wh)
    sums = by_tier.groupby(KEYS, sort=True)[
        ["tasks", "ai_tasks", "human_ms", "input_tokens", "output_tokens"]
    ].sum()
    sums["cogs_cents"] = _cogs_cents(by_tier, costs or Costs())
    df = _full_grid(sums).reset_index()
    accounts = wh.query_df(ACCOUNTS_SQL)
    df = df.merge(accounts, on="account_id", how="left")
    df["seats"] = df["seats"].fillna(0).astype(np.int64)
    df["seat_price"] = df["seat_price"].fillna(0.0)
    out = outcomes(wh, d, by=tuple(KEYS))[[*KEYS, "billable_units"]].copy()
    out["month"] = pd.to_datetime(out["month"])
    df = df.merge(out, on=KEYS, how="left")
    df["outcomes_micro"] = floats_to_micro(df["billable_units"])
    df["seat_price_micro"] = floats_to_micro(df["seat_price"])
    return _finish_metrics(df)


def _finish_metrics(df: pd.DataFrame) -> pd.DataFrame:
    df["conversations"] = df["ai_tasks"]
    df["outcomes"] = df["outcomes_micro"] / MICRO
    df["input_tokens_m"] = df["input_tokens"] / MICRO
    df["output_tokens_m"] = df["output_tokens"] / MICRO
    df["human_hours"] = df["human_ms"] / 3_600_000
    df["seats_needed"] = seats_needed_array(df["human_ms"].to_numpy(), DEFAULT_HOURS_PER_SEAT)
    df["cogs"] = cents_to_float(df["cogs_cents"])
    cols = [
        *KEYS, "name", "segment", "seats", "seat_price", "human_hours", "seats_needed",
        "conversations", "outcomes", "input_tokens_m", "output_tokens_m", "tasks", "ai_tasks", "cogs",
        "human_ms", "input_tokens", "output_tokens", "outcomes_micro", "seat_price_micro", "cogs_cents",
    ]
    return df[cols].sort_values(KEYS, ignore_index=True)


def usage_arrays(metrics: pd.DataFrame) -> UsageArrays:
    """The exact integer usage the charges price, from an account_month_metrics frame."""
    micro = {
        Metric.SEATS: metrics["seats"].to_numpy(np.int64) * MICRO,
        Metric.CONVERSATIONS: metrics["conversations"].to_numpy(np.int64) * MICRO,
        Metric.TASKS: metrics["tasks"].to_numpy(np.int64) * MICRO,
        Metric.OUTCOMES: metrics["outcomes_micro"].to_numpy(np.int64),
        # millions of tokens in millionths of a unit is the token count itself
        Metric.INPUT_TOKENS_M: metrics["input_tokens"].to_numpy(np.int64),
        Metric.OUTPUT_TOKENS_M: metrics["output_tokens"].to_numpy(np.int64),
    }
    return UsageArrays(
        micro=micro,
        human_ms=metrics["human_ms"].to_numpy(np.int64),
        seat_price_micro=metrics["seat_price_micro"].to_numpy(np.int64),
    )
