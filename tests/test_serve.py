"""`outcome-pricing app` owns its Streamlit server (issue 13): SIGTERM or SIGINT to the
launcher stops the server, which then holds no port and no lock on the warehouse."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from outcome_pricing.warehouse.connection import LOCK_TIMEOUT_ENV
from outcome_pricing.warehouse.handle import Warehouse
from tests.e2e.server import free_port
from tests.holder import env_with_src

CLI = [sys.executable, "-c", "from outcome_pricing.cli import main; main()"]


def children(pid: int) -> list[int]:
    """Direct children of a process (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(c) for c in text]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_healthy(url: str, launcher: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert launcher.poll() is None, launcher.stdout.read() if launcher.stdout else ""
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("the app did not start")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stopping_the_launcher_stops_its_server(
    tmp_path: Path, sig: signal.Signals, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "wh.duckdb"
    Warehouse.open(db).close()
    port = free_port()
    launcher = subprocess.Popen(
        [*CLI, "--db", str(db), "app", "--port", str(port)], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
        env=env_with_src(OUTCOME_PRICING_NO_DEMO="1"),
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", launcher)
        servers = children(launcher.pid)
        assert servers, "the launcher has no server child"
        launcher.send_signal(sig)
        launcher.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(alive(s) for s in servers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(s) for s in servers), "the Streamlit server outlived its launcher"
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "0")
    Warehouse.open(db).close()  # nothing holds the file any more: no wait needed
