"""Gain-share charges on savings_usd: the exact Fraction reading against the integer arrays,
and hand-computed cases (DESIGN 11)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from outcome_pricing.pricing.deals.gainshare import (
    charge_cents_rational,
    exact_charge,
    fraction_arrays,
    half_up_cents,
)
from outcome_pricing.pricing.terms import Charge, Metric, Mode, Tier

SAVINGS = Metric("savings_usd")
shares = st.decimals(min_value=0, max_value=2, places=6, allow_nan=False, allow_infinity=False)
flats = st.one_of(st.just(Decimal(0)), st.decimals(min_value=0, max_value=500, places=2))
ups = st.decimals(min_value=Decimal("0.5"), max_value=50_000, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def savings_charges(draw: st.DrawFn) -> Charge:
    base = Charge(
        SAVINGS,
        included=draw(st.one_of(st.just(Decimal(0)), st.decimals(0, 2000, places=3))),
        block=draw(st.one_of(st.none(), st.decimals(Decimal("0.5"), 500, places=3))),
    )
    if draw(st.booleans()):
        return Charge(**{**base.__dict__, "price": draw(shares)})
    bounds = sorted(set(draw(st.lists(ups, max_size=3))))
    prices = draw(st.lists(shares, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    tiers = tuple(Tier(u, p, draw(flats)) for u, p in zip([*bounds, None], prices, strict=True))
    return Charge(**{**base.__dict__, "tiers": tiers, "mode": draw(st.sampled_from(list(Mode)))})


quantities = st.builds(
    Fraction, st.integers(0, 10**12), st.integers(1, 10**7)
)


@settings(max_examples=60, deadline=None)
@given(savings_charges(), st.lists(quantities, min_size=1, max_size=8))
def test_integer_arrays_agree_with_the_exact_reading_to_the_cent(charge: Charge, qs: list[Fraction]) -> None:
    num, den = fraction_arrays(qs)
    fast = charge_cents_rational(charge, num, den)
    slow = [int(exact_charge(charge, q).amount * 100) for q in qs]
    assert fast.tolist() == slow


def test_a_quarter_of_the_savings_is_billed_exactly() -> None:
    share = Charge(SAVINGS, price=Decimal("0.25"))
    # $0.02 saved: a quarter is half a cent, rounded up; a Decimal of 1/50 x 1/4 would be exact too
    assert exact_charge(share, Fraction(1, 50)).amount == Decimal("0.01")
    # $10/3 saved: a quarter is 83.333... cents -> 0.83
    assert exact_charge(share, Fraction(10, 3)).amount == Decimal("0.83")
    # exactness matters: 0.0199999... (a rounded savings) would bill 0.00
    assert half_up_cents(Fraction(1, 200)) == Decimal("0.01")
    num, den = fraction_arrays([Fraction(1, 50), Fraction(10, 3)])
    assert charge_cents_rational(share, num, den).tolist() == [1, 83]


def test_tiers_blocks_and_flats_on_savings_by_hand() -> None:
    tiers = (Tier(Decimal(1000), Decimal("0.10")), Tier(None, Decimal("0.20"), Decimal(50)))
    graduated = Charge(SAVINGS, included=Decimal(100), tiers=tiers)
    # 2100.5 saved, 100 free: 1000 x 0.10 + 1000.5 x 0.20 + 50 (second band reached) = 350.10
    assert exact_charge(graduated, Fraction(42010, 20)).amount == Decimal("350.10")
    volume = Charge(SAVINGS, tiers=tiers, mode=Mode.VOLUME)
    assert exact_charge(volume, Fraction(1500)).amount == Decimal("350.00")  # 1500 x 0.20 + 50
    assert exact_charge(volume, Fraction(0)).amount == Decimal("0.00")  # q = 0 reaches no band
    blocks = Charge(SAVINGS, price=Decimal(5), block=Decimal(100))
    assert exact_charge(blocks, Fraction(201)).amount == Decimal("15.00")  # ceil(201/100) = 3 blocks
    num, den = fraction_arrays([Fraction(42010, 20)])
    assert charge_cents_rational(graduated, num, den).tolist() == [35010]
    assert charge_cents_rational(blocks, *fraction_arrays([Fraction(201)])).tolist() == [1500]


def test_no_rows_bill_nothing() -> None:
    charge = Charge(SAVINGS, price=Decimal("0.2"))
    empty = np.array([], dtype=object)
    assert charge_cents_rational(charge, empty, empty).tolist() == []
