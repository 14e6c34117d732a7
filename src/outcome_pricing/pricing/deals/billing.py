"""The deal stages of DESIGN 11 on top of a month's bill, in its line order.

One account-month's lines: usage lines; cap credit; platform fee; minimum
true-up; commitment and drawdown (``charges``); then, here, the guarantee
credit. Before the first charged month there is no line at all; the
implementation cost is COGS, never a line.

Two paths, agreeing to the cent (tests/test_deals_billing.py):

* ``account_bills``: one account's months in Decimal, month by month
  (statements): its bills, guarantee windows and schedule;
* ``deal_cents``: every account-month of a backtest at once, on the integer
  cents of ``charges.plan_cents``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from outcome_pricing.kit.money import MICRO, cents
from outcome_pricing.pricing.charges import Line, PlanCents, UsageArrays, month_lines, plan_cents
from outcome_pricing.pricing.deals.columns import with_default_deal_columns
from outcome_pricing.pricing.deals.guarantee import (
    MonthFacts,
    WindowCheck,
    credit_cents,
    window_checks,
)
from outcome_pricing.pricing.deals.notes import DealNotes
from outcome_pricing.pricing.deals.savings import savings_detail
from outcome_pricing.pricing.deals.schedule import (
    NEVER,
    Schedule,
    index_month,
    month_index,
    month_indexes,
    row_schedule,
    schedule,
    schedules,
)
from outcome_pricing.pricing.spanning import CommitmentMonth, SpannedMonth, span_account
from outcome_pricing.pricing.terms import LineKind, Metric, Plan

if TYPE_CHECKING:
    from outcome_pricing.warehouse.handle import Warehouse


def outcome_charges(lines: Sequence[Line]) -> Decimal:
    """A month's charge lines on the outcomes metric (what a guarantee credits)."""
    return sum((ln.amount for ln in lines if ln.kind is LineKind.CHARGE and ln.metric is Metric.OUTCOMES), Decimal(0))


def guarantee_line(check: WindowCheck) -> Line:
    name = (f"guarantee credit {index_month(check.first):%Y-%m} to {index_month(check.last):%Y-%m}: "
            f"{check.rate:.2%} < {check.threshold:.2%}")
    return Line(LineKind.GUARANTEE, name, check.credit, metric=Metric.OUTCOMES, quantity=check.units)


@dataclass(frozen=True)
class AccountBills:
    """One account's months under one plan: each month's lines after the deal stages."""

    months: tuple[pd.Timestamp, ...]
    lines: tuple[tuple[Line, ...], ...]
    checks: tuple[WindowCheck, ...]
    schedule: Schedule
    commitments: tuple[CommitmentMonth | None, ...]  # where each month stands in its commitment period

    def spanned(self, month: pd.Timestamp) -> SpannedMonth:
        """One month as the statement shows it: its lines and its commitment position."""
        i = self.months.index(pd.Timestamp(month))
        return SpannedMonth(month_index(self.months[i]), self.lines[i], self.commitments[i])

    def check_ending(self, month: pd.Timestamp) -> WindowCheck | None:
        """The guarantee window that ends in ``month``, if any."""
        m = month_index(pd.Timestamp(month))
        return next((c for c in self.checks if c.last == m), None)


def account_bills(plan: Plan, rows: pd.DataFrame, last_month: pd.Timestamp) -> AccountBills:
    """Every month of one account, exactly (``rows``: its metrics rows in month order, with
    the deal columns): each charged month's own lines (``charges.month_lines``), the
    month-spanning stages from the first charged month (``spanning.span_account``:
    the commitment), then the guarantee credits; no line at all before the start."""
    from outcome_pricing.pricing.metrics import usage_arrays

    rows = with_default_deal_columns(rows)
    months = tuple(pd.Timestamp(m) for m in rows["month"])
    idx = [month_index(m) for m in months]
    go_live = int(month_indexes(rows["go_live_month"].head(1))[0]) if len(rows) else NEVER
    last = month_index(pd.Timestamp(last_month))
    sched = schedule(plan.deal, min(idx), go_live, last)
    usage = usage_arrays(rows)
    charged = [sched.charged(m) for m in idx]
    spanned = iter(span_account(
        plan, [(m, month_lines(plan, usage.row(i))) for i, m in enumerate(idx) if charged[i]], sched.start
    ))
    months_spanned = [next(spanned) if on else None for on in charged]
    bills = [list(sm.lines) if sm is not None else [] for sm in months_spanned]
    checks: list[WindowCheck] = []
    g = plan.deal.guarantee
    if g is not None:
        facts = [
            MonthFacts(m, Decimal(int(u)) / MICRO, int(c), outcome_charges(b))
            for m, u, c, b, on in zip(idx, rows["outcomes_micro"], rows["conversations"], bills, charged, strict=True)
            if on
        ]
        checks = window_checks(g, sched.start, last, facts)
        for check in checks:
            if check.credit and check.last in idx:
                bills[idx.index(check.last)].append(guarantee_line(check))
    commitments = tuple(sm.commitment if sm is not None else None for sm in months_spanned)
    return AccountBills(months, tuple(tuple(b) for b in bills), tuple(checks), sched, commitments)


# ---------------------------------------------------------------------- every account-month
@dataclass(frozen=True)
class DealCents:
    """A plan's backtest bill after the deal stages (int64 cents per row)."""

    bill: PlanCents  # every part zero before the first charged month
    guarantee_credit: np.ndarray  # <= 0
    implementation: np.ndarray  # COGS booked in the go-live month
    charged: np.ndarray  # bool

    @property
    def total(self) -> np.ndarray:
        total: np.ndarray = self.bill.total + self.guarantee_credit
        return total


def _masked(bill: PlanCents, charged: np.ndarray) -> PlanCents:
    """Every array of the bill zeroed where the month is not charged (no line at all)."""
    changes: dict[str, Any] = {}
    for f in fields(bill):
        value = getattr(bill, f.name)
        if isinstance(value, np.ndarray):
            changes[f.name] = np.where(charged, value, 0).astype(value.dtype)
        elif isinstance(value, tuple):
            changes[f.name] = tuple(np.where(charged, v, 0).astype(v.dtype) for v in value)
    return replace(bill, **changes)


def deal_cents(plan: Plan, metrics: pd.DataFrame, bill: PlanCents, charged: np.ndarray | None = None) -> DealCents:
    """The deal stages on a backtest bill (``metrics``: sorted by account, month, with the
    deal columns; ``bill``: ``plan_cents`` of the same rows, priced from the first
    charged month; ``charged``: the charged rows, if already known)."""
    terms = plan.deal
    n = len(metrics)
    on, booked = row_schedule(metrics, terms)
    if charged is not None:
        on = charged
    masked = _masked(bill, on)
    credit = np.zeros(n, dtype=np.int64)
    if terms.guarantee is not None and n:
        outcome = np.zeros(n, dtype=np.int64)
        for charge, line in zip(plan.charges, masked.by_charge, strict=True):
            if charge.metric is Metric.OUTCOMES:
                outcome += line
        per = schedules(metrics, terms)
        months = month_indexes(metrics["month"])
        codes = pd.factorize(metrics["account_id"])[0]
        credit = credit_cents(
            terms.guarantee, codes, months, per["start"].reindex(metrics["account_id"]).to_numpy(np.int64),
            int(months.max()), metrics["outcomes_micro"].to_numpy(np.int64),
            metrics["conversations"].to_numpy(np.int64), outcome,
        )
    implementation = np.where(booked, cents(terms.implementation_cost), 0).astype(np.int64)
    return DealCents(masked, credit, implementation, on)


def statement_month(
    wh: Warehouse, plan: Plan, metrics: pd.DataFrame, account_id: str, month: pd.Timestamp
) -> tuple[SpannedMonth, DealNotes | None]:
    """One account-month of a statement, exact: its lines through every stage, and what
    the statement says about the deal's terms (None for a plan without them)."""
    rows = metrics[(metrics["account_id"] == account_id) & (metrics["month"] <= month)].reset_index(drop=True)
    bills = account_bills(plan, rows, metrics["month"].max())
    spanned = bills.spanned(month)
    gain_share = any(c.metric is Metric.SAVINGS_USD for c in plan.charges)
    if plan.deal.is_default and not gain_share:
        return spanned, None
    detail = savings_detail(wh, account_id, pd.Timestamp(month), plan.deal.hourly_cost_default) if gain_share else None
    charged = bills.schedule.charged(month_index(pd.Timestamp(month)))
    return spanned, DealNotes(bills.schedule, charged, detail, bills.check_ending(month))


NOT_STARTED = 2**40  # a start month no row reaches: an account never charged


def priced(plan: Plan, metrics: pd.DataFrame, usage: UsageArrays) -> DealCents:
    """A plan on every account-month of a backtest, the deal stages included (DESIGN 11):
    the month-spanning stages start at each account's first charged month, months
    before it have no line, guarantee credits land at the end of each complete window,
    and the funded deployment is COGS in the go-live month."""
    n = len(metrics)
    if plan.deal.is_default:  # the first task's month is the start the usage already carries
        return DealCents(plan_cents(plan, usage), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
                         np.ones(n, dtype=bool))
    metrics = with_default_deal_columns(metrics)
    start = schedules(metrics, plan.deal)["start"].reindex(metrics["account_id"]).to_numpy(np.int64)
    start = np.where(start == NEVER, NOT_STARTED, start)
    return deal_cents(plan, metrics, plan_cents(plan, replace(usage, start=start)))


def charged_rows(plan: Plan, metrics: pd.DataFrame) -> np.ndarray:
    """Which rows of a metrics frame a plan charges (its deal's schedule)."""
    on, _ = row_schedule(metrics, plan.deal)
    return on


__all__ = ["NEVER", "AccountBills", "DealCents", "account_bills", "charged_rows", "deal_cents", "outcome_charges", "priced", "statement_month"]
