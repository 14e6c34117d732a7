"""The warehouse core: opening, locking, transactions, the shared connection, scopes."""

from __future__ import annotations

from pathlib import Path

import pytest

from outcome_pricing import demo
from outcome_pricing.errors import WarehouseError, WarehouseLockedError
from outcome_pricing.warehouse.handle import Warehouse
from tests.holder import held_by_another_process


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    path = tmp_path / "wh.duckdb"
    with Warehouse.open(path) as wh:
        demo.build_demo(wh, tasks=3_000, accounts=6, months=4, seed=3)
    return path


class TestOpening:
    def test_read_only_open_of_a_missing_file_says_how_to_create_one(self, tmp_path: Path) -> None:
        with pytest.raises(WarehouseError, match="outcome-pricing .*demo"):
            Warehouse.open(tmp_path / "nope.duckdb", read_only=True)

    def test_file_held_by_another_process_gives_a_message_naming_it(
        self, small_db: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OUTCOME_PRICING_LOCK_TIMEOUT", "0.3")  # the wait itself: test_locking.py
        with held_by_another_process(small_db), pytest.raises(WarehouseLockedError) as info:
            Warehouse.open(small_db)
        assert str(small_db) in str(info.value)
        assert "another process" in str(info.value)

    def test_a_second_handle_in_the_process_shares_the_connection(self, small_db: Path) -> None:
        writer = Warehouse.open(small_db)
        reader = Warehouse.open(small_db, read_only=True)
        try:
            assert reader.summary()["tasks"] == 3_000
            with pytest.raises(WarehouseError, match="read-only"), reader.transaction():
                pass
        finally:
            reader.close()
            writer.close()
        # the last handle closed the file: another open works again
        Warehouse.open(small_db, read_only=True).close()


class TestTransactions:
    def test_an_error_inside_rolls_everything_back(self, fresh_wh: Warehouse) -> None:
        with pytest.raises(RuntimeError), fresh_wh.transaction() as cur:
            cur.execute("INSERT INTO accounts (account_id) VALUES ('A1')")
            raise RuntimeError("boom")
        assert fresh_wh.scalar("SELECT count(*) FROM accounts") == 0
        assert fresh_wh.generation == 0

    def test_a_commit_bumps_the_generation_that_caches_key_on(self, fresh_wh: Warehouse) -> None:
        with fresh_wh.transaction() as cur:
            cur.execute("INSERT INTO accounts (account_id) VALUES ('A1')")
        assert fresh_wh.generation == 1


class TestScopedWarehouse:
    def test_a_scoped_handle_sees_only_its_accounts_in_every_table(self, small_db: Path) -> None:
        with Warehouse.open(small_db, read_only=True) as wh:
            accounts = sorted(wh.query_df("SELECT account_id FROM accounts")["account_id"])
            mine = accounts[:2]
            scoped = wh.scoped(mine)
            for table in ("tasks", "accounts", "definition_cube"):
                seen = set(scoped.query_df(f"SELECT DISTINCT account_id FROM {table}")["account_id"])
                assert seen and seen <= set(mine), table
            expected = wh.scalar(
                "SELECT count(*) FROM tasks WHERE account_id IN (?, ?)", mine
            )
            assert scoped.summary()["tasks"] == expected
            # the unscoped handle on the same connection still sees everything
            assert wh.summary()["accounts"] == len(accounts)

    def test_a_scoped_handle_refuses_writes(self, small_db: Path) -> None:
        with Warehouse.open(small_db) as wh:
            scoped = wh.scoped(["nobody"])
            assert scoped.summary()["tasks"] == 0
            with pytest.raises(WarehouseError), scoped.transaction():
                pass

    def test_hostile_account_ids_are_data_not_sql(self, small_db: Path) -> None:
        with Warehouse.open(small_db, read_only=True) as wh:
            scoped = wh.scoped(["x') OR 1=1 --", "'; DROP TABLE tasks; --"])
            assert scoped.summary()["tasks"] == 0
            assert wh.summary()["tasks"] == 3_000


class TestViews:
    def test_scoping_a_scoped_handle_narrows_it_and_never_widens(self, small_db: Path) -> None:
        with Warehouse.open(small_db, read_only=True) as wh:
            accounts = wh.account_ids()
            first = wh.scoped(accounts[:2])
            second = first.scoped(accounts[1:4])
            assert second.accounts == (accounts[1],)
            assert second.account_ids() == [accounts[1]]

    def test_a_read_only_view_refuses_writes_and_closing_it_keeps_the_connection(
        self, small_db: Path
    ) -> None:
        with Warehouse.open(small_db) as wh:
            view = wh.read_only_view()
            with pytest.raises(WarehouseError, match="read-only"), view.transaction():
                pass
            view.close()
            assert wh.summary()["tasks"] == 3_000

    def test_require_account_names_known_accounts(self, small_db: Path) -> None:
        from outcome_pricing.errors import UnknownAccountError

        with Warehouse.open(small_db, read_only=True) as wh:
            known = wh.account_ids()[0]
            wh.require_account(known)
            with pytest.raises(UnknownAccountError, match=known):
                wh.require_account("NOPE", "so nothing to show")
