"""The ROI case bills the plan month by month: fixed charges are not scaled by volume.

Issue 14: "a $1,000/month fee costs 12,000 / 9,930 / 8,216 over three years,
and a $100/month cap bills 1,200 / 1,800 / 2,700". Here each projected month
is billed with the plan's own arithmetic, checked against hand figures and a
slow plain-Python bill on random plans.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcome_pricing.analysis import roi
from outcome_pricing.analysis.roi.spend import Scope, SpendModel, UsageRates
from outcome_pricing.pricing.terms import Charge, Metric, Mode, Plan, Tier

RATES = UsageRates(outcomes=0.5, input_tokens_m=0.0, output_tokens_m=0.0, ai_tasks=1_000, scope=Scope.ACCOUNT)
PER_OUTCOME = Charge(Metric.OUTCOMES, price=Decimal("0.99"))


def billed_case(plan: Plan, volume: float = 10_000, growth: float = 0.25, years: int = 3,
                **entered: float) -> roi.RoiCase:
    """A case whose AI spend is ``plan`` billed, at 0.5 outcomes per task, growing 25% a year."""
    values = {"monthly_volume": volume, "volume_growth": growth, "minutes_saved_per_task": 3.0, **entered}
    assumptions = {k: roi.entered(k, v) for k, v in values.items()}
    # measured (not entered): the plan is billed; its value is only what a person reads
    assumptions.setdefault("ai_spend_per_task", roi.Assumption("ai_spend_per_task", 0.1, roi.Source.MEASURED))
    model = SpendModel(plan, RATES, ai_minutes=2.0, baseline_minutes=5.0)
    return roi.build_case(assumptions, subject="ACME", plan=plan.name, years=years, spend=model)


def ai_spend(case: roi.RoiCase) -> tuple[float, ...]:
    return next(ln.gross for ln in case.flows.lines if ln.key == "ai_spend")


class TestFixedChargesAreBilledNotScaled:
    def test_a_thousand_dollar_monthly_fee_costs_twelve_thousand_every_year(self) -> None:
        case = billed_case(Plan("fee only", platform_fee=Decimal(1000)))
        assert ai_spend(case) == (0.0, 12_000.0, 12_000.0, 12_000.0)
        assert case.billed

    def test_a_hundred_dollar_cap_bills_twelve_hundred_every_year(self) -> None:
        # 5,000 outcomes a month at $0.99 = $4,950, capped at $100 in every month of every year
        case = billed_case(Plan("capped", cap=Decimal(100), charges=(PER_OUTCOME,)))
        assert ai_spend(case) == (0.0, 1_200.0, 1_200.0, 1_200.0)

    def test_usage_grows_with_volume_but_the_fee_does_not(self) -> None:
        plan = Plan("fee and outcomes", platform_fee=Decimal(1000), charges=(PER_OUTCOME,))
        spend = ai_spend(billed_case(plan, volume=1_000, growth=1.0))
        # year y: 1,000 x 2^(y-1) tasks a month, half of them outcomes at $0.99, plus $1,000
        assert spend == (0.0, 12 * (1000 + 495.0), 12 * (1000 + 990.0), 12 * (1000 + 1980.0))

    def test_a_minimum_tops_up_every_month(self) -> None:
        plan = Plan("minimum", minimum=Decimal(800), charges=(PER_OUTCOME,))
        # 1,000 tasks -> 500 outcomes -> $495 < $800; 4,000 tasks in year 3 -> $1,980
        assert ai_spend(billed_case(plan, volume=1_000, growth=1.0)) == (0.0, 9_600.0, 11_880.0, 23_760.0)

    def test_an_entered_monthly_volume_rebills_the_plan(self) -> None:
        plan = Plan("capped", cap=Decimal(100), charges=(PER_OUTCOME,))
        small = billed_case(plan, volume=100, growth=0.0)  # 50 outcomes = $49.50 a month
        assert ai_spend(small) == (0.0, 594.0, 594.0, 594.0)
        assert ai_spend(billed_case(plan, volume=10_000, growth=0.0))[1] == 1_200.0

    def test_an_entered_price_per_task_replaces_the_bill(self) -> None:
        case = billed_case(Plan("fee only", platform_fee=Decimal(1000)), growth=0.0, ai_spend_per_task=0.5)
        assert not case.billed
        assert ai_spend(case) == (0.0, 60_000.0, 60_000.0, 60_000.0)

    def test_the_tornado_swings_the_bill_not_a_price_per_task(self) -> None:
        case = billed_case(Plan("fee only", platform_fee=Decimal(1000)))
        bar = next(b for b in case.tornado if b.key == "ai_spend_per_task")
        # +/- 20% of a $12,000 yearly bill, discounted at 10% over three years
        pv = sum(12_000 / 1.1**y for y in (1, 2, 3))
        assert bar.npv_at_low - case.npv == pytest.approx(0.2 * pv)
        assert case.npv - bar.npv_at_high == pytest.approx(0.2 * pv)

    def test_tasks_per_month_does_not_move_a_fee_only_bill(self) -> None:
        case = billed_case(Plan("fee only", platform_fee=Decimal(1000)))
        bar = next(b for b in case.tornado if b.key == "monthly_volume")
        labour_only = billed_case(Plan("free"))
        labour_bar = next(b for b in labour_only.tornado if b.key == "monthly_volume")
        assert bar.npv_at_high - bar.npv_at_low == pytest.approx(labour_bar.npv_at_high - labour_bar.npv_at_low)


# ---------------------------------------------------------------------- slow reference
def cents(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def slow_month_bill(plan: Plan, outcomes: Decimal) -> Decimal:
    """One month, written from DESIGN 5 as plainly as possible (one outcomes charge at most)."""
    usage = Decimal(0)
    for c in plan.charges:
        q = max(outcomes - c.included, Decimal(0))
        if not c.tiers:
            amount = q * (c.price or Decimal(0))
        elif c.mode is Mode.VOLUME:
            tier = next(t for t in c.tiers if t.up_to is None or q <= t.up_to)
            amount = q * tier.price
        else:
            amount, low = Decimal(0), Decimal(0)
            for t in c.tiers:
                top = q if t.up_to is None else min(q, t.up_to)
                amount += max(top - low, Decimal(0)) * t.price
                low = t.up_to if t.up_to is not None else low
        usage += cents(amount)
    if plan.cap > 0:
        usage = min(usage, plan.cap)
    total = usage + plan.platform_fee
    return max(total, plan.minimum) if plan.minimum > 0 else total


money = st.integers(0, 5_000).map(Decimal)
prices = st.integers(1, 300).map(lambda c: Decimal(c) / 100)


@st.composite
def outcome_plans(draw: st.DrawFn) -> Plan:
    tiered = draw(st.booleans())
    if tiered:
        bound = draw(st.integers(1, 5_000))
        charge = Charge(Metric.OUTCOMES, included=Decimal(draw(st.integers(0, 200))),
                        tiers=(Tier(Decimal(bound), draw(prices)), Tier(None, draw(prices))),
                        mode=draw(st.sampled_from(list(Mode))))
    else:
        charge = Charge(Metric.OUTCOMES, included=Decimal(draw(st.integers(0, 200))), price=draw(prices))
    return Plan("random", platform_fee=draw(money), minimum=draw(money), cap=draw(money), charges=(charge,))


@settings(max_examples=60, deadline=None)
@given(outcome_plans(), st.integers(0, 40_000), st.sampled_from([-0.3, 0.0, 0.1, 0.5]))
def test_every_year_is_twelve_months_of_the_plain_bill(plan: Plan, volume: int, growth: float) -> None:
    case = billed_case(plan, volume=volume, growth=growth)
    for year, got in enumerate(ai_spend(case)[1:], start=1):
        tasks = volume * (1 + growth) ** (year - 1)
        outcomes = Decimal(str(round(tasks * RATES.outcomes, 6)))
        assert got == pytest.approx(float(12 * slow_month_bill(plan, outcomes)), abs=1e-6)


def test_a_gain_share_bills_its_share_of_the_labour_saved() -> None:
    share = Plan("gain-share", charges=(Charge(Metric.SAVINGS_USD, price=Decimal("0.25")),))
    case = billed_case(share, volume=1_000, growth=0.0, agent_hourly_cost=40.0)
    labour = next(ln.gross for ln in case.flows.lines if ln.key == "labour")
    # 1,000 tasks x 3 minutes / 60 x $40 = $2,000 a month saved; a quarter of it billed
    assert labour[1] == pytest.approx(24_000)
    gain_share = next(ln.gross for ln in case.flows.lines if ln.key == "gain_share")
    assert gain_share == (0.0, 6_000.0, 6_000.0, 6_000.0)
    assert ai_spend(case) == (0.0, 0.0, 0.0, 0.0)  # no fee, no other usage: the share is its own line


def test_a_prepaid_commitment_is_billed_per_period_and_drawn_down() -> None:
    from outcome_pricing.pricing.terms import Commitment

    # $600 every 3 months, drawn down by $0.99 outcomes
    plan = Plan("committed", charges=(PER_OUTCOME,), commitment=Commitment(Decimal(600), 3))
    # 100 tasks -> 50 outcomes = $49.50 a month, all drawn from the $600: the customer pays the
    # commitment, $2,400 a year (the unused rest expires), not 12 x $49.50
    small = billed_case(plan, volume=100, growth=0.0)
    assert [y.costs for y in small.flows.years][1:] == [2_400.0] * 3
    assert ai_spend(small)[1:] == (0.0,) * 3  # the commitment is a line of its own (tests/test_roi_deals.py)
    # 1,000 tasks: $495 a month, $1,485 a quarter: $600 drawn, $885 beyond it billed
    big = billed_case(plan, volume=1_000, growth=0.0)
    assert [y.costs for y in big.flows.years][1:] == [4 * (600.0 + 885)] * 3
