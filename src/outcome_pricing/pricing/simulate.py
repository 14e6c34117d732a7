"""The charge arithmetic of DESIGN 5 and 10 in floats, for Monte Carlo simulations.

`cents.plan_cents` is exact (integers) but about 1 s per plan on 7.2M cells; a
forecast needs floats over (scenarios x accounts x months). The same rules, line
by line; tests/test_forecast.py and tests/test_charge_shapes.py check it against
`charges.bill` (exact Decimal) on random plans and usage.

Metrics are arrays of one shape, (accounts,) or (scenarios, accounts, months), keyed
by metric name, with ``human_hours`` standing in for seats_needed. An outcomes charge
with an audit settlement (DESIGN 9) reads the settled outcomes under
`settled_metric_name` (absent: no audits known, so r = 0 and the plain outcomes). A
charge priced ``by`` a dimension reads each listed value's quantity under
`by_metric_name` (absent: 0) and bills the rest of the metric at `default`. A
commitment runs along the last axis of a 3-D array (months): by default the first
simulated month starts a period; `Periods` places each account's months in its own
periods (from its first charged month) and carries an open period's balance in. On
fewer dimensions every cell is a period's first month, as `charges.bill` prices one month.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from outcome_pricing.kit.money import MICRO
from outcome_pricing.pricing.terms import DEFAULT_PRICE_KEY, Charge, Commitment, Metric, Mode, Plan


def by_metric_name(metric: str, dimension: str, value: str, settlement: tuple[str, int] | None = None) -> str:
    """The metrics key of one dimension value's quantity (e.g. 'outcomes|model_tier|advanced'),
    of the settled outcomes when the charge settles on audits."""
    base = f"{metric}|{dimension}|{value}"
    return base if settlement is None else f"{base}|{settlement[0]}:{settlement[1]}"


def settled_metric_name(settlement: tuple[str, int]) -> str:
    """The metrics key of the outcomes settled on audits (mode, window), e.g. 'outcomes|point|3'."""
    return f"{Metric.OUTCOMES.value}|{settlement[0]}|{settlement[1]}"


def _charge_quantity(charge: Charge, metrics: Mapping[str, np.ndarray]) -> np.ndarray:
    if charge.metric is Metric.SEATS_NEEDED:
        # ceil(hours / hours_per_seat); the tiny slack absorbs float noise on exact multiples.
        return np.ceil(metrics["human_hours"] / float(charge.hours_per_seat) - 1e-9)
    key = charge.settlement_key
    if key is not None and settled_metric_name(key) in metrics:
        return metrics[settled_metric_name(key)]
    return metrics[charge.metric.value]


def _half_up(cents: np.ndarray) -> np.ndarray:
    """Amounts in cents rounded to whole cents, halves up, in place.

    The extra 1e-6 cent absorbs float noise (2.675 dollars is 267.49999...
    cents in binary), so a line a person would round up is rounded up.
    """
    cents += 0.5 + 1e-6
    floored: np.ndarray = np.floor(cents, out=cents)
    return floored


def _by_lines(charge: Charge, metrics: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    assert charge.by is not None
    total = _charge_quantity(charge, metrics)
    rest = np.array(total, dtype=np.float64, copy=True)
    lines = []
    for value in charge.listed_values:
        q = metrics.get(by_metric_name(charge.metric.value, charge.by.value, value, charge.settlement_key))
        if q is None:
            q = np.zeros_like(rest)
        rest -= q
        lines.append(_half_up(q * (float(charge.price_of(value)) * 100.0)))
    np.maximum(rest, 0.0, out=rest)
    lines.append(_half_up(rest * (float(charge.price_of(DEFAULT_PRICE_KEY)) * 100.0)))
    return lines


def charge_cents_vectorised(
    charge: Charge, metrics: Mapping[str, np.ndarray], seat_price: np.ndarray
) -> np.ndarray:
    """One charge (the sum of its lines), in whole cents (float), for every cell of the
    metric arrays. ``seat_price`` holds each account's seat price in dollars, shape
    (accounts,), for ``price = "account"`` charges. Metrics are >= 0.
    """
    if charge.by is not None:
        lines = _by_lines(charge, metrics)
        out = lines[0]
        for line in lines[1:]:
            out += line
        return out
    quantity = _charge_quantity(charge, metrics)
    if charge.included:
        q = quantity - float(charge.included)
        np.maximum(q, 0.0, out=q)
    else:
        q = quantity  # read only below: never written in place
    if charge.block is not None:
        # Whole blocks on the micro-unit grid the exact path counts on: integer-valued floats
        # divide exactly, where an epsilon dropped a quantity smaller than it (one micro-unit
        # in a block of 1,169.476 is a block).
        q = np.ceil(np.rint(q * MICRO) / float((charge.block * MICRO).to_integral_value()))
        np.maximum(q, 0.0, out=q)
    if not charge.tiers:
        if charge.account_price:
            return _half_up(q * _account_axis(seat_price * 100.0, q))
        return _half_up(q * (float(charge.price or 0) * 100.0))
    bounds = [float(t.up_to) for t in charge.tiers if t.up_to is not None]
    prices = [float(t.price) * 100.0 for t in charge.tiers]  # cents per unit
    flats = [float(t.flat) * 100.0 for t in charge.tiers]
    if charge.mode is Mode.VOLUME:
        # The band's price and flat: the first ones, stepped at each bound q exceeds (up_to inclusive).
        unit = np.full(q.shape, prices[0])
        flat: np.ndarray = np.where(q > 0, flats[0], 0.0)
        for bound, step, flat_step in zip(bounds, np.diff(prices), np.diff(flats), strict=True):
            past = np.asarray(q > bound, dtype=np.float64)
            unit += step * past
            flat += flat_step * past
        unit *= q
        unit += flat
        return _half_up(unit)
    # Graduated: each band (low, high] at its price = the first price on all of q, plus
    # each later band's price difference on the part of q above its lower bound; plus
    # the flat of every band q reaches.
    amount = q * prices[0]
    if flats[0]:
        amount += flats[0] * (q > 0)
    for bound, step, band_flat in zip(bounds, np.diff(prices), flats[1:], strict=True):
        above = q - bound
        np.maximum(above, 0.0, out=above)
        above *= step
        amount += above
        if band_flat:
            amount += band_flat * (q > bound)
    return _half_up(amount)


def _account_axis(per_account: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Per-account values (accounts,) shaped to broadcast over (scenarios, accounts, months)."""
    return per_account[:, None] if like.ndim == 3 else per_account


def plan_revenue_vectorised(
    plan: Plan, metrics: Mapping[str, np.ndarray], seat_price: np.ndarray
) -> np.ndarray:
    """A plan's monthly bill in dollars (float) for every cell of the metric arrays (DESIGN 5).

    Each line is rounded half up to cents, the cap limits the usage lines, then the
    platform fee, the minimum true-up and a commitment, as charges.bill does exactly.
    """
    cents = plan_cents_vectorised(plan, metrics, seat_price)
    cents /= 100.0
    return cents


@dataclass(frozen=True)
class Periods:
    """Where each account's simulated months fall in its commitment periods (DESIGN 10).

    ``offset``: per account, months from its first charged month to the first simulated
    month (negative: charging starts later; months before the start bill no commitment);
    ``balance`` / ``carry``: cents left in an open period / carried into the next, at the
    first simulated month (what the history's months left).
    """

    offset: np.ndarray  # (accounts,) int
    balance: np.ndarray  # (accounts,) cents
    carry: np.ndarray  # (accounts,) cents

    @classmethod
    def fresh(cls, accounts: int) -> Periods:
        """Every account starts a period at the first simulated month."""
        return cls(np.zeros(accounts, dtype=np.int64), np.zeros(accounts), np.zeros(accounts))


@dataclass(frozen=True)
class PlanCentsParts:
    """A plan's bill per cell (cents, floats) with its commitment's breakage and overage."""

    total: np.ndarray
    breakage: np.ndarray  # expired commitment in a period's last month (reported, not billed)
    overage: np.ndarray  # usage billed beyond the commitment's balance


def plan_cents_vectorised(
    plan: Plan, metrics: Mapping[str, np.ndarray], seat_price: np.ndarray
) -> np.ndarray:
    """``plan_revenue_vectorised`` in whole cents (floats): the simulation sums cents and
    converts the small totals, saving a pass over the big arrays."""
    return plan_cents_parts(plan, metrics, seat_price).total


def plan_cents_parts(
    plan: Plan, metrics: Mapping[str, np.ndarray], seat_price: np.ndarray, periods: Periods | None = None
) -> PlanCentsParts:
    """``plan_cents_vectorised`` with the commitment's breakage and overage per cell;
    ``periods`` places 3-D months in each account's periods (default: `Periods.fresh`)."""
    lines = [charge_cents_vectorised(charge, metrics, seat_price) for charge in plan.charges]
    total = lines[0] if lines else np.zeros(metrics[Metric.TASKS.value].shape)
    for line in lines[1:]:
        total += line
    if plan.cap > 0:
        np.minimum(total, float(plan.cap) * 100.0, out=total)
    breakage = overage = np.zeros((1,) * total.ndim)
    if plan.commitment is not None:
        walk = commitment_walk(plan.commitment, total, periods)
        total, breakage, overage = walk.billed, walk.breakage, walk.overage
    if plan.platform_fee > 0:
        total += float(plan.platform_fee) * 100.0
    if plan.minimum > 0:
        np.maximum(total, float(plan.minimum) * 100.0, out=total)
    return PlanCentsParts(total, breakage, overage)


def commitment_breakage_cents(c: Commitment, usage: np.ndarray) -> np.ndarray:
    """Breakage (cents) per cell of usage after the cap, in the month a period ends."""
    return commitment_walk(c, usage).breakage


def _columns(mask: np.ndarray) -> slice | np.ndarray | None:
    """The accounts a mask selects: None for none, a full slice for all, else their indexes."""
    if mask.all():
        return slice(None)
    picked = np.flatnonzero(mask)
    return picked if picked.size else None


@dataclass(frozen=True)
class CommitmentWalk:
    """A commitment over usage after the cap (cents): what is billed (commitment line plus
    usage beyond the balance), the breakage, the overage, and the state after the last month."""

    billed: np.ndarray
    breakage: np.ndarray
    overage: np.ndarray
    balance: np.ndarray  # per (scenario, account) after the last month
    carry: np.ndarray


def commitment_walk(c: Commitment, usage: np.ndarray, periods: Periods | None = None) -> CommitmentWalk:
    """The commitment stage (DESIGN 10) on usage after the cap, in cents (floats)."""
    amount = float(c.amount) * 100.0
    cap = round(float(c.rollover_max_pct) * float(c.amount) * 100.0) if c.rollover else 0.0
    if usage.ndim != 3:  # each cell a period's first month
        overage = np.maximum(usage - amount, 0.0)
        breakage = np.maximum(amount - usage, 0.0) if c.months == 1 else np.zeros_like(usage)
        if c.months == 1 and c.rollover:
            breakage = np.maximum(breakage - cap, 0.0)
        return CommitmentWalk(amount + overage, breakage, overage, np.zeros(0), np.zeros(0))
    p = periods if periods is not None else Periods.fresh(usage.shape[1])
    billed = np.empty_like(usage)
    breakage = np.zeros_like(usage)
    overage = np.empty_like(usage)
    balance = np.broadcast_to(p.balance[None, :], usage.shape[:2]).astype(np.float64)
    carry = np.broadcast_to(p.carry[None, :], usage.shape[:2]).astype(np.float64)
    for m in range(usage.shape[2]):
        rel = p.offset + m  # months since each account's first charged month
        charged = rel >= 0
        position = rel % c.months
        # Only the accounts opening or closing a period this month are touched (a small share;
        # all of them, as a slice without copies, when every account is in step).
        new = _columns(charged & (position == 0))
        end = _columns(charged & (position == c.months - 1))
        if new is not None:
            balance[:, new] = carry[:, new] + amount
            carry[:, new] = 0.0
        month_usage = usage[:, :, m]
        drawn = np.minimum(month_usage, balance)  # 0 before the start: no balance yet
        balance -= drawn
        beyond = month_usage - drawn
        billed[:, :, m] = beyond
        if new is not None:
            billed[:, new, m] += amount
        if not charged.all():
            beyond *= charged[None, :]
        overage[:, :, m] = beyond
        if end is not None:
            kept = np.minimum(balance[:, end], cap)
            breakage[:, end, m] = balance[:, end] - kept
            carry[:, end] = kept
            balance[:, end] = 0.0
    return CommitmentWalk(billed, breakage, overage, balance, carry)
