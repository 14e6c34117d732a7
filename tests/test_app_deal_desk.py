"""The Deal desk page under AppTest: the terms move the figures, a prospect is priced in
closed form, a bad term is a message naming the key, and both exports are offered."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_app

TIMEOUT = 120
K = "deal_desk."


def metric(at: AppTest, label: str) -> str:
    values = [m.value for m in at.metric if m.label.startswith(label)]
    assert values, [m.label for m in at.metric]
    return values[0]


@pytest.mark.slow
@pytest.mark.usefixtures("app_env")
def test_the_terms_move_the_figures_and_a_prospect_is_priced() -> None:
    at = open_app("deal_desk.py", timeout=TIMEOUT)
    margin = metric(at, "Margin under the deal")
    kept = metric(at, "Savings kept after gain-share")
    at.number_input(key=K + "share").set_value(50.0).run()
    assert not at.exception, [e.value for e in at.exception]
    assert metric(at, "Savings kept after gain-share") != kept  # a larger share keeps less
    assert metric(at, "Margin under the deal") != margin
    assert [b.label for b in at.get("download_button")] == ["Terms as TOML", "One-page summary (HTML)"]
    at.button_group(key=K + "subject").set_value("prospect").run()
    assert not at.exception, [e.value for e in at.exception]
    assert metric(at, "Guarantee triggers at least once").endswith("%")
    at.toggle(key=K + "guar").set_value(False).run()
    assert any("No guarantee in this deal." in c.value for c in at.caption)


@pytest.mark.slow
@pytest.mark.usefixtures("app_env")
def test_a_guarantee_on_a_plan_without_outcomes_is_a_message() -> None:
    at = open_app("deal_desk.py", timeout=TIMEOUT)
    at.selectbox(key=K + "base").set_value("seats-today").run()
    at.number_input(key=K + "share").set_value(0.0).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(e.value for e in at.error)
    assert "guarantee" in shown and "plan 'deal'" in shown
