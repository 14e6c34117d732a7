"""The charge arithmetic of DESIGN section 5, twice: exact Decimal lines for one
account-month (statements) and integer-cent arrays for many (the backtest).

For one account-month and one plan:

* quantity q = max(metric - included, 0);
* flat: q x price; graduated: each band (previous up_to, up_to] of q at its
  own price; volume: all of q at the price of the band q falls in (``up_to``
  inclusive; the last tier has no bound);
* each charge line is rounded half up to cents;
* if cap > 0 the usage lines are limited to cap by a ``cap`` credit line;
* the platform fee is a line; if minimum > 0 and the total is below it, a
  ``minimum true-up`` line brings it up to the minimum;
* total = sum of lines.

The implementations are written independently on purpose (the Decimal one
reads like the rules; the integer-cent arrays are fast and exact for the
backtest; float arrays serve Monte Carlo simulations) and hypothesis tests
check they agree to the cent on random plans and usage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from outcome_pricing.kit.money import (
    MICRO,
    ceil_decimal,
    cents,
    pico_to_cents,
    price_text,
    round_half_up,
    to_micro,
)
from outcome_pricing.pricing.terms import Charge, LineKind, Metric, Mode, Plan

MS_PER_HOUR = 3_600_000
INT64_SAFE = 2**62  # products below this cannot overflow int64 when summed over a few bands


# ====================================================================== one account-month
@dataclass(frozen=True)
class Usage:
    """Exact measured usage of one account in one month (what the charges count).

    ``quantities`` holds every metric except ``seats_needed``, which depends on
    the charge's ``hours_per_seat`` and is derived from ``human_ms`` (human
    handling time in whole milliseconds, summed exactly).
    """

    quantities: Mapping[Metric, Decimal]
    human_ms: int = 0
    seat_price: Decimal = Decimal(0)

    def metric(self, charge: Charge) -> Decimal:
        if charge.metric is Metric.SEATS_NEEDED:
            return seats_needed(self.human_ms, charge.hours_per_seat)
        return self.quantities.get(charge.metric, Decimal(0))


def seats_needed(human_ms: int, hours_per_seat: Decimal) -> Decimal:
    """ceil(human hours / hours_per_seat): seats a right-sized team would need."""
    return ceil_decimal(Decimal(int(human_ms)) / (hours_per_seat * MS_PER_HOUR))


@dataclass(frozen=True)
class Band:
    """The part of a tiered quantity billed at one tier's price (amount not yet rounded)."""

    low: Decimal
    high: Decimal | None
    quantity: Decimal
    price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.price


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

    @property
    def detail(self) -> str:
        """The tier bands as text, e.g. '1000 x $0.99 + 250 x $0.79'."""
        return " + ".join(f"{b.quantity.normalize():f} x {price_text(b.price)}" for b in self.bands if b.quantity)


def charge_line(charge: Charge, usage: Usage) -> Line:
    """Price one charge for one account-month, exactly (DESIGN 5)."""
    quantity = usage.metric(charge)
    billable = max(quantity - charge.included, Decimal(0))
    bands = _bands(charge, billable, usage.seat_price)
    return Line(
        kind=LineKind.CHARGE,
        name=charge.name,
        amount=round_half_up(sum((b.amount for b in bands), Decimal(0))),
        metric=charge.metric,
        quantity=quantity,
        included=charge.included,
        billable=billable,
        unit_price=price_text(usage.seat_price) if charge.account_price else charge.price_text(),
        bands=bands,
    )


def _bands(charge: Charge, q: Decimal, seat_price: Decimal) -> tuple[Band, ...]:
    if not charge.tiers:
        price = seat_price if charge.account_price else (charge.price or Decimal(0))
        return (Band(Decimal(0), None, q, price),)
    if charge.mode is Mode.VOLUME:
        low = Decimal(0)
        for tier in charge.tiers:
            if tier.up_to is None or q <= tier.up_to:
                return (Band(low, tier.up_to, q, tier.price),)
            low = tier.up_to
        raise AssertionError("the last tier has no bound")  # pragma: no cover
    bands = []
    low = Decimal(0)
    for tier in charge.tiers:
        top = q if tier.up_to is None else min(q, tier.up_to)
        bands.append(Band(low, tier.up_to, max(top - low, Decimal(0)), tier.price))
        if tier.up_to is None:
            break
        low = tier.up_to
    return tuple(bands)


def bill(plan: Plan, usage: Usage) -> tuple[Line, ...]:
    """Every line of one account-month's bill under ``plan``; the total is their sum."""
    lines = [charge_line(c, usage) for c in plan.charges]
    used = sum((line.amount for line in lines), Decimal(0))
    if plan.cap > 0 and used > plan.cap:
        lines.append(Line(LineKind.CAP, f"cap at {price_text(plan.cap)}", plan.cap - used))
    if plan.platform_fee > 0:
        lines.append(Line(LineKind.PLATFORM_FEE, "platform fee", plan.platform_fee))
    total = sum((line.amount for line in lines), Decimal(0))
    if plan.minimum > 0 and total < plan.minimum:
        lines.append(Line(LineKind.MINIMUM, f"minimum true-up to {price_text(plan.minimum)}", plan.minimum - total))
    return tuple(lines)


def bill_total(lines: tuple[Line, ...]) -> Decimal:
    return sum((line.amount for line in lines), Decimal(0))


# ====================================================================== many account-months
@dataclass(frozen=True)
class UsageArrays:
    """Usage of n account-months as exact integers (the backtest's input).

    ``micro``: every metric except seats_needed, in millionths of a unit
    (so input_tokens_m in micro units is simply the token count).
    ``human_ms``: human handling time in milliseconds; ``seat_price_micro``:
    each account's seat price in millionths of a dollar.
    """

    micro: Mapping[Metric, np.ndarray]
    human_ms: np.ndarray
    seat_price_micro: np.ndarray

    def __len__(self) -> int:
        return len(self.human_ms)

    def metric_micro(self, charge: Charge) -> np.ndarray:
        if charge.metric is Metric.SEATS_NEEDED:
            return seats_needed_array(self.human_ms, charge.hours_per_seat) * MICRO
        return self.micro[charge.metric]

    def row(self, i: int) -> Usage:
        """Row i as the Decimal usage a statement prices."""
        return Usage(
            quantities={m: Decimal(int(a[i])) / MICRO for m, a in self.micro.items()},
            human_ms=int(self.human_ms[i]),
            seat_price=(Decimal(int(self.seat_price_micro[i])) / MICRO).normalize(),
        )


def seats_needed_array(human_ms: np.ndarray, hours_per_seat: Decimal) -> np.ndarray:
    """Integer ceil(human_ms / (hours_per_seat x 3.6e6)); hours_per_seat has <= 3 decimals."""
    per_seat = int(hours_per_seat * 1000) * (MS_PER_HOUR // 1000)
    return -(-np.asarray(human_ms, dtype=np.int64) // per_seat)


@dataclass(frozen=True)
class PlanCents:
    """One plan's bill for n account-months, each part in integer cents."""

    usage: np.ndarray  # sum of the charge lines
    cap_credit: np.ndarray  # <= 0
    platform_fee: np.ndarray
    minimum_true_up: np.ndarray  # >= 0
    total: np.ndarray
    by_charge: tuple[np.ndarray, ...]


def _exact(values: np.ndarray, bound: int) -> np.ndarray:
    """int64 when products stay below the bound, else Python ints (object arrays) so nothing overflows."""
    return values.astype(np.int64) if bound < INT64_SAFE else values.astype(object)


def _cents_of(pico: np.ndarray) -> np.ndarray:
    """Whole cents, half up, of an array of 1e-12 dollars (int64 or Python ints)."""
    return np.asarray(pico_to_cents(pico))


def charge_cents(charge: Charge, usage: UsageArrays) -> np.ndarray:
    """One charge for every account-month, in whole cents (each line rounded half up)."""
    metric = usage.metric_micro(charge)
    q = np.maximum(metric - to_micro(charge.included), 0)
    if not charge.tiers:
        unit_price: np.ndarray | int
        if charge.account_price:
            unit_price = usage.seat_price_micro
            top_price = int(unit_price.max()) if len(unit_price) else 0
        else:
            unit_price = top_price = to_micro(charge.price or Decimal(0))
        bound = (int(q.max()) if len(q) else 0) * top_price
        return _cents_of(_exact(q, bound) * unit_price)
    bounds = [to_micro(t.up_to) for t in charge.tiers if t.up_to is not None]
    prices = [to_micro(t.price) for t in charge.tiers]
    bound = (int(q.max()) if len(q) else 0) * max(prices) * len(prices)
    q = _exact(q, bound)
    if charge.mode is Mode.VOLUME:
        band = np.searchsorted(np.asarray(bounds, dtype=np.int64), np.asarray(q, dtype=np.int64), side="left")
        return _cents_of(q * _exact(np.asarray(prices, dtype=np.int64)[band], bound))
    pico = q * 0
    lows = [0, *bounds]
    for low, high, band_price in zip(lows, [*bounds, None], prices, strict=True):
        # np.maximum / np.minimum (not np.clip) also work on object arrays of Python ints.
        in_band = np.maximum(q - low, 0)
        if high is not None:
            in_band = np.minimum(in_band, high - low)
        pico = pico + in_band * band_price
    return _cents_of(pico)


def plan_cents(plan: Plan, usage: UsageArrays) -> PlanCents:
    """A plan's bill for every account-month at once, in integer cents."""
    n = len(usage)
    by_charge = tuple(np.asarray(charge_cents(c, usage)).astype(np.int64) for c in plan.charges)
    used = np.sum(by_charge, axis=0) if by_charge else np.zeros(n, dtype=np.int64)
    cap = cents(plan.cap)
    credit = -np.maximum(used - cap, 0) if cap > 0 else np.zeros(n, dtype=np.int64)
    fee = np.full(n, cents(plan.platform_fee), dtype=np.int64)
    subtotal = used + credit + fee
    minimum = cents(plan.minimum)
    true_up = np.maximum(minimum - subtotal, 0) if minimum > 0 else np.zeros(n, dtype=np.int64)
    return PlanCents(used, credit, fee, true_up, subtotal + true_up, by_charge)


# ====================================================================== simulations (floats)
# plan_cents is exact (int64 micro units) but ~1 s per plan on 7.2M cells; a Monte Carlo
# needs floats over (scenarios x accounts x months). The same rules, line by line;
# tests/test_forecast.py checks it against `bill` (exact Decimal) on random plans and usage.
def _charge_quantity(charge: Charge, metrics: Mapping[str, np.ndarray]) -> np.ndarray:
    if charge.metric is Metric.SEATS_NEEDED:
        # ceil(hours / hours_per_seat); the tiny slack absorbs float noise on exact multiples.
        return np.ceil(metrics["human_hours"] / float(charge.hours_per_seat) - 1e-9)
    return metrics[charge.metric.value]


def _half_up(cents: np.ndarray) -> np.ndarray:
    """Amounts in cents rounded to whole cents, halves up, in place.

    The extra 1e-6 cent absorbs float noise (2.675 dollars is 267.49999...
    cents in binary), so a line a person would round up is rounded up.
    """
    cents += 0.5 + 1e-6
    floored: np.ndarray = np.floor(cents, out=cents)
    return floored


def charge_cents_vectorised(
    charge: Charge, metrics: Mapping[str, np.ndarray], seat_price: np.ndarray
) -> np.ndarray:
    """One charge line, in whole cents (float), for every cell of the metric arrays.

    ``seat_price`` holds each account's seat price in dollars, shape
    (accounts,), for ``price = "account"`` charges. Metrics are >= 0.
    """
    quantity = _charge_quantity(charge, metrics)
    if charge.included:
        q = quantity - float(charge.included)
        np.maximum(q, 0.0, out=q)
    else:
        q = quantity  # read only below: never written in place
    if not charge.tiers:
        if charge.account_price:
            return _half_up(q * _account_axis(seat_price * 100.0, q))
        return _half_up(q * (float(charge.price or 0) * 100.0))
    bounds = [float(t.up_to) for t in charge.tiers if t.up_to is not None]
    prices = [float(t.price) * 100.0 for t in charge.tiers]  # cents per unit
    if charge.mode is Mode.VOLUME:
        # The band's price: the first price, stepped at each bound q exceeds (up_to is inclusive).
        unit = np.full(q.shape, prices[0])
        for bound, step in zip(bounds, np.diff(prices), strict=True):
            unit += step * (q > bound)
        unit *= q
        return _half_up(unit)
    # Graduated: each band (low, high] at its price = the first price on all of q, plus
    # each later band's price difference on the part of q above its lower bound.
    amount = q * prices[0]
    for bound, step in zip(bounds, np.diff(prices), strict=True):
        above = q - bound
        np.maximum(above, 0.0, out=above)
        above *= step
        amount += above
    return _half_up(amount)


def _account_axis(per_account: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Per-account values (accounts,) shaped to broadcast over (scenarios, accounts, months)."""
    return per_account[:, None] if like.ndim == 3 else per_account


def plan_revenue_vectorised(
    plan: Plan, metrics: Mapping[str, np.ndarray], seat_price: np.ndarray
) -> np.ndarray:
    """A plan's monthly bill in dollars (float) for every cell of the metric arrays (DESIGN 5).

    ``metrics`` maps metric names to arrays of one shape, (accounts,) or
    (scenarios, accounts, months), with ``human_hours`` standing in for
    seats_needed (each charge applies its own hours_per_seat). Each line is
    rounded half up to cents, the cap limits the usage lines, then the
    platform fee and the minimum true-up, as charges.bill does exactly.
    """
    cents = plan_cents_vectorised(plan, metrics, seat_price)
    cents /= 100.0
    return cents


def plan_cents_vectorised(
    plan: Plan, metrics: Mapping[str, np.ndarray], seat_price: np.ndarray
) -> np.ndarray:
    """``plan_revenue_vectorised`` in whole cents (floats): the simulation sums cents and
    converts the small totals, saving a pass over the big arrays."""
    lines = [charge_cents_vectorised(charge, metrics, seat_price) for charge in plan.charges]
    total = lines[0] if lines else np.zeros(metrics[Metric.TASKS.value].shape)
    for line in lines[1:]:
        total += line
    if plan.cap > 0:
        np.minimum(total, float(plan.cap) * 100.0, out=total)
    if plan.platform_fee > 0:
        total += float(plan.platform_fee) * 100.0
    if plan.minimum > 0:
        np.maximum(total, float(plan.minimum) * 100.0, out=total)
    return total
