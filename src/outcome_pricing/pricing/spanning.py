"""Terms that span months: stages run over one account's months in order, after the lines
each month bills on its own (DESIGN 10 prepaid commitment; DESIGN 11 adds the charge
start, free months and the guarantee as the next stages here).

A stage takes, per account, the months in order as (month number, lines so far in
DESIGN 11 order) and the account's first charged month (today the month of its first
task; DESIGN 11's go-live start replaces it), and appends its own lines. Month numbers
are year x 12 + month - 1. The exact stage (`span_account`, Decimal lines, for
statements) and the vectorised one (`commitment_cents`, integer cents for the
backtest) follow the same rules and are checked against each other with hypothesis.

Prepaid commitment (``[plans.commitment] amount, months, rollover, rollover_max_pct``):
periods of ``months`` start at the first charged month; the first month of each
period bills a ``commitment`` line of ``amount``; each month's usage lines (after
the cap) draw the balance down (a ``drawn from commitment`` credit of
-min(usage, balance)); usage beyond the balance is billed; at a period's last month
the rest expires (breakage: reported, no cash) or, with rollover, carries into the
next period up to rollover_max_pct x amount (one pool: carried and new money
together); the rest of it is breakage. The platform fee is not drawn down. A period
still open at the end of the data reports no breakage (its last month is not there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from outcome_pricing.kit.money import cents, price_text, round_half_up
from outcome_pricing.pricing.lines import EXACT, Line
from outcome_pricing.pricing.terms import Commitment, LineKind, Plan

DRAWN_KINDS = (LineKind.CHARGE, LineKind.CAP)  # usage after the cap is what draws down


def month_text(number: int) -> str:
    """A month number (year x 12 + month - 1) as YYYY-MM."""
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


def rollover_cap(c: Commitment) -> Decimal:
    """The most a period carries into the next: rollover_max_pct x amount, half up to cents."""
    return round_half_up(EXACT.multiply(c.rollover_max_pct, c.amount)) if c.rollover else Decimal(0)


@dataclass(frozen=True)
class CommitmentMonth:
    """Where one month stands in its commitment period (shown on the statement)."""

    period_first: int  # month numbers
    period_last: int
    opening: Decimal  # the balance before this month's drawdown (new amount and carry included)
    drawn: Decimal
    closing: Decimal  # after the drawdown
    breakage: Decimal  # expired at this period's end (0 before the last month)
    carried: Decimal  # rolled into the next period (0 before the last month)


@dataclass(frozen=True)
class SpannedMonth:
    month: int
    lines: tuple[Line, ...]
    commitment: CommitmentMonth | None = None

    @property
    def breakage(self) -> Decimal:
        return self.commitment.breakage if self.commitment is not None else Decimal(0)


def span_account(plan: Plan, months: Sequence[tuple[int, tuple[Line, ...]]], start: int) -> list[SpannedMonth]:
    """Run the month-spanning stages over one account's months (in month order) from its
    first charged month ``start``. Today one stage: the prepaid commitment."""
    if plan.commitment is None:
        return [SpannedMonth(m, lines) for m, lines in months]
    return _commitment_stage(plan.commitment, months, start)


def _commitment_stage(
    c: Commitment, months: Sequence[tuple[int, tuple[Line, ...]]], start: int
) -> list[SpannedMonth]:
    out: list[SpannedMonth] = []
    balance = carry = Decimal(0)
    cap = rollover_cap(c)
    for month, lines in months:
        rel = month - start
        if rel < 0:  # before the first charged month: no commitment yet
            out.append(SpannedMonth(month, lines))
            continue
        position = rel % c.months
        first, last = month - position, month - position + c.months - 1
        added: list[Line] = []
        if position == 0:
            balance, carry = carry + c.amount, Decimal(0)
            added.append(Line(LineKind.COMMITMENT, f"prepaid commitment for {month_text(first)} to {month_text(last)}",
                              c.amount, note=f"{price_text(c.amount)} for {c.months} month(s), drawn down by usage"))
        opening = balance
        usage = sum((line.amount for line in lines if line.kind in DRAWN_KINDS), Decimal(0))
        drawn = min(max(usage, Decimal(0)), balance)
        balance -= drawn
        added.append(Line(LineKind.DRAWDOWN, "drawn from the prepaid commitment", -drawn,
                          note=f"balance {price_text(opening)} before, {price_text(balance)} after"))
        closing, breakage, carried = balance, Decimal(0), Decimal(0)
        if position == c.months - 1:
            carried = min(balance, cap)
            breakage = balance - carried
            carry, balance = carried, Decimal(0)
        report = CommitmentMonth(first, last, opening, drawn, closing, breakage, carried)
        out.append(SpannedMonth(month, (*lines, *added), report))
    return out


# ====================================================================== vectorised
@dataclass(frozen=True)
class CommitmentCents:
    commitment: np.ndarray  # >= 0, the period's first month
    drawdown: np.ndarray  # <= 0
    breakage: np.ndarray  # >= 0, reported only (no cash), a period's last month


def commitment_cents(
    c: Commitment, usage: np.ndarray, account: np.ndarray, month: np.ndarray, start: np.ndarray
) -> CommitmentCents:
    """The commitment stage for many account-months at once, in integer cents.

    ``usage``: each row's usage lines after the cap (cents); ``account``: account codes
    (0..A-1); ``month``, ``start``: month numbers of the row and of its account's first
    charged month. Rows of one account are in month order. All rows at the same month
    offset from their account's start share a position in the period, so the loop runs
    over offsets (a few dozen), each step vectorised over accounts.
    """
    n = len(usage)
    commitment = np.zeros(n, dtype=np.int64)
    drawdown = np.zeros(n, dtype=np.int64)
    breakage = np.zeros(n, dtype=np.int64)
    if n == 0:
        return CommitmentCents(commitment, drawdown, breakage)
    accounts = int(account.max()) + 1
    balance = np.zeros(accounts, dtype=np.int64)
    carry = np.zeros(accounts, dtype=np.int64)
    amount, cap = cents(c.amount), cents(rollover_cap(c))
    rel = np.asarray(month, dtype=np.int64) - np.asarray(start, dtype=np.int64)
    order = np.argsort(rel, kind="stable")
    offsets, first_row = np.unique(rel[order], return_index=True)
    for offset, rows in zip(offsets, np.split(order, first_row[1:]), strict=True):
        if offset < 0:
            continue
        acct = account[rows]
        position = int(offset) % c.months
        if position == 0:
            commitment[rows] = amount
            balance[acct] = carry[acct] + amount
            carry[acct] = 0
        drawn = np.minimum(np.maximum(usage[rows], 0), balance[acct])
        drawdown[rows] = -drawn
        balance[acct] -= drawn
        if position == c.months - 1:
            kept = np.minimum(balance[acct], cap)
            breakage[rows] = balance[acct] - kept
            carry[acct] = kept
            balance[acct] = 0
    return CommitmentCents(commitment, drawdown, breakage)
