"""Reading the TOML files people write (definitions, plans, mappings, roles).

One place turns a missing file, a bad encoding or a TOML syntax error into a
ConfigError that names the file (or the upload) and says what to fix.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from outcome_pricing.errors import ConfigError


def read_text(path: str | Path, what: str) -> str:
    """The file's text, or ConfigError naming `what` ("the plans file") and the path."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Cannot read {what} {p}: it is not UTF-8 text ({exc.reason}).") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {what} {p}: {exc.strerror or exc}.") from None


def parse(text: str, source: str) -> dict[str, Any]:
    """Parsed TOML, or ConfigError naming the source and the line of the syntax error."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}. Fix the syntax and try again.") from None
