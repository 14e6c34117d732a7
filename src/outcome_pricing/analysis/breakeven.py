"""Break-even per-outcome prices over the months that can answer the question, and which
accounts have the AI live at all.

A per-outcome plan only earns where the AI is live: an account's months before
its go-live bill seats under the reference plan and nothing under the outcome
plan, so a break-even over the whole history mixes in months that no price can
win back. Here the break-even is taken over each account's **live months** (from
its first month with an AI task, whatever came after) and over the **recent**
months (the last RECENT_MONTHS months of data, live accounts only), for the
portfolio, per segment and per account. Accounts that never used the AI are
"not live": they are left out of break-evens and shown apart in winners and
losers, not as losers of 100%.

Prices come from `pricing.price_sweep_metrics` on the chosen account-months, the
same exact-cent arithmetic as the backtest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from outcome_pricing.analysis.recent import RECENT_MONTHS
from outcome_pricing.pricing.backtest import Backtest
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.sweep import PriceSweep, crossing, price_sweep_metrics

NO_SEGMENT = "no segment"  # an account without a segment in the accounts file


class Window(StrEnum):
    """Which account-months a break-even is taken over."""

    LIVE = "live"  # each account's months from its first AI month on
    RECENT = "recent"  # the last RECENT_MONTHS months of data, live accounts only


class Standing(StrEnum):
    """Where an account stands under the proposed plan against the reference."""

    PAYS_MORE = "pays more"
    PAYS_LESS = "pays less"
    SAME = "pays the same"
    NOT_LIVE = "not live"  # never had an AI task: an outcome price says nothing about it


def live_months(metrics: pd.DataFrame) -> pd.Series:
    """True for each account-month (row of an account_month_metrics frame) from the
    account's first month with an AI task on; all False for an account that never had one."""
    first_ai = metrics["month"].where(metrics["ai_tasks"] > 0).groupby(metrics["account_id"]).transform("min")
    return (metrics["month"] >= first_ai).fillna(False).astype(bool)


def window_mask(metrics: pd.DataFrame, window: Window) -> pd.Series:
    """The account-months of `window` (see Window)."""
    live = live_months(metrics)
    if window is Window.LIVE:
        return live
    recent = sorted(metrics["month"].unique())[-RECENT_MONTHS:]
    return live & metrics["month"].isin(recent)


@dataclass(frozen=True)
class BreakEven:
    """The per-outcome price of `plan` at which it earns what `reference` earns, over one window.

    ``price``: the portfolio's (NaN when no price does: no outcomes in the window).
    ``segments``: segment, accounts, outcomes, reference_revenue, break_even_price.
    ``accounts``: account_id, name, segment, outcomes, reference_revenue, break_even_price.
    ``first_month``/``last_month``: the window's span (None when it is empty).
    ``sweep``: the price sweep over the window (None when it is empty).
    """

    window: Window
    plan: str
    reference: str
    price: float
    segments: pd.DataFrame
    accounts: pd.DataFrame
    first_month: pd.Timestamp | None
    last_month: pd.Timestamp | None
    account_months: int
    sweep: PriceSweep | None

    @property
    def found(self) -> bool:
        return math.isfinite(self.price)


SEGMENT_COLUMNS = ["segment", "accounts", "outcomes", "reference_revenue", "break_even_price"]
ACCOUNT_COLUMNS = ["account_id", "name", "segment", "outcomes", "reference_revenue", "break_even_price"]


def break_even(metrics: pd.DataFrame, planset: PlanSet, plan: str, reference: str, window: Window) -> BreakEven:
    """The break-even of `plan` against `reference` over `window`, for the portfolio, each
    segment and each account (an account_month_metrics frame, e.g. ``Backtest.metrics``)."""
    rows = metrics[window_mask(metrics, window).to_numpy()].reset_index(drop=True)
    if rows.empty:
        return BreakEven(window, plan, reference, math.nan, pd.DataFrame(columns=SEGMENT_COLUMNS),
                         pd.DataFrame(columns=ACCOUNT_COLUMNS), None, None, 0, None)
    rows = rows.assign(segment=rows["segment"].fillna(NO_SEGMENT))
    whole = price_sweep_metrics(rows, planset, plan, reference)
    info = rows.drop_duplicates("account_id").set_index("account_id")[["name", "segment"]]
    accounts = whole.break_even.join(info, on="account_id")[ACCOUNT_COLUMNS]
    segments = []
    for segment, part in rows[["segment", "account_id", "outcomes"]].groupby("segment", sort=True):
        found = _segment_break_even(whole, part["account_id"].unique())
        if found is None:  # the segment's own sweep reaches past the shared prices: sweep it alone
            sweep = price_sweep_metrics(rows.loc[part.index].reset_index(drop=True), planset, plan, reference)
            found = float(sweep.portfolio["reference_revenue"].iloc[0]), sweep.break_even_price
        segments.append((segment, part["account_id"].nunique(), float(part["outcomes"].sum()), *found))
    by_segment = pd.DataFrame(segments, columns=SEGMENT_COLUMNS)
    # Smallest accounts first (SMB, mid-market, enterprise), by reference revenue per account.
    by_segment = by_segment.iloc[(by_segment["reference_revenue"] / by_segment["accounts"]).argsort(kind="stable")]
    return BreakEven(
        window=window, plan=plan, reference=reference, price=whole.break_even_price,
        segments=by_segment.reset_index(drop=True), accounts=accounts.reset_index(drop=True),
        first_month=pd.Timestamp(rows["month"].min()), last_month=pd.Timestamp(rows["month"].max()),
        account_months=len(rows), sweep=whole,
    )


def _segment_break_even(whole: PriceSweep, members: np.ndarray) -> tuple[float, float] | None:
    """(reference revenue, break-even price) of the accounts `members`, as their own sweep
    finds them: each price's revenue is the sum of its accounts' (charges are per account),
    in cents. None when that sweep would not sweep the same prices: the portfolio's reached
    past the default ones, or the segment's break-even lies beyond the last price."""
    if not whole.swept_defaults:
        return None
    at = pd.Index(whole.break_even["account_id"]).get_indexer(pd.Index(members))
    if (at < 0).any():
        return None
    prices = whole.portfolio["price"].to_numpy(dtype="float64")
    revenue = whole.revenue_cents[:, at].sum(axis=1) / 100
    reference = float(whole.reference_cents[at].sum()) / 100
    price = crossing(prices, revenue, reference)
    if math.isfinite(price) and price > prices[-1]:
        return None
    return reference, price


def break_evens(metrics: pd.DataFrame, planset: PlanSet, plan: str, reference: str) -> dict[Window, BreakEven]:
    """The break-even over every window, live months first."""
    return {w: break_even(metrics, planset, plan, reference, w) for w in Window}


def standings(bt: Backtest, plan: str) -> pd.DataFrame:
    """`Backtest.account_changes(plan)` with a `standing` per account (Standing values) and
    `ai_live` (the account had at least one AI task): accounts never live are "not live"
    whatever their change, since they never had an outcome to bill."""
    changes = bt.account_changes(plan)
    ever_live = bt.metrics.groupby("account_id")["ai_tasks"].sum().gt(0)
    live = changes["account_id"].map(ever_live).fillna(False).astype(bool)
    standing = np.select(
        [~live, changes["change"] > 0, changes["change"] < 0],
        [Standing.NOT_LIVE.value, Standing.PAYS_MORE.value, Standing.PAYS_LESS.value],
        default=Standing.SAME.value,
    )
    return changes.assign(ai_live=live.to_numpy(), standing=standing)
