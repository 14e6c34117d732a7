"""The forecast prices every plan term the backtest does (issues 16.5, 17.5, 18.5):
outcomes settled on audits, prices by dimension, prepaid commitments (breakage and
overage bands), free months and charge start, guarantee credits netted from revenue.
Each against a hand-computed case or a plain-Python reference."""

from __future__ import annotations

import ast
import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from outcome_pricing.analysis.deal_risk import deal_risk
from outcome_pricing.analysis.forecast import ACCOUNT_COLUMNS, Assumptions, forecast, simulate
from outcome_pricing.analysis.forecast.mix import mix_columns, settlement_factor
from outcome_pricing.kit.money import MICRO
from outcome_pricing.pricing import EXAMPLE_PLANS
from outcome_pricing.pricing.deal_terms import ChargeFrom, DealTerms, Guarantee
from outcome_pricing.pricing.metrics import settled_column
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.simulate import (
    Periods,
    by_metric_name,
    commitment_walk,
    plan_cents_vectorised,
    settled_metric_name,
)
from outcome_pricing.pricing.spanning import commitment_cents
from outcome_pricing.pricing.splits import split_column
from outcome_pricing.pricing.terms import (
    Charge,
    Commitment,
    Dimension,
    Metric,
    Plan,
    Settlement,
    Tier,
)
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse.handle import Warehouse

CONV, RATE = 100, 0.62
LAST = pd.Timestamp(2025, 6, 1)
SETTLED = settled_metric_name(("point", 3))


def assumptions(derived: dict[str, tuple[str, float]] | None = None) -> Assumptions:
    """One account, 100 conversations a month at a fixed 62% rate: no trend, no noise."""
    row: dict[str, object] = dict.fromkeys(ACCOUNT_COLUMNS, 0.0)
    row.update(account_id="A1", tasks=float(CONV), ai_share=1.0, resolution_rate=RATE, ceiling_factor=1.0,
               rate_cap=1.0, hours_per_open_task=0.1)
    mapping = {}
    for key, (base, factor) in (derived or {}).items():
        row[key] = factor
        mapping[key] = base
    # a ceiling of 0 leaves the account at its own rate (the curve never falls below today's)
    return Assumptions(resolution_ceiling=0.0, accounts=pd.DataFrame([row]), last_month=LAST, derived=mapping)


def history(months: int = 1) -> pd.DataFrame:
    """The account's last ``months`` months of history, ending at LAST, 62 outcomes in each."""
    dates = [LAST - pd.DateOffset(months=k) for k in reversed(range(months))]
    n = len(dates)
    return pd.DataFrame({
        "account_id": ["A1"] * n, "month": dates, "seats": [0] * n, "conversations": [CONV] * n,
        "tasks": [CONV] * n, "outcomes_micro": [int(CONV * RATE * MICRO)] * n, "input_tokens": [0] * n,
        "output_tokens": [0] * n, "human_ms": [0] * n, "seat_price_micro": [0] * n, "saved_ms": [Fraction(0)] * n,
        "agent_hourly_cost": [None] * n, "go_live_month": [dates[0]] * n, "outcomes": [CONV * RATE] * n,
        "cogs_cents": [0] * n,
    })


def cents(amount: float) -> int:
    """A plain-Python line: dollars to whole cents, half up."""
    return int(Decimal(repr(amount)).scaleb(2).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def monthly(result_revenue: pd.DataFrame, column: str = "p50") -> list[float]:
    return [round(float(v), 6) for v in result_revenue[column]]


# ============================================================================ audit settlement
def settled_plan(included: int = 5) -> Plan:
    return Plan("settled", charges=(Charge(Metric.OUTCOMES, included=Decimal(included), price=Decimal(1),
                                           audit_settlement=Settlement.POINT, audit_window_months=3),))


class TestAuditSettlement:
    def test_the_projected_months_bill_the_settled_outcomes(self) -> None:
        # 62 outcomes x 0.9 settled = 55.8, less 5 included = 50.8 at $1 = $50.80 every month
        a = assumptions({SETTLED: ("outcomes", 0.9)})
        result = simulate(a, PlanSet((settled_plan(),)), months=4, scenarios=5, seed=0)
        assert monthly(result.revenue) == [cents(62 * 0.9 - 5) / 100] * 4

    def test_without_a_factor_the_plain_outcomes_are_billed(self) -> None:
        result = simulate(assumptions(), PlanSet((settled_plan(),)), months=2, scenarios=5, seed=0)
        assert monthly(result.revenue) == [57.0, 57.0]

    @settings(max_examples=60, deadline=None)
    @given(outcomes=st.lists(st.floats(0, 5000), min_size=1, max_size=6), factor=st.floats(0.5, 1.0),
           included=st.integers(0, 300), bound=st.integers(1, 2000))
    def test_vectorised_settlement_agrees_with_a_plain_python_reference(
        self, outcomes: list[float], factor: float, included: int, bound: int
    ) -> None:
        charge = Charge(Metric.OUTCOMES, included=Decimal(included), audit_settlement=Settlement.UPPER_BOUND,
                        tiers=(Tier(Decimal(bound), Decimal("0.99")), Tier(None, Decimal("0.79"))))
        plan = Plan("tiered", charges=(charge,))
        key = settled_metric_name(("upper_bound", 3))
        values = np.array(outcomes)
        fast = plan_cents_vectorised(plan, {"outcomes": values, key: values * factor, "tasks": values}, np.zeros(1))
        for got, units in zip(fast, outcomes, strict=True):
            q = max(units * factor - included, 0.0)
            expected = cents(min(q, bound) * 0.99 + max(q - bound, 0.0) * 0.79)
            assert abs(got - expected) <= 1  # floats: within a cent of the exact line

    def test_the_factor_is_the_last_months_settled_over_billable_ratio(self) -> None:
        key = ("point", 3)
        frame = pd.DataFrame({
            "account_id": ["A1", "A1", "A2", "A2", "A3"],
            "month": [LAST - pd.DateOffset(months=1), LAST, LAST - pd.DateOffset(months=1), LAST, LAST],
            "outcomes_micro": [100, 200, 400, 0, 0], settled_column(key): [100, 150, 300, 0, 0],
        })
        factors, derived = mix_columns(frame, (settled_plan(),), ["A1", "A2", "A3"])
        assert derived == {SETTLED: "outcomes"}
        # A1: its last month (150 / 200); A2 billed nothing last month: the window's ratio; A3: nothing, 1
        assert factors[SETTLED].tolist() == [0.75, 0.75, 1.0]
        assert settlement_factor(np.array([0.0]), np.array([0.0]), 3) == 1.0


# ============================================================================ prices by dimension
def tier_plan() -> Plan:
    return Plan("by-tier", charges=(Charge(Metric.OUTCOMES, by=Dimension.MODEL_TIER,
                                           prices=(("advanced", Decimal("1.49")), ("default", Decimal("0.99")))),))


class TestPricesByDimension:
    def test_a_two_price_plan_bills_the_held_split(self) -> None:
        key = ("model_tier", "outcomes", None)
        months = [LAST - pd.DateOffset(months=k) for k in (3, 2, 1, 0)]
        frame = pd.DataFrame({
            "account_id": ["A1"] * 4, "month": months, "outcomes_micro": [100, 100, 100, 100],
            # the month before the last three is left out of the shares
            split_column(key, "advanced"): [100, 30, 30, 30], split_column(key, "standard"): [0, 70, 60, 50],
            split_column(key, ""): [0, 0, 10, 20],
        })
        factors, derived = mix_columns(frame, (tier_plan(),), ["A1"])
        advanced = by_metric_name("outcomes", "model_tier", "advanced")
        assert derived[advanced] == "outcomes"
        assert factors[advanced].tolist() == [0.3]
        a = assumptions({k: (derived[k], float(factors[k].iloc[0])) for k in derived})
        result = simulate(a, PlanSet((tier_plan(),)), months=3, scenarios=5, seed=0)
        # 62 outcomes: 30% advanced at $1.49, the rest (standard and none) at the default $0.99
        expected = (cents(62 * 0.3 * 1.49) + cents(62 * 0.7 * 0.99)) / 100
        assert expected == 27.71 + 42.97
        assert monthly(result.revenue) == [expected] * 3

    def test_an_account_without_a_split_bills_all_at_default(self) -> None:
        result = simulate(assumptions(), PlanSet((tier_plan(),)), months=2, scenarios=5, seed=0)
        assert monthly(result.revenue) == [cents(62 * 0.99) / 100] * 2


# ============================================================================ commitments
def committed(amount: int, rollover: bool = False, pct: str = "1.0") -> Plan:
    return Plan(f"committed-{amount}", charges=(Charge(Metric.OUTCOMES, price=Decimal(1)),),
                commitment=Commitment(Decimal(amount), 3, rollover, Decimal(pct)))


def bands(result: object, plan: str) -> dict[str, float]:
    frame = result.commitments  # type: ignore[attr-defined]
    return {k: round(float(v), 6) for k, v in frame[frame["plan"] == plan].iloc[0].items() if k != "plan"}


class TestCommitmentBands:
    def test_deterministic_usage_gives_zero_width_bands_at_the_hand_computed_value(self) -> None:
        # $62 a month, 3-month periods over 6 months: $250 leaves 250 - 186 = 64 a period; $150 is 36 short
        rolled_over = committed(250, rollover=True, pct="0.2")
        plans = PlanSet((committed(250), committed(150), Plan("rolled", charges=rolled_over.charges,
                                                              commitment=rolled_over.commitment)))
        result = simulate(assumptions(), plans, months=6, scenarios=20, seed=0)
        under, over = bands(result, "committed-250"), bands(result, "committed-150")
        rolled = bands(result, "rolled")
        assert {under[f"breakage_{s}"] for s in ("mean", "p10", "p50", "p90")} == {128.0}
        assert {under[f"overage_{s}"] for s in ("mean", "p10", "p50", "p90")} == {0.0}
        assert {over[f"overage_{s}"] for s in ("mean", "p10", "p50", "p90")} == {72.0}
        assert over["breakage_p90"] == 0.0
        # rollover up to $50: period 1 expires 14 and carries 50; period 2 has 300 - 186 = 114, keeps 50, expires 64
        assert rolled["breakage_p50"] == 14.0 + 64.0
        assert monthly(result.revenue[result.revenue["plan"] == "committed-150"]) == [150.0, 0.0, 36.0] * 2

    def test_a_period_open_at_the_history_end_carries_its_balance(self) -> None:
        # the period began two months before the end: 250 - 2 x 62 = 126 left; month 1 draws 62, 64 expire
        result = simulate(assumptions(), PlanSet((committed(250),)), months=6, scenarios=5, seed=0,
                          history=history(months=2))
        assert monthly(result.revenue) == [0.0, 250.0, 0.0, 0.0, 250.0, 0.0]
        assert bands(result, "committed-250")["breakage_p50"] == 64.0 + 64.0  # the third period is still open


# ============================================================================ deal terms
WINDOW, THRESHOLD = 3, 0.60


def guaranteed(free_months: int = 2) -> Plan:
    return Plan("guaranteed", charges=(Charge(Metric.OUTCOMES, price=Decimal(1)),),
                deal=DealTerms(free_months=free_months, guarantee=Guarantee(Decimal(str(THRESHOLD)), WINDOW,
                                                                            Decimal("0.5"))))


class TestDealTerms:
    def test_free_months_bill_nothing_and_revenue_is_net_of_the_guarantee_credits(self) -> None:
        scenarios, months = 4000, 12
        plans = PlanSet((guaranteed(),))
        result = simulate(assumptions(), plans, months=months, scenarios=scenarios, seed=3, history=history())
        # the first charged month is the first task's month + 2: the first forecast month is free
        revenue = result.revenue
        assert float(revenue["p90"].iloc[0]) == 0.0
        g = result.guarantee_totals.iloc[0]
        gross = CONV * RATE * (months - 1)
        assert math.isclose(float(revenue["mean"].sum()), gross - float(g["expected_credit"]), abs_tol=1e-6)
        # three complete windows in the horizon (months 2-4, 5-7, 8-10), each short with binomial odds
        n = CONV * WINDOW
        p = binom.cdf(math.ceil(THRESHOLD * n) - 1, n, RATE)
        p_any = 1 - (1 - p) ** 3
        got = float(result.guarantees["p_trigger"].iloc[0])
        assert abs(got - p_any) < 4 * math.sqrt(p_any * (1 - p_any) / scenarios)

    def test_the_forecast_and_deal_risk_draw_the_same_credits(self) -> None:
        plans = PlanSet((guaranteed(),))
        result = simulate(assumptions(), plans, months=12, scenarios=500, seed=1, history=history())
        risk = deal_risk(assumptions(), plans, history(), months=12, scenarios=500, seed=1).plan("guaranteed")
        mine = result.guarantees.iloc[0]
        theirs = risk.accounts.iloc[0]
        for column in ("p_trigger", "expected_credit", "p90_credit"):
            assert math.isclose(float(mine[column]), float(theirs[column]), rel_tol=1e-12, abs_tol=1e-9)

    def test_charging_from_a_go_live_that_never_came_bills_nothing(self) -> None:
        h = history().assign(go_live_month=pd.to_datetime(pd.Series([None])))
        plan = Plan("from-go-live", charges=(Charge(Metric.OUTCOMES, price=Decimal(1)),),
                    deal=DealTerms(charge_from=ChargeFrom.GO_LIVE))
        result = simulate(assumptions(), PlanSet((plan,)), months=3, scenarios=5, seed=0, history=h)
        assert monthly(result.revenue, "p90") == [0.0, 0.0, 0.0]


# ============================================================================ on the demo warehouse
def test_the_forecast_reports_commitments_and_guarantees_of_the_example_plans(demo_wh: Warehouse) -> None:
    planset = PlanSet.from_toml(EXAMPLE_PLANS)
    result = forecast(demo_wh, planset, Definition.preset("zendesk-ar"), months=6, scenarios=50, seed=0)
    with_commitment = {p.name for p in planset.plans if p.commitment is not None}
    with_guarantee = {p.name for p in planset.plans if p.deal.guarantee is not None}
    assert set(result.commitments["plan"]) == with_commitment
    assert set(result.guarantee_totals["plan"]) == with_guarantee
    data = result.to_dict()
    assert set(data["commitments"]) == with_commitment and set(data["guarantees"]) == with_guarantee
    assert (result.commitments.drop(columns="plan") >= 0).all().all()


def test_deal_risk_uses_only_the_public_forecast_api() -> None:
    source = Path(__file__).parents[1] / "src/outcome_pricing/analysis/deal_risk.py"
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("outcome_pricing.analysis.forecast"):
            assert not [a.name for a in node.names if a.name.startswith("_")]


@pytest.mark.parametrize("free_months", [0, 1])
def test_without_a_history_to_place_them_on_the_terms_are_not_applied(free_months: int) -> None:
    result = simulate(assumptions(), PlanSet((guaranteed(free_months),)), months=2, scenarios=5, seed=0)
    assert monthly(result.revenue) == [62.0, 62.0] and result.guarantee_totals.empty


# ============================================================================ the commitment walk
@st.composite
def commitment_cases(draw: st.DrawFn) -> tuple[Commitment, np.ndarray, np.ndarray]:
    c = Commitment(Decimal(draw(st.integers(1, 900))), draw(st.integers(1, 4)), draw(st.booleans()),
                   Decimal(draw(st.sampled_from(["0.25", "0.5", "1.0"]))))
    accounts, months = draw(st.integers(1, 4)), draw(st.integers(1, 14))
    usage = np.array(draw(st.lists(st.integers(0, 120_000), min_size=accounts * months,
                                   max_size=accounts * months)), dtype=np.float64).reshape(1, accounts, months)
    offset = np.array(draw(st.lists(st.integers(-5, 6), min_size=accounts, max_size=accounts)), dtype=np.int64)
    return c, usage, offset


class TestCommitmentWalk:
    @settings(max_examples=50, deadline=None)
    @given(commitment_cases())
    def test_the_float_walk_with_offsets_agrees_with_the_exact_integer_stage(
        self, case: tuple[Commitment, np.ndarray, np.ndarray]
    ) -> None:
        c, usage, offset = case
        _, accounts, months = usage.shape
        walk = commitment_walk(c, usage, Periods(offset, np.zeros(accounts), np.zeros(accounts)))
        account = np.repeat(np.arange(accounts), months)
        month = np.tile(np.arange(months), accounts)
        exact = commitment_cents(c, usage[0].reshape(-1).astype(np.int64), account, month, -np.repeat(offset, months))
        billed = exact.commitment + usage[0].reshape(-1) + exact.drawdown
        assert walk.billed[0].reshape(-1).tolist() == billed.tolist()
        assert walk.breakage[0].reshape(-1).tolist() == exact.breakage.tolist()
        charged = (month + np.repeat(offset, months)) >= 0
        overage = np.where(charged, usage[0].reshape(-1) + exact.drawdown, 0)
        assert walk.overage[0].reshape(-1).tolist() == overage.tolist()

    @settings(max_examples=30, deadline=None)
    @given(commitment_cases(), st.integers(1, 13))
    def test_a_walk_cut_in_two_carries_its_balance_across(
        self, case: tuple[Commitment, np.ndarray, np.ndarray], cut: int
    ) -> None:
        c, usage, offset = case
        cut = min(cut, usage.shape[2])
        zeros = np.zeros(usage.shape[1])
        whole = commitment_walk(c, usage, Periods(offset, zeros, zeros))
        first = commitment_walk(c, usage[:, :, :cut], Periods(offset, zeros, zeros))
        rest = commitment_walk(c, usage[:, :, cut:], Periods(offset + cut, first.balance[0], first.carry[0]))
        assert np.concatenate([first.billed, rest.billed], axis=2).tolist() == whole.billed.tolist()
        assert np.concatenate([first.breakage, rest.breakage], axis=2).tolist() == whole.breakage.tolist()
