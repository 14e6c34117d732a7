"""100M tasks on this machine: `python -m benchmarks.bench_big [--db PATH] [--rebuild] [--no-pages] [--no-ingest]
[--no-engines]`.

Issue 20 item 3 (and issue 19 item 5's DuckDB figures at 100M). Builds, or reuses,
the default demo of 100M tasks in /tmp/bench/demo_100m.duckdb (or --db), then
measures, each figure next to a baseline measured on the same data in this run:

- demo build of 100M tasks (generate, month and reopen gap, cube), against a bare
  DuckDB copy of the same finished rows into another file; split into the
  definition-independent build's parts (month + gap, cube);
- a definition change (outcomes by account x month, every preset after the first
  read) and a backtest of 7 example plans (cold, then warm), against a bare
  `GROUP BY account_id, month` scan of the same tasks;
- the engine calls behind the Proof, Invoices and AI impact pages, each once, in the
  order a first visit makes them (`ENGINE_CALLS`), against the bare scan, with the
  step's peak memory after each call; then the AI impact calls alone in a fresh
  process, so their peak memory is their own;
- page-ready times in Chromium (tests.e2e.screenshots: first visit, then the worst
  later visit of every page), served from the 100M warehouse;
- ingest of 10M more tasks (new task_ids, same accounts, requesters and topics, so
  older tasks' reopen gaps change) from CSV into a copy of the 100M warehouse,
  against a bare `CREATE TABLE AS SELECT * FROM read_csv` of the same file;
- the peak memory (maximum resident set) of every step, each run in its own
  process, and of the app server; the budget is 16 GB.

A build takes tens of minutes on 2 shared cores: its figures are written next to
the warehouse (`.build.json`) and shown again, marked as such, when it is reused.
Needs ~25 GB of free disk under /tmp/bench while the ingest copy exists.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import figures
from benchmarks.bench_demo import BENCH_DIR, ensure_bench_db

BIG_TASKS = 100_000_000
MORE_TASKS = 10_000_000
DEFAULT_DB = BENCH_DIR / "demo_100m.duckdb"
MEMORY_BUDGET_BYTES = 16 * 10**9
BARE_SQL = "SELECT account_id, month, count(*) FROM tasks GROUP BY account_id, month"
PLANS = 7
DEFINITION = "intercom-fin-2026"
BUDGET_SECONDS = {"definition change": None, "backtest": 2.0}


def _seconds(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


# ------------------------------------------------------------------ steps (each in its own process)
def step_build(db: str, tasks: str) -> dict[str, float]:
    """The demo build, with the definition-independent build's parts timed inside it."""
    from outcome_pricing.demo import build_demo
    from outcome_pricing.warehouse import cube, derive
    from outcome_pricing.warehouse.handle import Warehouse

    parts: dict[str, float] = {}

    def timed(module: Any, name: str, label: str) -> None:
        inner = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                parts[label] = parts.get(label, 0.0) + time.perf_counter() - started

        setattr(module, name, wrapper)

    timed(derive, "upsert_tasks", "month + gap")
    timed(cube, "rebuild", "cube")
    marks: dict[str, float] = {}
    started = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        if message.startswith("storing"):
            marks["generate"] = time.perf_counter() - started

    Path(db).unlink(missing_ok=True)
    with Warehouse.open(Path(db)) as wh:
        build_demo(wh, tasks=int(tasks), progress=progress)
    return {"total": time.perf_counter() - started, "generate": marks.get("generate", 0.0), **parts}


def step_bare_copy(db: str) -> dict[str, float]:
    from benchmarks.bench_demo import _bare_copy_seconds

    return {"seconds": _bare_copy_seconds(Path(db))}


def step_queries(db: str) -> dict[str, float]:
    """Bare scan, definition change and a 7-plan backtest, read-only."""
    from outcome_pricing.pricing import PlanSet, backtest, example_plans
    from outcome_pricing.rules import Definition, outcomes
    from outcome_pricing.warehouse.handle import Warehouse

    examples = example_plans()
    planset = PlanSet(examples.plans[:PLANS], examples.costs)
    d = Definition.preset(DEFINITION)
    with Warehouse.open(Path(db), read_only=True) as wh:
        out: dict[str, float] = {"tasks": float(wh.scalar("SELECT count(*) FROM tasks"))}
        wh.query_df(BARE_SQL)  # first touch of the file
        out["bare scan"] = statistics.median(_seconds(lambda: wh.query_df(BARE_SQL)) for _ in range(3))
        out["first outcomes"] = _seconds(lambda: outcomes(wh, d))  # reads the cube into memory
        def change(name: str) -> None:
            outcomes(wh, Definition.preset(name))

        out["definition change"] = statistics.median(
            _seconds(lambda name=name: change(name)) for name in Definition.presets())  # type: ignore[misc]
        out["backtest cold"] = _seconds(lambda: backtest(wh, planset, d))
        out["backtest warm"] = statistics.median(_seconds(lambda: backtest(wh, planset, d)) for _ in range(3))
    return out


def _engine_calls(wh: Any) -> dict[str, Callable[[], Any]]:
    """What a first visit of Proof, Invoices and AI impact asks the engine (scenario defaults)."""
    from outcome_pricing import pricing
    from outcome_pricing.pricing import PlanSet
    from outcome_pricing.pricing import invoices as inv
    from outcome_pricing.proof import audit, impact
    from outcome_pricing.rules import Definition

    d = Definition.preset(DEFINITION)
    everything = audit.Selection.of(None, ())
    planset = PlanSet.from_toml_text(pricing.example_plans_text())
    plan = inv.rateable_plans(planset)[0]
    others = [o for o in Definition.presets().values() if o.version != d.version]
    return {
        "Proof: trend": lambda: audit.trend(wh, d, everything),
        "Proof: estimate": lambda: audit.estimate(wh, d, everything),
        "Proof: by account": lambda: audit.by_account(wh, d, everything),
        "Proof: judge": lambda: audit.judge(wh, d, everything),
        "Proof: sample of 50": lambda: audit.draw_sample(wh, d, 50, "simple", 0, everything),
        "Invoices: invoices": lambda: inv.invoices(wh, planset, d, plan=plan),
        "Invoices: by definition": lambda: inv.rates_by_definition(wh, planset, [d, *others], plan),
        "AI impact: accounts": lambda: impact.go_live_months(wh),  # the account picker's list
        "AI impact: summary": lambda: impact.impact_summary(wh, None),
        "AI impact: by topic": lambda: impact.impact_by(wh, "topic", None),
        "AI impact: trend": lambda: impact.trend_by_go_live(wh, None),
        "AI impact: by account": lambda: impact.impact_by(wh, "account_id", None),
    }


def step_engines(db: str) -> dict[str, float]:
    """Each engine call behind Proof, Invoices and AI impact once, and the peak memory after it."""
    import resource

    from outcome_pricing.warehouse.handle import Warehouse

    out: dict[str, float] = {}
    with Warehouse.open(Path(db), read_only=True) as wh:
        for name, call in _engine_calls(wh).items():
            out[f"{name}|seconds"] = _seconds(call)
            out[f"{name}|peak"] = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
            print(f"{name}: {out[f'{name}|seconds']:.2f} s, peak {_gb(out[f'{name}|peak'])}", flush=True)
    return out


def step_impact(db: str) -> dict[str, float]:
    """The AI impact calls alone in a fresh process: their seconds, and the peak memory
    they take themselves (in `engines` the peak after them includes the earlier calls')."""
    from outcome_pricing.warehouse.handle import Warehouse

    with Warehouse.open(Path(db), read_only=True) as wh:
        calls = {k: v for k, v in _engine_calls(wh).items() if k.startswith("AI impact")}
        return {name: _seconds(call) for name, call in calls.items()}


def step_more_csv(csv: str) -> dict[str, float]:
    """10M new tasks as a CSV: the 10M demo's rows under new task_ids (same requesters and topics)."""
    import duckdb

    from outcome_pricing.warehouse.schema import TASK_COLUMN_NAMES

    source = ensure_bench_db(MORE_TASKS)
    cols = ", ".join("'N' || task_id AS task_id" if c == "task_id" else c for c in TASK_COLUMN_NAMES)
    tmp = Path(csv).with_suffix(".writing")
    con = duckdb.connect(str(source), read_only=True)
    try:  # fixed schema names; the paths are our own
        con.execute(f"COPY (SELECT {cols} FROM tasks) TO '{tmp}' (HEADER, DELIMITER ',')")
    finally:
        con.close()
    tmp.replace(csv)
    return {"bytes": float(Path(csv).stat().st_size)}


def step_bare_csv(csv: str) -> dict[str, float]:
    import duckdb

    with tempfile.TemporaryDirectory(dir=BENCH_DIR) as tmp:
        started = time.perf_counter()
        con = duckdb.connect(str(Path(tmp) / "bare.duckdb"))
        try:
            con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [csv])
        finally:
            con.close()
        return {"seconds": time.perf_counter() - started}


def step_ingest(db: str, csv: str) -> dict[str, float]:
    from outcome_pricing.ingest import ingest_files
    from outcome_pricing.warehouse.handle import Warehouse

    wh = Warehouse.open(Path(db))
    try:
        started = time.perf_counter()
        result = ingest_files(wh, tasks=Path(csv))
        seconds = time.perf_counter() - started
        total = float(wh.scalar("SELECT count(*) FROM tasks"))
    finally:
        wh.close()
    return {"seconds": seconds, "inserted": float(result.rows_inserted), "tasks after": total}


def step_pages(db: str) -> dict[str, float]:
    """Page-ready times in Chromium, and the app server's peak memory."""
    from tests.e2e.screenshots import measure
    from tests.e2e.server import streamlit_server

    with tempfile.TemporaryDirectory() as out, streamlit_server(Path(db), timeout=900) as url:
        times = measure(url, Path(out), rounds=2, dark=False, shots=False)
        server_peak = _server_peak_bytes()
    result = {"server peak bytes": float(server_peak)}
    for title, values in times.items():
        result[f"{title}|first"] = values[0]
        if len(values) > 1:
            result[f"{title}|later"] = max(values[1:])
    return result


def _server_peak_bytes() -> int:
    """VmHWM (peak resident set) of the streamlit server this process started."""
    me = str(os.getpid())
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            cmdline = (status.parent / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == me and "streamlit" in cmdline:
            return int(fields["VmHWM"].split()[0]) * 1024
    return 0


STEPS: dict[str, Callable[..., dict[str, float]]] = {
    "build": step_build, "bare-copy": step_bare_copy, "queries": step_queries, "more-csv": step_more_csv,
    "bare-csv": step_bare_csv, "ingest": step_ingest, "pages": step_pages, "engines": step_engines,
    "impact": step_impact,
}


def run_step(name: str, *args: str) -> tuple[dict[str, float], int]:
    """Run one step in a fresh process; its result and its peak resident memory in bytes."""
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.bench_big", "--step", name, *args],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        if line.startswith("RESULT "):
            lines.append(line)
        else:
            print("    " + line.rstrip(), flush=True)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"step {name} failed (exit {proc.returncode})")
    return json.loads(lines[-1][len("RESULT "):]), usage.ru_maxrss * 1024


# ------------------------------------------------------------------ the run
def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def _memory_line(label: str, peak: int) -> None:
    verdict = "within" if peak <= MEMORY_BUDGET_BYTES else "OVER"
    print(f"  peak memory, {label}: {_gb(peak)} ({verdict} budget {_gb(MEMORY_BUDGET_BYTES)})", flush=True)


def _figure(what: str, seconds: float, baseline: float, baseline_what: str, **budget: float | None) -> None:
    f = figures.record(what, seconds, baseline, baseline_what, **budget)
    ratio = f"{f.ratio:.3f}x" if f.ratio is not None else "-"
    within = {True: " within budget", False: " OVER budget", None: ""}[f.within]
    print(f"  {what}: {seconds:.3f} s; {baseline_what} {baseline:.3f} s; ratio {ratio}{within}", flush=True)


def ensure_build(db: Path, rebuild: bool) -> dict[str, Any]:
    """The build's figures: measured now, or read back from the last build of this warehouse."""
    from outcome_pricing import demo

    sidecar = db.with_suffix(".build.json")
    source = demo.DemoSpec(tasks=BIG_TASKS, accounts=demo.default_accounts(BIG_TASKS)).source
    if not rebuild and sidecar.exists() and db.exists():
        recorded: dict[str, Any] = json.loads(sidecar.read_text())
        if recorded.get("source") == source:
            recorded["reused"] = True
            return recorded
    db.parent.mkdir(parents=True, exist_ok=True)
    print(f"building {BIG_TASKS:,} demo tasks into {db} ({figures.load_text()}) ...", flush=True)
    build, peak = run_step("build", str(db), str(BIG_TASKS))
    load_during = figures.load_text()
    copy, copy_peak = run_step("bare-copy", str(db))
    recorded = {"source": source, "build": build, "peak": peak, "bare copy": copy["seconds"],
                "bare copy peak": copy_peak, "load": load_during, "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "bytes": db.stat().st_size}
    sidecar.write_text(json.dumps(recorded, indent=1))
    return recorded


def report_build(b: dict[str, Any]) -> None:
    when = f" (measured when built, {b['when']}; {b['load']})" if b.get("reused") else f" ({b['load']})"
    build = b["build"]
    print(f"demo build, {BIG_TASKS:,} tasks, file {_gb(b['bytes'])}{when}:")
    if b.get("bare copy") is None:  # a build measured outside this script (the sidecar says so)
        print(f"  demo build, {BIG_TASKS // 10**6}M tasks: {build['total']:.1f} s; bare copy not measured", flush=True)
        figures.record(f"demo build, {BIG_TASKS // 10**6}M tasks", build["total"])
    else:
        _figure(f"demo build, {BIG_TASKS // 10**6}M tasks", build["total"], b["bare copy"], "bare copy of the same rows")
    for part in ("generate", "month + gap", "cube"):
        print(f"    of which {part}: {build.get(part, 0.0):.1f} s", flush=True)
    _memory_line("demo build", b["peak"])


def report_queries(db: Path) -> float:
    q, peak = run_step("queries", str(db))
    print(f"definition change and backtest, {q['tasks']:,.0f} tasks ({figures.load_text()}):")
    bare = q["bare scan"]
    print(f"  bare GROUP BY account_id, month scan: {bare:.3f} s (baseline); first outcomes {q['first outcomes']:.3f} s")
    _figure("definition change, outcomes by account x month", q["definition change"], bare, "bare scan",
            budget_ratio=0.25)
    _figure(f"backtest of {PLANS} plans, cold", q["backtest cold"], bare, "bare scan", budget_seconds=2.0)
    _figure(f"backtest of {PLANS} plans, warm", q["backtest warm"], bare, "bare scan", budget_seconds=2.0)
    _memory_line("queries", peak)
    return bare


def report_pages(db: Path, bare: float) -> None:
    p, peak = run_step("pages", str(db))
    print(f"page-ready times, {BIG_TASKS // 10**6}M tasks ({figures.load_text()}):")
    for key, seconds in p.items():
        if "|" not in key:
            continue
        title, which = key.split("|")
        if which == "later":
            _figure(f"page ready after first visit: {title}", seconds, bare, "bare scan", budget_seconds=1.0)
        else:
            print(f"  {title}: first visit {seconds:.2f} s", flush=True)
    _memory_line("app server", int(p["server peak bytes"]))
    _memory_line("browser driver", peak)


def report_engines(db: Path, bare: float) -> None:
    e, peak = run_step("engines", str(db))
    print(f"engine calls behind Proof, Invoices and AI impact, {BIG_TASKS // 10**6}M tasks ({figures.load_text()}):")
    for key, seconds in e.items():
        if key.endswith("|seconds"):
            name = key.removesuffix("|seconds")
            _figure(f"engine {name}", seconds, bare, "bare scan")
            print(f"    peak memory after it: {_gb(e[f'{name}|peak'])}", flush=True)
    _memory_line("engine calls", peak)


def report_impact(db: Path, bare: float) -> None:
    got, peak = run_step("impact", str(db))
    print(f"AI impact calls on their own, {BIG_TASKS // 10**6}M tasks ({figures.load_text()}):")
    for name, seconds in got.items():
        _figure(f"engine {name}, own process", seconds, bare, "bare scan")
    _memory_line("AI impact calls", peak)


def report_ingest(db: Path) -> None:
    csv = BENCH_DIR / "tasks_10m_more.csv"
    if not csv.exists():
        run_step("more-csv", str(csv))
    bare, _ = run_step("bare-csv", str(csv))
    copy = BENCH_DIR / "demo_100m_ingest.duckdb"
    try:
        shutil.copyfile(db, copy)
        got, peak = run_step("ingest", str(copy), str(csv))
    finally:
        copy.unlink(missing_ok=True)
        shutil.rmtree(copy.with_suffix(".duckdb.tmp"), ignore_errors=True)
    print(f"ingest of {got['inserted']:,.0f} more tasks ({csv.stat().st_size / 2**30:.1f} GiB CSV) into "
          f"{BIG_TASKS:,} ({got['tasks after']:,.0f} after; {figures.load_text()}):")
    _figure(f"ingest {MORE_TASKS // 10**6}M more CSV rows into {BIG_TASKS // 10**6}M", got["seconds"],
            bare["seconds"], "bare read_csv -> CREATE TABLE")
    _memory_line("ingest", peak)


def main() -> None:
    if "--step" in sys.argv:  # a child process: one step, its result as the last line
        at = sys.argv.index("--step")
        result = STEPS[sys.argv[at + 1]](*sys.argv[at + 2:])
        print("RESULT " + json.dumps(result), flush=True)
        return
    args = sys.argv[1:]
    db = Path(args[args.index("--db") + 1]) if "--db" in args else DEFAULT_DB
    build = ensure_build(db, rebuild="--rebuild" in args)
    report_build(build)
    bare = report_queries(db)
    if "--no-engines" not in args:
        report_engines(db, bare)
        report_impact(db, bare)
    if "--no-ingest" not in args:
        report_ingest(db)
    if "--no-pages" not in args:
        report_pages(db, bare)


if __name__ == "__main__":
    main()
