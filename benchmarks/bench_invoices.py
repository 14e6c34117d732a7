"""Invoices as issued: `python -m benchmarks.bench_invoices [--big]`.

Budget (issue 15): `invoices` for 7 plans over 10M tasks in at most 3x the hindsight
backtest of the same plans, measured in the same run. "cold" drops the per-data-version
usage aggregate first (the first request after an ingest); "warm" reuses it. The 10M
warehouse is used with --big or when it already exists (benchmarks/bench_demo.py).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import outcome_pricing.pricing.metrics as metrics_module
from benchmarks import figures
from benchmarks.bench_demo import bench_db_path, ensure_bench_db
from outcome_pricing.pricing import backtest, example_plans
from outcome_pricing.pricing.deals import schedule
from outcome_pricing.pricing.invoices import invoices, rateable_plans
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.rules import Definition, knowledge
from outcome_pricing.warehouse.handle import Warehouse

RUNS = 3
BUDGET_RATIO = 3.0
DEFINITION = "intercom-fin-2026"
N_PLANS = 7


def _median(fn: Callable[[], Any], before: Callable[[], None] = lambda: None) -> float:
    before()
    fn()  # warm-up: first touch of the file
    times = []
    for _ in range(RUNS):
        before()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _cold() -> None:
    metrics_module._usage_cache.clear()
    knowledge._steps_cache.clear()  # the late tasks' steps and the go-live months are kept
    schedule._go_live_kept.clear()  # per data generation too: an ingest drops them all


def _plans() -> PlanSet:
    every = example_plans()
    names = rateable_plans(every)[:N_PLANS]
    return PlanSet(tuple(every.plan(n) for n in names), every.costs)


def bench(n: int) -> None:
    planset, d = _plans(), Definition.preset(DEFINITION)
    path = bench_db_path(n) if bench_db_path(n).exists() else ensure_bench_db(n)
    with Warehouse.open(path, read_only=True) as wh:
        bt_cold = _median(lambda: backtest(wh, planset, d), before=_cold)
        inv_cold = _median(lambda: invoices(wh, planset, d), before=_cold)
        bt_warm = _median(lambda: backtest(wh, planset, d))
        inv_warm = _median(lambda: invoices(wh, planset, d))
        result = invoices(wh, planset, d)
    print(f"{n:,} tasks, {len(planset.plans)} plans ({', '.join(planset.names)}), "
          f"{len(result.frame):,} invoice rows, {len(result.ratings):,} ratings; median of {RUNS}")
    for label, bt, iv in (("cold", bt_cold, inv_cold), ("warm", bt_warm, inv_warm)):
        ratio = iv / bt
        verdict = "within" if ratio <= BUDGET_RATIO else "OVER"
        print(f"  {label}: backtest {bt:6.3f} s (baseline), invoices {iv:6.3f} s = {ratio:4.1f}x "
              f"({verdict} budget {BUDGET_RATIO:.0f}x)")
        figures.record(f"invoices {label}, {n // 10**6}M tasks", iv, bt, "backtest", budget_ratio=BUDGET_RATIO)
    with Warehouse.open(path, read_only=True) as wh:
        _by_definition(wh, planset.plans[0].close_lag_days, n)


def _by_definition(wh: Warehouse, lag: int, n: int) -> None:
    """The comparison by definition's late tasks: every preset in one scan (a superset of
    their late tasks, then each one's rules) against a scan per definition, same run."""
    ds = list(Definition.presets().values())
    alone = _median(lambda: [knowledge._steps_of(wh, [d], lag, True) for d in ds])
    one = _median(lambda: knowledge._steps_of(wh, ds, lag, True))
    print(f"  late tasks of {len(ds)} definitions: a scan each {alone:6.3f} s (baseline), one scan "
          f"{one:6.3f} s = {one / alone:4.2f}x")
    figures.record(f"invoices' late tasks, {len(ds)} definitions, {n // 10**6}M tasks", one, alone,
                   "a scan per definition")


def main() -> None:
    bench(1_000_000)
    if "--big" in sys.argv or bench_db_path(10_000_000).exists():
        bench(10_000_000)


if __name__ == "__main__":
    main()
