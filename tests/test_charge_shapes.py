"""The charge shapes of DESIGN 10 (issue 17): per-tier flat fees, blocks, prices by
dimension, prepaid commitments. Hand-computed cases on both exact paths (Decimal lines and
integer cents); hypothesis agreement of the two (and of the float simulation) on random
plans and multi-month usage; the backtest against the plain-Python billing reference on
hand-made task logs; the cube's model-tier split against the task-level answer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcome_pricing.kit.money import MICRO
from outcome_pricing.pricing import backtest, backtest_metrics, statement
from outcome_pricing.pricing.cents import plan_cents
from outcome_pricing.pricing.charges import bill, bill_total, month_lines
from outcome_pricing.pricing.metrics import account_month_metrics, usage_arrays
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.simulate import by_metric_name, plan_cents_vectorised
from outcome_pricing.pricing.spanning import span_account
from outcome_pricing.pricing.terms import (
    Charge,
    Commitment,
    Dimension,
    LineKind,
    Metric,
    Mode,
    Plan,
    Tier,
)
from outcome_pricing.pricing.usage import BySplit, Usage, UsageArrays
from outcome_pricing.rules import Definition, outcomes
from outcome_pricing.rules.evaluate import (
    _counts_from_tasks,
    _disputes_applied,
    _pivot,
    outcomes_by_dimension,
)
from outcome_pricing.warehouse import Warehouse, cube
from tests.reference import reference_bills
from tests.rows import load_tasks
from tests.shapes import plan_and_usage
from tests.strategies import definitions

D = Decimal
DEF = Definition.preset("intercom-fin-2026")


def one_month(**quantities: Any) -> Usage:
    by = quantities.pop("by", {})
    return Usage({Metric(k): D(str(v)) for k, v in quantities.items()}, by_values=by)


def arrays_of(u: Usage) -> UsageArrays:
    micro = {m: np.array([int(u.quantities.get(m, D(0)) * MICRO)], dtype=np.int64) for m in Metric if m is not Metric.SEATS_NEEDED}
    by = {k: BySplit(tuple(v), np.array([[int(q * MICRO) for q in v.values()]], dtype=np.int64)) for k, v in u.by_values.items()}
    return UsageArrays(micro, np.array([u.human_ms], dtype=np.int64), np.array([0], dtype=np.int64), by=by)


def both(plan: Plan, u: Usage) -> Decimal:
    """One month's total by both exact paths; they must agree."""
    exact = bill_total(bill(plan, u))
    fast = D(int(plan_cents(plan, arrays_of(u)).total[0])) / 100
    assert exact == fast, (exact, fast)
    return exact


def charge_plan(charge: Charge, **terms: Any) -> Plan:
    return Plan("p", charges=(charge,), **terms)


# ============================================================================ per-tier flat fees
GRADUATED_FLAT = Charge(Metric.OUTCOMES, tiers=(Tier(D(10), D("0.10"), D("0.02")), Tier(None, D("0.05"), D("0.03"))))


class TestPerTierFlat:
    @pytest.mark.parametrize(("q", "total"), [(0, "0"), (1, "0.12"), (10, "1.02"), (11, "1.10"), (12, "1.15")])
    def test_graduated_bills_the_flat_of_every_band_reached(self, q: int, total: str) -> None:
        assert both(charge_plan(GRADUATED_FLAT), one_month(outcomes=q)) == D(total)

    @pytest.mark.parametrize(("q", "total"), [(0, "0"), (1, "12"), (100, "210"), (101, "101"), (300, "200")])
    def test_volume_bills_the_flat_of_the_band_the_quantity_falls_in(self, q: int, total: str) -> None:
        charge = Charge(Metric.OUTCOMES, mode=Mode.VOLUME, tiers=(
            Tier(D(100), D(2), D(10)), Tier(D(200), D(1)), Tier(None, D("0.5"), D(50))))
        assert both(charge_plan(charge), one_month(outcomes=q)) == D(total)

    def test_the_flat_counts_after_the_allowance(self) -> None:
        charge = Charge(Metric.OUTCOMES, included=D(5), tiers=(Tier(None, D(1), D(20)),))
        assert both(charge_plan(charge), one_month(outcomes=5)) == 0  # q = 0 reaches no band
        assert both(charge_plan(charge), one_month(outcomes=6)) == D(21)

    def test_the_flat_is_part_of_the_line_and_counts_toward_the_cap(self) -> None:
        plan = charge_plan(Charge(Metric.OUTCOMES, tiers=(Tier(None, D(1), D(100)),)), cap=D(50))
        lines = bill(plan, one_month(outcomes=3))
        assert [line.kind for line in lines] == [LineKind.CHARGE, LineKind.CAP]
        assert lines[0].amount == D(103) and bill_total(lines) == D(50)
        assert "$100.00 flat" in lines[0].detail


# ============================================================================ blocks
class TestBlocks:
    @pytest.mark.parametrize(("q", "total"), [(0, "0"), (1, "1"), (100, "1"), (101, "2"), (401, "5")])
    def test_whole_blocks_rounded_up(self, q: int, total: str) -> None:
        assert both(charge_plan(Charge(Metric.TASKS, price=D(1), block=D(100))), one_month(tasks=q)) == D(total)

    def test_blocks_count_after_the_allowance_and_tiers_count_blocks(self) -> None:
        charge = Charge(Metric.TASKS, included=D(10), block=D(10),
                        tiers=(Tier(D(2), D(5)), Tier(None, D(1))), mode=Mode.GRADUATED)
        # 121 - 10 = 111 units -> 12 blocks: 2 x $5 + 10 x $1
        assert both(charge_plan(charge), one_month(tasks=121)) == D(20)
        line = bill(charge_plan(charge), one_month(tasks=121))[0]
        assert line.blocks == 12 and line.detail.startswith("12 blocks")

    def test_fractional_blocks_of_a_metric_in_millions(self) -> None:
        # 1,000 tokens a block = 0.001 million; 2,500 tokens -> 3 blocks at $0.02
        charge = Charge(Metric.INPUT_TOKENS_M, price=D("0.02"), block=D("0.001"))
        assert both(charge_plan(charge), one_month(input_tokens_m="0.0025")) == D("0.06")


# ============================================================================ prices by dimension
FIN = Charge(Metric.OUTCOMES, by=Dimension.MODEL_TIER, prices=(("advanced", D("1.49")), ("default", D("0.99"))))


class TestPricesByDimension:
    def test_one_line_per_listed_value_and_default_for_the_rest(self) -> None:
        key = ("model_tier", "outcomes", None)
        u = one_month(outcomes=17, by={key: {"advanced": D(10), "standard": D(4), "": D(3)}})
        lines = bill(charge_plan(FIN), u)
        assert [line.name for line in lines] == [
            "outcomes, model tier advanced", "outcomes, every other model tier (default price)"]
        assert [line.amount for line in lines] == [D("14.90"), D("6.93")]
        assert both(charge_plan(FIN), u) == D("21.83")

    def test_a_listed_value_without_units_bills_zero(self) -> None:
        key = ("model_tier", "outcomes", None)
        u = one_month(outcomes=2, by={key: {"standard": D(2)}})
        assert [line.amount for line in bill(charge_plan(FIN), u)] == [D(0), D("1.98")]

    def test_without_a_split_every_unit_is_of_a_value_not_listed(self) -> None:
        assert both(charge_plan(FIN), one_month(outcomes=3)) == D("2.97")

    def test_each_line_rounds_half_up_on_its_own(self) -> None:
        charge = Charge(Metric.TASKS, by=Dimension.CHANNEL, prices=(("chat", D("0.005")), ("default", D("0.005"))))
        u = one_month(tasks=2, by={("channel", "tasks", None): {"chat": D(1), "voice": D(1)}})
        assert [line.amount for line in bill(charge_plan(charge), u)] == [D("0.01"), D("0.01")]


# ============================================================================ prepaid commitment
def months_from(first: tuple[int, int], n: int) -> list[int]:
    start = first[0] * 12 + first[1] - 1
    return list(range(start, start + n))


def run_commitment(plan: Plan, usage_cents: list[int], first: tuple[int, int] = (2025, 11)) -> tuple[list[Decimal], list[Decimal]]:
    """Totals and breakage per month, by the Decimal stage and the vectorised stage (must agree)."""
    months = months_from(first, len(usage_cents))
    charge = plan.charges[0]
    per_month = [month_lines(plan, one_month(tasks=D(c) / 100)) for c in usage_cents]
    spanned = span_account(plan, list(zip(months, per_month, strict=True)), months[0])
    micro = {m: np.zeros(len(months), dtype=np.int64) for m in Metric if m is not Metric.SEATS_NEEDED}
    micro[Metric.TASKS] = np.array(usage_cents, dtype=np.int64) * MICRO // 100
    arrays = UsageArrays(micro, np.zeros(len(months), dtype=np.int64), np.zeros(len(months), dtype=np.int64),
                         account=np.zeros(len(months), dtype=np.int64), month=np.array(months, dtype=np.int64),
                         start=np.full(len(months), months[0], dtype=np.int64))
    fast = plan_cents(plan, arrays)
    totals = [bill_total(s.lines) for s in spanned]
    breakage = [s.breakage for s in spanned]
    assert [int(t * 100) for t in totals] == fast.total.tolist()
    assert [int(b * 100) for b in breakage] == fast.breakage.tolist()
    assert charge.metric is Metric.TASKS
    return totals, breakage


def committed(amount: str, months: int, rollover: bool = False, pct: str = "1", fee: str = "0", cap: str = "0") -> Plan:
    return Plan("c", platform_fee=D(fee), cap=D(cap), charges=(Charge(Metric.TASKS, price=D(1)),),
                commitment=Commitment(D(amount), months, rollover, D(pct)))


class TestCommitment:
    def test_periods_across_a_year_end_bill_the_commitment_then_overage(self) -> None:
        # Nov-Dec-Jan and Feb-Mar-Apr: $100 a period; usage $30, $50, $40 -> $20 overage in January.
        totals, breakage = run_commitment(committed("100", 3), [3000, 5000, 4000, 1000, 0, 0])
        assert totals == [D(100), D(0), D(20), D(100), D(0), D(0)]
        assert breakage == [0, 0, 0, 0, 0, D(90)]

    def test_unused_balance_expires_at_the_period_end_without_rollover(self) -> None:
        totals, breakage = run_commitment(committed("100", 2), [1000, 2000, 0, 0])
        assert totals == [D(100), D(0), D(100), D(0)]
        assert breakage == [0, D(70), 0, D(100)]

    def test_rollover_carries_up_to_the_cap_as_one_pool(self) -> None:
        # Period 1: $100, used $10 -> $90 left, carry at most 50% x $100 = $50, $40 expires.
        # Period 2: pool $50 + $100 = $150; usage $140 draws it all but $10.
        totals, breakage = run_commitment(committed("100", 1, rollover=True, pct="0.5"), [1000, 14000, 16000])
        assert totals == [D(100), D(100), D(100) + D(160) - D(100) - D(10)]
        assert breakage == [D(40), D(0), D(0)]

    def test_a_period_open_at_the_end_of_the_data_reports_no_breakage(self) -> None:
        _, breakage = run_commitment(committed("100", 12), [100] * 5)
        assert breakage == [0] * 5

    def test_the_platform_fee_is_not_drawn_down(self) -> None:
        plan = committed("100", 1, fee="49")
        lines = bill(plan, one_month(tasks=30))
        assert [line.kind for line in lines] == [LineKind.CHARGE, LineKind.PLATFORM_FEE, LineKind.COMMITMENT, LineKind.DRAWDOWN]
        assert [line.amount for line in lines] == [D(30), D(49), D(100), D(-30)]
        assert "drawn from the prepaid commitment" in lines[-1].name

    def test_usage_after_the_cap_draws_down(self) -> None:
        totals, _ = run_commitment(committed("100", 1, cap="60"), [9000])
        assert totals == [D(100)]  # $90 capped at $60, drawn from the $100

    def test_months_before_the_first_charged_month_carry_no_commitment(self) -> None:
        plan = committed("100", 2)
        lines = [month_lines(plan, one_month(tasks=5)) for _ in range(3)]
        spanned = span_account(plan, list(zip([10, 11, 12], lines, strict=True)), start=11)
        assert spanned[0].commitment is None and bill_total(spanned[0].lines) == D(5)
        assert bill_total(spanned[1].lines) == D(100)


# ============================================================================ the paths agree
def exact_by_account(plan: Plan, usage: UsageArrays) -> tuple[list[int], list[int]]:
    """Totals and breakage (cents) per row by the Decimal stage, account by account."""
    assert usage.account is not None and usage.month is not None and usage.start is not None
    totals, breakage = [0] * len(usage), [0] * len(usage)
    for a in np.unique(usage.account):
        rows = np.nonzero(usage.account == a)[0]
        months = [(int(usage.month[i]), month_lines(plan, usage.row(int(i)))) for i in rows]
        for i, spanned in zip(rows, span_account(plan, months, int(usage.start[rows[0]])), strict=True):
            totals[i] = int(bill_total(spanned.lines) * 100)
            breakage[i] = int(spanned.breakage * 100)
    return totals, breakage


class TestPathsAgree:
    @settings(max_examples=80, deadline=None)
    @given(plan_and_usage())
    def test_decimal_and_integer_cents_agree_on_every_shape(self, drawn: tuple[Plan, UsageArrays]) -> None:
        plan, usage = drawn
        fast = plan_cents(plan, usage)
        totals, breakage = exact_by_account(plan, usage)
        assert fast.total.tolist() == totals
        assert fast.breakage.tolist() == breakage

    @settings(max_examples=25, deadline=None)
    @given(plan_and_usage(big=True))
    def test_huge_quantities_stay_exact(self, drawn: tuple[Plan, UsageArrays]) -> None:
        plan, usage = drawn
        assert plan_cents(plan, usage).total.tolist() == exact_by_account(plan, usage)[0]

    @settings(max_examples=60, deadline=None)
    @given(plan_and_usage(commitment=False))
    def test_the_float_simulation_is_within_a_cent_a_line(self, drawn: tuple[Plan, UsageArrays]) -> None:
        plan, usage = drawn
        metrics: dict[str, np.ndarray] = {m.value: a / MICRO for m, a in usage.micro.items()}
        metrics["human_hours"] = usage.human_ms / 3_600_000
        # the simulation reads listed values by name and the rest of the metric at `default`
        for (dim, metric, _), split in usage.by.items():
            for j, value in enumerate(split.values):
                metrics[by_metric_name(metric, dim, value)] = split.micro[:, j] / MICRO
        fast = plan_cents_vectorised(plan, metrics, usage.seat_price_micro / MICRO)
        exact = plan_cents(plan, usage).total
        lines = sum(len(c.listed_values) + 1 if c.by else 1 for c in plan.charges)
        assert np.all(np.abs(fast - exact) <= lines + 1e-6)


# ============================================================================ on a warehouse
def rows_across_a_year_end() -> list[dict[str, Any]]:
    rows = []
    start = dt.datetime(2025, 10, 3, 9)
    tiers = ["advanced", "standard", None, "advanced", "", "premium"]
    channels = ["chat", "email", "voice"]
    for i in range(90):
        created = start + dt.timedelta(days=i * 2, hours=i % 7)
        rows.append({
            "task_id": f"T{i:03d}", "account_id": "A1" if i % 3 else "A2", "requester_id": f"R{i % 11}",
            "topic": ["billing", "login", "refund"][i % 3], "channel": channels[i % 3],
            "created_at": created, "closed_at": created + dt.timedelta(hours=1),
            "customer_confirmed": i % 4 != 0, "quiet_hours": 30.0 if i % 4 == 0 else None,
            "handoff": i % 9 == 0, "context_retained": i % 2 == 0,
            "model_tier": tiers[i % len(tiers)], "tokens_in": 1000 * i, "tokens_out": 300 * i,
            "human_seconds": float(60 * (i % 5)),
        })
    return rows


SHAPES = PlanSet((
    Plan("by-tier", charges=(FIN,)),
    Plan("by-channel", charges=(Charge(Metric.CONVERSATIONS, by=Dimension.CHANNEL,
                                       prices=(("email", D("0.4")), ("default", D("0.25")))),)),
    Plan("by-topic-tokens", charges=(Charge(Metric.INPUT_TOKENS_M, by=Dimension.TOPIC,
                                            prices=(("refund", D(9)), ("default", D(3)))),)),
    Plan("graduated-flat", charges=(Charge(Metric.OUTCOMES, tiers=(Tier(D(5), D(1), D(10)), Tier(None, D("0.5"), D(3)))),)),
    Plan("blocks", platform_fee=D(5), charges=(Charge(Metric.TASKS, included=D(3), block=D(4), price=D("2.5")),)),
    Plan("committed", charges=(Charge(Metric.OUTCOMES, price=D("1.5")),),
         commitment=Commitment(D(20), 3, rollover=True, rollover_max_pct=D("0.5"))),
))


@pytest.fixture(scope="module")
def year_end_wh() -> Any:
    with Warehouse.in_memory() as wh:
        load_tasks(wh, rows_across_a_year_end())
        yield wh


class TestOnAWarehouse:
    @pytest.mark.parametrize("name", SHAPES.names)
    def test_backtest_matches_the_plain_python_reference(self, year_end_wh: Warehouse, name: str) -> None:
        plan = SHAPES.plan(name)
        frame = backtest(year_end_wh, PlanSet((plan,)), DEF).frame
        expected = reference_bills(rows_across_a_year_end(), DEF, plan)
        got = {(r.account_id, r.month.strftime("%Y-%m")): (r.revenue_cents, round(r.breakage * 100)) for r in frame.itertuples()}
        assert got == {k: (int(t * 100), int(b * 100)) for k, (t, b) in expected.items()}

    @pytest.mark.parametrize("name", SHAPES.names)
    def test_statements_equal_the_backtest(self, year_end_wh: Warehouse, name: str) -> None:
        bt = backtest(year_end_wh, SHAPES, DEF)
        rows = bt.frame[bt.frame["plan"] == name]
        for r in rows.iloc[::3].itertuples():  # every third account-month: a statement is a full pass
            s = statement(year_end_wh, SHAPES, name, DEF, r.account_id, r.month.strftime("%Y-%m"))
            assert int(s.total * 100) == r.revenue_cents
            assert s.breakage == D(round(r.breakage * 100)) / 100

    def test_the_statement_shows_the_commitment_in_words(self, year_end_wh: Warehouse) -> None:
        s = statement(year_end_wh, SHAPES, "committed", DEF, "A1", "2025-12")
        text = s.to_text()
        assert "prepaid commitment" in text and "Breakage (expired, not billed)" in text
        assert "Commitment period               2025-10 to 2025-12" in text
        assert list(s.lines_frame()["line"]) == ["usage charge", "drawn from commitment"]

    def test_metrics_made_without_the_plans_are_refused(self, year_end_wh: Warehouse) -> None:
        from outcome_pricing.errors import ConfigError

        metrics = account_month_metrics(year_end_wh, DEF)
        with pytest.raises(ConfigError, match="plans=planset.plans"):
            backtest_metrics(metrics, SHAPES)

    def test_usage_arrays_carry_the_account_month_structure(self, year_end_wh: Warehouse) -> None:
        usage = usage_arrays(account_month_metrics(year_end_wh, DEF, plans=SHAPES.plans))
        assert usage.month is not None and usage.start is not None and usage.account is not None
        assert int(usage.start.min()) == 2025 * 12 + 9  # October 2025
        assert set(usage.by) == {("model_tier", "outcomes", None), ("channel", "conversations", None),
                                 ("topic", "input_tokens_m", None)}


# ============================================================================ the cube's tier split
class TestTierSplit:
    def test_summed_over_tiers_it_is_the_cube(self, demo_wh: Warehouse) -> None:
        with demo_wh.cursor() as cur:
            diff = cur.execute(
                f"SELECT count(*) FROM (SELECT k, p, sum(tasks) AS n, sum(issue_units) AS u FROM {cube.TIERS_TABLE} "
                f"GROUP BY ALL) AS a FULL JOIN {cube.CUBE_TABLE} AS b USING (k, p) "
                "WHERE a.n IS DISTINCT FROM b.tasks OR a.u IS DISTINCT FROM b.issue_units"
            ).fetchone()
        assert diff == (0,)

    @pytest.mark.parametrize("preset", ["intercom-fin-2026", "zendesk-ar", "lenient"])
    def test_model_tier_from_the_cube_equals_the_task_level_answer(self, demo_wh: Warehouse, preset: str) -> None:
        assert_split_is_exact(demo_wh, Definition.preset(preset).with_knobs(partial_credit=0.3), "model_tier")

    @pytest.mark.slow
    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(d=definitions, dimension=st.sampled_from(["model_tier", "channel", "topic"]))
    def test_outcomes_by_dimension_equal_the_task_level_answer(self, demo_wh: Warehouse, d: Definition, dimension: str) -> None:
        assert_split_is_exact(demo_wh, d, dimension)


def assert_split_is_exact(wh: Warehouse, d: Definition, dimension: str) -> None:
    """outcomes_by_dimension (the cube's tier split where it answers) equals the task-level
    counts, and summed over the dimension it equals `outcomes`."""
    got = outcomes_by_dimension(wh, d, dimension)
    by = ["account_id", "month", dimension]
    counts = _disputes_applied(wh, d, _counts_from_tasks(wh, d, dimension), dimension)
    expected = _pivot(*counts, d, tuple(by))
    assert got[by].reset_index(drop=True).equals(expected[by].reset_index(drop=True))
    assert got["tasks"].tolist() == expected["tasks"].tolist()
    np.testing.assert_allclose(got["billable_units"], expected["billable_units"], atol=1e-9)
    total = outcomes(wh, d)
    summed = got.groupby(["account_id", "month"], sort=True)["billable_units"].sum().to_numpy()
    np.testing.assert_allclose(summed, total["billable_units"].to_numpy(), atol=1e-9)


class TestPriceSweepsOnTheNewShapes:
    def test_a_by_dimension_price_scales_every_value_from_its_default(self) -> None:
        plan = charge_plan(FIN).with_outcome_price(D("1.98"))
        assert plan.charges[0].prices == (("advanced", D("2.98")), ("default", D("1.98")))
        assert plan.outcome_price() == D("1.98")

    def test_a_tiered_price_keeps_its_flat_fees(self) -> None:
        plan = charge_plan(GRADUATED_FLAT).with_outcome_price(D("0.20"))
        assert [(t.price, t.flat) for t in plan.charges[0].tiers] == [(D("0.20"), D("0.02")), (D("0.1"), D("0.03"))]


class TestCommandLine:
    def test_backtest_json_carries_commitment_drawdown_and_breakage(self, demo_db_path: Any) -> None:
        import json

        from click.testing import CliRunner

        from outcome_pricing.cli import cli

        result = CliRunner().invoke(cli, ["--db", str(demo_db_path), "backtest", "--definition", "zendesk-ar", "--format", "json"])
        assert result.exit_code == 0, result.output
        rows = [r for r in json.loads(result.output) if r["plan"] == "committed-rollover"]
        assert rows and all({"commitment", "drawdown", "breakage"} <= set(r) for r in rows)
        assert any(r["commitment"] > 0 for r in rows)
        assert all(r["breakage"] >= 0 and r["drawdown"] <= 0 for r in rows)
        # periods of 3 months from each account's first month: breakage only in a period's last month
        first = {}
        for r in rows:
            first.setdefault(r["account_id"], r["month"])
        for r in rows:
            y, m = map(int, r["month"].split("-"))
            y0, m0 = map(int, first[r["account_id"]].split("-"))
            position = (y * 12 + m - y0 * 12 - m0) % 3
            assert (r["commitment"] > 0) == (position == 0)
            assert r["breakage"] == 0 or position == 2
