"""Backtest and Price lab speed: `python -m benchmarks.bench_pricing [--big]`.

Budgets (issue 4): a backtest of the 7 example plans over 10M tasks in at most
2 s; the Price lab page's engine calls (backtest, price sweep, portfolio,
winners and losers, seat erosion) at 1M tasks in at most 1.5 s. Each figure
is printed next to a baseline measured in the same run: a bare
`GROUP BY account_id, month` scan of the tasks table.

"cold" drops the per-data-version usage aggregate first (the first request
after an ingest); "warm" reuses it (every later plan or definition change).
The 10M warehouse is used with --big or when it already exists.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import outcome_pricing.pricing.metrics as metrics_module
from benchmarks.bench_demo import bench_db_path, ensure_bench_db
from outcome_pricing.pricing import backtest, example_plans, price_lab
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse.handle import Warehouse

RUNS = 3
BUDGETS = {("backtest cold", 10_000_000): 2.0, ("price lab page", 1_000_000): 1.5}
BARE_SQL = "SELECT account_id, month, count(*) FROM tasks GROUP BY account_id, month"
DEFINITION = "intercom-fin-2026"


def _median(fn: Callable[[], Any], before: Callable[[], None] = lambda: None, runs: int = RUNS) -> float:
    before()
    fn()  # warm-up: first touch of the file
    times = []
    for _ in range(runs):
        before()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _cold() -> None:
    metrics_module._usage_cache.clear()


def _line(label: str, n: int, seconds: float, baseline: float) -> None:
    budget = BUDGETS.get((label, n))
    verdict = "" if budget is None else ("; within" if seconds <= budget else "; OVER") + f" budget {budget:.1f} s"
    print(f"  {label:<16} {seconds:6.3f} s  ({seconds / baseline:5.1f}x the bare scan{verdict})")


def bench(n: int) -> None:
    planset, d = example_plans(), Definition.preset(DEFINITION)
    with Warehouse.open(ensure_bench_db(n), read_only=True) as wh:
        bare = _median(lambda: wh.query_df(BARE_SQL))
        cold = _median(lambda: backtest(wh, planset, d), before=_cold)
        warm = _median(lambda: backtest(wh, planset, d))

        def page() -> None:
            lab = price_lab(wh, planset, d.with_knobs(silence_hours=48), "seats-today", "per-outcome")
            lab.backtest.portfolio()
            lab.backtest.account_changes("per-outcome")
            lab.backtest.seat_erosion()

        page_s = _median(page)
        rows = len(backtest(wh, planset, d).frame)
        print(f"{n:,} tasks, {len(planset.plans)} plans, {rows:,} account-month-plan rows; median of {RUNS}")
        print(f"  {'bare GROUP BY':<16} {bare:6.3f} s  (baseline)")
        _line("backtest cold", n, cold, bare)
        _line("backtest warm", n, warm, bare)
        _line("price lab page", n, page_s, bare)


def main() -> None:
    bench(1_000_000)
    if "--big" in sys.argv or bench_db_path(10_000_000).exists():
        bench(10_000_000)


if __name__ == "__main__":
    main()
