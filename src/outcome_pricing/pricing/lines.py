"""Statement lines: what one account-month's bill lists (DESIGN 5, 10, 11), in whole cents."""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.money import price_text
from outcome_pricing.pricing.terms import LineKind, Metric

# Decimal arithmetic of the exact path: 60 significant digits make every product of a
# bounded plan value (pricing/bounds.py) and a bounded quantity exact.
EXACT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_UP)

# The most one line or one account-month's total may come to: $1e14 (1e16 cents). Within
# the plan bounds and the data bounds a task adds at most about $1e12 to a line, so only
# an account-month of a hundred or more extreme tasks gets here; such a bill is refused
# with a message on every path alike (the backtest's int64 cents hold 9.2e18).
LIMIT_CENTS = 10**16


def beyond_limit(what: str) -> ConfigError:
    return ConfigError(
        f"{what}: one account-month comes to more than $100,000,000,000,000, beyond what "
        "billing holds; check the plan's prices and the data (see the README's plan bounds)."
    )


def checked(amount: Decimal, what: str) -> Decimal:
    """``amount`` (dollars), refused beyond LIMIT_CENTS."""
    if abs(amount) * 100 >= LIMIT_CENTS:
        raise beyond_limit(what)
    return amount


@dataclass(frozen=True)
class Band:
    """The part of a tiered quantity billed at one tier's price, plus its flat fee if
    reached (amount not yet rounded)."""

    low: Decimal
    high: Decimal | None
    quantity: Decimal
    price: Decimal
    flat: Decimal = Decimal(0)

    @property
    def amount(self) -> Decimal:
        return EXACT.add(EXACT.multiply(self.quantity, self.price), self.flat)


@dataclass(frozen=True)
class Line:
    """One statement line; amounts are whole cents (rounded half up)."""

    kind: LineKind
    name: str
    amount: Decimal
    metric: Metric | None = None
    quantity: Decimal | None = None
    included: Decimal | None = None
    billable: Decimal | None = None
    unit_price: str = ""
    bands: tuple[Band, ...] = ()
    blocks: Decimal | None = None  # whole blocks billed, for a charge with `block`
    note: str = ""

    @property
    def detail(self) -> str:
        """The bands as text, e.g. '1000 x $0.99 + 250 x $0.79 + $10.00 flat'."""
        parts = [f"{b.quantity.normalize():f} x {price_text(b.price)}" for b in self.bands if b.quantity]
        parts += [f"{price_text(b.flat)} flat" for b in self.bands if b.flat]
        text = " + ".join(parts)
        if self.blocks is not None:
            text = f"{self.blocks.normalize():f} blocks" + (f": {text}" if text else "")
        return "; ".join(t for t in (text, self.note) if t)


def total(lines: tuple[Line, ...]) -> Decimal:
    return sum((line.amount for line in lines), Decimal(0))
