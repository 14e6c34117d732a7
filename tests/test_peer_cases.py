"""Peers' published billing cases, written as our plans and billed by both exact paths.

Each case cites where it comes from; amounts are as the peer's own test suite or docs
state them. Lago prices in cents in the older specs (we write them as dollars / 100);
Kill Bill's block tiers with one block size per charge map to `block` with tiers that
count blocks (tiers with different block sizes are not expressible: one block per charge).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from outcome_pricing.kit.money import MICRO
from outcome_pricing.pricing.cents import plan_cents
from outcome_pricing.pricing.charges import bill, bill_total
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import Metric, Plan
from outcome_pricing.pricing.usage import Usage, UsageArrays

D = Decimal


def plan_of(charges: str) -> Plan:
    return PlanSet.from_toml_text(f'[[plans]]\nname = "peer"\n{charges}', source="peer case").plans[0]


def billed(plan: Plan, **quantities: int) -> Decimal:
    """One month's total, by the Decimal statement and the integer-cent backtest (must agree)."""
    usage = Usage({Metric(k): D(v) for k, v in quantities.items()})
    micro = {m: np.array([int(usage.quantities.get(m, D(0)) * MICRO)], dtype=np.int64) for m in Metric if m is not Metric.SEATS_NEEDED}
    fast = int(plan_cents(plan, UsageArrays(micro, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))).total[0])
    exact = bill_total(bill(plan, usage))
    assert int(exact * 100) == fast
    return exact


# ---------------------------------------------------------------------------- Lago
# getlago/lago-api spec/services/charges/charge_models/graduated_service_spec.rb (cents version):
# ranges 0-10 at 10c + 2c flat, 11+ at 5c + 3c flat.
LAGO_GRADUATED_CENTS = plan_of("""
[[plans.charges]]
metric = "tasks"
tiers = [ { up_to = 10, price = 0.10, flat = 0.02 }, { price = 0.05, flat = 0.03 } ]
""")

# The same spec, later version: 0-10 at 10 + 2 flat, 11-20 at 5 + 3 flat, 21+ at 5 + 3 flat.
LAGO_GRADUATED = plan_of("""
[[plans.charges]]
metric = "tasks"
tiers = [ { up_to = 10, price = 10, flat = 2 }, { up_to = 20, price = 5, flat = 3 }, { price = 5, flat = 3 } ]
""")

# spec/services/charges/charge_models/volume_service_spec.rb:
# 0-100 at 2 + 10 flat, 101-200 at 1 + 0 flat, 201+ at 0.5 + 50 flat.
LAGO_VOLUME = plan_of("""
[[plans.charges]]
metric = "tasks"
mode = "volume"
tiers = [ { up_to = 100, price = 2, flat = 10 }, { up_to = 200, price = 1, flat = 0 }, { price = 0.5, flat = 50 } ]
""")


def lago_package(free_units: int) -> Plan:
    # spec/services/charges/charge_models/package_service_spec.rb: amount 100 per package of 10.
    return plan_of(f'[[plans.charges]]\nmetric = "tasks"\nincluded = {free_units}\nblock = 10\nprice = 100\n')


class TestLago:
    @pytest.mark.parametrize(("units", "amount"), [(0, "0"), (1, "0.12"), (10, "1.02"), (11, "1.10"), (12, "1.15")])
    def test_graduated_with_flat_amounts_in_cents(self, units: int, amount: str) -> None:
        assert billed(LAGO_GRADUATED_CENTS, tasks=units) == D(amount)

    @pytest.mark.parametrize(("units", "amount"), [(0, 0), (1, 12), (10, 102), (11, 110), (12, 115), (21, 163)])
    def test_graduated_with_flat_amounts(self, units: int, amount: int) -> None:
        assert billed(LAGO_GRADUATED, tasks=units) == amount

    @pytest.mark.parametrize(("units", "amount"), [(0, 0), (1, 12), (100, 210), (101, 101), (200, 200), (300, 200)])
    def test_volume_with_flat_amounts(self, units: int, amount: int) -> None:
        assert billed(LAGO_VOLUME, tasks=units) == amount

    @pytest.mark.parametrize(("free", "units", "amount"), [(0, 121, 1300), (10, 121, 1200), (200, 121, 0)])
    def test_package(self, free: int, units: int, amount: int) -> None:
        assert billed(lago_package(free), tasks=units) == amount


# ---------------------------------------------------------------------------- Kill Bill
# killbill/killbill invoice/src/test/java/org/killbill/billing/invoice/usage/
# TestContiguousIntervalConsumableInArrear.java
class TestKillBill:
    def test_blocks_of_100_at_one_each(self) -> None:
        # testComputeMissingItems: block size 100 at 1; 130 + 271 = 401 units -> 5 blocks; 199 -> 2.
        plan = plan_of('[[plans.charges]]\nmetric = "tasks"\nblock = 100\nprice = 1\n')
        assert billed(plan, tasks=401) == 5
        assert billed(plan, tasks=199) == 2

    def test_two_units_each_in_its_own_blocks(self) -> None:
        # testTobeBilledForUnit: minutes in blocks of 1000 at 0.5 (1000 -> 0.5), megabytes in
        # blocks of 512 at 0.3 (30720 -> 60 blocks -> 18); together 18.5.
        plan = plan_of(
            '[[plans.charges]]\nmetric = "input_tokens_m"\nblock = 1000\nprice = 0.5\n'
            '[[plans.charges]]\nmetric = "output_tokens_m"\nblock = 512\nprice = 0.3\n'
        )
        assert billed(plan, input_tokens_m=1000, output_tokens_m=30720) == D("18.5")

    def test_size_one_blocks_all_tiers(self) -> None:
        # testComputeBilledUsageSizeOneWith_ALL_TIERS: 10 at 1.5, 100 at 1.0, then 0.5;
        # 111 units -> 15.0 + 100.0 + 0.5 = 115.5.
        plan = plan_of('[[plans.charges]]\nmetric = "tasks"\nblock = 1\nmode = "graduated"\n'
                       "tiers = [ { up_to = 10, price = 1.5 }, { up_to = 110, price = 1.0 }, { price = 0.5 } ]\n")
        assert billed(plan, tasks=111) == D("115.5")
        lines = bill(plan, Usage({Metric.TASKS: D(111)}))
        assert [b.quantity * b.price for b in lines[0].bands] == [D("15.0"), D("100.0"), D("0.5")]

    def test_size_one_blocks_top_tier(self) -> None:
        # testComputeBilledUsageSizeOneWith_TOP_TIER: 111 units all at the top tier: 55.5.
        plan = plan_of('[[plans.charges]]\nmetric = "tasks"\nblock = 1\nmode = "volume"\n'
                       "tiers = [ { up_to = 10, price = 1.5 }, { up_to = 110, price = 1.0 }, { price = 0.5 } ]\n")
        assert billed(plan, tasks=111) == D("55.5")


# ---------------------------------------------------------------------------- Stripe
# docs.stripe.com/subscriptions/pricing-models/tiered-pricing (Typographic: 1-5 at 7,
# 6-10 at 6.5, 11+ at 6) and the Price API's tiers.flat_amount: "the flat billing amount
# for an entire tier, regardless of the number of units in the tier".
TYPOGRAPHIC = "tiers = [ { up_to = 5, price = 7 }, { up_to = 10, price = 6.5 }, { price = 6 } ]\n"


class TestStripe:
    @pytest.mark.parametrize(("fonts", "total"), [(1, 7), (5, 35), (6, 39), (20, 120), (25, 150)])
    def test_volume_table_of_the_docs(self, fonts: int, total: int) -> None:
        plan = plan_of(f'[[plans.charges]]\nmetric = "tasks"\nmode = "volume"\n{TYPOGRAPHIC}')
        assert billed(plan, tasks=fonts) == total

    @pytest.mark.parametrize(("fonts", "total"), [(5, "35"), (6, "41.5"), (10, "67.5"), (20, "127.5")])
    def test_graduated_sums_each_tier(self, fonts: int, total: str) -> None:
        plan = plan_of(f'[[plans.charges]]\nmetric = "tasks"\nmode = "graduated"\n{TYPOGRAPHIC}')
        assert billed(plan, tasks=fonts) == D(total)

    @pytest.mark.parametrize(("units", "graduated", "volume"), [(0, 0, 0), (1, 12, 12), (5, 20, 20), (6, 26, 11), (11, 31, 11)])
    def test_flat_amount_of_an_entire_tier(self, units: int, graduated: int, volume: int) -> None:
        # flat_amount 10 on tier 1 (up_to 5, unit 2), 5 on tier 2 (up_to 10, unit 1), 0 above (unit 1).
        tiers = "tiers = [ { up_to = 5, price = 2, flat = 10 }, { up_to = 10, price = 1, flat = 5 }, { price = 1 } ]\n"
        grad = plan_of(f'[[plans.charges]]\nmetric = "tasks"\nmode = "graduated"\n{tiers}')
        vol = plan_of(f'[[plans.charges]]\nmetric = "tasks"\nmode = "volume"\n{tiers}')
        assert billed(grad, tasks=units) == graduated
        assert billed(vol, tasks=units) == volume
