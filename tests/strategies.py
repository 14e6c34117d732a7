"""Hypothesis strategies shared by test modules: random definitions of "resolved",
random plans (every charge kind and tier mode) and random usage arrays."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import strategies as st

from outcome_pricing.kit.money import MICRO
from outcome_pricing.pricing.charges import UsageArrays
from outcome_pricing.pricing.terms import Charge, Metric, Mode, Plan, Tier
from outcome_pricing.rules import Definition

# ----------------------------------------------------------------------------- definitions
# On the cube grid, and off it (answered from tasks).
HOURS = [0, 1, 2, 3, 4, 24, 720, 5, 1.5, 10_000]

def definitions_over(hours: list[float], partial_credit: list[float], **more: st.SearchStrategy[object]
                     ) -> st.SearchStrategy[Definition]:
    """Random definitions whose hour knobs come from `hours`; `more` draws further knobs."""
    return st.builds(
        Definition,
        assumed_resolution=st.booleans(),
        silence_hours=st.sampled_from(hours),
        require_verification=st.booleans(),
        handoff=st.sampled_from(["never", "with_context", "always"]),
        partial_credit=st.sampled_from(partial_credit),
        reopen_window_hours=st.sampled_from(hours),
        min_csat=st.integers(0, 5),
        count_corrected_errors=st.booleans(),
        **more,
    )


definitions = definitions_over(HOURS, [0.0, 0.1, 0.3, 1.0], unit=st.sampled_from(["conversation", "issue"]))

# ----------------------------------------------------------------------------- plans and usage
prices = st.decimals(min_value=0, max_value=500, places=6, allow_nan=False, allow_infinity=False)
amounts = st.decimals(min_value=0, max_value=5000, places=2, allow_nan=False, allow_infinity=False)
bounds = st.decimals(min_value=Decimal("0.5"), max_value=100000, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def charges(draw: st.DrawFn) -> Charge:
    metric = draw(st.sampled_from(list(Metric)))
    base = Charge(
        metric,
        included=draw(st.one_of(st.just(Decimal(0)), st.decimals(0, 2000, places=3))),
        hours_per_seat=draw(st.decimals(Decimal("0.5"), 200, places=3)),
    )
    kind = draw(st.sampled_from(["flat", "account", "tiers"]))
    if kind == "flat":
        return Charge(**{**base.__dict__, "price": draw(prices)})
    if kind == "account":
        return Charge(**{**base.__dict__, "account_price": True})
    ups = sorted(set(draw(st.lists(bounds, min_size=0, max_size=3))))
    tier_prices = draw(st.lists(prices, min_size=len(ups) + 1, max_size=len(ups) + 1))
    tiers = tuple(Tier(u, p) for u, p in zip([*ups, None], tier_prices, strict=True))
    return Charge(**{**base.__dict__, "tiers": tiers, "mode": draw(st.sampled_from(list(Mode)))})


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    return Plan(
        "random",
        platform_fee=draw(amounts),
        minimum=draw(st.one_of(st.just(Decimal(0)), amounts)),
        cap=draw(st.one_of(st.just(Decimal(0)), amounts)),
        charges=tuple(draw(st.lists(charges(), max_size=3))),
    )


@st.composite
def usages(draw: st.DrawFn, big: bool = False) -> UsageArrays:
    n = draw(st.integers(1, 6))
    top = 10**18 if big else 10**11  # big: beyond int64 products, exercises the exact fallback
    col = st.lists(st.integers(0, top), min_size=n, max_size=n)
    micro = {m: np.array(draw(col), dtype=np.int64) for m in Metric if m is not Metric.SEATS_NEEDED}
    human_ms = np.array(draw(st.lists(st.integers(0, 10**10), min_size=n, max_size=n)), dtype=np.int64)
    seat_price = np.array(draw(st.lists(st.integers(0, 500 * MICRO), min_size=n, max_size=n)), dtype=np.int64)
    return UsageArrays(micro, human_ms, seat_price)
