"""Settlement: bill outcomes at what the audits support (DESIGN section 9).

An outcomes charge with `audit_settlement = "point"` or `"upper_bound"` multiplies
the outcomes metric of an account-month M by (1 - r) before the allowance and
tiers, r the account's false-resolution rate over the calendar months
M-w+1 .. M (w = `audit_window_months`; a task counts in the month it closed):
x / n over its audited billable tasks, or the Wilson upper bound of x / n; r = 0
when the window holds no audit. The upper bound is the buyer-safe choice: with
few audits it discounts more, so the vendor has a reason to audit.

The settled metric is in millionths of a unit, rounded half up (like every
exact quantity the charges read).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.proof.audit.estimate import Rate
from outcome_pricing.proof.audit.records import audit_tally
from outcome_pricing.rules import Definition
from outcome_pricing.rules.source import Source

MODES = ("point", "upper_bound")


def _month_number(months: pd.Series) -> np.ndarray:
    ts = pd.to_datetime(months)
    return (ts.dt.year * 12 + ts.dt.month - 1).to_numpy(dtype=np.int64)


def audit_counts(wh: Source, d: Definition) -> pd.DataFrame:
    """Audited billable tasks (n) and not genuine (x) per account and close month."""
    tally = audit_tally(wh, d)
    billable = tally[tally["billable"]].assign(bad=lambda t: t["tasks"].where(~t["genuine"], 0))
    grouped = billable.groupby(["account_id", "month"])[["tasks", "bad"]].sum().reset_index()
    grouped["n"] = grouped["tasks"].astype(np.int64)
    grouped["x"] = grouped["bad"].astype(np.int64)
    return grouped[["account_id", "month", "n", "x"]]


def window_counts(keys: pd.DataFrame, counts: pd.DataFrame, window: int) -> tuple[np.ndarray, np.ndarray]:
    """For each (account_id, month) row of `keys`: n and x summed over months M-w+1 .. M."""
    if window < 1:
        raise ConfigError(f"audit_window_months must be at least 1, got {window}.")
    n_out = np.zeros(len(keys), dtype=np.int64)
    x_out = np.zeros(len(keys), dtype=np.int64)
    if counts.empty or keys.empty:
        return n_out, x_out
    key_month = _month_number(keys["month"])
    cm = _month_number(counts["month"])
    accounts = keys["account_id"].astype(str).to_numpy()
    for account, rows in counts.assign(mi=cm).groupby("account_id"):
        at = np.flatnonzero(accounts == str(account))
        if not at.size:
            continue
        # Cumulative sums over a dense month range: a window sum is a difference of two.
        first, last = int(rows["mi"].min()), int(max(rows["mi"].max(), key_month[at].max()))
        n_dense = np.zeros(last - first + 2, dtype=np.int64)
        x_dense = np.zeros_like(n_dense)
        np.add.at(n_dense, rows["mi"].to_numpy() - first + 1, rows["n"].to_numpy())
        np.add.at(x_dense, rows["mi"].to_numpy() - first + 1, rows["x"].to_numpy())
        n_cum, x_cum = np.cumsum(n_dense), np.cumsum(x_dense)
        hi = np.clip(key_month[at] - first + 1, 0, len(n_cum) - 1)
        lo = np.clip(key_month[at] - window - first + 1, 0, len(n_cum) - 1)
        n_out[at] = n_cum[hi] - n_cum[lo]
        x_out[at] = x_cum[hi] - x_cum[lo]
    return n_out, x_out


def rate_from_counts(x: int, n: int, mode: str) -> float:
    """r for one window: the point x/n or the Wilson upper bound; 0 without audits."""
    if mode not in MODES:
        raise ConfigError(f"audit_settlement {mode!r}: use none, {', '.join(MODES)}.")
    r = Rate.of(x, n)
    if r.rate is None or r.high is None:
        return 0.0
    return float(r.rate if mode == "point" else r.high)


def settlement_rates(wh: Source, d: Definition, keys: pd.DataFrame, mode: str, window: int) -> np.ndarray:
    """r per row of `keys` (account_id, month) for settlement `mode` over `window` months."""
    n, x = window_counts(keys, audit_counts(wh, d), window)
    rates = [rate_from_counts(int(x_i), int(n_i), mode) for n_i, x_i in zip(n, x, strict=True)]
    return np.array(rates, dtype=np.float64)


def settled_micro(outcomes_micro: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """The outcomes metric (millionths of a unit) times (1 - r), rounded half up."""
    kept = np.asarray(outcomes_micro, dtype=np.float64) * (1.0 - np.asarray(rates, dtype=np.float64))
    return np.floor(kept + 0.5).astype(np.int64)


def window_months(month: pd.Timestamp, window: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last close month of the window ending at `month`."""
    last = pd.Timestamp(month.year, month.month, 1)
    return last - pd.DateOffset(months=window - 1), last


def explain_settlement(wh: Source, d: Definition, plan: Any, account_id: str, month: Any,
                       units: float) -> list[str]:
    """One sentence per outcomes charge of `plan` with a settlement: what was discounted and why.

    `plan` is a pricing Plan (read by attribute: charges with metric, audit_settlement,
    audit_window_months, name); `units` the account-month's billable units before settling.
    """
    first = pd.Timestamp(month)
    sentences = []
    for charge in plan.charges:
        mode = str(getattr(charge.audit_settlement, "value", charge.audit_settlement))
        if str(getattr(charge.metric, "value", charge.metric)) != "outcomes" or mode not in MODES:
            continue
        window = int(charge.audit_window_months)
        keys = pd.DataFrame({"account_id": [str(account_id)], "month": [first]})
        n, x = window_counts(keys, audit_counts(wh, d), window)
        r = rate_from_counts(int(x[0]), int(n[0]), mode)
        start, end = window_months(first, window)
        span = f"{start:%Y-%m} to {end:%Y-%m}" if window > 1 else f"{end:%Y-%m}"
        settled = settled_micro(np.array([round(units * 1_000_000)]), np.array([r]))[0] / 1_000_000
        if n[0] == 0:
            why = f"no audited billed outcome of {account_id} closed in {span}, so nothing is discounted"
        else:
            what = "the rate" if mode == "point" else "the 95% Wilson upper bound of the rate"
            why = (f"{x[0]} of {n[0]} audited billed outcomes of {account_id} closed in {span} were not "
                   f"genuine; {what} is {r:.2%}")
        sentences.append(f"{charge.name}: outcomes settled on audits ({mode.replace('_', ' ')}): "
                         f"{units:,.2f} billable units x (1 - {r:.2%}) = {settled:,.2f}; {why}.")
    return sentences
