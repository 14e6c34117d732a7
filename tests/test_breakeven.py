"""Break-even prices over the months with the AI live, and accounts that never went live
(issue 14), checked against plain arithmetic on the demo warehouse."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcome_pricing import pricing
from outcome_pricing.analysis import breakeven
from outcome_pricing.analysis.recent import RECENT_MONTHS
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse

# seats at each account's own price against one flat price per outcome: revenue is linear
# in the price, so the break-even is reference revenue / outcomes, exactly.
PLANS = """
[[plans]]
name = "seats"
  [[plans.charges]]
  metric = "seats"
  price = "account"
[[plans]]
name = "outcome"
  [[plans.charges]]
  metric = "outcomes"
  price = 0.99
"""


@pytest.fixture(scope="module")
def metrics(demo_wh: Warehouse) -> pd.DataFrame:
    planset = PlanSet.from_toml_text(PLANS)
    return pricing.account_month_metrics(demo_wh, Definition.preset("intercom-fin-2025"), planset.costs)


def plain_live(metrics: pd.DataFrame) -> pd.DataFrame:
    """Each account's rows from its first month with an AI task on (row by row)."""
    keep = []
    for _, rows in metrics.groupby("account_id"):
        ai_months = [m for m, n in zip(rows["month"], rows["ai_tasks"], strict=True) if n > 0]
        if ai_months:
            keep.append(rows[rows["month"] >= min(ai_months)])
    return pd.concat(keep)


def plain_break_even(rows: pd.DataFrame) -> float:
    reference = float((rows["seats"] * rows["seat_price"]).sum())
    outcomes = float(rows["outcomes"].sum())
    return reference / outcomes if outcomes else math.nan


class TestLiveMonths:
    def test_live_months_start_at_each_accounts_first_ai_month(self, metrics: pd.DataFrame) -> None:
        expected = plain_live(metrics).index
        got = metrics.index[breakeven.live_months(metrics).to_numpy()]
        assert sorted(got) == sorted(expected)
        assert len(got) < len(metrics)  # the demo has baseline months before every go-live

    def test_the_recent_window_is_the_last_months_of_live_accounts(self, metrics: pd.DataFrame) -> None:
        recent = sorted(metrics["month"].unique())[-RECENT_MONTHS:]
        live = plain_live(metrics)
        expected = live[live["month"].isin(recent)].index
        got = metrics.index[breakeven.window_mask(metrics, breakeven.Window.RECENT).to_numpy()]
        assert sorted(got) == sorted(expected)


class TestBreakEven:
    @pytest.mark.parametrize("window", list(breakeven.Window))
    def test_portfolio_segment_and_account_break_evens_equal_plain_arithmetic(
        self, metrics: pd.DataFrame, window: breakeven.Window
    ) -> None:
        planset = PlanSet.from_toml_text(PLANS)
        b = breakeven.break_even(metrics, planset, "outcome", "seats", window)
        rows = metrics[breakeven.window_mask(metrics, window).to_numpy()]
        assert b.price == pytest.approx(plain_break_even(rows), rel=1e-9)
        for segment, part in rows.assign(segment=rows["segment"].fillna(breakeven.NO_SEGMENT)).groupby("segment"):
            got = b.segments.set_index("segment").loc[segment]
            assert got["break_even_price"] == pytest.approx(plain_break_even(part), rel=1e-9)
            assert got["accounts"] == part["account_id"].nunique()
        for account, part in rows.groupby("account_id"):
            got = b.accounts.set_index("account_id").loc[account, "break_even_price"]
            want = plain_break_even(part)
            assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, rel=1e-9)

    def test_pre_go_live_months_no_longer_raise_the_break_even(self, metrics: pd.DataFrame) -> None:
        planset = PlanSet.from_toml_text(PLANS)
        whole = pricing.price_sweep_metrics(metrics, planset, "outcome", "seats").break_even_price
        live = breakeven.break_even(metrics, planset, "outcome", "seats", breakeven.Window.LIVE).price
        assert live < whole  # baseline months bill seats and no outcome
        assert whole == pytest.approx(plain_break_even(metrics), rel=1e-9)

    def test_no_live_month_gives_no_break_even(self, metrics: pd.DataFrame) -> None:
        planset = PlanSet.from_toml_text(PLANS)
        idle = metrics.assign(ai_tasks=0)
        b = breakeven.break_even(idle, planset, "outcome", "seats", breakeven.Window.LIVE)
        assert not b.found and b.sweep is None and b.accounts.empty


class TestStandings:
    def test_accounts_that_never_used_the_ai_are_not_live_not_losers(self, demo_wh: Warehouse) -> None:
        planset = PlanSet.from_toml_text(PLANS)
        bt = pricing.backtest(demo_wh, planset, Definition.preset("intercom-fin-2025"), "seats")
        idle = bt.metrics["account_id"].iloc[0]
        # An account without a single AI task: it pays nothing per outcome, and that is no price's doing.
        bt = pricing.backtest_metrics(bt.metrics.assign(ai_tasks=bt.metrics["ai_tasks"].where(
            bt.metrics["account_id"] != idle, 0)), planset, "seats")
        s = breakeven.standings(bt, "outcome").set_index("account_id")
        assert s.loc[idle, "standing"] == breakeven.Standing.NOT_LIVE
        assert not s.loc[idle, "ai_live"]
        live = bt.metrics.groupby("account_id")["ai_tasks"].sum().gt(0)
        assert (s["standing"] == breakeven.Standing.NOT_LIVE).to_dict() == (~live).to_dict()
        others = s[live.reindex(s.index)]
        assert set(others["standing"]) <= {breakeven.Standing.PAYS_MORE, breakeven.Standing.PAYS_LESS,
                                           breakeven.Standing.SAME}
        assert (others.loc[others["standing"] == breakeven.Standing.PAYS_LESS, "change"] < 0).all()


class TestSegmentsFromTheSharedSweep:
    """The segments' break-evens are read from the portfolio sweep's per-account curves; each is
    held to the segment swept alone (the slow, obvious way), on every plan shape of the example
    plans (minimums, caps, ladders, commitments) and random segment assignments."""

    @pytest.fixture(scope="class")
    def example(self, demo_wh: Warehouse) -> tuple[PlanSet, pd.DataFrame]:
        planset = pricing.example_plans()
        d = Definition.preset("intercom-fin-2025")
        return planset, pricing.account_month_metrics(demo_wh, d, planset.costs, planset.plans)

    @staticmethod
    def alone(rows: pd.DataFrame, planset: PlanSet, plan: str, reference: str) -> dict[str, tuple[float, float]]:
        out = {}
        for segment, part in rows.groupby("segment", sort=True):
            sweep = pricing.price_sweep_metrics(part.reset_index(drop=True), planset, plan, reference)
            out[str(segment)] = (float(sweep.portfolio["reference_revenue"].iloc[0]), sweep.break_even_price)
        return out

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=st.data())
    def test_each_segment_as_its_own_sweep(self, example: tuple[PlanSet, pd.DataFrame], data: st.DataObject) -> None:
        planset, metrics = example
        plan = data.draw(st.sampled_from([p.name for p in planset.plans if p.outcome_price() is not None]))
        window = data.draw(st.sampled_from(list(breakeven.Window)))
        accounts = sorted(metrics["account_id"].unique())
        labels = data.draw(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=len(accounts),
                                    max_size=len(accounts)))
        relabelled = metrics.assign(segment=metrics["account_id"].map(dict(zip(accounts, labels, strict=True))))
        got = breakeven.break_even(relabelled, planset, plan, "seats-today", window)
        rows = relabelled[breakeven.window_mask(relabelled, window).to_numpy()].reset_index(drop=True)
        rows = rows.assign(segment=rows["segment"].fillna(breakeven.NO_SEGMENT))
        want = self.alone(rows, planset, plan, "seats-today")
        assert set(got.segments["segment"]) == set(want)
        for r in got.segments.itertuples():
            reference, price = want[str(r.segment)]
            assert r.reference_revenue == reference
            assert (math.isnan(price) and math.isnan(r.break_even_price)) or r.break_even_price == price
