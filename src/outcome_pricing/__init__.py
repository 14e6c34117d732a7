"""Outcome Pricing Lab: replay AI-agent task logs under any definition of
"resolved" and any set of pricing plans, with cost, margin, impact, forecast
and ROI. Nothing here imports streamlit.

This root is also where the layers are wired: the warehouse never imports the
rules (they read it through `rules.Source`), so `Warehouse.outcomes` answers
with the evaluator plugged in below. Every `import outcome_pricing...` runs
this module first, so the plug is always in place.
"""

from __future__ import annotations

from outcome_pricing.errors import (
    ConfigError,
    OutcomePricingError,
    ValidationError,
    WarehouseError,
    WarehouseLockedError,
)
from outcome_pricing.rules import Definition, outcomes
from outcome_pricing.warehouse import IngestResult, Warehouse, default_db_path, use_outcomes

use_outcomes(outcomes)

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
