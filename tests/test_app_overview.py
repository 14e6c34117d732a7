"""AppTest of the Overview page (the default page) on the small demo warehouse."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from tests import apptest

TIMEOUT = 90


def open_app(**query: str) -> AppTest:
    """The app as a browser first opens it: the default page is the Overview."""
    return apptest.open_app(timeout=TIMEOUT, query=query)


def metric(at: AppTest, label_start: str) -> str:
    return next(value for label, value in apptest.figures(at) if label.startswith(label_start))


def labels(at: AppTest) -> list[str]:
    return [label for label, _ in apptest.figures(at)]


def cards_html(at: AppTest) -> str:
    return next(h.proto.body for h in at.get("html") if 'class="op-card"' in h.proto.body)


def money(text: str) -> float:
    return float(text.replace("$", "").replace(",", ""))


@pytest.mark.usefixtures("app_env")
class TestOverviewPage:
    def test_is_the_default_page_with_eight_cards_under_the_month(self) -> None:
        at = open_app()
        assert at.title[0].value == "Overview"
        assert not at.error, [e.value for e in at.error]
        assert len(apptest.figures(at)) == 8
        month = next(c.value for c in at.caption if "This month =" in c.value)
        month_full = month.split("This month = ")[1].split("**")[0]  # e.g. "October 2026"
        assert any(h.value == month_full for h in at.subheader)
        short = month_full[:3] + " " + month_full.split()[-1]
        dated = [label for label in labels(at) if label.startswith(("Seat", "Billable", "Resolution"))]
        assert len(dated) == 3 and all(short in label for label in dated), dated
        # Six light trend panels (SVG images, no chart library to draw), the interactive chart on a toggle.
        assert not at.get("plotly_chart")
        trends = next(h.proto.body for h in at.get("html") if 'class="op-trends"' in h.proto.body)
        assert trends.count("data:image/svg+xml") == 6
        assert "Revenue by month" in trends and "Reopen rate by month" in trends
        assert cards_html(at).count("data:image/svg+xml") == 7  # a trend line on every card but the chance

    def test_the_interactive_chart_is_one_plotly_figure_on_a_toggle(self) -> None:
        at = open_app()
        at.toggle(key="overview.interactive").set_value(True).run()
        assert not at.exception, [e.value for e in at.exception]
        assert len(at.get("plotly_chart")) == 1  # revenue, activity and the three quality measures: one figure
        assert not any('class="op-trends"' in h.proto.body for h in at.get("html"))
        two_plans = at.get("plotly_chart")[0].proto.spec.count('"legend":"legend"')
        at.toggle(key="overview.interactive").set_value(False)
        at.toggle(key="overview.every_plan").set_value(True).run()  # every plan: the interactive chart too
        assert len(at.get("plotly_chart")) == 1
        assert at.get("plotly_chart")[0].proto.spec.count('"legend":"legend"') > two_plans

    def test_cards_show_money_and_percent_in_the_house_format(self) -> None:
        at = open_app()
        assert metric(at, "Revenue").startswith("$")
        assert metric(at, "Resolution rate").endswith("%")
        assert metric(at, "Seat revenue at risk").startswith("$")

    def test_the_proposed_plan_from_the_sidebar_moves_the_proposed_revenue_only(self) -> None:
        at = open_app()
        ref_before = metric(at, "Revenue (reference)")
        prop_before = metric(at, "Revenue (proposed)")
        at.selectbox(key="scenario.proposed_plan").set_value("per-conversation").run()
        assert not at.exception, [e.value for e in at.exception]
        assert "<b>per-conversation</b> · proposed plan" in cards_html(at)
        assert metric(at, "Revenue (proposed)") != prop_before
        assert metric(at, "Revenue (reference)") == ref_before

    def test_a_stricter_definition_lowers_billable_outcomes(self) -> None:
        at = open_app(**{"def": "lenient"})
        lenient = money(metric(at, "Billable outcomes"))
        at.selectbox(key="scenario.definition_pick").set_value("strict").run()
        assert not at.exception
        assert money(metric(at, "Billable outcomes")) < lenient

    def test_the_movers_period_changes_the_sum_of_changes(self) -> None:
        at = open_app()
        this_month = next(c.value for c in at.caption if "across all" in c.value)
        at.get("button_group")[0].set_value("whole history").run()
        assert not at.exception
        whole = next(c.value for c in at.caption if "across all" in c.value)
        assert whole != this_month and " to " in whole.split(":")[0]

    def test_plans_in_force_list_every_plan_with_a_version(self) -> None:
        at = open_app()
        from outcome_pricing.pricing import example_plans

        table = next(h.proto.body for h in at.get("html") if "<th>Terms</th>" in h.proto.body)
        for plan in example_plans().plans:
            assert f"<td>{plan.name}</td>" in table and f"<td>{plan.version}</td>" in table
        assert "$0.99 per resolved conversation" in table  # the terms in words

    def test_offers_the_brief_download(self) -> None:
        at = open_app()
        buttons = at.get("download_button")
        assert any("brief" in b.proto.label for b in buttons)


@pytest.mark.usefixtures("app_env")
class TestWhatAnExecutiveReadsFirst:
    def test_the_reference_margin_is_beside_the_proposed_one(self) -> None:
        at = open_app()
        assert labels(at)[:4] == ["Revenue (reference)", "Gross margin (reference)", "Revenue (proposed)",
                                  "Gross margin (proposed)"]
        proposed_margin = cards_html(at).split('data-label="Gross margin (proposed)"')[1].split('class="op-card"')[0]
        assert "vs reference" in proposed_margin

    def test_a_verdict_the_forecasts_chance_and_yearly_figures(self) -> None:
        at = open_app()
        line = next(i.value for i in at.info if "Verdict" in i.value)
        assert "over the last" in line and "over the next 12 months" in line
        chance = metric(at, "Chance proposed wins")
        assert chance.endswith("%")
        years = next(h.proto.body for h in at.get("html") if "num years" in h.proto.body)
        rows = re.findall(r"<tr class=\"\"><td>(\d{4})</td><td>(\d+)</td>", years)
        assert rows and all(1 <= int(months) <= 12 for _, months in rows)
        assert "<th>Revenue, seats-today</th>" in years and "<th>Margin, per-outcome</th>" in years

    def test_tables_are_plain_html_without_a_data_grid(self) -> None:
        # Light for a crowd: no data grid on the Overview; every cell goes through roi_report.table (escaped).
        at = open_app()
        assert not at.dataframe
        movers = [h.proto.body for h in at.get("html") if "num movers" in h.proto.body]
        assert movers and all(re.search(r"<td>-?\$[\d,]+</td>", body) for body in movers)
