"""Run every benchmark and print its figures: `python -m benchmarks.run_all [--big]`.

Each area's benchmark prints its own timings next to a baseline measured in
the same run (ratios, not absolute numbers, are what the budgets are about).
"""

from __future__ import annotations

import importlib
import platform
import sys
import time

import duckdb

AREAS = ("demo", "ingest", "definitions", "pricing", "breakeven", "impact", "forecast", "audit", "scale", "invoices",
         "roi")


def main() -> None:
    if {"-h", "--help"} & set(sys.argv[1:]):  # the benchmarks take minutes: never start them by accident
        print(__doc__)
        return
    print(f"machine: {platform.machine()}, python {platform.python_version()}, duckdb {duckdb.__version__}")
    for area in AREAS:
        try:
            module = importlib.import_module(f"benchmarks.bench_{area}")
        except ModuleNotFoundError:
            continue
        print(f"\n=== {area} ===", flush=True)
        start = time.perf_counter()
        module.main()
        print(f"({area}: {time.perf_counter() - start:.1f} s in all)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
