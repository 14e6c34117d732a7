"""Shared fixtures: a small demo warehouse on disk (built once per session) and an empty one.

DuckDB lets one process hold a file read-write, or several hold it read-only,
and this process keeps one connection per file. So each use gets its own copy
of the pristine demo file: the read-only `demo_wh`, the app under AppTest
(`app_env`), and tests that write or start another process (`demo_db_copy`);
`demo_db_path` itself is never left open here (the browser tests serve it).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from outcome_pricing import demo
from outcome_pricing.warehouse import DB_ENV, Warehouse

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
