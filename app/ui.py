"""What every page shares: the one warehouse, cached engine calls, the page
frame and the number formats. No business logic: pages call the engine."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import outcome_pricing as op
from outcome_pricing import access
from outcome_pricing.access import AccessDeniedError, Principal
from outcome_pricing.errors import ConfigError, OutcomePricingError

APP_DIR = Path(__file__).parent
DEMO_TASKS_ON_FIRST_START = 300_000


@st.cache_resource(show_spinner=False)
def _open_warehouse(path: str) -> op.Warehouse:
    return op.Warehouse.open(path, read_only=False)


def _shared_warehouse() -> op.Warehouse:
    """The process's one warehouse, unscoped: for the frame only (first-start demo build)."""
    return _open_warehouse(str(op.default_db_path().resolve()))


def viewer() -> Principal:
    """The person using this session (login, or the local admin); see app/auth.py."""
    import auth

    return auth.current_principal()


@st.cache_data(show_spinner=False, max_entries=256)
def _owned_accounts(_wh: op.Warehouse, db: str, owners: tuple[str, ...], generation: int) -> tuple[str, ...]:
    return access.owned_accounts(_wh, owners)


def warehouse() -> op.Warehouse:
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
def _view(_shared: op.Warehouse, db: str, accounts: tuple[str, ...] | None) -> op.Warehouse:
    """A read-only handle (scoped to `accounts` unless None), kept so engine caches keyed
    on the handle survive reruns. It shares the one connection and owns nothing."""
    return _shared.scoped(accounts) if accounts is not None else _shared.read_only_view()


def data_version() -> str:
    """Pass it to cached functions: changes after every ingest, and differs between
    people who see different accounts, so a cached result never crosses a scope."""
    wh = warehouse()
    scope = json.dumps([str(wh.path), None if wh.accounts is None else list(wh.accounts)])
    digest = hashlib.sha256(scope.encode("utf-8")).hexdigest()[:16]
    return f"{wh.generation}:{digest}"


def after_ingest() -> None:
    """Cached results were computed on the old data; drop them."""
    st.cache_data.clear()


def page_header(title: str, purpose: str) -> None:
    """Every page opens the same way: a title and one sentence on what it is for."""
    st.title(title)
    st.caption(purpose)


def show_error(exc: Exception) -> None:
    """Our errors as a message a person can act on; never a traceback."""
    if isinstance(exc, OutcomePricingError):
        st.error(f"**{exc.title}.** {exc}")
    else:
        st.error(f"Something went wrong: {exc}")


def guarded(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except OutcomePricingError as exc:
        show_error(exc)
        st.stop()


def require_data() -> op.Warehouse:
    """The warehouse, or an empty state telling the user what to do."""
    wh = warehouse()
    if wh.is_empty() and wh.accounts is not None:
        st.info(
            f"None of the accounts you own ({', '.join(viewer().owners)} as owner in the accounts "
            "file) has tasks in the warehouse. Ask an admin if this is wrong."
        )
        st.stop()
    if wh.is_empty():
        st.info(
            "The warehouse has no tasks yet. Load the demo data or upload your task logs "
            "on the **Data** page."
        )
        st.page_link(str(APP_DIR / "views" / "data.py"), label="Go to Data", icon=":material/database:")
        st.stop()
    return wh


# ------------------------------------------------------------------ formats
def money(value: float | Decimal | None, cents: bool = False) -> str:
    """$1,234 (or $1,234.56 with cents); negative as -$1,234; None as an em dash."""
    if value is None:
        return "—"
    v = float(value)
    text = f"${abs(v):,.2f}" if cents else f"${abs(v):,.0f}"
    return f"-{text}" if v < 0 else text


def pct(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage: 0.423 -> 42.3%."""
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def count(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


# Table formats like `money` ($10,817, -$37,759) and `pct` (96.0%). Streamlit cuts a
# number column's values to its `step` before formatting (10,816.74 would read $10,816),
# so `shown_rounded` rounds the shown copy first; a printf "$%,.0f" would round but
# print $-37,759.
def dollars_column(label: str | None = None, tip: str | None = None) -> Any:
    """A table column of money in whole dollars."""
    return st.column_config.NumberColumn(label, format="dollar", step=1, help=tip)


def percent_column(label: str | None = None, tip: str | None = None) -> Any:
    """A table column of shares or changes (fractions) as percentages with one decimal."""
    return st.column_config.NumberColumn(label, format="percent", step=0.001, help=tip)


def shown_rounded(
    frame: pd.DataFrame, dollars: tuple[str, ...], shares: tuple[str, ...] = ()
) -> pd.DataFrame:
    """A copy rounded as the table shows it (display only: nothing is computed from it)."""
    return frame.assign(**{c: frame[c].round(0) for c in dollars}, **{c: frame[c].round(3) for c in shares})


# ------------------------------------------------------------------ frame
def ensure_data() -> None:
    """First start on a fresh machine: build the demo warehouse, showing progress.

    Skipped when OUTCOME_PRICING_NO_DEMO is set (a team that loads its own logs).
    """
    import os

    wh = _shared_warehouse()
    # Only someone who may load data builds the demo (with login on, the first
    # visitor could otherwise be anyone); the others see the empty state.
    if not wh.is_empty() or os.environ.get("OUTCOME_PRICING_NO_DEMO") or not viewer().can_ingest:
        return
    from outcome_pricing import demo

    st.title("Outcome Pricing Lab")
    st.info(
        f"First start: building a demo warehouse of {DEMO_TASKS_ON_FIRST_START:,} synthetic tasks "
        f"at `{wh.path}`. This happens once and takes a few seconds."
    )
    bar = st.progress(0.0, text="Generating demo task logs…")

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)

    demo.build_demo(wh, tasks=DEMO_TASKS_ON_FIRST_START, progress=progress)
    after_ingest()
    st.rerun()


def sidebar_scenario() -> None:
    """The scenario (definition, plans) shared by every page, in the sidebar and the URL."""
    import scenario

    scenario.render_sidebar()


# ------------------------------------------------------------------ access
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
