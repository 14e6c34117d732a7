"""The charge arithmetic of DESIGN 5 and 10 for many account-months at once, in exact
integers (the backtest). Rules as in `charges.py`, which prices one account-month in
Decimal; hypothesis tests check both give the same cents.

Quantities are millionths of a unit ("micro"), prices millionths of a dollar, so
quantity x price is an exact integer of 1e-12 dollars ("pico"), rounded half up to
cents once per line. Where a product could pass int64 the arithmetic runs on Python
integers (object arrays) instead: slower, still exact. A line or an account-month's
usage of $1e14 or more is refused with a message, as the statement refuses it
(lines.LIMIT_CENTS), rather than wrapped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from outcome_pricing.kit.money import MICRO, cents, pico_to_cents, to_micro
from outcome_pricing.pricing.deals.gainshare import is_measured_savings, savings_cents
from outcome_pricing.pricing.lines import LIMIT_CENTS, beyond_limit
from outcome_pricing.pricing.spanning import commitment_cents
from outcome_pricing.pricing.terms import Charge, Mode, Plan
from outcome_pricing.pricing.usage import UsageArrays

INT64_SAFE = 2**62  # sums of a few values below this cannot overflow int64


@dataclass(frozen=True)
class PlanCents:
    """One plan's bill for n account-months, each part in integer cents."""

    usage: np.ndarray  # sum of the charge lines
    cap_credit: np.ndarray  # <= 0
    platform_fee: np.ndarray
    minimum_true_up: np.ndarray  # >= 0
    total: np.ndarray
    by_charge: tuple[np.ndarray, ...]  # per charge: the sum of its lines
    commitment: np.ndarray  # the commitment line (a period's first month), >= 0
    drawdown: np.ndarray  # drawn from the commitment, <= 0
    breakage: np.ndarray  # expired commitment at a period's end: reported, not in the total


def _exact(values: np.ndarray, bound: int) -> np.ndarray:
    """int64 when every result stays below the bound and the values themselves fit, else
    Python ints (object arrays). The values count too: a bound computed from prices is 0
    when every price is 0, while the quantities may already be past int64."""
    fits = bound < INT64_SAFE and _top(values) < INT64_SAFE
    return values.astype(np.int64) if fits else values.astype(object)


def _top(values: np.ndarray) -> int:
    return int(np.max(values)) if len(values) else 0


def _line_cents(pico: np.ndarray, charge: Charge) -> np.ndarray:
    """Whole cents, half up, of one line's 1e-12 dollars, as int64 (refused from LIMIT_CENTS)."""
    line = np.asarray(pico_to_cents(pico))
    if len(line) and _top(line) >= LIMIT_CENTS:
        raise beyond_limit(f"charge {charge.name!r}")
    return line.astype(np.int64)


def _units(charge: Charge, usage: UsageArrays) -> np.ndarray:
    """The billed quantity in micro units: after the allowance, in whole blocks if ``block``."""
    metric = usage.metric_micro(charge)
    q: np.ndarray = np.maximum(metric - to_micro(charge.included), 0)
    if charge.block is None:
        return q
    block = to_micro(charge.block)
    blocks = -(-q // block)  # ceil(q / B), exact on integers
    units: np.ndarray = _exact(blocks, _top(blocks) * MICRO) * MICRO
    return units


def _tiered_pico(charge: Charge, q: np.ndarray) -> np.ndarray:
    bounds = [to_micro(t.up_to) for t in charge.tiers if t.up_to is not None]
    prices = [to_micro(t.price) for t in charge.tiers]
    flats = [to_micro(t.flat) * MICRO for t in charge.tiers]  # pico
    bound = _top(q) * max(prices) * len(prices) + sum(flats)
    q = _exact(q, bound)
    if charge.mode is Mode.VOLUME:
        band = np.zeros(len(q), dtype=np.int64)
        for b in bounds:  # the band q falls in: one step past each bound q exceeds (inclusive)
            band += np.asarray(q > b, dtype=np.int64)
        price = _exact(np.asarray(prices, dtype=np.int64), bound)[band]
        flat = _exact(np.asarray(flats, dtype=object), bound)[band] * np.asarray(q > 0, dtype=np.int64)
        volume: np.ndarray = q * price + flat
        return volume
    pico: np.ndarray = q * 0
    lows = [0, *bounds]
    for low, high, band_price, band_flat in zip(lows, [*bounds, None], prices, flats, strict=True):
        # np.maximum / np.minimum (not np.clip) also work on object arrays of Python ints.
        in_band = np.maximum(q - low, 0)
        if high is not None:
            in_band = np.minimum(in_band, high - low)
        pico = pico + in_band * band_price
        if band_flat:
            pico = pico + _exact(np.asarray(q > low), bound) * band_flat
    return pico


def charge_line_cents(charge: Charge, usage: UsageArrays) -> list[np.ndarray]:
    """One charge's lines for every account-month, in whole cents (each rounded half up):
    one array, or one per value (listed values, then `default`) when priced by dimension."""
    if charge.by is not None:
        out = []
        for value, q in charge_by_quantities(charge, usage):
            unit = to_micro(charge.price_of(value))
            out.append(_line_cents(_exact(q, _top(q) * unit) * unit, charge))
        return out
    q = _units(charge, usage)
    if charge.tiers:
        return [_line_cents(_tiered_pico(charge, q), charge)]
    unit_price: np.ndarray | int
    if charge.account_price:
        unit_price = usage.seat_price_micro
        top_price = _top(unit_price)
    else:
        unit_price = top_price = to_micro(charge.price or Decimal(0))
    return [_line_cents(_exact(q, _top(q) * top_price) * unit_price, charge)]


def charge_by_quantities(charge: Charge, usage: UsageArrays) -> Sequence[tuple[str, np.ndarray]]:
    return usage.by_micro(charge)


def charge_cents(charge: Charge, usage: UsageArrays) -> np.ndarray:
    """One charge for every account-month, in whole cents: the sum of its lines."""
    lines = charge_line_cents(charge, usage)
    summed: np.ndarray = lines[0] if len(lines) == 1 else np.sum(lines, axis=0)
    return summed


def _usage_total(plan: Plan, by_charge: tuple[np.ndarray, ...], zeros: np.ndarray) -> np.ndarray:
    """The usage lines summed per account-month, refused from LIMIT_CENTS like each line."""
    if not by_charge:
        return zeros
    used: np.ndarray
    if sum(_top(c) for c in by_charge) < LIMIT_CENTS:  # cannot reach it (and fits int64)
        used = np.sum(by_charge, axis=0).astype(np.int64)
        return used
    used = np.sum([c.astype(object) for c in by_charge], axis=0)
    if _top(used) >= LIMIT_CENTS:
        raise beyond_limit(f"plan {plan.name!r}")
    return used.astype(np.int64)


def plan_cents(plan: Plan, usage: UsageArrays) -> PlanCents:
    """A plan's bill for every account-month at once, in integer cents (DESIGN 11 order:
    usage lines, cap credit, platform fee, minimum true-up, commitment and drawdown)."""
    n = len(usage)
    zeros = np.zeros(n, dtype=np.int64)
    default = plan.deal.hourly_cost_default  # gain-share (DESIGN 11): exact rationals in deals.gainshare
    by_charge = tuple(savings_cents(c, usage, default) if is_measured_savings(c, usage.saved_ms)
                      else charge_cents(c, usage) for c in plan.charges)
    used = _usage_total(plan, by_charge, zeros)
    cap = cents(plan.cap)
    credit = -np.maximum(used - cap, 0) if cap > 0 else zeros
    fee = np.full(n, cents(plan.platform_fee), dtype=np.int64)
    subtotal = used + credit + fee
    minimum = cents(plan.minimum)
    true_up = np.maximum(minimum - subtotal, 0) if minimum > 0 else zeros
    commitment, drawdown, breakage = zeros, zeros, zeros
    if plan.commitment is not None:
        account, month, start = usage.account, usage.month, usage.start
        if account is None or month is None or start is None:  # each row on its own: a period's first month
            account, month, start = np.arange(n), zeros, zeros
        stage = commitment_cents(plan.commitment, used + credit, account, month, start)
        commitment, drawdown, breakage = stage.commitment, stage.drawdown, stage.breakage
    total = subtotal + true_up + commitment + drawdown
    return PlanCents(used, credit, fee, true_up, total, by_charge, commitment, drawdown, breakage)
