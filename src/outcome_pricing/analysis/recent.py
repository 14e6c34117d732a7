"""What "today" means for the analyses that project from history."""

from __future__ import annotations

RECENT_MONTHS = 3
"""The latest months averaged into today's per-account levels and ratios (forecast and ROI alike)."""
