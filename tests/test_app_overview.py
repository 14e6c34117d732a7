"""AppTest of the Overview page (the default page) on the small demo warehouse."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests import apptest

TIMEOUT = 90


def open_app(**query: str) -> AppTest:
    """The app as a browser first opens it: the default page is the Overview."""
    return apptest.open_app(timeout=TIMEOUT, query=query)


def metric(at: AppTest, label_start: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label_start))


def money(text: str) -> float:
    return float(text.replace("$", "").replace(",", ""))


@pytest.mark.usefixtures("app_env")
class TestOverviewPage:
    def test_is_the_default_page_with_eight_cards_under_the_month(self) -> None:
        at = open_app()
        assert at.title[0].value == "Overview"
        assert not at.error, [e.value for e in at.error]
        assert len(at.metric) == 8
        month = next(c.value for c in at.caption if "This month =" in c.value)
        month_full = month.split("This month = ")[1].split("**")[0]  # e.g. "October 2026"
        assert any(h.value == month_full for h in at.subheader)
        short = month_full[:3] + " " + month_full.split()[-1]
        dated = [m.label for m in at.metric if m.label.startswith(("Seat", "Billable", "Resolution"))]
        assert len(dated) == 3 and all(short in label for label in dated), dated
        assert len(at.get("plotly_chart")) == 5  # revenue, activity, three quality charts

    def test_cards_show_money_and_percent_in_the_house_format(self) -> None:
        at = open_app()
        assert metric(at, "Revenue").startswith("$")
        assert metric(at, "Resolution rate").endswith("%")
        assert metric(at, "Seat revenue at risk").startswith("$")

    def test_the_proposed_plan_from_the_sidebar_moves_the_proposed_revenue_only(self) -> None:
        at = open_app()
        ref_before = next(m.value for m in at.metric if "(reference)" in m.label)
        prop_before = next(m for m in at.metric if "(proposed)" in m.label)
        at.selectbox(key="scenario.proposed_plan").set_value("per-conversation").run()
        assert not at.exception, [e.value for e in at.exception]
        prop_after = next(m for m in at.metric if "(proposed)" in m.label)
        assert any(md.value.startswith("**per-conversation** · proposed plan") for md in at.markdown)
        assert prop_after.value != prop_before.value
        assert next(m.value for m in at.metric if "(reference)" in m.label) == ref_before

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
        labels = [m.label for m in at.metric]
        assert labels[:4] == ["Revenue (reference)", "Gross margin (reference)", "Revenue (proposed)",
                              "Gross margin (proposed)"]
        assert "vs reference" in str(at.metric[3].proto.delta_description)

    def test_a_verdict_the_forecasts_chance_and_yearly_figures(self) -> None:
        at = open_app()
        line = next(i.value for i in at.info if "Verdict" in i.value)
        assert "over the last" in line and "over the next 12 months" in line
        chance = metric(at, "Chance proposed wins")
        assert chance.endswith("%")
        years = next(df.value for df in at.dataframe if "revenue_reference" in df.value.columns)
        assert len(years) >= 1 and years["months"].between(1, 12).all()
