"""DuckDB's memory cap: half of RAM by default, $OUTCOME_PRICING_MEMORY_LIMIT to change it."""

from __future__ import annotations

from pathlib import Path

import pytest

from outcome_pricing.errors import WarehouseError
from outcome_pricing.warehouse.connection import MEMORY_LIMIT_ENV
from outcome_pricing.warehouse.handle import Warehouse


def _setting(db: Path) -> str:
    with Warehouse.open(db) as wh:
        return str(wh.scalar("SELECT current_setting('memory_limit')"))


def test_an_explicit_limit_is_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1GB")
    assert _setting(tmp_path / "a.duckdb") == "953.6 MiB"


def test_the_default_is_half_of_ram_not_duckdbs_80_percent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    half = _setting(tmp_path / "half.duckdb")
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "50%")
    assert _setting(tmp_path / "half2.duckdb") == half
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "80%")
    assert _setting(tmp_path / "most.duckdb") != half


def test_a_limit_duckdb_does_not_accept_is_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "lots")
    with pytest.raises(WarehouseError, match=MEMORY_LIMIT_ENV):
        Warehouse.open(tmp_path / "bad.duckdb")
