"""Break-even windows on the Price lab: `python -m benchmarks.bench_breakeven`.

The Price lab now adds, to its backtest and sweep, the break-even over the months
with the AI live and over the last 3 months (portfolio, per segment, per account)
and the standing of every account (issue 14). Printed next to the page's former
engine call, `pricing.price_lab`, measured in the same run on the same 1M-task
warehouse: the extra work should stay a fraction of it (budget: at most 1.5x
the former call in all, so the page keeps its 1.5 s budget of issue 4).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from benchmarks import figures
from benchmarks.bench_demo import ensure_bench_db
from outcome_pricing.analysis import breakeven
from outcome_pricing.pricing import example_plans, price_lab
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse.handle import Warehouse

RUNS = 5
TASKS = 1_000_000
RATIO_BUDGET = 1.5


def _median(fn: Callable[[], object]) -> float:
    fn()  # warm: the usage aggregate is cached per data version, as on the page
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    path = ensure_bench_db(TASKS)
    planset = example_plans()
    d = Definition.preset("intercom-fin-2025")
    with Warehouse.open(path, read_only=True) as wh:
        base = _median(lambda: price_lab(wh, planset, d, "seats-today", "per-outcome"))

        def with_break_evens() -> None:
            lab = price_lab(wh, planset, d, "seats-today", "per-outcome")
            breakeven.break_evens(lab.backtest.metrics, planset, "per-outcome", lab.backtest.reference)
            breakeven.standings(lab.backtest, "per-outcome")

        full = _median(with_break_evens)
        accounts = wh.scalar("SELECT count(DISTINCT account_id) FROM tasks")
    ratio = full / base
    print(f"{TASKS:,} tasks, {accounts} accounts, median of {RUNS}")
    print(f"  price_lab (the page's former engine call)   {base:6.3f} s")
    figures.record("price lab + break-evens and standings", full, base, "price_lab alone", budget_ratio=RATIO_BUDGET)
    print(f"  + break-evens (2 windows) and standings      {full:6.3f} s  ({ratio:.2f}x; budget {RATIO_BUDGET}x) "
          + ("ok" if ratio <= RATIO_BUDGET else "OVER BUDGET"))


if __name__ == "__main__":
    main()
