"""A real browser (Debian's Chromium through Playwright) against the running app.

Visits every page, asserts no exception box and no browser console error,
saves full-page screenshots under artifacts/screenshots/, prints how long each
page took to be ready, and opens four sessions at once.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from .server import CHROMIUM, CHROMIUM_ARGS, ROOT, streamlit_server

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]

SHOTS = ROOT / "artifacts" / "screenshots"
READY = "[data-testid=stApp][data-test-script-state=notRunning]"


def app_pages() -> list[tuple[str, str]]:
    """(url_path, title) of every page the router lists, read from its PAGES table."""
    tree = ast.parse((ROOT / "app" / "streamlit_app.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PAGES":
            rows = ast.literal_eval(node.value)
            return [(r[4], r[2]) for r in rows if (ROOT / "app" / "views" / r[1]).exists()]
    raise AssertionError("PAGES not found in app/streamlit_app.py")


@pytest.fixture(scope="module")
def server(demo_db_path: Path):
    with streamlit_server(demo_db_path) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def open_page(page, url: str) -> float:
    """Load url and wait until the script has finished; return seconds taken."""
    start = time.monotonic()
    page.goto(url)
    page.wait_for_selector(READY, timeout=60_000)
    # Let late elements (charts) settle, then confirm the script is idle again.
    page.wait_for_timeout(300)
    page.wait_for_selector(READY, timeout=60_000)
    return time.monotonic() - start


def test_every_page_renders_without_errors(server: str, browser) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(str(e)))
    open_page(page, server)  # first load: caches warm up
    timings = {}
    for url_path, title in app_pages():
        timings[title] = open_page(page, f"{server}/{url_path}")
        assert page.locator("[data-testid=stException]").count() == 0, f"exception on {title}"
        page.screenshot(path=str(SHOTS / f"{url_path}.png"), full_page=True)
    print("\nbrowser page-ready seconds:", {k: round(v, 2) for k, v in timings.items()})
    context.close()
    assert not console_errors, console_errors


def test_four_sessions_at_once(server: str, browser) -> None:
    contexts = [browser.new_context() for _ in range(4)]
    pages = [c.new_page() for c in contexts]
    for p in pages:  # start all four loads before waiting on any
        p.goto(server, wait_until="commit")
    for p in pages:
        p.wait_for_selector(READY, timeout=90_000)
        assert p.locator("[data-testid=stException]").count() == 0
    for c in contexts:
        c.close()
