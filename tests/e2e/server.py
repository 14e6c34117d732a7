"""Start the app with `streamlit run` on a free loopback port, and drive it in a browser.

Shared by the browser tests (test_browser.py) and the screenshot/timing script
(screenshots.py): start the server, open the app, move to a page the way a user
does (the sidebar link), wait until the page is ready, take a full-page shot.
"""

from __future__ import annotations

import ast
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple

from outcome_pricing.cli.serve import WARM_FLAGS, warm_up

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
]


class AppPage(NamedTuple):
    """One row of the router's PAGES table whose view file exists."""

    section: str
    file: str
    title: str
    url_path: str


def app_pages() -> list[AppPage]:
    """Every page the router lists (app/streamlit_app.py's PAGES table), in menu order."""
    tree = ast.parse((ROOT / "app" / "streamlit_app.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PAGES":
            rows = ast.literal_eval(node.value)
            return [
                AppPage(r[0], r[1], r[2], r[4]) for r in rows if (ROOT / "app" / "views" / r[1]).exists()
            ]
    raise AssertionError("PAGES not found in app/streamlit_app.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


APP_SCRIPT = ROOT / "app" / "streamlit_app.py"


@contextmanager
def streamlit_server(
    db_path: Path, timeout: float = 90.0, script: Path = APP_SCRIPT, warm: bool = True,
    log_path: Path | None = None,
) -> Iterator[str]:
    """Run the app (or another `script`) against `db_path`; yield its base URL once it
    answers and (with `warm`) has run its script once, as `outcome-pricing app` starts it
    (cli/serve.py `warm_up`); stop it by its own PID. With `log_path` the server's output
    goes there, with one line per script run (app/streamlit_app.py RUN_LOG)."""
    port = free_port()
    env = dict(os.environ, OUTCOME_PRICING_DB=str(db_path), OUTCOME_PRICING_NO_DEMO="1")
    if log_path is not None:
        env["OUTCOME_PRICING_LOG_RUNS"] = "1"
    # The server's output goes to a file, not a pipe nobody reads: a full pipe (many sessions
    # logging) would block the server mid-run.
    with open(log_path, "w+b") if log_path is not None else tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", str(script),
                "--server.address", "127.0.0.1", "--server.port", str(port),
                "--server.headless", "true", "--browser.gatherUsageStats", "false", *WARM_FLAGS,
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(proc, log, url, timeout)
            if warm and not warm_up(url, timeout=timeout):
                print(f"warning: {script.name} did not run without an error at server start", file=sys.stderr)
            yield url
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_healthy(proc: subprocess.Popen[bytes], log: IO[bytes], url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"streamlit exited early:\n{log.read().decode(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("streamlit did not become healthy in time")
        time.sleep(0.3)


# ---------------------------------------------------------------------- the browser side
READY = "[data-testid=stApp][data-test-script-state=notRunning]"
EXCEPTION = "[data-testid=stException]"
# Ready: the script is idle and the page's own title is drawn (not the previous page's).
_READY_JS = """title => {
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  const heads = [...document.querySelectorAll('[data-testid=stMain] h1')];
  return heads.some(h => h.innerText.trim() === title);
}"""
SETTLE_MS = 300  # a page may rerun itself once (URL sync): confirm it stays idle


def wait_ready(page: Any, title: str, timeout_ms: float = 120_000) -> None:
    """Wait until the app has finished running the page titled `title`."""
    page.wait_for_function(_READY_JS, arg=title, timeout=timeout_ms, polling=50)
    page.wait_for_timeout(SETTLE_MS)
    page.wait_for_function(_READY_JS, arg=title, timeout=timeout_ms, polling=50)


async def wait_ready_async(page: Any, title: str, timeout_ms: float = 120_000) -> None:
    """`wait_ready` for Playwright's async API (many sessions driven at once)."""
    await page.wait_for_function(_READY_JS, arg=title, timeout=timeout_ms, polling=50)
    await page.wait_for_timeout(SETTLE_MS)
    await page.wait_for_function(_READY_JS, arg=title, timeout=timeout_ms, polling=50)


def open_app(page: Any, url: str, title: str = "Overview", timeout_ms: float = 120_000) -> float:
    """Load the app (a full page load, the default page) and return seconds to ready."""
    start = time.monotonic()
    page.goto(url)
    wait_ready(page, title, timeout_ms)
    return time.monotonic() - start - SETTLE_MS / 1000


def nav_link(page: Any, title: str) -> Any:
    """The sidebar link to the page titled `title` (sync or async Playwright page)."""
    # By its text: the default page's link is the bare root URL, not /<url_path>.
    return page.locator("[data-testid=stSidebarNavLink]").filter(has=page.get_by_text(title, exact=True))


def visit(page: Any, target: AppPage, timeout_ms: float = 120_000) -> float:
    """Move to `target` with its sidebar link, as a user does; seconds until it is ready
    (the settle pause is not counted)."""
    link = nav_link(page, target.title)
    start = time.monotonic()
    link.click()
    wait_ready(page, target.title, timeout_ms)
    return time.monotonic() - start - SETTLE_MS / 1000


def full_page_screenshot(page: Any, path: Path) -> None:
    """The whole page, not just the viewport: Streamlit scrolls inside its main block,
    so the viewport is stretched to the content's height for the shot."""
    width = page.viewport_size["width"] if page.viewport_size else 1440
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], "
        "[data-testid=stAppViewContainer], [data-testid=stSidebarContent], body')]"
        ".map(e => e.scrollHeight))"
    )
    original = page.viewport_size
    page.set_viewport_size({"width": width, "height": int(min(max(height, 600), 12_000))})
    page.wait_for_timeout(250)  # charts re-layout to the new size
    page.screenshot(path=str(path), full_page=True)
    if original:
        page.set_viewport_size(original)
