"""The app's own modules (app/*.py) in a test, imported as Streamlit imports them: by bare
name, with app/ on sys.path (the screens are not a package)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

APP_DIR = Path(__file__).resolve().parents[1] / "app"


def app_module(name: str) -> ModuleType:
    """`app/<name>.py`, e.g. app_module("roi_link")."""
    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    return importlib.import_module(name)
