"""The executive overview: "this month", KPIs equal to the engines that own them, top
movers sorted and summing to the revenue change, versions, and the one-page brief."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing import backtest, example_plans
from outcome_pricing.reports import brief
from outcome_pricing.reports.overview import (
    MOVER_WINDOWS,
    latest_month,
    overview,
    plan_version,
    planset_version,
)
from outcome_pricing.rules import Definition, outcomes
from outcome_pricing.warehouse.handle import Warehouse
from tests.rows import load_tasks

DEF = Definition.preset("intercom-fin-2025")
PLANS = example_plans()
REFERENCE, PROPOSED = "seats-today", "per-outcome"


@pytest.fixture(scope="module")
def ov(demo_wh: Warehouse):
    return overview(demo_wh, PLANS, DEF, REFERENCE, PROPOSED)


def closed(*stamps: str) -> list[dict]:
    return [
        {"task_id": f"T{i}", "created_at": dt.datetime.fromisoformat(s) - dt.timedelta(hours=1),
         "closed_at": dt.datetime.fromisoformat(s)}
        for i, s in enumerate(stamps)
    ]


# ---------------------------------------------------------------------- this month
class TestThisMonth:
    def test_data_ending_on_a_month_last_day_makes_that_month_current(self, fresh_wh: Warehouse) -> None:
        load_tasks(fresh_wh, closed("2025-01-10 10:00", "2025-02-28 18:00"))
        assert latest_month(fresh_wh) == (pd.Timestamp("2025-02-01"), True)

    def test_data_cut_mid_month_falls_back_to_the_month_before(self, fresh_wh: Warehouse) -> None:
        load_tasks(fresh_wh, closed("2025-01-10 10:00", "2025-02-14 18:00"))
        assert latest_month(fresh_wh) == (pd.Timestamp("2025-01-01"), True)

    def test_a_single_partial_month_is_used_and_flagged(self, fresh_wh: Warehouse) -> None:
        load_tasks(fresh_wh, closed("2025-03-02 10:00", "2025-03-09 10:00"))
        assert latest_month(fresh_wh) == (pd.Timestamp("2025-03-01"), False)

    def test_an_empty_warehouse_is_a_clear_error(self, fresh_wh: Warehouse) -> None:
        with pytest.raises(ConfigError, match="no tasks"):
            latest_month(fresh_wh)

    def test_trends_stop_at_this_month(self, fresh_wh: Warehouse) -> None:
        load_tasks(fresh_wh, closed("2025-01-10 10:00", "2025-02-10 10:00", "2025-03-05 10:00"))
        result = overview(fresh_wh, PLANS, DEF)
        assert result.month == pd.Timestamp("2025-02-01")
        assert list(result.activity_trend["month"]) == [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")]
        assert result.revenue_trend["month"].max() == result.month


# ---------------------------------------------------------------------- KPIs
class TestKpisComeFromTheOwningEngines:
    def test_revenue_margin_and_seat_risk_equal_the_backtest(self, ov, demo_wh: Warehouse) -> None:
        bt = backtest(demo_wh, PLANS, DEF, REFERENCE)
        port = bt.portfolio()
        here = port[port["month"] == ov.month].set_index("plan")
        erosion = bt.seat_erosion(by="month").set_index("month").loc[ov.month]
        k = ov.kpis
        assert k.revenue_reference == pytest.approx(here.loc[REFERENCE, "revenue"], abs=0.005)
        assert k.revenue_proposed == pytest.approx(here.loc[PROPOSED, "revenue"], abs=0.005)
        assert k.margin == pytest.approx(here.loc[PROPOSED, "margin"], abs=0.005)
        assert k.margin == pytest.approx(k.revenue_proposed - k.cogs, abs=0.005)
        assert k.seat_revenue_at_risk == pytest.approx(erosion["seat_revenue_at_risk"])
        assert k.seat_revenue_at_risk > 0  # the demo has seat erosion: the check can fail

    def test_outcomes_and_resolution_rate_equal_the_definition_engine(self, ov, demo_wh: Warehouse) -> None:
        by_month = outcomes(demo_wh, DEF, by=("month",))
        row = by_month[pd.to_datetime(by_month["month"]) == ov.month].iloc[0]
        assert ov.kpis.outcomes == pytest.approx(row["billable_units"])
        assert ov.kpis.resolution_rate == pytest.approx(row["resolution_rate"])
        assert ov.kpis.ai_tasks == row["ai_tasks"]

    def test_previous_is_the_month_before_and_changes_are_against_it(self, ov) -> None:
        assert ov.previous is not None
        assert ov.previous.month == ov.month - pd.DateOffset(months=1)
        assert ov.month_change("outcomes") == ov.kpis.outcomes - ov.previous.outcomes

    def test_a_higher_outcome_price_raises_only_the_proposed_revenue(self, ov, demo_wh: Warehouse) -> None:
        dearer = PLANS.replace_plan(PLANS.plan(PROPOSED).with_outcome_price(Decimal("1.98")))
        k = overview(demo_wh, dearer, DEF, REFERENCE, PROPOSED).kpis
        assert k.revenue_proposed == pytest.approx(2 * ov.kpis.revenue_proposed, abs=0.01 * k.revenue_proposed)
        assert k.revenue_reference == ov.kpis.revenue_reference

    def test_quality_trend_has_both_arms_for_every_month(self, ov) -> None:
        q = ov.quality_trend
        assert list(q["month"]) == list(ov.activity_trend["month"])
        assert q["missed_issue_rate_ai"].dropna().between(0, 1).all()  # NaN before any go-live
        assert q["missed_issue_rate_baseline"].notna().any()
        assert q["csat_ai"].dropna().between(1, 5).all()

    def test_unknown_proposed_plan_is_a_clear_error(self, demo_wh: Warehouse) -> None:
        with pytest.raises(ConfigError, match="no plan named 'gold'"):
            overview(demo_wh, PLANS, DEF, REFERENCE, "gold")


# ---------------------------------------------------------------------- movers
class TestTopMovers:
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(window=st.sampled_from(list(MOVER_WINDOWS.values())), n=st.integers(1, 8))
    def test_movers_are_sorted_signed_and_the_changes_sum_to_the_portfolio_change(self, ov, window, n) -> None:
        changes = ov.account_changes(window)
        first, last = ov.window(window)
        trend = ov.revenue_trend[ov.revenue_trend["month"].between(first, last)]
        by_plan = trend.groupby("plan")["revenue"].sum()
        # plain reading: the change over all accounts is the portfolio's change
        assert changes["change"].sum() == pytest.approx(by_plan[PROPOSED] - by_plan[REFERENCE], abs=0.01)
        gainers, losers = ov.top_movers(window, n)
        assert len(gainers) <= n and len(losers) <= n
        assert (gainers["change"] > 0).all() and (losers["change"] < 0).all()
        assert list(gainers["change"]) == sorted(gainers["change"], reverse=True)
        assert list(losers["change"]) == sorted(losers["change"])
        live = changes[~changes["account_id"].isin(ov.not_live()["account_id"])]
        positive = live[live["change"] > 0]["change"].nlargest(n)
        assert list(gainers["change"]) == list(positive)

    def test_accounts_never_live_are_shown_apart_not_as_movers(self, ov) -> None:
        metrics = ov.backtest.metrics
        # plain reading: an account whose tasks never had the AI live
        never = {a for a, g in metrics.groupby("account_id") if g["ai_tasks"].sum() == 0}
        assert set(ov.not_live()["account_id"]) == never
        for window in MOVER_WINDOWS.values():
            gainers, losers = ov.top_movers(window, 50)
            assert not never & (set(gainers["account_id"]) | set(losers["account_id"]))

    def test_this_month_change_equals_the_kpi_change(self, ov) -> None:
        assert ov.account_changes(1)["change"].sum() == pytest.approx(ov.kpis.revenue_change, abs=0.01)
        w = ov.window_change(1)
        assert w.change == pytest.approx(ov.kpis.revenue_change, abs=0.01)
        assert w.paying_more + w.paying_less <= w.accounts == len(ov.account_changes(1))

    def test_whole_history_equals_the_backtest_account_changes(self, ov) -> None:
        ours = ov.account_changes(None)
        theirs = ov.backtest.account_changes(PROPOSED, REFERENCE)
        pd.testing.assert_frame_equal(ours, theirs)

    def test_a_window_longer_than_the_history_is_the_whole_history(self, ov) -> None:
        assert ov.window(1000) == ov.window(None)

    def test_an_empty_window_is_refused(self, ov) -> None:
        with pytest.raises(ConfigError, match="window of 0 months"):
            ov.window(0)


# ---------------------------------------------------------------------- versions
class TestVersions:
    def test_a_plan_version_ignores_name_and_description(self) -> None:
        plan = PLANS.plan(PROPOSED)
        assert plan_version(plan) == plan_version(replace(plan, name="renamed", description="other words"))

    def test_a_plan_version_changes_with_the_price(self) -> None:
        plan = PLANS.plan(PROPOSED)
        assert plan_version(plan) != plan_version(plan.with_outcome_price(Decimal("1.00")))

    def test_a_planset_version_changes_with_any_plan_and_survives_a_round_trip(self) -> None:
        dearer = PLANS.replace_plan(PLANS.plan(PROPOSED).with_outcome_price(Decimal("1.00")))
        assert planset_version(dearer) != planset_version(PLANS)
        assert planset_version(type(PLANS).from_toml_text(PLANS.to_toml())) == planset_version(PLANS)

    def test_plans_in_force_mark_the_roles(self, ov) -> None:
        roles = dict(zip(ov.plans["plan"], ov.plans["role"], strict=True))
        assert roles[REFERENCE] == "reference" and roles[PROPOSED] == "proposed"
        assert ov.plans["version"].str.fullmatch(r"[0-9a-f]{10}").all()


# ---------------------------------------------------------------------- the brief
class TestBrief:
    def test_is_self_contained_and_names_the_scenario(self, ov) -> None:
        html = brief.render_html(ov, 1, prepared_on=dt.date(2026, 1, 2))
        assert "<script" not in html.lower()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
        assert not re.search(r"@import|url\(", html)
        for text in (DEF.version, REFERENCE, PROPOSED, planset_version(PLANS), brief.month_label(ov.month)):
            assert text in html
        assert html.count("<svg") == 4

    def test_a_hostile_account_id_is_escaped(self, fresh_wh: Warehouse) -> None:
        hostile = "<script>alert('x')</script>"
        rows = [{**r, "account_id": hostile} for r in closed("2025-01-10 10:00", "2025-01-31 12:00")]
        load_tasks(fresh_wh, rows)
        html = brief.render_html(overview(fresh_wh, PLANS, DEF, REFERENCE, PROPOSED), 1)
        assert "<script" not in html
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


class TestSalesScope:
    def test_a_scoped_warehouse_shows_only_the_owned_accounts(self, demo_wh: Warehouse) -> None:
        owned = sorted(demo_wh.query_df("SELECT DISTINCT account_id FROM tasks")["account_id"])[:3]
        scoped = overview(demo_wh.scoped(owned), PLANS, DEF, REFERENCE, PROPOSED)
        assert set(scoped.account_changes(None)["account_id"]) <= set(owned)
        everyone = overview(demo_wh, PLANS, DEF, REFERENCE, PROPOSED)
        assert scoped.kpis.revenue_reference < everyone.kpis.revenue_reference
        mine = everyone.account_changes(1).set_index("account_id").loc[owned]
        assert scoped.kpis.revenue_change == pytest.approx(mine["change"].sum(), abs=0.01)
