"""Router: the one list of pages (titles and url paths), grouped by audience; the
first-start demo build and the sidebar; then the chosen page inside the frame's error guard."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import streamlit as st

BEGAN, BEGAN_AT = time.perf_counter(), time.time()  # this script run's start (the router runs on every rerun)
APP_DIR = Path(__file__).parent
if str(APP_DIR) not in sys.path:  # views import the shared frame, fmt and scenario modules
    sys.path.insert(0, str(APP_DIR))

import auth  # noqa: E402
import frame  # noqa: E402
import results  # noqa: E402
import scenario  # noqa: E402
from streamlit.navigation.page import StreamlitPage  # noqa: E402

from outcome_pricing.access import Principal  # noqa: E402

# A local icon: a material icon here makes the browser fetch the favicon from the internet.
st.set_page_config(page_title=frame.APP_NAME, page_icon=str(APP_DIR / "static" / "favicon.png"), layout="wide")

# (section, file, title, icon, url_path): the only place a page's title is written (the
# frame shows it). url_paths are links people share: keep them stable.
PAGES = [
    ("Executive", "overview.py", "Overview", ":material/dashboard:", "overview"),
    ("Pricing", "resolution_rules.py", "Resolution rules", ":material/rule:", "resolution-rules"),
    ("Pricing", "price_lab.py", "Price lab", ":material/science:", "price-lab"),
    ("Pricing", "forecast.py", "Forecast", ":material/trending_up:", "forecast"),
    ("Pricing", "statements.py", "Statements", ":material/receipt_long:", "statements"),
    ("Pricing", "invoices.py", "Invoices", ":material/request_quote:", "invoices"),
    ("Pricing", "disputes.py", "Disputes", ":material/gavel:", "disputes"),
    ("Sales", "ai_impact.py", "AI impact", ":material/insights:", "ai-impact"),
    ("Sales", "proof.py", "Proof", ":material/verified:", "proof"),
    ("Sales", "roi_case.py", "ROI case", ":material/payments:", "roi-case"),
    ("Sales", "deal_desk.py", "Deal desk", ":material/handshake:", "deal-desk"),
    ("Data", "data.py", "Data", ":material/database:", "data"),
]


def build_navigation(person: Principal) -> dict[str, list[StreamlitPage]]:
    """The pages this person's role may open (access.ROLE_PAGES), grouped by audience.

    Streamlit serves the default (first) page at the root only, so its own path
    (a shared `/overview` link) would say "Page not found": a hidden second entry
    for the same file answers that path.
    """
    sections: dict[str, list[StreamlitPage]] = {}
    first = True
    for section, file, title, icon, url_path in PAGES:
        path = APP_DIR / "views" / file
        if not path.exists() or not person.may_open(url_path):
            continue
        entries = sections.setdefault(section, [])
        if first:
            entries.append(st.Page(path, title=title, icon=icon, url_path="", default=True))
            entries.append(st.Page(path, title=title, icon=icon, url_path=url_path, visibility="hidden"))
            first = False
        else:
            entries.append(st.Page(path, title=title, icon=icon, url_path=url_path))
    return sections


# One line per script run with OUTCOME_PRICING_LOG_RUNS=1 (benchmarks/bench_cold.py reads them):
# the server's own seconds for a page, apart from the browser's drawing.
RUN_LOG = results.RUN_LOG
if os.environ.get("OUTCOME_PRICING_LOG_RUNS") and not RUN_LOG.handlers:
    RUN_LOG.addHandler(logging.StreamHandler(sys.stderr))
    RUN_LOG.setLevel(logging.INFO)
    RUN_LOG.propagate = False


def _log_run(title: str, page_seconds: float) -> None:
    RUN_LOG.info("script run: page=%s seconds=%.3f page_seconds=%.3f started=%.3f", title,
                 time.perf_counter() - BEGAN, page_seconds, BEGAN_AT)


frame.warm_at_start()  # once per data version: the shared default Overview, in a background thread
person = frame.viewer()  # the login or refusal screen stops here
frame.ensure_data()
auth.sidebar(person)
scenario.render_sidebar()
pages = build_navigation(person)
if not pages:
    st.info(f"No page is available to the {person.role.value} role yet.")
    st.stop()
current = st.navigation(pages)
if frame.account_params_allowed(person):
    frame.enter(current.title)
    began = time.perf_counter()
    try:
        with frame.guard():  # an engine error anywhere on the page: a message, not a traceback
            current.run()
    finally:  # a stop or rerun ends the run too: its time is still the server's work
        _log_run(current.title, time.perf_counter() - began)
