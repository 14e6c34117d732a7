"""Price sweeps: revenue and margin of one plan as its per-outcome price moves, the
break-even prices against a reference plan, and the Price lab's one-pass bundle."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.money import ceil_decimal
from outcome_pricing.pricing.backtest import Backtest, backtest_metrics
from outcome_pricing.pricing.charges import plan_cents
from outcome_pricing.pricing.metrics import account_month_metrics, require_metrics_for, usage_arrays
from outcome_pricing.pricing.plans import PlanSet

if TYPE_CHECKING:
    from outcome_pricing.rules import Definition
    from outcome_pricing.warehouse.handle import Warehouse


@dataclass(frozen=True)
class PriceSweep:
    """Revenue and margin of one plan as its per-outcome price moves.

    ``portfolio``: price, revenue, cogs, margin, reference_revenue (whole history).
    ``accounts``: account_id, price, revenue, reference_revenue (long form).
    ``break_even``: per account: outcomes, reference_revenue, break_even_price
    (the per-outcome price at which the plan earns what the reference plan
    earns from that account; NaN when no price does, e.g. no outcomes).
    ``break_even_price``: the same for the whole portfolio.
    ``revenue_cents`` (prices x accounts, in ``break_even``'s account order) and
    ``reference_cents`` (per account): the exact cents behind those dollars, so a
    group of accounts' sweep is the sum of its accounts' (charges are per account).
    ``swept_defaults``: swept over `default_prices` of the current price (False when
    given prices, or when it swept again to reach a break-even beyond them).
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
    revenue_cents: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=np.int64), compare=False, repr=False)
    reference_cents: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64), compare=False, repr=False)
    swept_defaults: bool = False


def default_prices(current: Decimal, steps: int = 60, reach: Decimal = Decimal(0)) -> list[Decimal]:
    """Sweep prices from 0 to 3x the current price in whole dollars (at least $3, and at
    least `reach`, e.g. a break-even price the chart must show), in even steps."""
    top = max(ceil_decimal(current * 3), Decimal(3), ceil_decimal(reach))
    step = (top / steps).quantize(Decimal("0.01"))
    return [step * i for i in range(steps + 1)]


def _outcome_price(planset: PlanSet, plan: str) -> Decimal:
    price = planset.plan(plan).outcome_price()
    if price is not None:
        return price
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
    plan = planset.default_proposed() if plan is None else plan
    reference = reference or planset.default_reference()
    ref_plan, base = planset.plan(reference), planset.plan(plan)
    current = _outcome_price(planset, plan)
    explicit = prices
    prices = list(prices) if prices is not None else default_prices(current)
    require_metrics_for(metrics, (ref_plan, base))
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
                crossing(price_arr, rows[:, j] / 100, ref_by_account.iloc[j] / 100)
                for j in range(len(ref_by_account))
            ],
        }
    )
    total_be = crossing(price_arr, port["revenue"].to_numpy(), float(ref_cents.sum()) / 100)
    if explicit is None and math.isfinite(total_be) and total_be > price_arr[-1]:
        # The portfolio break-even lies beyond the default range: sweep once more to 1.2x it,
        # so the chart shows the crossing instead of stopping short of it.
        reach = Decimal(repr(total_be * 1.2))
        return price_sweep_metrics(metrics, planset, plan, reference, default_prices(current, reach=reach))
    return PriceSweep(plan, reference, float(current), port, long, be, total_be, revenue_cents=rows,
                      reference_cents=ref_by_account.to_numpy(dtype=np.int64), swept_defaults=explicit is None)


def crossing(prices: np.ndarray, revenue: np.ndarray, target: float) -> float:
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
    metrics = account_month_metrics(wh, d, planset.costs, planset.plans)
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
    metrics = account_month_metrics(wh, d, planset.costs, planset.plans)
    bt = backtest_metrics(metrics, planset, reference, d.name, d.version)
    if proposed is None or not planset.plan(proposed).has_outcome_charge:
        proposed = planset.default_proposed()
    sweepable = planset.plan(proposed).has_outcome_charge
    sweep = price_sweep_metrics(metrics, planset, proposed, bt.reference, prices) if sweepable else None
    return PriceLab(bt, sweep)
