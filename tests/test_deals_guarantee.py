"""Guarantee windows: the month-by-month Decimal reading against the vectorised credits,
and the schedule rule (DESIGN 11)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from outcome_pricing.kit.money import MICRO
from outcome_pricing.pricing.deal_terms import ChargeFrom, DealTerms, Guarantee
from outcome_pricing.pricing.deals.guarantee import (
    MonthFacts,
    credit_amount,
    credit_cents,
    window_checks,
)
from outcome_pricing.pricing.deals.schedule import NEVER, schedule

guarantees = st.builds(
    Guarantee,
    min_resolution_rate=st.decimals(0, 1, places=3),
    window_months=st.integers(1, 5),
    credit_pct=st.decimals(0, 1, places=4),
)


@st.composite
def accounts(draw: st.DrawFn) -> list[tuple[int, int, list[tuple[int, int, int]]]]:
    """Per account: first month, start month (or NEVER), and per month (units micro, conversations, cents)."""
    out = []
    for _ in range(draw(st.integers(1, 4))):
        first = draw(st.integers(0, 6))
        start = draw(st.one_of(st.just(NEVER), st.integers(first - 2, first + 6)))
        months = []
        for _ in range(draw(st.integers(1, 14))):
            conv = draw(st.integers(0, 40))
            units = draw(st.integers(0, conv * MICRO))
            months.append((units, conv, draw(st.integers(0, 10**7))))
        out.append((first, start, months))
    return out


@settings(max_examples=60, deadline=None)
@given(guarantees, accounts(), st.integers(0, 4))
def test_vectorised_credits_agree_with_the_window_by_window_reading(
    g: Guarantee, accts: list[tuple[int, int, list[tuple[int, int, int]]]], cut: int
) -> None:
    last = max(first + len(months) - 1 for first, _, months in accts)
    code, month, start, units, conv, cents_ = [], [], [], [], [], []
    expected: list[int] = []
    for a, (first, st_, months) in enumerate(accts):
        rows = list(range(first, first + len(months)))
        facts = [MonthFacts(m, Decimal(u) / MICRO, c, Decimal(ct) / 100)
                 for m, (u, c, ct) in zip(rows, months, strict=True) if st_ != NEVER and m >= st_]
        credited = {c.last: c.credit for c in window_checks(g, st_, last, facts)}
        expected += [int(credited.get(m, Decimal(0)) * 100) for m in rows]
        for m, (u, c, ct) in zip(rows, months, strict=True):
            code.append(a)
            month.append(m)
            start.append(st_)
            units.append(u)
            conv.append(c)
            cents_.append(ct if st_ != NEVER and m >= st_ else 0)
    got = credit_cents(g, np.array(code), np.array(month), np.array(start), last,
                       np.array(units), np.array(conv), np.array(cents_))
    assert got.tolist() == expected


def test_a_window_misses_by_one_outcome_and_one_that_triggers() -> None:
    g = Guarantee(Decimal("0.65"), 3, Decimal(1))
    # 3 months x 20 conversations: 39 outcomes is exactly 65%, 38 is one short
    met = [MonthFacts(m, Decimal(13), 20, Decimal("12.87")) for m in range(3)]
    short = [*met[:2], MonthFacts(2, Decimal(12), 20, Decimal("11.88"))]
    assert window_checks(g, 0, 2, met)[0].credit == 0
    check = window_checks(g, 0, 2, short)[0]
    assert check.triggered and check.credit == Decimal("-37.62")  # 12.87 + 12.87 + 11.88
    # the data ends in month 1: the window is cut, nothing is credited yet
    assert window_checks(g, 0, 1, short[:2]) == []


def test_a_credit_is_rounded_half_up_as_a_positive_amount() -> None:
    g = Guarantee(Decimal("0.5"), 1, Decimal("0.5"))
    assert credit_amount(g, Decimal("0.25")) == Decimal("-0.13")  # half of 25 cents = 12.5 -> 13


def test_schedule_go_live_mid_year_with_free_months() -> None:
    terms = DealTerms(charge_from=ChargeFrom.GO_LIVE, free_months=2, implementation_cost=Decimal(5000))
    s = schedule(terms, first_month=100, go_live=105, last_month=111)
    assert (s.start, s.implementation_month) == (107, 105)
    assert not s.charged(106) and s.charged(107)
    never = schedule(terms, first_month=100, go_live=NEVER, last_month=111)
    assert never.start == NEVER and never.implementation_month == NEVER and not never.charged(111)
    early = schedule(terms, first_month=100, go_live=98, last_month=111)
    assert (early.start, early.implementation_month) == (100, 100)  # booked in the first month of data
    late = schedule(terms, first_month=100, go_live=115, last_month=111)
    assert late.implementation_month == NEVER  # not spent within the data
    plain = schedule(DealTerms(free_months=1), first_month=100, go_live=105, last_month=111)
    assert plain.start == 101
