"""What every page shares: the one warehouse, cached engine calls, the page
frame and the number formats. No business logic: pages call the engine."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import streamlit as st

import outcome_pricing as op
from outcome_pricing.errors import OutcomePricingError

APP_DIR = Path(__file__).parent
DEMO_TASKS_ON_FIRST_START = 300_000


@st.cache_resource(show_spinner=False)
def _open_warehouse(path: str) -> op.Warehouse:
    return op.Warehouse.open(path, read_only=False)


def warehouse() -> op.Warehouse:
    """The process's one warehouse (a cursor per query inside)."""
    return _open_warehouse(str(op.default_db_path().resolve()))


def data_version() -> int:
    """Changes after every ingest: pass it to cached functions so results refresh."""
    return warehouse().generation


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


MONEY_COLUMN = st.column_config.NumberColumn(format="dollar")
PCT_COLUMN = st.column_config.NumberColumn(format="percent")


# ------------------------------------------------------------------ frame
def ensure_data() -> None:
    """First start on a fresh machine: build the demo warehouse, showing progress.

    Skipped when OUTCOME_PRICING_NO_DEMO is set (a team that loads its own logs).
    """
    import os

    wh = warehouse()
    if not wh.is_empty() or os.environ.get("OUTCOME_PRICING_NO_DEMO"):
        return
    from outcome_pricing import demo

    st.title("Outcome Pricing Lab")
    st.info(
        f"First start: building a demo warehouse of {DEMO_TASKS_ON_FIRST_START:,} synthetic tasks "
        f"at `{wh.path}`. This happens once and takes about half a minute."
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
