"""Forecast speed: `python -m benchmarks.bench_forecast`.

Budget (issue 6): 2,000 scenarios x 150 accounts x 24 months x the 7 packaged
example plans in at most 2 s on 2 cores. The assumptions come from the
shared 1M demo warehouse (150 accounts) when it exists, else from a synthetic
150-account history (the simulation's cost does not depend on where they
come from). Baseline measured in the same run: drawing the same number of
standard normals (scenarios x accounts x months) once with numpy. From the
warehouse, the run with the history prices every plan's month-spanning terms
too (charge start and free months, commitment periods with breakage and
overage, guarantee credits drawn per window), as `forecast` does.
"""

from __future__ import annotations

import math
import os
import statistics
import time
import timeit
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import figures
from outcome_pricing.analysis import forecast as fc
from outcome_pricing.pricing import EXAMPLE_PLANS
from outcome_pricing.pricing.plans import PlanSet

SCENARIOS, ACCOUNTS, MONTHS = 2000, 150, 24
BUDGET_SECONDS = 2.0
RUNS = 3
BENCH_DB = Path("/tmp/bench/demo_1m.duckdb")


def _median_seconds(fn: Callable[[], Any]) -> float:
    fn()  # warm-up
    return statistics.median(timeit.repeat(fn, number=1, repeat=RUNS))


def synthetic_history(accounts: int = ACCOUNTS, months: int = 18, seed: int = 1) -> pd.DataFrame:
    """A heavy-tailed portfolio with growth, go-lives and a learning curve (like the demo)."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(accounts):
        size, growth, go_live = rng.lognormal(5, 1.2), rng.normal(0.01, 0.01), int(rng.integers(0, 8))
        for m in range(months):
            tasks = size * math.exp(growth * m) * rng.lognormal(0, 0.05)
            conv = tasks * 0.9 if m >= go_live else 0.0
            rate = 0.65 - (0.65 - 0.3) * math.exp(-(m - go_live) / 3) if m >= go_live else 0.0
            rows.append({
                "account_id": f"A{a:03d}", "month": pd.Timestamp("2025-05-01") + pd.DateOffset(months=m),
                "tasks": tasks, "conversations": conv, "outcomes": conv * rate,
                "human_hours": (tasks - conv * rate) * 0.15, "seats": max(1.0, math.ceil(size * 0.15 / 120 * 1.1)),
                "seat_price": 85.0, "input_tokens_m": conv * 0.004, "output_tokens_m": conv * 0.0008,
                "cogs": conv * 0.0136,
            })
    return pd.DataFrame(rows)


def _assumptions(planset: PlanSet) -> tuple[fc.Assumptions, pd.DataFrame | None, str]:
    """The assumptions, the history the plan terms are placed on (None: synthetic), where from."""
    if BENCH_DB.exists():
        from outcome_pricing.pricing import account_month_metrics
        from outcome_pricing.rules import Definition
        from outcome_pricing.warehouse.handle import Warehouse

        with Warehouse.open(BENCH_DB, read_only=True) as wh:
            started = time.perf_counter()
            metrics = account_month_metrics(wh, Definition.preset("zendesk-ar"), planset.costs, planset.plans)
            a = fc.assumptions_from_metrics(metrics, planset)
            took = time.perf_counter() - started
        return a, metrics, f"estimated from {BENCH_DB} ({len(a.accounts)} accounts) in {took:.2f} s"
    return fc.assumptions_from_metrics(synthetic_history(), planset), None, "synthetic 150-account history"


def main() -> None:
    planset = PlanSet.from_toml(EXAMPLE_PLANS)
    a, history, where = _assumptions(planset)
    a = a.with_values(churn_hazard=max(a.churn_hazard, 0.01))  # every stream on, churn included
    print(f"assumptions: {where}; {len(planset.plans)} plans; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores (a busy machine stretches wall times; compare the ratios)")
    cells = SCENARIOS * len(a.accounts) * MONTHS
    rng = np.random.default_rng(0)
    baseline = _median_seconds(lambda: rng.standard_normal(cells))
    print(f"baseline: {cells:,} standard normals: {baseline:.3f} s")
    workers = min(2, os.cpu_count() or 1)
    for w in sorted({1, workers}):
        took = _median_seconds(
            lambda w=w: fc.simulate(a, planset, months=MONTHS, scenarios=SCENARIOS, seed=1, workers=w)
        )
        verdict = "within" if took <= BUDGET_SECONDS else "OVER"
        print(
            f"simulate {SCENARIOS:,} scenarios x {len(a.accounts)} accounts x {MONTHS} months x "
            f"{len(planset.plans)} plans, {w} thread(s): {took:.3f} s (median of {RUNS}; {verdict} budget "
            f"{BUDGET_SECONDS:.1f} s); {took / baseline:.1f}x the baseline"
        )
        figures.record(f"forecast, {SCENARIOS:,} scenarios x {len(a.accounts)} accounts x {MONTHS} months x "
                       f"{len(planset.plans)} plans, {w} thread(s)", took, baseline, "the same count of standard normals",
                       budget_seconds=BUDGET_SECONDS)
    if history is not None:
        took = _median_seconds(
            lambda: fc.simulate(a, planset, months=MONTHS, scenarios=SCENARIOS, seed=1, workers=workers,
                                history=history)
        )
        started = time.process_time()
        fc.simulate(a, planset, months=MONTHS, scenarios=SCENARIOS, seed=1, workers=1, history=history)
        cpu = time.process_time() - started
        verdict = "within" if took <= BUDGET_SECONDS else "OVER"
        print(f"simulate with the history (every plan's deal terms, commitments and guarantees priced), "
              f"{workers} thread(s): {took:.3f} s ({verdict} budget); 1 thread: {cpu:.3f} CPU s; "
              f"{took / baseline:.1f}x the baseline")
        figures.record(f"forecast with the history (deal terms, commitments, guarantees), {workers} thread(s)", took,
                       baseline, "the same count of standard normals", budget_seconds=BUDGET_SECONDS)
    # CPU seconds of one single-thread run: less sensitive to a busy machine than wall time.
    started = time.process_time()
    fc.simulate(a, planset, months=MONTHS, scenarios=SCENARIOS, seed=1, workers=1)
    print(f"simulate, 1 thread: {time.process_time() - started:.3f} CPU s")
    tracemalloc.start()
    fc.simulate(a, planset, months=MONTHS, scenarios=SCENARIOS, seed=1, workers=workers)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"peak memory of one run: {peak / 2**20:.0f} MiB (one {cells:,}-cell float64 array is "
          f"{cells * 8 / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
