"""AppTest of the Price lab and Statements pages on the small demo warehouse."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from streamlit.proto.Metric_pb2 import Metric
from streamlit.testing.v1 import AppTest

from outcome_pricing.pricing import example_plans
from tests.apptest import metric_value, open_app, open_page, open_tab


def money(text: str) -> float:
    return float(text.replace("$", "").replace(",", ""))


def metric(at: AppTest, label_start: str):  # noqa: ANN201 (an AppTest element)
    return next(m for m in at.metric if m.label.startswith(label_start))


@pytest.mark.usefixtures("app_env")
class TestPriceLabPage:
    def test_draws_every_figure_without_errors(self) -> None:
        at = open_page("price_lab.py")
        assert not at.error, [e.value for e in at.error]
        assert len(at.get("plotly_chart")) == 1  # only the open tab is drawn: revenue and margin in one figure
        charts = {"Winners and losers": 1, "Break-even": 1, "Price sweep": 1, "Seat erosion": 2}
        for tab, count in charts.items():
            assert len(open_tab(at, "lab.view", tab).get("plotly_chart")) == count, tab
            assert not at.error, (tab, [e.value for e in at.error])
        assert metric_value(at, "Revenue, per-outcome").startswith("$")

    def test_cards_name_their_period_and_the_margin_share_has_no_arrow(self) -> None:
        at = open_page("price_lab.py")
        assert any(re.search(r"Whole history, [A-Z][a-z]{2} \d{4} to [A-Z][a-z]{2} \d{4}", c.value) for c in at.caption)
        margin = metric(at, "Margin, per-outcome")
        assert margin.proto.delta.endswith("% of revenue")
        assert margin.proto.direction == Metric.MetricDirection.NONE  # a share, not a change
        assert "Whole history" in margin.proto.help

    def test_the_totals_table_has_readable_headers_whole_dollars_and_one_decimal_percent(self) -> None:
        at = open_page("price_lab.py")
        body = next(h.proto.body for h in at.get("html") if "Change vs reference" in h.proto.body)
        headers = re.findall(r"<th>([^<]*)</th>", body)
        assert headers == ["Plan", "Revenue", "Cost to serve", "Margin", "Margin %", "Change vs reference"]
        rows = {cells[0]: cells for cells in (re.findall(r"<td>([^<]*)</td>", r) for r in body.split("<tr")[2:])}
        shown = rows["per-outcome"]
        # the table reads as the cards do: whole dollars, a percent to one decimal
        assert shown[1] == metric_value(at, "Revenue, per-outcome") and re.fullmatch(r"-?\$[\d,]+", shown[1])
        assert shown[4] == metric(at, "Margin, per-outcome").proto.delta.split()[0]
        assert re.fullmatch(r"-?\d+\.\d%", shown[4])
        assert '<tr class="total"><td>seats-today</td>' in body  # the reference row, in bold
        assert len(rows) == len(example_plans().names)

    def test_money_axes_have_dollar_ticks_and_readable_titles(self) -> None:
        at = open_page("price_lab.py")
        figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        revenue = next(f for f in figures if f["layout"]["title"]["text"].startswith("Revenue by month"))
        assert revenue["layout"]["yaxis"]["tickformat"] == "$,.0f"  # -$500, not $-500
        assert revenue["layout"]["yaxis"]["title"]["text"] == "Revenue"
        assert revenue["layout"]["xaxis"]["title"]["text"] == "Month"
        at.segmented_control(key="lab.measure").set_value("margin").run()  # one measure drawn at a time
        (margin,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        assert margin["layout"]["title"]["text"].startswith("Margin by month")
        assert margin["layout"]["yaxis"]["tickformat"] == "$,.0f"
        assert margin["layout"]["yaxis"]["title"]["text"] == "Margin"

    def test_the_chart_draws_the_reference_and_proposed_plans_until_every_plan_is_asked(self) -> None:
        at = open_page("price_lab.py")
        (chart,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        assert {t["name"] for t in chart["data"]} == {"seats-today", "per-outcome"}
        at.toggle(key="lab.every_plan").set_value(True).run()
        (chart,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        assert {t["name"] for t in chart["data"]} == set(example_plans().names)
        assert chart["layout"]["title"]["text"] == "Revenue by month, every plan"

    @pytest.mark.slow
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

    @pytest.mark.slow
    def test_a_link_restores_the_reference_and_proposed_plans(self) -> None:
        at = open_page("price_lab.py", reference_plan="per-conversation", proposed_plan="hybrid")
        assert at.selectbox(key="scenario.reference_plan").value == "per-conversation"
        assert metric_value(at, "Revenue, per-conversation (reference)").startswith("$")
        assert metric_value(at, "Revenue, hybrid").startswith("$")

    def test_a_link_to_an_unknown_plan_falls_back_to_the_defaults(self) -> None:
        at = open_page("price_lab.py", proposed_plan="gold")
        assert not at.exception
        assert metric_value(at, "Revenue, per-outcome").startswith("$")

    @pytest.mark.slow
    def test_the_plan_form_edits_the_shared_plans(self) -> None:
        at = open_page("price_lab.py", proposed_plan="hybrid")
        before = money(metric_value(at, "Revenue, hybrid"))
        fee = next(n for n in at.number_input if n.label.startswith("Platform fee"))
        fee.set_value(fee.value + 100).run()
        assert not at.exception, [e.value for e in at.exception]
        assert money(metric_value(at, "Revenue, hybrid")) > before
        at.switch_page("views/statements.py").run()  # the edited plans are the scenario's now
        assert "platform_fee = 149" in at.session_state["scenario.plans_toml"]

    @pytest.mark.slow
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

    def test_header_shows_the_total_in_cents_and_the_plan_version(self) -> None:
        at = open_page("statements.py")
        header = dict(at.dataframe[0].value.itertuples(index=False))
        assert re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d", header["Total"])
        assert header["Total"] == metric_value(at, "Total")
        version = example_plans().plan("per-outcome").version
        assert header["Plan version"] == version
        assert any(f"`{version}`" in c.value and "per-outcome" in c.value for c in at.caption)

    def test_the_task_table_shows_missing_values_blank(self) -> None:
        at = open_page("statements.py")
        tasks = at.dataframe[-1]
        assert "task_id" in tasks.value.columns and tasks.value.isna().any().any()
        assert tasks.proto.HasField("placeholder") and tasks.proto.placeholder == ""

    def test_another_plan_gives_another_total(self) -> None:
        at = open_page("statements.py")
        at.selectbox(key="stmt.plan").set_value("outcome-committed").run()
        committed = metric_value(at, "Total")
        at.selectbox(key="stmt.plan").set_value("hybrid").run()
        assert not at.exception
        assert metric_value(at, "Total") != committed


@pytest.mark.usefixtures("app_env")
class TestStatementsLink:
    """Every state that matters (account, month, plan) is in the link (issue 14); a bad link
    value gets a notice (issue 13)."""

    def test_a_link_reopens_the_same_account_month_and_plan(self, demo_wh) -> None:
        account, month = demo_wh.query_df(
            "SELECT max(account_id) AS a, strftime(min(month), '%Y-%m') AS m FROM tasks "
            "WHERE account_id = (SELECT max(account_id) FROM tasks)").iloc[0]
        at = open_app("statements.py", timeout=60, query={"account": account, "month": month, "plan": "hybrid"},
                      reapply_query=True)
        assert at.selectbox(key="stmt.account").value == account
        assert at.selectbox(key="stmt.month").value == month
        assert at.selectbox(key="stmt.plan").value == "hybrid"
        assert not at.warning, [w.value for w in at.warning]
        header = dict(at.dataframe[0].value.itertuples(index=False))
        assert account in header["Account"] and header["Plan"] == "hybrid"
        assert header["Month"] == pd.Timestamp(month).strftime("%B %Y")  # as people read it

    def test_the_choice_is_written_into_the_link(self) -> None:
        at = open_page("statements.py")
        at.selectbox(key="stmt.plan").set_value("outcome-committed").run()
        assert at.query_params["plan"] in ("outcome-committed", ["outcome-committed"])
        assert "account" in at.query_params and "month" in at.query_params

    def test_an_unknown_account_in_the_link_gets_a_notice(self) -> None:
        at = open_app("statements.py", timeout=60, query={"account": "NO-SUCH", "plan": "gold"}, reapply_query=True)
        assert not at.exception
        notices = " ".join(w.value for w in at.warning)
        assert "NO-SUCH" in notices and "gold" in notices
        assert metric_value(at, "Total").startswith("$")


@pytest.mark.usefixtures("app_env")
class TestPriceLabIssue14:
    def test_break_even_is_taken_over_the_live_months_with_the_last_3_months_beside(self) -> None:
        at = open_page("price_lab.py")
        card = metric(at, "Break-even price, AI live")
        assert card.value.startswith("$") and card.proto.delta.endswith("last 3 months")
        assert "months with the AI live" in card.proto.help or "AI live" in card.proto.help
        open_tab(at, "lab.view", "Break-even")
        segments = next(d for d in at.dataframe if "segment" in d.value.columns and "break_even_price_recent" in d.value.columns
                        and "accounts" in d.value.columns)
        assert len(segments.value) >= 1

    def test_there_is_one_price_input_for_the_proposed_plans_outcome_price(self) -> None:
        at = open_page("price_lab.py")
        priced = [n for n in at.number_input if "price" in n.label.lower() and "per-outcome" in n.label]
        assert len(priced) == 1, [n.label for n in at.number_input]

    @pytest.mark.slow
    def test_a_price_edit_restates_the_description(self) -> None:
        at = open_page("price_lab.py")
        next(n for n in at.number_input if n.label.startswith("Per-outcome price")).set_value(1.25).run()
        assert not at.exception, [e.value for e in at.exception]
        text = at.session_state["scenario.plans_toml"]
        plans = pricing_plans_from(text)
        description = plans.plan("per-outcome").description
        assert "$1.25" in description and "Edited" in description and "$0.99" not in description

    @pytest.mark.slow
    def test_a_commitment_from_the_form_becomes_the_proposed_plan(self) -> None:
        at = open_page("price_lab.py")
        next(b for b in at.button if b.label == "Add and propose this plan").click().run()
        assert not at.exception, [e.value for e in at.exception]
        plan = pricing_plans_from(at.session_state["scenario.plans_toml"]).plan("try-model-tier")
        assert plan.charges[0].by is not None  # the default shape: prices by model tier
        at.radio(key="lab.shape").set_value("commitment").run()
        at.number_input(key="lab.shape.amount").set_value(900.0).run()
        next(b for b in at.button if b.label == "Add and propose this plan").click().run()
        assert not at.exception, [e.value for e in at.exception]
        plan = pricing_plans_from(at.session_state["scenario.plans_toml"]).plan("try-commitment")
        assert plan.commitment is not None and float(plan.commitment.amount) == 900.0
        assert metric_value(at, "Revenue, try-commitment").startswith("$")


def pricing_plans_from(text: str):  # noqa: ANN201
    from outcome_pricing.pricing.plans import PlanSet

    return PlanSet.from_toml_text(text)
