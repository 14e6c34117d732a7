"""AI impact summary speed: `python -m benchmarks.bench_impact [--big]`.

Times `impact.impact_summary` on the shared 1M demo warehouse (and 10M with
--big) against two baselines measured in the same run: a bare SQL scan that
aggregates every column the summary reads, and a bare fetch of the per-task
columns (what the summary pulled into numpy before it counted values in SQL:
proof/impact/counts.py). Budget (issue 5): 1M tasks in <= 2 s.
Also prints the breakdowns the page draws (per topic, trend by go-live,
distribution sample).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks import figures
from benchmarks.bench_demo import ensure_bench_db
from outcome_pricing.proof import impact
from outcome_pricing.warehouse.handle import Warehouse

BUDGET_SECONDS = {1_000_000: 2.0}
RUNS = 3

BARE_SCAN_SQL = """
SELECT ai_enabled, count(*), count(DISTINCT topic), sum(human_seconds),
       sum(date_diff('millisecond', created_at, closed_at)), sum(csat),
       count(*) FILTER (WHERE handoff), count(*) FILTER (WHERE qa_audited AND missed_issue),
       count(*) FILTER (WHERE reopen_gap_hours <= 72)
FROM tasks GROUP BY ai_enabled
"""
BARE_FETCH_SQL = """
SELECT ai_enabled, topic, handoff, human_seconds, created_at, closed_at, csat FROM tasks
"""


def _median_seconds(fn: Callable[[], Any], runs: int = RUNS) -> float:
    fn()  # warm-up: first-touch of the file and of scipy
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench(n: int) -> None:
    with Warehouse.open(ensure_bench_db(n), read_only=True) as wh:
        summary_s = _median_seconds(lambda: impact.impact_summary(wh))
        scan_s = _median_seconds(lambda: wh.query_df(BARE_SCAN_SQL))

        def bare_fetch() -> None:
            with wh.cursor() as cur:
                cur.execute(BARE_FETCH_SQL).fetchnumpy()

        fetch_s = _median_seconds(bare_fetch)
        budget = BUDGET_SECONDS.get(n)
        verdict = "" if budget is None else (" within" if summary_s <= budget else " OVER") + f" budget {budget:.1f} s"
        print(f"impact_summary {n:>12,} tasks: {summary_s:6.3f} s (median of {RUNS};{verdict})")
        print(f"  baseline bare aggregate scan of the same columns: {scan_s:6.3f} s; ratio {summary_s / scan_s:5.1f}x")
        print(f"  baseline bare fetch of the per-task columns:      {fetch_s:6.3f} s; ratio {summary_s / fetch_s:5.1f}x")
        figures.record(f"impact summary, {n // 10**6}M tasks", summary_s, scan_s, "bare aggregate scan",
                       budget_seconds=budget)
        for name, fn in (
            ("impact_by topic", lambda: impact.impact_by(wh, "topic")),
            ("trend_by_go_live", lambda: impact.trend_by_go_live(wh)),
            ("distribution_sample 5k/arm", lambda: impact.distribution_sample(wh, per_arm=5000)),
        ):
            print(f"  {name:<28} {_median_seconds(fn):6.3f} s")


def main() -> None:
    sizes = [1_000_000] + ([10_000_000] if "--big" in sys.argv[1:] else [])
    for n in sizes:
        bench(n)


if __name__ == "__main__":
    main()
