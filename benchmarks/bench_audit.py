"""Proof by audit speed: `python -m benchmarks.bench_audit [--big]`.

On the shared 1M demo warehouse (10M with --big), times the audit estimate
(`proof.audit.estimate`: the cube counts plus the audited tasks at task level),
the judge, a 500-task sample and the settlement rates per account-month, each
against baselines measured in the same run: the definition's outcomes by
account x month (what every page already pays) and a bare task-level
evaluation of the whole warehouse (what evaluating every task would cost).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks import figures
from benchmarks.bench_demo import BENCH_DIR, ensure_bench_db
from outcome_pricing import demo
from outcome_pricing.proof import audit
from outcome_pricing.proof.audit.settlement import settlement_rates
from outcome_pricing.rules import Definition, evaluate_tasks, outcomes
from outcome_pricing.warehouse.handle import Warehouse

RUNS = 3
BUDGET_SECONDS = {1_000_000: 2.0}  # the estimate, cold: the Proof page's first call (as impact)


def _median_seconds(fn: Callable[[], Any], runs: int = RUNS) -> float:
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _db_with_audits(n: int) -> Path:
    """The shared demo warehouse of n tasks, or (when it predates audits) a private one."""
    shared = ensure_bench_db(n)
    with Warehouse.open(shared, read_only=True) as wh:
        if audit.records.has_audit_tables(wh):
            return shared
    private = BENCH_DIR / f"audit_demo_{n}.duckdb"
    if not private.exists():
        with Warehouse.open(private) as wh:
            demo.build_demo(wh, tasks=n)
    return private


def bench(n: int) -> None:
    d = Definition.preset("intercom-fin-2025")
    with Warehouse.open(_db_with_audits(n), read_only=True) as wh:
        audits = int(wh.scalar("SELECT count(*) FROM audits"))
        keys = outcomes(wh, d)[["account_id", "month"]].assign(month=lambda f: pd.to_datetime(f["month"]))
        def cold_estimate() -> None:
            audit.records._cache.clear()  # the first call after an ingest or a definition change
            audit.estimate(wh, d)

        est_s = _median_seconds(cold_estimate)
        warm_s = _median_seconds(lambda: audit.estimate(wh, d))
        cube_s = _median_seconds(lambda: outcomes(wh, d))
        tasks_s = _median_seconds(lambda: evaluate_tasks(wh, d), runs=1)
        budget = BUDGET_SECONDS.get(n)
        verdict = "" if budget is None else (" within" if est_s <= budget else " OVER") + f" budget {budget:.1f} s"
        print(f"audit estimate {n:>12,} tasks, {audits:,} audits: {est_s:6.3f} s (median of {RUNS};{verdict})")
        print(f"  the same again (audited tasks kept per data generation): {warm_s:6.3f} s")
        print(f"  baseline outcomes by account x month (cube):   {cube_s:6.3f} s; ratio {est_s / cube_s:6.1f}x")
        print(f"  baseline every task evaluated (task level):    {tasks_s:6.3f} s; ratio {est_s / tasks_s:6.2f}x")
        figures.record(f"audit estimate, {n // 10**6}M tasks", est_s, tasks_s, "every task evaluated",
                       budget_seconds=budget)
        for name, fn in (
            ("judge", lambda: audit.judge(wh, d)),
            ("by account", lambda: audit.by_account(wh, d)),
            ("trend by month", lambda: audit.trend(wh, d)),
            ("sample of 500 by reason", lambda: audit.draw_sample(wh, d, 500, "reason", 1)),
            (f"settlement rates, {len(keys):,} account-months", lambda: settlement_rates(wh, d, keys, "upper_bound", 3)),
        ):
            seconds = _median_seconds(fn, runs=1)
            print(f"  {name:<40} {seconds:6.3f} s; ratio to every task evaluated {seconds / tasks_s:5.2f}x")
            if name.startswith("sample"):  # one pass of the rules over the tasks since issue 20
                figures.record(f"audit {name}, {n // 10**6}M tasks", seconds, tasks_s, "every task evaluated")


def main() -> None:
    sizes = [1_000_000] + ([10_000_000] if "--big" in sys.argv[1:] else [])
    for n in sizes:
        bench(n)


if __name__ == "__main__":
    main()
