"""Errors a person can act on: each names what is wrong and, where known, where."""

from __future__ import annotations

from dataclasses import dataclass, field


class OutcomePricingError(Exception):
    """Base class: the message is written for the user, never a stack trace."""

    title = "Error"


class WarehouseLockedError(OutcomePricingError):
    title = "Warehouse in use"


class WarehouseError(OutcomePricingError):
    title = "Warehouse error"


class UnknownAccountError(OutcomePricingError):
    """An account id with no tasks in the warehouse (or not visible to this person)."""

    title = "Unknown account"


class UnknownTaskError(OutcomePricingError):
    """A task id with no task in the warehouse (or not visible to this person)."""

    title = "Unknown task"


class ConfigError(OutcomePricingError):
    """A definition, plan, mapping or other TOML input is invalid."""

    title = "Invalid configuration"


@dataclass(frozen=True)
class Problem:
    """One validation problem: where (file, row, column) and which rule."""

    file: str
    row: int | None
    column: str | None
    rule: str
    value: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        shown = f" (value: {self.value!r})" if self.value is not None else ""
        return f"{', '.join(where)}: {self.rule}{shown}"


@dataclass
class ValidationError(OutcomePricingError):
    """A file was refused whole; nothing was written."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    total: int = 0
    title = "File refused"

    SHOWN = 20

    def __post_init__(self) -> None:
        self.total = max(self.total, len(self.problems))
        super().__init__(self.message)

    @property
    def message(self) -> str:
        head = (
            f"{self.file} was refused: {self.total} problem(s) found; nothing was written "
            f"to the warehouse. Fix the file and ingest it again."
        )
        lines = [str(p) for p in self.problems[: self.SHOWN]]
        more = self.total - len(lines)
        if more > 0:
            lines.append(f"... and {more} more problem(s).")
        return head + "\n" + "\n".join(f"  - {line}" for line in lines)
