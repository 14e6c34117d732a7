"""The Overview's shared results (app/results.py): one cached answer for every session
of a scope, warmed at server start for the unscoped warehouse, never a result across scopes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st

from outcome_pricing.cli.serve import warm_up
from outcome_pricing.warehouse import Warehouse
from tests.appmodules import app_module
from tests.e2e.server import free_port

results = app_module("results")


@pytest.fixture
def wh(demo_db_copy: Path) -> Iterator[Warehouse]:
    """The small demo, its own file (the warm-up is once per file and generation)."""
    st.cache_data.clear()
    with Warehouse.open(demo_db_copy, read_only=True) as handle:
        yield handle
    st.cache_data.clear()


def _accounts(ov: Any) -> set[str]:
    return set(ov.backtest.metrics["account_id"])


def test_the_version_differs_by_scope_and_not_by_handle(wh: Warehouse) -> None:
    ids = wh.account_ids()
    assert results.version_of(wh) == results.version_of(wh.read_only_view())  # admins and viewers share
    assert results.version_of(wh.scoped(ids[:2])) != results.version_of(wh.scoped(ids[2:4]))
    assert results.version_of(wh.scoped(ids[:2])) != results.version_of(wh)
    assert results.version_of(wh.scoped(ids[:2])) == results.version_of(wh.scoped(list(reversed(ids[:2]))))


@pytest.mark.slow
def test_two_scopes_never_get_each_others_cached_result(wh: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = wh.account_ids()
    a, b = wh.scoped(ids[:3]), wh.scoped(ids[3:6])
    scenario = results.default_scenario()
    seen_a = results.overview(a, *scenario)  # cached first, same scenario text as b
    seen_b = results.overview(b, *scenario)
    assert _accounts(seen_a) <= set(ids[:3]) and _accounts(seen_b) <= set(ids[3:6])
    assert _accounts(seen_a) and _accounts(seen_b)
    movers_a, movers_b = results.movers(a, *scenario, None), results.movers(b, *scenario, None)
    assert movers_a.window.accounts == len(_accounts(seen_a))
    assert movers_b.window.accounts == len(_accounts(seen_b))
    # A repeat is served from the cache (the engine is not called again), still per scope.
    calls: list[Warehouse] = []
    engine = results.ov_engine.overview
    monkeypatch.setattr(results.ov_engine, "overview", lambda w, *rest: calls.append(w) or engine(w, *rest))
    assert _accounts(results.overview(b, *scenario)) == _accounts(seen_b)
    assert _accounts(results.overview(a, *scenario)) == _accounts(seen_a)
    assert calls == []
    # The unscoped warehouse is a third scope: computed for it, not taken from a or b.
    assert _accounts(results.overview(wh, *scenario)) == set(ids)
    assert calls == [wh]


@pytest.mark.slow
def test_the_warm_up_fills_the_unscoped_cache_and_never_a_scoped_one(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = results.default_scenario()
    scoped = wh.scoped(wh.account_ids()[:2])
    assert results.warm_at_start(scoped, in_thread=False) is None  # refused: never warms a scope
    results.warm_at_start(wh, in_thread=False)
    calls: list[Warehouse] = []
    engine = results.ov_engine.overview
    monkeypatch.setattr(results.ov_engine, "overview", lambda w, *rest: calls.append(w) or engine(w, *rest))
    months = results.ov_engine.MOVER_WINDOWS[results.DEFAULT_MOVERS_WINDOW]
    results.overview(wh.read_only_view(), *scenario)  # a viewer who may not ingest: same scope
    results.movers(wh, *scenario, months)
    results.brief_html(wh, *scenario, months)
    assert calls == []  # all of it was warm
    results.overview(scoped, *scenario)
    assert calls == [scoped]  # the sales view is computed for it, on its own data
    results.warm_at_start(wh, in_thread=False)  # once per data version
    results.overview(wh, *scenario)
    assert calls == [scoped]


def test_the_launchers_warm_up_gives_up_quietly_when_no_server_answers() -> None:
    """`outcome-pricing app` asks the server to run the script once; with no server it
    returns False after its timeout instead of raising (the app then warms at its first visitor)."""
    start = time.monotonic()
    assert warm_up(f"http://127.0.0.1:{free_port()}", timeout=1.0) is False
    assert time.monotonic() - start < 10


def test_a_shared_figure_is_keyed_on_the_data_version_the_scope_and_the_scenario() -> None:
    # frame.shared_figure serves one figure to every session with the same Page.key: the key must
    # change with anything that changes the data drawn (issue 20.1).
    frame, scenario = app_module("frame"), app_module("scenario")
    from outcome_pricing import pricing
    from outcome_pricing.access import Principal, Role
    from outcome_pricing.pricing.plans import PlanSet
    from outcome_pricing.rules import Definition

    text = pricing.example_plans_text()
    planset = PlanSet.from_toml_text(text)

    def key(version: str, definition: str = "intercom-fin-2025", proposed: str = "per-outcome",
            plans: str = text) -> str:
        sc = scenario.Scenario(Definition.preset(definition), planset, "seats-today", proposed, plans)
        return frame.Page(wh=None, scenario=sc, version=version, person=Principal("a", Role.ADMIN)).key  # type: ignore[arg-type]

    base = key("3:aaaa")
    assert key("3:aaaa") == base
    others = [key("4:aaaa"), key("3:bbbb"), key("3:aaaa", definition="strict"), key("3:aaaa", proposed="hybrid"),
              key("3:aaaa", plans=text + "\n# edited\n")]
    assert len({base, *others}) == 1 + len(others)


def test_the_server_watches_no_source_files() -> None:
    """A source watcher makes every new session walk sys.modules (thousands of modules) on the
    server's one interpreter: a crowd of cold sessions paid for it (issue 20, bench_cold)."""
    import tomllib

    config = tomllib.loads((Path(__file__).parents[1] / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["fileWatcherType"] == "none"
    assert config["server"]["runOnSave"] is False


def test_the_server_does_not_collect_garbage_after_every_run() -> None:
    """Streamlit's gc.collect(2) after each script run held the interpreter ~0.45 s a run with the
    engine's frames in the heap, while a crowd of cold sessions waited (py-spy of bench_cold)."""
    import tomllib

    config = tomllib.loads((Path(__file__).parents[1] / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["runner"]["postScriptGC"] is False
