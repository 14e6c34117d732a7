"""The deal desk's engine: building a deal from a form (validated like a file), both sides of
it for an account and a prospect, and the exports (TOML that loads back, HTML that escapes)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from outcome_pricing.analysis import deal_case as dc
from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing import account_month_metrics, example_plans
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.reports.deal_sheet import deal_sheet_html, terms_toml
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse

FORM = dc.DealForm(base_plan="per-outcome", name="desk", charge_from="go_live", free_months=2,
                   implementation_cost=1500.0, gain_share=0.2, hourly_cost_default=30.0,
                   min_resolution_rate=0.65, window_months=3, credit_pct=1.0)


def test_a_deal_from_the_form_is_a_validated_plan_that_round_trips() -> None:
    planset, plan = dc.build_deal(example_plans(), FORM)
    assert plan.deal.free_months == 2 and plan.deal.implementation_cost == Decimal("1500")
    assert plan.deal.guarantee is not None and plan.deal.guarantee.min_resolution_rate == Decimal("0.65")
    assert [c.metric.value for c in plan.charges] == ["outcomes", "savings_usd"]
    again = PlanSet.from_toml_text(terms_toml(planset, plan)).plan("desk")
    assert again.version == plan.version


def test_a_bad_form_is_refused_naming_the_plan_and_the_key() -> None:
    with pytest.raises(ConfigError, match="deal desk: plan 'desk'.*'min_resolution_rate'"):
        dc.build_deal(example_plans(), dc.DealForm(**{**FORM.__dict__, "min_resolution_rate": 1.3}))
    with pytest.raises(ConfigError, match="plan 'desk'.*guarantee"):  # seats only: nothing to credit
        dc.build_deal(example_plans(), dc.DealForm(**{**FORM.__dict__, "base_plan": "seats-today", "gain_share": 0.0}))


def test_both_sides_on_an_account(demo_wh: Warehouse) -> None:
    planset, plan = dc.build_deal(example_plans(), FORM)
    metrics = account_month_metrics(demo_wh, Definition.preset("intercom-fin-2025"), planset.costs, planset.plans)
    account = dc.account_choices(metrics)[0]
    sides = dc.account_sides(metrics, plan, planset.plan("per-outcome"), account)
    assert sides.implementation == 1500.0 and sides.cogs >= 1500.0
    assert 0 < sides.charged_months < sides.months  # live mid-history, two months free
    assert sides.gain_share == pytest.approx(0.2 * sides.savings, abs=0.01 * sides.charged_months + 0.01)
    assert sides.margin == pytest.approx(sides.revenue - sides.cogs)
    rows = dict(sides.customer_rows())
    assert rows["Savings kept"] == pytest.approx(sides.savings - sides.gain_share)


def test_a_prospect_uses_the_closed_form() -> None:
    planset, plan = dc.build_deal(example_plans(), FORM)
    prospect = dc.Prospect(conversations=100, resolution_rate=0.62, months=12)
    sides = dc.prospect_sides(plan, planset.plan("per-outcome"), prospect)
    p = dc.trigger_probability(300, 0.62, 0.65)
    windows = 3  # months 3..11 after two free months: three complete quarters
    assert sides.trigger_probability == pytest.approx(1 - (1 - p) ** windows)
    assert sides.guarantee_expected == pytest.approx(windows * p * 0.99 * 62 * 3)
    assert sides.charged_months == 10 and math.isclose(sides.implementation, 1500.0)


def test_the_summary_escapes_names(demo_wh: Warehouse) -> None:
    hostile = dc.DealForm(**{**FORM.__dict__, "name": "<script>alert(1)</script>"})
    planset, plan = dc.build_deal(example_plans(), hostile)
    sides = dc.prospect_sides(plan, planset.plan("per-outcome"), dc.Prospect(name="<img src=x onerror=alert(2)>"))
    page = deal_sheet_html(plan, sides, None, planset)
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;" in page and "risk reduction" in page.replace("\n", " ")
