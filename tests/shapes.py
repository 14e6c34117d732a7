"""Hypothesis strategies for the charge shapes of DESIGN 10: tiers with flat fees, blocks,
prices by dimension, prepaid commitments; and usage of several accounts over consecutive
months (with dimension splits) for the terms that span months."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import strategies as st

from outcome_pricing.kit.money import MICRO
from outcome_pricing.pricing.terms import (
    BY_METRICS,
    Charge,
    Commitment,
    Dimension,
    Metric,
    Mode,
    Plan,
    Tier,
)
from outcome_pricing.pricing.usage import BySplit, UsageArrays, by_key

prices = st.decimals(min_value=0, max_value=500, places=6, allow_nan=False, allow_infinity=False)
flats = st.one_of(st.just(Decimal(0)), st.decimals(min_value=0, max_value=300, places=6))
amounts = st.decimals(min_value=0, max_value=5000, places=2, allow_nan=False, allow_infinity=False)
bounds = st.decimals(min_value=Decimal("0.5"), max_value=100000, places=3, allow_nan=False, allow_infinity=False)
blocks = st.one_of(st.none(), st.decimals(min_value=Decimal("0.001"), max_value=5000, places=3))
VALUES = ("standard", "advanced", "chat", "email", "x", "")  # '' = missing or empty


@st.composite
def tiered(draw: st.DrawFn, metric: Metric) -> Charge:
    ups = sorted(set(draw(st.lists(bounds, min_size=0, max_size=3))))
    tier_prices = draw(st.lists(prices, min_size=len(ups) + 1, max_size=len(ups) + 1))
    tier_flats = draw(st.lists(flats, min_size=len(ups) + 1, max_size=len(ups) + 1))
    tiers = tuple(Tier(u, p, f) for u, p, f in zip([*ups, None], tier_prices, tier_flats, strict=True))
    return Charge(
        metric,
        included=draw(st.one_of(st.just(Decimal(0)), st.decimals(0, 2000, places=3))),
        tiers=tiers,
        mode=draw(st.sampled_from(list(Mode))),
        block=draw(blocks),
        hours_per_seat=draw(st.decimals(Decimal("0.5"), 200, places=3)),
    )


@st.composite
def shaped_charges(draw: st.DrawFn) -> Charge:
    kind = draw(st.sampled_from(["tiers", "flat_block", "by"]))
    if kind == "by":
        metric = Metric(draw(st.sampled_from(sorted(BY_METRICS))))
        listed = draw(st.lists(st.sampled_from(VALUES[:-1]), unique=True, max_size=3))
        price_list = [(v, draw(prices)) for v in sorted(listed)]
        return Charge(metric, by=draw(st.sampled_from(list(Dimension))),
                      prices=(*price_list, ("default", draw(prices))))
    metric = draw(st.sampled_from([m for m in Metric if m is not Metric.SEATS]))
    if kind == "flat_block":
        return Charge(metric, included=draw(st.one_of(st.just(Decimal(0)), st.decimals(0, 2000, places=3))),
                      price=draw(prices), block=draw(st.decimals(min_value=Decimal("0.001"), max_value=5000, places=3)),
                      hours_per_seat=draw(st.decimals(Decimal("0.5"), 200, places=3)))
    return draw(tiered(metric))


@st.composite
def commitments(draw: st.DrawFn) -> Commitment:
    rollover = draw(st.booleans())
    return Commitment(
        amount=draw(st.decimals(min_value=Decimal("0.01"), max_value=5000, places=2)),
        months=draw(st.integers(1, 5)),
        rollover=rollover,
        rollover_max_pct=draw(st.decimals(0, 1, places=4)) if rollover else Decimal(1),
    )


def _one_split_per_metric(charges: list[Charge]) -> tuple[Charge, ...]:
    """Real splits of one metric by two dimensions have the same total; keep one per metric."""
    seen: set[Metric] = set()
    kept = []
    for c in charges:
        if c.by is not None:
            if c.metric in seen:
                continue
            seen.add(c.metric)
        kept.append(c)
    return tuple(kept)


@st.composite
def shaped_plans(draw: st.DrawFn, commitment: bool | None = None) -> Plan:
    with_commitment = draw(st.booleans()) if commitment is None else commitment
    return Plan(
        "shaped",
        platform_fee=draw(amounts),
        minimum=Decimal(0) if with_commitment else draw(st.one_of(st.just(Decimal(0)), amounts)),
        cap=draw(st.one_of(st.just(Decimal(0)), amounts)),
        charges=_one_split_per_metric(draw(st.lists(shaped_charges(), min_size=1, max_size=3))),
        commitment=draw(commitments()) if with_commitment else None,
    )


@st.composite
def account_months(draw: st.DrawFn, plan: Plan, big: bool = False) -> UsageArrays:
    """Usage of 1-3 accounts over consecutive months (each from its own first month to a
    common last month, across a year end), with the splits ``plan``'s charges read."""
    last = 2026 * 12 + draw(st.integers(0, 3))  # Jan..Apr 2026
    starts = draw(st.lists(st.integers(last - 14, last), min_size=1, max_size=3))
    account = np.array([a for a, s in enumerate(starts) for _ in range(s, last + 1)], dtype=np.int64)
    month = np.array([m for s in starts for m in range(s, last + 1)], dtype=np.int64)
    start = np.array([s for s in starts for _ in range(s, last + 1)], dtype=np.int64)
    n = len(month)
    top = 10**15 if big else 5 * 10**9
    col = st.lists(st.integers(0, top), min_size=n, max_size=n)
    micro = {m: np.array(draw(col), dtype=np.int64) for m in Metric if m is not Metric.SEATS_NEEDED}
    splits = {}
    for c in plan.charges:
        if c.by is not None:
            values = tuple(draw(st.lists(st.sampled_from(VALUES), unique=True, min_size=1, max_size=4)))
            matrix = np.array(draw(st.lists(st.lists(st.integers(0, top), min_size=len(values), max_size=len(values)),
                                            min_size=n, max_size=n)), dtype=np.int64)
            splits[by_key(c)] = BySplit(values, matrix)
            micro[c.metric] = matrix.sum(axis=1)  # the metric is the sum of its values
    human_ms = np.array(draw(st.lists(st.integers(0, 10**10), min_size=n, max_size=n)), dtype=np.int64)
    seat_price = np.array(draw(st.lists(st.integers(0, 500 * MICRO), min_size=n, max_size=n)), dtype=np.int64)
    return UsageArrays(micro, human_ms, seat_price, by=splits, account=account, month=month, start=start)


@st.composite
def plan_and_usage(draw: st.DrawFn, commitment: bool | None = None, big: bool = False) -> tuple[Plan, UsageArrays]:
    plan = draw(shaped_plans(commitment))
    return plan, draw(account_months(plan, big))
