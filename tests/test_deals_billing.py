"""The deal stages in the exact path (statements: one account's months in Decimal) and the
vectorised path (the backtest) agree to the cent on random plans with random deal terms."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcome_pricing.pricing import account_month_metrics, backtest_metrics, example_plans
from outcome_pricing.pricing.deal_terms import ChargeFrom, DealTerms, Guarantee
from outcome_pricing.pricing.deals.billing import account_bills
from outcome_pricing.pricing.lines import total
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import Charge, Commitment, Metric, Plan
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse
from tests.strategies import plans

DEF = Definition.preset("intercom-fin-2026")

deal_terms = st.builds(
    DealTerms,
    charge_from=st.sampled_from(list(ChargeFrom)),
    free_months=st.integers(0, 4),
    implementation_cost=st.sampled_from([Decimal(0), Decimal("1234.56")]),
    hourly_cost_default=st.sampled_from([Decimal(30), Decimal("41.5")]),
    guarantee=st.one_of(st.none(), st.builds(
        Guarantee, min_resolution_rate=st.decimals(0, 1, places=2), window_months=st.integers(1, 4),
        credit_pct=st.decimals(0, 1, places=3),
    )),
)
gain_share = st.one_of(st.none(), st.decimals(Decimal("0.01"), 1, places=3))
commitments = st.one_of(st.none(), st.builds(
    Commitment, amount=st.decimals(1, 3000, places=2), months=st.integers(1, 4), rollover=st.booleans(),
))


def _with_deal(plan: Plan, terms: DealTerms, share: Decimal | None, commitment: Commitment | None = None) -> Plan:
    charges = list(plan.charges)
    if share is not None:
        charges.append(Charge(Metric("savings_usd"), price=share))
    if terms.guarantee is not None and not any(c.metric is Metric.OUTCOMES for c in charges):
        charges.append(Charge(Metric.OUTCOMES, price=Decimal("0.99")))
    # a commitment takes no minimum (DESIGN 10); its periods start at the first charged month
    return Plan(plan.name, platform_fee=plan.platform_fee, minimum=plan.minimum if commitment is None else Decimal(0),
                cap=plan.cap, charges=tuple(charges), deal=terms, commitment=commitment)


def assert_paths_agree(metrics: pd.DataFrame, plan: Plan, every: int = 1) -> None:
    bt = backtest_metrics(metrics, PlanSet((plan,)))
    last = metrics["month"].max()
    accounts = sorted(metrics["account_id"].unique())[::every]
    for account in accounts:
        mask = (metrics["account_id"] == account).to_numpy()
        rows = metrics[mask].reset_index(drop=True)
        exact = account_bills(plan, rows, last)
        fast = bt.frame.loc[mask, "revenue_cents"].tolist()
        assert [int(total(lines) * 100) for lines in exact.lines] == fast, account
        credit = bt.frame.loc[mask, "guarantee_credit"].tolist()
        from_lines = [float(sum((ln.amount for ln in lines if ln.kind.value == "guarantee"), Decimal(0)))
                      for lines in exact.lines]
        assert credit == from_lines, account


@pytest.fixture(scope="module")
def demo_metrics(demo_wh: Warehouse) -> pd.DataFrame:
    return account_month_metrics(demo_wh, DEF, example_plans().costs)


def test_every_example_deal_plan_on_the_demo(demo_metrics: pd.DataFrame) -> None:
    deals = [p for p in example_plans().plans if not p.deal.is_default or
             any(c.metric.value == "savings_usd" for c in p.charges)]
    assert len(deals) >= 2
    for plan in deals:
        assert_paths_agree(demo_metrics, plan)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans(), terms=deal_terms, share=gain_share, commitment=commitments)
def test_random_deals_on_the_demo_history(demo_metrics: pd.DataFrame, plan: Plan, terms: DealTerms,
                                           share: Decimal | None, commitment: Commitment | None) -> None:
    assert_paths_agree(demo_metrics, _with_deal(plan, terms, share, commitment), every=3)
