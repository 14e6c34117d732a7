"""The router's one line per script run (app/streamlit_app.py RUN_LOG) is what the cold-start
benchmark reads (benchmarks/bench_cold.py): the two stay in step."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from benchmarks import bench_cold

ROUTER = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"


def test_the_benchmark_reads_the_routers_run_lines(tmp_path: Path) -> None:
    fmt = re.search(r'RUN_LOG\.info\("([^"]+)"', ROUTER.read_text())
    assert fmt is not None
    lines = [logging.LogRecord("r", logging.INFO, "", 0, fmt.group(1), args, None).getMessage()
             for args in (("Overview", 1.25, 0.5, 1_700_000_000.5), ("Price lab", 0.125, 0.1, 1_700_000_002.0))]
    log = tmp_path / "app.log"
    log.write_text("Uvicorn server started\n" + "\n".join(lines) + "\n  Stopping...\n")
    assert bench_cold.timed_runs(log) == [(1_700_000_000.5, 1.25), (1_700_000_002.0, 0.125)]
    assert bench_cold.script_runs(log, skip=1) == [0.125]
    assert bench_cold.script_runs(tmp_path / "missing.log") == []


def test_the_benchmark_reads_the_warm_up_line() -> None:
    source = (ROUTER.parent / "results.py").read_text()
    fmt = re.search(r'RUN_LOG\.info\("([^"]+)"', source)
    assert fmt is not None
    line = logging.LogRecord("r", logging.INFO, "", 0, fmt.group(1), (2.125, 1_700_000_003.5), None).getMessage()
    found = bench_cold.WARM_LINE.search(f"noise\n{line}\n")
    assert found is not None
    assert (float(found["seconds"]), float(found["finished"])) == (2.125, 1_700_000_003.5)
