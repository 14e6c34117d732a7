"""The ROI page's PDF in a real browser: the download button gives the report printed by
Chromium, with the figures the page shows (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from outcome_pricing.reports import pdf
from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, app_pages, open_app, streamlit_server, visit
from tests.pdftext import pdf_text, squash

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists() or not pdf.pdf_available(), reason="Chromium not installed"),
]


def test_the_pdf_download_is_the_report_with_the_pages_figures(demo_db_path: Path) -> None:
    pages = {p.url_path: p for p in app_pages()}
    with streamlit_server(demo_db_path, timeout=120) as url, playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True).new_page()
        page.set_default_timeout(120_000)
        open_app(page, url, app_pages()[0].title)
        visit(page, pages["roi-case"])
        npv = page.locator("[data-testid=stMetric]").filter(has_text="Net present value")
        shown = npv.locator("[data-testid=stMetricValue]").inner_text().strip()
        with page.expect_download(timeout=120_000) as download:
            page.get_by_role("button", name="Download the report (PDF)").click()
        data = Path(download.value.path()).read_bytes()
        browser.close()
    assert data.startswith(b"%PDF-")
    text = squash(pdf_text(data))
    assert squash(shown) in text and "ROIcase:" in text and "perresolvedconversation" in text
