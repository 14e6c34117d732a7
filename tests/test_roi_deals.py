"""The ROI case from the customer's side of a deal (issues 16.5, 17.5, 18.6).

Hand-computed cases: outcomes settled on audits (the customer pays for billable
outcomes x the settlement factor), a deal with free months, a gain-share and a
guarantee (its expected credits a risk reduction) and a funded implementation,
and a prepaid commitment with its expected breakage. Every line is a row of
the cash-flow table, so NPV and payback count exactly what the rows show.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from outcome_pricing.analysis import roi
from outcome_pricing.analysis.roi.odds import GuaranteeOdds, closed_form_odds, expected_credits
from outcome_pricing.analysis.roi.settle import SettlementFactor, settlement_factors
from outcome_pricing.analysis.roi.spend import Scope, SpendModel, UsageRates
from outcome_pricing.pricing.deal_terms import ChargeFrom, DealTerms, Guarantee
from outcome_pricing.pricing.terms import Charge, Commitment, Metric, Plan, Settlement
from outcome_pricing.reports import roi_report
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse
from tests.audit_rows import store_audits
from tests.rows import load_tasks

Z = 1.959963985


def case(plan: Plan, *, rates: UsageRates, odds: GuaranteeOdds | None = None, years: int = 3,
         **values: float) -> roi.RoiCase:
    """A case billed under ``plan`` from entered values (no warehouse)."""
    entered = {"monthly_volume": 1_000, "volume_growth": 0.0, "minutes_saved_per_task": 3.0,
               "agent_hourly_cost": 40.0, "implementation_cost": 10_000, **values}
    assumptions = {k: roi.entered(k, v) for k, v in entered.items()}
    assumptions["ai_spend_per_task"] = roi.Assumption("ai_spend_per_task", 0.1, roi.Source.MEASURED)
    model = SpendModel(plan, rates, ai_minutes=2.0, baseline_minutes=5.0, guarantee=odds)
    return roi.build_case(assumptions, subject="ACME", plan=plan.name, years=years, spend=model)


def line(c: roi.RoiCase, key: str) -> tuple[float, ...]:
    return next(ln.adjusted for ln in c.flows.lines if ln.key == key)


def keys(c: roi.RoiCase) -> list[str]:
    return [ln.key for ln in c.flows.lines]


def rates(outcomes: float, *settlement: SettlementFactor) -> UsageRates:
    return UsageRates(outcomes, 0.0, 0.0, 1_000, Scope.ACCOUNT, settlement)


# ---------------------------------------------------------------------- 16.5 settlement
def factor(mode: str, rate: Decimal, n: int = 40, x: int = 3) -> SettlementFactor:
    return SettlementFactor((mode, 3), rate, n, x, Scope.ACCOUNT, "2026-08", "2026-10")


def wilson_high(x: int, n: int) -> float:
    """The Wilson score upper bound, from the textbook formula."""
    p = x / n
    centre = p + Z * Z / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return (centre + half) / (1 + Z * Z / n)


class TestSettlementInTheCase:
    def test_the_customer_pays_for_billable_outcomes_times_the_settlement_factor(self) -> None:
        # 3 of 40 audited billed outcomes were not genuine: r = 7.5%, the customer pays for 92.5%.
        plan = Plan("settled", charges=(Charge(Metric.OUTCOMES, price=Decimal("0.99"),
                                               audit_settlement=Settlement.POINT),))
        c = case(plan, rates=rates(0.5, factor("point", Decimal(3) / Decimal(40))))
        # 1,000 tasks x 0.5 = 500 outcomes; x 0.925 = 462.5 settled; x $0.99 = $457.875 -> $457.88 a month
        assert line(c, "ai_spend") == (0.0, 5_494.56, 5_494.56, 5_494.56)  # 12 x $457.88

    def test_the_upper_bound_discounts_more(self) -> None:
        plan = Plan("settled", charges=(Charge(Metric.OUTCOMES, price=Decimal(1),
                                               audit_settlement=Settlement.UPPER_BOUND),))
        r = Decimal(repr(wilson_high(3, 40)))
        c = case(plan, rates=rates(0.5, factor("upper_bound", r)))
        settled = (Decimal(500) * (1 - r)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
        month = settled.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)  # $1 each, the line rounded half up to cents
        assert line(c, "ai_spend")[1] == pytest.approx(12 * float(month))
        assert float(month) < 500 * (1 - 0.075)

    def test_the_settled_quantity_is_rounded_half_up_to_millionths(self) -> None:
        f = factor("point", Decimal(1) / Decimal(8))  # 0.125
        assert f.settle(Decimal("0.000004")) == Decimal("0.000004")  # 0.0000035 -> 0.000004 (half up)
        assert f.settle(Decimal("1")) == Decimal("0.875000")

    def test_without_audits_nothing_is_discounted_and_the_text_says_so(self) -> None:
        f = SettlementFactor(("point", 3), Decimal(0), 0, 0, None, "2026-08", "2026-10")
        assert f.settle(Decimal(500)) == Decimal(500)
        assert "nothing is discounted" in f.text()


def _task(i: int, account: str, month: int, **fields: object) -> dict[str, object]:
    at = dt.datetime(2025, month, 5, 9)
    return {"task_id": f"{account}-{i}", "account_id": account, "requester_id": f"R{i}",
            "created_at": at, "closed_at": at + dt.timedelta(hours=1), **fields}


class TestLatestFactor:
    """The account's factor over the window ending at its last month, else the portfolio's."""

    @pytest.fixture
    def wh(self) -> Warehouse:
        w = Warehouse.in_memory()
        rows = [_task(i, "A1", 3) for i in range(8)] + [_task(i, "A2", 1) for i in range(4)]
        rows += [_task(9, "A2", 3)]  # A2's last month is March too, with no audit in it
        load_tasks(w, rows)
        # A1, March: 8 audited, 2 not genuine. A2, January: 4 audited, 1 not genuine.
        store_audits(w, [(f"A1-{i}", i >= 2) for i in range(8)] + [(f"A2-{i}", i != 0) for i in range(4)])
        return w

    def metrics(self) -> pd.DataFrame:
        return pd.DataFrame({"account_id": ["A1", "A2", "A2"],
                             "month": pd.to_datetime(["2025-03-01", "2025-01-01", "2025-03-01"])})

    def plan(self, window: int) -> Plan:
        return Plan("settled", charges=(Charge(Metric.OUTCOMES, price=Decimal(1), audit_settlement=Settlement.POINT,
                                               audit_window_months=window),))

    def test_the_account_with_audits_uses_its_own(self, wh: Warehouse) -> None:
        (f,) = settlement_factors(wh, Definition.presets()["lenient"], self.plan(1), self.metrics(), "A1")
        assert (f.audited, f.not_genuine, f.rate, f.scope) == (8, 2, Decimal("0.25"), Scope.ACCOUNT)
        assert "this account's" in f.text() and "25.00%" in f.text()

    def test_an_account_without_audits_in_its_window_uses_the_portfolios(self, wh: Warehouse) -> None:
        # A2's window (March, one month) has no audit: the portfolio's March (A1's 8, 2 false)
        (f,) = settlement_factors(wh, Definition.presets()["lenient"], self.plan(1), self.metrics(), "A2")
        assert (f.audited, f.not_genuine, f.scope) == (8, 2, Scope.PORTFOLIO)
        assert "the portfolio's" in f.text()
        # a three-month window reaches A2's January audits: its own, 1 of 4
        (g,) = settlement_factors(wh, Definition.presets()["lenient"], self.plan(3), self.metrics(), "A2")
        assert (g.audited, g.not_genuine, g.rate, g.scope) == (4, 1, Decimal("0.25"), Scope.ACCOUNT)

    def test_a_plan_without_settlement_has_no_factor(self, wh: Warehouse) -> None:
        plain = Plan("plain", charges=(Charge(Metric.OUTCOMES, price=Decimal(1)),))
        assert settlement_factors(wh, Definition.presets()["lenient"], plain, self.metrics(), "A1") == ()


# ---------------------------------------------------------------------- 18.6 deal terms
DEAL = Plan(
    "deal", platform_fee=Decimal(49),
    charges=(Charge(Metric.OUTCOMES, price=Decimal("0.50")), Charge(Metric.SAVINGS_USD, price=Decimal("0.20"))),
    deal=DealTerms(charge_from=ChargeFrom.GO_LIVE, free_months=2, implementation_cost=Decimal(1500),
                   hourly_cost_default=Decimal(30),
                   guarantee=Guarantee(Decimal("0.65"), 3, Decimal(1))),
)
TEN_PERCENT = GuaranteeOdds(Decimal("0.65"), 3, Decimal(1), 0.10, "a 10% chance, for the test")


class TestDealTerms:
    """1,000 tasks a month, 0.6 outcomes each at $0.50 = $300; saved 1,000 x 3 min / 60 x $40 =
    $2,000, 20% = $400; fee $49: $749 a month once charging starts after 2 free months."""

    @pytest.fixture
    def c(self) -> roi.RoiCase:
        return case(DEAL, rates=rates(0.6), odds=TEN_PERCENT)

    def test_every_term_is_a_line_of_the_cash_flows(self, c: roi.RoiCase) -> None:
        assert keys(c)[3:9] == ["ai_spend", "gain_share", "free_months", "guarantee", "implementation",
                                "implementation_funded"]

    def test_fees_and_usage_are_billed_every_month_at_list(self, c: roi.RoiCase) -> None:
        assert line(c, "ai_spend") == (0.0, 12 * 349.0, 12 * 349.0, 12 * 349.0)

    def test_the_gain_share_is_twenty_percent_of_the_labour_saved(self, c: roi.RoiCase) -> None:
        assert line(c, "gain_share") == (0.0, 4_800.0, 4_800.0, 4_800.0)
        labour_gross = next(ln.gross for ln in c.flows.lines if ln.key == "labour")
        assert line(c, "gain_share")[1] == pytest.approx(0.2 * labour_gross[1])

    def test_the_free_months_take_off_two_whole_months(self, c: roi.RoiCase) -> None:
        assert line(c, "free_months") == (0.0, -2 * 749.0, 0.0, 0.0)

    def test_the_guarantee_counts_expected_credits_of_complete_windows(self, c: roi.RoiCase) -> None:
        # windows of 3 months from month 2: year 1 ends 3 of them (months 4, 7, 10), years 2 and 3
        # four each; the last, months 35 to 37, is not complete. Each: 10% x 100% x 3 x $300.
        assert line(c, "guarantee") == pytest.approx((0.0, -270.0, -360.0, -360.0))

    def test_the_vendor_funds_the_implementation_up_to_the_customers_estimate(self, c: roi.RoiCase) -> None:
        assert line(c, "implementation_funded") == (-1_500.0, 0.0, 0.0, 0.0)
        small = case(DEAL, rates=rates(0.6), odds=TEN_PERCENT, implementation_cost=1_000)
        assert line(small, "implementation_funded") == (-1_000.0, 0.0, 0.0, 0.0)

    def test_the_totals_are_what_the_customer_pays(self, c: roi.RoiCase) -> None:
        # year 1: 10 charged months x $749, less the expected credits; year 0: $10,000 - $1,500
        costs = [y.costs for y in c.flows.years]
        assert costs == pytest.approx([8_500.0, 10 * 749 - 270.0, 12 * 749 - 360.0, 12 * 749 - 360.0])
        benefits = [y.benefits for y in c.flows.years]
        npv = sum((b - k) / 1.1**y for y, (b, k) in enumerate(zip(benefits, costs, strict=True)))
        assert c.npv == pytest.approx(npv)
        # the labour benefit: $2,000 a month at 80%: $19,200 a year; payback inside year 1
        net1 = 19_200.0 - costs[1]
        assert c.payback_months == pytest.approx(12 * 8_500.0 / net1)

    def test_each_term_is_explained_with_the_amounts_of_its_line(self, c: roi.RoiCase) -> None:
        terms = {t.line: t for t in c.deal_terms}
        assert list(terms) == ["free_months", "gain_share", "guarantee", "implementation_funded"]
        for key, t in terms.items():
            assert t.amounts == line(c, key)
        assert "1,000 tasks a month x 3.0 minutes saved / 60 x $40.00 an hour = $2,000" in terms["gain_share"].meaning
        assert "risk reduction" in terms["guarantee"].term
        assert "rather than adding a saving" in terms["guarantee"].meaning
        assert "most windows fall short" not in terms["guarantee"].meaning  # a 10% chance

    def test_a_guarantee_that_will_likely_pay_says_so(self) -> None:
        sure = GuaranteeOdds(Decimal("0.65"), 3, Decimal(1), 1.0, "certain, for the test")
        plan = Plan("g", charges=(Charge(Metric.OUTCOMES, price=Decimal("0.50")),),
                    deal=DealTerms(guarantee=Guarantee(Decimal("0.65"), 3, Decimal(1))))
        c = case(plan, rates=rates(0.6), odds=sure)
        assert line(c, "guarantee") == tuple(-a + 0.0 for a in line(c, "ai_spend"))  # every window credited
        (term,) = c.deal_terms
        assert "most windows fall short" in term.meaning

    def test_the_closed_form_chance_is_the_binomial_tail(self) -> None:
        odds = closed_form_odds(Plan("g", charges=(Charge(Metric.OUTCOMES, price=Decimal(1)),),
                                     deal=DealTerms(guarantee=Guarantee(Decimal("0.6"), 3, Decimal("0.5")))))
        assert odds is not None
        # a window of 3 x 1,000 conversations at 0.6: falls short when outcomes < 1,800
        assert odds.chance(3_000, 0.6) == pytest.approx(float(binom.cdf(1_799, 3_000, 0.6)))
        c = case(Plan("g", charges=(Charge(Metric.OUTCOMES, price=Decimal(1)),),
                      deal=DealTerms(guarantee=Guarantee(Decimal("0.6"), 3, Decimal("0.5")))),
                 rates=rates(0.6), odds=odds, years=1)
        # four windows in year 1, each 0.5 x $1,800 of outcome charges x the chance
        assert line(c, "guarantee")[1] == pytest.approx(-4 * 0.5 * 1_800 * float(binom.cdf(1_799, 3_000, 0.6)))

    def test_expected_credits_skip_a_window_cut_by_the_horizon(self) -> None:
        plan = Plan("g", charges=(Charge(Metric.OUTCOMES, price=Decimal(1)),))
        months = roi.spend.bill_months(plan, [roi.spend.projected_usage(
            roi.spend.ProjectedMonth(100, 0, 0, 0), rates(1.0))] * 12)
        odds = GuaranteeOdds(Decimal("0.5"), 5, Decimal(1), 1.0, "always")
        # from month 0: windows 0-4 and 5-9 complete, 10-14 cut by the year's end
        assert expected_credits(odds, [m.outcome_charges for m in months], [100.0], 1.0, 0) == (0.0, 2 * 5 * 100.0)

    def test_a_plan_without_terms_keeps_one_ai_spend_line(self) -> None:
        c = case(Plan("plain", charges=(Charge(Metric.OUTCOMES, price=Decimal("0.50")),)), rates=rates(0.6))
        assert "gain_share" not in keys(c) and "free_months" not in keys(c) and c.deal_terms == ()
        assert next(ln.label for ln in c.flows.lines if ln.key == "ai_spend") == "AI spend under plain"


def cents(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@settings(max_examples=40, deadline=None)
@given(free=st.integers(0, 30), fee=st.integers(0, 500), price=st.integers(1, 200), share=st.integers(0, 50),
       volume=st.integers(0, 5_000), growth=st.sampled_from([0.0, 0.2]))
def test_the_ai_lines_add_up_to_the_plain_bill_of_the_charged_months(
    free: int, fee: int, price: int, share: int, volume: int, growth: float
) -> None:
    """Fees and usage + gain-share + free months = the months from month ``free`` on, each
    billed plainly: fee + outcomes x price + savings x share, each line half up to cents."""
    plan = Plan("random", platform_fee=Decimal(fee), charges=(
        Charge(Metric.OUTCOMES, price=Decimal(price) / 100), Charge(Metric.SAVINGS_USD, price=Decimal(share) / 100)),
        deal=DealTerms(free_months=free, hourly_cost_default=Decimal(30)))
    c = case(plan, rates=rates(0.5), monthly_volume=volume, volume_growth=growth)
    for year in (1, 2, 3):
        tasks = volume * (1 + growth) ** (year - 1)
        outcomes = Decimal(str(round(tasks * 0.5, 6)))
        saved = Decimal(str(round(tasks * 3.0 / 60.0 * 40.0, 6)))
        month = Decimal(fee) + cents(outcomes * Decimal(price) / 100) + cents(saved * Decimal(share) / 100)
        charged = sum(1 for m in range((year - 1) * 12, year * 12) if m >= free)
        got = sum(line(c, k)[year] for k in ("ai_spend", "gain_share", "free_months") if k in keys(c))
        assert got == pytest.approx(float(charged * month), abs=1e-6)


# ---------------------------------------------------------------------- 17.5 commitment
class TestCommittedSpend:
    """$600 a quarter drawn down by outcomes at $0.99; 100 tasks x 0.5 = 50 outcomes = $49.50 a month."""

    def committed(self, rollover: bool, volume: float = 100) -> roi.RoiCase:
        plan = Plan("committed", charges=(Charge(Metric.OUTCOMES, price=Decimal("0.99")),),
                    commitment=Commitment(Decimal(600), 3, rollover, Decimal("0.5")))
        return case(plan, rates=rates(0.5), monthly_volume=volume)

    def test_the_commitment_is_its_own_line_with_its_breakage(self) -> None:
        c = self.committed(rollover=False)
        assert line(c, "commitment") == (0.0, 2_400.0, 2_400.0, 2_400.0)
        assert line(c, "ai_spend") == (0.0, 0.0, 0.0, 0.0)  # all usage drawn from the commitment
        # each quarter: $600 - 3 x $49.50 = $451.50 expires
        assert line(c, "breakage") == pytest.approx((0.0, 4 * 451.5, 4 * 451.5, 4 * 451.5))

    def test_breakage_is_shown_but_never_added_again(self) -> None:
        c = self.committed(rollover=False)
        assert [y.costs for y in c.flows.years][1] == pytest.approx(2_400.0)
        table = roi.cash_flow_table(c)
        memo = table[table["kind"] == "memo"]
        assert list(memo["line"]) == ["of which prepaid and unused (expected breakage)"]
        assert table.loc[table["line"] == "Total costs", "Year 1"].item() == pytest.approx(2_400.0)

    def test_a_rollover_keeps_half_and_expires_the_rest(self) -> None:
        # quarter 1: $451.50 left, $300 carried, $151.50 expires; then $900 a quarter, $751.50 left,
        # $300 carried, $451.50 expires
        c = self.committed(rollover=True)
        assert line(c, "breakage")[1] == pytest.approx(151.5 + 3 * 451.5)

    def test_usage_beyond_the_commitment_is_billed_on_the_usage_line(self) -> None:
        # 1,000 tasks: $495 a month, $1,485 a quarter: $600 drawn, $885 billed beyond it
        c = self.committed(rollover=False, volume=1_000)
        assert line(c, "ai_spend")[1:] == (4 * 885.0,) * 3
        assert line(c, "breakage")[1:] == (0.0,) * 3

    def test_the_terms_say_what_is_prepaid_and_what_expires(self) -> None:
        terms = {t.line: t for t in self.committed(rollover=True).deal_terms}
        assert "$600.00 at the start of every 3-month period" in terms["commitment"].meaning
        assert "up to 50% of it rolls into the next period" in terms["commitment"].meaning
        assert "not added again" in terms["breakage"].meaning
        busy = {t.line: t for t in self.committed(rollover=False, volume=1_000).deal_terms}
        assert busy["breakage"].meaning.startswith("None at the case's volumes")


# ---------------------------------------------------------------------- the report
class TestTheReportShowsTheTerms:
    def test_the_deal_terms_table_has_the_cash_flow_totals(self) -> None:
        c = case(DEAL, rates=rates(0.6), odds=TEN_PERCENT)
        html = roi_report.render_html(c)
        assert "Deal terms" in html
        assert "Guarantee: expected credits (a risk reduction)" in html
        assert "-$1,498" in html  # the free months, in the table and the terms
        assert roi_report.deal_terms_html(c).count("<tr") == 1 + 4

    def test_a_case_without_terms_has_no_empty_section(self) -> None:
        c = case(Plan("plain", charges=(Charge(Metric.OUTCOMES, price=Decimal("0.50")),)), rates=rates(0.6))
        assert "Deal terms" not in roi_report.render_html(c)

    def test_the_json_carries_the_terms(self) -> None:
        d = case(DEAL, rates=rates(0.6), odds=TEN_PERCENT).to_dict()
        assert [t["line"] for t in d["deal_terms"]] == ["free_months", "gain_share", "guarantee",
                                                        "implementation_funded"]
        assert d["deal_terms"][0]["total"] == -1_498.0


# ---------------------------------------------------------------------- from the warehouse
class TestFromTheLogs:
    def ctx(self, plan: str) -> roi.CaseContext:
        from outcome_pricing.pricing import example_plans

        return roi.CaseContext(example_plans(), plan, Definition.presets()["zendesk-ar"])

    @pytest.mark.slow
    def test_an_accounts_deal_case_shows_every_term_of_the_plan(self, demo_wh: Warehouse) -> None:
        account = roi.default_account(demo_wh)
        assert account is not None
        c = roi.case_for_account(demo_wh, account, self.ctx("funded-gain-share"))
        assert {"ai_spend", "gain_share", "free_months", "implementation_funded"} <= set(keys(c))
        assert line(c, "free_months")[1] < 0 and line(c, "gain_share")[1] > 0
        assert "on average over the charged months of year 1" in c.assumptions["ai_spend_per_task"].detail

    @pytest.mark.slow
    def test_a_guarantee_takes_its_chance_from_the_vendors_forecast(self, demo_wh: Warehouse) -> None:
        account = roi.default_account(demo_wh)
        assert account is not None
        c = roi.case_for_account(demo_wh, account, self.ctx("guaranteed-outcomes"))
        (term,) = c.deal_terms
        assert "the vendor's forecast" in term.meaning
        expected = line(c, "guarantee")
        assert all(-b <= a <= 0 for a, b in zip(expected, line(c, "ai_spend"), strict=True))

    def test_a_prospects_guarantee_uses_the_closed_form(self, demo_wh: Warehouse) -> None:
        prospect = roi.Prospect("Prospect", 5_000, 8.0, 35.0, 10, 100.0)
        c = roi.case_for_prospect(demo_wh, prospect, self.ctx("guaranteed-outcomes"))
        (term,) = c.deal_terms
        assert "Binomial" in term.meaning


@pytest.mark.slow
def test_the_cli_json_carries_the_deal_terms_and_their_lines(demo_db_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from outcome_pricing.cli import cli

    result = CliRunner().invoke(cli, ["--db", str(demo_db_path), "roi", "--account", "A0002", "--plan",
                                      "funded-gain-share", "--definition", "intercom-fin-2025"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    lines = {ln["key"]: ln["adjusted"] for ln in d["lines"]}
    for term in d["deal_terms"]:
        assert term["amounts"] == lines[term["line"]]
        assert term["total"] == pytest.approx(sum(lines[term["line"]]), abs=0.01)
    costs = [sum(a[y] for k, a in lines.items() if k not in ("labour", "quality", "seats")) for y in range(4)]
    assert costs == pytest.approx([y["costs"] for y in d["years"]], abs=0.05)
