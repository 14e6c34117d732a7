"""Audit settlement in the ROI case: the customer pays for settled outcomes (DESIGN 9).

An outcomes charge with ``audit_settlement = "point" | "upper_bound"`` bills the
outcomes metric times (1 - r), r the false-resolution rate over the audit
window (``proof.audit.settlement``, the backtest's and the statements' rule).
A projection has no audits of its own months, so the case uses the latest
factor there is: the account's r over the window ending at its last month of
data; when that window holds no audit of the account, the portfolio's r over
the window ending at the data's last month (every account's audits pooled);
0 without any audit. Which one was used is stated in the assumptions.

The settled quantity is exact: billable outcomes x (1 - r) in Decimal, rounded
half up to millionths of a unit (as the backtest's settled metric).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from outcome_pricing.analysis.roi.assumptions import Scope
from outcome_pricing.kit.money import MICRO_PLACES
from outcome_pricing.pricing.terms import Plan
from outcome_pricing.proof.audit.settlement import (
    audit_counts,
    rate_from_counts,
    window_counts,
    window_months,
)
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse.handle import Warehouse

MICRO_UNIT = Decimal(1).scaleb(-MICRO_PLACES)
PORTFOLIO = "*"  # the pooled account of the portfolio's audits


@dataclass(frozen=True)
class SettlementFactor:
    """One outcomes charge's settlement in the case: r, from whose audits, over which months."""

    key: tuple[str, int]  # (settlement mode, window months): the charge's settlement_key
    rate: Decimal  # r: the point x / n or the Wilson upper bound; 0 without audits
    audited: int  # n: audited billable outcomes in the window
    not_genuine: int  # x
    scope: Scope | None  # whose audits (None: no audit anywhere, nothing discounted)
    first_month: str  # the window, YYYY-MM
    last_month: str

    @property
    def factor(self) -> Decimal:
        """What the customer pays for of each billable outcome: 1 - r."""
        return 1 - self.rate

    def settle(self, outcomes: Decimal) -> Decimal:
        """Billable outcomes x (1 - r), rounded half up to millionths of a unit."""
        return (outcomes * self.factor).quantize(MICRO_UNIT, rounding=ROUND_HALF_UP)

    def text(self) -> str:
        """The sentence the assumptions show: what is discounted, from whose audits."""
        mode, window = self.key
        bound = "the rate" if mode == "point" else "the 95% Wilson upper bound of the rate"
        if self.scope is None:
            return (f"outcomes settled on audits ({mode.replace('_', ' ')}): no audited billed outcome in "
                    f"{self.first_month} to {self.last_month}, so nothing is discounted")
        whose = "this account's" if self.scope is Scope.ACCOUNT else (
            "the portfolio's (this account has none in its latest window)")
        return (f"outcomes settled on audits ({mode.replace('_', ' ')}, {window}-month window): the customer "
                f"pays for billable outcomes x (1 - {self.rate:.2%}) = {self.factor:.2%} of them; "
                f"{self.not_genuine} of {self.audited} of {whose} audited billed outcomes closed in "
                f"{self.first_month} to {self.last_month} were not genuine, {bound} is {self.rate:.2%}")


def _rate(x: int, n: int, mode: str) -> Decimal:
    """r as the settlement rule computes it; the point estimate exactly (x / n)."""
    if n and mode == "point":
        return Decimal(x) / Decimal(n)
    return Decimal(repr(rate_from_counts(x, n, mode)))


def _window(counts: pd.DataFrame, account: str, month: pd.Timestamp, window: int) -> tuple[int, int]:
    n, x = window_counts(pd.DataFrame({"account_id": [account], "month": [month]}), counts, window)
    return int(n[0]), int(x[0])


def settlement_factors(
    wh: Warehouse, d: Definition, plan: Plan, metrics: pd.DataFrame, account_id: str | None
) -> tuple[SettlementFactor, ...]:
    """The latest settlement factor of every settled outcomes charge of ``plan`` (see the
    module note): the account's (``metrics``: account_month_metrics), else the portfolio's."""
    keys = sorted({c.settlement_key for c in plan.charges if c.settlement_key is not None})
    if not keys or metrics.empty:
        return ()
    counts = audit_counts(wh, d)
    pooled = counts.groupby("month", as_index=False)[["n", "x"]].sum().assign(account_id=PORTFOLIO)
    data_end = pd.Timestamp(metrics["month"].max())
    own = metrics[metrics["account_id"] == account_id] if account_id is not None else metrics.iloc[0:0]
    out = []
    for mode, window in keys:
        scope: Scope | None = Scope.ACCOUNT
        month = pd.Timestamp(own["month"].max()) if not own.empty else data_end
        n, x = _window(counts, str(account_id), month, window) if not own.empty else (0, 0)
        if n == 0:
            scope, month = Scope.PORTFOLIO, data_end
            n, x = _window(pooled, PORTFOLIO, month, window)
        if n == 0:
            scope = None
        first, last = window_months(month, window)
        out.append(SettlementFactor((mode, window), _rate(x, n, mode), n, x, scope,
                                    f"{first:%Y-%m}", f"{last:%Y-%m}"))
    return tuple(out)
