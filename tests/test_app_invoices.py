"""The Invoices and Disputes pages under AppTest: they draw what the engine computed, a
reviewer's decision is stored with who and when, and a reconciliation file is compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from outcome_pricing.ingest.disputes import decision_history, list_disputes
from outcome_pricing.warehouse import DB_ENV, Warehouse
from tests.apptest import open_app

TIMEOUT = 120


@pytest.mark.slow
class TestInvoicesPage:
    def test_draws_the_months_and_the_definitions(self, app_env: Path) -> None:
        at = open_app("invoices.py", timeout=TIMEOUT)
        assert not at.error, [e.value for e in at.error]
        assert len(at.get("plotly_chart")) == 2  # by month, by definition
        assert [m.label for m in at.metric][:4] == [
            "Billed at close", "Late outcomes billed later", "Clawed back later", "Still open"]


@pytest.mark.slow
class TestDisputesPage:
    def test_the_picker_finds_an_open_dispute_by_task_id(self, demo_db_copy: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(DB_ENV, str(demo_db_copy))
        with Warehouse.open(demo_db_copy, read_only=True) as wh:
            open_now = list_disputes(wh, status="open")
        wanted = open_now.iloc[-1]  # the oldest open one
        at = open_app("disputes.py", timeout=TIMEOUT)
        at.text_input(key="disputes.find").input(str(wanted["task_id"])).run()
        assert not at.exception, [e.value for e in at.exception]
        options = at.selectbox(key="disputes.pick").options
        assert options and all(str(wanted["task_id"]) in o for o in options)
        at.text_input(key="disputes.find").input("no-such-id-%%").run()
        assert any("No open dispute matches" in i.value for i in at.info)

    def test_a_decision_is_stored_with_who_and_when(self, demo_db_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(DB_ENV, str(demo_db_copy))
        with Warehouse.open(demo_db_copy, read_only=True) as wh:
            open_before = list_disputes(wh, status="open")
            history_before = len(decision_history(wh))
        assert len(open_before)  # the demo has open disputes
        at = open_app("disputes.py", timeout=TIMEOUT)
        assert not at.error, [e.value for e in at.error]
        chosen = at.selectbox(key="disputes.pick").value
        at.text_area(key="disputes.note").input("agent confirmed the answer was wrong")
        at.button[0].click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        at.session_state  # noqa: B018  (the run finished)
        del at
        import gc

        gc.collect()
        with Warehouse.open(demo_db_copy, read_only=True) as wh:
            history = decision_history(wh)
            assert len(history) == history_before + 1
            last = history.iloc[-1]
            assert (last["dispute_id"], last["status"], last["source"]) == (chosen, "accepted", "app")
            assert last["decided_by"] and last["note"] == "agent confirmed the answer was wrong"
