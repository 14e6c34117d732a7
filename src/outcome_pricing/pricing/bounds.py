"""Bounds for every value a plan may hold (issue 13), and the strict readers of one value.

Why these bounds: the backtest bills in integers (micro units x micro dollars =
1e-12 dollars, falling back to exact Python integers where a product could pass
int64) and the statement in Decimal with enough digits for every product, so
both are exact; the bounds keep every plan value a number a contract could hold,
so that with the data bounds of the data contract (seconds below 10 years, tokens
below 1e12, issues below 1e6 per task) one task adds at most about $1e12 to a
line, and a plan's amounts stay far inside what the int64 cents of the backtest
hold (2**62 cents, about $4.6e16, per account-month line; see charges.py).

A value outside its bound is refused at load with a ConfigError naming the
plan, the charge and the key (README, "Plans": the table of bounds).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.money import MICRO_PLACES, places, to_decimal

MAX_PRICE = Decimal(10) ** 6  # per unit (or per block, per million tokens, per seat)
MAX_FEE = Decimal(10) ** 9  # platform fee, minimum, cap, commitment amount, per-tier flat
MAX_QUANTITY = Decimal(10) ** 12  # included, up_to, block (units of the metric)
MAX_HOURS_PER_SEAT = Decimal(10_000)
MAX_COST = Decimal(10) ** 6  # cost per million tokens, per AI task
MAX_MONTHS = 120  # commitment months, audit window
MAX_CLOSE_LAG_DAYS = 31
MAX_TIERS = 100
MAX_CHARGES = 100
MAX_PLANS = 200
MAX_PRICES = 1_000  # values priced by dimension in one charge
MAX_TEXT = 500  # characters of a name, label or dimension value

Fail = Callable[[str, str, str], ConfigError]


def number(fail: Fail, where: str, raw: dict[str, Any], key: str, default: Decimal | None,
           max_places: int = MICRO_PLACES, top: Decimal = MAX_PRICE, positive: bool = False) -> Decimal:
    """A number >= 0 (> 0 when ``positive``), at most ``top``, with at most ``max_places`` decimals."""
    if key not in raw:
        if default is None:
            raise fail(where, key, "is required.")
        return default
    value = raw[key]
    if isinstance(value, str):
        raise fail(where, key, f"{value!r} is text; write a number without quotes.")
    try:
        d = to_decimal(value)
    except (TypeError, ArithmeticError):
        raise fail(where, key, f"{value!r} is not a number.") from None
    if not d.is_finite() or d < 0 or (positive and d == 0):
        raise fail(where, key, f"{value!r} must be a number {'>' if positive else '>='} 0.")
    if d > top:
        raise fail(where, key, f"{value!r} is beyond the bound {top:,f} for this key (see the README's plan bounds).")
    if places(d) > max_places:
        raise fail(where, key, f"{value!r} has more than {max_places} decimal places.")
    return d


def integer(fail: Fail, where: str, raw: dict[str, Any], key: str, default: int | None, low: int, high: int) -> int:
    """A whole number in low..high (a form's 3.0 is 3; 3.5, text and true/false are refused)."""
    if key not in raw:
        if default is None:
            raise fail(where, key, "is required.")
        return default
    value = raw[key]
    ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok and isinstance(value, float | Decimal) and not isinstance(value, bool):
        d = to_decimal(value)
        ok = d.is_finite() and d == d.to_integral_value()
        value = int(d) if ok else value
    if not ok:
        raise fail(where, key, f"{value!r} must be a whole number from {low} to {high}.")
    if not low <= int(value) <= high:
        raise fail(where, key, f"{value!r} must be from {low} to {high}.")
    return int(value)


def boolean(fail: Fail, where: str, raw: dict[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise fail(where, key, f"{value!r} must be true or false.")
    return value


def text(fail: Fail, where: str, raw: dict[str, Any], key: str, default: str = "") -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise fail(where, key, "must be text.")
    if len(value) > MAX_TEXT:
        raise fail(where, key, f"is longer than {MAX_TEXT} characters.")
    return value


def count(fail: Fail, where: str, key: str, items: list[Any] | dict[str, Any], top: int) -> None:
    if len(items) > top:
        raise fail(where, key, f"has {len(items)} entries; at most {top} are allowed.")
