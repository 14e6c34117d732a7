"""Today's mix, held over the horizon: what the plans read beyond the seven metrics.

* **Audit settlement** (DESIGN 9): an outcomes charge with ``audit_settlement``
  bills the outcomes times (1 - r). The forecast holds each account's latest
  settlement factor: settled / billable outcomes in its last history month, the
  ratio the backtest applies there (when that month billed nothing, the ratio
  over the audit window's months; 1 when no month of it billed anything, as
  without audits r = 0).
* **Prices by dimension** (DESIGN 10): a charge priced ``by`` model_tier,
  channel or topic bills each value at its price. The forecast holds each
  account's split of the metric by value: its shares over the last
  ``RECENT_MONTHS`` months of history (0 for every value when those months
  hold none, so all of it bills at ``default``).

Each is a per-account factor on a metric the simulation already projects
(``Assumptions.derived``: name -> the metric it scales; the factor is the
accounts column of that name), under the key the vectorised charges read
(``pricing.simulate.settled_metric_name``, ``by_metric_name``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from outcome_pricing.analysis.recent import RECENT_MONTHS
from outcome_pricing.pricing.metrics import settled_column
from outcome_pricing.pricing.simulate import by_metric_name, settled_metric_name
from outcome_pricing.pricing.splits import split_column, split_keys
from outcome_pricing.pricing.terms import Metric, Plan

ASSUMPTION_TEXT = (
    "Held at today's mix: outcomes settled on audits keep each account's latest settlement factor "
    "(settled / billable outcomes in its last month), and prices by model tier, channel or topic bill "
    f"each account's split by value over its last {RECENT_MONTHS} months, unchanged over the horizon."
)


def _settlement_keys(plans: Sequence[Plan]) -> list[tuple[str, int]]:
    return sorted({k for p in plans for c in p.charges if (k := c.settlement_key) is not None})


def settlement_factor(outcomes_micro: np.ndarray, settled_micro: np.ndarray, window: int) -> float:
    """One account's factor from its months (oldest first): settled / billable in the last
    month, else over the last ``window`` months, else 1."""
    for months in (1, window):
        units = float(np.sum(outcomes_micro[-months:]))
        if units > 0:
            return float(np.sum(settled_micro[-months:])) / units
    return 1.0


def mix_columns(metrics: pd.DataFrame, plans: Sequence[Plan], account_ids: Sequence[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Per account (rows in ``account_ids`` order): the factor columns, and name -> base metric.

    ``metrics``: an account_month_metrics frame made with ``plans`` (so it carries
    the settled and split columns), sorted by account and month. Settled outcomes
    come first in the mapping: a split of settled outcomes scales them.
    """
    hist = metrics.sort_values(["account_id", "month"], kind="stable")
    by_account = hist.groupby(hist["account_id"].astype(str), sort=False)
    out: dict[str, np.ndarray] = {}
    derived: dict[str, str] = {}
    for key in _settlement_keys(plans):
        column = settled_column(key)
        if column not in hist.columns:  # metrics made without the plans: no audits known, r = 0
            continue
        factors = {
            str(account): settlement_factor(g["outcomes_micro"].to_numpy(np.float64), g[column].to_numpy(np.float64),
                                            key[1])
            for account, g in by_account
        }
        name = settled_metric_name(key)
        out[name] = np.array([factors.get(a, 1.0) for a in account_ids], dtype=np.float64)
        derived[name] = Metric.OUTCOMES.value
    recent = hist[hist.groupby("account_id", sort=False).cumcount(ascending=False) < RECENT_MONTHS]
    for dim, metric, settle in split_keys(plans):
        prefix = split_column((dim, metric, settle), "")  # the columns of this split: prefix + value
        columns = [c for c in hist.columns if isinstance(c, str) and c.startswith(prefix)]
        sums = recent.groupby(recent["account_id"].astype(str))[columns].sum().reindex(list(account_ids)).fillna(0.0)
        total = sums.sum(axis=1).to_numpy(np.float64)
        base = settled_metric_name(settle) if settle is not None and metric == Metric.OUTCOMES.value else metric
        for column in columns:
            value = column[len(prefix):]
            share = np.divide(sums[column].to_numpy(np.float64), total, out=np.zeros_like(total), where=total > 0)
            name = by_metric_name(metric, dim, value, settle)
            out[name] = share
            derived[name] = base
    return pd.DataFrame(out, index=pd.Index(list(account_ids), name="account_id")), derived
