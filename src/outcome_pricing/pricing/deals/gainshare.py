"""A charge on ``savings_usd``, priced exactly on a rational quantity (DESIGN 11: gain-share).

The savings of an account-month are a rational number of dollars (a mean of
baseline times, see savings.py), and the contract says they are not rounded
before pricing. So a charge on them cannot go through the micro-unit integers
of the other metrics; it is priced here twice, like every charge (DESIGN 5, 10):

* ``exact_charge``: one account-month in ``Fraction`` arithmetic (statements);
* ``charge_cents_rational``: many account-months as Python-integer arrays,
  the quantity num/den scaled to a common integer grid per row (the backtest).

Both: q = max(savings - included, 0); with ``block``, q = ceil(q / block)
blocks; flat ``price`` x q, or tiers (graduated: each band at its price plus the
``flat`` of every band q reaches; volume: all of q at its band's price plus that
band's flat; q = 0 reaches no band); the line rounded half up to cents once.
tests/test_deals_gainshare.py checks that they agree to the cent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np

from outcome_pricing.kit.money import MICRO, PICO_PER_CENT, to_micro
from outcome_pricing.pricing.deal_terms import SAVINGS_METRIC
from outcome_pricing.pricing.deals.savings import hourly_cost_for, savings_usd
from outcome_pricing.pricing.lines import Band, Line
from outcome_pricing.pricing.terms import Charge, LineKind, Mode
from outcome_pricing.pricing.usage import Usage, UsageArrays


@dataclass(frozen=True)
class RationalBand:
    """The part of q billed at one tier (or the whole of a flat charge)."""

    low: Fraction
    high: Fraction | None
    quantity: Fraction
    price: Decimal
    flat: Decimal = Decimal(0)

    @property
    def amount(self) -> Fraction:
        return self.quantity * Fraction(self.price) + Fraction(self.flat)


@dataclass(frozen=True)
class RationalCharge:
    billable: Fraction  # after the allowance (and in blocks, with ``block``)
    bands: tuple[RationalBand, ...]
    amount: Decimal  # whole cents, rounded half up


def half_up_cents(amount: Fraction) -> Decimal:
    """A non-negative exact amount of dollars rounded half up to whole cents."""
    return Decimal(math.floor(amount * 100 + Fraction(1, 2))).scaleb(-2)


def billable_quantity(charge: Charge, quantity: Fraction) -> Fraction:
    q = max(quantity - Fraction(charge.included), Fraction(0))
    if charge.block is not None:
        q = Fraction(math.ceil(q / Fraction(charge.block)))
    return q


def exact_charge(charge: Charge, quantity: Fraction) -> RationalCharge:
    """One charge on an exact quantity, as the rules read (DESIGN 5 and 10)."""
    q = billable_quantity(charge, quantity)
    bands: list[RationalBand] = []
    if not charge.tiers:
        bands.append(RationalBand(Fraction(0), None, q, charge.price or Decimal(0)))
    elif charge.mode is Mode.VOLUME:
        low = Fraction(0)
        for tier in charge.tiers:
            high = None if tier.up_to is None else Fraction(tier.up_to)
            if high is None or q <= high:
                bands.append(RationalBand(low, high, q, tier.price, tier.flat if q > 0 else Decimal(0)))
                break
            low = high
    else:
        low = Fraction(0)
        for tier in charge.tiers:
            high = None if tier.up_to is None else Fraction(tier.up_to)
            top = q if high is None else min(q, high)
            bands.append(RationalBand(low, high, max(top - low, Fraction(0)), tier.price,
                                      tier.flat if q > low else Decimal(0)))
            if high is None:
                break
            low = high
    amount = sum((b.amount for b in bands), Fraction(0))
    return RationalCharge(q, tuple(bands), half_up_cents(amount))


# ---------------------------------------------------------------------- many account-months
def _ints(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=object)


def charge_cents_rational(charge: Charge, num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """The charge on quantities num / den (den > 0) for every row, in int64 cents.

    Row i is priced on a grid of 1 / (s_i x 1e6) units, s_i its scale (den x 1e6
    after the allowance, 1 once counted in blocks), so every band bound and
    every product is an exact Python integer.
    """
    num, den = _ints(num), _ints(den)
    if len(num) == 0:
        return np.zeros(0, dtype=np.int64)
    scale = den * MICRO
    billed = np.maximum(num * MICRO - to_micro(charge.included) * den, 0)  # q x scale
    if charge.block is not None:
        # blocks = ceil(q / block) = ceil(billed x 1e6 / (scale x block_micro))
        billed = -((-billed * MICRO) // (scale * to_micro(charge.block)))
        scale = _ints(np.ones(len(num), dtype=np.int64))
    grid = billed * MICRO  # q in units of 1 / (scale x 1e6)
    total = _priced(charge, grid, scale)  # in 1e-12 / scale dollars
    unit = scale * PICO_PER_CENT
    return np.asarray((2 * total + unit) // (2 * unit), dtype=np.int64)


def _priced(charge: Charge, grid: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Sum of quantity x micro price (+ flats), in 1e-12 / scale dollars."""
    if not charge.tiers:
        return grid * to_micro(charge.price or Decimal(0))
    flat_unit = scale * MICRO  # one micro dollar of flat on this grid
    lows = [0, *(to_micro(t.up_to) for t in charge.tiers if t.up_to is not None)]
    highs: list[int | None] = [*lows[1:], None]
    if charge.mode is Mode.VOLUME:
        total = grid * 0
        placed = np.zeros(len(grid), dtype=bool)
        for tier, high in zip(charge.tiers, highs, strict=True):
            here = ~placed if high is None else (~placed) & np.asarray(grid <= high * scale, dtype=bool)
            flat = np.where(np.asarray(grid > 0, dtype=bool), to_micro(tier.flat) * flat_unit, 0)
            total = np.where(here, grid * to_micro(tier.price) + flat, total)
            placed |= here
        return total
    total = grid * 0
    for tier, low, high in zip(charge.tiers, lows, highs, strict=True):
        in_band = np.maximum(grid - low * scale, 0)
        if high is not None:
            in_band = np.minimum(in_band, (high - low) * scale)
        reached = np.asarray(grid > low * scale, dtype=bool)
        total = total + in_band * to_micro(tier.price) + np.where(reached, to_micro(tier.flat) * flat_unit, 0)
    return total


def fraction_arrays(values: list[Fraction]) -> tuple[np.ndarray, np.ndarray]:
    """Numerators and denominators of exact quantities, as Python-integer arrays."""
    return (
        np.array([v.numerator for v in values], dtype=object),
        np.array([v.denominator for v in values], dtype=object),
    )


# ---------------------------------------------------------------------- the hooks of the charge paths
def is_measured_savings(charge: Charge, saved_ms: object) -> bool:
    """A charge on savings_usd priced from measured savings (the usage carries saved_ms);
    without them savings_usd is an ordinary exact quantity (tests, hand-made usage)."""
    return charge.metric.value == SAVINGS_METRIC and saved_ms is not None


def savings_line(charge: Charge, usage: Usage, hourly_default: Decimal | None) -> Line:
    """The statement line of a charge on one account-month's measured savings (exact)."""
    assert usage.saved_ms is not None
    cost = hourly_cost_for(usage.hourly_cost, hourly_default)
    quantity = savings_usd(usage.saved_ms, cost)
    priced = exact_charge(charge, quantity)
    bands = tuple(
        Band(_shown(b.low), None if b.high is None else _shown(b.high), _shown(b.quantity), b.price, b.flat)
        for b in priced.bands
    )
    return Line(
        kind=LineKind.CHARGE, name=charge.name, amount=priced.amount, metric=charge.metric,
        quantity=_shown(quantity), included=charge.included, billable=_shown(priced.billable),
        unit_price=_share_text(charge), bands=bands,
        blocks=_shown(priced.billable) if charge.block is not None else None,
        note="savings exact; quantities shown to 6 decimals",
    )


def savings_cents(charge: Charge, usage: UsageArrays, hourly_default: Decimal | None) -> np.ndarray:
    """The charge on measured savings for every account-month, in int64 cents (exact)."""
    assert usage.saved_ms is not None and usage.hourly_cost is not None
    quantities = [
        savings_usd(s, hourly_cost_for(c, hourly_default)) for s, c in zip(usage.saved_ms, usage.hourly_cost, strict=True)
    ]
    return charge_cents_rational(charge, *fraction_arrays(quantities))


def _share_text(charge: Charge) -> str:
    """A flat price on dollars saved reads as a share: 0.2 -> '20% of the savings'."""
    if charge.price is not None and not charge.tiers and charge.block is None:
        return f"{(charge.price * 100).normalize():f}% of the savings"
    return charge.price_text()


def _shown(value: Fraction) -> Decimal:
    """An exact quantity for reading (6 decimals); the amount is priced on the exact value."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.000001"))
