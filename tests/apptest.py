"""Opening the app under Streamlit's AppTest the way a browser does: the router runs
first (it reads the scenario from the link), then the page is switched to."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple, TypeVar

from streamlit.proto.Block_pb2 import Block as BlockProto
from streamlit.runtime.state.common import user_key_from_element_id
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block, Tab

T = TypeVar("T")

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


class TabSet(NamedTuple):
    """One stateful tab set as drawn: its labels in order and the open one."""

    labels: list[str]
    open: str


def lazy_tabs(at: AppTest) -> dict[str, TabSet]:
    """Every stateful tab set on the page as drawn, by key, in the page's order (frame.lazy_tabs:
    only the open tab's content is in the tree). Plain `st.tabs` have no key and draw every tab,
    so their content is in the tree already and they are not listed."""
    found: dict[str, TabSet] = {}

    def walk(node: Block) -> None:
        proto = getattr(node, "proto", None)  # the root has none
        if isinstance(proto, BlockProto) and proto.HasField("tab_container") and proto.tab_container.id:
            key = user_key_from_element_id(proto.tab_container.id)
            labels = [tab.label for tab in node.children.values() if isinstance(tab, Tab)]
            if key is not None and labels:
                found[key] = TabSet(labels, labels[proto.tab_container.default_tab_index])
        for child in node.children.values():
            if isinstance(child, Block):
                walk(child)

    walk(at._tree)
    return found


def every_tab(at: AppTest, look: Callable[[AppTest], T]) -> Iterator[tuple[str, T]]:
    """What `look` sees on the page as drawn (""), then with each other tab of its lazy tab sets
    open ("key: label"), each opened the way a click does. A tab set that appears inside a tab is
    gone through before its outer set moves on. The page is left on the last tab opened."""
    yield "", look(at)
    seen = {(key, tabs.open) for key, tabs in lazy_tabs(at).items()}
    while True:
        shown = lazy_tabs(at)
        seen |= {(key, tabs.open) for key, tabs in shown.items()}
        # The innermost set first (drawn after its outer one).
        todo = [(key, label) for key, tabs in reversed(shown.items()) for label in tabs.labels
                if (key, label) not in seen]
        if not todo:
            return
        key, label = todo[0]
        seen.add((key, label))
        yield f"{key}: {label}", look(open_tab(at, key, label))


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
