"""AppTest of the Price lab and Statements pages on the small demo warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")
TIMEOUT = 60


def open_page(page: str, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"views/{page}")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def money(text: str) -> float:
    return float(text.replace("$", "").replace(",", ""))


def metric_value(at: AppTest, label_start: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label_start))


@pytest.mark.usefixtures("app_env")
class TestPriceLabPage:
    def test_draws_every_figure_without_errors(self) -> None:
        at = open_page("price_lab.py")
        assert not at.error, [e.value for e in at.error]
        charts = at.get("plotly_chart")
        assert len(charts) >= 6  # revenue, margin, winners/losers, sweep, break-even, 2x seat erosion
        assert metric_value(at, "Revenue, per-outcome").startswith("$")

    def test_raising_the_per_outcome_price_moves_revenue_and_break_even_stays(self) -> None:
        at = open_page("price_lab.py")
        before = metric_value(at, "Revenue, per-outcome")
        break_even = metric_value(at, "Break-even")
        price = next(n for n in at.number_input if n.label.startswith("Per-outcome price"))
        price.set_value(1.98).run()
        assert not at.exception, [e.value for e in at.exception]
        after = metric_value(at, "Revenue, per-outcome")
        assert money(after) == pytest.approx(2 * money(before), rel=0.01)
        assert metric_value(at, "Break-even") == break_even  # depends on outcomes and seats, not on the price

    def test_a_link_restores_the_reference_and_proposed_plans(self) -> None:
        at = open_page("price_lab.py", reference_plan="per-conversation", proposed_plan="hybrid")
        assert at.selectbox(key="scenario.reference_plan").value == "per-conversation"
        assert metric_value(at, "Revenue, per-conversation (reference)").startswith("$")
        assert metric_value(at, "Revenue, hybrid").startswith("$")

    def test_a_link_to_an_unknown_plan_falls_back_to_the_defaults(self) -> None:
        at = open_page("price_lab.py", proposed_plan="gold")
        assert not at.exception
        assert metric_value(at, "Revenue, per-outcome").startswith("$")

    def test_the_plan_form_edits_the_shared_plans(self) -> None:
        at = open_page("price_lab.py", proposed_plan="hybrid")
        before = money(metric_value(at, "Revenue, hybrid"))
        fee = next(n for n in at.number_input if n.label.startswith("Platform fee"))
        fee.set_value(fee.value + 100).run()
        assert not at.exception, [e.value for e in at.exception]
        assert money(metric_value(at, "Revenue, hybrid")) > before
        at.switch_page("views/statements.py").run()  # the edited plans are the scenario's now
        assert "platform_fee = 149" in at.session_state["scenario.plans_toml"]

    def test_bad_toml_shows_the_key_and_keeps_the_plans(self) -> None:
        at = open_page("price_lab.py")
        next(t for t in at.text_area if t.label == "Plans TOML").set_value('[[plans]]\nname = "x"\n[[plans.charges]]\nmetric = "outcomes"\n')
        next(b for b in at.button if b.label == "Apply TOML").click().run()
        assert any("key 'price'" in e.value for e in at.error)
        assert metric_value(at, "Revenue, per-outcome").startswith("$")


@pytest.mark.usefixtures("app_env")
class TestStatementsPage:
    def test_shows_total_lines_evidence_and_downloads(self) -> None:
        at = open_page("statements.py")
        assert not at.error, [e.value for e in at.error]
        assert metric_value(at, "Total").startswith("$")
        assert len(at.dataframe) >= 4  # header, lines, evidence by reason, tasks
        labels = [b.proto.label for b in at.get("download_button")]
        assert {"Download CSV", "Download XLSX"} <= set(labels)

    def test_another_plan_gives_another_total(self) -> None:
        at = open_page("statements.py")
        at.selectbox(key="stmt.plan").set_value("outcome-committed").run()
        committed = metric_value(at, "Total")
        at.selectbox(key="stmt.plan").set_value("hybrid").run()
        assert not at.exception
        assert metric_value(at, "Total") != committed
