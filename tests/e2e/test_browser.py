"""A real browser (Debian's Chromium through Playwright) against the running app.

Visits every page the way a user does (the sidebar links), asserts no exception
box and no browser console error, saves full-page screenshots under
artifacts/screenshots/, prints how long each page took to be ready, checks that
the scenario survives a page change and a shared link, and opens four sessions
at once. One server and one browser serve the whole module.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.e2e.server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    EXCEPTION,
    ROOT,
    app_pages,
    full_page_screenshot,
    open_app,
    streamlit_server,
    visit,
    wait_ready,
)

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]

SHOTS = ROOT / "artifacts" / "screenshots"
VIEWPORT = {"width": 1440, "height": 1000}
PAGES = app_pages()
PROBE = re.compile(r"/[^/]+/_stcore/(health|host-config)$")


@pytest.fixture(scope="module")
def server(demo_db_path: Path):
    with streamlit_server(demo_db_path, timeout=120) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _local(url: str) -> bool:
    return urlparse(url).hostname in (None, "", "127.0.0.1", "localhost") or url.startswith(("data:", "blob:"))


def new_page(browser, errors: list[str], outside: list[str] | None = None):
    """A fresh session (its own context). Console errors land in `errors`; requests that
    leave the machine land in `outside` (a failed one is reported there, not twice)."""
    outside = [] if outside is None else outside
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(120_000)

    def console(m) -> None:  # noqa: ANN001
        url = m.location.get("url", "")
        # Opened on a deep link (/price-lab), Streamlit's front end first probes
        # /price-lab/_stcore/{health,host-config} for its base path: a 404 by design.
        if "404" in m.text and PROBE.search(url):
            return
        if m.type == "error" and _local(url):
            errors.append(f"console: {m.text} at {m.location.get('url')}")

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("request", lambda r: None if _local(r.url) else outside.append(r.url))
    return context, page


def test_every_page_renders_without_errors(server: str, browser) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    context, page = new_page(browser, errors)
    timings = {"first load (Overview)": open_app(page, server, PAGES[0].title)}
    problems = []
    for target in PAGES:
        timings[target.title] = visit(page, target)
        if page.locator(EXCEPTION).count():
            problems.append(f"exception on {target.title}: {page.locator(EXCEPTION).first.inner_text()[:300]}")
        full_page_screenshot(page, SHOTS / f"{target.url_path}.png")
    print("\nbrowser page-ready seconds:", {k: round(v, 2) for k, v in timings.items()})
    context.close()
    assert not problems, problems
    assert not errors, errors


def test_the_app_loads_nothing_from_the_network(server: str, browser) -> None:
    """Nothing leaves the machine: no font, icon, script or tile from another host."""
    errors: list[str] = []
    outside: list[str] = []
    context, page = new_page(browser, errors, outside)
    open_app(page, server, PAGES[0].title)
    for target in PAGES[1:]:
        visit(page, target)
    context.close()
    assert not outside, sorted(set(outside))


def test_the_scenario_survives_a_page_change_and_a_shared_link(server: str, browser) -> None:
    errors: list[str] = []
    context, page = new_page(browser, errors)
    link = f"{server}/price-lab?def=strict&reference_plan=seats-today&proposed_plan=hybrid"
    page.goto(link)
    wait_ready(page, "Price lab")
    overview = next(p for p in PAGES if p.file == "overview.py")
    visit(page, overview)
    query = parse_qs(urlparse(page.url).query)
    assert query.get("def") == ["strict"] and query.get("proposed_plan") == ["hybrid"], page.url
    assert page.get_by_text("Revenue", exact=False).first.is_visible()
    # the proposed plan's cards are headed by its name (app/views/overview.py)
    assert page.get_by_text("hybrid · proposed plan", exact=False).first.is_visible()
    context.close()
    assert not errors, errors


def test_four_sessions_at_once(server: str, browser) -> None:
    """Four people open different pages with different definitions at the same moment:
    all four finish without errors, and each keeps its own scenario."""
    errors: list[str] = []
    sessions = [new_page(browser, errors) for _ in range(4)]
    targets = [PAGES[i % len(PAGES)] for i in (0, 2, 3, 5)]
    presets = ["intercom-fin-2025", "zendesk-ar", "strict", "lenient"]
    start = time.monotonic()
    for (_, page), target, preset in zip(sessions, targets, presets, strict=True):  # all start first
        path = "" if target == PAGES[0] else target.url_path  # the default page lives at the root
        page.goto(f"{server}/{path}?def={preset}", wait_until="commit")
    ready = {}
    for (_, page), target, preset in zip(sessions, targets, presets, strict=True):
        wait_ready(page, target.title)
        ready[target.title] = round(time.monotonic() - start, 2)
        assert page.locator(EXCEPTION).count() == 0, f"exception on {target.title}"
        picked = page.locator('[data-testid=stSidebar] input[aria-label="Definition of resolved"]').input_value()
        assert preset in picked, f"{target.title} shows {picked!r}, opened with {preset}"
    print("\nfour sessions at once, seconds until each was ready:", ready)
    for context, _ in sessions:
        context.close()
    assert not errors, errors


def test_a_tab_is_drawn_when_opened_and_kept_after_a_page_change(server: str, browser) -> None:
    """Price lab draws only its open tab (app/frame.py lazy_tabs): a click on another tab draws
    that one in its place, and after a visit to another page the same tab is open again."""
    errors: list[str] = []
    context, page = new_page(browser, errors)
    page.goto(f"{server}/price-lab")
    wait_ready(page, "Price lab")
    charts = page.locator("[data-testid=stPlotlyChart]")
    charts.first.wait_for()  # plotly's component mounts after the script run ends
    assert charts.count() == 1  # revenue by month: the open tab's one chart, no hidden tab's
    page.get_by_role("tab", name="Break-even").click()
    page.get_by_text("By segment", exact=True).wait_for()
    wait_ready(page, "Price lab")
    assert page.get_by_role("tab", name="Break-even").get_attribute("aria-selected") == "true"
    charts.first.wait_for()
    assert charts.count() == 1  # the break-even chart in the place of the revenue chart
    overview = next(p for p in PAGES if p.file == "overview.py")
    visit(page, overview)
    visit(page, next(p for p in PAGES if p.file == "price_lab.py"))
    assert page.get_by_role("tab", name="Break-even").get_attribute("aria-selected") == "true"
    assert page.get_by_text("By segment", exact=True).is_visible()
    assert page.locator(EXCEPTION).count() == 0
    context.close()
    assert not errors, errors


def test_a_statement_download_is_made_on_the_click(server: str, browser) -> None:
    """The Statements page hands its CSV and XLSX to the button as a function, made when it
    is clicked rather than on every run: the click still gives the whole statement."""
    errors: list[str] = []
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.goto(f"{server}/statements")
    wait_ready(page, "Statements")
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Download CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    context.close()
    assert text.startswith("Statement") and "Lines" in text and "task_id" in text, text[:300]
    assert not errors, errors
