"""What counts as "resolved": a small, named, versioned set of knobs (DESIGN section 4).

A `Definition` is written as TOML (so it can live in a contract or in git) and
carries a short `version` hash of its knobs, printed on every statement.

Each task gets exactly one `Reason` (the first rule that decides, in the order
of DESIGN section 4) and its billable units. The rules are written once, as one
SQL CASE expression over named inputs (`sql.py`), and run two ways that agree
exactly (`evaluate.py`): task by task on `tasks`, and aggregated on the
definition cube. This module is the model only: it imports no database driver.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit import tomlio
from outcome_pricing.warehouse.grid import HOUR_GRID

# The one place the default definition is decided (the app's sidebar, a bad link's fallback).
DEFAULT_PRESET = "intercom-fin-2025"


class Unit(StrEnum):
    CONVERSATION = "conversation"
    ISSUE = "issue"


class HandoffRule(StrEnum):
    NEVER = "never"
    WITH_CONTEXT = "with_context"
    ALWAYS = "always"


class Reason(StrEnum):
    """Reason codes in rule order: the first rule that decides gives the code."""

    AI_NOT_LIVE = "ai_not_live"
    NO_AI_ANSWER = "no_ai_answer"
    REOPENED = "reopened"
    LOW_CSAT = "low_csat"
    CORRECTED_ERROR = "corrected_error"
    UNVERIFIED = "unverified"
    HANDOFF_BILLED = "handoff_billed"
    HANDOFF_PARTIAL = "handoff_partial"
    HANDOFF = "handoff"
    CONFIRMED = "confirmed"
    ASSUMED = "assumed"
    NOT_RESOLVED = "not_resolved"
    # DESIGN section 8, after the rules of section 4 (codes of the older reasons unchanged):
    DISPUTED = "disputed"  # an accepted dispute in force voids a billable outcome
    PENDING = "pending"  # at a close: would be assumed, but the silence has not yet elapsed

    @property
    def code(self) -> int:
        """Position in rule order (the integer the SQL returns)."""
        return REASONS.index(self)

    @property
    def column(self) -> str:
        """Column name of this reason's task count in `outcomes`."""
        return f"n_{self.value}"


REASONS: tuple[Reason, ...] = tuple(Reason)
REASON_COLUMNS: tuple[str, ...] = tuple(r.column for r in REASONS)
# Tasks that carry at least some billable units.
BILLABLE_REASONS = (Reason.HANDOFF_BILLED, Reason.HANDOFF_PARTIAL, Reason.CONFIRMED, Reason.ASSUMED)
# Tasks that count as one whole outcome (the resolution rate's numerator).
RESOLVED_REASONS = (Reason.HANDOFF_BILLED, Reason.CONFIRMED, Reason.ASSUMED)

REASON_TEXT: dict[Reason, str] = {
    Reason.AI_NOT_LIVE: "the AI agent was not live for this task (human-only baseline)",
    Reason.NO_AI_ANSWER: "the AI gave no substantive answer",
    Reason.REOPENED: "the same requester came back on the same topic within the reopen window",
    Reason.LOW_CSAT: "the customer's CSAT was below the minimum",
    Reason.CORRECTED_ERROR: "the AI gave a wrong answer (later corrected) and such tasks do not count",
    Reason.UNVERIFIED: "verification is required and the task was not verified",
    Reason.HANDOFF_BILLED: "handed to a human, and this definition bills such handoffs as an outcome",
    Reason.HANDOFF_PARTIAL: "handed to a human; billed at the partial credit",
    Reason.HANDOFF: "handed to a human; handoffs are not outcomes under this definition",
    Reason.CONFIRMED: "the customer confirmed the answer helped",
    Reason.ASSUMED: "the customer stayed quiet for at least the silence period",
    Reason.NOT_RESOLVED: "neither confirmed nor quiet long enough to assume a resolution",
    Reason.DISPUTED: "the customer disputed this outcome and the dispute was accepted",
    Reason.PENDING: "not yet known at this close: the silence period had not yet elapsed",
}

# The task fields the rules read, in rule order (shown as evidence).
EVIDENCE_FIELDS: tuple[str, ...] = (
    "ai_enabled",
    "ai_answered",
    "reopen_gap_hours",
    "csat",
    "ai_error_corrected",
    "verified",
    "handoff",
    "context_retained",
    "customer_confirmed",
    "quiet_hours",
    "n_issues",
    "n_issues_resolved",
)

MAX_HOURS = 10_000  # about 14 months: longer windows mean "ever"
MAX_DISPUTE_DAYS = 3_650


# --------------------------------------------------------------------------- knobs
@dataclass(frozen=True)
class Knob:
    """One knob of a definition: its type, allowed values and business meaning."""

    name: str
    label: str
    kind: type
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    # Neighbouring values used by the sensitivity analysis (numbers only).
    ladder: tuple[float, ...] = ()

    def allowed(self) -> str:
        if self.choices:
            return "one of " + ", ".join(f'"{c}"' for c in self.choices)
        if self.kind is bool:
            return "true or false"
        word = "a whole number" if self.kind is int else "a number"
        return f"{word} from {number_text(self.minimum)} to {number_text(self.maximum)}"

    def check(self, value: Any) -> Any:
        """The value normalised (integral floats as int), or ConfigError naming the knob."""
        if self.kind is bool:
            ok = isinstance(value, bool)
        elif self.choices:
            ok = isinstance(value, str) and value in self.choices
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or (self.kind is int and not float(value).is_integer()):
            ok = False
        else:
            ok = self.minimum <= value <= self.maximum  # type: ignore[operator]
        if not ok:
            raise ConfigError(
                f"key '{self.name}' must be {self.allowed()}; got {value!r}. "
                f"({self.label}: {self.help})"
            )
        if self.choices:
            return str(value)
        if self.kind is not bool and float(value).is_integer():
            return int(value)
        return value


def number_text(x: float | None) -> str:
    """A knob value as written in messages: 1,000 not 1000.0; 1.5 stays 1.5."""
    return "" if x is None else (f"{int(x):,}" if float(x).is_integer() else repr(float(x)))


HOUR_LADDER_SILENCE = (0, 1, 4, 8, 12, 24, 48, 72, 96, 168, 336, 720)
HOUR_LADDER_REOPEN = (0, 4, 12, 24, 48, 72, 168, 336, 720)

KNOBS: tuple[Knob, ...] = (
    Knob(
        "unit", "Unit of count", str,
        "what one outcome is: a whole conversation, or each issue the AI resolved in it "
        "(a conversation that resolves three problems bills three).",
        choices=tuple(Unit),
    ),
    Knob(
        "assumed_resolution", "Bill assumed resolutions", bool,
        "a customer who goes quiet after the AI's last answer (without confirming) counts as "
        "resolved once the silence period has passed.",
    ),
    Knob(
        "silence_hours", "Silence period (hours)", float,
        "how long the customer must stay quiet after the AI's last answer before an "
        "assumed resolution is billed (Intercom: 24 h; Zendesk: 72 h).",
        minimum=0, maximum=MAX_HOURS, ladder=HOUR_LADDER_SILENCE,
    ),
    Knob(
        "require_verification", "Require verification", bool,
        "only tasks that a QA or model check judged genuinely resolved are billed "
        "(like Zendesk's LLM check).",
    ),
    Knob(
        "handoff", "Handoffs to a human", str,
        "whether a task handed to a human agent is an outcome: never; only when the human "
        "received the AI's context; or always.",
        choices=tuple(HandoffRule),
    ),
    Knob(
        "partial_credit", "Partial credit for handoffs", float,
        "share of one outcome billed for a handoff that is not a full outcome "
        "(0 = free escalations, 0.5 = half price).",
        minimum=0, maximum=1, ladder=(0, 0.25, 0.5, 0.75, 1),
    ),
    Knob(
        "reopen_window_hours", "Reopen window (hours)", float,
        "if the same customer comes back on the same topic within this many hours, the "
        "outcome is void (deducted). 0 ignores reopens.",
        minimum=0, maximum=MAX_HOURS, ladder=HOUR_LADDER_REOPEN,
    ),
    Knob(
        "min_csat", "Minimum CSAT", int,
        "a satisfaction score below this voids the outcome (1 to 5; 0 ignores CSAT). "
        "A task without a score is never voided.",
        minimum=0, maximum=5, ladder=(0, 1, 2, 3, 4, 5),
    ),
    Knob(
        "count_corrected_errors", "Bill tasks with a corrected AI error", bool,
        "whether a task where the AI gave a wrong answer and corrected it in the same "
        "conversation still counts as an outcome.",
    ),
    Knob(
        "dispute_window_days", "Dispute window (days)", int,
        "an accepted customer dispute voids a billable outcome if it was filed at most this "
        "many days after the end of the outcome's month (0 = no limit).",
        minimum=0, maximum=MAX_DISPUTE_DAYS, ladder=(0, 7, 14, 30, 60, 90),
    ),
)
# Knobs added after the first version, with the default that leaves a definition's
# version hash as it was (DESIGN 4: a later knob at its default changes no hash).
LATER_KNOB_DEFAULTS: dict[str, Any] = {"dispute_window_days": 0}
KNOBS_BY_NAME = {k.name: k for k in KNOBS}
KNOB_NAMES = tuple(KNOBS_BY_NAME)
META_KEYS = ("name", "description")


@dataclass(frozen=True)
class Definition:
    """A definition of "resolved": the knobs of DESIGN section 4, validated on creation.

    `version` hashes the knobs only (not name or description): the same rules
    under another name have the same version.
    """

    name: str = "custom"
    unit: str = Unit.CONVERSATION.value
    assumed_resolution: bool = True
    silence_hours: float = 24
    require_verification: bool = False
    handoff: str = HandoffRule.NEVER.value
    partial_credit: float = 0.0
    reopen_window_hours: float = 24
    min_csat: int = 0
    count_corrected_errors: bool = True
    dispute_window_days: int = 0
    description: str = ""

    def __post_init__(self) -> None:
        for meta in META_KEYS:
            if not isinstance(getattr(self, meta), str):
                raise ConfigError(f"key '{meta}' must be text; got {getattr(self, meta)!r}.")
        if not self.name.strip():
            raise ConfigError("key 'name' must not be empty; give the definition a short name.")
        for knob in KNOBS:
            object.__setattr__(self, knob.name, knob.check(getattr(self, knob.name)))

    # ---------------------------------------------------------------- identity
    def knobs(self) -> dict[str, Any]:
        """The knobs (no name or description), in DESIGN order."""
        return {k: getattr(self, k) for k in KNOB_NAMES}

    def canonical(self) -> str:
        """The canonical form hashed into `version`: sorted keys, compact JSON; a knob added
        later is left out while it keeps its default (so old versions stay valid)."""
        knobs = {k: v for k, v in self.knobs().items() if LATER_KNOB_DEFAULTS.get(k, object()) != v}
        return json.dumps(knobs, sort_keys=True, separators=(",", ":"))

    @property
    def version(self) -> str:
        """10 hex characters of the sha256 of the canonical knobs."""
        return hashlib.sha256(self.canonical().encode()).hexdigest()[:10]

    @property
    def label(self) -> str:
        return f"{self.name} ({self.version})"

    @property
    def cube_exact(self) -> bool:
        """The cube answers exactly when both hour knobs are on its grid (grid.HOUR_GRID)."""
        return all(h in HOUR_GRID for h in (self.silence_hours, self.reopen_window_hours))

    def with_knobs(self, **changes: Any) -> Definition:
        """A copy with some knobs changed; validated like any other definition."""
        return replace(self, **changes)

    # ---------------------------------------------------------------- TOML
    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "definition") -> Definition:
        """From parsed TOML (or any mapping); unknown keys and bad values name the key."""
        unknown = sorted(set(data) - set(KNOB_NAMES) - set(META_KEYS))
        if unknown:
            raise ConfigError(
                f"{source}: unknown key(s) {', '.join(repr(k) for k in unknown)}. "
                f"Allowed keys: {', '.join(META_KEYS + KNOB_NAMES)}."
            )
        try:
            return cls(**dict(data))
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    @classmethod
    def from_toml_text(cls, text: str, source: str = "definition TOML") -> Definition:
        return cls.from_mapping(tomlio.parse(text, source), source)

    @classmethod
    def from_toml(cls, path: str | Path) -> Definition:
        return cls.from_toml_text(tomlio.read_text(path, "the definition file"), source=str(path))

    def to_toml(self) -> str:
        """TOML with a comment per knob; reads back to an equal definition."""
        lines = [
            '# Definition of "resolved" (Outcome Pricing Lab).',
            f"# version {self.version} (hash of the knobs below, not of the name).",
            _toml_line("name", self.name),
        ]
        if self.description:
            lines.append(_toml_line("description", self.description))
        for knob in KNOBS:
            lines.append(f"{_toml_line(knob.name, getattr(self, knob.name))}  # {knob.label}")
        return "\n".join(lines) + "\n"

    # ---------------------------------------------------------------- presets
    @classmethod
    def preset(cls, name: str) -> Definition:
        table = presets()
        if name not in table:
            raise ConfigError(f"Unknown definition preset '{name}'. Presets: {', '.join(table)}.")
        return table[name]

    @classmethod
    def presets(cls) -> dict[str, Definition]:
        return presets()

    @classmethod
    def default(cls) -> Definition:
        """The definition used until someone picks another: the `DEFAULT_PRESET` preset."""
        return cls.preset(DEFAULT_PRESET)


def _toml_line(key: str, value: Any) -> str:
    return tomli_w.dumps({key: value}).strip()


@functools.cache
def _load_presets() -> tuple[Definition, ...]:
    folder = resources.files("outcome_pricing.rules") / "presets"
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            found.append(Definition.from_toml_text(entry.read_text("utf-8"), f"preset {entry.name}"))
    return tuple(found)


def presets() -> dict[str, Definition]:
    """Shipped presets by name, each with a one-line description.

    Modelled on public descriptions of vendors' billing rules, not the vendors' own rules.
    """
    return {d.name: d for d in _load_presets()}


def load_definition(spec: str | Path) -> Definition:
    """A preset name or the path of a definition TOML (what the CLI's DEF means)."""
    text = str(spec)
    table = presets()
    if text in table:
        return table[text]
    path = Path(text)
    if path.is_file():
        return Definition.from_toml(path)
    raise ConfigError(
        f"'{text}' is neither a definition preset nor an existing TOML file. "
        f"Presets: {', '.join(table)}; or give the path of a definition file."
    )


def knobs_to_text(d: Definition) -> dict[str, str]:
    """The knobs as short strings (for a URL): true/false, numbers without trailing zeros."""
    return {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in d.knobs().items()}


def knobs_from_text(values: Mapping[str, str], name: str = "custom", source: str = "link") -> Definition:
    """The inverse of `knobs_to_text`, validated: a bad value raises ConfigError naming the key."""
    parsed: dict[str, Any] = {"name": name}
    for key, text in values.items():
        knob = KNOBS_BY_NAME.get(key)
        if knob is None or knob.choices:
            parsed[key] = text
        elif knob.kind is bool:
            parsed[key] = {"true": True, "1": True, "yes": True, "false": False, "0": False,
                           "no": False}.get(str(text).strip().lower(), text)
        else:
            try:
                parsed[key] = float(str(text).replace(",", ""))
            except ValueError:
                parsed[key] = text
    return Definition.from_mapping(parsed, source)


def definition_record(d: Definition) -> dict[str, Any]:
    """The definition as a plain dict with its version (for JSON output and reports)."""
    return {**asdict(d), "version": d.version}
