"""Concurrent sessions: eight readers (one thread each, as Streamlit serves each
browser session) while one ingest runs: no errors, every reader sees the data
wholly before or wholly after the ingest, and caches key on the new generation."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from outcome_pricing import demo, ingest
from outcome_pricing.errors import ValidationError
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse.handle import Warehouse

READERS = 8
NEW_TASKS = 6_000

# One statement per read, so each is one snapshot: count, checksum, cube total, log size.
STATE_SQL = """
SELECT (SELECT count(*) FROM tasks),
       (SELECT sum(hash(task_id, closed_at, reopen_gap_hours)) FROM tasks),
       (SELECT sum(tasks) FROM definition_cube),
       (SELECT count(*) FROM ingest_log)
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A warehouse file with demo data, and a tasks file of new rows (for the same accounts)."""
    folder = tmp_path_factory.mktemp("concurrency")
    source = Warehouse.in_memory()
    demo.build_demo(source, tasks=4_000 + NEW_TASKS, accounts=6, months=6, seed=11)
    everything = source.query_df("SELECT * EXCLUDE (month, reopen_gap_hours) FROM tasks ORDER BY task_id")
    accounts = source.query_df("SELECT * FROM accounts")
    source.close()
    old, new = everything.iloc[:-NEW_TASKS], everything.iloc[-NEW_TASKS:]
    old.to_csv(folder / "old.csv", index=False)
    new.to_csv(folder / "new.csv", index=False)
    accounts.to_csv(folder / "accounts.csv", index=False)
    return folder, folder / "new.csv"


@pytest.fixture
def db(world: tuple[Path, Path], tmp_path: Path) -> Path:
    folder, _ = world
    path = tmp_path / "wh.duckdb"
    with Warehouse.open(path) as wh:
        ingest.ingest_files(wh, tasks=folder / "old.csv", accounts=folder / "accounts.csv")
    return path


def state(wh: Warehouse) -> tuple:
    with wh.cursor() as cur:
        row = cur.execute(STATE_SQL).fetchone()
    assert row is not None
    return tuple(row)


def run_readers(
    wh: Warehouse, read: Callable[[Warehouse], object], write: Callable[[], object]
) -> tuple[list[object], list[BaseException]]:
    """READERS threads read in a loop from before the write starts until after it ends.

    Returns everything read (the first read of each thread is before the write) and any errors.
    """
    seen: list[object] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    started = threading.Barrier(READERS + 1)
    done = threading.Event()

    def reader() -> None:
        try:
            first = read(wh)  # every reader has read once before the write starts
            with lock:
                seen.append(first)
            started.wait()
            after_done = 0
            while after_done < 3:  # keep reading a little past the end of the write
                value = read(wh)
                with lock:
                    seen.append(value)
                if done.is_set():
                    after_done += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            started.abort()  # never leave the writer waiting for a reader that died
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(READERS)]
    for t in threads:
        t.start()
    try:
        started.wait(timeout=120)
        write()
    except threading.BrokenBarrierError:
        pass  # a reader died before the write: its error is returned
    finally:
        done.set()
        for t in threads:
            t.join(timeout=120)
    return seen, errors


class TestReadersDuringAnIngest:
    @pytest.mark.slow
    def test_every_reader_sees_the_data_wholly_before_or_wholly_after(
        self, db: Path, world: tuple[Path, Path]
    ) -> None:
        _, new = world
        with Warehouse.open(db) as wh:
            before = state(wh)
            seen, errors = run_readers(wh, state, lambda: ingest.ingest_files(wh, tasks=new))
            after = state(wh)
        assert not errors, errors[:3]
        assert after[0] == before[0] + NEW_TASKS and after[3] == before[3] + 1
        assert set(seen) <= {before, after}, set(seen) - {before, after}
        assert before in seen and after in seen  # the reads spanned the write

    @pytest.mark.slow
    def test_scoped_readers_are_consistent_too(self, db: Path, world: tuple[Path, Path]) -> None:
        _, new = world
        with Warehouse.open(db) as wh:
            accounts = sorted(wh.query_df("SELECT account_id FROM accounts")["account_id"])[:3]
            scoped = wh.scoped(accounts)
            d = Definition.preset("zendesk-ar")

            def read(_: Warehouse) -> tuple:
                # Counts through two separate cursors may straddle the commit; one cursor may not.
                with scoped.cursor() as cur:
                    row = cur.execute(
                        "SELECT count(*), count(DISTINCT account_id), "
                        "sum(hash(task_id, reopen_gap_hours)) FROM tasks"
                    ).fetchone()
                return tuple(row or ())

            before = read(scoped)
            seen, errors = run_readers(wh, read, lambda: ingest.ingest_files(wh, tasks=new))
            after = read(scoped)
            outcomes = scoped.outcomes(d)
        assert not errors, errors[:3]
        assert set(seen) <= {before, after}
        assert set(outcomes["account_id"]) <= set(accounts)
        assert int(outcomes["tasks"].sum()) == after[0]

    def test_engine_results_during_an_ingest_are_one_version_or_the_other(
        self, db: Path, world: tuple[Path, Path]
    ) -> None:
        _, new = world
        d = Definition.preset("zendesk-ar")
        with Warehouse.open(db) as wh:
            before = int(wh.outcomes(d)["tasks"].sum())
            seen, errors = run_readers(
                wh, lambda w: int(w.outcomes(d)["tasks"].sum()), lambda: ingest.ingest_files(wh, tasks=new)
            )
            after = int(wh.outcomes(d)["tasks"].sum())
        assert not errors, errors[:3]
        assert after == before + NEW_TASKS
        assert set(seen) <= {before, after}

    def test_an_engine_read_is_one_snapshot_even_when_an_ingest_commits_midway(
        self, db: Path, world: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The race made deterministic: the ingest commits between two statements of a read.

        The outcomes read the cube's tables with several statements on one cursor;
        they must see one version of them (a read transaction), not a mix.
        """
        from outcome_pricing.warehouse import cube

        _, new = world
        d = Definition.preset("zendesk-ar")
        with Warehouse.open(db) as wh:
            before = int(wh.outcomes(d)["tasks"].sum())
            real_cursor = Warehouse.cursor
            ingested: list[object] = []

            class CommitsMidway:
                def __init__(self, cur: Any) -> None:
                    self._cur = cur

                def execute(self, sql: str, *args: Any) -> Any:
                    result = self._cur.execute(sql, *args)
                    if cube.PROFILES_TABLE in sql and not ingested:
                        ingested.append(new)  # first: the ingest's own cube rebuild comes here too
                        ingest.ingest_files(wh, tasks=new)
                    return result

                def __getattr__(self, name: str) -> Any:
                    return getattr(self._cur, name)

            @contextmanager
            def cursor(self: Warehouse) -> Iterator[Any]:
                with real_cursor(self) as cur:
                    yield CommitsMidway(cur)

            # A read with the cube in memory is one count of the tasks: forget it, so this
            # read takes the statements of a first read (rules.cube_read.read_cube).
            from outcome_pricing.rules.cube_read import clear_cache

            clear_cache()
            monkeypatch.setattr(Warehouse, "cursor", cursor)
            seen = int(wh.outcomes(d)["tasks"].sum())
            monkeypatch.setattr(Warehouse, "cursor", real_cursor)
            assert ingested, "the outcomes no longer read the cube's profiles: update this test"
            assert seen in {before, before + NEW_TASKS}

    def test_a_refused_file_during_reads_leaves_every_reader_on_the_old_data(
        self, db: Path, world: tuple[Path, Path], tmp_path: Path
    ) -> None:
        _, new = world
        rows = pd.read_csv(new, dtype=str, keep_default_na=False)
        rows.loc[len(rows) - 1, "closed_at"] = "not a time"
        bad = tmp_path / "bad.csv"
        rows.to_csv(bad, index=False)

        def write() -> None:
            with pytest.raises(ValidationError):
                ingest.ingest_files(wh, tasks=bad)

        with Warehouse.open(db) as wh:
            before, generation = state(wh), wh.generation
            seen, errors = run_readers(wh, state, write)
            assert not errors and set(seen) == {before}
            assert state(wh) == before and wh.generation == generation


class TestCachesRefresh:
    def test_an_ingest_bumps_the_generation_that_cached_results_key_on(
        self, db: Path, world: tuple[Path, Path]
    ) -> None:
        _, new = world
        with Warehouse.open(db) as wh:
            reader = Warehouse.open(db, read_only=True)  # another handle in the process
            generation = reader.generation
            ingest.ingest_files(wh, tasks=new)
            assert reader.generation == generation + 1
            assert wh.scoped(["x"]).generation == reader.generation  # scoped handles share it
            reader.close()

    def test_a_result_read_before_an_ingest_is_not_cached_as_the_new_data(
        self, db: Path, world: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The race made deterministic: an ingest commits right after a reader's query.

        A cache must key a result on the generation read *before* the query, else
        the old result is kept as if it were the new data until the next ingest.
        """
        import outcome_pricing.pricing.metrics as backtest

        _, new = world
        with Warehouse.open(db) as wh:
            real_query = Warehouse.query_df
            ingested = []

            def query_then_ingest(self: Warehouse, sql: str, params=None):  # noqa: ANN001, ANN202
                result = real_query(self, sql, params)
                # the usage facts built with the cube (warehouse/usage_facts.py), else the task scan
                usage_reads = (backtest.USAGE_SQL, backtest.USAGE_FACTS_SQL.format(facts="usage_facts"))
                if sql in usage_reads and not ingested:
                    ingested.append(ingest.ingest_files(wh, tasks=new))  # commits after the read
                return result

            monkeypatch.setattr(Warehouse, "query_df", query_then_ingest)
            backtest.usage_by_tier(wh)  # read the old data while the ingest lands
            monkeypatch.setattr(Warehouse, "query_df", real_query)
            assert ingested
            assert int(backtest.usage_by_tier(wh)["tasks"].sum()) == wh.summary()["tasks"]

    @pytest.mark.slow
    def test_the_app_shows_the_new_data_after_an_ingest(
        self, db: Path, world: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Data page in AppTest: cached summary, an ingest elsewhere in the process, a rerun."""
        from streamlit.testing.v1 import AppTest

        _, new = world
        monkeypatch.setenv("OUTCOME_PRICING_DB", str(db))
        app = Path(__file__).resolve().parents[1] / "app"
        monkeypatch.syspath_prepend(str(app))  # the page imports the shared ui module
        at = AppTest.from_file(str(app / "views" / "data.py"), default_timeout=90).run()
        assert not at.exception, [e.value for e in at.exception]

        def tasks_metric() -> str:
            return next(m.value for m in at.metric if m.label == "Tasks")

        shown = tasks_metric()
        with Warehouse.open(db) as wh:  # the app's own connection, shared in the process
            expected = wh.summary()["tasks"] + NEW_TASKS
            ingest.ingest_files(wh, tasks=new)
        at.run()
        assert tasks_metric() != shown
        assert tasks_metric().replace(",", "") == str(expected)


# ---------------------------------------------------------------------------- real sessions
@pytest.mark.e2e
@pytest.mark.slow
class TestBrowserSessions:
    """Eight real browser sessions on the served app while a ninth uploads a file."""

    def test_eight_sessions_read_while_a_ninth_ingests(self, world: tuple[Path, Path], tmp_path: Path) -> None:
        playwright_api = pytest.importorskip("playwright.sync_api")
        from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, EXCEPTION, READY, streamlit_server

        if not Path(CHROMIUM).exists():
            pytest.skip("Debian chromium not installed")
        folder, new = world
        db = tmp_path / "served.duckdb"
        with Warehouse.open(db) as wh:
            ingest.ingest_files(wh, tasks=folder / "old.csv", accounts=folder / "accounts.csv")
            before = wh.summary()["tasks"]
        after = before + NEW_TASKS

        def shown_tasks(page) -> int:  # noqa: ANN001
            page.wait_for_selector(READY, timeout=90_000)
            errors = page.locator(EXCEPTION)
            assert errors.count() == 0, errors.first.inner_text()
            label = page.locator("[data-testid=stMetricLabel]").get_by_text("Tasks", exact=True)
            metric = page.locator("[data-testid=stMetric]").filter(has=label)
            text = metric.locator("[data-testid=stMetricValue]").inner_text()
            return int(text.replace(",", ""))

        with streamlit_server(db) as url, playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            contexts = [browser.new_context() for _ in range(READERS + 1)]
            pages = [c.new_page() for c in contexts]
            uploader, readers = pages[0], pages[1:]
            for page in pages:  # every load starts before any is waited on
                page.goto(f"{url}/data", wait_until="commit")
            assert {shown_tasks(page) for page in pages} == {before}
            uploader.locator("[data-testid=stFileUploaderDropzoneInput]").first.set_input_files(str(new))
            uploader.wait_for_selector(READY, timeout=90_000)
            uploader.get_by_role("button", name="Validate and load").click()
            seen = set()
            for page in readers:  # reload every reader while the upload is being loaded
                page.reload(wait_until="commit")
            for page in readers:
                seen.add(shown_tasks(page))
            uploader.get_by_text("task(s) inserted").wait_for(timeout=120_000)
            for page in readers:  # and once more after: the caches refreshed
                page.reload(wait_until="commit")
            final = {shown_tasks(page) for page in readers}
            browser.close()
        assert seen <= {before, after}
        assert final == {after}
