"""The Proof page under AppTest: it draws the estimate, the judge and the sample, a reviewer's
verdict is stored with who and when, and a sales user cannot mark tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from outcome_pricing.access import ROLE_PAGES, Role
from outcome_pricing.warehouse import Warehouse
from tests.apptest import metric_value, open_page, open_tab


@pytest.mark.slow
def test_the_page_draws_the_estimate_and_the_judge(app_env: Path) -> None:
    at = open_page("proof.py")
    assert metric_value(at, "Billed outcomes") != "—"
    assert not at.get("plotly_chart")  # only the open tab (a table) is drawn
    assert len(open_tab(at, "proof.view", "By month").get("plotly_chart")) == 1
    assert metric_value(open_tab(at, "proof.view", "The judge"), "Sensitivity").endswith("%")
    assert any("were genuine on" in m.value for m in at.markdown)


@pytest.mark.slow
def test_a_reviewer_marks_a_sampled_task(demo_db_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from outcome_pricing.warehouse import DB_ENV

    monkeypatch.setenv(DB_ENV, str(demo_db_copy))
    at = open_tab(open_page("proof.py"), "proof.view", "Review")
    task = at.selectbox(key="proof.review.task").value
    assert task is not None
    at.radio(key="proof.review.verdict").set_value("Not genuine")
    at.text_input(key="proof.review.note").input("customer wrote back")
    next(b for b in at.button if b.label == "Save the verdict").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Saved" in s.value for s in at.success)

    wh = Warehouse.open(demo_db_copy)  # the process's one connection to the file, which the app holds
    stored = wh.query_df("SELECT task_id, genuine, decided_by, note FROM audit_decisions")
    wh.close()
    assert stored.values.tolist() == [[task, False, "local user", "customer wrote back"]]


def test_the_page_is_for_pricing_and_sales() -> None:
    assert "proof" in (ROLE_PAGES[Role.PRICING] or set()) and "proof" in (ROLE_PAGES[Role.SALES] or set())
    assert "proof" not in (ROLE_PAGES[Role.EXECUTIVE] or set())
