"""Other processes on a warehouse file, for the lock tests: a bare DuckDB holder, and a
process that holds the file the way the app does (read-only, writing on demand)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOLD_SCRIPT = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
    "time.sleep(60)"
)
SRC = Path(__file__).resolve().parents[1] / "src"

# The app's way of holding the file, driven by lines on stdin:
#   "ingest PATH" ingests a tasks file; "hold" keeps a write transaction open until the next line.
# Each command answers "started" when its write moment began and "done ..." when it ended.
APP_LIKE_SCRIPT = """
import sys
from outcome_pricing.ingest import ingest_files
from outcome_pricing.warehouse import Warehouse
wh = Warehouse.open_shared(sys.argv[1])
print('ready', flush=True)
for line in sys.stdin:
    verb, _, arg = line.strip().partition(' ')
    if verb == 'ingest':
        print('started', flush=True)
        r = ingest_files(wh, tasks=arg)
        print('done', r.rows_inserted, flush=True)
    elif verb == 'hold':
        with wh.transaction() as cur:
            print('started', flush=True)
            sys.stdin.readline()  # until told to release
        print('done', flush=True)
    elif verb == 'count':
        print('done', wh.scalar('SELECT count(*) FROM tasks'), flush=True)
"""


def env_with_src(**extra: str) -> dict[str, str]:
    """The environment for a child Python: this checkout's src first on the path."""
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path, **extra)


@contextmanager
def held_by_another_process(db: Path) -> Iterator[None]:
    """While inside, a second Python process holds `db` open read-write (DuckDB's lock)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRIPT, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        yield
    finally:
        holder.kill()
        holder.wait()


class AppLikeProcess:
    """A process holding `db` as the app does (Warehouse.open_shared), writing on command."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", APP_LIKE_SCRIPT, str(db)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env=env_with_src(),
        )
        assert self.readline() == "ready"

    def readline(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


@contextmanager
def app_like_process(db: Path) -> Iterator[AppLikeProcess]:
    holder = AppLikeProcess(db)
    try:
        yield holder
    finally:
        holder.close()
