"""Deal terms speed (DESIGN 11): `python -m benchmarks.bench_deals [--big]` (1M tasks; --big adds 10M).

Prints, next to baselines measured in the same run:
* the backtest of the example plans with their deal plans against the same
  plans without the deal terms (what the schedule, the exact gain-share and the
  guarantee windows add);
* the savings_usd scan (SQL + exact rationals) against a bare GROUP BY scan;
* the deal risk on the forecast's scenarios against the forecast itself.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import outcome_pricing.pricing.deals.savings as savings_module
from benchmarks import figures
from benchmarks.bench_demo import ensure_bench_db
from outcome_pricing.analysis.deal_risk import deal_risk
from outcome_pricing.analysis.forecast import assumptions_from_metrics, simulate
from outcome_pricing.pricing import account_month_metrics, backtest_metrics, example_plans
from outcome_pricing.pricing.deal_terms import DealTerms
from outcome_pricing.pricing.deals.savings import savings_columns
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse.handle import Warehouse

RUNS = 3
BARE_SQL = "SELECT account_id, month, count(*) FROM tasks GROUP BY account_id, month"


def _median(fn: Callable[[], Any], runs: int = RUNS, before: Callable[[], None] = lambda: None) -> float:
    before()
    fn()
    times = []
    for _ in range(runs):
        before()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench(n: int) -> None:
    planset, d = example_plans(), Definition.preset("intercom-fin-2026")
    plain = PlanSet(tuple(replace(p, deal=DealTerms(hourly_cost_default=p.deal.hourly_cost_default))
                          for p in planset.plans), planset.costs)
    with Warehouse.open(ensure_bench_db(n), read_only=True) as wh:
        metrics = account_month_metrics(wh, d, planset.costs, planset.plans)
        bare = _median(lambda: wh.query_df(BARE_SQL))
        savings = _median(lambda: savings_columns(wh), before=savings_module._cache.clear)  # cold: no cache
        print(f"{n:,} tasks, {len(metrics):,} account-months, {len(planset.plans)} plans")
        print(f"  savings_usd scan   {savings:6.3f} s  ({savings / bare:5.1f}x the bare scan {bare:.3f} s)")
        without = _median(lambda: backtest_metrics(metrics, plain))
        with_deals = _median(lambda: backtest_metrics(metrics, planset))
        print(f"  backtest, deals    {with_deals:6.3f} s  ({with_deals / without:5.2f}x without the deal terms {without:.3f} s)")
        figures.record(f"savings_usd scan, {n // 10**6}M tasks", savings, bare, "bare scan")
        figures.record(f"backtest with deal terms, {n // 10**6}M tasks", with_deals, without, "without the deal terms")
        a = assumptions_from_metrics(metrics, planset)
        deals = PlanSet(tuple(p for p in planset.plans if not p.deal.is_default), planset.costs)
        fc = _median(lambda: simulate(a, deals, months=12, scenarios=1000, seed=0), runs=1)
        risk = _median(lambda: deal_risk(a, deals, metrics, months=12, scenarios=1000, seed=0), runs=1)
        print(f"  deal risk 1000 sc. {risk:6.3f} s  ({risk / fc:5.2f}x the forecast of the same plans {fc:.3f} s)")
        figures.record("deal risk, 1000 scenarios", risk, fc, "forecast of the same plans")


def main() -> None:
    sizes = [1_000_000, 10_000_000] if "--big" in sys.argv else [1_000_000]
    for n in sizes:
        bench(n)


if __name__ == "__main__":
    main()
