"""The Monte Carlo forecast: the float charge arithmetic agrees with the exact statement
lines; with no volatility it is the deterministic projection (computed here by hand);
bands are ordered; scenario means match the analytic expectations; seeds reproduce;
the estimates recover known parameters; the CLI's JSON."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings

from outcome_pricing.analysis.forecast import (
    ACCOUNT_COLUMNS,
    Assumptions,
    estimate_assumptions,
    forecast,
    simulate,
)
from outcome_pricing.cli import cli
from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.money import MICRO
from outcome_pricing.pricing import EXAMPLE_PLANS, example_plans
from outcome_pricing.pricing.charges import (
    Usage,
    UsageArrays,
    bill,
    bill_total,
    charge_cents_vectorised,
    month_lines,
    plan_revenue_vectorised,
)
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.spanning import span_account
from outcome_pricing.pricing.terms import Charge, Costs, Metric, Mode, Plan, Tier
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse.handle import Warehouse
from tests.strategies import plans as random_plans
from tests.strategies import usages as random_usages

DEF = Definition.preset("zendesk-ar")
METRICS = [m for m in Metric if m is not Metric.SEATS_NEEDED]


# ----------------------------------------------------------------------------- float charges
def float_metrics(usage: UsageArrays) -> tuple[dict[str, np.ndarray], np.ndarray]:
    metrics = {m.value: usage.micro[m] / MICRO for m in METRICS}
    metrics["human_hours"] = usage.human_ms / 3_600_000
    return metrics, usage.seat_price_micro / MICRO


class TestVectorisedPlanAgreesWithStatementLines:
    @settings(max_examples=60, deadline=None)
    @given(random_plans(), random_usages())
    def test_each_line_within_a_cent_of_the_exact_decimal_line(self, plan: Plan, usage: UsageArrays) -> None:
        metrics, seat_price = float_metrics(usage)
        fast_lines = [charge_cents_vectorised(c, metrics, seat_price) for c in plan.charges]
        fast_total = plan_revenue_vectorised(plan, metrics, seat_price)
        for i in range(len(usage)):
            exact = bill(plan, usage.row(i))
            # bill() lists the charge lines first, in the plan's order.
            for charge, fast, line in zip(plan.charges, fast_lines, exact, strict=False):
                assert abs(float(fast[i]) - float(line.amount * 100)) <= 1, (charge, line)
            slack = 0.01 * max(len(plan.charges), 1) + 1e-6
            assert abs(float(fast_total[i]) - float(bill_total(exact))) <= slack

    @pytest.mark.parametrize("plan", example_plans().plans, ids=lambda p: p.name)
    def test_whole_quantities_and_cent_prices_give_the_exact_cents(self, plan: Plan) -> None:
        rng = np.random.default_rng(5)
        n = 400
        micro = {m: rng.integers(0, 20_000, n) * MICRO for m in METRICS}
        usage = UsageArrays(micro, rng.integers(0, 10**9, n), rng.integers(50, 140, n) * MICRO)
        metrics, seat_price = float_metrics(usage)
        fast = plan_revenue_vectorised(plan, metrics, seat_price)
        exact = [float(bill_total(bill(plan, usage.row(i)))) for i in range(n)]
        assert np.array_equal(np.round(fast * 100), np.round(np.array(exact) * 100))

    def test_volume_mode_prices_a_bound_at_its_own_tier(self) -> None:
        charge = Charge(Metric.OUTCOMES, tiers=(Tier(Decimal(100), Decimal(1)), Tier(None, Decimal("0.5"))), mode=Mode.VOLUME)
        metrics = {"outcomes": np.array([100.0, 100.5])}
        assert charge_cents_vectorised(charge, metrics, np.zeros(2)).tolist() == [10000.0, 5025.0]


# ----------------------------------------------------------------------------- a hand-made portfolio
def accounts_frame(**overrides: list[float]) -> pd.DataFrame:
    base: dict[str, list] = {
        "account_id": ["A", "B", "C"],
        "tasks": [1200.0, 310.0, 5230.0],
        "growth_offset": [0.01, -0.02, 0.0],
        "ai_share": [0.9, 0.5, 1.0],
        "resolution_rate": [0.31, 0.22, 0.47],
        "ceiling_factor": [1.1, 0.8, 1.0],
        "rate_cap": [1.0, 1.0, 1.0],
        "hours_per_open_task": [0.21, 0.33, 0.17],
        "seats": [9.0, 4.0, 14.0],
        "seat_price": [85.0, 105.0, 132.0],
        "input_tokens_m_per_conversation": [0.004, 0.003, 0.005],
        "output_tokens_m_per_conversation": [0.0007, 0.0006, 0.0009],
        "token_cost_per_conversation": [0.0028, 0.0021, 0.0034],
        "other_cost_per_conversation": [0.01, 0.01, 0.01],
    }
    base.update(overrides)
    return pd.DataFrame(base)[list(ACCOUNT_COLUMNS)]


ASSUMPTIONS = Assumptions(
    volume_growth=0.015, growth_uncertainty=0.02, market_uncertainty=0.01, volume_noise=0.08,
    resolution_ceiling=0.62, learning_months=4.0, ceiling_uncertainty=0.05, resolution_noise=0.1, seat_lag_months=3.0, hours_per_seat=120.0,
    token_drift=0.01, churn_hazard=0.02, price_elasticity=0.0,
    accounts=accounts_frame(), last_month=pd.Timestamp("2026-10-01"),
)
PLANS = PlanSet(
    (*example_plans().plans, Plan("per-task", charges=(Charge(Metric.TASKS, price=Decimal(1)),))),
    example_plans().costs,
)


def projection(a: Assumptions, plan: Plan, months: int) -> tuple[list[Decimal], list[float]]:
    """The deterministic projection by hand: each account and month, priced exactly.

    Returns portfolio revenue (Decimal, from the statement arithmetic) and COGS per month.
    """
    revenue = [Decimal(0)] * months
    cogs = [0.0] * months
    for acc in a.accounts.to_dict(orient="records"):
        growth = a.volume_growth + acc["growth_offset"]
        ceiling = max(a.resolution_ceiling * acc["ceiling_factor"], acc["resolution_rate"])
        seats = acc["seats"]
        priced = []  # (month, lines): a commitment spans the months (pricing.spanning)
        for t in range(1, months + 1):
            tasks = acc["tasks"] * math.exp(growth * t)
            rate = ceiling - (ceiling - acc["resolution_rate"]) * math.exp(-t / a.learning_months)
            rate = min(rate, acc["rate_cap"])
            conv = tasks * acc["ai_share"]
            outcomes = conv * rate
            hours = max(tasks - outcomes, 0.0) * acc["hours_per_open_task"]
            needed = math.ceil(hours / a.hours_per_seat)
            gap = needed - seats
            step = gap if a.seat_lag_months <= 1 else gap / a.seat_lag_months
            seats = seats + step if acc["seats"] > 0 else 0
            drift = math.exp(a.token_drift * t)
            usage = Usage(
                quantities={
                    Metric.SEATS: Decimal(repr(float(seats))),
                    Metric.CONVERSATIONS: Decimal(repr(conv)),
                    Metric.OUTCOMES: Decimal(repr(outcomes)),
                    Metric.INPUT_TOKENS_M: Decimal(repr(conv * acc["input_tokens_m_per_conversation"] * drift)),
                    Metric.OUTPUT_TOKENS_M: Decimal(repr(conv * acc["output_tokens_m_per_conversation"] * drift)),
                    Metric.TASKS: Decimal(repr(tasks)),
                },
                human_ms=round(hours * 3_600_000),
                seat_price=Decimal(repr(acc["seat_price"])),
            )
            priced.append((t, month_lines(plan, usage)))
            cogs[t - 1] += conv * (acc["token_cost_per_conversation"] * drift + acc["other_cost_per_conversation"])
        for t, spanned in enumerate(span_account(plan, priced, start=1), start=1):
            revenue[t - 1] += bill_total(spanned.lines)
    return revenue, cogs


class TestNoVolatilityIsTheDeterministicProjection:
    @pytest.mark.parametrize("plan", PLANS.plans, ids=lambda p: p.name)
    def test_every_band_equals_the_projection_priced_exactly(self, plan: Plan) -> None:
        a = ASSUMPTIONS.without_volatility()
        result = simulate(a, PlanSet((plan,), PLANS.costs), months=9, scenarios=30, seed=3)
        revenue, cogs = projection(a, plan, 9)
        lines = len(a.accounts) * (len(plan.charges) + 1)
        for col in ("p10", "p50", "p90", "mean"):
            got = result.revenue[col].to_numpy()
            assert np.allclose(got, [float(r) for r in revenue], rtol=0, atol=0.01 * lines), col
            margin = result.margin[col].to_numpy()
            assert np.allclose(margin, np.array([float(r) for r in revenue]) - cogs, rtol=0, atol=0.01 * lines)

    @staticmethod
    def _seat_only(seats: float, hours_per_open_task: float, lag: float, months: int) -> list[float]:
        """Monthly seats-today revenue of one account with no AI, 1000 tasks a month, $100 a seat."""
        acc = accounts_frame(
            account_id=["A"], tasks=[1000.0], growth_offset=[0.0], ai_share=[0.0], resolution_rate=[0.0],
            ceiling_factor=[1.0], rate_cap=[1.0], hours_per_open_task=[hours_per_open_task], seats=[seats],
            seat_price=[100.0], input_tokens_m_per_conversation=[0.0], output_tokens_m_per_conversation=[0.0],
            token_cost_per_conversation=[0.0], other_cost_per_conversation=[0.0],
        )
        a = replace(ASSUMPTIONS.without_volatility(), volume_growth=0.0, accounts=acc, seat_lag_months=lag)
        seat_plan = PlanSet((example_plans().plan("seats-today"),))
        return simulate(a, seat_plan, months=months, scenarios=5, seed=0).revenue["p50"].tolist()

    def test_seats_close_a_third_of_the_gap_each_month_with_a_three_month_lag(self) -> None:
        # needed seats = ceil(1000 tasks x 0.48 h / 120) = 4, contracted 10: the gap of 6 shrinks by 1/3 a month.
        expected = [100 * (4 + 6 * (2 / 3) ** t) for t in range(1, 7)]
        assert self._seat_only(10.0, 0.48, 3.0, 6) == pytest.approx(expected, abs=0.01)

    def test_a_one_seat_gap_closes_over_the_lag_not_in_the_first_month(self) -> None:
        # needed = ceil(1000 x 0.2 / 120) = 2, contracted 3: the first month right after the history
        # bills 3 - 1/6 seats, not 2 (no cliff where the history line ends).
        revenue = self._seat_only(3.0, 0.2, 6.0, 12)
        assert revenue[0] == pytest.approx(300 - 100 / 6, abs=0.01)
        assert all(b < a for a, b in zip(revenue, revenue[1:], strict=False))
        assert revenue[-1] > 200

    def test_no_lag_follows_the_need_at_once(self) -> None:
        assert self._seat_only(3.0, 0.2, 0.0, 2) == [200.0, 200.0]


class TestBands:
    def test_p10_p50_p90_are_ordered_every_month_for_every_plan(self) -> None:
        result = simulate(ASSUMPTIONS, PLANS, months=12, scenarios=400, seed=11)
        for frame in (result.revenue, result.margin):
            assert (frame["p10"] <= frame["p50"]).all() and (frame["p50"] <= frame["p90"]).all()
            assert (frame["p10"] < frame["p90"]).any()  # the noise really spreads the bands
        assert len(result.revenue) == 12 * len(PLANS.plans)

    def test_months_follow_the_last_month_of_history(self) -> None:
        result = simulate(ASSUMPTIONS, PLANS, months=3, scenarios=10, seed=1)
        assert [m.strftime("%Y-%m") for m in result.months] == ["2026-11", "2026-12", "2027-01"]

    def test_prob_beats_is_paired_and_complementary(self) -> None:
        result = simulate(ASSUMPTIONS, PLANS, months=6, scenarios=300, seed=2)
        p = result.prob_beats
        assert np.allclose(np.diag(p), 0)
        ties = (result.totals.to_numpy()[:, :, None] == result.totals.to_numpy()[:, None, :]).mean(axis=0)
        assert np.allclose(p.to_numpy() + p.to_numpy().T + ties, 1.0)
        assert result.prob("per-task", "per-outcome") == pytest.approx(p.loc["per-task", "per-outcome"])


    def test_beats_table_has_no_figure_where_a_plan_meets_itself(self) -> None:
        result = simulate(ASSUMPTIONS, PLANS, months=3, scenarios=50, seed=2)
        table = result.beats_table()
        assert np.isnan(np.diag(table.to_numpy())).all()
        off = ~np.eye(len(table), dtype=bool)
        assert np.array_equal(table.to_numpy()[off], result.prob_beats.to_numpy()[off])
        assert list(table.index) == list(table.columns) == list(result.plans)


def volume_only(accounts: int = 2) -> pd.DataFrame:
    return accounts_frame(
        account_id=["A", "B"][:accounts], tasks=[800.0, 2500.0][:accounts], growth_offset=[0.01, -0.01][:accounts],
        ai_share=[1.0, 1.0][:accounts], resolution_rate=[0.3, 0.5][:accounts],
        ceiling_factor=[1.0, 1.0][:accounts], rate_cap=[np.inf, np.inf][:accounts],
        hours_per_open_task=[0.0, 0.0][:accounts], seats=[0.0, 0.0][:accounts], seat_price=[0.0, 0.0][:accounts],
        input_tokens_m_per_conversation=[0.0, 0.0][:accounts], output_tokens_m_per_conversation=[0.0, 0.0][:accounts],
        token_cost_per_conversation=[0.0, 0.0][:accounts], other_cost_per_conversation=[0.0, 0.0][:accounts],
    )


def unit_plan(metric: Metric) -> PlanSet:
    return PlanSet((Plan(metric.value, charges=(Charge(metric, price=Decimal(1)),)),))


class TestScenarioMeansMatchTheAnalyticExpectation:
    """E[exp(N(mu, s^2))] = exp(mu + s^2/2): volume is lognormal around its trend, with the
    trend's slope itself normal, per account (u) and shared by the portfolio (m), so t x slope
    adds t^2 (u^2 + m^2) / 2; the rate's noise is an independent lognormal factor."""

    SCENARIOS = 4000
    MONTHS = 6

    def check(self, result_totals: pd.Series, expected: float) -> None:
        mean = float(result_totals.mean())
        se = float(result_totals.std(ddof=1)) / math.sqrt(len(result_totals))
        assert se > 0
        assert abs(mean - expected) < 4 * se, (mean, expected, se)

    def test_task_volume_mean(self) -> None:
        a = replace(ASSUMPTIONS.without_volatility(), volume_growth=0.02, growth_uncertainty=0.03,
                    market_uncertainty=0.02, volume_noise=0.25, accounts=volume_only())
        result = simulate(a, unit_plan(Metric.TASKS), months=self.MONTHS, scenarios=self.SCENARIOS, seed=21)
        expected = sum(
            v0 * math.exp((0.02 + off) * t + (0.03**2 + 0.02**2) * t**2 / 2 + 0.25**2 / 2)
            for v0, off in ((800.0, 0.01), (2500.0, -0.01))
            for t in range(1, self.MONTHS + 1)
        )
        self.check(result.totals["tasks"], expected)

    def test_outcomes_mean_with_volume_and_rate_noise(self) -> None:
        a = replace(ASSUMPTIONS.without_volatility(), volume_growth=0.0, volume_noise=0.2, resolution_noise=0.3,
                    resolution_ceiling=0.7, learning_months=3.0, accounts=volume_only())
        result = simulate(a, unit_plan(Metric.OUTCOMES), months=self.MONTHS, scenarios=self.SCENARIOS, seed=22)
        expected = sum(
            v0 * math.exp(off * t + 0.2**2 / 2) * (0.7 - (0.7 - r0) * math.exp(-t / 3.0)) * math.exp(0.3**2 / 2)
            for v0, off, r0 in ((800.0, 0.01, 0.3), (2500.0, -0.01, 0.5))
            for t in range(1, self.MONTHS + 1)
        )
        self.check(result.totals["outcomes"], expected)

    def test_churn_survival_is_geometric(self) -> None:
        a = replace(ASSUMPTIONS.without_volatility(), volume_growth=0.0, churn_hazard=0.08, accounts=volume_only())
        result = simulate(a, unit_plan(Metric.TASKS), months=self.MONTHS, scenarios=self.SCENARIOS, seed=23)
        expected = sum(
            v0 * math.exp(off * t) * (1 - 0.08) ** t
            for v0, off in ((800.0, 0.01), (2500.0, -0.01))
            for t in range(1, self.MONTHS + 1)
        )
        self.check(result.totals["tasks"], expected)


class TestSharedRisk:
    def test_ceiling_uncertainty_widens_outcome_revenue_only(self) -> None:
        calm = replace(ASSUMPTIONS.without_volatility(), volume_noise=0.05)
        shaky = calm.with_values(ceiling_uncertainty=0.1)
        one = simulate(calm, PLANS, months=12, scenarios=300, seed=6)
        two = simulate(shaky, PLANS, months=12, scenarios=300, seed=6)
        assert two.totals["per-outcome"].std() > 2 * one.totals["per-outcome"].std()
        pd.testing.assert_series_equal(one.totals["per-task"], two.totals["per-task"])

    def test_a_shared_growth_shock_does_not_diversify_away(self) -> None:
        own = replace(ASSUMPTIONS.without_volatility(), growth_uncertainty=0.02)
        shared = replace(ASSUMPTIONS.without_volatility(), market_uncertainty=0.02)
        cv = [simulate(a, PLANS, months=12, scenarios=400, seed=7).volatility.set_index("plan").loc["per-task", "cv_horizon"]
              for a in (own, shared)]
        assert cv[1] > 1.3 * cv[0]


class TestAccountChanges:
    def test_changes_add_up_to_the_mean_horizon_difference(self) -> None:
        result = simulate(ASSUMPTIONS, PLANS, months=6, scenarios=200, seed=8)
        changes = result.account_changes("per-outcome", "seats-today")
        assert list(changes["change"]) == sorted(changes["change"], reverse=True)
        mean_diff = (result.totals["per-outcome"] - result.totals["seats-today"]).mean()
        assert changes["change"].sum() == pytest.approx(mean_diff, rel=1e-9)
        with pytest.raises(ConfigError, match="No plan named 'nope'"):
            result.account_changes("nope", "seats-today")


class TestPriceResponse:
    def test_a_bill_twice_the_reference_loses_volume_by_the_elasticity(self) -> None:
        a = replace(ASSUMPTIONS.without_volatility(), volume_growth=0.0, price_elasticity=-0.5,
                    accounts=volume_only(1))
        cheap = Plan("cheap", charges=(Charge(Metric.TASKS, price=Decimal(1)),))
        dear = Plan("dear", charges=(Charge(Metric.TASKS, price=Decimal(2)),))
        result = simulate(a, PlanSet((cheap, dear)), months=2, scenarios=3, seed=0, reference="cheap")
        months = result.revenue.set_index(["plan", "month"])["p50"]
        v = 800.0 * math.exp(0.01)
        assert months[("cheap", result.months[0])] == pytest.approx(v, abs=0.01)
        assert months[("dear", result.months[0])] == pytest.approx(2 * v * 2**-0.5, abs=0.02)


class TestSeeds:
    def test_same_seed_same_numbers_and_threads_change_nothing(self) -> None:
        one = simulate(ASSUMPTIONS, PLANS, months=5, scenarios=130, seed=9)
        two = simulate(ASSUMPTIONS, PLANS, months=5, scenarios=130, seed=9, workers=2)
        pd.testing.assert_frame_equal(one.revenue, two.revenue)
        pd.testing.assert_frame_equal(one.totals, two.totals)
        other = simulate(ASSUMPTIONS, PLANS, months=5, scenarios=130, seed=10)
        assert not np.allclose(one.totals.to_numpy(), other.totals.to_numpy())

    def test_changing_one_assumption_keeps_the_scenarios(self) -> None:
        # Common random numbers: more churn only removes revenue, scenario by scenario.
        base = simulate(ASSUMPTIONS, PLANS, months=6, scenarios=200, seed=4)
        more = simulate(ASSUMPTIONS.with_values(churn_hazard=0.1), PLANS, months=6, scenarios=200, seed=4)
        assert (more.totals["per-task"] <= base.totals["per-task"] + 1e-9).all()


class TestAssumptionChecks:
    @pytest.mark.parametrize(("name", "value"), [("churn_hazard", 1.5), ("learning_months", 0.0), ("volume_noise", -1)])
    def test_values_out_of_range_are_refused_by_name(self, name: str, value: float) -> None:
        with pytest.raises(ConfigError, match=name):
            simulate(ASSUMPTIONS.with_values(**{name: value}), PLANS, months=2, scenarios=2)

    def test_unknown_assumption_is_refused(self) -> None:
        with pytest.raises(ConfigError, match="Unknown forecast assumption 'growth'"):
            ASSUMPTIONS.with_values(growth=0.1)


# ----------------------------------------------------------------------------- estimation
def synthetic_history(months: int = 14, noise: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Accounts growing 2% a month, AI live from month 2 on a curve toward 0.7 (tau 3)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, (size, go_live) in enumerate(((4000.0, 2), (900.0, 2), (2500.0, 2))):
        for m in range(months):
            tasks = size * math.exp(0.02 * m + noise * rng.standard_normal())
            conv = tasks if m >= go_live else 0.0
            rate = 0.7 - (0.7 - 0.3) * math.exp(-(m - go_live) / 3.0) if m >= go_live else 0.0
            rows.append({
                "account_id": f"A{i}", "month": pd.Timestamp("2025-01-01") + pd.DateOffset(months=m),
                "tasks": tasks, "conversations": conv, "outcomes": conv * rate,
                "human_hours": (tasks - conv * rate) * 0.2, "seats": 10, "seat_price": 90.0,
                "input_tokens_m": conv * 0.004 * math.exp(0.01 * m), "output_tokens_m": conv * 0.001 * math.exp(0.01 * m),
                "cogs": conv * 0.012,
            })
    return pd.DataFrame(rows)


class TestEstimates:
    def test_noise_free_history_gives_back_its_parameters(self) -> None:
        a = estimate_assumptions(synthetic_history(), per_ai_task=0.01)
        assert a.volume_growth == pytest.approx(0.02, abs=1e-9)
        assert a.volume_noise == pytest.approx(0.0, abs=1e-9)
        assert a.resolution_ceiling == pytest.approx(0.7, abs=1e-3)
        assert a.learning_months == pytest.approx(3.0, abs=1e-2)
        assert a.token_drift == pytest.approx(0.01, abs=1e-9)
        assert a.market_uncertainty == pytest.approx(0.0, abs=1e-3)  # three accounts, all +2% a month
        assert a.ceiling_uncertainty == pytest.approx(0.0, abs=1e-3)
        assert a.churn_hazard == 0.0
        acc = a.accounts.set_index("account_id")
        assert acc.loc["A0", "tasks"] == pytest.approx(4000.0 * math.exp(0.02 * 13), rel=1e-9)
        assert acc["resolution_rate"].to_numpy() == pytest.approx(0.7 - 0.4 * math.exp(-11 / 3.0), abs=1e-3)
        assert acc["other_cost_per_conversation"].tolist() == [0.01] * 3
        assert set(a.sources) >= {"volume_growth", "resolution_ceiling", "churn_hazard", "price_elasticity"}

    def test_an_account_that_stopped_is_churn_and_gets_no_volume(self) -> None:
        hist = synthetic_history()
        hist = hist[~((hist["account_id"] == "A1") & (hist["month"] >= pd.Timestamp("2025-09-01")))]
        a = estimate_assumptions(hist)
        assert a.churn_hazard == pytest.approx(1 / (3 * 14 - 6), rel=1e-9)
        assert a.accounts.set_index("account_id").loc["A1", "tasks"] == 0.0

    def test_noisy_history_estimates_the_noise(self) -> None:
        a = estimate_assumptions(synthetic_history(months=24, noise=0.1, seed=3))
        assert 0.05 < a.volume_noise < 0.2

    @pytest.mark.parametrize("months", [1, 2])
    def test_too_short_a_history_gives_a_flat_forecast_not_an_error(self, months: int) -> None:
        a = estimate_assumptions(synthetic_history(months=months))
        assert a.volume_growth == 0.0 and a.volume_noise == 0.0
        result = simulate(a, PLANS, months=3, scenarios=20)
        per_task = result.revenue[result.revenue["plan"] == "per-task"]["p50"]
        assert per_task.nunique() == 1 and per_task.iloc[0] > 0

    def test_empty_history_is_refused(self) -> None:
        with pytest.raises(ConfigError, match="no tasks"):
            estimate_assumptions(synthetic_history().iloc[0:0])


# ----------------------------------------------------------------------------- warehouse and CLI
class TestOnTheDemoWarehouse:
    def test_forecast_continues_the_backtest_history(self, demo_wh: Warehouse) -> None:
        result = forecast(demo_wh, example_plans(), DEF, months=4, scenarios=200, seed=1)
        assert set(result.history["plan"]) == set(example_plans().names)
        assert result.history["month"].max() < result.months[0]
        assert list(result.volatility["plan"]) == list(example_plans().names)
        assert (result.volatility["cv_horizon"] >= 0).all()
        assert result.reference == "seats-today"

    def test_overrides_move_the_answer(self, demo_wh: Warehouse) -> None:
        base = forecast(demo_wh, example_plans(), DEF, months=6, scenarios=100, seed=1)
        grown = forecast(demo_wh, example_plans(), DEF, months=6, scenarios=100, seed=1,
                         overrides={"volume_growth": base.assumptions.volume_growth + 0.05})
        assert grown.totals["per-conversation"].mean() > base.totals["per-conversation"].mean()


def run_cli(db: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--db", str(db), "forecast", *args], catch_exceptions=False)
    return result.exit_code, result.output


class TestCommandLine:
    ARGS = ("--plans", str(EXAMPLE_PLANS), "--definition", "zendesk-ar", "--months", "3", "--scenarios", "150")

    def test_json_has_one_band_per_plan_and_month(self, demo_db_path: Path) -> None:
        code, out = run_cli(demo_db_path, *self.ARGS, "--format", "json")
        assert code == 0
        data = json.loads(out)
        assert list(data["plans"]) == list(example_plans().names)
        for rows in data["plans"].values():
            assert len(rows) == 3
            assert all(set(r) >= {"month", "p10", "p50", "p90"} for r in rows)
            assert all(r["p10"] <= r["p50"] <= r["p90"] for r in rows)
        assert [r["month"] for r in data["plans"]["per-outcome"]] == data["months"]
        assert set(data["prob_beats"]["per-outcome"]) == set(example_plans().names)
        assert set(data["margin"]) == set(data["plans"])
        assert "volume_growth" in data["assumptions"]["values"]

    def test_same_seed_gives_byte_identical_json(self, demo_db_path: Path) -> None:
        first = run_cli(demo_db_path, *self.ARGS, "--seed", "5", "--format", "json")[1]
        again = run_cli(demo_db_path, *self.ARGS, "--seed", "5", "--format", "json")[1]
        other = run_cli(demo_db_path, *self.ARGS, "--seed", "6", "--format", "json")[1]
        assert first == again
        assert first != other

    def test_assume_overrides_an_estimate(self, demo_db_path: Path) -> None:
        code, out = run_cli(demo_db_path, *self.ARGS, "--assume", "churn_hazard=0.05", "--format", "json")
        assert code == 0 and json.loads(out)["assumptions"]["values"]["churn_hazard"] == 0.05

    def test_table_names_the_plans_and_the_assumptions(self, demo_db_path: Path) -> None:
        code, out = run_cli(demo_db_path, *self.ARGS)
        assert code == 0
        assert "per-outcome" in out and "Probability" in out and "volume_growth" in out

    def test_unknown_assumption_is_a_clear_error(self, demo_db_path: Path) -> None:
        with pytest.raises(ConfigError, match="NAME one of"):
            run_cli(demo_db_path, *self.ARGS, "--assume", "speed=3")


def test_costs_are_taken_from_the_plan_set_for_margin() -> None:
    costs = Costs(per_ai_task=Decimal("0.05"))
    a = estimate_assumptions(synthetic_history(), per_ai_task=float(costs.per_ai_task))
    assert a.accounts["other_cost_per_conversation"].tolist() == [0.05] * 3
    assert (a.accounts["token_cost_per_conversation"] == 0.0).all()  # cogs 0.012 < 0.05: clipped, not negative


# ----------------------------------------------------------------------------- no seam (issue 14)
class TestTheForecastContinuesTheHistory:
    def test_today_is_the_last_actual_month_not_the_trend(self) -> None:
        hist = synthetic_history(months=18, noise=0.15, seed=5)
        a = estimate_assumptions(hist)
        last = hist[hist["month"] == hist["month"].max()].set_index("account_id")
        acc = a.accounts.set_index("account_id")
        assert acc["tasks"].to_numpy() == pytest.approx(last.loc[acc.index, "tasks"].to_numpy(), rel=1e-12)
        rate = (last["outcomes"] / last["conversations"]).loc[acc.index]
        assert acc["resolution_rate"].to_numpy() == pytest.approx(rate.to_numpy(), rel=1e-9)

    def test_the_first_month_is_one_month_of_growth_after_the_last(self) -> None:
        hist = synthetic_history(months=18, noise=0.15, seed=5)
        a = estimate_assumptions(hist).without_volatility()
        result = simulate(a, PLANS, months=2, scenarios=5, seed=1)
        per_task = result.revenue[result.revenue["plan"] == "per-task"]["p50"].to_numpy()
        acc = a.accounts
        expected = float((acc["tasks"] * np.exp(a.volume_growth + acc["growth_offset"])).sum())
        assert per_task[0] == pytest.approx(expected, abs=0.01 * len(acc))  # each account's line in cents
        last_actual = float(hist[hist["month"] == hist["month"].max()]["tasks"].sum())
        # no seam: within one month of growth of the last actual month
        assert abs(per_task[0] / last_actual - 1) < 0.05

    def test_the_json_leaves_a_plan_against_itself_empty(self) -> None:
        result = simulate(ASSUMPTIONS, PLANS, months=3, scenarios=50, seed=2)
        beats = result.to_dict()["prob_beats"]
        assert all(beats[p][p] is None for p in beats)
        text = result.beats_text()
        assert all(text.loc[p, p] == "" for p in text.index)
        off = [text.loc[a, b] for a in text.index for b in text.columns if a != b]
        assert all(v.endswith("%") for v in off)
        exact_zero = result.beats_table().stack()
        for (a, b), p in exact_zero.items():
            assert (text.loc[a, b] == "0%") == (p == 0)


@pytest.mark.parametrize(("p", "sentence"), [
    (0.0, "In none of the 50 scenarios does A earn more than B"),
    (1.0, "In all 50 scenarios A earns more than B"),
    (0.004, "<1% chance that A earns more than B"),
    (0.42, "42% chance that A earns more than B"),
])
def test_the_headline_says_none_or_all_rather_than_zero_percent(p: float, sentence: str) -> None:
    result = simulate(ASSUMPTIONS, PLANS, months=3, scenarios=50, seed=2)
    beats = pd.DataFrame([[0.0, p], [1 - p, 0.0]], index=["A", "B"], columns=["A", "B"])
    assert replace(result, prob_beats=beats).chance_sentence("A", "B") == sentence
