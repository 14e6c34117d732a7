"""Mapping files: how another tool's export maps onto our data contract.

A mapping is TOML (so it can sit in git next to the export job)::

    [file]
    delimiter = ","                        # one character; default "," ("\\t" for .tsv files)
    timestamp_format = "%d/%m/%Y %H:%M"    # strptime format of created_at / closed_at;
                                           # omit for ISO 8601 / "YYYY-MM-DD HH:MM:SS"

    [tasks.columns]                        # our column = their column header
    task_id = "Ticket ID"

    [tasks.values.ai_enabled]              # their value = our value (others pass through)
    "Bot on" = true

    [tasks.scale]                          # multiply their number by this factor
    human_seconds = 60                     # their minutes -> our seconds

    [tasks.constants]                      # a value for a column their export lacks
    channel = "email"

    [accounts.columns]                     # the same sections for the accounts file
    account_id = "Org ID"

Every key is checked against the contract (schema.py); a bad one is a
ConfigError naming the key and listing what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit import tomlio
from outcome_pricing.warehouse.schema import ACCOUNTS_BY_NAME, TASKS_BY_NAME, Column, Kind

TOP_LEVEL_KEYS = ("file", "tasks", "accounts")
FILE_KEYS = ("delimiter", "timestamp_format")
SECTION_KEYS = ("columns", "values", "scale", "constants")
NUMERIC_KINDS = (Kind.INT, Kind.NUMBER)


@dataclass(frozen=True)
class SectionMapping:
    """How one file (tasks or accounts) maps onto our columns."""

    columns: dict[str, str] = field(default_factory=dict)  # our column -> their header
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # our column -> their -> ours
    scale: dict[str, float] = field(default_factory=dict)  # our numeric column -> factor
    constants: dict[str, str] = field(default_factory=dict)  # our column -> value as text


@dataclass(frozen=True)
class Mapping:
    """A parsed, checked mapping file. `Mapping()` is the identity (our own format)."""

    source: str = "(no mapping)"
    delimiter: str | None = None  # None: "," (tab for .tsv files)
    timestamp_format: str | None = None
    tasks: SectionMapping = field(default_factory=SectionMapping)
    accounts: SectionMapping = field(default_factory=SectionMapping)

    @classmethod
    def from_toml(cls, path: str | Path) -> Mapping:
        return cls.from_toml_text(tomlio.read_text(path, "the mapping file"), source=str(path))

    @classmethod
    def from_toml_text(cls, text: str, source: str = "mapping") -> Mapping:
        raw = tomlio.parse(text, source)
        _only_keys(raw, TOP_LEVEL_KEYS, source, "")
        file_part = _table(raw.get("file", {}), source, "file")
        _only_keys(file_part, FILE_KEYS, source, "file")
        return cls(
            source=source,
            delimiter=_delimiter(file_part["delimiter"], source) if "delimiter" in file_part else None,
            timestamp_format=_timestamp_format(file_part.get("timestamp_format"), source),
            tasks=_section(raw.get("tasks", {}), TASKS_BY_NAME, source, "tasks"),
            accounts=_section(raw.get("accounts", {}), ACCOUNTS_BY_NAME, source, "accounts"),
        )


def load_mapping(mapping: str | Path | Mapping | None) -> Mapping:
    """A Mapping from a path, an existing Mapping, or None (our own column names)."""
    if mapping is None:
        return Mapping()
    if isinstance(mapping, Mapping):
        return mapping
    return Mapping.from_toml(mapping)


# ---------------------------------------------------------------- checks
def _only_keys(table: dict[str, Any], allowed: tuple[str, ...], source: str, where: str) -> None:
    for key in table:
        if key not in allowed:
            place = f"[{where}] " if where else ""
            raise ConfigError(
                f"{source}: unknown key {place}'{key}'. Allowed here: {', '.join(allowed)}."
            )


def _table(value: Any, source: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [{where}] must be a table (a [{where}] section), not {value!r}.")
    return value


def _delimiter(value: Any, source: str) -> str:
    if not isinstance(value, str) or len(value) != 1 or value in "\"\r\n":
        raise ConfigError(
            f"{source}: [file] delimiter must be one character such as \",\", \";\" or \"\\t\" "
            f"(not a quote or line break); got {value!r}."
        )
    return value


def _timestamp_format(value: Any, source: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or "%" not in value:
        raise ConfigError(
            f"{source}: [file] timestamp_format must be a strptime format such as "
            f"\"%d/%m/%Y %H:%M\"; got {value!r}."
        )
    return value


def _known_column(name: str, columns: dict[str, Column], source: str, where: str) -> Column:
    if name not in columns:
        raise ConfigError(
            f"{source}: [{where}] key '{name}' is not one of our columns. "
            f"Our columns are: {', '.join(columns)}."
        )
    return columns[name]


def _as_text(value: Any, column: Column, source: str, where: str) -> str:
    """A mapped or constant value as the text our validation parses (bools as true/false)."""
    if isinstance(value, bool):
        if column.kind is not Kind.BOOL:
            raise ConfigError(f"{source}: [{where}] gives true/false but '{column.name}' is {column.kind}.")
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise ConfigError(
        f"{source}: [{where}] value {value!r} must be a string, number or true/false."
    )


def _section(value: Any, columns: dict[str, Column], source: str, name: str) -> SectionMapping:
    sec = _table(value, source, name)
    _only_keys(sec, SECTION_KEYS, source, name)
    cols = _table(sec.get("columns", {}), source, f"{name}.columns")
    theirs: dict[str, str] = {}
    for ours, header in cols.items():
        _known_column(ours, columns, source, f"{name}.columns")
        if not isinstance(header, str) or not header.strip():
            raise ConfigError(
                f"{source}: [{name}.columns] {ours} must name their column header as a "
                f"non-empty string; got {header!r}."
            )
        theirs[ours] = header
    values: dict[str, dict[str, str]] = {}
    for ours, table in _table(sec.get("values", {}), source, f"{name}.values").items():
        col = _known_column(ours, columns, source, f"{name}.values")
        where = f"{name}.values.{ours}"
        values[ours] = {str(k).strip(): _as_text(v, col, source, where) for k, v in _table(table, source, where).items()}
    scale: dict[str, float] = {}
    for ours, factor in _table(sec.get("scale", {}), source, f"{name}.scale").items():
        col = _known_column(ours, columns, source, f"{name}.scale")
        if col.kind not in NUMERIC_KINDS or isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 0:
            raise ConfigError(
                f"{source}: [{name}.scale] {ours} must be a positive number on a numeric column "
                f"(e.g. human_seconds = 60 for minutes); got {factor!r}."
            )
        scale[ours] = float(factor)
    constants: dict[str, str] = {}
    for ours, v in _table(sec.get("constants", {}), source, f"{name}.constants").items():
        col = _known_column(ours, columns, source, f"{name}.constants")
        if ours in theirs:
            raise ConfigError(
                f"{source}: '{ours}' is in both [{name}.columns] and [{name}.constants]; keep one."
            )
        constants[ours] = _as_text(v, col, source, f"{name}.constants")
    return SectionMapping(columns=theirs, values=values, scale=scale, constants=constants)
