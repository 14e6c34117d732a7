"""Money that adds up: half-up rounding to the cent, and exact scaled integers.

Two representations meet here and must agree to the cent:

* statements work in ``Decimal`` (what a person reads and checks by hand);
* the backtest works in integers (numpy, for speed): quantities in millionths
  of a unit ("micro units"), prices in millionths of a dollar ("micro
  dollars"), so quantity x price is an exact integer in 1e-12 dollars.

Both round each line half up to whole cents, so the two paths give the same
cents for the same inputs (tests/test_backtest.py proves it with hypothesis).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

CENT = Decimal("0.01")
MICRO = 1_000_000  # units and dollars are scaled by this to become integers
PICO_PER_CENT = 10_000_000_000  # a micro quantity x a micro price is in 1e-12 dollars
MICRO_PLACES = 6  # quantities and prices may have at most this many decimals


def round_half_up(value: Decimal) -> Decimal:
    """Round to whole cents, halves away from zero (0.125 -> 0.13, 2.675 -> 2.68).

    Why not Python's ``round``: on floats it rounds the binary value, and
    2.675 is stored as 2.67499999..., so ``round(2.675, 2)`` is 2.67; on
    Decimals it uses banker's rounding (half to even), so ``round(Decimal("0.125"), 2)``
    is 0.12. Invoices round half up, which is what customers check by hand.
    """
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def ceil_decimal(value: Decimal) -> Decimal:
    """The smallest whole number >= value, as a Decimal."""
    return value.to_integral_value(rounding=ROUND_CEILING)


def to_decimal(value: Any) -> Decimal:
    """A TOML or float number as the Decimal a person wrote (0.99 -> Decimal('0.99')).

    Floats go through ``str`` (shortest repr), so 0.1 becomes 0.1, not
    0.1000000000000000055...
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a number is required, not true/false")
    if isinstance(value, int | float | str):
        return Decimal(str(value))
    raise TypeError(f"a number is required, not {type(value).__name__}")


def form_amount(value: float, decimals: int = MICRO_PLACES) -> Decimal:
    """A float typed in a form as the Decimal it means: rounded to ``decimals`` places
    (2 for whole cents), then read as it prints (0.1 + 0.2 -> Decimal('0.3'))."""
    return Decimal(str(round(value, decimals)))


def places(value: Decimal) -> int:
    """How many decimal places a Decimal carries once trailing zeros are dropped."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -int(exponent))


def price_text(value: Decimal) -> str:
    """A unit price as people write it: $65.00, $0.99, $0.0025 (cents at least, no float noise)."""
    shown = value.quantize(CENT) if places(value) <= 2 else value.normalize()
    return f"${shown:,f}"


def cents(value: Decimal) -> int:
    """An amount that is already whole cents, as an integer number of cents."""
    return int(value * 100)


def from_cents(amount: int) -> Decimal:
    """Integer cents as a Decimal dollar amount (1234 -> Decimal('12.34'))."""
    return Decimal(int(amount)).scaleb(-2)


def to_micro(value: Decimal) -> int:
    """An exact Decimal with at most 6 decimals as an integer of millionths."""
    return int(value * MICRO)


def floats_to_micro(values: Any) -> np.ndarray:
    """Float quantities (e.g. billable units with partial credit) as int64 millionths.

    Sums of floats carry tiny representation noise (0.3 + 0.3 + 0.3 =
    0.8999999...); rounding to millionths removes it, and both the backtest
    and the statement measure through this one function.
    """
    arr = np.asarray(values, dtype=np.float64)
    return np.rint(np.nan_to_num(arr, nan=0.0) * MICRO).astype(np.int64)


def pico_to_cents(amount: Any) -> Any:
    """Exact 1e-12 dollar amounts (>= 0) rounded half up to whole cents, vectorised."""
    return (amount + PICO_PER_CENT // 2) // PICO_PER_CENT


def cents_to_float(amount: Any) -> Any:
    """Integer cents as float dollars, for frames and charts (not for statements)."""
    return np.asarray(amount, dtype=np.float64) / 100.0
