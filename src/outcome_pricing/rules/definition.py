"""What counts as "resolved": a small, named, versioned set of knobs (DESIGN section 4).

A `Definition` is written as TOML (so it can live in a contract or in git) and
carries a short `version` hash of its knobs, printed on every statement.

Each task gets exactly one `Reason` (the first rule that decides, in the order
of DESIGN section 4) and its billable units. The rules are written once, as one
SQL CASE expression over named inputs, and run two ways that agree exactly:
- task by task on `tasks` (`evaluate_tasks`): the evidence;
- aggregated on the definition cube (`outcomes`): fast, for every chart.
The cube (see `cube.py`) buckets hours to whole hours, which is exact for
integer hour knobs; other definitions are aggregated from `tasks` directly.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd
import tomli_w

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit import tomlio
from outcome_pricing.warehouse import cube

if TYPE_CHECKING:
    from outcome_pricing.warehouse.handle import Warehouse


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

GROUP_COLUMNS = ("account_id", "month")
MAX_HOURS = 10_000  # about 14 months: longer windows mean "ever"


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
        return f"{word} from {_fmt(self.minimum)} to {_fmt(self.maximum)}"

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


def _fmt(x: float | None) -> str:
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
)
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
        """The canonical form hashed into `version`: sorted keys, compact JSON."""
        return json.dumps(self.knobs(), sort_keys=True, separators=(",", ":"))

    @property
    def version(self) -> str:
        """10 hex characters of the sha256 of the canonical knobs."""
        return hashlib.sha256(self.canonical().encode()).hexdigest()[:10]

    @property
    def label(self) -> str:
        return f"{self.name} ({self.version})"

    @property
    def cube_exact(self) -> bool:
        """The cube answers exactly when both hour knobs are on its grid (cube.HOUR_GRID)."""
        return all(h in cube.HOUR_GRID for h in (self.silence_hours, self.reopen_window_hours))

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


# --------------------------------------------------------------------------- the rules in SQL
def _reason_sql(cols: Mapping[str, str], p: str) -> str:
    """The rules of DESIGN section 4 as one CASE returning the reason's rule-order code.

    `cols` maps input names to SQL (raw `tasks` or the cube); knob values are the
    bound parameters `$<p>...` (see `_params`).
    """
    c = cols
    r = {reason: reason.code for reason in REASONS}
    return f"""CASE
      WHEN NOT {c['ai_enabled']} THEN {r[Reason.AI_NOT_LIVE]}
      WHEN NOT {c['ai_answered']} THEN {r[Reason.NO_AI_ANSWER]}
      WHEN ${p}window > 0 AND {c['gap_hours']} IS NOT NULL
           AND {c['gap_hours']} <= ${p}window THEN {r[Reason.REOPENED]}
      WHEN ${p}min_csat > 0 AND {c['csat']} IS NOT NULL
           AND {c['csat']} < ${p}min_csat THEN {r[Reason.LOW_CSAT]}
      WHEN {c['ai_error_corrected']} AND NOT ${p}count_corrected THEN {r[Reason.CORRECTED_ERROR]}
      WHEN ${p}require_verification AND NOT {c['verified']} THEN {r[Reason.UNVERIFIED]}
      WHEN {c['handoff']} AND (${p}handoff = 'always'
           OR (${p}handoff = 'with_context' AND {c['context_retained']})) THEN {r[Reason.HANDOFF_BILLED]}
      WHEN {c['handoff']} AND ${p}partial > 0 THEN {r[Reason.HANDOFF_PARTIAL]}
      WHEN {c['handoff']} THEN {r[Reason.HANDOFF]}
      WHEN {c['customer_confirmed']} THEN {r[Reason.CONFIRMED]}
      WHEN ${p}assumed AND {c['quiet_hours']} IS NOT NULL
           AND {c['quiet_hours']} >= ${p}silence THEN {r[Reason.ASSUMED]}
      ELSE {r[Reason.NOT_RESOLVED]} END"""


def _params(d: Definition, p: str) -> dict[str, Any]:
    return {
        f"{p}window": float(d.reopen_window_hours),
        f"{p}min_csat": int(d.min_csat),
        f"{p}count_corrected": bool(d.count_corrected_errors),
        f"{p}require_verification": bool(d.require_verification),
        f"{p}handoff": str(d.handoff),
        f"{p}partial": float(d.partial_credit),
        f"{p}assumed": bool(d.assumed_resolution),
        f"{p}silence": float(d.silence_hours),
    }


def _unit_input(d: Definition, cols: Mapping[str, str]) -> str:
    """Units of a confirmed or assumed task: 1 per conversation, or per resolved issue."""
    return cols["issue_units"] if d.unit == Unit.ISSUE else cols["tasks"]


def answered_from_cube(wh: Warehouse, d: Definition) -> bool:
    """Whether `outcomes(wh, d)` reads the cube (else it aggregates raw tasks)."""
    if not d.cube_exact:
        return False
    with wh.cursor() as cur:
        return cube.is_current(cur)


def _by_columns(by: Sequence[str] | str) -> tuple[str, ...]:
    cols = (by,) if isinstance(by, str) else tuple(by)
    bad = [c for c in cols if c not in GROUP_COLUMNS]
    if bad or len(set(cols)) != len(cols):
        raise ConfigError(
            f"Cannot group outcomes by {list(cols)}: use any of {', '.join(GROUP_COLUMNS)} "
            f"(each once), or nothing for the portfolio total."
        )
    return cols


def _billable_units(whole_units: Any, n_partial: Any, d: Definition) -> Any:
    """Whole units plus partial credit per partial handoff, the same way on every path."""
    return np.asarray(whole_units, dtype="float64") + np.asarray(n_partial, dtype="float64") * float(
        d.partial_credit
    )


# --------------------------------------------------------------------------- evaluation
def outcomes(
    wh: Warehouse, d: Definition, by: Sequence[str] | str = GROUP_COLUMNS
) -> pd.DataFrame:
    """Billable outcomes under `d`, grouped by `by` (any of account_id, month; () = total).

    Columns: the `by` columns, tasks, billable_units, one `n_<reason>` task count
    per reason code, ai_tasks (tasks with the AI live) and resolution_rate (tasks
    counted as a whole outcome / ai_tasks). An outcome belongs to the month its task
    closed. Answered from the cube when exact, else from tasks: identical numbers.
    """
    cols = _by_columns(by)
    found = _from_cube(wh, [d])
    if found is None:
        return _pivot(*_counts_from_tasks(wh, d), d, cols)
    arrays, reasons = found
    return _pivot(*arrays.counts(reasons[0], per_key=bool(cols)), d, cols)


def outcomes_from_tasks(
    wh: Warehouse, d: Definition, by: Sequence[str] | str = GROUP_COLUMNS
) -> pd.DataFrame:
    """`outcomes` computed from raw tasks, never the cube (the benchmark and tests compare)."""
    return _pivot(*_counts_from_tasks(wh, d), d, _by_columns(by))


# Counts arrive as: keys (account_id, month per account-month, sorted), and per record
# its account-month row in keys, reason code, task count and issue units.
_Counts = tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _profile_reasons(cur: duckdb.DuckDBPyConnection, ds: Sequence[Definition]) -> list[np.ndarray]:
    """Each definition's reason code for every input profile (indexed by p), in one query."""
    params: dict[str, Any] = {}
    columns = []
    for i, d in enumerate(ds):
        params |= _params(d, f"v{i}_")
        columns.append(f"{_reason_sql(cube.PROFILE_INPUTS, f'v{i}_')} AS r{i}")
    found = cur.execute(
        f"SELECT {', '.join(columns)} FROM {cube.PROFILES_TABLE} ORDER BY p", params
    ).fetchnumpy()
    return [np.asarray(found[f"r{i}"]) for i in range(len(ds))]


_NO_KEYS = pd.DataFrame(columns=list(GROUP_COLUMNS))


@dataclass(frozen=True)
class _CubeArrays:
    """The cube as read by one scope of one build: numpy arrays, reused by every query."""

    keys: pd.DataFrame  # account_id, month per account-month, sorted
    row: np.ndarray  # per cube row: its row in keys
    profile: np.ndarray  # per cube row: p
    tasks: np.ndarray
    issue_units: np.ndarray
    profile_tasks: np.ndarray  # per profile p: tasks and issue units over all account-months
    profile_issue_units: np.ndarray

    def counts(self, reason_of_profile: np.ndarray, per_key: bool) -> _Counts:
        if not per_key:  # a portfolio total needs only the sums per profile
            present = np.arange(len(self.profile_tasks))
            return (_NO_KEYS, np.zeros(len(present), dtype="int64"), reason_of_profile[present],
                    self.profile_tasks, self.profile_issue_units)
        return (self.keys, self.row, reason_of_profile[self.profile], self.tasks, self.issue_units)


# Keyed by (warehouse file, account scope, cube stamp): the stamp changes with every build,
# so an entry is never stale; a few entries cover the scopes in use at once.
_CUBE_CACHE: OrderedDict[tuple[str, Any, str], _CubeArrays] = OrderedDict()
_CUBE_CACHE_SIZE = 4
_CUBE_CACHE_LOCK = threading.Lock()


def _from_cube(
    wh: Warehouse, ds: Sequence[Definition]
) -> tuple[_CubeArrays, list[np.ndarray]] | None:
    """The cube's arrays and each definition's reason per profile, or None when the cube
    cannot answer (a knob off the grid, or no current cube)."""
    if not all(d.cube_exact for d in ds):
        return None
    with wh.cursor() as cur:
        # One snapshot: the stamp, the profiles and the cube rows are of the same build,
        # even if an ingest commits meanwhile.
        cur.execute("BEGIN TRANSACTION")
        try:
            stamp = cube.current_stamp(cur)
            if stamp is None:
                return None
            return _cube_arrays(cur, wh, stamp), _profile_reasons(cur, ds)
        finally:
            cur.execute("ROLLBACK")


def _cube_arrays(cur: duckdb.DuckDBPyConnection, wh: Warehouse, stamp: str) -> _CubeArrays:
    key = (str(wh.path), getattr(wh, "accounts", None), stamp)
    with _CUBE_CACHE_LOCK:
        if key in _CUBE_CACHE:
            _CUBE_CACHE.move_to_end(key)
            return _CUBE_CACHE[key]
    arrays = _read_cube(cur)
    with _CUBE_CACHE_LOCK:
        _CUBE_CACHE[key] = arrays
        while len(_CUBE_CACHE) > _CUBE_CACHE_SIZE:
            _CUBE_CACHE.popitem(last=False)
    return arrays


def _read_cube(cur: duckdb.DuckDBPyConnection) -> _CubeArrays:
    rows = cur.execute(f"SELECT k, p, tasks, issue_units FROM {cube.CUBE_TABLE}").fetchnumpy()
    keys = cur.execute(f"SELECT k, account_id, month FROM {cube.KEYS_TABLE} ORDER BY k").df()
    n_profiles = int(cur.execute(f"SELECT count(*) FROM {cube.PROFILES_TABLE}").fetchone()[0])  # type: ignore[index]
    # k -> row of keys through a lookup array (keys may be a scoped subset of 1..K).
    key_numbers = keys["k"].to_numpy()
    row_of_k = np.zeros(int(key_numbers.max(initial=0)) + 1, dtype="int64")
    row_of_k[key_numbers] = np.arange(len(keys), dtype="int64")
    profile = _int_array(rows["p"])
    tasks, issue_units = _int_array(rows["tasks"]), _int_array(rows["issue_units"])
    return _CubeArrays(
        keys=keys[list(GROUP_COLUMNS)],
        row=row_of_k[_int_array(rows["k"])],
        profile=profile,
        tasks=tasks,
        issue_units=issue_units,
        profile_tasks=np.bincount(profile, weights=tasks, minlength=n_profiles).astype("int64"),
        profile_issue_units=np.bincount(profile, weights=issue_units, minlength=n_profiles).astype("int64"),
    )


def _counts_from_tasks(wh: Warehouse, d: Definition) -> _Counts:
    raw = cube.RAW_INPUTS
    counts = wh.query_df(  # type: ignore[arg-type]
        f"SELECT account_id, month, {_reason_sql(raw, 'd_')} AS r, count(*)::BIGINT AS n, "
        f"sum({raw['issue_units']})::BIGINT AS iu FROM tasks GROUP BY ALL ORDER BY account_id, month",
        _params(d, "d_"),
    )
    keys = counts[list(GROUP_COLUMNS)].drop_duplicates().reset_index(drop=True)
    row_of_key = counts.groupby(list(GROUP_COLUMNS), sort=True).ngroup().to_numpy()
    return keys, row_of_key, _int_array(counts["r"]), _int_array(counts["n"]), _int_array(counts["iu"])


def _int_array(values: Any) -> np.ndarray:
    return np.asarray(values, dtype="int64")


def _pivot(
    keys: pd.DataFrame, row_of_key: np.ndarray, reason: np.ndarray, n: np.ndarray,
    iu: np.ndarray, d: Definition, by: tuple[str, ...],
) -> pd.DataFrame:
    """Sum tasks and issue units per (by group, reason) and derive every output column."""
    if by == GROUP_COLUMNS:  # keys are already one sorted row per account-month
        labels = keys.reset_index(drop=True)
        group = np.asarray(row_of_key, dtype="int64")
    elif by:
        groups = keys.groupby(list(by), sort=True)
        labels = groups.size().index.to_frame(index=False)
        group = groups.ngroup().to_numpy()[row_of_key]
    else:  # the portfolio total is one row, even with no tasks at all
        labels = pd.DataFrame(index=range(1))
        group = np.zeros(len(row_of_key), dtype="int64")
    cells = group * len(REASONS) + reason
    shape = (len(labels), len(REASONS))
    # bincount sums in float64: exact for counts below 2**53.
    tasks = np.bincount(cells, weights=n, minlength=shape[0] * shape[1]).astype("int64").reshape(shape)
    per_task = tasks
    if d.unit == Unit.ISSUE:  # issue units are summed only when they are the unit
        per_task = np.bincount(cells, weights=iu, minlength=tasks.size).astype("int64").reshape(shape)
    whole = (
        tasks[:, Reason.HANDOFF_BILLED.code] + per_task[:, Reason.CONFIRMED.code]
        + per_task[:, Reason.ASSUMED.code]
    )
    total = tasks.sum(axis=1)
    ai_tasks = total - tasks[:, Reason.AI_NOT_LIVE.code]
    resolved = sum(tasks[:, x.code] for x in RESOLVED_REASONS)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(ai_tasks > 0, resolved / np.maximum(ai_tasks, 1), np.nan)
    columns: dict[str, Any] = {
        "tasks": total,
        "billable_units": _billable_units(whole, tasks[:, Reason.HANDOFF_PARTIAL.code], d),
        **{r.column: tasks[:, r.code] for r in REASONS},
        "ai_tasks": ai_tasks,
        "resolution_rate": rate.astype("float64"),
    }
    values = pd.DataFrame(columns, index=labels.index)
    return pd.concat([labels, values], axis=1) if by else values


def _month(value: Any) -> dt.date:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ConfigError(f"month {value!r} is not a month; write it as YYYY-MM.") from None
    return dt.date(ts.year, ts.month, 1)


def _reason(value: Reason | str) -> Reason:
    try:
        return Reason(value)
    except ValueError:
        raise ConfigError(
            f"Unknown reason code {value!r}. Reason codes: {', '.join(REASONS)}."
        ) from None


def evaluate_tasks(
    wh: Warehouse,
    d: Definition,
    account_id: str | None = None,
    month: Any = None,
    task_ids: Sequence[str] | None = None,
    reason: Reason | str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Task by task: task_id, account_id, month, reason, billable_units and the fields the
    rules read (as stored: an empty field stays empty), ordered by task_id.

    Filters combine; `month` is "YYYY-MM" or a date; `limit` caps the rows returned.
    """
    params = _params(d, "d_")
    where = []
    if account_id is not None:
        where.append("account_id = $account_id")
        params["account_id"] = str(account_id)
    if month is not None:
        where.append("month = $month")
        params["month"] = _month(month)
    if task_ids is not None:
        where.append("list_contains($task_ids, task_id)")
        params["task_ids"] = [str(t) for t in task_ids]
    outer = ""
    if reason is not None:
        outer = "WHERE r = $reason_code"
        params["reason_code"] = _reason(reason).code
    raw = cube.RAW_INPUTS
    units = (
        f"CASE r WHEN {Reason.HANDOFF_BILLED.code} THEN 1.0 "
        f"WHEN {Reason.HANDOFF_PARTIAL.code} THEN $d_partial "
        f"WHEN {Reason.CONFIRMED.code} THEN u WHEN {Reason.ASSUMED.code} THEN u ELSE 0.0 END"
    )
    sql = f"""
    SELECT task_id, account_id, month, r, ({units})::DOUBLE AS billable_units,
           {', '.join(EVIDENCE_FIELDS)}
    FROM (SELECT *, {_unit_input(d, raw)} AS u, {_reason_sql(raw, 'd_')} AS r
          FROM tasks {'WHERE ' + ' AND '.join(where) if where else ''}) AS t
    {outer}
    ORDER BY task_id
    {'LIMIT $limit' if limit is not None else ''}
    """
    if limit is not None:
        params["limit"] = max(int(limit), 0)
    df = wh.query_df(sql, params)  # type: ignore[arg-type]
    codes = df.pop("r")
    df.insert(3, "reason", codes.map(lambda i: REASONS[int(i)].value).astype("object"))
    return df


def explain_reason(reason: Reason | str, d: Definition) -> str:
    """One sentence on why a task got its reason code under `d`."""
    r = _reason(reason)
    text = REASON_TEXT[r]
    if r is Reason.REOPENED:
        text += f" ({_fmt(d.reopen_window_hours)} h)"
    elif r is Reason.LOW_CSAT:
        text += f" ({d.min_csat})"
    elif r is Reason.ASSUMED:
        text += f" ({_fmt(d.silence_hours)} h)"
    elif r is Reason.HANDOFF_PARTIAL:
        text += f" ({d.partial_credit:g} of an outcome)"
    return text + "."


# --------------------------------------------------------------------------- analyses for the page
def funnel(wh: Warehouse, d: Definition) -> pd.DataFrame:
    """From all tasks to billable ones, one stage per rule that removes tasks.

    Columns: stage, tasks (still in the funnel), removed (by that stage's rule),
    reason (the code of the removed tasks), share (of all tasks).
    """
    total = outcomes(wh, d, by=()).iloc[0]
    stages = [
        ("All tasks", None),
        ("AI live", Reason.AI_NOT_LIVE),
        ("AI answered", Reason.NO_AI_ANSWER),
        ("Not reopened", Reason.REOPENED),
        ("CSAT acceptable", Reason.LOW_CSAT),
        ("No disqualifying AI error", Reason.CORRECTED_ERROR),
        ("Verified (if required)", Reason.UNVERIFIED),
        ("Not an unbilled handoff", Reason.HANDOFF),
        ("Billable", Reason.NOT_RESOLVED),
    ]
    left = int(total["tasks"])
    rows = []
    for stage, removed_by in stages:
        removed = int(total[removed_by.column]) if removed_by else 0
        left -= removed
        rows.append((stage, left, removed, removed_by.value if removed_by else ""))
    df = pd.DataFrame(rows, columns=["stage", "tasks", "removed", "reason"])
    df["share"] = df["tasks"] / max(int(total["tasks"]), 1)
    return df


def compare(wh: Warehouse, a: Definition, b: Definition, by: str = "account_id") -> pd.DataFrame:
    """Billable units under `a` and `b` per account (or month), largest changes first.

    Columns: <by>, units_a, units_b, change (b - a), change_pct (of a; NaN when a is 0).
    """
    cols = _by_columns((by,))
    left = outcomes(wh, a, by=cols)[[*cols, "billable_units"]]
    right = outcomes(wh, b, by=cols)[[*cols, "billable_units"]]
    df = left.merge(right, on=list(cols), how="outer", suffixes=("_a", "_b")).fillna(0.0)
    df = df.rename(columns={"billable_units_a": "units_a", "billable_units_b": "units_b"})
    df["change"] = df["units_b"] - df["units_a"]
    df["change_pct"] = df["change"] / df["units_a"].where(df["units_a"] != 0)
    return df.sort_values(["change", *cols], key=_abs_desc_first).reset_index(drop=True)


def _abs_desc_first(s: pd.Series) -> pd.Series:
    return -s.abs() if s.name == "change" else s


def neighbours(d: Definition) -> list[tuple[str, str, Definition]]:
    """For each knob, the definition with that knob moved to its neighbouring values.

    Returns (knob, side, definition) with side "lower"/"higher" (or "other" for
    yes/no knobs). Numeric neighbours come from the knob's ladder of usual values.
    """
    out: list[tuple[str, str, Definition]] = []
    for knob in KNOBS:
        value = getattr(d, knob.name)
        if knob.kind is bool:
            out.append((knob.name, "other", d.with_knobs(**{knob.name: not value})))
            continue
        steps: Sequence[Any] = knob.choices or knob.ladder
        lower = [v for v in steps if _order(knob, v) < _order(knob, value)]
        higher = [v for v in steps if _order(knob, v) > _order(knob, value)]
        if lower:
            out.append((knob.name, "lower", d.with_knobs(**{knob.name: lower[-1]})))
        if higher:
            out.append((knob.name, "higher", d.with_knobs(**{knob.name: higher[0]})))
    return out


def _order(knob: Knob, value: Any) -> float:
    return float(knob.choices.index(value)) if knob.choices else float(value)


def sensitivity(wh: Warehouse, d: Definition) -> pd.DataFrame:
    """Portfolio billable units when each knob moves to a neighbouring value (tornado).

    Columns: knob, label, side, value (as text), billable_units, base_units, change.
    """
    variants = neighbours(d)
    units = _total_units(wh, [d, *(v for _, _, v in variants)])
    base = units[0]
    rows = [
        (knob, KNOBS_BY_NAME[knob].label, side, _show(getattr(v, knob)), u, base, u - base)
        for (knob, side, v), u in zip(variants, units[1:], strict=True)
    ]
    return pd.DataFrame(
        rows, columns=["knob", "label", "side", "value", "billable_units", "base_units", "change"]
    )


def _total_units(wh: Warehouse, ds: Sequence[Definition]) -> list[float]:
    """Portfolio billable units of several definitions: one pass over the profiles when it can."""
    found = _from_cube(wh, ds)
    if found is None:
        return [float(outcomes(wh, d, by=())["billable_units"].iloc[0]) for d in ds]
    arrays, reasons = found
    return [
        float(_pivot(*arrays.counts(r, per_key=False), d, ())["billable_units"].iloc[0])
        for r, d in zip(reasons, ds, strict=True)
    ]


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _fmt(value) if isinstance(value, int | float) else str(value)


def definition_record(d: Definition) -> dict[str, Any]:
    """The definition as a plain dict with its version (for JSON output and reports)."""
    return {**asdict(d), "version": d.version}


__all__ = [
    "answered_from_cube",
    "Definition",
    "HandoffRule",
    "KNOBS",
    "Reason",
    "Unit",
    "compare",
    "evaluate_tasks",
    "explain_reason",
    "funnel",
    "knobs_from_text",
    "knobs_to_text",
    "load_definition",
    "neighbours",
    "outcomes",
    "outcomes_from_tasks",
    "presets",
    "sensitivity",
]
