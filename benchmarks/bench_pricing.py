"""Backtest and Price lab speed: `python -m benchmarks.bench_pricing [--big]`.

Budgets (issue 4): a backtest of the 7 example plans over 10M tasks in at most
2 s; the Price lab page's engine calls (backtest, price sweep, portfolio,
winners and losers, seat erosion) at 1M tasks in at most 1.5 s. Issue 17: a
backtest of 7 plans with every charge shape of DESIGN 10 (per-tier flat fees,
blocks, prices by model tier and by channel, a prepaid commitment with rollover)
over 10M tasks in at most 2 s; a definition change with a by-model-tier plan (its
outcomes per account, month and model tier, from the cube's tier split) at most
0.25x the bare scan. Each figure is printed next to a baseline measured in the
same run: a bare `GROUP BY account_id, month` scan of the tasks table.

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
import outcome_pricing.pricing.splits as splits_module
from benchmarks import figures
from benchmarks.bench_definitions import _changes, _cube_is_current, _rebuild_cube
from benchmarks.bench_demo import bench_db_path, ensure_bench_db
from outcome_pricing.pricing import (
    PlanSet,
    account_month_metrics,
    backtest,
    example_plans,
    price_lab,
)
from outcome_pricing.rules import Definition, answered_from_cube
from outcome_pricing.rules.evaluate import _cube_counts, outcomes_by_dimension
from outcome_pricing.warehouse.handle import Warehouse

RUNS = 3
BUDGETS = {
    ("backtest cold", 10_000_000): 2.0,
    ("price lab page", 1_000_000): 1.5,
    ("shapes cold", 10_000_000): 2.0,
}
RATIO_BUDGET = 0.25  # a definition change with a by-model-tier plan, against the bare scan
SHAPES_TOML = """
[[plans]]
name = "by-model-tier"
  [[plans.charges]]
  metric = "outcomes"
  by = "model_tier"
  prices = { advanced = 1.49, default = 0.99 }
[[plans]]
name = "by-channel"
platform_fee = 49
  [[plans.charges]]
  metric = "conversations"
  by = "channel"
  prices = { voice = 3.00, email = 1.20, default = 0.80 }
[[plans]]
name = "graduated-flat"
  [[plans.charges]]
  metric = "outcomes"
  tiers = [ { up_to = 100, price = 1.00, flat = 10 }, { up_to = 1000, price = 0.80, flat = 25 }, { price = 0.60, flat = 50 } ]
[[plans]]
name = "volume-flat-blocks"
  [[plans.charges]]
  metric = "outcomes"
  block = 25
  mode = "volume"
  tiers = [ { up_to = 40, price = 20, flat = 100 }, { price = 15, flat = 300 } ]
[[plans]]
name = "token-blocks"
  [[plans.charges]]
  metric = "input_tokens_m"
  block = 0.5
  price = 10
  [[plans.charges]]
  metric = "output_tokens_m"
  block = 0.1
  price = 6
[[plans]]
name = "committed-rollover"
cap = 20000
  [plans.commitment]
  amount = 6000
  months = 3
  rollover = true
  rollover_max_pct = 0.5
  [[plans.charges]]
  metric = "outcomes"
  price = 1.50
[[plans]]
name = "hybrid-tiers"
platform_fee = 49
  [[plans.charges]]
  metric = "seats_needed"
  price = 65
  [[plans.charges]]
  metric = "outcomes"
  included = 25
  tiers = [ { up_to = 1000, price = 0.99 }, { price = 0.79, flat = 5 } ]
"""
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
    splits_module._usage.clear()


def _line(label: str, n: int, seconds: float, baseline: float) -> None:
    budget = BUDGETS.get((label, n))
    verdict = "" if budget is None else ("; within" if seconds <= budget else "; OVER") + f" budget {budget:.1f} s"
    print(f"  {label:<16} {seconds:6.3f} s  ({seconds / baseline:5.1f}x the bare scan{verdict})")
    figures.record(f"{label}, {n // 10**6}M tasks", seconds, baseline, "bare GROUP BY", budget_seconds=budget)


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


def _tier_split(wh: Warehouse, d: Definition) -> Any:
    """The counts by account, month and model tier from the cube, disputes applied, before
    the frame is built (the dispute correction runs in numpy: rules.cube_read)."""
    found = _cube_counts(wh, [d], "tier", per_key=True)
    assert found is not None
    return found[0]


def bench_shapes(n: int) -> None:
    """Issue 17: 7 plans with every new charge shape; a definition change with a by-model-tier plan."""
    planset, d = PlanSet.from_toml_text(SHAPES_TOML, source="bench shapes"), Definition.preset(DEFINITION)
    path = ensure_bench_db(n)
    if not _cube_is_current(path):
        _rebuild_cube(path)  # a cube of an older layout has no model-tier split yet
    with Warehouse.open(path, read_only=True) as wh:
        bare = _median(lambda: wh.query_df(BARE_SQL))
        cold = _median(lambda: backtest(wh, planset, d), before=_cold)
        warm = _median(lambda: backtest(wh, planset, d))
        rows = len(backtest(wh, planset, d).frame)
        change = _changes(Definition.preset("zendesk-ar"))
        outcomes_by_dimension(wh, next(change), "model_tier")  # the first read of the tier split
        bare_runs, split_runs, core_runs, metric_runs = [], [], [], []
        tier_plan = [planset.plan("by-model-tier")]
        for _ in range(7):  # alternate, so both see the same machine load
            bare_runs.append(_median(lambda: wh.query_df(BARE_SQL), runs=1))
            changed = next(change)
            assert answered_from_cube(wh, changed)
            split_runs.append(_median(lambda: outcomes_by_dimension(wh, changed, "model_tier"), runs=1))  # noqa: B023
            # the cube's part alone: the counts (disputes applied) before the output frame
            core_runs.append(_median(lambda: _tier_split(wh, changed), runs=1))  # noqa: B023
            metric_runs.append(_median(lambda: account_month_metrics(wh, changed, planset.costs, tier_plan), runs=1))  # noqa: B023
    bare_s, split_s, core_s = (statistics.median(r) for r in (bare_runs, split_runs, core_runs))
    print(f"{n:,} tasks, {len(planset.plans)} plans with every DESIGN 10 shape, {rows:,} account-month-plan rows")
    print(f"  {'bare GROUP BY':<16} {bare:6.3f} s  (baseline)")
    _line("shapes cold", n, cold, bare)
    _line("shapes warm", n, warm, bare)
    ratio = split_s / bare_s
    verdict = "within" if ratio <= RATIO_BUDGET else "OVER"
    print(f"  definition change, outcomes by account x month x model tier (cube tier split): "
          f"median {split_s * 1000:.1f} ms vs bare {bare_s * 1000:.1f} ms: {ratio:.3f}x ({verdict} budget {RATIO_BUDGET})")
    core_verdict = "within" if core_s / bare_s <= RATIO_BUDGET else "OVER"
    print(f"    of which the cube's tier split with the dispute correction (before the frame): "
          f"median {core_s * 1000:.1f} ms: {core_s / bare_s:.3f}x ({core_verdict} budget {RATIO_BUDGET})")
    print(f"  definition change, every metric of a by-model-tier plan (account_month_metrics): "
          f"median {statistics.median(metric_runs) * 1000:.1f} ms ({statistics.median(metric_runs) / bare_s:.2f}x the bare scan)")


def main() -> None:
    bench(1_000_000)
    bench_shapes(1_000_000)
    if "--big" in sys.argv or bench_db_path(10_000_000).exists():
        bench(10_000_000)
        bench_shapes(10_000_000)


if __name__ == "__main__":
    main()
