"""AppTest of the ROI case page on the small demo warehouse: it draws, a link restores a case,
bad link values fall back with a notice naming the parameter, prospects by hand work."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_app

TIMEOUT = 90


def open_roi(**params: str) -> AppTest:
    # The first (default) page may rewrite the URL: the case's parameters go in again.
    return open_app("roi_case.py", timeout=TIMEOUT, query=params, reapply_query=True)


def metric_value(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


@pytest.mark.usefixtures("app_env")
class TestRoiCasePage:
    def test_draws_the_case_charts_table_and_downloads(self) -> None:
        at = open_roi()
        assert not at.error, [e.value for e in at.error]
        assert metric_value(at, "Net present value").lstrip("-").startswith("$")
        assert len(at.get("plotly_chart")) == 2  # cumulative and benefits vs costs in one; tornado
        labels = {b.proto.label for b in at.get("download_button")}
        assert {"Download the report (HTML)", "Download the cash flows (CSV)"} <= labels
        assert at.query_params["mode"] == "account"  # the URL now describes the case

    def test_a_link_restores_the_case(self) -> None:
        at = open_roi(mode="account", account="A0003", plan="per-conversation", years="5",
                      rate="0.12", risk="0.3", implementation_cost="25000")
        assert not warnings(at)
        assert at.selectbox(key="roi.account").value == "A0003"
        assert at.selectbox(key="roi.plan").value == "per-conversation"
        assert at.number_input(key="roi.years").value == 5
        assert at.number_input(key="roi.rate_pct").value == pytest.approx(12.0)  # the link's 0.12, in percent
        assert at.number_input(key="roi.risk_pct").value == pytest.approx(30.0)
        table = next(h.proto.body for h in at.get("html") if "Cumulative net cash flow" in h.proto.body)
        assert "<th>Year 5</th>" in table
        assert "<td>Implementation</td><td></td><td>$25,000</td>" in table
        assert at.query_params["implementation_cost"] == "25000"
        assert (at.query_params["rate"], at.query_params["risk"]) == ("0.12", "0.3")  # fractions, as before

    def test_bad_link_values_fall_back_with_a_notice_naming_each(self) -> None:
        at = open_roi(account="A0001", plan="no-such-plan", years="99", rate="abc")
        text = " ".join(warnings(at))
        for name in ("'plan'", "'years'", "'rate'"):
            assert name in text
        assert at.number_input(key="roi.years").value == 3
        assert at.number_input(key="roi.rate_pct").value == pytest.approx(10.0)
        assert metric_value(at, "Net present value")  # the case still opens

    @pytest.mark.slow
    def test_changing_an_assumption_moves_npv_and_the_link(self) -> None:
        at = open_roi(account="A0002", plan="per-outcome")
        before = metric_value(at, "Net present value")
        cost = next(n for n in at.number_input if n.label.startswith("Implementation cost"))
        cost.set_value(90_000).run()
        assert not at.exception
        assert metric_value(at, "Net present value") != before
        assert at.query_params["implementation_cost"] == "90000"
        next(b for b in at.button if b.label == "Reset to measured values").click().run()
        assert "implementation_cost" not in at.query_params
        assert metric_value(at, "Net present value") == before

    def test_without_an_account_in_the_link_it_opens_on_the_one_with_most_ai_tasks(self, demo_wh) -> None:  # noqa: ANN001
        from outcome_pricing.analysis import roi

        at = open_roi()
        picker = at.selectbox(key="roi.account")
        assert picker.value == roi.default_account(demo_wh)
        assert at.query_params["account"] == picker.value

    def test_the_account_picker_shows_name_and_id(self, demo_wh) -> None:  # noqa: ANN001
        from outcome_pricing.analysis import roi

        at = open_roi(account="A0003")
        name = roi.account_names(demo_wh)["A0003"]
        assert at.selectbox(key="roi.account").format_func("A0003") == f"{name} (A0003)"
        assert f"{name} (A0003)" in at.selectbox(key="roi.account").options

    def test_percent_inputs_go_to_the_link_as_fractions(self) -> None:
        at = open_roi(account="A0002")
        at.number_input(key="roi.rate_pct").set_value(12.0).run()
        at.number_input(key="roi.risk_pct").set_value(25.0).run()
        assert not at.exception, [e.value for e in at.exception]
        assert (at.query_params["rate"], at.query_params["risk"]) == ("0.12", "0.25")
        assert any("years at 12.0%" in c.value for c in at.caption)

    def test_a_prospect_by_hand(self) -> None:
        at = open_roi(mode="prospect", prospect="<script>alert(1)</script>", monthly_volume="20000",
                      human_minutes="8", seats="40", seat_price="115", agent_hourly_cost="38")
        assert not at.error, [e.value for e in at.error]
        assert at.number_input(key="roi.p.monthly_volume").value == 20_000
        assert metric_value(at, "Net present value").lstrip("-").startswith("$")

    @pytest.mark.slow
    def test_a_prospects_uploaded_logs(self, demo_wh) -> None:  # noqa: ANN001
        from outcome_pricing.warehouse.schema import TASK_COLUMN_NAMES

        tasks = demo_wh.query_df(f"SELECT {', '.join(TASK_COLUMN_NAMES)} FROM tasks WHERE account_id = ?", ["A0004"])
        at = open_roi(mode="upload")
        assert any("Upload the prospect's task logs" in i.value for i in at.info)
        at.get("file_uploader")[0].set_value(("prospect.csv", tasks.to_csv(index=False).encode(), "text/csv"))
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        assert any("A0004" in s.value for s in at.subheader)
        assert metric_value(at, "Net present value").lstrip("-").startswith("$")

    @pytest.mark.slow
    def test_the_sidebar_definition_is_the_default_and_a_link_may_name_a_preset(self) -> None:
        at = open_roi(account="A0002", **{"def": "zendesk-ar"})
        assert any("definition zendesk-ar" in c.value for c in at.caption)
        at = open_roi(account="A0002", definition="strict")
        assert any("definition strict" in c.value for c in at.caption)


def implementation_input(at: AppTest):  # noqa: ANN201
    return next(n for n in at.number_input if n.label.startswith("Implementation cost"))


@pytest.mark.usefixtures("app_env")
class TestTheLinkAndTheSession:
    """Issue 14: the link carries the definition and every entry; entries stay with their
    subject; switching modes or pages keeps the case; no link notice without a link."""

    @pytest.mark.slow
    def test_an_entry_for_one_account_does_not_follow_to_the_next(self) -> None:
        at = open_roi(account="A0002", plan="per-outcome")
        implementation_input(at).set_value(90_000).run()
        assert at.query_params["implementation_cost"] == "90000"
        at.selectbox(key="roi.account").set_value("A0003").run()
        assert not at.exception, [e.value for e in at.exception]
        assert "implementation_cost" not in at.query_params
        assert implementation_input(at).value == 10_000
        at.selectbox(key="roi.account").set_value("A0002").run()  # and it is kept for its account
        assert at.query_params["implementation_cost"] == "90000"

    @pytest.mark.slow
    def test_an_account_entry_does_not_reach_the_prospect_and_the_account_survives_the_switch(self) -> None:
        at = open_roi(account="A0003", plan="per-outcome")
        implementation_input(at).set_value(90_000).run()
        at.segmented_control(key="roi.mode").set_value("prospect").run()
        assert not at.exception, [e.value for e in at.exception]
        assert "implementation_cost" not in at.query_params
        assert implementation_input(at).value == 10_000
        at.segmented_control(key="roi.mode").set_value("account").run()
        assert at.selectbox(key="roi.account").value == "A0003"
        assert at.query_params["implementation_cost"] == "90000"

    @pytest.mark.slow
    def test_another_page_and_back_keeps_the_case(self) -> None:
        at = open_roi(account="A0003", plan="per-conversation", years="5")
        at.switch_page("views/overview.py")
        at.run()
        at.switch_page("views/roi_case.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.selectbox(key="roi.account").value == "A0003"
        assert at.selectbox(key="roi.plan").value == "per-conversation"
        assert at.number_input(key="roi.years").value == 5

    def test_no_link_notice_without_a_link(self) -> None:
        at = open_roi()
        at.segmented_control(key="roi.mode").set_value("upload").run()
        assert not any("This link" in i.value for i in at.info)
        assert not warnings(at)

    def test_the_shared_link_carries_the_definition_and_every_entry(self) -> None:
        at = open_roi(account="A0002", implementation_cost="25000", **{"def": "zendesk-ar"})
        link = next(c.value for c in at.code if "mode=account" in c.value)
        for part in ("def=zendesk-ar", "account=A0002", "implementation_cost=25000", "plan="):
            assert part in link

    def test_the_price_is_in_words_and_the_pdf_can_be_downloaded(self) -> None:
        at = open_roi(account="A0002", plan="per-outcome")
        assert any("$0.99 per resolved conversation" in m.value.replace("\\", "") for m in at.markdown)
        labels = {b.proto.label for b in at.get("download_button")}
        assert "Download the report (PDF)" in labels
