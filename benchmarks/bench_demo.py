"""Demo generator throughput, and the shared benchmark warehouses.

`python -m benchmarks.bench_demo [--big]` builds 1M tasks (and 10M with
--big) into a fresh file, prints tasks/s next to a bare DuckDB write of the
same rows (a CREATE TABLE AS copy into another file, measured in the same
run), and checks the budgets of issue 2 (1M <= 30 s, 10M <= 300 s).

Other benchmarks import `ensure_bench_db(n)`: the path of a warehouse with
the default demo of n tasks under /tmp/bench, built once and reused.
"""

from __future__ import annotations

import fcntl
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks import figures
from outcome_pricing import demo
from outcome_pricing.warehouse.handle import Warehouse

BENCH_DIR = Path("/tmp/bench")
BUDGET_SECONDS = {1_000_000: 30.0, 10_000_000: 300.0}
LABELS = {1_000_000: "1m", 10_000_000: "10m"}


def bench_db_path(n: int) -> Path:
    label = LABELS.get(n, str(n))
    return BENCH_DIR / f"demo_{label}.duckdb"


def _is_current(path: Path, n: int) -> bool:
    """The file holds the default demo of n tasks from this version of the generator."""
    if not path.exists():
        return False
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return False
    try:
        last = con.execute("SELECT source FROM ingest_log ORDER BY ingest_id DESC LIMIT 1").fetchone()
        return last == (demo.DemoSpec(tasks=n, accounts=demo.default_accounts(n)).source,)
    except duckdb.Error:
        return False
    finally:
        con.close()


def _build(path: Path, n: int) -> dict[str, float]:
    """Build the default demo of n tasks into `path`; seconds per phase."""
    marks: dict[str, float] = {}
    started = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        if message.startswith("storing"):
            marks["generate_and_stage"] = time.perf_counter() - started

    with Warehouse.open(path) as wh:
        demo.build_demo(wh, tasks=n, progress=progress)
    marks["total"] = time.perf_counter() - started
    marks["apply_staged"] = marks["total"] - marks.get("generate_and_stage", 0.0)
    return marks


def ensure_bench_db(n: int) -> Path:
    """A warehouse with the default demo (seed 7, 150 accounts, 18 months) of n tasks; reused if current.

    Built under a lock into a temporary file and renamed into place, so a
    reader never sees a half-built warehouse and two callers never build twice.
    """
    return _install(n, built=None)


def _install(n: int, built: Path | None) -> Path:
    """Put a warehouse of n tasks in place (moving `built`, else building one) unless one is there."""
    path = bench_db_path(n)
    if _is_current(path, n):
        return path
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    with open(BENCH_DIR / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_current(path, n):
            return path
        if built is None:
            built = path.with_suffix(".building")
            built.unlink(missing_ok=True)
            _build(built, n)
        built.replace(path)
    return path


def _bare_copy_seconds(source: Path) -> float:
    """Baseline: DuckDB copying the same finished rows into a table of another file."""
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "copy.duckdb"))
        try:
            con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")  # our own temp path, not user input
            started = time.perf_counter()
            con.execute("CREATE TABLE tasks AS SELECT * FROM src.tasks")
            con.execute("CHECKPOINT")
            return time.perf_counter() - started
        finally:
            con.close()


def bench(n: int) -> None:
    with tempfile.TemporaryDirectory(dir=BENCH_DIR) as tmp:
        path = Path(tmp) / "demo.duckdb"
        marks = _build(path, n)
        bare = _bare_copy_seconds(path)
        total = marks["total"]
        budget = BUDGET_SECONDS.get(n)
        verdict = "" if budget is None else (" within" if total <= budget else " OVER") + f" budget {budget:.0f} s"
        print(
            f"demo {n:>12,} tasks: {total:7.1f} s ({n / total:>10,.0f} tasks/s;{verdict}); "
            f"generate+stage {marks['generate_and_stage']:.1f} s, apply_staged {marks['apply_staged']:.1f} s"
        )
        print(f"  baseline bare DuckDB copy of the same rows: {bare:.1f} s; ratio demo/bare {total / bare:.1f}x")
        figures.record(f"demo data, {n // 10**6}M tasks", total, bare, "bare copy of the same rows", budget_seconds=budget)
        if n in LABELS:  # the measured build becomes the shared benchmark warehouse if none is there
            print(f"  shared warehouse: {_install(n, built=path)}")


def main() -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    sizes = [1_000_000] + ([10_000_000] if "--big" in sys.argv[1:] else [])
    for n in sizes:
        bench(n)


if __name__ == "__main__":
    main()
