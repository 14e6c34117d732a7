"""Locks across processes (issue 13): readers in other processes are served while the app
runs; the app takes the write lock only for the moment of a write; whoever meets a lock
waits (bounded, saying so) and then fails with a message naming the file, never a bare
DuckDB "Conflicting lock" error. Every test here uses two or more real processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from outcome_pricing import demo
from outcome_pricing.errors import WarehouseError, WarehouseLockedError
from outcome_pricing.warehouse.connection import LOCK_TIMEOUT_ENV, lock_timeout
from outcome_pricing.warehouse.handle import Warehouse
from tests.holder import app_like_process, env_with_src, held_by_another_process

CLI = [sys.executable, "-c", "from outcome_pricing.cli import main; main()"]
RELEASE_AFTER = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=sys.argv[3:] == ['ro']); "
    "print('ready', flush=True); time.sleep(float(sys.argv[2])); c.close()"
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A demo warehouse file, and a CSV of 4,000 more tasks for the same accounts."""
    folder = tmp_path_factory.mktemp("locking")
    source = Warehouse.in_memory()
    demo.build_demo(source, tasks=8_000, accounts=4, months=4, seed=7)
    every = source.query_df("SELECT * EXCLUDE (month, reopen_gap_hours) FROM tasks ORDER BY task_id")
    source.close()
    db = folder / "base.duckdb"
    with Warehouse.open(db) as wh:
        old = folder / "old.csv"
        every.iloc[:4_000].to_csv(old, index=False)
        from outcome_pricing.ingest import ingest_files

        ingest_files(wh, tasks=old)
    new = folder / "new.csv"
    every.iloc[4_000:].to_csv(new, index=False)
    return db, new


@pytest.fixture
def db(files: tuple[Path, Path], tmp_path: Path) -> Path:
    target = tmp_path / "wh.duckdb"
    target.write_bytes(files[0].read_bytes())
    return target


def cli(db: Path, *args: str, timeout_s: float = 30, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--db", str(db), *args], capture_output=True, text=True, timeout=120,
        env=env_with_src(**{LOCK_TIMEOUT_ENV: str(timeout_s)}, **env),
    )


def tasks_via_cli(db: Path, **env: str) -> tuple[int, subprocess.CompletedProcess[str]]:
    run = cli(db, "outcomes", "--definition", "lenient", "--format", "json", **env)
    assert run.returncode == 0, run.stderr
    return sum(r["tasks"] for r in json.loads(run.stdout)), run


class TestTheWait:
    def test_the_timeout_comes_from_the_environment_and_is_checked(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(LOCK_TIMEOUT_ENV, raising=False)
        assert lock_timeout() == 30
        monkeypatch.setenv(LOCK_TIMEOUT_ENV, "2.5")
        assert lock_timeout() == 2.5
        for bad in ("soon", "-1", "nan", "1e9"):
            monkeypatch.setenv(LOCK_TIMEOUT_ENV, bad)
            with pytest.raises(WarehouseError, match=LOCK_TIMEOUT_ENV):
                lock_timeout()

    @pytest.mark.slow
    def test_a_reader_waits_for_a_writer_that_finishes_and_says_so(
        self, db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv(LOCK_TIMEOUT_ENV, "30")
        holder = subprocess.Popen([sys.executable, "-c", RELEASE_AFTER, str(db), "1.5"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
            start = time.monotonic()
            with Warehouse.open(db, read_only=True) as wh:
                assert wh.scalar("SELECT count(*) FROM tasks") == 4_000
            waited = time.monotonic() - start
        finally:
            holder.wait(timeout=30)
        err = capsys.readouterr().err
        assert waited >= 0.5  # it did wait for the holder, not fail
        assert err.count("Waiting for the warehouse file") == 1 and str(db) in err and LOCK_TIMEOUT_ENV in err

    @pytest.mark.slow
    def test_a_lock_held_past_the_timeout_fails_with_a_clear_message(
        self, db: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv(LOCK_TIMEOUT_ENV, "0.6")
        with held_by_another_process(db):
            start = time.monotonic()
            with pytest.raises(WarehouseLockedError) as info:
                Warehouse.open(db, read_only=True)
            waited = time.monotonic() - start
        text = str(info.value)
        assert 0.5 <= waited < 10
        assert str(db) in text and "another process (PID" in text and LOCK_TIMEOUT_ENV in text
        assert "Conflicting lock" not in text


@pytest.mark.slow
class TestWhileTheAppHoldsTheFile:
    """A process holding the file as the app does (Warehouse.open_shared), and the CLI."""

    def test_the_cli_and_a_read_only_connection_read_while_it_runs(self, db: Path) -> None:
        with app_like_process(db):
            tasks, run = tasks_via_cli(db, timeout_s=0)  # no waiting at all: nothing is locked
            assert tasks == 4_000 and "Waiting" not in run.stderr
            con = duckdb.connect(str(db), read_only=True)
            assert con.execute("SELECT count(*) FROM tasks").fetchone() == (4_000,)
            con.close()

    def test_a_cli_read_during_the_apps_write_waits_and_is_served(self, db: Path) -> None:
        with app_like_process(db) as app:
            app.send("hold")
            assert app.readline() == "started"
            reader = subprocess.Popen(
                [*CLI, "--db", str(db), "outcomes", "--definition", "lenient", "--format", "json"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env=env_with_src(**{LOCK_TIMEOUT_ENV: "60"}),
            )
            assert reader.stderr is not None
            waiting = reader.stderr.readline()  # the reader met the lock and says it waits
            app.send("release")
            out, err = reader.communicate(timeout=120)
            assert app.readline() == "done"
        assert reader.returncode == 0, err
        assert "Waiting for the warehouse file" in waiting and str(db) in waiting
        assert "Conflicting lock" not in waiting + err
        assert sum(r["tasks"] for r in json.loads(out)) == 4_000

    def test_after_the_apps_ingest_the_cli_reads_the_new_data(self, db: Path, files: tuple[Path, Path]) -> None:
        with app_like_process(db) as app:
            app.send(f"ingest {files[1]}")
            assert app.readline() == "started"
            tasks, _ = tasks_via_cli(db, timeout_s=60)  # during or after the ingest: whole either way
            assert tasks in (4_000, 8_000)
            assert app.readline() == "done 4000"
            assert tasks_via_cli(db, timeout_s=0)[0] == 8_000

    def test_a_cli_ingest_while_the_app_runs_waits_then_says_why(self, db: Path, files: tuple[Path, Path]) -> None:
        with app_like_process(db):
            run = cli(db, "ingest", "--tasks", str(files[1]), timeout_s=1)
        assert run.returncode == 2, run.stderr
        assert "Waiting for the warehouse file" in run.stderr
        assert "Warehouse in use:" in run.stderr and str(db) in run.stderr
        assert "Traceback" not in run.stderr and "Conflicting lock" not in run.stderr

    def test_the_apps_write_waits_for_a_reader_in_another_process(
        self, db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv(LOCK_TIMEOUT_ENV, "60")
        wh = Warehouse.open_shared(db)
        try:
            reader = subprocess.Popen([sys.executable, "-c", RELEASE_AFTER, str(db), "1.5", "ro"],
                                      stdout=subprocess.PIPE, text=True)
            assert reader.stdout is not None and reader.stdout.readline().strip() == "ready"
            with wh.transaction() as cur:  # needs the reader gone: waits for it, then writes
                cur.execute("DELETE FROM tasks WHERE task_id IN (SELECT task_id FROM tasks LIMIT 1)")
            reader.wait(timeout=30)
            assert wh.scalar("SELECT count(*) FROM tasks") == 3_999
        finally:
            wh.close()
        err = capsys.readouterr().err
        assert "Waiting for the warehouse file" in err and "read-write" in err

    def test_the_apps_own_threads_read_during_its_write_and_the_file_is_free_after(self, db: Path) -> None:
        """In one process: readers wait for the write moment; after it, others may read again."""
        wh = Warehouse.open_shared(db)
        try:
            seen: list[int] = []
            errors: list[BaseException] = []

            def read() -> None:
                try:
                    for _ in range(20):
                        seen.append(int(wh.scalar("SELECT count(*) FROM tasks")))
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

            with wh.transaction() as cur:
                threads = [threading.Thread(target=read) for _ in range(4)]
                for t in threads:
                    t.start()
                cur.execute("DELETE FROM tasks WHERE task_id IN (SELECT task_id FROM tasks LIMIT 10)")
                time.sleep(0.3)
            for t in threads:
                t.join(timeout=60)
            assert not errors and set(seen) == {3_990}
            con = subprocess.run(
                [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
                 "print(c.execute('SELECT count(*) FROM tasks').fetchone()[0])", str(db)],
                capture_output=True, text=True, timeout=60,
            )
            assert con.stdout.strip() == "3990", con.stderr
        finally:
            wh.close()


@pytest.mark.slow
class TestCliWithCli:
    def test_cli_reads_during_a_cli_ingest_wait_instead_of_failing(self, db: Path, files: tuple[Path, Path]) -> None:
        ingest = subprocess.Popen(
            [*CLI, "--db", str(db), "ingest", "--tasks", str(files[1])],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env_with_src(**{LOCK_TIMEOUT_ENV: "60"}),
        )
        results = []
        for _ in range(4):
            results.append(cli(db, "outcomes", "--definition", "lenient", "--format", "json", timeout_s=60))
        out, err = ingest.communicate(timeout=120)
        assert ingest.returncode == 0, err
        assert all(r.returncode == 0 for r in results), [r.stderr for r in results if r.returncode]
        counts = {sum(x["tasks"] for x in json.loads(r.stdout)) for r in results}
        assert counts <= {4_000, 8_000}


# ---------------------------------------------------------------------------- the served app
@pytest.mark.e2e
@pytest.mark.slow
class TestServedApp:
    """The real served Streamlit app (one process, a browser session on it) and the CLI."""

    def test_the_cli_reads_while_the_app_serves_and_during_its_ingest(
        self, db: Path, files: tuple[Path, Path]
    ) -> None:
        playwright_api = pytest.importorskip("playwright.sync_api")
        from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, READY, streamlit_server

        if not Path(CHROMIUM).exists():
            pytest.skip("Debian chromium not installed")
        with streamlit_server(db) as url, playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page()
            page.goto(f"{url}/data")
            page.wait_for_selector(READY, timeout=90_000)  # the app has opened the warehouse
            tasks, run = tasks_via_cli(db, timeout_s=0)  # served at once: nothing waits
            assert tasks == 4_000 and "Waiting" not in run.stderr
            con = duckdb.connect(str(db), read_only=True)
            con.close()
            page.locator("[data-testid=stFileUploaderDropzoneInput]").first.set_input_files(str(files[1]))
            page.wait_for_selector(READY, timeout=90_000)
            page.get_by_role("button", name="Validate and load").click()
            seen = []
            for _ in range(3):  # reads while the app writes: each waits if it must, none fails
                seen.append(tasks_via_cli(db, timeout_s=60)[0])
            page.get_by_text("task(s) inserted").wait_for(timeout=120_000)
            after, _ = tasks_via_cli(db, timeout_s=0)
            browser.close()
        assert set(seen) <= {4_000, 8_000} and after == 8_000
