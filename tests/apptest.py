"""Opening the app under Streamlit's AppTest the way a browser does: the router runs
first (it reads the scenario from the link), then the page is switched to."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")
PAGE_TIMEOUT = 60  # seconds for one run of a page on the small demo warehouse


def open_app(
    page: str | None = None,
    *,
    timeout: float,
    query: Mapping[str, str] | None = None,
    reapply_query: bool = False,
    check: bool = True,
) -> AppTest:
    """The app with `query` in the URL, on `page` (a file in app/views) or the default page.

    `reapply_query` sets the query again before switching, for pages whose own link
    parameters the first (default) page may have rewritten. With `check`, an exception
    on the page fails the test at once.
    """
    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page is not None:
        if reapply_query:
            for key, value in (query or {}).items():
                at.query_params[key] = value
        at.switch_page(f"views/{page}")
        at.run()
    if check:
        assert not at.exception, [e.value for e in at.exception]
    return at


def open_page(page: str, **query: str) -> AppTest:
    """`page` (a file in app/views) with `query` in the URL, failing on an exception."""
    return open_app(page, timeout=PAGE_TIMEOUT, query=query)


def open_tab(at: AppTest, key: str, label: str) -> AppTest:
    """Open the tab `label` of the page's lazy tabs `key` (app/frame.py lazy_tabs: only the open
    tab is drawn) the way a click does: the tab's state, then a rerun."""
    at.session_state[key] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric_value(at: AppTest, label_start: str) -> str:
    """The value of the first card whose label starts with `label_start`."""
    return next(m.value for m in at.metric if m.label.startswith(label_start))


_CARD = re.compile(r'<div class="op-card" data-label="([^"]*)" data-value="([^"]*)"')


def figures(at: AppTest) -> list[tuple[str, str]]:
    """(label, value) of every headline figure: `st.metric` cards and the HTML cards of app/cards.py."""
    shown = [(m.label, m.value) for m in at.metric]
    for element in at.get("html"):
        shown += [(html.unescape(label), html.unescape(value)) for label, value in _CARD.findall(element.proto.body)]
    return shown
