"""Links in a real browser (issue 14): every page's own path opens it, the default page
included, and a page's state comes back from its link."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, app_pages, streamlit_server, wait_ready

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]


@pytest.fixture(scope="module")
def page(demo_db_path: Path):  # noqa: ANN201 (a Playwright page)
    with streamlit_server(demo_db_path, timeout=120) as url, playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        tab = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
        tab.set_default_timeout(120_000)
        tab.base = url  # type: ignore[attr-defined]
        yield tab
        browser.close()


def test_the_default_pages_own_path_opens_it_not_page_not_found(page) -> None:  # noqa: ANN001
    first = app_pages()[0]
    page.goto(f"{page.base}/{first.url_path}")
    wait_ready(page, first.title)
    assert "page not found" not in page.locator("body").inner_text().lower()


def test_a_statements_link_reopens_its_account_month_and_plan(page, demo_wh) -> None:  # noqa: ANN001
    account, month = demo_wh.query_df(
        "SELECT max(account_id) AS a, strftime(max(month), '%Y-%m') AS m FROM tasks").iloc[0]
    page.goto(f"{page.base}/statements?account={account}&month={month}&plan=hybrid")
    wait_ready(page, "Statements")
    text = page.locator("[data-testid=stMain]").inner_text()
    assert "Plan hybrid" in text  # the caption under the cards
    assert "ignored" not in text  # no notice for a good link
    query = parse_qs(urlparse(page.url).query)  # the page writes its state back into the link
    assert query["account"] == [account] and query["month"] == [month] and query["plan"] == ["hybrid"]


def test_a_bad_account_in_an_ai_impact_link_gets_a_notice(page) -> None:  # noqa: ANN001
    page.goto(f"{page.base}/ai-impact?account=NO-SUCH")
    wait_ready(page, "AI impact")
    assert "NO-SUCH" in page.locator("[data-testid=stAlert]").all_inner_texts().__str__()
