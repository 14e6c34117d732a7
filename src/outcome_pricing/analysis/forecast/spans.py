"""A plan's terms that span months, placed on the forecast's horizon (DESIGN 10, 11).

From the history (an account_month_metrics frame made with the plans, with the
deal columns), per plan and account:

* **charged months**: the first charged month is the account's start month
  (first task or go-live) plus ``free_months``; before it the forecast bills
  nothing at all (no fee, no charge, no commitment), as the backtest does;
* **commitment periods**: periods of ``months`` from the first charged month;
  a period still open at the end of the history carries its balance (and a
  rollover carried into it) into the forecast, computed by the same walk on
  the history's usage after the cap;
* **guarantee windows**: consecutive windows of ``window_months`` from the
  first charged month; a window that began in the history counts the history's
  actual units, conversations and outcome charges. A window's conversations are
  rounded to a count n and its outcomes drawn Binomial(n, rate) (``observed``):
  that sampling noise is what makes a guarantee near an account's own rate
  trigger about half the time. The forecast and analysis.deal_risk draw the
  same way from the same seeds, so they tell the same story.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from outcome_pricing.pricing.deals.schedule import GO_LIVE_COLUMN, NEVER, month_indexes, schedules
from outcome_pricing.pricing.simulate import Periods, charge_cents_vectorised, commitment_walk
from outcome_pricing.pricing.terms import Metric, Plan

FAR_BEFORE = -(10**6)  # an offset for an account that is never charged


@dataclass(frozen=True)
class GuaranteeWindows:
    """Per plan and account: how the horizon's months fall into guarantee windows."""

    charged: np.ndarray  # (accounts, months) bool
    onehot: np.ndarray  # (accounts, months, windows) 1.0 where month t is in window j
    ends: np.ndarray  # (accounts, months, windows) 1.0 at the last month of a complete window j
    complete: np.ndarray  # (accounts, windows) bool: the window ends inside the horizon
    hist_units: np.ndarray  # (accounts, windows): history part of each window
    hist_conv: np.ndarray
    hist_charges: np.ndarray  # dollars


@dataclass(frozen=True)
class HorizonTerms:
    """One plan's month-spanning terms on the horizon; None where the plan has no such term."""

    charged: np.ndarray | None  # (accounts, months) bool; None: every month is charged
    periods: Periods | None
    windows: GuaranteeWindows | None


def _starts(plan: Plan, history: pd.DataFrame, account_ids: Sequence[str]) -> tuple[int, np.ndarray]:
    last = int(month_indexes(history["month"]).max())
    per = schedules(history, plan.deal).reindex(list(account_ids))
    return last, per["start"].fillna(NEVER).to_numpy(np.int64)


def has_deal_columns(history: pd.DataFrame | None) -> bool:
    """Whether a history frame carries what the terms are placed from (the deal columns)."""
    return history is not None and len(history) > 0 and GO_LIVE_COLUMN in history.columns


def horizon_terms(plan: Plan, history: pd.DataFrame, account_ids: Sequence[str], months: int) -> HorizonTerms:
    """The plan's charged months, commitment periods and guarantee windows on the horizon."""
    if plan.commitment is None and plan.deal.is_default:
        return HorizonTerms(None, None, None)  # charged from the first task: every forecast month
    last, start = _starts(plan, history, account_ids)
    t = last + 1 + np.arange(months)
    charged = (start[:, None] != NEVER) & (t[None, :] >= start[:, None])
    periods = _periods(plan, history, account_ids, last, start) if plan.commitment is not None else None
    windows = guarantee_windows(plan, history, account_ids, months) if plan.deal.guarantee is not None else None
    return HorizonTerms(None if charged.all() else charged, periods, windows)


def _usage_after_cap(plan: Plan, history: pd.DataFrame) -> np.ndarray:
    """Per history row: the plan's usage lines after the cap, in cents (what a commitment draws on)."""
    from outcome_pricing.pricing.charges import plan_cents
    from outcome_pricing.pricing.metrics import usage_arrays

    bill = plan_cents(plan, usage_arrays(history))
    return (np.asarray(bill.usage, dtype=np.float64) + np.asarray(bill.cap_credit, dtype=np.float64))


def _periods(plan: Plan, history: pd.DataFrame, account_ids: Sequence[str], last: int, start: np.ndarray) -> Periods:
    """Where the first forecast month falls in each account's periods, and the balance the history left."""
    assert plan.commitment is not None
    months = month_indexes(history["month"])
    first = int(months.min())
    grid = np.zeros((1, len(account_ids), last - first + 1))
    pos = {a: i for i, a in enumerate(account_ids)}
    rows = np.array([pos.get(str(a), -1) for a in history["account_id"]], dtype=np.int64)
    keep = rows >= 0
    grid[0, rows[keep], months[keep] - first] = _usage_after_cap(plan, history)[keep]
    offset_hist = np.where(start != NEVER, first - start, FAR_BEFORE)
    walk = commitment_walk(plan.commitment, grid, Periods(offset_hist, np.zeros(len(start)), np.zeros(len(start))))
    offset = np.where(start != NEVER, last + 1 - start, FAR_BEFORE)
    return Periods(offset, walk.balance[0], walk.carry[0])


def guarantee_windows(plan: Plan, history: pd.DataFrame, account_ids: Sequence[str], months: int) -> GuaranteeWindows:
    """Window membership of each forecast month, from the plan's schedule on the history."""
    from outcome_pricing.pricing.charges import plan_cents
    from outcome_pricing.pricing.metrics import usage_arrays

    last, start = _starts(plan, history, account_ids)
    t = last + 1 + np.arange(months)
    charged = (start[:, None] != NEVER) & (t[None, :] >= start[:, None])
    g = plan.deal.guarantee
    w = g.window_months if g is not None else 1
    n_acc = len(account_ids)
    window = np.where(charged, (t[None, :] - start[:, None]) // w, -1)
    first_window = np.where(start != NEVER, np.maximum((last + 1 - start) // w, 0), 0)
    j = np.where(charged, window - first_window[:, None], -1)
    n_win = int(j.max()) + 1 if j.size and j.max() >= 0 else 0
    onehot = np.zeros((n_acc, months, n_win))
    a_idx, t_idx = np.nonzero(j >= 0)
    onehot[a_idx, t_idx, j[a_idx, t_idx]] = 1.0
    ends_at = start[:, None] + (first_window[:, None] + np.arange(n_win)[None, :] + 1) * w - 1
    complete = (start[:, None] != NEVER) & (ends_at <= last + months)
    ends = np.zeros_like(onehot)
    a_end, j_end = np.nonzero(complete)
    ends[a_end, ends_at[a_end, j_end] - last - 1, j_end] = 1.0
    hist = np.zeros((3, n_acc, n_win))
    if n_win and g is not None:
        # a window that began in the history: its actual months count toward the first window
        bill = plan_cents(plan, usage_arrays(history))
        outcome = sum((line for c, line in zip(plan.charges, bill.by_charge, strict=True)
                       if c.metric is Metric.OUTCOMES), np.zeros(len(history), dtype=np.int64))
        pos = {a: i for i, a in enumerate(account_ids)}
        m = month_indexes(history["month"])
        units = history["outcomes_micro"].to_numpy(np.float64) / 1e6
        conversations = history["conversations"].to_numpy(np.float64)
        for row, (acc, month) in enumerate(zip(history["account_id"], m, strict=True)):
            i = pos.get(acc)
            if i is None or start[i] == NEVER or month < start[i]:
                continue
            if (month - start[i]) // w == first_window[i]:
                hist[0, i, 0] += units[row]
                hist[1, i, 0] += conversations[row]
                hist[2, i, 0] += outcome[row] / 100.0
    return GuaranteeWindows(charged, onehot, ends, complete, hist[0], hist[1], hist[2])


def observed(rng: np.random.Generator, conv: np.ndarray, outcomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A window's conversations as a count, and its outcomes drawn Binomial(n, rate).

    With issue units a rate may pass 1: then the draw is Binomial(n, 1) scaled
    by the rate (the expected units are kept; such a window never falls short of
    a threshold below 1 by chance)."""
    n = np.rint(conv)
    rate = np.divide(outcomes, conv, out=np.zeros_like(outcomes), where=conv > 0)
    scale = np.maximum(rate, 1.0)
    draws = rng.binomial(n.astype(np.int64), np.clip(rate / scale, 0.0, 1.0)) * scale
    return n, draws


def per_window(cells: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """Sums of (scenarios, accounts, months) cells per window (scenarios, accounts, windows):
    sum over t of cells[s, a, t] x onehot[a, t, j], as one batched matrix product per account
    (several times faster than the equivalent einsum)."""
    summed: np.ndarray = np.matmul(cells.transpose(1, 0, 2), onehot).transpose(1, 0, 2)
    return summed


def on_months(per_window_values: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Window values (scenarios, accounts, windows) placed on the month each window ends
    (scenarios, accounts, months), ``ends`` being (accounts, months, windows) 0/1."""
    placed: np.ndarray = np.matmul(per_window_values.transpose(1, 0, 2), ends.transpose(0, 2, 1)).transpose(1, 0, 2)
    return placed


@dataclass(frozen=True)
class WindowDraw:
    """One block's guarantee windows (scenarios, accounts, windows): outcome charges (dollars,
    history part included), conversations and observed units."""

    charges: np.ndarray
    conversations: np.ndarray
    units: np.ndarray

    def hits(self, windows: GuaranteeWindows, threshold: float) -> np.ndarray:
        """Windows that trigger at ``threshold``: complete, with conversations, rate below it."""
        complete = windows.complete[None]
        return complete & (self.conversations > 0) & (self.units < threshold * self.conversations)


def draw_windows(plan: Plan, usage: Mapping[str, np.ndarray], seat_price: np.ndarray, windows: GuaranteeWindows,
                 rng: np.random.Generator) -> WindowDraw:
    """The windows of one block of scenarios, outcomes drawn around the forecast's expectation."""
    conv, outcomes = usage[Metric.CONVERSATIONS.value], usage[Metric.OUTCOMES.value]
    lines = [charge_cents_vectorised(c, usage, seat_price) for c in plan.charges if c.metric is Metric.OUTCOMES]
    charges = sum(lines, np.zeros(conv.shape)) / 100.0
    win_conv = per_window(conv, windows.onehot)
    win_out = per_window(outcomes, windows.onehot)
    win_chg = per_window(charges, windows.onehot) + windows.hist_charges[None]
    n, units = observed(rng, win_conv, win_out)
    return WindowDraw(win_chg, n + windows.hist_conv[None], units + windows.hist_units[None])
