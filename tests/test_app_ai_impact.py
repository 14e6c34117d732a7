"""AppTest of the AI impact page on the small demo warehouse."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from outcome_pricing.proof import impact, stats
from tests.apptest import open_app, open_tab

TIMEOUT = 60


def open_page() -> AppTest:
    return open_app("ai_impact.py", timeout=TIMEOUT)


def metric(at: AppTest, label: str):
    return next(m for m in at.metric if m.label == label)


@pytest.mark.usefixtures("app_env")
class TestAiImpactPage:
    @pytest.mark.slow
    def test_draws_cards_summary_table_and_charts(self, demo_wh) -> None:
        at = open_page()
        assert not at.error, [e.value for e in at.error]
        expected = impact.impact_summary(demo_wh)
        card = metric(at, "Human minutes per task")
        assert card.value == impact.format_value(expected.human_minutes.ai, "minutes")
        assert impact.plain_language(expected) in [i.value for i in at.info]
        assert any("Newcombe" in c.value for c in at.caption)
        assert not at.get("plotly_chart")  # only the open tab (a table) is drawn
        charts = {"Distributions": 1, "By topic": 2, "Around go-live": 1}  # ECDF, topic mix and minutes, trend
        for tab, count in charts.items():
            assert len(open_tab(at, "impact.view", tab).get("plotly_chart")) == count, tab
            assert not at.error, (tab, [e.value for e in at.error])

    @pytest.mark.slow
    def test_choosing_an_account_shows_its_own_figures(self, demo_wh) -> None:
        account = demo_wh.query_df("SELECT min(account_id) AS a FROM tasks")["a"].iloc[0]
        at = open_page()
        at.selectbox(key="impact.account").set_value(account).run()
        assert not at.exception, [e.value for e in at.exception]
        expected = impact.impact_summary(demo_wh, account)
        assert metric(at, "Human minutes per task").value == impact.format_value(expected.human_minutes.ai, "minutes")
        assert at.query_params["account"] == [account] or at.query_params["account"] == account

    @pytest.mark.slow
    def test_power_calculator_answers_from_the_inputs(self) -> None:
        at = open_tab(open_page(), "impact.view", "Plan a pilot")
        at.number_input(key="impact.sd").set_value(10.0).run()
        at.number_input(key="impact.delta").set_value(5.0).run()
        expected = stats.tasks_per_arm_for_mean(5.0, 10.0)
        assert metric(at, "Tasks needed per arm").value == f"{expected:,}"
        at.radio(key="impact.power_kind").set_value("a rate (e.g. missed issues)").run()
        at.number_input(key="impact.p1").set_value(0.5).run()
        at.number_input(key="impact.p2").set_value(0.6).run()
        assert metric(at, "Tasks needed per arm").value == "388"


@pytest.mark.usefixtures("app_env")
class TestCardsAndLinks:
    def test_a_card_colours_a_change_only_when_its_interval_excludes_zero(self, demo_wh) -> None:
        from streamlit.proto.Metric_pb2 import Metric

        at = open_page()
        s = impact.impact_summary(demo_wh)
        for label, key in (("Human minutes per task", "human_minutes"), ("Reopen rate", "reopen_rate"),
                           ("Missed-issue rate", "missed_issue_rate"), ("Resolution hours", "resolution_hours")):
            c, card = s.comparisons[key], metric(at, label)
            if c.significant:
                assert card.proto.color != Metric.MetricColor.GRAY, label
                assert not card.proto.delta.startswith(impact.NO_CLEAR_CHANGE)
            else:
                assert card.proto.color == Metric.MetricColor.GRAY, label
                assert card.proto.delta.startswith(impact.NO_CLEAR_CHANGE), label

    def test_card_change_says_no_clear_change_when_the_interval_includes_zero(self) -> None:
        base = stats.Comparison("m", "m", "fraction", 0.1, 0.11, 0.01, -0.02, 0.04, 1.0, 100, 100)
        assert impact.card_change(base) == "no clear change (+1.0 pp)"
        clear = stats.Comparison("m", "m", "fraction", 0.1, 0.2, 0.1, 0.05, 0.15, 0.001, 100, 100)
        assert impact.card_change(clear) == "+10.0 pp"

    def test_an_unknown_account_in_the_link_gets_a_notice(self) -> None:
        at = open_app("ai_impact.py", timeout=TIMEOUT, query={"account": "NO-SUCH"}, reapply_query=True)
        assert not at.exception
        assert any("NO-SUCH" in w.value for w in at.warning)
        assert at.selectbox(key="impact.account").value == "All accounts"
