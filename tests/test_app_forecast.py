"""AppTest of the Forecast page on the small demo warehouse: it draws, the headline is a
probability, and changing an assumption moves the answer."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import metric_value as metric
from tests.apptest import open_page, open_tab

SOURCES = "Where the assumptions come from"


def open_forecast() -> AppTest:
    at = open_page("forecast.py")
    assert not at.error, [e.value for e in at.error]
    return at


def horizon_revenue(at: AppTest) -> str:
    """The proposed plan's median horizon revenue (the second of the two revenue figures)."""
    return [m.value for m in at.metric if "horizon revenue" in m.label][1]


def dollars(text: str) -> float:
    return float(text.replace("$", "").replace(",", ""))


def control(at: AppTest, label: str):  # noqa: ANN201 - a streamlit testing element
    return next(n for n in at.number_input if n.label == label)


@pytest.mark.usefixtures("app_env")
class TestForecastPage:
    @pytest.mark.slow
    def test_draws_fans_headline_and_volatility(self) -> None:
        at = open_forecast()
        assert len(at.get("plotly_chart")) == 2  # every plan's range; the reference and proposed fans in one
        probability = metric(at, "Chance")
        assert probability == "—" or probability.endswith("%")
        assert horizon_revenue(at).startswith("$")
        volatility = open_tab(at, "fc.view", "Volatility and odds")
        assert len(volatility.dataframe) == 2  # volatility, prob_beats
        for tab in ("Commitments and guarantees", "By account"):
            assert not open_tab(at, "fc.view", tab).error, tab
        sources = open_tab(at, "fc.view", SOURCES)
        assert len(sources.dataframe) == 2  # each assumption's source; today's level per account
        labels = {n.label for n in at.number_input}
        assert {"Volume growth per month (%)", "Monthly churn hazard (%)", "Price elasticity of volume"} <= labels

    def test_a_plan_meeting_itself_is_blank_not_none_or_zero(self) -> None:
        at = open_tab(open_forecast(), "fc.view", "Volatility and odds")
        beats = next(d for d in at.dataframe if list(d.value.index) == list(d.value.columns))
        assert (beats.value.to_numpy().diagonal() == "").all()

    def test_more_growth_moves_revenue_up(self) -> None:
        at = open_forecast()
        before = dollars(horizon_revenue(at))
        growth = control(at, "Volume growth per month (%)")
        growth.set_value(min(growth.value + 5.0, 20.0)).run()  # five points more a month, in percent
        assert not at.exception, [e.value for e in at.exception]
        after = dollars(horizon_revenue(at))
        assert after > before

    def test_churn_lowers_revenue_and_reset_brings_the_estimate_back(self) -> None:
        at = open_forecast()
        before = horizon_revenue(at)
        control(at, "Monthly churn hazard (%)").set_value(20.0).run()
        assert dollars(horizon_revenue(at)) < dollars(before)
        next(b for b in at.button if b.label == "Reset to the estimates").click().run()
        assert horizon_revenue(at) == before

    def test_margin_fans_and_more_plans(self) -> None:
        at = open_forecast()
        at.radio(key="fc.measure").set_value("margin").run()
        shown = at.multiselect(key="fc.shown")
        shown.set_value(list(shown.options)).run()
        assert not at.exception, [e.value for e in at.exception]
        charts = at.get("plotly_chart")
        assert len(charts) == 2  # every plan's range; the fans, one panel per plan, in one figure
        fans = json.loads(charts[1].proto.spec)
        titles = [a["text"] for a in fans["layout"]["annotations"] if a["text"].endswith("per month")]
        assert titles == [f"{plan}: margin per month" for plan in shown.options]

    def test_rates_are_entered_in_percent_and_reach_the_engine_as_fractions(self) -> None:
        at = open_forecast()
        churn = control(at, "Monthly churn hazard (%)")
        assert churn.max == 50.0  # the engine's 0.5, in percent
        churn.set_value(20.0).run()
        assert not [d for d in at.dataframe if "Assumption" in d.value.columns]  # in its own tab, not drawn
        sources = next(d.value for d in open_tab(at, "fc.view", SOURCES).dataframe if "Assumption" in d.value.columns)
        row = sources[sources["Assumption"] == "Monthly churn hazard"].iloc[0]
        assert row["Value"] == "20.00%"
        assert "set by the user" in row["Source"]

    def test_a_plan_against_itself_has_no_probability_and_zero_only_when_it_is_zero(self) -> None:
        at = open_tab(open_forecast(), "fc.view", "Volatility and odds")
        prob = next(d.value for d in at.dataframe if list(d.value.index) == list(d.value.columns))
        for plan in prob.index:
            assert prob.loc[plan, plan] == ""
        off = [prob.iloc[i, j] for i in range(len(prob)) for j in range(len(prob)) if i != j]
        assert all(p.endswith("%") for p in off)
        assert all(p in ("<1%", ">99%") or p.rstrip("%").isdigit() for p in off)
