"""A wheel works anywhere: built from the project, installed (not editable) in a fresh
venv, run from a directory outside the checkout, it finds its packaged example plans,
builds the demo and runs a backtest without --plans (issue 12, item 7)."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest

from outcome_pricing.pricing import example_plans

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# What a wheel is built from; copied so the build leaves nothing in the checkout.
SOURCES = ("pyproject.toml", "README.md", "src")


def _run(cmd: list[str | Path], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OUTCOME_PRICING_DB")}
    result = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _can_build_in_place() -> bool:
    """The installed setuptools can build this pyproject (SPDX license string) without isolation."""
    try:
        return int(metadata.version("setuptools").split(".")[0]) >= 77
    except metadata.PackageNotFoundError:
        return False


def _build_wheel(work: Path) -> Path:
    source = work / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    out = work / "dist"
    isolation = ["--no-build-isolation"] if _can_build_in_place() else []
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", out, source], cwd=work)
    (wheel,) = out.glob("outcome_pricing-*.whl")
    return wheel


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with its own outcome-pricing that borrows the test run's dependencies.

    Not `--system-site-packages`: run from inside a venv (the README's way), that would
    see the base interpreter's packages, not this environment's. A path file lists this
    environment's site-packages after the venv's own, so the venv's copy wins and the
    editable install's hook (a .pth of its own, not processed from a listed path) stays out.
    """
    work = tmp_path_factory.mktemp("wheel")
    wheel = _build_wheel(work)
    env_dir = work / "venv"
    _run([sys.executable, "-m", "venv", env_dir], cwd=work)
    python = env_dir / "bin" / "python"
    own = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=work)
    borrowed = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"]])
    Path(own.stdout.strip(), "borrowed_dependencies.pth").write_text("\n".join(borrowed) + "\n")
    # --force-reinstall: the editable install outside the venv must not count as "already satisfied".
    _run([python, "-m", "pip", "install", "--no-deps", "--force-reinstall", wheel], cwd=work)
    return env_dir


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory with no checkout in it (and none above it)."""
    return tmp_path_factory.mktemp("elsewhere")


class TestInstalledWheel:
    def test_the_venv_imports_its_own_copy_not_the_checkout(self, venv: Path, elsewhere: Path) -> None:
        code = "import outcome_pricing.pricing as p; print(p.__file__); print(p.EXAMPLE_PLANS)"
        lines = _run([venv / "bin" / "python", "-c", code], cwd=elsewhere).stdout.splitlines()
        module, plans = (Path(line).resolve() for line in lines)
        assert module.is_relative_to(venv.resolve())
        assert plans.is_relative_to(venv.resolve()) and plans.is_file()
        assert not module.is_relative_to(ROOT)

    def test_demo_then_backtest_on_the_packaged_plans(self, venv: Path, elsewhere: Path) -> None:
        cli, db = venv / "bin" / "outcome-pricing", elsewhere / "wheel.duckdb"
        demo = _run([cli, "--db", db, "demo", "--tasks", "2000", "--accounts", "6", "--months", "6"], elsewhere)
        assert "2,000 tasks" in demo.stdout
        result = _run([cli, "--db", db, "backtest", "--definition", "zendesk-ar", "--format", "json"], elsewhere)
        rows = json.loads(result.stdout)
        names = example_plans().names
        assert {r["plan"] for r in rows} == set(names)
        by_plan = {name: sum(r["revenue"] for r in rows if r["plan"] == name) for name in names}
        assert all(revenue > 0 for revenue in by_plan.values()), by_plan
        assert sum(r["outcomes"] for r in rows) > 0
        assert all(isinstance(r["margin"], float) for r in rows)
