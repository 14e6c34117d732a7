"""The Data page under AppTest: summary, quality charts, uploads (refused and accepted), demo."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from outcome_pricing.ingest import ingest_files
from outcome_pricing.warehouse import DB_ENV, Warehouse
from tests.apptest import open_tab

REPO = Path(__file__).resolve().parents[1]
APP_DIR = REPO / "app"
VIEW = APP_DIR / "views" / "data.py"
SAMPLE_TASKS = REPO / "data" / "sample_tasks.csv"
SAMPLE_EXPORT = REPO / "data" / "sample_helpdesk_export.csv"
SAMPLE_MAPPING = REPO / "data" / "helpdesk_mapping.toml"

# The page alone (the router also draws the sidebar scenario, which other pages own).
SCRIPT = f"""
import runpy, sys
sys.path.insert(0, {str(APP_DIR)!r})
runpy.run_path({str(VIEW)!r}, run_name="__main__")
"""


def data_page() -> AppTest:
    at = AppTest.from_string(SCRIPT, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture
def small_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A warehouse with the 40-task sample, used by the app through OUTCOME_PRICING_DB."""
    db = tmp_path / "small.duckdb"
    with Warehouse.open(db) as wh:
        ingest_files(wh, tasks=SAMPLE_TASKS)
    monkeypatch.setenv(DB_ENV, str(db))
    return db


class TestDataPage:
    def test_the_summary_and_quality_charts_render_on_demo_data(self, app_env: Path) -> None:
        at = data_page()
        assert metric(at, "Tasks") == "20,000"
        assert metric(at, "Accounts") == "12"
        assert metric(at, "Months covered") == "8"
        assert metric(at, "Tasks with AI live").endswith("%")
        assert [t.label for t in at.tabs] == ["Load data", "Data quality", "Ingest history"]
        assert not at.get("plotly_chart")  # only the open tab (the loading) is drawn
        assert len(open_tab(at, "data.view", "Data quality").get("plotly_chart")) >= 5

    @pytest.mark.slow
    def test_a_bad_upload_shows_the_refusal_table_and_writes_nothing(self, small_db: Path) -> None:
        at = data_page()
        bad = SAMPLE_TASKS.read_bytes().replace(b"T-48214,acme-retail", b"T-48214,", 1)
        at.file_uploader(key="upload_tasks").set_value(("march.csv", bad, "text/csv")).run()
        at.button(key="ingest_button").click().run()
        assert not at.exception
        assert "march.csv" in at.error[0].value and "nothing was written" in at.error[0].value
        table = at.dataframe[0].value
        assert list(table.columns) == ["file", "row", "column", "rule", "value"]
        assert table.iloc[0][["file", "row", "column"]].tolist() == ["march.csv", 3, "account_id"]
        assert metric(at, "Tasks") == "40"

    @pytest.mark.slow
    def test_a_mapped_export_loads_and_the_summary_follows(self, small_db: Path) -> None:
        at = data_page()
        at.file_uploader(key="upload_tasks").set_value(
            ("export.csv", SAMPLE_EXPORT.read_bytes(), "text/csv")
        )
        at.file_uploader(key="upload_mapping").set_value(
            ("helpdesk.toml", SAMPLE_MAPPING.read_bytes(), "application/toml")
        ).run()
        at.button(key="ingest_button").click().run()
        assert not at.exception, at.exception
        assert "200 task(s) inserted" in at.success[0].value
        assert metric(at, "Tasks") == "240"
        history = open_tab(at, "data.view", "Ingest history").dataframe[-1].value
        assert history["source"].tolist()[0] == "export.csv"

    @pytest.mark.slow
    def test_an_upload_over_the_size_limit_is_refused_with_a_message(
        self, small_db: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("outcome_pricing.ingest.uploads.MAX_UPLOAD_BYTES", 1000)
        at = data_page()
        at.file_uploader(key="upload_tasks").set_value(("big.csv", SAMPLE_TASKS.read_bytes(), "text/csv")).run()
        at.button(key="ingest_button").click().run()
        assert "upload limit" in at.error[0].value and "big.csv" in at.error[0].value
        assert metric(at, "Tasks") == "40"

    def test_the_demo_button_fills_an_empty_warehouse(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(DB_ENV, str(tmp_path / "empty.duckdb"))
        at = data_page()
        assert metric(at, "Tasks") == "0"
        assert any("No tasks yet" in i.value for i in at.info)
        at.number_input(key="demo_tasks").set_value(10_000).run()
        at.button(key="demo_button").click().run()
        assert not at.exception, at.exception
        assert metric(at, "Tasks") == "10,000"
        assert "Demo data loaded" in at.success[0].value


class TestWhoMayLoad:
    def test_a_pricing_user_sees_the_data_but_no_upload(
        self, small_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        roles = tmp_path / "roles.toml"
        roles.write_text('[people]\n"pricer@example.com" = { role = "pricing" }\n', encoding="utf-8")
        monkeypatch.setenv("OUTCOME_PRICING_ROLES", str(roles))
        at = AppTest.from_string(SCRIPT, default_timeout=120)
        at.secrets["auth"] = {
            "redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-only",
            "client_id": "test-only", "client_secret": "test-only",
            "server_metadata_url": "https://login.example.com/.well-known/openid-configuration",
        }
        at.user = {"is_logged_in": True, "email": "pricer@example.com"}
        at.run()
        assert not at.exception, at.exception
        assert metric(at, "Tasks") == "40"
        assert len(at.file_uploader) == 0
        assert any("Only admins load data" in i.value for i in at.info)
