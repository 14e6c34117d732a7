"""What the rules read from the warehouse: a small Protocol, so the rules never import it.

`Warehouse` satisfies it structurally; so would any other store of the same
tables (a test double, a future Spark-backed source).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd


class Source(Protocol):
    """Tables `tasks` and the definition cube, read through cursors."""

    @property
    def path(self) -> Path:
        """The database file (a cache key: two files never share cached cube arrays)."""
        ...

    @property
    def accounts(self) -> tuple[str, ...] | None:
        """The account scope every cursor is limited to (None = every account)."""
        ...

    def cursor(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A fresh cursor, scoped, closed when the block ends."""
        ...

    def query_df(self, sql: str, params: Mapping[str, Any]) -> pd.DataFrame:
        """`sql` with `$name` parameters bound from `params`, as a DataFrame."""
        ...
