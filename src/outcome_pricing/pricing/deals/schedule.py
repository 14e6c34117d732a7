"""When a deal starts charging, and when the vendor books its deployment (DESIGN 11).

* the start month is the account's first task's month (``charge_from =
  "first_task"``) or its go-live month (``"go_live"``: accounts.ai_go_live, else
  the close month of its first ai_enabled task, as ``proof.impact.go_live_months``);
* the first charged month is the start month plus ``free_months``; before it a
  month has no line at all (revenue 0, real COGS); an account that never went
  live is never charged under ``go_live``;
* ``implementation_cost`` is COGS in the go-live month, even when free months
  delay charging; a go-live before the account's first month of data is booked
  in that first month, one after the data's last month is not booked (not yet spent).

Months are counted as integers (year x 12 + month - 1) so windows and offsets are
plain arithmetic, the same in the exact and the vectorised paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from outcome_pricing.pricing.deal_terms import ChargeFrom, DealTerms
from outcome_pricing.pricing.usage import go_live_sql
from outcome_pricing.warehouse.memo import GenerationMemo

if TYPE_CHECKING:
    from outcome_pricing.warehouse.handle import Warehouse

NEVER = -1  # a month index for "no such month"
GO_LIVE_COLUMN = "go_live_month"


def month_index(month: pd.Timestamp) -> int:
    return int(month.year) * 12 + int(month.month) - 1


def index_month(index: int) -> pd.Timestamp:
    return pd.Timestamp(index // 12, index % 12 + 1, 1)


def month_indexes(months: pd.Series) -> np.ndarray:
    """Month indexes of a datetime column (NaT -> NEVER)."""
    m = pd.to_datetime(months)
    out = (m.dt.year * 12 + m.dt.month - 1).to_numpy(dtype=np.float64)
    return np.where(np.isnan(out), NEVER, out).astype(np.int64)


@dataclass(frozen=True)
class Schedule:
    """One account's months under one plan's deal terms (month indexes; NEVER = none)."""

    first_month: int  # the month of its first task
    go_live: int
    start: int  # the first charged month
    implementation_month: int  # where implementation_cost is booked

    def charged(self, month: int) -> bool:
        return self.start != NEVER and month >= self.start


def schedule(terms: DealTerms, first_month: int, go_live: int, last_month: int) -> Schedule:
    """The rule of DESIGN 11 for one account (the one place it is written)."""
    base = first_month if terms.charge_from is ChargeFrom.FIRST_TASK else go_live
    start = NEVER if base == NEVER else base + terms.free_months
    booked = NEVER
    if terms.implementation_cost > 0 and go_live != NEVER and go_live <= last_month:
        booked = max(go_live, first_month)
    return Schedule(first_month, go_live, start, booked)


def schedules(metrics: pd.DataFrame, terms: DealTerms) -> pd.DataFrame:
    """Per account of a metrics frame (sorted by account, month): first_month, go_live,
    start, implementation_month as month indexes, from the frame's ``go_live_month``."""
    months = month_indexes(metrics["month"])
    last = int(months.max()) if len(months) else NEVER
    per = pd.DataFrame({"account_id": metrics["account_id"].to_numpy(), "m": months,
                        "g": month_indexes(metrics[GO_LIVE_COLUMN])})
    first = per.groupby("account_id", sort=False).agg(first_month=("m", "min"), go_live=("g", "first"))
    rows = [schedule(terms, int(f), int(g), last) for f, g in zip(first["first_month"], first["go_live"], strict=True)]
    return pd.DataFrame(
        {
            "first_month": [s.first_month for s in rows],
            "go_live": [s.go_live for s in rows],
            "start": [s.start for s in rows],
            "implementation_month": [s.implementation_month for s in rows],
        },
        index=first.index,
    )


def row_schedule(metrics: pd.DataFrame, terms: DealTerms) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a metrics frame: is the month charged, and does it book the implementation."""
    per = schedules(metrics, terms)
    months = month_indexes(metrics["month"])
    start = per["start"].reindex(metrics["account_id"]).to_numpy(np.int64)
    booked = per["implementation_month"].reindex(metrics["account_id"]).to_numpy(np.int64)
    return (start != NEVER) & (months >= start), (booked != NEVER) & (months == booked)


# The go-live rule of DESIGN 11 is pricing.usage.go_live_sql (proof.impact.go_live_months
# reads it too; tests/test_deals_terms.py checks they agree).
# Per handle and data generation: a scan of every task's account, month and ai_enabled that
# every backtest and every invoice (once per definition compared) asked again (issue 20).
_go_live_kept: GenerationMemo[pd.DataFrame] = GenerationMemo(entries=1)


def go_live_frame(wh: Warehouse) -> pd.DataFrame:
    """account_id, go_live_month (first day of the month; NaT if unknown)."""
    return _go_live_kept.get(wh, "go-live", lambda: _read_go_live(wh)).copy()


def _read_go_live(wh: Warehouse) -> pd.DataFrame:
    df = wh.query_df(f"SELECT account_id, go_live_month FROM {go_live_sql(wh)}")
    df["go_live_month"] = pd.to_datetime(df["go_live_month"])
    return df
