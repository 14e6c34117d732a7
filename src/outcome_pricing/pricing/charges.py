"""The charge arithmetic of DESIGN sections 5 and 10, exact: Decimal lines for one
account-month (statements). The same rules run as integer-cent arrays for many
account-months (`cents.py`, the backtest) and as floats for simulations
(`simulate.py`); hypothesis tests check all three agree.

For one account-month and one plan, in the line order of DESIGN 11:

* quantity q = max(metric - included, 0); with ``block = B``, q becomes
  ceil(q / B) blocks and prices and tier bounds count blocks;
* flat: q x price; graduated: each band (previous up_to, up_to] of q at its
  own price, plus the ``flat`` of every band q reaches (q > previous up_to);
  volume: all of q at the price of the band q falls in, plus that band's flat
  (q = 0 reaches no band); ``up_to`` inclusive; the last tier has no bound;
* priced ``by`` a dimension: one line per listed value and one `default` line
  for every other value, each flat per unit;
* each charge line is rounded half up to cents;
* if cap > 0 the usage lines are limited to cap by a ``cap`` credit line;
* the platform fee is a line; if minimum > 0 and the total is below it, a
  ``minimum true-up`` line brings it up to the minimum;
* then the terms that span months (`spanning.py`): a prepaid commitment's
  line and its drawdown credit;
* total = sum of lines.

WHERE MONTH-SPANNING TERMS GO: `bill` prices one month on its own (a month with a
commitment is priced as the first month of a period). Terms whose lines depend on
other months (the prepaid commitment of DESIGN 10; the charge start, free months and
guarantee of DESIGN 11) are stages in `spanning.py`, run over one account's months in
order after these lines (`spanning.span_account` exact; `spanning.commitment_cents`
vectorised), each stage taking the lines so far and the account's first charged month.

Decimal arithmetic runs with 60 significant digits (`EXACT`): every product of a
bounded plan value (pricing/bounds.py) and a bounded quantity is exact.
"""

from __future__ import annotations

from decimal import Decimal

from outcome_pricing.kit.money import ceil_decimal, price_text, round_half_up
from outcome_pricing.pricing.cents import PlanCents, charge_cents, plan_cents
from outcome_pricing.pricing.deals.gainshare import is_measured_savings, savings_line
from outcome_pricing.pricing.lines import EXACT, Band, Line, checked, total
from outcome_pricing.pricing.simulate import (
    charge_cents_vectorised,
    plan_cents_vectorised,
    plan_revenue_vectorised,
)
from outcome_pricing.pricing.spanning import span_account
from outcome_pricing.pricing.terms import (
    DEFAULT_PRICE_KEY,
    DIMENSION_WORDS,
    Charge,
    LineKind,
    Mode,
    Plan,
)
from outcome_pricing.pricing.usage import (
    MS_PER_HOUR,
    Usage,
    UsageArrays,
    seats_needed,
    seats_needed_array,
)

__all__ = [
    "EXACT", "MS_PER_HOUR", "Band", "Line", "PlanCents", "Usage", "UsageArrays", "bill", "bill_total",
    "charge_cents", "charge_cents_vectorised", "charge_line", "charge_lines", "month_lines", "plan_cents",
    "plan_cents_vectorised", "plan_revenue_vectorised", "seats_needed", "seats_needed_array",
]


def charge_line(charge: Charge, usage: Usage) -> Line:
    """Price one charge (not priced by dimension) for one account-month, exactly."""
    if charge.by is not None:
        raise ValueError("a charge priced by dimension has one line per value: use charge_lines")
    quantity = usage.metric(charge)
    billable = max(EXACT.subtract(quantity, charge.included), Decimal(0))
    blocks = None
    units = billable
    if charge.block is not None:
        blocks = units = ceil_decimal(EXACT.divide(billable, charge.block))
    bands = _bands(charge, units, usage.seat_price)
    return Line(
        kind=LineKind.CHARGE,
        name=charge.name,
        amount=checked(round_half_up(sum((b.amount for b in bands), Decimal(0))), f"charge {charge.name!r}"),
        metric=charge.metric,
        quantity=quantity,
        included=charge.included,
        billable=billable,
        unit_price=price_text(usage.seat_price) if charge.account_price else charge.price_text(),
        bands=bands,
        blocks=blocks,
    )


def _by_line(charge: Charge, value: str, quantity: Decimal) -> Line:
    assert charge.by is not None
    price = charge.price_of(value)
    words = DIMENSION_WORDS[charge.by.value]
    label = f"{words} {value}" if value != DEFAULT_PRICE_KEY else f"every other {words} (default price)"
    return Line(
        kind=LineKind.CHARGE,
        name=f"{charge.name}, {label}",
        amount=checked(round_half_up(EXACT.multiply(quantity, price)), f"charge {charge.name!r}"),
        metric=charge.metric,
        quantity=quantity,
        billable=quantity,
        unit_price=price_text(price),
        bands=(Band(Decimal(0), None, quantity, price),),
    )


def charge_lines(charge: Charge, usage: Usage) -> tuple[Line, ...]:
    """A charge's lines for one account-month: one, or one per value when priced by dimension."""
    if charge.by is None:
        return (charge_line(charge, usage),)
    return tuple(_by_line(charge, v, q) for v, q in usage.by_quantities(charge))


def _bands(charge: Charge, q: Decimal, seat_price: Decimal) -> tuple[Band, ...]:
    if not charge.tiers:
        price = seat_price if charge.account_price else (charge.price or Decimal(0))
        return (Band(Decimal(0), None, q, price),)
    if charge.mode is Mode.VOLUME:
        low = Decimal(0)
        for tier in charge.tiers:
            if tier.up_to is None or q <= tier.up_to:
                # q = 0 reaches no band: no flat fee.
                return (Band(low, tier.up_to, q, tier.price, tier.flat if q > 0 else Decimal(0)),)
            low = tier.up_to
        raise AssertionError("the last tier has no bound")  # pragma: no cover
    bands = []
    low = Decimal(0)
    for tier in charge.tiers:
        top = q if tier.up_to is None else min(q, tier.up_to)
        reached = q > low
        bands.append(Band(low, tier.up_to, max(top - low, Decimal(0)), tier.price, tier.flat if reached else Decimal(0)))
        if tier.up_to is None:
            break
        low = tier.up_to
    return tuple(bands)


def month_lines(plan: Plan, usage: Usage) -> tuple[Line, ...]:
    """One month's lines before the terms that span months: usage lines, cap credit,
    platform fee, minimum true-up (DESIGN 11 order)."""
    default = plan.deal.hourly_cost_default  # gain-share (DESIGN 11) is priced exactly in deals.gainshare
    lines = [line for c in plan.charges for line in (
        (savings_line(c, usage, default),) if is_measured_savings(c, usage.saved_ms) else charge_lines(c, usage))]
    used = checked(sum((line.amount for line in lines), Decimal(0)), f"plan {plan.name!r}")
    if plan.cap > 0 and used > plan.cap:
        lines.append(Line(LineKind.CAP, f"cap on usage at {price_text(plan.cap)} a month", plan.cap - used))
    if plan.platform_fee > 0:
        lines.append(Line(LineKind.PLATFORM_FEE, "platform fee", plan.platform_fee))
    total = sum((line.amount for line in lines), Decimal(0))
    if plan.minimum > 0 and total < plan.minimum:
        lines.append(Line(LineKind.MINIMUM, f"minimum true-up to {price_text(plan.minimum)}", plan.minimum - total))
    return tuple(lines)


def bill(plan: Plan, usage: Usage) -> tuple[Line, ...]:
    """Every line of one account-month's bill under ``plan``; the total is their sum.

    The month is priced on its own: with a commitment, as the first month of a
    period with nothing carried over (a statement prices the account's months in
    order through `spanning.span_account`).
    """
    return span_account(plan, [(0, month_lines(plan, usage))], start=0)[0].lines


def bill_total(lines: tuple[Line, ...]) -> Decimal:
    return total(lines)
