"""The definition-independent build on DuckDB and on Spark local: `python -m benchmarks.bench_scale [--big]`.

Figures (issue 19), all measured in this one run so the ratios share the machine's load:

- DuckDB on the 10M-task demo warehouse (benchmarks/bench_demo.py builds it once):
  the build (month and reopen gap over every task, then the cube rows), a definition
  change answered from the cube, and a cold backtest of the example plans; each next
  to a bare `GROUP BY account_id, month` scan of the same table (the baseline).
- Spark local[*] on the same 10M tasks (exported once to Parquet): the whole Spark
  build (read, check every rule, month and gap, cube rows, Parquet by month).
- Ratios: Spark / DuckDB for the build; per-core throughput of each engine (rows per
  second per core), the figure the README's cluster estimate starts from.
- With --big, the DuckDB figures again at 100M tasks, on /tmp/bench/demo_100m.duckdb if
  it is in place (it is never generated here: that takes about an hour), and the ratios
  100M / 10M for the build, a definition change and the backtest. It needs ~16 GB of
  memory: run it under `flock /tmp/work/big.lock` where others share the machine.
  --no-spark leaves the Spark build out (it takes longest).
- With --cluster DB (only these): cluster mode against the full warehouse on the demo
  warehouse DB, its dataset written in the Spark build's layout (DuckDB, not timed):
  loading it (every task and the cube; the cube, account facts and side-file tasks),
  a cold backtest and the busiest account-month's statement on each, the data sizes;
  the bare scan of the full warehouse is the baseline.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks import figures as recorded
from benchmarks.bench_demo import BENCH_DIR, _is_current, ensure_bench_db
from outcome_pricing.pricing import backtest, example_plans
from outcome_pricing.rules import Definition, outcomes
from outcome_pricing.warehouse import build_sql
from outcome_pricing.warehouse.handle import Warehouse
from outcome_pricing.warehouse.schema import DERIVED_COLUMNS, TASK_COLUMN_NAMES, TASK_COLUMNS

SPARK_ROWS = 10_000_000
CORES = os.cpu_count() or 1
NARROW = "task_id, account_id, requester_id, topic, created_at, closed_at"


def _seconds(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def duckdb_figures(n: int, path: Path | None = None) -> dict[str, float]:
    """Build, definition change and backtest on the n-task demo (`path`, else the shared
    benchmark warehouse of n tasks; read-only: temp tables)."""
    wh = Warehouse.open(path or ensure_bench_db(n), read_only=True)
    figures: dict[str, float] = {}
    try:
        with wh.cursor() as cur:
            figures["baseline scan"] = statistics.median(
                _seconds(lambda: cur.execute("SELECT account_id, month, count(*) FROM tasks GROUP BY ALL").fetchall())
                for _ in range(3))

            def derive() -> None:  # what an ingest into an empty warehouse runs (derive.py)
                cur.execute(f"CREATE OR REPLACE TEMP VIEW _gap_input AS SELECT {NARROW}, true AS _new FROM tasks")
                cur.execute(f"CREATE OR REPLACE TEMP TABLE _new_gaps AS {build_sql.NEW_GAPS_SQL}")
                cols = ", ".join(TASK_COLUMN_NAMES)
                cur.execute(f"CREATE OR REPLACE TEMP VIEW _derive_staged AS SELECT {cols} FROM tasks")
                cur.execute(f"CREATE OR REPLACE TEMP TABLE _bench_derived AS {build_sql.WITH_DERIVED_SQL}")

            figures["build: month + gap"] = _seconds(derive)
            figures["build: cube rows"] = _seconds(
                lambda: cur.execute(f"CREATE OR REPLACE TEMP TABLE _cube_rows AS {build_sql.CUBE_ROWS_SQL}"))
            for table in ("_bench_derived", "_new_gaps", "_cube_rows"):
                cur.execute(f"DROP TABLE {table}")
        figures["build"] = figures["build: month + gap"] + figures["build: cube rows"]
        d = Definition.preset("zendesk-ar")
        outcomes(wh, d)  # the first read of the cube is cached: a definition change after it
        figures["definition change"] = statistics.median(
            _seconds(partial(outcomes, wh, Definition.preset(name))) for name in Definition.presets())
        figures["backtest"] = _seconds(lambda: backtest(wh, example_plans(), d))
    finally:
        wh.close()
    return figures


def ensure_parquet(n: int) -> Path:
    """The n-task demo's tasks (contract columns) as one Parquet file, written once."""
    path = BENCH_DIR / f"tasks_{n // 1_000_000}m.parquet"
    source = ensure_bench_db(n)
    if path.exists() and path.stat().st_mtime >= source.stat().st_mtime:
        return path
    import pyarrow.parquet as pq

    wh = Warehouse.open(source, read_only=True)
    try:
        with wh.cursor() as cur:
            reader = cur.sql(f"SELECT {', '.join(TASK_COLUMN_NAMES)} FROM tasks").to_arrow_reader()
            tmp = path.with_suffix(".writing")
            with pq.ParquetWriter(tmp, reader.schema) as out:
                for batch in reader:
                    out.write_batch(batch)
    finally:
        wh.close()
    tmp.replace(path)
    return path


def spark_figures(n: int) -> dict[str, float]:
    """The whole Spark build (local[*]) of the n tasks into a fresh dataset."""
    from outcome_pricing.scale import spark
    from outcome_pricing.scale.session import MEMORY_ENV, spark_session

    source = ensure_parquet(n)
    os.environ.setdefault(MEMORY_ENV, "6g")
    figures = {"session start": _seconds(spark_session)}
    session = spark_session()
    dataset = BENCH_DIR / "spark_dataset"
    shutil.rmtree(dataset, ignore_errors=True)
    try:
        figures["build"] = _seconds(lambda: spark.build(session, str(source), dataset))
    finally:
        shutil.rmtree(dataset, ignore_errors=True)
    return figures


def cluster_figures(source: Path) -> tuple[int, dict[str, float]]:
    """Cluster mode against the full warehouse, both loaded from one dataset (module docstring)."""
    from outcome_pricing.pricing import statement
    from outcome_pricing.scale import load, spark
    from outcome_pricing.scale.ingest import seed_dataset

    work = source.with_name(source.stem + "-cluster-bench")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    with Warehouse.open(source, read_only=True) as demo:
        n = int(demo.scalar("SELECT count(*) FROM tasks"))
        seed_dataset(demo, work / "ds")
    shutil.copyfile(source, work / "full.duckdb")  # accounts, disputes, audits as in the demo
    shutil.copyfile(source, work / "cluster.duckdb")
    figures: dict[str, float] = {}
    with Warehouse.open(work / "full.duckdb") as wh:
        figures["baseline scan"] = statistics.median(_seconds(
            lambda: wh.query_df("SELECT account_id, month, count(*) FROM tasks GROUP BY ALL")) for _ in range(3))
        months = tuple(m.date() for m in wh.query_df("SELECT DISTINCT month FROM tasks")["month"])
        busiest = wh.query_df("SELECT account_id, strftime(month, '%Y-%m') AS m FROM tasks GROUP BY ALL "
                              "ORDER BY count(*) DESC LIMIT 1").iloc[0]
        with wh.transaction() as cur:
            cur.execute("DELETE FROM tasks")  # then loaded back whole, as a first Spark ingest does
    built = spark.SparkBuild(work / "ds", months, 0, 0)
    d, plans = Definition.preset("zendesk-ar"), example_plans()
    for mode in ("full", "cluster"):
        with Warehouse.open(work / f"{mode}.duckdb") as wh:
            figures[f"{mode}: load"] = _seconds(partial(load.load, wh, built, "bench", cluster_mode=mode == "cluster"))
            figures[f"{mode}: backtest"] = _seconds(partial(backtest, wh, plans, d))
            figures[f"{mode}: statement"] = _seconds(partial(
                statement, wh, plans, plans.default_proposed(), d, str(busiest["account_id"]), str(busiest["m"])))
            wh.scalar("CHECKPOINT")
            # Blocks in use, not the file's size: a file does not shrink after the DELETE above.
            used = wh.query_df("PRAGMA database_size").iloc[0]
            figures[f"{mode}: data MB"] = int(used["used_blocks"]) * int(used["block_size"]) / 1e6
    shutil.rmtree(work, ignore_errors=True)
    return n, figures


def _print(engine: str, n: int, figures: dict[str, float], baseline: float | None = None) -> None:
    for label, seconds in figures.items():
        ratio = f" ({seconds / baseline:7.1f}x the bare scan)" if baseline else ""
        print(f"  {engine:6s} {n:>12,} tasks  {label:22s} {seconds:8.2f} s{ratio}", flush=True)
        if label != "baseline scan":
            recorded.record(f"{engine}, {n:,} tasks: {label}", seconds, baseline,
                            "bare GROUP BY account_id, month" if baseline else "")


BIG_ROWS = 100_000_000
BIG_DB = BENCH_DIR / "demo_100m.duckdb"  # put in place by hand (bench_demo does not name 100M)


def _existing_bench_db(n: int, path: Path) -> Path | None:
    """The n-task demo warehouse at `path` if it is already in place (a 100M build takes an
    hour: never here)."""
    return path if _is_current(path, n) else None


def _ratio(what: str, seconds: float, baseline: float, baseline_what: str) -> None:
    print(f"  ratio {what}: {seconds / baseline:.2f}x", flush=True)
    recorded.record(f"ratio {what}", seconds, baseline, baseline_what)


def _per_core(engine: str, n: int, seconds: float) -> None:
    """Throughput per core (the README's cluster estimate starts from it), recorded as the
    seconds one core spends per million tasks, since figures are times."""
    print(f"  per-core throughput {engine} build at {n:,}: {n / seconds / CORES:,.0f} tasks/s/core", flush=True)
    recorded.record(f"{engine}, {n:,} tasks: build, core-seconds per 1M tasks", seconds * CORES / (n / 1e6))


def main() -> None:
    print(f"{CORES} cores; task columns: {len(TASK_COLUMNS) + len(DERIVED_COLUMNS)}; {recorded.load_text()}",
          flush=True)
    if "--cluster" in sys.argv:
        n, figures = cluster_figures(Path(sys.argv[sys.argv.index("--cluster") + 1]))
        sizes = {k: v for k, v in figures.items() if k.endswith(" MB")}
        _print("duckdb", n, {k: v for k, v in figures.items() if k not in sizes}, figures["baseline scan"])
        for label, mb in sizes.items():
            print(f"  {label}: {mb:,.1f}")
        for step in ("load", "backtest", "statement"):
            print(f"  ratio cluster/full {step}: {figures[f'cluster: {step}'] / figures[f'full: {step}']:.2f}x")
        return
    duck = duckdb_figures(SPARK_ROWS)
    _print("duckdb", SPARK_ROWS, duck, duck["baseline scan"])
    _per_core("duckdb", SPARK_ROWS, duck["build"])
    on_spark: dict[str, float] = {}
    try:
        if "--no-spark" not in sys.argv:
            on_spark = spark_figures(SPARK_ROWS)
    except Exception as exc:  # no Java or no scale extra: say so, keep the DuckDB figures
        print(f"  spark: not measured ({exc})")
    if on_spark:
        _print("spark", SPARK_ROWS, on_spark)
        _ratio(f"spark/duckdb build at {SPARK_ROWS:,}", on_spark["build"], duck["build"], "duckdb build")
        _per_core("spark", SPARK_ROWS, on_spark["build"])
    if "--big" in sys.argv:
        big_n = BIG_ROWS
        big_db = _existing_bench_db(big_n, BIG_DB)
        if big_db is None:
            print(f"  duckdb {big_n:,}: not measured ({BIG_DB} is missing or stale)")
            return
        print(f"  {recorded.load_text()}", flush=True)
        big = duckdb_figures(big_n, big_db)
        _print("duckdb", big_n, big, big["baseline scan"])
        for step in ("build", "definition change", "backtest"):
            _ratio(f"duckdb {step} 100M/10M", big[step], duck[step], f"duckdb {step} at 10M")
        _per_core("duckdb", big_n, big["build"])

if __name__ == "__main__":
    main()
