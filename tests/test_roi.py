"""The ROI case: hand-computed cash flows, risk and discounting applied once, the
case from the warehouse, the CLI and the HTML report."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from outcome_pricing import pricing
from outcome_pricing.analysis import roi
from outcome_pricing.analysis.recent import RECENT_MONTHS
from outcome_pricing.analysis.roi import Line, LineKind
from outcome_pricing.cli import cli
from outcome_pricing.errors import ConfigError, UnknownAccountError
from outcome_pricing.reports import roi_report as report
from outcome_pricing.rules import load_definition
from outcome_pricing.warehouse.schema import TASK_COLUMN_NAMES
from tests.appmodules import app_module

roi_link = app_module("roi_link")


def flows(impl: float, net_per_year: float, years: int = 3, rate: float = 0.10) -> roi.CashFlows:
    """Implementation at year 0, a constant benefit each later year, no haircut."""
    return roi.cash_flows(
        [
            Line("b", "benefit", LineKind.BENEFIT, (0.0,) + (net_per_year,) * years),
            Line("impl", "implementation", LineKind.COST, (impl,) + (0.0,) * years),
        ],
        years,
        rate,
    )


class TestHandComputedCashFlows:
    def test_npv_roi_and_payback_of_a_three_year_case(self) -> None:
        f = flows(100.0, 60.0)
        # -100 + 60/1.1 + 60/1.21 + 60/1.331
        assert f.npv == pytest.approx(-100 + 54.545455 + 49.586777 + 45.078888, abs=1e-5)
        assert f.pv_benefits == pytest.approx(149.211119, abs=1e-5)
        assert f.pv_costs == pytest.approx(100.0)
        assert f.roi == pytest.approx(0.49211119, abs=1e-7)
        # cumulative -100, -40, +20: 12 months + 40/60 of the second year
        assert f.payback_months == pytest.approx(20.0)

    def test_year_zero_is_not_discounted(self) -> None:
        f = flows(100.0, 60.0)
        assert f.years[0].discount_factor == 1.0
        assert f.years[0].net == -100.0
        assert f.years[1].discount_factor == pytest.approx(1 / 1.1)

    def test_payback_inside_the_first_year(self) -> None:
        assert flows(30.0, 60.0).payback_months == pytest.approx(6.0)

    def test_payback_exactly_at_a_year_boundary(self) -> None:
        assert flows(60.0, 60.0).payback_months == pytest.approx(12.0)
        assert flows(120.0, 60.0).payback_months == pytest.approx(24.0)

    def test_a_case_that_never_pays_back_has_no_payback(self) -> None:
        f = flows(1000.0, 60.0)
        assert f.payback_months is None
        assert f.npv < 0
        assert f.roi is not None and f.roi < 0

    def test_no_initial_investment_pays_back_at_once(self) -> None:
        assert flows(0.0, 60.0).payback_months == 0.0

    def test_roi_is_none_without_costs(self) -> None:
        assert flows(0.0, 60.0).roi is None

    def test_yearly_costs_reduce_net_each_year(self) -> None:
        f = roi.cash_flows(
            [
                Line("b", "b", LineKind.BENEFIT, (0.0, 100.0, 100.0)),
                Line("c", "c", LineKind.COST, (50.0, 40.0, 40.0)),
            ],
            2,
            0.0,
        )
        assert [y.net for y in f.years] == [-50.0, 60.0, 60.0]
        assert f.npv == pytest.approx(70.0)
        assert f.roi == pytest.approx(70.0 / 130.0)
        assert f.payback_months == pytest.approx(10.0)

    @settings(max_examples=40, deadline=None)
    @given(
        nets=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=6),
        rate=st.floats(0, 0.5),
    )
    def test_npv_matches_the_textbook_formula(self, nets: list[float], rate: float) -> None:
        years = len(nets) - 1
        f = roi.cash_flows(
            [
                Line("b", "b", LineKind.BENEFIT, tuple(max(n, 0.0) for n in nets)),
                Line("c", "c", LineKind.COST, tuple(max(-n, 0.0) for n in nets)),
            ],
            years,
            rate,
        )
        expected = sum(n / (1 + rate) ** y for y, n in enumerate(nets))
        assert f.npv == pytest.approx(expected, rel=1e-9, abs=1e-6)

    @settings(max_examples=40, deadline=None)
    @given(nets=st.lists(st.integers(-100_000, 100_000), min_size=2, max_size=6))
    def test_payback_agrees_with_a_month_by_month_walk(self, nets: list[int]) -> None:
        got = roi.payback_months([float(n) for n in nets])
        # slow reference: spread each year's net evenly over its months (exact integers)
        cumulative = nets[0]
        expected: float | None = 0.0 if cumulative >= 0 else None
        for y, net in enumerate(nets[1:], start=1):
            if expected is not None:
                break
            for m in range(1, 13):
                if 12 * cumulative + net * m >= 0:
                    expected = 12 * (y - 1) + m  # the month in which it turns
                    break
            cumulative += net
        if expected is None:
            assert got is None
        else:
            assert got is not None and expected - 1 <= got <= expected + 1e-9


def case(**values: float) -> roi.RoiCase:
    assumptions = {k: roi.entered(k, v) for k, v in values.items()}
    return roi.build_case(assumptions, subject="ACME", plan="per-outcome", prepared_on=date(2026, 1, 2))


BASE = dict(
    monthly_volume=10_000,
    minutes_saved_per_task=3.0,
    agent_hourly_cost=40.0,
    missed_issue_reduction=0.01,
    cost_per_missed_issue=20.0,
    seats=20,
    seat_price=100.0,
    seats_avoided=2,
    ai_spend_per_task=0.5,
    implementation_cost=12_000,
)


class TestRiskAndDiscountingAppliedOnce:
    def test_the_benefit_lines_are_hand_computable(self) -> None:
        c = case(**BASE)
        lines = {ln.key: ln for ln in c.flows.lines}
        assert lines["labour"].gross[1] == pytest.approx(120_000 * 3 / 60 * 40)  # 240,000
        assert lines["quality"].gross[1] == pytest.approx(120_000 * 0.01 * 20)  # 24,000
        assert lines["seats"].gross[1] == pytest.approx(2 * 100 * 12)  # 2,400
        assert lines["ai_spend"].gross[1] == pytest.approx(60_000)
        assert lines["implementation"].gross == (12_000, 0, 0, 0)
        y1 = c.flows.years[1]
        assert y1.benefits == pytest.approx(0.8 * (240_000 + 24_000 + 2_400))
        assert y1.costs == pytest.approx(60_000)

    def test_a_twenty_percent_haircut_lowers_pv_benefits_by_exactly_twenty_percent(self) -> None:
        none = case(**BASE, risk_labour=0, risk_quality=0, risk_seats=0)
        some = case(**BASE)  # default 20% on every line
        assert some.flows.pv_benefits == pytest.approx(0.8 * none.flows.pv_benefits, rel=1e-12)
        assert some.flows.pv_costs == pytest.approx(none.flows.pv_costs, rel=1e-12)

    def test_the_haircut_is_per_line(self) -> None:
        a = case(**BASE, risk_labour=0.5, risk_quality=0, risk_seats=0)
        lines = {ln.key: ln for ln in a.flows.lines}
        assert lines["labour"].adjusted[1] == pytest.approx(120_000)
        assert lines["quality"].adjusted[1] == pytest.approx(24_000)

    def test_pv_is_the_yearly_amounts_discounted_once(self) -> None:
        c = case(**BASE)
        expected = sum(y.benefits / 1.1**y.year for y in c.flows.years)
        assert c.flows.pv_benefits == pytest.approx(expected)
        # the yearly figures themselves are undiscounted: equal every year without growth
        assert c.flows.years[1].benefits == pytest.approx(c.flows.years[3].benefits)

    def test_json_benefits_are_already_risk_adjusted(self) -> None:
        d = case(**BASE).to_dict()
        assert d["years"][1]["benefits"] == pytest.approx(0.8 * 266_400, abs=0.01)
        assert d["risk_adjustment_by_line"] == {"labour": 0.2, "quality": 0.2, "seats": 0.2}


class TestAssumptions:
    def test_seats_avoided_is_derived_from_hours_saved_and_capped(self) -> None:
        values = {k: v for k, v in BASE.items() if k != "seats_avoided"}
        # 10,000 tasks x 3 min = 500 h a month -> 4 seats of 120 h
        assert case(**values).assumptions["seats_avoided"].value == 4
        assert case(**{**values, "seats": 3}).assumptions["seats_avoided"].value == 3

    def test_an_out_of_range_value_is_refused_naming_the_key(self) -> None:
        with pytest.raises(ConfigError, match="agent_hourly_cost"):
            roi.entered("agent_hourly_cost", -5)
        with pytest.raises(ConfigError, match="Unknown ROI assumption"):
            roi.entered("nonsense", 1)

    def test_every_assumption_names_its_source(self) -> None:
        d = case(**BASE).to_dict()
        assert all(a["source"] in {"entered", "measured from the logs"} for a in d["assumptions"].values())

    def test_bad_horizon_is_refused(self) -> None:
        with pytest.raises(ConfigError, match="years"):
            roi.build_case({}, subject="x", years=0)


class TestSensitivityAndScenarios:
    def test_tornado_is_sorted_by_swing_and_brackets_the_base(self) -> None:
        c = case(**BASE)
        swings = [b.swing for b in c.tornado]
        assert swings == sorted(swings, reverse=True)
        for b in c.tornado:
            assert min(b.npv_at_low, b.npv_at_high) <= c.npv + 1e-6 <= max(b.npv_at_low, b.npv_at_high) + 1e-6

    def test_low_base_high_are_ordered(self) -> None:
        low, base, high = case(**BASE).scenarios
        assert (low.name, base.name, high.name) == ("low", "base", "high")
        assert low.npv < base.npv < high.npv
        assert base.npv == pytest.approx(case(**BASE).npv)

    def test_measured_assumptions_swing_over_their_confidence_interval(self) -> None:
        measured = roi.Assumption(
            "minutes_saved_per_task", 3.0, roi.Source.MEASURED, n=500, ci_low=2.5, ci_high=3.6
        )
        assumptions = {k: roi.entered(k, v) for k, v in BASE.items()}
        assumptions["minutes_saved_per_task"] = measured
        c = roi.build_case(assumptions, subject="x")
        bar = next(b for b in c.tornado if b.key == "minutes_saved_per_task")
        assert (bar.low_value, bar.high_value) == (2.5, 3.6)
        # in plain words with rounded figures, not "n = 500; 95% CI 2.5 to 3.6"
        assert c.assumptions["minutes_saved_per_task"].source_text() == (
            "measured from 500 tasks: 3.0 minutes, likely between 2.5 and 3.6"
        )


def test_to_dict_is_json_ready() -> None:
    d = case(**BASE).to_dict()
    text = json.dumps(d)
    assert json.loads(text)["npv"] == d["npv"]
    assert [y["year"] for y in d["years"]] == [0, 1, 2, 3]
    assert math.isclose(d["npv"], sum(y["net"] / 1.1 ** y["year"] for y in d["years"]), abs_tol=0.05)


# ====================================================================== from the warehouse

PLANS = str(pricing.EXAMPLE_PLANS)
DEF = "intercom-fin-2025"


def ctx(plan: str = "per-outcome") -> roi.CaseContext:
    return roi.CaseContext(pricing.example_plans(), plan, load_definition(DEF))


def recent_metrics(wh, account_id: str | None = None):  # noqa: ANN001, ANN201
    m = pricing.account_month_metrics(wh, load_definition(DEF), pricing.example_plans().costs)
    if account_id is not None:
        m = m[m["account_id"] == account_id]
    months = sorted(m["month"].unique())[-RECENT_MONTHS:]
    return m[m["month"].isin(months)]


class TestCaseFromTheWarehouse:
    def test_measured_assumptions_carry_n_and_ci(self, demo_wh) -> None:  # noqa: ANN001
        case = roi.case_for_account(demo_wh, "A0002", ctx())
        minutes = case.assumptions["minutes_saved_per_task"]
        assert minutes.source is roi.Source.MEASURED
        assert minutes.n and minutes.n > 0
        assert minutes.ci_low is not None and minutes.ci_low <= minutes.value <= minutes.ci_high
        assert case.assumptions["implementation_cost"].source is roi.Source.ENTERED

    def test_ai_spend_is_the_plan_bill_for_a_projected_month(self, demo_wh) -> None:  # noqa: ANN001
        case = roi.case_for_account(demo_wh, "A0002", ctx("per-outcome"))
        m = recent_metrics(demo_wh, "A0002")
        tasks = case.assumptions["monthly_volume"].value
        outcomes = tasks * m["outcomes"].sum() / m["ai_tasks"].sum()
        # slow reference: $0.99 per outcome, one line rounded half up to the cent
        bill = pricing.round_half_up(Decimal(str(round(outcomes, 6))) * Decimal("0.99"))
        assert case.assumptions["ai_spend_per_task"].value == pytest.approx(float(bill) / tasks, abs=1e-9)
        assert case.assumptions["ai_spend_per_task"].n == m["ai_tasks"].sum()

    def test_fixed_fees_are_billed_not_scaled_and_seat_charges_are_not_ai_spend(self, demo_wh) -> None:  # noqa: ANN001
        case = roi.case_for_account(demo_wh, "A0002", ctx("hybrid"))
        m = recent_metrics(demo_wh, "A0002")
        tasks = case.assumptions["monthly_volume"].value
        # hybrid = platform fee + a price per seat needed + a price per outcome
        plan = pricing.example_plans().plan("hybrid")
        seat_price, outcome_price = (c.price for c in plan.charges)
        outcomes = Decimal(str(round(tasks * m["outcomes"].sum() / m["ai_tasks"].sum(), 6)))
        ai_part = plan.platform_fee + pricing.round_half_up(outcomes * outcome_price)
        assert case.assumptions["ai_spend_per_task"].value * tasks == pytest.approx(float(ai_part))
        assert case.assumptions["plan_includes_seats"].value == 1
        charges = case.assumptions["plan_seat_charges"].value
        assert charges > 0 and float(charges / float(seat_price)).is_integer()  # whole seats needed

    def test_staying_on_todays_seat_plan_bills_the_seats_kept_at_todays_price(self, demo_wh) -> None:  # noqa: ANN001
        settings = roi.CaseSettings(overrides={"seats": 10, "seats_avoided": 3, "seat_price": 100})
        case = roi.case_for_account(demo_wh, "A0002", ctx("seats-today"), settings)
        lines = {ln.key: ln for ln in case.flows.lines}
        # the plan bills the 7 seats kept at the seat price: what they cost today, so no change;
        # the 3 seats dropped are the benefit, counted once
        assert lines["remaining_seats"].gross == (0.0, 0.0, 0.0, 0.0)
        assert lines["seats"].gross[1] == pytest.approx(3 * 100 * 12)
        assert lines["ai_spend"].gross[1] == 0

    def test_unknown_account_and_plan_are_refused(self, demo_wh) -> None:  # noqa: ANN001
        with pytest.raises(UnknownAccountError, match="NOPE"):
            roi.case_for_account(demo_wh, "NOPE", ctx())
        with pytest.raises(ConfigError, match="no plan named 'nope'"):
            roi.case_for_account(demo_wh, "A0002", ctx("nope"))

    def test_a_prospect_by_hand_is_priced_with_the_plan(self, demo_wh) -> None:  # noqa: ANN001
        p = roi.Prospect("Big Co", 20_000, 8.0, 38.0, 40, 115)
        case = roi.case_for_prospect(demo_wh, p, ctx("per-conversation"))
        # $2 per conversation, every task a conversation
        assert case.assumptions["ai_spend_per_task"].value == pytest.approx(2.0)
        assert case.assumptions["monthly_volume"].source is roi.Source.ENTERED
        assert case.assumptions["minutes_saved_per_task"].source is roi.Source.MEASURED
        assert case.subject_kind == "prospect"

    def test_uploaded_logs_measure_like_the_same_account_in_the_warehouse(
        self, demo_wh, tmp_path: Path  # noqa: ANN001
    ) -> None:
        cols = ", ".join(TASK_COLUMN_NAMES)
        tasks = demo_wh.query_df(f"SELECT {cols} FROM tasks WHERE account_id = ?", ["A0002"])
        path = tmp_path / "prospect.csv"
        tasks.to_csv(path, index=False)
        up = roi.load_prospect_logs(path)
        try:
            uploaded = roi.case_for_upload(up, ctx())
        finally:
            up.close()
        stored = roi.case_for_account(demo_wh, "A0002", ctx())
        assert uploaded.subject_kind == "upload"
        # (the AI spend may differ: the warehouse's accepted disputes void outcomes an upload cannot carry)
        for key in ("minutes_saved_per_task", "monthly_volume"):
            assert uploaded.assumptions[key].value == pytest.approx(stored.assumptions[key].value)


class TestShareableLink:
    KNOWN = dict(accounts=["A0001", "A0002"], plans=["per-outcome", "hybrid"], definitions=["zendesk-ar"])

    def test_a_request_round_trips_through_the_query(self) -> None:
        req = roi_link.CaseRequest(mode="account", account="A0002", plan="hybrid", definition="zendesk-ar",
                              years=5, discount_rate=0.12, risk_adjustment=0.3,
                              overrides={"implementation_cost": 25_000.0})
        back, notices = roi_link.request_from_query(req.to_query(), **self.KNOWN)
        assert notices == []
        assert back == req

    def test_each_bad_value_falls_back_with_a_notice_naming_it(self) -> None:
        q = {"account": "A9999", "plan": "x", "years": "11", "rate": "nan", "risk": "-1",
             "implementation_cost": "-5", "mode": "evil"}
        req, notices = roi_link.request_from_query(q, default_plan="per-outcome", **self.KNOWN)
        assert (req.mode, req.account, req.plan, req.years) == ("account", "A0001", "per-outcome", 3)
        assert (req.discount_rate, req.risk_adjustment, req.overrides) == (0.10, 0.20, {})
        for name in ("mode", "account", "plan", "years", "rate", "risk", "implementation_cost"):
            assert any(f"'{name}'" in n for n in notices), name


    def test_without_an_account_the_case_opens_on_the_default_account(self) -> None:
        req, notices = roi_link.request_from_query({}, default_account="A0002", **self.KNOWN)
        assert (req.account, notices) == ("A0002", [])

    def test_a_default_account_that_is_not_listed_falls_back_to_the_first(self) -> None:
        req, _ = roi_link.request_from_query({}, default_account="A0999", **self.KNOWN)
        assert req.account == "A0001"

    def test_a_link_naming_an_account_wins_over_the_default(self) -> None:
        req, _ = roi_link.request_from_query({"account": "A0001"}, default_account="A0002", **self.KNOWN)
        assert req.account == "A0001"


class TestDefaultAccountAndNames:
    def test_the_default_account_has_the_most_ai_tasks(self, demo_wh) -> None:  # noqa: ANN001
        tasks = demo_wh.query_df("SELECT account_id, ai_enabled FROM tasks")
        ai = tasks.groupby("account_id")["ai_enabled"].agg(["sum", "size"]).reset_index()
        best = ai.sort_values(["sum", "size", "account_id"], ascending=[False, False, True]).iloc[0]
        assert roi.default_account(demo_wh) == best["account_id"]

    def test_no_tasks_no_default_account(self) -> None:
        from outcome_pricing.warehouse.handle import Warehouse

        with Warehouse.in_memory() as wh:
            assert roi.default_account(wh) is None

    def test_account_names_come_from_the_accounts_file(self, demo_wh) -> None:  # noqa: ANN001
        names = roi.account_names(demo_wh)
        accounts = demo_wh.query_df("SELECT account_id, name FROM accounts")
        assert names == dict(zip(accounts["account_id"], accounts["name"], strict=True))
        assert names and all(isinstance(n, str) and n for n in names.values())


# ====================================================================== report
def hostile_case(**kw: str) -> roi.RoiCase:
    assumptions = {k: roi.entered(k, v) for k, v in BASE.items()}
    return roi.build_case(assumptions, subject=kw.get("subject", "ACME"), plan=kw.get("plan", "per-outcome"),
                          definition_name="zendesk-ar", definition_version="d2e5103109",
                          prepared_on=date(2026, 11, 27))


class TestHtmlReport:
    def test_the_report_shows_the_figures_of_the_json(self) -> None:
        case = hostile_case()
        d = case.to_dict()
        page = report.render_html(case)
        assert report.money(d["npv"]) in page
        assert report.pct(d["roi"]) in page
        assert f"{d['payback_months']:.1f} months" in page
        for y in d["years"]:
            assert report.money(y["net"]) in page
            assert report.money(y["benefits"]) in page
        assert "d2e5103109" in page and "2026-11-27" in page and "zendesk-ar" in page
        for a in case.assumptions.values():
            assert a.spec.label in page

    @pytest.mark.parametrize(("value", "unit", "shown"), [
        (1.0, "seats", "1 seat"), (3.0, "seats", "3 seats"), (0.0, "seats", "0 seats"), (1.0, "tasks", "1 task"),
        (1.5, "minutes", "1.5 minutes"), (0.2, "fraction", "20.0%"), (-2500.0, "$", "-$2,500"),
        (10234.57, "tasks", "10,235 tasks"), (0.0, "$/year", "$0"), (0.374, "$/task", "$0.37"),
    ])
    def test_assumption_values_read_as_their_unit(self, value: float, unit: str, shown: str) -> None:
        assert report.assumption_value(value, unit) == shown

    def test_the_y_axis_labels_in_the_format_asked_for(self) -> None:
        y = report.scale(0.0, 0.5, report.H - report.PAD_B, report.PAD_T)
        labels = "".join(report.y_axis(y, 0.0, 0.5, lambda v: report.pct(v, 0)))
        assert ">0%<" in labels and ">50%<" in labels and "$" not in labels
        assert ">$1,000<" in "".join(report.y_axis(report.scale(0.0, 1000.0, 200, 20), 0.0, 1000.0))

    def test_the_table_style_fixes_no_text_colour(self) -> None:
        # the page draws this table on the dark theme too: a fixed grey would vanish there
        assert "color:" not in report.TABLE_STYLE

    def test_never_paying_back_is_said_in_words(self) -> None:
        values = {**BASE, "implementation_cost": 1e8}
        case = roi.build_case({k: roi.entered(k, v) for k, v in values.items()}, subject="x")
        assert "does not pay back within 3 years" in report.render_html(case)
        assert case.to_dict()["payback_months"] is None

    @pytest.mark.parametrize("hostile", ["<script>alert(1)</script>", '=HYPERLINK("http://x","y")'])
    def test_hostile_names_are_escaped(self, hostile: str) -> None:
        page = report.render_html(hostile_case(subject=hostile, plan=hostile))
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "HYPERLINK" in page
        assert '"http://x"' not in page  # quotes escaped too

    def test_the_report_is_self_contained(self) -> None:
        page = report.render_html(hostile_case())
        assert "<script" not in page  # no JavaScript at all
        assert "src=" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
        assert page.count("<svg") == 3
        assert 'href="data:text/csv;base64,' in page

    def test_the_csv_is_the_cash_flow_table(self) -> None:
        import base64
        import io

        import pandas as pd

        case = hostile_case()
        page = report.render_html(case)
        data = page.split('href="data:text/csv;base64,')[1].split('"')[0]
        df = pd.read_csv(io.BytesIO(base64.b64decode(data)))
        net = df[df["line"] == "Net cash flow"].iloc[0]
        assert net["PV"] == pytest.approx(case.npv)
        assert list(df.columns[3:7]) == ["Initial", "Year 1", "Year 2", "Year 3"]


# ====================================================================== CLI
def run_roi(db: Path, *args: str) -> dict:
    result = CliRunner().invoke(
        cli, ["--db", str(db), "roi", "--plans", PLANS, "--definition", DEF, *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


class TestCli:
    def test_json_has_the_documented_keys(self, demo_db_path: Path) -> None:
        d = run_roi(demo_db_path, "--account", "A0002", "--plan", "per-outcome", "--years", "4")
        assert {"years", "npv", "roi", "payback_months", "discount_rate", "risk_adjustment", "assumptions"} <= set(d)
        assert [y["year"] for y in d["years"]] == [0, 1, 2, 3, 4]
        assert {"benefits", "costs", "net"} <= set(d["years"][0])
        assert d["discount_rate"] == 0.10 and d["risk_adjustment"] == 0.20
        assert d["npv"] == pytest.approx(sum(y["net"] / 1.1 ** y["year"] for y in d["years"]), abs=0.05)

    def test_json_benefits_are_already_risk_adjusted(self, demo_db_path: Path) -> None:
        common = ["--account", "A0002", "--plan", "per-outcome", "--assume", "missed_issue_reduction=0.01"]
        full = run_roi(demo_db_path, *common, "--risk-adjustment", "0")
        cut = run_roi(demo_db_path, *common, "--risk-adjustment", "0.2")
        assert cut["years"][1]["benefits"] == pytest.approx(0.8 * full["years"][1]["benefits"], abs=0.02)
        assert cut["years"][1]["costs"] == full["years"][1]["costs"]

    def test_html_report_to_a_file(self, demo_db_path: Path, tmp_path: Path) -> None:
        out = tmp_path / "case.html"
        result = CliRunner().invoke(cli, [
            "--db", str(demo_db_path), "roi", "--account", "A0002", "--plans", PLANS, "--plan", "hybrid",
            "--definition", DEF, "--format", "html", "--out", str(out)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        page = out.read_text()
        d = run_roi(demo_db_path, "--account", "A0002", "--plan", "hybrid")
        assert report.money(d["npv"]) in page and "hybrid" in page

    @pytest.mark.slow
    @pytest.mark.parametrize(("option", "value", "message"), [
        ("--account", "NOPE", "No tasks for account 'NOPE'"),
        ("--plan", "nope", "no plan named 'nope'"),
    ])
    def test_unknown_account_or_plan_exits_non_zero_with_a_message(
        self, demo_db_path: Path, option: str, value: str, message: str
    ) -> None:
        args = {"--account": "A0002", "--plan": "per-outcome", option: value}
        proc = subprocess.run(
            [sys.executable, "-c", "from outcome_pricing.cli import main; main()", "--db", str(demo_db_path),
             "roi", "--plans", PLANS, "--definition", DEF, *[x for kv in args.items() for x in kv]],
            capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode != 0
        assert message in proc.stderr and "Traceback" not in proc.stderr
