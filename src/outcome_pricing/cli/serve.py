"""`outcome-pricing app`: start the Streamlit front end on this machine.

The launcher owns its Streamlit server: SIGTERM, SIGINT or SIGHUP to the launcher stops
the server first (the server would otherwise keep running and keep the warehouse file
open), and on Linux the server is also told to stop if the launcher dies outright.
`--as-user` serves the app as that person (role and scope from the roles file), checked
here first so an unknown or empty identity is refused before anything starts.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import FrameType

import click

from outcome_pricing.access import USER_ENV
from outcome_pricing.cli._common import Context, pass_context
from outcome_pricing.errors import OutcomePricingError

# The app lives beside src/ in the source checkout (installed with `pip install -e .`).
APP = Path(__file__).resolve().parents[3] / "app" / "streamlit_app.py"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
STOP_GRACE_SECONDS = 10  # the server's own shutdown; then it is killed
POLL_SECONDS = 0.25
_PR_SET_PDEATHSIG = 1


@click.command("app")
@click.option("--port", default=8501, show_default=True, help="Port to serve on (at --address).")
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. The default, 127.0.0.1, serves this machine only; 0.0.0.0 or a "
    "network address serves anyone who can reach it, so configure a login first (README, Security).",
)
@pass_context
def app_command(ctx: Context, port: int, address: str) -> None:
    """Start the app in your browser on the warehouse given by --db.

    On first start with no warehouse, the app builds the demo data (about
    300,000 tasks) and shows its progress. With --as-user EMAIL the app is served
    as that person from the roles file (their role's pages; a sales user sees only
    their accounts) instead of single-user admin mode. Stopping this command
    (Ctrl-C, SIGTERM) stops the server.
    """
    if not APP.exists():
        raise OutcomePricingError(
            f"The app files were not found at {APP}. Install from a source checkout "
            f"with `pip install -e .` and run this command there."
        )
    env = dict(os.environ, OUTCOME_PRICING_DB=str(ctx.db_path.resolve()))
    person = ctx.principal()  # refuses an empty or unknown identity before anything starts
    if person is not None:
        env[USER_ENV] = person.email
    click.echo(f"Outcome Pricing Lab on http://{address}:{port}  (warehouse: {ctx.db_path})"
               + (f", as {person.describe()}" if person is not None else ""))
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", address, "--server.port", str(port), *WARM_FLAGS,
    ]
    local = "127.0.0.1" if address in ("0.0.0.0", "::", "") else address
    threading.Thread(target=warm_up, args=(f"http://{local}:{port}",), daemon=True).start()
    sys.exit(serve(cmd, cwd=APP.parents[1], env=env))


# Server start: Streamlit runs no app code until a session connects, so once the server
# answers, the launcher asks it to run the app's script once (Streamlit's script health
# check, a session of its own inside the server): the imports happen and the app warms
# the shared default Overview (app/results.py) before the first visitor arrives.
WARM_FLAGS = ("--server.scriptHealthCheckEnabled", "true")
WARM_TIMEOUT_SECONDS = 120.0


def warm_up(url: str, timeout: float = WARM_TIMEOUT_SECONDS) -> bool:
    """Wait until the server at `url` answers, then run the app's script once there.

    True when the script ran without an error; False on a timeout or an error (the app
    then warms at its first visitor instead: nothing else depends on this).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    try:
        left = max(deadline - time.monotonic(), 1.0)
        with urllib.request.urlopen(f"{url}/_stcore/script-health-check", timeout=left) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def serve(cmd: list[str], cwd: Path, env: dict[str, str]) -> int:
    """Run the server until it exits or the launcher is told to stop; return the exit code.

    The handler only sends SIGTERM: waiting inside it would deadlock on the wait the main
    loop is in. The loop polls, and kills a server still running STOP_GRACE_SECONDS later.
    """
    child = subprocess.Popen(cmd, cwd=cwd, env=env, preexec_fn=_die_with_parent)  # noqa: PLW1509
    asked: list[float] = []  # when a stop signal came

    def stop(signum: int, _frame: FrameType | None) -> None:
        asked.append(time.monotonic())
        stopped_by.append(signum)
        child.terminate()

    stopped_by: list[int] = []
    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        while True:
            try:
                code = child.wait(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                if asked and time.monotonic() - asked[0] > STOP_GRACE_SECONDS:
                    child.kill()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:  # the launcher itself failed: never leave the server behind
            child.kill()
            child.wait()
    return 128 + stopped_by[0] if stopped_by else code


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, get SIGTERM when the launcher dies (even by kill -9)."""
    # Best effort: where this fails, the launcher's signal handlers still stop the server.
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def register(group: click.Group) -> None:
    group.add_command(app_command)
