"""Cold start for a crowd (issue 20.1): `python -m benchmarks.bench_cold [--db PATH] [--sessions 8]`.

An executive shares the Overview link and everyone opens it at once. Measured
here, in one run: `streamlit run` of the app on a 1M-task warehouse and of a
bare page (a title and one plotly chart, in a temporary file), each on
127.0.0.1 with a free port; then N browser contexts (Debian's Chromium through
Playwright) open the page AT ONCE, and each session's time from `goto` until
the page is ready (the script finished and the page's title drawn:
tests/e2e/server.py's `wait_ready`) is printed, with the slowest. Four crowds,
in the order bare, app, app, bare (each crowd's pages closed before the next
opens), give the ratio: the mean of the app crowds' slowest over the mean of
the bare crowds' slowest. Then, per session, where the time went: the
renderer's CPU (Chromium's Performance.getMetrics TaskDuration), the server's
own script run (the app logs one line per run: app/streamlit_app.py) and the
bytes received over the websocket. Then, in one session, every page of the app is
visited with its sidebar link, once (its first visit) and again: the time
after its first visit. Server start (process start to /_stcore/health, plus
the app's warm-up of the default scenario, which it does once at start) is
printed on its own line: work done once at server start is the point.

Budgets: slowest cold session at most 1.5x the bare page; every page at most
1 s after its first visit. The machine's load (os.getloadavg) is printed,
because page-ready times follow it; the ratio is what the budget is about.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, CDPSession, Page, ViewportSize, async_playwright

from benchmarks import figures
from benchmarks.bench_demo import ensure_bench_db
from tests.e2e.server import (
    APP_SCRIPT,
    CHROMIUM,
    CHROMIUM_ARGS,
    EXCEPTION,
    SETTLE_MS,
    app_pages,
    nav_link,
    streamlit_server,
    wait_ready_async,
)

TASKS = 1_000_000
SESSIONS = 8
RATIO_BUDGET = 1.5
AFTER_FIRST_VISIT_BUDGET = 1.0
VIEWPORT: ViewportSize = {"width": 1440, "height": 1000}
TIMEOUT_MS = 300_000
BARE_TITLE = "Bare page"
BARE_PAGE = f'''
import plotly.graph_objects as go
import streamlit as st

st.set_page_config(layout="wide")
st.title("{BARE_TITLE}")
st.plotly_chart(go.Figure(go.Scatter(x=list(range(18)), y=[m * m % 7 for m in range(18)])), width="stretch")
'''
# Chromium flags the issue names (tests/e2e adds a few more quiet ones: same set).
ARGS = CHROMIUM_ARGS


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


class Session:
    """One browser context, what it received over the app's websocket and its renderer's CPU."""

    def __init__(self, page: Page, cdp: CDPSession) -> None:
        self.page = page
        self.cdp = cdp  # Chromium's Performance domain: the renderer's task time for this page
        self.bytes = 0
        self.browser_seconds = 0.0
        self.ready_at = 0.0  # epoch seconds when the page was ready
        self.socket_at = math.nan  # ... when the page opened its websocket (its JavaScript had loaded)
        self.first_frame_at = math.nan  # ... when the server's first message arrived on it
        page.on("websocket", self._watch)

    async def measure_browser(self) -> None:
        metrics = (await self.cdp.send("Performance.getMetrics"))["metrics"]
        self.browser_seconds = float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))

    def _watch(self, ws: Any) -> None:
        self.socket_at = time.time()
        ws.on("framereceived", self._count)

    def _count(self, payload: str | bytes) -> None:
        if not self.bytes:
            self.first_frame_at = time.time()
        self.bytes += len(payload)


async def _new_session(browser: Browser) -> Session:
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    cdp = await context.new_cdp_session(page)
    await cdp.send("Performance.enable")
    return Session(page, cdp)


async def _cold(session: Session, url: str, title: str) -> float:
    start = time.monotonic()
    await session.page.goto(url)
    await wait_ready_async(session.page, title, TIMEOUT_MS)
    took = time.monotonic() - start - SETTLE_MS / 1000
    session.ready_at = time.time() - SETTLE_MS / 1000
    await session.measure_browser()
    return took


async def crowd(browser: Browser, url: str, title: str, n: int) -> tuple[list[float], list[Session]]:
    """n fresh contexts open `url` at the same moment; seconds until each was ready."""
    sessions = [await _new_session(browser) for _ in range(n)]
    times = await asyncio.gather(*(_cold(s, url, title) for s in sessions))
    return list(times), sessions


async def _visit(page: Page, title: str) -> float:
    start = time.monotonic()
    await nav_link(page, title).click()
    await wait_ready_async(page, title, TIMEOUT_MS)
    return time.monotonic() - start - SETTLE_MS / 1000


async def tour(page: Page, rounds: int, log: Path) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Every page by its sidebar link, `rounds` times; seconds per visit (the first visit first),
    and the server's script run for each visit (the last run the app logged)."""
    times: dict[str, list[float]] = {}
    server: dict[str, list[float]] = {}
    for _ in range(rounds):
        for target in app_pages():
            took = await _visit(page, target.title)
            if await page.locator(EXCEPTION).count():
                raise RuntimeError(f"exception on {target.title}")
            times.setdefault(target.title, []).append(took)
            server.setdefault(target.title, []).append((script_runs(log) or [math.nan])[-1])
    return times, server


def _report_crowd(label: str, times: list[float], sessions: list[Session], runs: list[float]) -> float:
    shown = " ".join(f"{t:5.2f}" for t in times)
    kb = max(s.bytes for s in sessions) / 1024
    print(f"  {label:5s} per session (s): {shown}  slowest {max(times):5.2f}  "
          f"median {sorted(times)[len(times) // 2]:5.2f}  (websocket {kb:,.0f} kB a session)")
    browser = " ".join(f"{s.browser_seconds:5.2f}" for s in sessions)
    print(f"        browser CPU per session (s, Chromium TaskDuration): {browser}")
    if runs:
        print(f"        server script runs, in order (s): {' '.join(f'{r:5.2f}' for r in runs)}")
    return max(times)


RUN_LINE = re.compile(r"script run: page=(?P<page>.+?) seconds=(?P<seconds>[\d.]+) "
                      r"page_seconds=[\d.]+ started=(?P<started>[\d.]+)")


def script_runs(log: Path, skip: int = 0) -> list[float]:
    """Seconds of each script run the app logged (app/streamlit_app.py RUN_LOG), after the first `skip`."""
    return [seconds for _, seconds in timed_runs(log, skip)]


def timed_runs(log: Path, skip: int = 0) -> list[tuple[float, float]]:
    """(start as epoch seconds, seconds) of each logged script run after the first `skip`."""
    if not log.exists():
        return []
    runs = [(float(m["started"]), float(m["seconds"])) for m in RUN_LINE.finditer(log.read_text(errors="replace"))]
    return runs[skip:]


def _report_timeline(began: float, sessions: list[Session], runs: list[tuple[float, float]]) -> None:
    """When the server ran each session's script, against when the sessions were ready (seconds
    after the crowd's start): the gap before a run is loading the page and its websocket, the gap
    after the last run is the browsers drawing."""
    print("        timeline (s after the crowd's start):")
    if runs:
        starts = " ".join(f"{start - began:5.2f}" for start, _ in sorted(runs))
        ends = " ".join(f"{start + took - began:5.2f}" for start, took in sorted(runs))
        print(f"                                               script runs start {starts}")
        print(f"                                               script runs end   {ends}")
    sockets = " ".join(f"{t:5.2f}" for t in sorted(s.socket_at - began for s in sessions))
    frames = " ".join(f"{t:5.2f}" for t in sorted(s.first_frame_at - began for s in sessions))
    print(f"                                               websockets open   {sockets}")
    print(f"                                               first messages    {frames}")
    ready = sorted(s.ready_at - began for s in sessions)
    print(f"                                               sessions ready    {' '.join(f'{t:5.2f}' for t in ready)}")


WARM_LINE = re.compile(r"warm-up: seconds=(?P<seconds>[0-9.]+) finished=(?P<finished>[0-9.]+)")


def _report_warm_up(began: float, log: Path) -> None:
    """When the server's background warm-up (app/results.py) finished, against the crowd's start."""
    found = WARM_LINE.search(log.read_text(errors="replace"))
    if found is None:
        print("        warm-up at start: not finished (or not logged) when the crowd was ready")
        return
    print(f"        warm-up at start took {float(found['seconds']):.2f} s and finished "
          f"{float(found['finished']) - began:+.2f} s after the crowd's start")


# The crowds in the order bare, app, app, bare: a drift of the machine's load over the run
# weighs on both pages alike. Each crowd meets the same browser, with none of the other
# crowds' pages still open (eight live pages cost the next crowd ~1.5x).
ORDER = ("bare", "app", "app", "bare")


async def _crowd_round(browser: Browser, label: str, url: str, title: str, n: int, app_log: Path) -> float:
    """One crowd of `n` cold sessions on `url`: report it, close its pages, return its slowest."""
    warm_runs = len(script_runs(app_log))  # the runs before this crowd (warm-up, earlier crowds)
    began = time.time()  # the contexts are opened first, then every page's goto at once
    times, sessions = await crowd(browser, url, title, n)
    slowest = _report_crowd(label, times, sessions, script_runs(app_log, warm_runs) if label == "app" else [])
    _report_timeline(began, sessions, timed_runs(app_log, warm_runs) if label == "app" else [])
    if label == "app":
        _report_warm_up(began, app_log)
    for session in sessions:
        await session.page.context.close()
    return slowest


async def measure(bare_url: str, app_url: str, n: int, rounds: int, app_log: Path) -> None:
    title = app_pages()[0].title
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        slowest: dict[str, list[float]] = {"bare": [], "app": []}
        for label in ORDER:
            print(f"{n} cold sessions at once on the {label} page ({_load()}):")
            url, page_title = (bare_url, BARE_TITLE) if label == "bare" else (app_url, title)
            slowest[label].append(await _crowd_round(browser, label, url, page_title, n, app_log))
        app, bare = (statistics.mean(slowest[k]) for k in ("app", "bare"))
        figures.record(f"{n} cold sessions at once on the Overview, {_tasks_label()} tasks: slowest (mean of "
                       f"{len(slowest['app'])} crowds)", app, bare, "bare page (title, one chart), slowest",
                       budget_ratio=RATIO_BUDGET)
        ratio = app / bare
        flag = "ok" if ratio <= RATIO_BUDGET else "OVER BUDGET"
        print(f"  slowest app session {' '.join(f'{t:.2f}' for t in slowest['app'])} s, slowest bare session "
              f"{' '.join(f'{t:.2f}' for t in slowest['bare'])} s; mean / mean: {ratio:.2f}x "
              f"(budget {RATIO_BUDGET}x) {flag}")
        visitor = await _new_session(browser)  # the tour: one more session, after the crowds
        await _cold(visitor, app_url, title)
        times, server = await tour(visitor.page, rounds, app_log) if rounds else ({}, {})
        await browser.close()
    if not times:
        return
    print(f"every page, one session, after its first visit (worst of {rounds - 1} later visits; "
          f"budget {AFTER_FIRST_VISIT_BUDGET:g} s; {_load()}):")
    for page_title, values in times.items():
        worst = max(values[1:])
        figures.record(f"{page_title} page after its first visit", worst, budget_seconds=AFTER_FIRST_VISIT_BUDGET)
        flag = "ok" if worst <= AFTER_FIRST_VISIT_BUDGET else "OVER BUDGET"
        print(f"  {page_title:18s} first visit {values[0]:5.2f} s, then {worst:5.2f} s  {flag}  "
              f"(server script run {max(server[page_title][1:]):5.2f} s)")


def _started(stack: ExitStack, db: Path, script: Path, label: str, warm: bool, log: Path | None = None) -> str:
    start = time.monotonic()
    url = stack.enter_context(streamlit_server(db, timeout=600, script=script, warm=warm, log_path=log))
    what = "health and the script's first run (warm-up)" if warm else "health (no warm-up)"
    print(f"server start, {label}: {time.monotonic() - start:.2f} s (process start to {what})")
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, help=f"a warehouse (copied first); default the {TASKS:,}-task bench demo")
    parser.add_argument("--sessions", type=int, default=SESSIONS)
    parser.add_argument("--rounds", type=int, default=2, help="visits per page in the tour (the first fills caches; 0: no tour)")
    parser.add_argument("--script", type=Path, default=APP_SCRIPT,
                        help="the app to serve (another checkout's app/streamlit_app.py: a before/after run)")
    parser.add_argument("--no-warm", action="store_true", help="start the app without its warm-up at start")
    args, _ = parser.parse_known_args(sys.argv[1:])  # run_all passes its own flags
    source = args.db or ensure_bench_db(TASKS)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        db = Path(tmp) / "warehouse.duckdb"
        shutil.copyfile(source, db)  # the server holds its own copy: others may use the source
        bare_script = Path(tmp) / "bare_page.py"
        bare_script.write_text(BARE_PAGE)
        _TASKS_SEEN[0] = _tasks(db)
        print(f"warehouse: {source} ({_TASKS_SEEN[0]:,} tasks); {_load()}")
        bare_url = _started(stack, db, bare_script, "bare page", warm=not args.no_warm)
        app_log = Path(tmp) / "app.log"
        app_url = _started(stack, db, args.script, f"app {args.script}", warm=not args.no_warm, log=app_log)
        asyncio.run(measure(bare_url, app_url, args.sessions, args.rounds and max(args.rounds, 2), app_log))


_TASKS_SEEN = [TASKS]


def _tasks_label() -> str:
    return f"{_TASKS_SEEN[0]:,}"


def _tasks(db: Path) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT count(*) FROM tasks").fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


if __name__ == "__main__":
    main()
