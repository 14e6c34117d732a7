"""The warehouse: the only code that opens DuckDB (DESIGN section 2)."""

from __future__ import annotations

from outcome_pricing.warehouse.connection import DB_ENV, default_db_path
from outcome_pricing.warehouse.handle import IngestResult, Warehouse, use_outcomes

__all__ = ["DB_ENV", "IngestResult", "Warehouse", "default_db_path", "use_outcomes"]
