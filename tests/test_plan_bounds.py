"""Issue 13, plans: every plan value has a bound, refused at load naming plan, charge and
key; a deeply nested TOML array is refused with a message (not RecursionError); and for
every plan that loads, the Decimal statement and the integer-cent backtest agree to the
cent (or refuse alike) on usage within the data contract's bounds."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.money import MICRO
from outcome_pricing.pricing import bounds
from outcome_pricing.pricing.cents import plan_cents
from outcome_pricing.pricing.charges import bill, bill_total
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import Charge, Metric, Mode, Plan, Tier
from outcome_pricing.pricing.usage import UsageArrays
from outcome_pricing.rules import Definition

PLAN = """
[[plans]]
name = "hostile"
platform_fee = {fee}
minimum = 0
cap = 0
  [[plans.charges]]
  metric = "outcomes"
  included = {included}
  price = {price}
[costs]
per_ai_task = {cost}
input_per_million = {{ default = {cost} }}
"""


def plan_text(fee: str = "0", included: str = "0", price: str = "0.99", cost: str = "0.01") -> str:
    return PLAN.format(fee=fee, included=included, price=price, cost=cost)


class TestHostilePlansAreRefused:
    @pytest.mark.parametrize(
        ("values", "key"),
        [
            ({"price": "1e20"}, "price"),
            ({"price": "1e308"}, "price"),
            ({"price": "nan"}, "price"),
            ({"price": "inf"}, "price"),
            ({"price": "-0.5"}, "price"),
            ({"fee": "1e20"}, "platform_fee"),
            ({"fee": "inf"}, "platform_fee"),
            ({"included": "1e300"}, "included"),
            ({"included": "-1"}, "included"),
        ],
    )
    def test_out_of_bounds_values_name_plan_charge_and_key(self, values: dict[str, str], key: str) -> None:
        with pytest.raises(ConfigError) as err:
            PlanSet.from_toml_text(plan_text(**values), source="plans.toml")
        message = str(err.value)
        assert message.startswith("plans.toml: plan 'hostile'") and f"key '{key}'" in message
        if key != "platform_fee":
            assert "charge 1 (outcomes)" in message

    @pytest.mark.parametrize("cost", ["1e300", "nan", "-1"])
    def test_costs_out_of_bounds_are_refused(self, cost: str) -> None:
        with pytest.raises(ConfigError, match=r"\[costs\]"):
            PlanSet.from_toml_text(plan_text(cost=cost), source="plans.toml")

    @pytest.mark.parametrize(
        ("charge", "key"),
        [
            ('metric = "outcomes"\ntiers = [ { up_to = 1e13, price = 1 }, { price = 1 } ]', "up_to"),
            ('metric = "outcomes"\ntiers = [ { price = 1, flat = 1e10 } ]', "flat"),
            ('metric = "outcomes"\nprice = 1\nblock = 1e13', "block"),
            ('metric = "outcomes"\nprice = 1\nblock = 0', "block"),
            ('metric = "outcomes"\nby = "model_tier"\nprices = { default = 1e7 }', "default"),
            ('metric = "seats_needed"\nprice = 1\nhours_per_seat = 1e9', "hours_per_seat"),
        ],
    )
    def test_every_charge_value_has_a_bound(self, charge: str, key: str) -> None:
        text = f'[[plans]]\nname = "hostile"\n[[plans.charges]]\n{charge}\n'
        with pytest.raises(ConfigError, match=f"plan 'hostile', charge 1 .*key '{key}'"):
            PlanSet.from_toml_text(text, source="plans.toml")

    @pytest.mark.parametrize(
        ("table", "key"),
        [("amount = 1e20\nmonths = 3", "amount"), ("amount = 100\nmonths = 1000", "months"),
         ("amount = 100\nmonths = 3\nrollover = true\nrollover_max_pct = 2", "rollover_max_pct")],
    )
    def test_commitment_values_have_bounds(self, table: str, key: str) -> None:
        text = f'[[plans]]\nname = "hostile"\n[plans.commitment]\n{table}\n[[plans.charges]]\nmetric = "tasks"\nprice = 1\n'
        with pytest.raises(ConfigError, match=f"plan 'hostile', commitment, key '{key}'"):
            PlanSet.from_toml_text(text, source="plans.toml")

    def test_too_many_tiers_are_refused(self) -> None:
        tiers = ", ".join(f"{{ up_to = {i + 1}, price = 1 }}" for i in range(bounds.MAX_TIERS + 1))
        text = f'[[plans]]\nname = "h"\n[[plans.charges]]\nmetric = "tasks"\ntiers = [ {tiers}, {{ price = 1 }} ]\n'
        with pytest.raises(ConfigError, match="at most 100"):
            PlanSet.from_toml_text(text, source="plans.toml")

    @pytest.mark.parametrize("depth", [5000, 40])
    def test_a_deeply_nested_array_is_refused_with_a_message(self, depth: int) -> None:
        text = "plans = " + "[" * depth + "]" * depth
        with pytest.raises(ConfigError, match="nested more than 32 levels"):
            PlanSet.from_toml_text(text, source="plans.toml")
        with pytest.raises(ConfigError, match="nested more than 32 levels"):
            Definition.from_toml_text("name = 'x'\nx = " + "[" * depth + "]" * depth, source="def.toml")


# ============================================================================ within bounds: the paths agree
def _top(x: Decimal) -> st.SearchStrategy[Decimal]:
    return st.one_of(st.decimals(0, 10, places=6), st.decimals(0, x, places=6))


@st.composite
def bounded_plans(draw: st.DrawFn) -> Plan:
    """Any plan at the edges of the bounds (prices to 1e6, fees to 1e9, quantities to 1e12)."""
    charges = []
    for _ in range(draw(st.integers(1, 3))):
        metric = draw(st.sampled_from([m for m in Metric if m not in (Metric.SEATS, Metric.SEATS_NEEDED)]))
        included = draw(_top(bounds.MAX_QUANTITY))
        block = draw(st.one_of(st.none(), st.decimals(Decimal("0.000001"), bounds.MAX_QUANTITY, places=6)))
        if draw(st.booleans()):
            charges.append(Charge(metric, included=included, price=draw(_top(bounds.MAX_PRICE)), block=block))
            continue
        ups = sorted(set(draw(st.lists(st.decimals(Decimal("0.000001"), bounds.MAX_QUANTITY, places=6), max_size=3))))
        tiers = tuple(Tier(u, draw(_top(bounds.MAX_PRICE)), draw(_top(bounds.MAX_FEE))) for u in [*ups, None])
        charges.append(Charge(metric, included=included, tiers=tiers, mode=draw(st.sampled_from(list(Mode))), block=block))
    cents = st.decimals(0, bounds.MAX_FEE, places=2)
    return Plan("edge", platform_fee=draw(cents), minimum=draw(cents), cap=draw(st.one_of(st.just(Decimal(0)), cents)),
                charges=tuple(charges))


@st.composite
def bounded_usage(draw: st.DrawFn) -> UsageArrays:
    """Account-months within the data bounds: up to 1e4 tasks of up to 1e12 tokens and 1e6 issues."""
    n = draw(st.integers(1, 4))
    tasks = st.integers(0, 10**4)
    col = st.lists(st.integers(0, 10**16), min_size=n, max_size=n)
    micro = {m: np.array(draw(col), dtype=np.int64) for m in Metric if m is not Metric.SEATS_NEEDED}
    micro[Metric.TASKS] = np.array(draw(st.lists(tasks, min_size=n, max_size=n)), dtype=np.int64) * MICRO
    micro[Metric.SEATS] = np.zeros(n, dtype=np.int64)
    return UsageArrays(micro, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64))


class TestWithinBoundsThePathsAgree:
    @settings(max_examples=120, deadline=None)
    @given(bounded_plans(), bounded_usage())
    def test_statement_and_backtest_agree_to_the_cent_or_refuse_alike(self, plan: Plan, usage: UsageArrays) -> None:
        exact: list[int | None] = []
        for i in range(len(usage)):
            try:
                exact.append(int(bill_total(bill(plan, usage.row(i))) * 100))
            except ConfigError:
                exact.append(None)
        try:
            fast = plan_cents(plan, usage).total.tolist()
        except ConfigError as err:
            assert None in exact, "the backtest refused what every statement bills"
            assert "beyond what billing holds" in str(err)
            return
        assert fast == exact

    def test_the_largest_bounded_plan_on_a_large_month_is_exact(self) -> None:
        plan = Plan("edge", platform_fee=bounds.MAX_FEE, charges=(
            Charge(Metric.OUTCOMES, tiers=(Tier(bounds.MAX_QUANTITY, bounds.MAX_PRICE, bounds.MAX_FEE),
                                           Tier(None, Decimal("0.000001"), bounds.MAX_FEE))),))
        micro = {m: np.zeros(1, dtype=np.int64) for m in Metric if m is not Metric.SEATS_NEEDED}
        micro[Metric.OUTCOMES] = np.array([10**7 * MICRO], dtype=np.int64)  # 1e7 outcomes in a month
        usage = UsageArrays(micro, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))
        expected = 10**7 * 10**6 + 10**9 + 10**9  # units x price + flat + fee, in dollars
        assert bill_total(bill(plan, usage.row(0))) == expected
        assert int(plan_cents(plan, usage).total[0]) == expected * 100
