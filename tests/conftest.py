"""Shared fixtures: a small demo warehouse on disk (built once per session) and an empty one.

DuckDB lets one process hold a file read-write, or several hold it read-only,
and this process keeps one connection per file. So each use gets its own copy
of the pristine demo file: the read-only `demo_wh`, the app under AppTest
(`app_env`), and tests that write or start another process (`demo_db_copy`);
`demo_db_path` itself is never left open here (the browser tests serve it).

The suite runs on two pytest-xdist workers (pyproject's addopts: `-n 2 --dist loadgroup`). Each
worker has its own session fixtures (its own temporary directory, so its own copies); a test
file with a module- or class-scoped fixture (a server, a browser, a Spark session, a rendered
page) runs whole on one worker, so that fixture is still built once (`pytest_collection_modifyitems`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from outcome_pricing import demo
from outcome_pricing.warehouse import DB_ENV, Warehouse

# Hypothesis' default 200 ms deadline per example measures the machine, not the code: on two
# workers sharing two cores (with servers and browsers beside them) a fast example can miss it.
# Every test keeps its examples (max_examples, set per test where it matters); only the deadline goes.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")

# Scopes whose fixture xdist would build once per worker that meets the file's tests.
_SHARED_SCOPES = frozenset({"module", "class", "package"})


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups (--dist loadgroup)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep a test file on one worker when any of its tests uses a module- or class-scoped fixture:
    split across workers, each would build it (a second Streamlit server, browser or Spark JVM on
    two cores). The other tests are handed out one by one, after the files (largest first)."""
    for item in items:
        definitions = getattr(item, "_fixtureinfo", None)
        if definitions is None:
            continue
        if any(defs[-1].scope in _SHARED_SCOPES for defs in definitions.name2fixturedefs.values() if defs):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


# Small but with every story in it: baseline months, go-lives, reopens, audits.
DEMO_TASKS = 20_000
DEMO_ACCOUNTS = 12
DEMO_MONTHS = 8
DEMO_SEED = 1


@pytest.fixture(scope="session")
def demo_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed warehouse file with the demo data (20k tasks, 12 accounts, 8 months, seed 1)."""
    path = tmp_path_factory.mktemp("demo_wh") / "demo.duckdb"
    with Warehouse.open(path) as wh:
        demo.build_demo(
            wh, tasks=DEMO_TASKS, accounts=DEMO_ACCOUNTS, months=DEMO_MONTHS, seed=DEMO_SEED
        )
    return path


def _copy(demo_db_path: Path, target: Path) -> Path:
    shutil.copyfile(demo_db_path, target)
    return target


@pytest.fixture(scope="session")
def demo_wh(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """The demo data opened read-only, shared by the whole session (writes are refused)."""
    path = _copy(demo_db_path, tmp_path_factory.mktemp("demo_ro") / "demo.duckdb")
    wh = Warehouse.open(path, read_only=True)
    yield wh
    wh.close()


@pytest.fixture
def demo_db_copy(demo_db_path: Path, tmp_path: Path) -> Path:
    """A private copy of the demo file, for a test that writes or hands it to another process."""
    return _copy(demo_db_path, tmp_path / "demo.duckdb")


@pytest.fixture
def fresh_wh() -> Iterator[Warehouse]:
    """An empty in-memory warehouse for one test."""
    wh = Warehouse.in_memory()
    yield wh
    wh.close()


@pytest.fixture(scope="session")
def _app_db_path(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy(demo_db_path, tmp_path_factory.mktemp("demo_app") / "demo.duckdb")


@pytest.fixture
def app_env(_app_db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app (AppTest) and the CLI at a demo warehouse via OUTCOME_PRICING_DB.

    One copy serves every app test (the app keeps its connection cached), so
    an app test that uploads data should use `demo_db_copy` instead.
    """
    monkeypatch.setenv(DB_ENV, str(_app_db_path))
    return _app_db_path
