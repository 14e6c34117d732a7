"""The definition cube: tasks pre-aggregated over the inputs of the rules.

Owned by the definitions work (issue 3); rebuilt inside every ingest transaction.
"""

from __future__ import annotations

import duckdb


def rebuild(cur: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the cube from `tasks` (called inside the ingest transaction)."""
    return None
