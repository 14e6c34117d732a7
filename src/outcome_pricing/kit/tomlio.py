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


MAX_DEPTH = 32  # tables and arrays inside each other; the deepest file we read (plans) uses 6


def parse(text: str, source: str) -> dict[str, Any]:
    """Parsed TOML, or ConfigError naming the source and the line of the syntax error.

    Arrays or tables nested deeper than MAX_DEPTH are refused with a message: the
    standard parser recurses per level, so a hostile 5,000-deep array would otherwise
    end in RecursionError, and nothing we read nests that deep.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}. Fix the syntax and try again.") from None
    except RecursionError:
        raise _too_deep(source) from None
    if _depth(data) > MAX_DEPTH:
        raise _too_deep(source)
    return data


def _too_deep(source: str) -> ConfigError:
    return ConfigError(
        f"{source}: arrays or tables are nested more than {MAX_DEPTH} levels deep; "
        "no file this tool reads needs that. Flatten the structure and try again."
    )


def _depth(value: Any) -> int:
    """How deeply tables and arrays nest (iterative: no recursion on hostile input)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            return level
        stack.extend((child, level + 1) for child in children)
    return deepest
