"""Outcome Pricing Lab: replay AI-agent task logs under any definition of
"resolved" and any set of pricing plans, with cost, margin, impact, forecast
and ROI. Nothing here imports streamlit."""

from __future__ import annotations

from outcome_pricing.errors import (
    ConfigError,
    OutcomePricingError,
    ValidationError,
    WarehouseError,
    WarehouseLockedError,
)
from outcome_pricing.rules.definition import Definition
from outcome_pricing.warehouse.handle import IngestResult, Warehouse, default_db_path

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
