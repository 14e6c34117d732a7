"""Outcome Pricing Lab: replay AI-agent task logs under any definition of
"resolved" and any set of pricing plans, with cost, margin, impact, forecast
and ROI. Nothing here imports streamlit.

This root is also where the layers are wired: the warehouse never imports the
rules (they read it through `rules.Source`), so `Warehouse.outcomes` answers
with the evaluator plugged in below; a cluster-mode warehouse reads task evidence
from Parquet through the reader plugged in below (warehouse/cluster.py). Every
`import outcome_pricing...` runs this module first, so the plugs are always in place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import duckdb

from outcome_pricing.errors import (
    ConfigError,
    OutcomePricingError,
    ValidationError,
    WarehouseError,
    WarehouseLockedError,
)
from outcome_pricing.rules import Definition, outcomes
from outcome_pricing.warehouse import IngestResult, Warehouse, default_db_path, use_outcomes
from outcome_pricing.warehouse.cluster import Handle, use_evidence


class _ParquetEvidence:
    """Cluster mode's task evidence from the Parquet tasks (imported only when asked for: it
    needs the `scale` extra, which the rest of the package does not)."""

    def month(self, wh: Handle, dataset: Path, account_id: str, month: dt.date) -> Handle:
        from outcome_pricing.scale.evidence import evidence_warehouse

        return evidence_warehouse(cast(Warehouse, wh), dataset, account_id, month)

    def locate(self, dataset: Path, task_id: str) -> tuple[str, dt.date] | None:
        from outcome_pricing.scale.evidence import locate_task

        return locate_task(dataset, task_id)

    def hold(self, cur: duckdb.DuckDBPyConnection, dataset: Path, ids_sql: str) -> None:
        from outcome_pricing.scale.load import hold_tasks

        hold_tasks(cur, dataset, ids_sql)

    def tasks(self, wh: Handle, dataset: Path, where: str, params: Mapping[str, Any],
              account_id: str | None) -> Handle:
        from outcome_pricing.scale.evidence import tasks_warehouse

        return tasks_warehouse(cast(Warehouse, wh), dataset, where, params, account_id)

    def every(self, wh: Handle, dataset: Path) -> Handle:
        from outcome_pricing.scale.evidence import dataset_warehouse

        return dataset_warehouse(cast(Warehouse, wh), dataset)

    def span(self, dataset: Path, first: dt.date, last: dt.date) -> tuple[Any, Any]:
        from outcome_pricing.scale.evidence import closed_span

        return closed_span(dataset, first, last)


use_outcomes(outcomes)
use_evidence(_ParquetEvidence())

__all__ = [
    "ConfigError",
    "Definition",
    "IngestResult",
    "OutcomePricingError",
    "ValidationError",
    "Warehouse",
    "WarehouseError",
    "WarehouseLockedError",
    "default_db_path",
]

__version__ = "0.1.0"
