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

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.money import (
    MICRO,
    cents_to_float,
    floats_to_micro,
    pico_to_cents,
    to_micro,
)
from outcome_pricing.pricing.deals.columns import add_deal_columns
from outcome_pricing.pricing.splits import add_splits, split_column, split_keys, splits_of
from outcome_pricing.pricing.terms import DEFAULT_HOURS_PER_SEAT, Costs, Metric, Plan, Settlement
from outcome_pricing.pricing.usage import UsageArrays, facts_table, seats_needed_array
from outcome_pricing.warehouse.memo import GenerationMemo

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

# The same sums from account facts: in cluster mode (warehouse/cluster.py) those the Spark
# build wrote (scale/facts.py), as the warehouse holds no tasks; else the usage facts built
# with the cube (warehouse/usage_facts.py). The parity tests compare.
USAGE_FACTS_SQL = """
SELECT account_id, month, model_tier,
       sum(tasks)::BIGINT AS tasks, sum(ai_tasks)::BIGINT AS ai_tasks, sum(human_ms)::BIGINT AS human_ms,
       sum(input_tokens)::BIGINT AS input_tokens, sum(output_tokens)::BIGINT AS output_tokens
FROM {facts}
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

_usage_cache: GenerationMemo[pd.DataFrame] = GenerationMemo(entries=1)


def usage_by_tier(wh: Warehouse) -> pd.DataFrame:
    """Definition-independent usage per account, month and model tier (cached per data generation)."""
    return _usage_cache.get(wh, "usage", lambda: _read_usage_by_tier(wh))


def _read_usage_by_tier(wh: Warehouse) -> pd.DataFrame:
    facts = facts_table(wh)
    df = wh.query_df(USAGE_SQL if facts is None else USAGE_FACTS_SQL.format(facts=facts))
    df["month"] = pd.to_datetime(df["month"])
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


def account_month_metrics(
    wh: Warehouse, d: Definition, costs: Costs | None = None, plans: Iterable[Plan] = ()
) -> pd.DataFrame:
    """Every metric per account and month, with the cost to serve.

    Rows: every month from an account's first task to the warehouse's last
    month (quiet months have zero usage but still bill seats and fees).

    Columns: account_id, month, name, segment, seats, seat_price, human_hours,
    seats_needed (at DEFAULT_HOURS_PER_SEAT), conversations, outcomes (billable
    units under ``d``), input_tokens_m, output_tokens_m, tasks, ai_tasks,
    cogs (dollars); and the exact integers the charges use: human_ms,
    input_tokens, output_tokens, outcomes_micro (millionths of a unit),
    seat_price_micro, cogs_cents. Sorted by account_id, month.

    ``plans``: the plans to be priced on the frame; what they need beyond the
    metrics above is added as columns: the settled outcomes metric of charges with
    an audit settlement (``settled_column``, see ``outcomes_metric``) and the metrics
    split by a dimension for charges priced ``by`` one (``splits.split_column``).
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
    df = _finish_metrics(df)
    plans = tuple(plans)
    _add_settled(wh, d, df, plans)

    def settle(keys: pd.DataFrame, units: np.ndarray, settlement: Settlement, window: int) -> np.ndarray:
        return outcomes_metric(wh, d, keys, units, settlement, window)

    df = add_splits(wh, d, df, plans, settle)
    return add_deal_columns(wh, df)  # DESIGN 11: savings, hourly cost, go-live


# ====================================================================== the outcomes metric
def outcomes_metric(
    wh: Warehouse, d: Definition, keys: pd.DataFrame, units_micro: np.ndarray, settlement: Settlement, window_months: int
) -> np.ndarray:
    """THE place where the outcomes metric of an account-month is formed for an outcomes charge.

    ``keys``: account_id and month (first of the month) per row; ``units_micro``: the
    billable units under ``d`` per row, in millionths of a unit (the whole account-month,
    or one dimension value of it for a charge priced ``by``). Returns the quantity the
    charge prices, in millionths, before the allowance and tiers.

    Audit settlement (DESIGN 9) hooks in here: with ``settlement`` "point" or
    "upper_bound", the metric is multiplied by (1 - r), r the account's false-resolution
    rate over the calendar months M-w+1..M (w = ``window_months``; the point estimate
    or the Wilson upper bound; 0 without audits), and rounded to whole millionths
    here, once, so the statement and the backtest price the same integers.
    Every outcomes charge with a settlement reaches this function (account_month_metrics
    makes one column per (settlement, window) the plans use; the same for each value of
    a charge priced by dimension), so nothing else needs to change to add it.
    """
    if settlement is Settlement.NONE:
        return units_micro
    # proof.audit is the same layer; imported here so loading pricing never loads the audits.
    from outcome_pricing.proof.audit.settlement import settled_micro, settlement_rates

    rates = settlement_rates(wh, d, keys, settlement.value, window_months)
    return settled_micro(units_micro, rates)


def settled_column(key: tuple[str, int]) -> str:
    """The metrics column of the outcomes metric under one (settlement, window)."""
    return f"outcomes_micro|{key[0]}|{key[1]}"


def _settled_keys(plans: Iterable[Plan]) -> list[tuple[str, int]]:
    keys = {c.settlement_key for p in plans for c in p.charges}
    return sorted(k for k in keys if k is not None)


def _add_settled(wh: Warehouse, d: Definition, df: pd.DataFrame, plans: Iterable[Plan]) -> None:
    for key in _settled_keys(plans):
        units = df["outcomes_micro"].to_numpy(np.int64)
        df[settled_column(key)] = outcomes_metric(wh, d, df[KEYS], units, Settlement(key[0]), key[1])


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


def require_metrics_for(metrics: pd.DataFrame, plans: Iterable[Plan]) -> None:
    """A clear error when a metrics frame lacks what the plans price (made without `plans`)."""
    plans = tuple(plans)
    missing = [settled_column(k) for k in _settled_keys(plans) if settled_column(k) not in metrics.columns]
    missing += [
        split_column(k, "") for k in split_keys(plans) if split_column(k, "") not in metrics.columns
    ]
    if missing:
        raise ConfigError(
            f"These metrics were made without what the plans price ({', '.join(missing)}): "
            "make them with account_month_metrics(wh, d, costs, plans=planset.plans)."
        )


def month_numbers(months: pd.Series) -> np.ndarray:
    """First-of-month timestamps as month numbers (year x 12 + month - 1)."""
    m = pd.to_datetime(months)
    return (m.dt.year.to_numpy(np.int64) * 12 + m.dt.month.to_numpy(np.int64) - 1).astype(np.int64)


def first_charged_month(metrics: pd.DataFrame) -> np.ndarray:
    """Per row, the month number of its account's first charged month: where the terms that
    span months (a commitment's periods) start. Today the account's first month in the
    frame (the month of its first task); DESIGN 11's go-live start replaces it here."""
    numbers = pd.Series(month_numbers(metrics["month"]), index=metrics.index)
    return numbers.groupby(metrics["account_id"]).transform("min").to_numpy(np.int64)


def usage_arrays(metrics: pd.DataFrame) -> UsageArrays:
    """The exact integer usage the charges price, from an account_month_metrics frame
    (with the columns made for the plans, and each row's account, month and start)."""
    micro = {
        Metric.SEATS: metrics["seats"].to_numpy(np.int64) * MICRO,
        Metric.CONVERSATIONS: metrics["conversations"].to_numpy(np.int64) * MICRO,
        Metric.TASKS: metrics["tasks"].to_numpy(np.int64) * MICRO,
        Metric.OUTCOMES: metrics["outcomes_micro"].to_numpy(np.int64),
        # millions of tokens in millionths of a unit is the token count itself
        Metric.INPUT_TOKENS_M: metrics["input_tokens"].to_numpy(np.int64),
        Metric.OUTPUT_TOKENS_M: metrics["output_tokens"].to_numpy(np.int64),
    }
    settled = {}
    for column in metrics.columns:
        if isinstance(column, str) and column.startswith("outcomes_micro|"):
            _, settlement, window = column.split("|")
            settled[(settlement, int(window))] = metrics[column].to_numpy(np.int64)
    return UsageArrays(
        micro=micro,
        human_ms=metrics["human_ms"].to_numpy(np.int64),
        seat_price_micro=metrics["seat_price_micro"].to_numpy(np.int64),
        settled=settled,
        by=splits_of(metrics),
        account=pd.factorize(metrics["account_id"])[0].astype(np.int64),
        month=month_numbers(metrics["month"]),
        start=first_charged_month(metrics),
        saved_ms=metrics["saved_ms"].to_numpy(dtype=object) if "saved_ms" in metrics else None,
        hourly_cost=metrics["agent_hourly_cost"].to_numpy(dtype=object) if "agent_hourly_cost" in metrics else None,
    )
