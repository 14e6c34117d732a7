"""The figures a benchmark run measured, for run_all's closing summary table.

Each bench_*.py prints its own lines and also calls `record(...)` for every figure
it prints: what was measured, the baseline measured in the same run, and the
budget (a ratio to that baseline, or seconds). `python -m benchmarks.run_all`
prints them all at the end as one table: figure, measured, baseline, ratio,
budget, within budget.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    area: str
    what: str
    seconds: float
    baseline: float | None  # seconds of the baseline measured in the same run
    baseline_what: str
    budget_ratio: float | None = None  # measured / baseline must stay at or under this
    budget_seconds: float | None = None  # measured must stay at or under this

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline <= 0:
            return None
        return self.seconds / self.baseline

    @property
    def within(self) -> bool | None:
        """True/False against the budget; None when the figure has no budget."""
        checks = []
        if self.budget_ratio is not None:
            ratio = self.ratio
            checks.append(ratio is not None and ratio <= self.budget_ratio)
        if self.budget_seconds is not None:
            checks.append(self.seconds <= self.budget_seconds)
        return all(checks) if checks else None


FIGURES: list[Figure] = []
_area = ["-"]


def start_area(area: str) -> None:
    """Name the benchmark whose figures follow (run_all calls it before each bench)."""
    _area[0] = area


def record(
    what: str,
    seconds: float,
    baseline: float | None = None,
    baseline_what: str = "",
    *,
    budget_ratio: float | None = None,
    budget_seconds: float | None = None,
) -> Figure:
    figure = Figure(_area[0], what, seconds, baseline, baseline_what, budget_ratio, budget_seconds)
    FIGURES.append(figure)
    return figure


def _duration(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 600:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def _budget(f: Figure) -> str:
    parts = []
    if f.budget_ratio is not None:
        parts.append(f"<= {f.budget_ratio:g}x")
    if f.budget_seconds is not None:
        parts.append(f"<= {_duration(f.budget_seconds)}")
    return " and ".join(parts) or "-"


def summary_table(figures: list[Figure] | None = None) -> str:
    """One Markdown table of every recorded figure (pasteable into the README)."""
    rows = [
        "| area | figure | measured | baseline (same run) | ratio | budget | within budget |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in FIGURES if figures is None else figures:
        baseline = "-" if f.baseline is None else f"{f.baseline_what} {_duration(f.baseline)}".strip()
        ratio = "-" if f.ratio is None else f"{f.ratio:.2f}x"
        within = {True: "yes", False: "NO", None: "-"}[f.within]
        rows.append(f"| {f.area} | {f.what} | {_duration(f.seconds)} | {baseline} | {ratio} | {_budget(f)} | {within} |")
    return "\n".join(rows)


def load_text() -> str:
    """The machine's load while measuring (others share its 2 cores)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"
