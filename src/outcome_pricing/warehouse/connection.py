"""The one DuckDB connection per database file per process, locks across processes, and
lock errors a person can act on.

What DuckDB allows across processes (docs: "Concurrency"): one process holding a file
read-write excludes every other process, readers included; any number of processes may
hold it read-only together. So:

- a command that only reads opens the file read-only, and shares it with the app and
  other readers;
- a command that writes (ingest, demo) holds it read-write for its run;
- the app holds it read-only and takes the write lock only for the moment of a write
  (`Hold.WRITE_ON_DEMAND`: close, reopen read-write, commit, reopen read-only), so the
  CLI and a plain `duckdb.connect(path, read_only=True)` are served while it runs.

Whoever meets a lock held by another process waits for it, up to
`OUTCOME_PRICING_LOCK_TIMEOUT` seconds (default 30), saying once that it waits, then
fails with WarehouseLockedError naming the file and the process that holds it.
This module is the only place that calls `duckdb.connect` on a file.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import duckdb

from outcome_pricing.errors import WarehouseError, WarehouseLockedError

DEFAULT_DB = Path("data") / "warehouse.duckdb"
DB_ENV = "OUTCOME_PRICING_DB"
LOCK_TIMEOUT_ENV = "OUTCOME_PRICING_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 30.0
# DuckDB's own default is 80% of RAM; at 100M tasks a build then peaks near 20 GB
# on a 24 GiB machine. Half of RAM keeps the process well under it (DuckDB spills
# sorts and big temp tables to `<db>.tmp` beyond it). Any DuckDB size: "12GB", "40%".
MEMORY_LIMIT_ENV = "OUTCOME_PRICING_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "50%"
_FIRST_RETRY, _MAX_RETRY = 0.05, 0.5  # seconds between attempts: quick at first, then calm

# Told once when a wait starts (the CLI prints to stderr; the app may show a notice).
WaitNotice = Callable[[str], None]


def default_db_path() -> Path:
    """`OUTCOME_PRICING_DB` if set, else data/warehouse.duckdb."""
    return Path(os.environ.get(DB_ENV) or DEFAULT_DB)


def lock_timeout() -> float:
    """Seconds to wait for another process's lock: $OUTCOME_PRICING_LOCK_TIMEOUT, else 30."""
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86_400:
        raise WarehouseError(
            f"{LOCK_TIMEOUT_ENV}={raw!r} is not a number of seconds from 0 to 86400 "
            f"(the time to wait for another process's lock on the warehouse)."
        )
    return value


def _tell_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Hold(StrEnum):
    """How this process holds the file between queries."""

    READ_ONLY = "read-only"  # never writes
    READ_WRITE = "read-write"  # writes at any time; excludes other processes
    WRITE_ON_DEMAND = "write-on-demand"  # read-only, read-write only inside a transaction


class _Connection:
    """One DuckDB connection per database file per process, shared by every handle.

    DuckDB refuses a second connection to the same file with another configuration
    (read-only vs read-write) in one process, and the design asks for one connection
    per process anyway: so opening a file already open here reuses that connection.

    With WRITE_ON_DEMAND the connection is swapped (read-only -> read-write -> read-only)
    around a write; `reading()` is the gate every cursor passes, so the swap waits for
    the queries in flight and new queries wait for the swap.
    """

    _registry: dict[Path, _Connection] = {}
    _lock = threading.Lock()

    def __init__(self, con: duckdb.DuckDBPyConnection | None, key: Path | None, hold: Hold,
                 path: Path | None = None) -> None:
        self._con = con
        self.key = key
        self.path = path
        self.hold = hold
        self.refs = 1
        self.generation = 0
        self.write_lock = threading.Lock()
        self._gate = threading.Condition()
        self._active: dict[int, int] = {}  # cursors in flight, by thread
        self._swapper: int | None = None  # thread id holding the gate for a swap

    @property
    def read_only(self) -> bool:
        """True when this process may not write through it at all."""
        return self.hold is Hold.READ_ONLY

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:  # a reopen failed earlier: try again now
            assert self.path is not None
            self._con = connect(self.path, read_only=self.hold is not Hold.READ_WRITE)
            self.generation += 1  # another process may have written while the file was not ours
        return self._con

    @property
    def sealed(self) -> bool:
        """True while nothing can change the file unseen by `generation`: the connection is
        read-only (DuckDB refuses every write through it, and no other process can open the
        file for writing while it is open) and no swap is under way. Every reopen bumps the
        generation, since another process may have written while the file was not held."""
        return self.hold is not Hold.READ_WRITE and self._swapper is None and self._con is not None

    @classmethod
    def acquire(cls, db: Path, hold: Hold) -> _Connection:
        key = db.resolve()
        with cls._lock:
            shared = cls._registry.get(key)
            if shared is not None:
                if shared.hold is Hold.READ_ONLY and hold is not Hold.READ_ONLY:
                    raise WarehouseError(
                        f"The warehouse file {db} is already open read-only in this process; "
                        f"close that handle before opening it for writing."
                    )
                shared.refs += 1
                return shared
            shared = cls(connect(db, read_only=hold is not Hold.READ_WRITE), key, hold, db)
            cls._registry[key] = shared
            return shared

    def release(self) -> None:
        with self._lock:
            self.refs -= 1
            if self.refs > 0:
                return
            if self.key is not None:
                self._registry.pop(self.key, None)
        if self._con is not None:
            self._con.close()
            self._con = None

    # ------------------------------------------------------------ the gate
    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection for one query; waits while a write swaps it (not in the swapping thread)."""
        me = threading.get_ident()
        with self._gate:
            while self._swapper is not None and self._swapper != me:
                self._gate.wait()
            self._active[me] = self._active.get(me, 0) + 1
        try:
            yield self.con
        finally:
            with self._gate:
                self._active[me] -= 1
                if not self._active[me]:
                    del self._active[me]
                self._gate.notify_all()

    @contextmanager
    def writable(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection, read-write for the block (WRITE_ON_DEMAND swaps it around the block)."""
        if self.hold is not Hold.WRITE_ON_DEMAND:
            yield self.con
            return
        assert self.path is not None
        me = threading.get_ident()
        with self._gate:
            if me in self._active:  # the swap would close the cursor this thread is reading
                raise WarehouseError(
                    f"Cannot write to the warehouse {self.path} from inside a read of it "
                    f"(a query still open in the same thread)."
                )
            while self._swapper is not None:
                self._gate.wait()
            self._swapper = me
            while self._active:  # the queries in flight finish on the read-only connection
                self._gate.wait()
        try:
            self._swap(read_only=False)
            try:
                yield self.con
            finally:
                self._swap(read_only=True)
        finally:
            with self._gate:
                self._swapper = None
                self._gate.notify_all()

    def _swap(self, read_only: bool) -> None:
        assert self.path is not None
        if self._con is not None:
            self._con.close()
            self._con = None
        self.generation += 1  # the file was let go: another process may write before it is back
        try:
            self._con = connect(self.path, read_only=read_only)
        except WarehouseLockedError:
            if read_only:  # another process took the file meanwhile: reopen on the next query
                return
            raise


# ---------------------------------------------------------------------------- connecting
_HOLDER = re.compile(r"held in (?P<exe>.+?) \(PID (?P<pid>\d+)\)")


def _holder(exc: duckdb.Error) -> str:
    """'another process (PID 1234, python3.11)' from DuckDB's lock message."""
    found = _HOLDER.search(str(exc))
    if not found:
        return "another process"
    return f"another process (PID {found['pid']}, {Path(found['exe']).name})"


def _limited(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Cap DuckDB's memory: $OUTCOME_PRICING_MEMORY_LIMIT, else half of RAM."""
    limit = os.environ.get(MEMORY_LIMIT_ENV, "").strip() or DEFAULT_MEMORY_LIMIT
    try:
        con.execute("SET memory_limit = ?", [limit])
    except duckdb.Error as exc:
        con.close()
        raise WarehouseError(
            f"{MEMORY_LIMIT_ENV}={limit!r} is not a memory size DuckDB accepts "
            f"(e.g. 12GB or 50%): {exc}"
        ) from exc
    return con


def connect(db: Path, read_only: bool, notice: WaitNotice | None = None,
            timeout: float | None = None) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, waiting (bounded) for another process's lock; errors name the file."""
    wait = lock_timeout() if timeout is None else timeout
    deadline = time.monotonic() + wait
    delay, told = _FIRST_RETRY, False
    mode = "read-only" if read_only else "read-write"
    while True:
        try:
            return _limited(duckdb.connect(str(db), read_only=read_only))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise WarehouseError(f"Cannot open the warehouse file {db}: {exc}") from exc
            left = deadline - time.monotonic()
            if left <= 0:
                raise WarehouseLockedError(
                    f"The warehouse file {db} is in use by {_holder(exc)}, which holds it "
                    f"read-write (or, to write, we need every reader gone); waited {wait:g} s "
                    f"to open it {mode}. Wait until that command or the app's ingest finishes, "
                    f"or stop it; set {LOCK_TIMEOUT_ENV} to wait longer."
                ) from exc
            if not told:
                (notice or _tell_stderr)(
                    f"Waiting for the warehouse file {db}: in use by {_holder(exc)}; waiting up "
                    f"to {wait:g} s to open it {mode} (set {LOCK_TIMEOUT_ENV} to change)..."
                )
                told = True
            time.sleep(min(delay, left))
            delay = min(delay * 2, _MAX_RETRY)
        except duckdb.Error as exc:
            raise WarehouseError(f"Cannot open the warehouse file {db}: {exc}") from exc


def has_table(cur: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the warehouse file holds `table` in its main schema (a file written before
    the table existed, opened read-only, has none: never migrated)."""
    found = cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main' "
        "AND database_name = current_database()",
        [table],
    ).fetchone()
    return bool(found and found[0])
