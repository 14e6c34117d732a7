"""Guarantee windows and their credits (DESIGN 11, ``[plans.guarantee]``).

Consecutive windows of ``window_months`` run from the account's first charged
month. At the last month of a complete window (its last month is at or before
the data's last month), if billable outcome units / conversations over the
window < min_resolution_rate (and conversations > 0), the month carries a
``guarantee credit`` of -credit_pct x the window's charge lines on the outcomes
metric (each line as billed, before cap credits; fee and other metrics
excluded), rounded half up to cents. A window cut by the end of the data
credits nothing (yet).

Twice, as everywhere: ``window_checks`` reads an account's months one by one
(Decimal; statements), ``credit_cents`` does every account-month at once
(integer arrays; the backtest). The rate test is exact: units < rate x
conversations, never a float division.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from outcome_pricing.kit.money import CENT, MICRO, to_micro
from outcome_pricing.pricing.deal_terms import Guarantee
from outcome_pricing.pricing.deals.schedule import NEVER, index_month


@dataclass(frozen=True)
class MonthFacts:
    """What a guarantee reads of one charged account-month."""

    month: int  # month index
    units: Decimal  # billable outcome units
    conversations: int
    outcome_charges: Decimal  # the month's charge lines on outcomes, in dollars (whole cents)


@dataclass(frozen=True)
class WindowCheck:
    """One complete window: its months, rate and credit (what a statement explains)."""

    first: int
    last: int
    units: Decimal
    conversations: int
    outcome_charges: Decimal
    threshold: Decimal
    credit: Decimal  # <= 0; 0 when the rate met the guarantee

    @property
    def rate(self) -> Decimal | None:
        return self.units / self.conversations if self.conversations else None

    @property
    def triggered(self) -> bool:
        return self.conversations > 0 and self.units < self.threshold * self.conversations

    def describe(self) -> str:
        span = f"{index_month(self.first):%Y-%m} to {index_month(self.last):%Y-%m}"
        rate = f"{self.rate:.2%}" if self.rate is not None else "no conversations"
        verdict = "below" if self.triggered else "meets"
        return (f"guarantee window {span}: {self.units.normalize():f} outcomes / {self.conversations} "
                f"conversations = {rate}, {verdict} {self.threshold:.2%}")


def credit_amount(g: Guarantee, outcome_charges: Decimal) -> Decimal:
    """-credit_pct x the window's outcome charges, rounded half up to cents (as a positive, negated)."""
    return -(g.credit_pct * outcome_charges).quantize(CENT, rounding=ROUND_HALF_UP)


def window_checks(g: Guarantee, start: int, last_month: int, months: Sequence[MonthFacts]) -> list[WindowCheck]:
    """Every complete window of one account (the months given are its charged months)."""
    if start == NEVER:
        return []
    checks = []
    first = start
    while first + g.window_months - 1 <= last_month:
        last = first + g.window_months - 1
        inside = [m for m in months if first <= m.month <= last]
        units = sum((m.units for m in inside), Decimal(0))
        conversations = sum(m.conversations for m in inside)
        charges = sum((m.outcome_charges for m in inside), Decimal(0))
        check = WindowCheck(first, last, units, conversations, charges, g.min_resolution_rate, Decimal(0))
        if check.triggered:
            check = WindowCheck(first, last, units, conversations, charges, g.min_resolution_rate,
                                credit_amount(g, charges))
        checks.append(check)
        first = last + 1
    return checks


def credit_cents(
    g: Guarantee,
    account: np.ndarray,
    month: np.ndarray,
    start: np.ndarray,
    last_month: int,
    units_micro: np.ndarray,
    conversations: np.ndarray,
    outcome_cents: np.ndarray,
) -> np.ndarray:
    """The guarantee credit (int64 cents, <= 0) of every account-month row at once.

    ``account``: integer account codes; ``month`` and ``start``: month indexes
    (start NEVER = never charged). A window's credit lands on the row of its
    last month (rows run every month, so a complete window's last month has one).
    """
    n = len(month)
    out = np.zeros(n, dtype=np.int64)
    charged = (start != NEVER) & (month >= start)
    if not charged.any():
        return out
    rows = np.flatnonzero(charged)
    window = (month[rows] - start[rows]) // g.window_months
    keys = account[rows].astype(np.int64) * (10**6) + window
    uniq, inverse = np.unique(keys, return_inverse=True)

    def total(values: np.ndarray) -> np.ndarray:
        sums = np.zeros(len(uniq), dtype=np.int64)
        np.add.at(sums, inverse, np.asarray(values, dtype=np.int64)[rows])
        return sums

    units, conv = total(units_micro), total(conversations)
    charges = total(outcome_cents).astype(object)  # x credit_pct in micro could pass int64
    end = start[rows] + (window + 1) * g.window_months - 1
    at_end = (month[rows] == end) & (end <= last_month)
    # units / conversations < rate  <=>  units x 1e6 < rate x 1e6 x conversations (exact)
    low = (conv > 0) & (units < to_micro(g.min_resolution_rate) * conv)
    credit = -((to_micro(g.credit_pct) * charges + MICRO // 2) // MICRO)
    hit = at_end & low[inverse]
    out[rows[hit]] = credit[inverse[hit]].astype(np.int64)
    return out
