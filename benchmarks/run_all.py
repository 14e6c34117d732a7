"""Run every benchmark and print its figures: `python -m benchmarks.run_all [--big] [--huge]`.

Each area's benchmark prints its own timings next to a baseline measured in
the same run (ratios, not absolute numbers, are what the budgets are about),
and records them (benchmarks/figures.py); the run ends with one summary table:
figure, measured, baseline, ratio, budget, within budget yes/no.

--big adds the 10M-task figures (minutes); --huge adds benchmarks/bench_big.py,
the 100M-task figures (demo build, ingest of 10M more, a definition change, a
7-plan backtest, page-ready times, memory peaks: an hour or more on 2 cores,
needs ~16 GB of memory and ~30 GB of disk under /tmp/bench).
"""

from __future__ import annotations

import importlib
import platform
import sys
import time

import duckdb

from benchmarks import figures

AREAS = ("demo", "ingest", "definitions", "pricing", "breakeven", "deals", "impact", "forecast", "audit", "scale",
         "invoices", "roi", "cold")
HUGE_AREAS = ("big",)


def main() -> None:
    if {"-h", "--help"} & set(sys.argv[1:]):  # the benchmarks take minutes: never start them by accident
        print(__doc__)
        return
    print(f"machine: {platform.machine()}, python {platform.python_version()}, duckdb {duckdb.__version__}; "
          f"{figures.load_text()}")
    unrecorded: list[str] = []
    areas = AREAS + (HUGE_AREAS if "--huge" in sys.argv[1:] else ())
    for area in areas:
        try:
            module = importlib.import_module(f"benchmarks.bench_{area}")
        except ModuleNotFoundError:
            continue
        print(f"\n=== {area} === ({figures.load_text()})", flush=True)
        figures.start_area(area)
        before = len(figures.FIGURES)
        start = time.perf_counter()
        module.main()
        print(f"({area}: {time.perf_counter() - start:.1f} s in all; {figures.load_text()})", flush=True)
        if len(figures.FIGURES) == before:
            unrecorded.append(area)
    print(f"\n=== summary ({figures.load_text()}) ===")
    print(figures.summary_table())
    if unrecorded:
        print(f"\nNot in the table (their figures are printed above; the bench records none): {', '.join(unrecorded)}")
    over = [f for f in figures.FIGURES if f.within is False]
    print(f"\n{len(figures.FIGURES)} figures, {len(over)} over budget" + (
        ": " + "; ".join(f"{f.area}: {f.what}" for f in over) if over else ""))


if __name__ == "__main__":
    main()
