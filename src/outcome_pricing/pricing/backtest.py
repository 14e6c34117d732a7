"""Every plan on the same history: metrics per account-month, the backtest, price sweeps.

Work is split by what it depends on (DESIGN section 7):

* definition-independent usage (seats, human time, conversations, tokens by
  model tier, tasks) is one aggregate SQL scan, kept per warehouse and data
  generation, so a new plan or definition never rescans the tasks;
* outcomes come from ``definitions.outcomes`` (the cube);
* plans are priced on all account-months at once in exact integer cents
  (charges.plan_cents), the same cents a statement shows.

Account-months run from each account's first task to the warehouse's last
month, so a quiet month still bills seats, fees and minimums.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.money import (
    MICRO,
    ceil_decimal,
    cents_to_float,
    floats_to_micro,
    pico_to_cents,
    to_micro,
)
from outcome_pricing.pricing.charges import UsageArrays, plan_cents, seats_needed_array
from outcome_pricing.pricing.plans import DEFAULT_HOURS_PER_SEAT, Costs, Metric, PlanSet

if TYPE_CHECKING:
    from outcome_pricing.rules.definition import Definition
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


# ====================================================================== metrics
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
    return pico_to_cents(summed)


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
    seats_needed (at 120 hours per seat), conversations, outcomes (billable
    units under ``d``), input_tokens_m, output_tokens_m, tasks, ai_tasks,
    cogs (dollars); and the exact integers the charges use: human_ms,
    input_tokens, output_tokens, outcomes_micro (millionths of a unit),
    seat_price_micro, cogs_cents. Sorted by account_id, month.
    """
    from outcome_pricing.rules.definition import outcomes

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


# ====================================================================== backtest
@dataclass(frozen=True)
class Backtest:
    """N plans on the same history, per account and month.

    ``frame``: account_id, month, plan, revenue, cogs, margin, margin_pct,
    usage, cap_credit, platform_fee, minimum_true_up (dollars, from exact
    cents), revenue_cents, cogs_cents, and the metrics used. ``metrics``: the
    account_month_metrics frame. ``reference``: the plan changes are measured
    against (default: the first plan).
    """

    frame: pd.DataFrame
    metrics: pd.DataFrame
    plans: tuple[str, ...]
    reference: str
    definition_name: str
    definition_version: str

    def portfolio(self) -> pd.DataFrame:
        """Per month and plan: revenue, cogs, margin, margin_pct, accounts billed."""
        g = self.frame.groupby(["month", "plan"], observed=True, sort=True)
        out = g[["revenue", "cogs", "margin"]].sum()
        out["accounts"] = g["account_id"].nunique()
        out = out.reset_index()
        out["margin_pct"] = _ratio(out["margin"], out["revenue"])
        return out

    def totals(self) -> pd.DataFrame:
        """Per plan over the whole history: revenue, cogs, margin, margin_pct, change vs reference."""
        out = self.frame.groupby("plan", observed=True, sort=False)[["revenue", "cogs", "margin"]].sum()
        out = out.reindex(list(self.plans)).reset_index()
        out["margin_pct"] = _ratio(out["margin"], out["revenue"])
        ref = float(out.loc[out["plan"] == self.reference, "revenue"].sum())
        out["change_vs_reference"] = out["revenue"] - ref
        return out

    def account_changes(self, plan: str, reference: str | None = None) -> pd.DataFrame:
        """Per account over the history: revenue under ``reference`` and ``plan``, and the change.

        change > 0: the account would pay more under ``plan`` (the vendor
        gains); change < 0: it would pay less. Sorted by change, largest first.
        """
        reference = reference or self.reference
        self._check_plan(plan)
        self._check_plan(reference)
        by = self.frame.groupby(["account_id", "plan"], observed=True)["revenue"].sum().unstack("plan")
        out = pd.DataFrame(
            {"reference_revenue": by[reference], "revenue": by[plan]}
        ).reset_index()
        names = self.metrics.drop_duplicates("account_id").set_index("account_id")[["name", "segment"]]
        out = out.join(names, on="account_id")
        out["change"] = out["revenue"] - out["reference_revenue"]
        out["change_pct"] = _ratio(out["change"], out["reference_revenue"])
        out["plan"], out["reference"] = plan, reference
        return out.sort_values(["change", "account_id"], ascending=[False, True], ignore_index=True)

    def winners_losers(self, plan: str, n: int = 10, reference: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The ``n`` accounts that would pay most more, and most less, under ``plan`` than the reference."""
        changes = self.account_changes(plan, reference)
        more = changes[changes["change"] > 0].head(n)
        less = changes[changes["change"] < 0].sort_values("change", kind="stable").head(n)
        return more.reset_index(drop=True), less.reset_index(drop=True)

    def seat_erosion(self, by: str = "month", hours_per_seat: Decimal = DEFAULT_HOURS_PER_SEAT) -> pd.DataFrame:
        """Contracted seats against seats needed (human hours / hours_per_seat), and the
        seat revenue at risk: (seats - seats_needed, if positive) x the account's seat price.

        ``by`` = "month" (portfolio) or "account" (each account's latest month first).
        """
        m = self.metrics
        needed = seats_needed_array(m["human_ms"].to_numpy(), hours_per_seat)
        df = pd.DataFrame(
            {
                "account_id": m["account_id"],
                "month": m["month"],
                "seats": m["seats"],
                "seats_needed": needed,
                "seat_revenue": m["seats"] * m["seat_price"],
                "seat_revenue_at_risk": np.maximum(m["seats"] - needed, 0) * m["seat_price"],
            }
        )
        if by == "account":
            return df.sort_values(["account_id", "month"], ascending=[True, False], ignore_index=True)
        if by != "month":
            raise ConfigError(f"seat_erosion(by={by!r}): use by='month' or by='account'.")
        out = df.groupby("month", sort=True)[
            ["seats", "seats_needed", "seat_revenue", "seat_revenue_at_risk"]
        ].sum()
        return out.reset_index()

    def _check_plan(self, name: str) -> None:
        if name not in self.plans:
            raise ConfigError(f"There is no plan named {name!r} in this backtest. Plans: {', '.join(self.plans)}.")


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.astype(float)
    return (num / den.where(den != 0)).astype(float)


def _stack(per_plan: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.asarray(a, dtype=np.int64) for a in per_plan])


def backtest_metrics(
    metrics: pd.DataFrame,
    planset: PlanSet,
    reference: str | None = None,
    definition_name: str = "",
    definition_version: str = "",
) -> Backtest:
    """Price every plan of ``planset`` on an account_month_metrics frame (no warehouse needed)."""
    reference = reference or planset.plans[0].name
    planset.plan(reference)  # a clear error for an unknown reference
    usage = usage_arrays(metrics)
    bills = [plan_cents(p, usage) for p in planset.plans]
    n, k = len(metrics), len(bills)
    revenue = _stack([b.total for b in bills])
    cogs = np.tile(metrics["cogs_cents"].to_numpy(np.int64), k)
    codes = np.repeat(np.arange(k), n)
    # One frame built from whole arrays: far cheaper than one frame per plan then concat.
    columns: dict[str, Any] = {
        "account_id": np.tile(metrics["account_id"].to_numpy(dtype=object), k),
        "month": np.tile(metrics["month"].to_numpy(), k),
        "plan": pd.Categorical.from_codes(codes, categories=list(planset.names), ordered=True),
        "revenue": cents_to_float(revenue),
        "cogs": cents_to_float(cogs),
        "margin": cents_to_float(revenue - cogs),
        "margin_pct": _ratio_array(revenue - cogs, revenue),
        "usage": cents_to_float(_stack([b.usage for b in bills])),
        "cap_credit": cents_to_float(_stack([b.cap_credit for b in bills])),
        "platform_fee": cents_to_float(_stack([b.platform_fee for b in bills])),
        "minimum_true_up": cents_to_float(_stack([b.minimum_true_up for b in bills])),
        "revenue_cents": revenue,
        "cogs_cents": cogs,
    }
    for col in METRIC_COLUMNS:
        columns[col] = np.tile(metrics[col].to_numpy(), k)
    frame = pd.DataFrame(columns)
    return Backtest(frame, metrics, planset.names, reference, definition_name, definition_version)


def _ratio_array(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1), np.nan)


def backtest(wh: Warehouse, planset: PlanSet, d: Definition, reference: str | None = None) -> Backtest:
    """Every plan of ``planset`` over the warehouse's history under definition ``d``.

    Revenue per account-month equals the total of ``statement(...)`` for the
    same account, month and plan, to the cent.
    """
    metrics = account_month_metrics(wh, d, planset.costs)
    return backtest_metrics(metrics, planset, reference, d.name, d.version)


# ====================================================================== price sweep
@dataclass(frozen=True)
class PriceSweep:
    """Revenue and margin of one plan as its per-outcome price moves.

    ``portfolio``: price, revenue, cogs, margin, reference_revenue (whole history).
    ``accounts``: account_id, price, revenue, reference_revenue (long form).
    ``break_even``: per account: outcomes, reference_revenue, break_even_price
    (the per-outcome price at which the plan earns what the reference plan
    earns from that account; NaN when no price does, e.g. no outcomes).
    ``break_even_price``: the same for the whole portfolio.
    Break-even prices interpolate linearly between sweep prices (extrapolating
    past the last one), which is exact while revenue is linear in the price
    (no minimum or cap kicks in between two sweep prices).
    """

    plan: str
    reference: str
    current_price: float
    portfolio: pd.DataFrame
    accounts: pd.DataFrame
    break_even: pd.DataFrame
    break_even_price: float


def default_prices(current: Decimal, steps: int = 60, reach: Decimal = Decimal(0)) -> list[Decimal]:
    """Sweep prices from 0 to 3x the current price in whole dollars (at least $3, and at
    least `reach`, e.g. a break-even price the chart must show), in even steps."""
    top = max(ceil_decimal(current * 3), Decimal(3), ceil_decimal(reach))
    step = (top / steps).quantize(Decimal("0.01"))
    return [step * i for i in range(steps + 1)]


def _outcome_price(planset: PlanSet, plan: str) -> Decimal:
    for charge in planset.plan(plan).charges:
        if charge.metric is Metric.OUTCOMES and not charge.account_price:
            return charge.price if charge.price is not None else charge.tiers[0].price
    raise ConfigError(
        f"Plan {plan!r} has no outcome charge to sweep; pick a plan with a charge on metric = \"outcomes\"."
    )


def price_sweep_metrics(
    metrics: pd.DataFrame,
    planset: PlanSet,
    plan: str | None = None,
    reference: str | None = None,
    prices: Sequence[Decimal] | None = None,
) -> PriceSweep:
    """The sweep on an account_month_metrics frame (see ``price_sweep``)."""
    if plan is None:
        plan = next((p.name for p in planset.plans if p.has_outcome_charge), planset.plans[0].name)
    reference = reference or planset.plans[0].name
    ref_plan, base = planset.plan(reference), planset.plan(plan)
    current = _outcome_price(planset, plan)
    explicit = prices
    prices = list(prices) if prices is not None else default_prices(current)
    usage = usage_arrays(metrics)
    codes, account_ids = pd.factorize(metrics["account_id"], sort=True)

    def by_account(cents: np.ndarray) -> np.ndarray:
        out = np.zeros(len(account_ids), dtype=np.int64)
        np.add.at(out, codes, np.asarray(cents, dtype=np.int64))
        return out

    ref_cents = np.asarray(plan_cents(ref_plan, usage).total, dtype=np.int64)
    ref_by_account = pd.Series(by_account(ref_cents), index=account_ids)
    rows = np.empty((len(prices), len(account_ids)), dtype=np.int64)
    portfolio = []
    cogs = int(metrics["cogs_cents"].sum())
    for i, price in enumerate(prices):
        total = np.asarray(plan_cents(base.with_outcome_price(Decimal(price)), usage).total, dtype=np.int64)
        rows[i] = by_account(total)
        revenue = int(total.sum())
        portfolio.append((float(price), revenue / 100, cogs / 100, (revenue - cogs) / 100, ref_cents.sum() / 100))
    price_arr = np.array([float(p) for p in prices])
    port = pd.DataFrame(portfolio, columns=["price", "revenue", "cogs", "margin", "reference_revenue"])
    long = pd.DataFrame(
        {
            "account_id": np.tile(ref_by_account.index.to_numpy(), len(prices)),
            "price": np.repeat(price_arr, len(ref_by_account)),
            "revenue": rows.reshape(-1) / 100,
            "reference_revenue": np.tile(ref_by_account.to_numpy() / 100, len(prices)),
        }
    )
    outcomes = metrics.groupby("account_id")["outcomes"].sum().reindex(ref_by_account.index)
    be = pd.DataFrame(
        {
            "account_id": ref_by_account.index,
            "outcomes": outcomes.to_numpy(),
            "reference_revenue": ref_by_account.to_numpy() / 100,
            "break_even_price": [
                _crossing(price_arr, rows[:, j] / 100, ref_by_account.iloc[j] / 100)
                for j in range(len(ref_by_account))
            ],
        }
    )
    total_be = _crossing(price_arr, port["revenue"].to_numpy(), float(ref_cents.sum()) / 100)
    if explicit is None and math.isfinite(total_be) and total_be > price_arr[-1]:
        # The portfolio break-even lies beyond the default range: sweep once more to 1.2x it,
        # so the chart shows the crossing instead of stopping short of it.
        reach = Decimal(repr(total_be * 1.2))
        return price_sweep_metrics(metrics, planset, plan, reference, default_prices(current, reach=reach))
    return PriceSweep(plan, reference, float(current), port, long, be, total_be)


def _crossing(prices: np.ndarray, revenue: np.ndarray, target: float) -> float:
    """The price where a non-decreasing revenue curve reaches ``target`` (NaN if never)."""
    if len(prices) == 0:
        return float("nan")
    if revenue[0] >= target:
        return float(prices[0])
    above = np.nonzero(revenue >= target)[0]
    if len(above):
        j = int(above[0])
        p0, p1, r0, r1 = prices[j - 1], prices[j], revenue[j - 1], revenue[j]
        return float(p0 + (target - r0) * (p1 - p0) / (r1 - r0))
    if len(prices) < 2 or revenue[-1] <= revenue[-2]:
        return float("nan")
    slope = (revenue[-1] - revenue[-2]) / (prices[-1] - prices[-2])
    return float(prices[-1] + (target - revenue[-1]) / slope)


def price_sweep(
    wh: Warehouse,
    planset: PlanSet,
    d: Definition,
    plan: str | None = None,
    reference: str | None = None,
    prices: Sequence[Decimal] | None = None,
) -> PriceSweep:
    """Sweep the per-outcome price of ``plan`` (default: the first plan with an outcome
    charge) and find where it earns what ``reference`` (default: the first plan) earns."""
    metrics = account_month_metrics(wh, d, planset.costs)
    return price_sweep_metrics(metrics, planset, plan, reference, prices)


@dataclass(frozen=True)
class PriceLab:
    """Everything the Price lab page draws, from one metrics computation."""

    backtest: Backtest
    sweep: PriceSweep | None  # None when no plan has an outcome charge


def price_lab(
    wh: Warehouse,
    planset: PlanSet,
    d: Definition,
    reference: str | None = None,
    proposed: str | None = None,
    prices: Sequence[Decimal] | None = None,
) -> PriceLab:
    """The backtest of every plan plus the per-outcome price sweep of ``proposed``
    (default: the first plan with an outcome charge) against ``reference``."""
    metrics = account_month_metrics(wh, d, planset.costs)
    bt = backtest_metrics(metrics, planset, reference, d.name, d.version)
    if proposed is None or not planset.plan(proposed).has_outcome_charge:
        proposed = next((p.name for p in planset.plans if p.has_outcome_charge), None)
    sweep = None if proposed is None else price_sweep_metrics(metrics, planset, proposed, bt.reference, prices)
    return PriceLab(bt, sweep)


__all__ = [
    "PriceLab",
    "Backtest",
    "PriceSweep",
    "account_month_metrics",
    "backtest",
    "backtest_metrics",
    "price_lab",
    "price_sweep",
    "price_sweep_metrics",
    "usage_arrays",
    "usage_by_tier",
]
