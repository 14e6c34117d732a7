"""What an executive reads first: the reference margin beside the proposed one, the
forecast's chance, yearly figures and the one-line verdict (issue 14), on the demo."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from outcome_pricing.analysis import forecast as fc
from outcome_pricing.pricing import example_plans
from outcome_pricing.reports import brief, verdict
from outcome_pricing.reports.overview import Overview, overview
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse.handle import Warehouse

DEF = Definition.preset("intercom-fin-2025")
PLANS = example_plans()
REFERENCE, PROPOSED = "seats-today", "per-outcome"


@pytest.fixture(scope="module")
def ov(demo_wh: Warehouse) -> Overview:
    return overview(demo_wh, PLANS, DEF, REFERENCE, PROPOSED)


def outlook_of(chance: float) -> verdict.Outlook:
    return verdict.Outlook(chance, pd.Timestamp("2026-11-01"), pd.Timestamp("2027-10-01"), 100.0, 90.0, 1000, 0)


class TestMargins:
    def test_the_reference_margin_is_the_backtests(self, ov: Overview) -> None:
        port = ov.backtest.portfolio()
        here = port[port["month"] == ov.month].set_index("plan")
        assert ov.kpis.margin_reference == pytest.approx(float(here.loc[REFERENCE, "margin"]))
        assert ov.kpis.margin == pytest.approx(float(here.loc[PROPOSED, "margin"]))
        assert ov.kpis.margin_change == pytest.approx(ov.kpis.margin - ov.kpis.margin_reference)


class TestYearlyFigures:
    def test_each_year_sums_its_months_of_the_backtest(self, ov: Overview) -> None:
        years = verdict.yearly_figures(ov)
        trend = ov.revenue_trend
        for r in years.to_dict("records"):
            months = trend[pd.to_datetime(trend["month"]).dt.year == r["year"]]
            for side, plan in (("reference", REFERENCE), ("proposed", PROPOSED)):
                rows = months[months["plan"] == plan]
                assert r[f"revenue_{side}"] == pytest.approx(rows["revenue"].sum())
                assert r[f"margin_{side}"] == pytest.approx(rows["margin"].sum())
            assert r["months"] == months["month"].nunique()
            assert r["revenue_change"] == pytest.approx(r["revenue_proposed"] - r["revenue_reference"])
        assert years["months"].sum() == len(ov.months)


class TestVerdict:
    @pytest.mark.parametrize(("chance", "words"), [
        (0.0, "it earns more in none of the forecast's 1,000 scenarios over the next 12 months"),
        (1.0, "it earns more in all 1,000 of the forecast's scenarios over the next 12 months"),
        (0.42, "the forecast gives it a 42% chance of earning more over the next 12 months"),
    ])
    def test_the_chance_in_words(self, ov: Overview, chance: float, words: str) -> None:
        assert verdict.verdict(ov, outlook_of(chance)).endswith(words + ".")

    def test_states_the_change_over_the_last_twelve_months_and_the_chance(self, ov: Overview) -> None:
        first, last = ov.window(12)
        window = ov.revenue_trend[ov.revenue_trend["month"].between(first, last)]
        by = window.groupby("plan")["revenue"].sum()
        change = by[PROPOSED] - by[REFERENCE]
        line = verdict.verdict(ov, outlook_of(0.73))
        assert line.startswith(f"{PROPOSED} would have billed ${abs(change):,.0f} "
                               f"{'more' if change >= 0 else 'less'} than {REFERENCE}")
        assert "73% chance of earning more over the next 12 months" in line

    def test_one_plan_against_itself_asks_for_another(self, demo_wh: Warehouse) -> None:
        same = overview(demo_wh, PLANS, DEF, REFERENCE, REFERENCE)
        assert "choose another proposed plan" in verdict.verdict(same, None)
        assert verdict.outlook(demo_wh, PLANS, DEF, REFERENCE, REFERENCE) is None

    def test_the_brief_opens_with_the_verdict_and_has_yearly_figures(self, ov: Overview) -> None:
        page = brief.render_html(ov, prepared_on=dt.date(2026, 11, 2), chance=outlook_of(0.004))
        body = page.split("<body>")[1]
        assert body.index('class="verdict"') < body.index('class="kpis"')
        assert "&lt;1% chance of earning more" in page  # escaped in HTML
        assert "Year by year" in page and f"Margin, {REFERENCE}" in page
        assert f"Gross margin, {REFERENCE} (reference)" in page


@pytest.mark.parametrize(("p", "shown"), [
    (0.0, "0%"), (0.001, "<1%"), (0.0049, "<1%"), (0.005, "1%"), (0.5, "50%"), (0.994, "99%"),
    (0.995, ">99%"), (0.9999, ">99%"), (1.0, "100%"), (None, "—"),
])
def test_a_chance_reads_zero_only_when_it_is_zero(p: float | None, shown: str) -> None:
    assert fc.chance_text(p) == shown


@pytest.mark.slow
def test_the_outlook_is_the_forecast_pages_default_run(demo_wh: Warehouse) -> None:
    got = verdict.outlook(demo_wh, PLANS, DEF, REFERENCE, PROPOSED)
    run = fc.forecast(demo_wh, PLANS, DEF, reference=REFERENCE, workers=2)
    assert got is not None and got.chance == run.prob(PROPOSED, REFERENCE)
    assert (got.scenarios, got.months) == (fc.DEFAULT_SCENARIOS, fc.DEFAULT_MONTHS)


def test_the_outlook_prices_the_deal_terms_as_the_forecast_page_does(demo_wh: Warehouse) -> None:
    # A guarantee's credits (and a go-live start) are placed on the horizon from the history:
    # without it the Overview's chance and medians ignored them (issue 20.1).
    proposed = "guaranteed-outcomes"
    got = verdict.outlook(demo_wh, PLANS, DEF, REFERENCE, proposed, scenarios=50)
    run = fc.forecast(demo_wh, PLANS, DEF, scenarios=50, reference=REFERENCE, workers=2)
    p50 = run.volatility.set_index(run.volatility["plan"].astype(str))["p50"]
    assert got is not None
    assert got.chance == run.prob(proposed, REFERENCE)
    assert (got.reference_p50, got.proposed_p50) == (float(p50[REFERENCE]), float(p50[proposed]))
