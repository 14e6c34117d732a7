"""The account-month columns the deal terms read, merged into the metrics frame.

* ``saved_ms``: labour saved by the month's AI tasks against their baselines, in
  milliseconds, exact (``Fraction``; before the floor at 0), see savings.py;
* ``ai_timed_tasks``: the AI tasks with human_seconds that the savings compare;
* ``agent_hourly_cost``: the account's own (``Decimal``), or None (the plan's default applies);
* ``go_live_month``: the account's go-live month (NaT if it never went live).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

import pandas as pd

from outcome_pricing.kit.money import MICRO
from outcome_pricing.pricing.deals.savings import (
    account_hourly_costs,
    hourly_cost_for,
    savings_columns,
    savings_usd,
)
from outcome_pricing.pricing.deals.schedule import GO_LIVE_COLUMN, go_live_frame

if TYPE_CHECKING:
    from outcome_pricing.pricing.terms import Plan
    from outcome_pricing.warehouse.handle import Warehouse

DEAL_COLUMNS = ["saved_ms", "ai_timed_tasks", "agent_hourly_cost", GO_LIVE_COLUMN]
KEYS = ["account_id", "month"]


def add_deal_columns(wh: Warehouse, metrics: pd.DataFrame) -> pd.DataFrame:
    """``metrics`` with the DEAL_COLUMNS added (same rows, same order)."""
    savings = savings_columns(wh)
    savings["month"] = pd.to_datetime(savings["month"])
    out = metrics.merge(savings, on=KEYS, how="left")
    out["saved_ms"] = pd.Series(
        [s if isinstance(s, Fraction) else Fraction(0) for s in out["saved_ms"]], index=out.index, dtype=object
    )
    out["ai_timed_tasks"] = out["ai_timed_tasks"].fillna(0).astype("int64")
    costs = account_hourly_costs(wh)
    out["agent_hourly_cost"] = pd.Series([costs.get(a) for a in out["account_id"]], index=out.index, dtype=object)
    live = go_live_frame(wh).set_index("account_id")[GO_LIVE_COLUMN]
    out[GO_LIVE_COLUMN] = pd.to_datetime(out["account_id"].map(live))
    return out


def with_default_deal_columns(metrics: pd.DataFrame) -> pd.DataFrame:
    """A metrics frame made without a warehouse (tests, forecasts): no savings, go-live unknown."""
    out = metrics.copy()
    if "saved_ms" not in out:
        out["saved_ms"] = pd.Series([Fraction(0)] * len(out), index=out.index, dtype=object)
    if "ai_timed_tasks" not in out:
        out["ai_timed_tasks"] = 0
    if "agent_hourly_cost" not in out:
        out["agent_hourly_cost"] = pd.Series([None] * len(out), index=out.index, dtype=object)
    if GO_LIVE_COLUMN not in out:
        out[GO_LIVE_COLUMN] = pd.NaT
    return out


def savings_per_outcome(metrics: pd.DataFrame, hourly_default: Decimal | None) -> pd.Series:
    """Per account: savings_usd per billable unit over the history (floats, for projections:
    the forecast's savings follow its outcomes), valued at the account's agent_hourly_cost,
    else ``hourly_default``; 0 for an account without outcomes or savings columns."""
    if "saved_ms" not in metrics:
        return pd.Series(0.0, index=pd.Index(metrics["account_id"].unique(), name="account_id"))
    dollars = [float(savings_usd(s, hourly_cost_for(c, hourly_default)))
               for s, c in zip(metrics["saved_ms"], metrics["agent_hourly_cost"], strict=True)]
    frame = pd.DataFrame({"account_id": metrics["account_id"].to_numpy(), "savings": dollars,
                          "units": metrics["outcomes_micro"].to_numpy() / MICRO})
    sums = frame.groupby("account_id", sort=False)[["savings", "units"]].sum()
    per: pd.Series = (sums["savings"] / sums["units"].where(sums["units"] > 0)).fillna(0.0)
    return per


def first_hourly_default(plans: Iterable[Plan]) -> Decimal | None:
    """The hourly_cost_default of the first plan with gain-share (projections value savings once)."""
    return next((p.deal.hourly_cost_default for p in plans if p.deal.hourly_cost_default is not None), None)
