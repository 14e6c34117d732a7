"""The ROI page's shareable link: a case's parameters to and from the URL.

`CaseRequest` is everything that defines a case on the page;
`request_from_query` reads one from URL parameters, and every bad value falls
back to its default with a notice naming the parameter (never an error: a
shared link must always open). Rates travel as fractions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from outcome_pricing.analysis.roi import (
    DEFAULT_DISCOUNT_RATE,
    DEFAULT_RISK_ADJUSTMENT,
    DEFAULT_YEARS,
    MAX_YEARS,
    OVERRIDABLE,
    SPECS,
    CaseSettings,
    Prospect,
    SubjectKind,
)

MODES = tuple(SubjectKind)
PROSPECT_KEYS = ("monthly_volume", "agent_hourly_cost", "seats", "seat_price")
PROSPECT_DEFAULTS = {
    "monthly_volume": 10_000.0, "agent_hourly_cost": 35.0, "seats": 25.0, "seat_price": 115.0,
}
HUMAN_MINUTES_RANGE = (0.0, 600.0)
DEFAULT_HUMAN_MINUTES = 8.0
MAX_NAME_LENGTH = 80


@dataclass(frozen=True)
class CaseRequest:
    """Everything that defines a case on the page, as it travels in the URL.

    `definition` None means the scenario's definition (the sidebar's, kept in
    the URL by the scenario itself).
    """

    mode: SubjectKind = SubjectKind.ACCOUNT
    account: str | None = None
    plan: str | None = None
    definition: str | None = None
    years: int = DEFAULT_YEARS
    discount_rate: float = DEFAULT_DISCOUNT_RATE
    risk_adjustment: float = DEFAULT_RISK_ADJUSTMENT
    prospect_name: str = "Prospect"
    human_minutes: float = DEFAULT_HUMAN_MINUTES
    overrides: Mapping[str, float] = field(default_factory=dict)

    def settings(self) -> CaseSettings:
        """The case's settings; in prospect mode the prospect's own figures are not overrides."""
        skip = set(PROSPECT_KEYS) if self.mode == SubjectKind.PROSPECT else set()
        return CaseSettings(
            self.years, self.discount_rate, self.risk_adjustment,
            {k: v for k, v in self.overrides.items() if k not in skip},
        )

    def prospect(self) -> Prospect:
        v = {**PROSPECT_DEFAULTS, **{k: self.overrides[k] for k in PROSPECT_KEYS if k in self.overrides}}
        return Prospect(self.prospect_name, v["monthly_volume"], self.human_minutes,
                        v["agent_hourly_cost"], v["seats"], v["seat_price"])

    def to_query(self) -> dict[str, str]:
        """The URL parameters of this case (only what differs from the defaults, plus the mode)."""
        q: dict[str, str] = {"mode": str(self.mode)}
        if self.mode == SubjectKind.ACCOUNT and self.account:
            q["account"] = self.account
        if self.plan:
            q["plan"] = self.plan
        if self.definition:
            q["definition"] = self.definition
        if self.years != DEFAULT_YEARS:
            q["years"] = str(self.years)
        if self.discount_rate != DEFAULT_DISCOUNT_RATE:
            q["rate"] = f"{self.discount_rate:g}"
        if self.risk_adjustment != DEFAULT_RISK_ADJUSTMENT:
            q["risk"] = f"{self.risk_adjustment:g}"
        if self.mode == SubjectKind.PROSPECT:
            q["prospect"] = self.prospect_name
            q["human_minutes"] = f"{self.human_minutes:g}"
        q.update({k: f"{v:g}" for k, v in sorted(self.overrides.items())})
        return q


URL_KEYS = (
    "mode", "account", "plan", "definition", "years", "rate", "risk", "prospect", "human_minutes",
    *OVERRIDABLE,
)


def _number(q: Mapping[str, str], key: str, lo: float, hi: float, default: float,
            notices: list[str], integer: bool = False, fallback: str | None = None) -> float:
    raw = q.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
        ok = math.isfinite(value) and lo <= value <= hi and (not integer or value.is_integer())
    except ValueError:
        ok = False
    if ok:
        return value
    kind = "a whole number" if integer else "a number"
    notices.append(
        f"Link parameter '{key}' = '{raw}' is not {kind} between {lo:g} and {hi:g}; "
        f"using {fallback or f'the default ({default:g})'}."
    )
    return default


def _choice(q: Mapping[str, str], key: str, allowed: Sequence[str], default: str | None,
            notices: list[str], what: str) -> str | None:
    raw = q.get(key)
    if raw is None or raw in allowed:
        return raw if raw is not None else default
    notices.append(
        f"Link parameter '{key}' = '{raw[:MAX_NAME_LENGTH]}' is not a known {what}; "
        f"using {default or 'the default'}."
    )
    return default


def request_from_query(
    q: Mapping[str, str],
    *,
    accounts: Sequence[str],
    plans: Sequence[str],
    definitions: Sequence[str],
    default_plan: str | None = None,
    default_account: str | None = None,
) -> tuple[CaseRequest, list[str]]:
    """Read a case from URL parameters; every bad value falls back to its default with a
    notice naming the parameter (never an error: a shared link must always open).

    Without an account in the link the case opens on ``default_account`` (see
    `roi.default_account`) when it is one of ``accounts``, else the first."""
    notices: list[str] = []
    mode = _choice(q, "mode", MODES, SubjectKind.ACCOUNT, notices, f"mode ({', '.join(MODES)})")
    fallback = default_account if default_account in accounts else (accounts[0] if accounts else None)
    account = _choice(q, "account", accounts, fallback, notices, "account")
    plan = _choice(q, "plan", plans, default_plan, notices, "plan")
    definition = _choice(q, "definition", definitions, None, notices, "definition")
    overrides = {}
    for key in OVERRIDABLE:
        if key in q:
            s = SPECS[key]
            value = _number(q, key, s.minimum, s.maximum, math.nan, notices,
                            fallback="the measured or default value")
            if not math.isnan(value):
                overrides[key] = value
    name = q.get("prospect", "Prospect").strip()[:MAX_NAME_LENGTH] or "Prospect"
    request = CaseRequest(
        mode=SubjectKind(mode or SubjectKind.ACCOUNT),
        account=account,
        plan=plan,
        definition=definition,
        years=int(_number(q, "years", 1, MAX_YEARS, DEFAULT_YEARS, notices, integer=True)),
        discount_rate=_number(q, "rate", 0, 1, DEFAULT_DISCOUNT_RATE, notices),
        risk_adjustment=_number(q, "risk", 0, 1, DEFAULT_RISK_ADJUSTMENT, notices),
        prospect_name=name,
        human_minutes=_number(q, "human_minutes", *HUMAN_MINUTES_RANGE, DEFAULT_HUMAN_MINUTES, notices),
        overrides=overrides,
    )
    return request, notices
