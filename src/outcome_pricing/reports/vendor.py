"""Who sends a report: the vendor's name and contact, from a settings file.

The file is TOML, ``data/vendor.toml`` by default or the path in
``$OUTCOME_PRICING_VENDOR``::

    [vendor]
    name = "Acme AI Support"
    contact = "Jane Doe, Account Executive"
    email = "jane.doe@acme.example"
    phone = "+1 555 0100"
    website = "https://acme.example"

Only ``name`` is required. Without a file the report says how to set one (a
report with no sender cannot be sent); a file that is there but wrong is
refused with a message naming the file and the key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit import tomlio

VENDOR_ENV = "OUTCOME_PRICING_VENDOR"
DEFAULT_VENDOR_FILE = Path("data") / "vendor.toml"
FIELDS = ("name", "contact", "email", "phone", "website")
MAX_CHARS = 200


@dataclass(frozen=True)
class Vendor:
    """The sender of a report (every field is user text: escape when shown)."""

    name: str
    contact: str = ""
    email: str = ""
    phone: str = ""
    website: str = ""
    configured: bool = True  # False: the placeholder used when there is no vendor file

    def contact_line(self) -> str:
        """'Jane Doe, Account Executive · jane.doe@acme.example · +1 555 0100 · acme.example'."""
        return " · ".join(x for x in (self.contact, self.email, self.phone, self.website) if x)


def vendor_path() -> Path:
    """`OUTCOME_PRICING_VENDOR` if set, else data/vendor.toml."""
    return Path(os.environ.get(VENDOR_ENV) or DEFAULT_VENDOR_FILE)


def unset_vendor(path: Path) -> Vendor:
    return Vendor(
        name="Vendor not set",
        contact=f"add your company's name and contact to {path} ([vendor] name, contact, email) "
        f"or set {VENDOR_ENV}",
        configured=False,
    )


def parse_vendor(data: dict[str, Any], source: str) -> Vendor:
    table = data.get("vendor")
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: no [vendor] table; write [vendor] and name = \"Your company\".")
    unknown = sorted(set(table) - set(FIELDS))
    if unknown:
        raise ConfigError(f"{source}: unknown key '{unknown[0]}' in [vendor]; known: {', '.join(FIELDS)}.")
    values: dict[str, str] = {}
    for key in FIELDS:
        value = table.get(key, "")
        if not isinstance(value, str):
            raise ConfigError(f"{source}: [vendor] {key} must be text; got {value!r}.")
        value = " ".join(value.split())  # one line: no line breaks in a header
        if len(value) > MAX_CHARS:
            raise ConfigError(f"{source}: [vendor] {key} is longer than {MAX_CHARS} characters.")
        values[key] = value
    if not values["name"]:
        raise ConfigError(f"{source}: [vendor] name is required (the company that sends the report).")
    return Vendor(values["name"], values["contact"], values["email"], values["phone"], values["website"])


def load_vendor(path: str | Path | None = None) -> Vendor:
    """The vendor of ``path`` (default: vendor_path()); the placeholder when no file is there."""
    p = Path(path) if path is not None else vendor_path()
    if not p.exists():
        if path is not None:
            raise ConfigError(f"No vendor file at {p}. Create it (see the README, 'Vendor on reports').")
        return unset_vendor(p)
    return parse_vendor(tomlio.parse(tomlio.read_text(p, "the vendor file"), str(p)), str(p))
