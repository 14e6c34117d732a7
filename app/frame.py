"""The page frame: every page starts with `start()` and gets the same opening.

In order: the header (the title from the router's page list, one sentence on
what the page is for, the data version shown small), the data check (an empty
warehouse gives the page's own empty state and stops) and the scenario of the
sidebar. `guard` turns an engine error into a message a person can act on,
never a traceback; the router runs every page inside it.

Also the one warehouse of the process, as the person using the app may see it.
No business logic here: pages ask the engine.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import auth
import fmt
import results
import scenario
import streamlit as st

from outcome_pricing import access, default_db_path
from outcome_pricing.access import AccessDeniedError, Principal
from outcome_pricing.errors import ConfigError, OutcomePricingError
from outcome_pricing.warehouse import Warehouse, cluster

APP_DIR = Path(__file__).parent
APP_NAME = "Outcome Pricing Lab"
DEMO_TASKS_ON_FIRST_START = 300_000
_TITLE = "frame.title"  # session state: the title of the page the router is running

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """What a page draws from: the warehouse as this person sees it, the scenario, the data version."""

    wh: Warehouse
    scenario: scenario.Scenario
    version: str  # pass it to cached functions (see data_version)
    person: Principal

    @property
    def key(self) -> str:
        """The data version and the scenario in one short text: what a `shared_figure` is keyed on."""
        sc = self.scenario
        parts = [self.version, sc.plans_toml, sc.definition.to_toml(), sc.reference_plan, sc.proposed_plan]
        return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()[:24]


# A figure (or other drawn object) built once per data version and scenario and shared by every
# session (issue 20.1: building a plotly figure is most of a page's rerun). Pass the page's `key`
# (Page.key, plus any control that changes the drawing) as plain arguments and the data as
# `_`-prefixed ones, which are not hashed; the key must determine them. The object is shared:
# never change a figure after it is returned (st.plotly_chart only reads it).
shared_figure = st.cache_resource(show_spinner=False, max_entries=128)

# Plotly's mode bar (zoom, pan, download as PNG) on a chart where it adds nothing to the reading:
# the browser builds it for every chart of every run, and a page of charts draws slower for it.
CHART_CONFIG = {"displayModeBar": False}


def lazy_tabs(key: str, views: dict[str, Callable[[], None]]) -> str:
    """Tabs that draw only the open one (issue 20.1: st.tabs draws every tab's charts and grids
    on every run, hidden or not, and the browser's drawing is most of a page's time).

    `views` maps each tab's label to what draws it. Opening a tab reruns the page. The open tab
    is kept in the session under `key` + ".open", so a visit to another page and back returns
    to it; a test opens a tab by setting `key` (or `key` + ".open") in the session state.
    Returns the open tab's label.
    """
    labels = list(views)
    kept = st.session_state.get(key + ".open")
    # Back on the page (its widget state is dropped on a page switch): reopen the kept tab. Through
    # the state, not `default`: a default that changes would make a new widget and undo the click.
    if key not in st.session_state and kept in labels:
        st.session_state[key] = kept
    tabs = st.tabs(labels, key=key, on_change="rerun")
    opened = next((label for label, tab in zip(labels, tabs, strict=True) if tab.open), labels[0])
    st.session_state[key + ".open"] = opened
    with tabs[labels.index(opened)]:
        views[opened]()
    return opened


def start(purpose: str, *, empty: str | None) -> Page:
    """Open a page: header, data check, scenario.

    `empty` is the page's own first sentence for an empty warehouse (followed by
    what to do about it); None for the page where data comes in, which opens
    on an empty warehouse too.
    """
    return guarded(lambda: _open(purpose, empty))


def _open(purpose: str, empty: str | None) -> Page:
    wh = warehouse()
    version = data_version()
    st.title(str(st.session_state.get(_TITLE, APP_NAME)))
    st.caption(f"{purpose}  \n:material/database: data version `{version}`")
    if empty is not None:
        _check_data(wh, empty)
    return Page(wh=wh, scenario=scenario.current(), version=version, person=viewer())


# ------------------------------------------------------------------ errors
def show_error(exc: Exception) -> None:
    """Our errors as a message a person can act on (title, message, fix); never a traceback."""
    if not isinstance(exc, OutcomePricingError):
        st.error(f"Something went wrong: {exc}")
        return
    fix = getattr(exc, "fix", None)
    st.error(f"**{exc.title}.** {exc}" + (f"\n\n{fix}" if isinstance(fix, str) and fix else ""))


@contextmanager
def guard() -> Iterator[None]:
    """An engine error inside the block is shown with show_error and stops the page."""
    try:
        yield
    except OutcomePricingError as exc:
        show_error(exc)
        st.stop()


def guarded(fn: Callable[[], T]) -> T:
    """`fn()`, or its engine error shown and the page stopped."""
    with guard():
        return fn()
    raise AssertionError("unreachable: guard stops the page")  # for the type checker


def needs_every_task(wh: Warehouse, what: str) -> bool:
    """In cluster mode (the warehouse holds the cube and account facts, not the tasks) say
    that `what` needs every task, and return True: the caller draws nothing of it."""
    said = cluster.needs_tasks(wh, what)
    if said is not None:
        st.info(said, icon=":material/cloud:")
    return said is not None


def _check_data(wh: Warehouse, empty: str) -> None:
    """The warehouse, or the page's empty state telling the user what to do, then stop."""
    if not wh.is_empty():
        return
    if wh.accounts is not None:
        st.info(
            f"{empty} None of the accounts you own ({', '.join(viewer().owners)} as owner in the accounts "
            "file) has tasks in the warehouse. Ask an admin if this is wrong."
        )
        st.stop()
    st.info(
        f"{empty} The warehouse has no tasks yet: load the demo data or upload your task logs "
        "on the **Data** page."
    )
    st.page_link(str(APP_DIR / "views" / "data.py"), label="Go to Data", icon=":material/database:")
    st.stop()


# ------------------------------------------------------------------ the router's part
def enter(title: str) -> None:
    """The router names the page it is about to run (titles live in its page list only)."""
    st.session_state[_TITLE] = title


def ensure_data() -> None:
    """First start on a fresh machine: build the demo warehouse, showing progress.

    Skipped when OUTCOME_PRICING_NO_DEMO is set (a team that loads its own logs).
    """
    wh = _shared_warehouse()
    # Only someone who may load data builds the demo (with login on, the first
    # visitor could otherwise be anyone); the others see the empty state.
    if not wh.is_empty() or os.environ.get("OUTCOME_PRICING_NO_DEMO") or not viewer().can_ingest:
        return
    from outcome_pricing import demo

    st.title(APP_NAME)
    st.info(
        f"First start: building a demo warehouse of {fmt.count(DEMO_TASKS_ON_FIRST_START)} synthetic tasks "
        f"at `{wh.path}`. This happens once and takes a few seconds."
    )
    bar = st.progress(0.0, text="Generating demo task logs…")

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)

    demo.build_demo(wh, tasks=DEMO_TASKS_ON_FIRST_START, progress=progress)
    after_ingest()
    st.rerun()


# Query parameters that carry an account id (any page): checked before the page runs.
ACCOUNT_PARAMS = ("account",)


def account_params_allowed(person: Principal) -> bool:
    """False (with a notice) when the URL names an account this person may not see.

    The page is then not run, so nothing of that account is drawn. A value that
    is not a plausible account id (too long, control characters) is dropped.
    """
    for name in ACCOUNT_PARAMS:
        value = st.query_params.get(name)
        if value is None:
            continue
        try:
            person.check_account(warehouse(), value)
        except AccessDeniedError as exc:
            show_error(exc)
            return False
        except ConfigError as exc:
            st.warning(f"The link's `{name}` value was ignored: {exc}")
            del st.query_params[name]
    return True


# ------------------------------------------------------------------ the warehouse
@st.cache_resource(show_spinner=False)
def _open_warehouse(path: str) -> Warehouse:
    # Read-only between writes: the CLI and other readers are served while the app runs;
    # an upload or the first-start demo takes the write lock only while it is written.
    return Warehouse.open_shared(path)


def _shared_warehouse() -> Warehouse:
    """The process's one warehouse, unscoped: for the frame only (first-start demo build)."""
    return _open_warehouse(str(default_db_path().resolve()))


def decision_warehouse() -> Warehouse:
    """The writable warehouse, to record a reviewer's decision (an audit verdict, a dispute).

    The caller checks the person's role may decide; what they may see stays `warehouse()`,
    and the engine checks the decided task against that view.
    """
    return _shared_warehouse()


def viewer() -> Principal:
    """The person using this session (login, or the local admin); see app/auth.py."""
    return auth.current_principal()


@st.cache_data(show_spinner=False, max_entries=256)
def _owned_accounts(_wh: Warehouse, db: str, owners: tuple[str, ...], generation: int) -> tuple[str, ...]:
    return access.owned_accounts(_wh, owners)


def warehouse() -> Warehouse:
    """The warehouse as the person using the app may see it (a cursor per query inside).

    For a sales user every cursor sees only the accounts they own (row-level
    scope, access.py), so every page, chart and download is limited to them.
    """
    shared = _shared_warehouse()
    person = viewer()
    if person.row_scoped:
        owned = _owned_accounts(shared, str(shared.path), person.owners, shared.generation)
        return _view(shared, str(shared.path), owned)
    if not person.can_ingest:
        return _view(shared, str(shared.path), None)
    return shared


@st.cache_resource(show_spinner=False, max_entries=256)
def _view(_shared: Warehouse, db: str, accounts: tuple[str, ...] | None) -> Warehouse:
    """A read-only handle (scoped to `accounts` unless None), kept so engine caches keyed
    on the handle survive reruns. It shares the one connection and owns nothing."""
    return _shared.scoped(accounts) if accounts is not None else _shared.read_only_view()


def data_version() -> str:
    """Pass it to cached functions: changes after every ingest, and differs between
    people who see different accounts, so a cached result never crosses a scope."""
    return results.version_of(warehouse())


def warm_at_start() -> None:
    """Server start (and after each write): the default Overview of the unscoped warehouse is
    computed in a background thread, once per data version, before anyone logs in (results.py)."""
    if not results.serving():  # a script test: nothing to warm for
        return
    try:
        results.warm_at_start(_shared_warehouse())
    except OutcomePricingError:  # optional work: the page reports a warehouse it cannot open
        return


def after_ingest() -> None:
    """Cached results were computed on the old data; drop them."""
    st.cache_data.clear()
