"""The one DuckDB connection per database file per process, and lock errors a person can act on.

DuckDB refuses a second connection to the same file with another configuration
in one process, and a second process holding the file raises an IOException:
this module is the only place that calls `duckdb.connect` on a file, and turns
both cases into a message that names the file.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb

from outcome_pricing.errors import WarehouseError, WarehouseLockedError

DEFAULT_DB = Path("data") / "warehouse.duckdb"
DB_ENV = "OUTCOME_PRICING_DB"


def default_db_path() -> Path:
    """`OUTCOME_PRICING_DB` if set, else data/warehouse.duckdb."""
    return Path(os.environ.get(DB_ENV) or DEFAULT_DB)


class _Connection:
    """One DuckDB connection per database file per process, shared by every handle.

    DuckDB refuses a second connection to the same file with another
    configuration (read-only vs read-write) in one process, and the design asks
    for one connection per process anyway: so opening a file already open here
    reuses that connection. A read-only request may reuse a read-write
    connection (the handle still refuses writes).
    """

    _registry: dict[Path, _Connection] = {}
    _lock = threading.Lock()

    def __init__(self, con: duckdb.DuckDBPyConnection, key: Path | None, read_only: bool) -> None:
        self.con = con
        self.key = key
        self.read_only = read_only
        self.refs = 1
        self.generation = 0
        self.write_lock = threading.Lock()

    @classmethod
    def acquire(cls, db: Path, read_only: bool) -> _Connection:
        key = db.resolve()
        with cls._lock:
            shared = cls._registry.get(key)
            if shared is not None:
                if shared.read_only and not read_only:
                    raise WarehouseError(
                        f"The warehouse file {db} is already open read-only in this process; "
                        f"close that handle before opening it for writing."
                    )
                shared.refs += 1
                return shared
            shared = cls(_connect(db, read_only), key, read_only)
            cls._registry[key] = shared
            return shared

    def release(self) -> None:
        with self._lock:
            self.refs -= 1
            if self.refs > 0:
                return
            if self.key is not None:
                self._registry.pop(self.key, None)
        self.con.close()


def _connect(db: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """duckdb.connect with errors a person can act on (the file is named)."""
    try:
        return duckdb.connect(str(db), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseLockedError(
                f"The warehouse file {db} is in use by another process (for example the "
                f"app or another command). Close it, or wait until it finishes; "
                f"DuckDB said: {str(exc).splitlines()[0]}"
            ) from exc
        raise WarehouseError(f"Cannot open the warehouse file {db}: {exc}") from exc
    except duckdb.Error as exc:
        raise WarehouseError(f"Cannot open the warehouse file {db}: {exc}") from exc
