"""Another process that holds a warehouse file open, for the lock tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOLD_SCRIPT = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
    "time.sleep(60)"
)


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
