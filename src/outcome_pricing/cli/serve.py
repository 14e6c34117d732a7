"""`outcome-pricing app`: start the Streamlit front end on this machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from outcome_pricing.cli._common import Context, pass_context
from outcome_pricing.errors import OutcomePricingError

# The app lives beside src/ in the source checkout (installed with `pip install -e .`).
APP = Path(__file__).resolve().parents[3] / "app" / "streamlit_app.py"


@click.command("app")
@click.option("--port", default=8501, show_default=True, help="Port to serve on (loopback only).")
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. The default keeps the app (and your data) on this machine.",
)
@pass_context
def app_command(ctx: Context, port: int, address: str) -> None:
    """Start the app in your browser on the warehouse given by --db.

    On first start with no warehouse, the app builds the demo data (about
    300,000 tasks) and shows its progress.
    """
    if not APP.exists():
        raise OutcomePricingError(
            f"The app files were not found at {APP}. Install from a source checkout "
            f"with `pip install -e .` and run this command there."
        )
    env = dict(os.environ, OUTCOME_PRICING_DB=str(ctx.db_path.resolve()))
    click.echo(f"Outcome Pricing Lab on http://{address}:{port}  (warehouse: {ctx.db_path})")
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", address, "--server.port", str(port),
    ]
    sys.exit(subprocess.call(cmd, cwd=APP.parents[1], env=env))


def register(group: click.Group) -> None:
    group.add_command(app_command)
