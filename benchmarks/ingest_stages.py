"""Where one ingest's time goes, next to the two halves of the bare load it is measured against.

`python -m benchmarks.ingest_stages` (also run by `benchmarks.bench_ingest`): one
ingest of the 1M-row CSV into a fresh warehouse with every statement timed (wall and
process CPU seconds), grouped into the pipeline's stages; then, in the same run, the bare
load split into its halves: `read_csv` into a temporary table (parsing) and that table
copied into a table of a fresh file (writing). The floor printed at the end is what an
ingest costs that does the bare load's work plus the derived facts the warehouse keeps
(month and reopen gaps, the definition cube), with no checks at all: the figure the
ingest budget is to be read against.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb

from outcome_pricing.ingest import ingest_files
from outcome_pricing.warehouse.handle import Warehouse

# Each statement's stage: the first whose patterns its text contains (in this order).
STAGES = (
    ("parse into the staging table", ("CREATE TEMP TABLE _stage_",)),
    ("the rules (one scan)", ("FROM _stage_tasks WHERE",)),
    ("insert: write, month, reopen gaps", ("INSERT INTO tasks",)),
    ("definition cube and usage facts", ("_cube", "usage_facts")),  # definition_cube* and _cube_rows
)
OTHER = "other statements"


def cpu_seconds() -> float:
    """CPU time of this process: every DuckDB worker thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Timed:
    """A cursor whose every execute is timed into `spent` (stage -> [wall, cpu])."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, spent: dict[str, list[float]]) -> None:
        self._cur, self._spent = cur, spent

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> _Timed:
        wall, cpu = time.perf_counter(), cpu_seconds()
        self._cur.execute(sql, *args, **kwargs)
        stage = next((name for name, patterns in STAGES if any(x in sql for x in patterns)), OTHER)
        totals = self._spent.setdefault(stage, [0.0, 0.0])
        totals[0] += time.perf_counter() - wall
        totals[1] += cpu_seconds() - cpu
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)


def ingest_stages(csv: Path, folder: Path) -> tuple[dict[str, list[float]], float]:
    """Seconds (wall, CPU) per stage of one ingest into a fresh warehouse, and its whole wall time."""
    spent: dict[str, list[float]] = {}
    plain = Warehouse.transaction

    @contextmanager
    def timed(self: Warehouse) -> Iterator[Any]:
        with plain(self) as cur:
            yield _Timed(cur, spent)

    wh = Warehouse.open(folder / "ours.duckdb")
    started = time.perf_counter()
    try:
        with mock.patch.object(Warehouse, "transaction", timed):
            ingest_files(wh, tasks=csv)
    finally:
        wh.close()
    return spent, time.perf_counter() - started


def bare_halves(csv: Path, folder: Path) -> tuple[float, float]:
    """The bare load's halves: read_csv into a temporary table, then that table into a file's table."""
    con = duckdb.connect(str(folder / "bare.duckdb"))
    try:
        started = time.perf_counter()
        con.execute("CREATE TEMP TABLE parsed AS SELECT * FROM read_csv(?)", [str(csv)])
        parsed = time.perf_counter()
        con.execute("CREATE TABLE t AS SELECT * FROM parsed")
        written = time.perf_counter()
    finally:
        con.close()
    return parsed - started, written - parsed


def report(csv: Path) -> None:
    with tempfile.TemporaryDirectory(dir=csv.parent) as tmp:
        parse_s, write_s = bare_halves(csv, Path(tmp))
    with tempfile.TemporaryDirectory(dir=csv.parent) as tmp:
        spent, whole = ingest_stages(csv, Path(tmp))
    print(f"  one ingest, by stage (wall / CPU seconds; whole ingest {whole:.2f} s wall):")
    for stage, (wall, cpu) in sorted(spent.items(), key=lambda kv: -kv[1][0]):
        print(f"    {stage:<36} {wall:6.2f} s / {cpu:5.2f} s")
    print(f"    {'the commit, hashing, Python':<36} {whole - sum(w for w, _ in spent.values()):6.2f} s")
    print(f"  the bare load's halves: parse (read_csv into a temp table) {parse_s:.2f} s, "
          f"write (that table into a file) {write_s:.2f} s")
    derive = spent.get("insert: write, month, reopen gaps", [0.0])[0] - write_s
    cube_s = spent.get("definition cube and usage facts", [0.0])[0]
    floor = parse_s + write_s + max(derive, 0.0) + cube_s
    print(f"  floor with no checks: the bare halves + month and reopen gaps (the insert beyond a "
          f"bare write, {derive:.2f} s) + the cube ({cube_s:.2f} s) = {floor:.2f} s, "
          f"{floor / (parse_s + write_s):.2f}x the bare halves")


def main() -> None:
    from benchmarks.bench_ingest import ensure_csv

    report(ensure_csv())


if __name__ == "__main__":
    main()
