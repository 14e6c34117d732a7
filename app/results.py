"""Results every session shares: the Overview's engine calls, cached once per data version
and scope, and warmed at server start.

Each cached call is keyed on plain values: the data version of the very handle it
computes on (`version_of`: the warehouse file, its generation and the accounts the
handle may see) and the scenario's text (plans TOML, definition TOML, the reference
and proposed plans). The public functions take the handle and derive the version
from it, so a caller cannot pair one scope's handle with another scope's key: two
people who see different accounts never get each other's result.

`warm_at_start` computes the default scenario for the unscoped warehouse in a
background thread, once per data version per server process: the people who open a
shared Overview link at once find it computed. Its queries take cursors like any
session's (warehouse/connection.py: a write waits for them, they wait for a write).
Row-scoped people (sales) are never warmed: their results are computed for them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from streamlit import runtime

from outcome_pricing import pricing
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.reports import brief, verdict
from outcome_pricing.reports import overview as ov_engine
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse

_LOG = logging.getLogger(__name__)
# The run log: one line per script run (app/streamlit_app.py) and the warm-up's (here), which
# benchmarks/bench_cold.py reads.
RUN_LOG = logging.getLogger("outcome_pricing.app.runs")


def version_of(wh: Warehouse) -> str:
    """The data version a cached result of `wh` is keyed on: the generation (bumped by every
    write) and a digest of the file and the accounts `wh` may see (None: every account)."""
    scope = json.dumps([str(wh.path), None if wh.accounts is None else list(wh.accounts)])
    return f"{wh.generation}:{hashlib.sha256(scope.encode('utf-8')).hexdigest()[:16]}"


# ------------------------------------------------------------------ the Overview's calls
@st.cache_data(show_spinner=False, max_entries=16)
def _overview(
    _wh: Warehouse, version: str, plans_toml: str, definition_toml: str, reference: str, proposed: str
) -> ov_engine.Overview:
    planset = PlanSet.from_toml_text(plans_toml, source="plans in use")
    return ov_engine.overview(_wh, planset, Definition.from_toml_text(definition_toml), reference, proposed)


@st.cache_data(show_spinner=False, max_entries=16)
def _outlook(
    _wh: Warehouse, version: str, plans_toml: str, definition_toml: str, reference: str, proposed: str
) -> verdict.Outlook | None:
    planset = PlanSet.from_toml_text(plans_toml, source="plans in use")
    return verdict.outlook(_wh, planset, Definition.from_toml_text(definition_toml), reference, proposed)


@st.cache_data(show_spinner=False, max_entries=32)
def _brief(
    _wh: Warehouse, version: str, plans_toml: str, definition_toml: str, reference: str, proposed: str,
    movers_months: int | None,
) -> str:
    key = (version, plans_toml, definition_toml, reference, proposed)
    return brief.render_html(_overview(_wh, *key), movers_months, chance=_outlook(_wh, *key))


@dataclass(frozen=True)
class Movers:
    """The Overview's top movers over one window, computed once per scenario and window."""

    gainers: pd.DataFrame  # would pay more under the proposed plan
    losers: pd.DataFrame  # would pay less
    window: ov_engine.WindowChange
    not_live: pd.DataFrame  # left out of the movers: never had the AI live


@st.cache_data(show_spinner=False, max_entries=64)
def _movers(
    _wh: Warehouse, version: str, plans_toml: str, definition_toml: str, reference: str, proposed: str,
    months: int | None,
) -> Movers:
    ov = _overview(_wh, version, plans_toml, definition_toml, reference, proposed)
    gainers, losers = ov.top_movers(months)
    return Movers(gainers, losers, ov.window_change(months), ov.not_live())


@st.cache_data(show_spinner=False, max_entries=16)
def _yearly(
    _wh: Warehouse, version: str, plans_toml: str, definition_toml: str, reference: str, proposed: str
) -> pd.DataFrame:
    return verdict.yearly_figures(_overview(_wh, version, plans_toml, definition_toml, reference, proposed))


def overview(wh: Warehouse, plans_toml: str, definition_toml: str, reference: str, proposed: str) -> ov_engine.Overview:
    """The executive overview of this scenario, as `wh` sees the data."""
    return _overview(wh, version_of(wh), plans_toml, definition_toml, reference, proposed)


def outlook(
    wh: Warehouse, plans_toml: str, definition_toml: str, reference: str, proposed: str
) -> verdict.Outlook | None:
    """The forecast's chance that the proposed plan wins (None when it is the reference)."""
    return _outlook(wh, version_of(wh), plans_toml, definition_toml, reference, proposed)


def movers(
    wh: Warehouse, plans_toml: str, definition_toml: str, reference: str, proposed: str, months: int | None
) -> Movers:
    """The top movers over the last `months` (None: the whole history)."""
    return _movers(wh, version_of(wh), plans_toml, definition_toml, reference, proposed, months)


def yearly(wh: Warehouse, plans_toml: str, definition_toml: str, reference: str, proposed: str) -> pd.DataFrame:
    """The Overview's calendar years (verdict.yearly_figures)."""
    return _yearly(wh, version_of(wh), plans_toml, definition_toml, reference, proposed)


def brief_html(
    wh: Warehouse, plans_toml: str, definition_toml: str, reference: str, proposed: str, movers_months: int | None
) -> str:
    """The one-page brief of the Overview (HTML), movers over `movers_months`."""
    return _brief(wh, version_of(wh), plans_toml, definition_toml, reference, proposed, movers_months)


# ------------------------------------------------------------------ warm-up at start
DEFAULT_MOVERS_WINDOW = "this month"  # the Overview's movers period when a session opens
_warmed: set[tuple[str, int]] = set()  # (file, generation) already warmed or being warmed
_warm_lock = threading.Lock()


def default_scenario() -> tuple[str, str, str, str]:
    """The scenario a fresh session opens with (scenario.py's defaults): plans TOML,
    definition TOML, reference and proposed plan."""
    text = pricing.example_plans_text()
    planset = PlanSet.from_toml_text(text, source="plans TOML")
    return text, Definition.default().to_toml(), planset.default_reference(), planset.default_proposed()


def serving() -> bool:
    """True inside a running Streamlit server (not a script test, not bare Python)."""
    return runtime.exists() and type(runtime.get_instance()) is runtime.Runtime


def warm_at_start(wh: Warehouse, *, in_thread: bool = True) -> threading.Thread | None:
    """Warm the default Overview of the unscoped `wh`, once per data version per process.

    Returns the thread (None when already warmed, not in a server, or `wh` is scoped).
    """
    if wh.accounts is not None or (in_thread and not serving()):
        return None
    key = (str(wh.path), wh.generation)
    with _warm_lock:
        if key in _warmed:
            return None
        _warmed.add(key)
    if not in_thread:
        _warm(wh)
        return None
    thread = threading.Thread(target=_warm, args=(wh,), name="outcome-pricing-warm", daemon=True)
    thread.start()
    return thread


def _warm(wh: Warehouse) -> None:
    began = time.perf_counter()
    try:
        if wh.is_empty():
            return
        plans_toml, definition_toml, reference, proposed = default_scenario()
        args = (plans_toml, definition_toml, reference, proposed)
        months = ov_engine.MOVER_WINDOWS[DEFAULT_MOVERS_WINDOW]
        overview(wh, *args)
        outlook(wh, *args)
        yearly(wh, *args)
        movers(wh, *args, months)
        brief_html(wh, *args, months)
        RUN_LOG.info("warm-up: seconds=%.3f finished=%.3f", time.perf_counter() - began, time.time())
    except Exception:  # a failed warm-up costs only time: the page computes and reports it
        _LOG.warning("warming the default overview failed", exc_info=True)
