"""The hour grid of the definition cube: the silence periods and reopen windows it answers exactly.

Apart from `cube.py` (which imports duckdb) so that the rules can ask "is this
definition on the grid?" without importing the database driver.
"""

from __future__ import annotations

# Every hour to 4, then the usual contract values up to 30 days (see cube.py for why).
HOUR_GRID: tuple[int, ...] = (
    0, 1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 36, 48, 72, 96, 120, 168, 240, 336, 504, 720,
)
