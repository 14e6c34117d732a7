"""AppTest of the Resolution rules page and the sidebar definition, on the small demo warehouse."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from outcome_pricing.rules import presets
from tests.apptest import open_app, open_tab

TIMEOUT = 60


def open_page(query: dict[str, str] | None = None) -> AppTest:
    return open_app("resolution_rules.py", timeout=TIMEOUT, query=query)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def as_number(text: str) -> float:
    return float(text.replace(",", "").replace("%", ""))


@pytest.mark.usefixtures("app_env")
class TestResolutionRulesPage:
    def test_draws_every_figure_without_errors(self) -> None:
        at = open_page()
        assert not at.error, [e.value for e in at.error]
        assert len(at.get("plotly_chart")) == 1  # only the open tab is drawn: by month
        for tab in ("Funnel", "Compare definitions", "Sensitivity"):  # one chart each
            assert len(open_tab(at, "rules.view", tab).get("plotly_chart")) == 1, tab
            assert not at.error, (tab, [e.value for e in at.error])
        assert at.session_state["rules.view.open"] == "Sensitivity"
        assert as_number(metric(at, "Billable outcomes, whole history")) > 0
        assert open_tab(at, "rules.view", "TOML").get("download_button")

    def test_a_longer_silence_period_lowers_billable_outcomes(self) -> None:
        at = open_page()
        before = as_number(metric(at, "Billable outcomes, whole history"))
        silence = next(n for n in at.select_slider if n.label.startswith("Silence period"))
        silence.set_value(720).run()
        assert not at.exception, [e.value for e in at.exception]
        after = as_number(metric(at, "Billable outcomes, whole history"))
        assert after < before
        assert at.query_params["def"] == "custom" and at.query_params["d_silence_hours"] == "720"
        assert at.sidebar.selectbox[0].value == "custom"

    def test_the_knobs_still_show_the_definition_after_a_visit_to_another_page(self) -> None:
        at = open_page()
        at.switch_page("views/data.py")
        at.run()
        at.switch_page("views/resolution_rules.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        silence = next(n for n in at.select_slider if n.label.startswith("Silence period"))
        reopen = next(n for n in at.select_slider if n.label.startswith("Reopen window"))
        assert (silence.value, reopen.value) == (24, 168)  # intercom-fin-2025, not the minimum

    def test_picking_a_preset_in_the_sidebar_updates_the_knobs(self) -> None:
        at = open_page()
        at.sidebar.selectbox[0].set_value("zendesk-ar").run()
        silence = next(n for n in at.select_slider if n.label.startswith("Silence period"))
        assert silence.value == 72
        assert at.query_params["def"] == "zendesk-ar"
        assert presets()["zendesk-ar"].version in at.sidebar.caption[0].value

    def test_a_link_with_custom_knobs_is_restored(self) -> None:
        at = open_page({"def": "custom", "d_min_csat": "4", "d_handoff": "always"})
        assert at.sidebar.selectbox[0].value == "custom"
        assert next(s for s in at.slider if s.label == "Minimum CSAT").value == 4

    def test_a_link_with_a_bad_value_shows_a_notice_and_the_default(self) -> None:
        at = open_page({"def": "custom", "d_min_csat": "nine"})
        assert any("min_csat" in w.value for w in at.sidebar.warning)
        assert at.sidebar.selectbox[0].value == "intercom-fin-2025"

    def test_evidence_lists_tasks_of_the_chosen_reason(self) -> None:
        at = open_tab(open_page(), "rules.view", "Evidence")
        next(s for s in at.selectbox if s.label == "Reason code").set_value("not_resolved").run()
        evidence = at.dataframe[-1].value
        assert len(evidence) > 0 and set(evidence["reason"]) == {"not_resolved"}

    def test_a_link_with_hours_off_the_grid_keeps_them(self) -> None:
        at = open_page({"def": "custom", "d_silence_hours": "30"})
        assert next(s for s in at.select_slider if s.label.startswith("Silence period")).value == 30
        assert as_number(metric(at, "Billable outcomes, whole history")) > 0
