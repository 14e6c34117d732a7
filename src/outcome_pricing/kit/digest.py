"""Version stamps: a canonical JSON form and the short sha256 of it.

Two values with the same content get the same stamp whatever their key order
or the way their decimals are written (0.99 and 0.990 hash alike).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

VERSION_CHARS = 10  # hex characters of a version stamp


def _json_number(value: object) -> str:
    """Decimals as exact normalized text, so 0.99 and 0.990 hash alike."""
    if isinstance(value, Decimal):
        text = f"{value.normalize():f}"
        return "0" if text == "-0" else text
    raise TypeError(f"cannot hash {value!r} into a version")


def canonical(data: Mapping[str, Any]) -> str:
    """Sorted keys, compact separators, Decimals as exact text: the form a version hashes."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=_json_number)


def digest(text: str) -> str:
    """`VERSION_CHARS` hex characters of the sha256 of ``text``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:VERSION_CHARS]
