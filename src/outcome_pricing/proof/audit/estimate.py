"""How many billed outcomes were genuine: rates with Wilson intervals, by reason, by month.

For a definition and a selection: N billable tasks (units > 0), n audited among
them, x found not genuine.

- The false-resolution rate is x / n with the 95% Wilson score interval (no
  continuity correction); with n = 0 there is no rate (None, never a confident 0).
  Estimated genuine outcomes = billable units x (1 - rate), the interval carried
  through (units x (1 - high) .. units x (1 - low)).
- By reason code (the billable strata confirmed, assumed, handoff_billed,
  handoff_partial): N_h, n_h, x_h with Wilson intervals. The stratified rate is
  sum_h (N_h / N_a)(x_h / n_h) over the audited strata (N_a their billable
  tasks), which corrects for audits that over-sample one reason. Its interval
  is a Wilson score interval at the **effective sample size**
  n_eff = p(1 - p) / v, with v = sum_h (N_h / N_a)^2 p_h (1 - p_h) / n_h the
  stratified variance (Kish's design effect; Korn and Graubard 1998 without
  their degrees-of-freedom step): it is the plain Wilson interval when one
  stratum holds everything and, unlike a normal interval, stays inside [0, 1]
  and wide when the rate is near 0. When v = 0 (every stratum all genuine, or all
  not) n_eff = sum_h n_h. The share of N in strata without audits is stated
  (`unaudited_share`): the stratified rate says nothing about them.
- Fewer than `MIN_AUDITS` audits: a warning goes with the number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from outcome_pricing.proof.audit.records import (
    EVERYTHING,
    Selection,
    audit_tally,
    billable_counts,
)
from outcome_pricing.proof.stats import wilson_interval, z_value
from outcome_pricing.rules import BILLABLE_REASONS, Definition
from outcome_pricing.rules.source import Source

CONFIDENCE = 0.95
MIN_AUDITS = 30  # below this many audits an interval is too wide to bill on: say so


@dataclass(frozen=True)
class Rate:
    """x events among n with the Wilson interval; all None when n = 0."""

    n: int
    x: int
    rate: float | None
    low: float | None
    high: float | None

    @classmethod
    def of(cls, x: int, n: int) -> Rate:
        if n <= 0:
            return cls(0, 0, None, None, None)
        low, high = wilson_interval(int(x), int(n), CONFIDENCE)
        # The bounds at x = 0 and x = n are exactly 0 and 1 (the formula leaves float dust).
        low = 0.0 if x == 0 else low
        high = 1.0 if x == n else high
        return cls(int(n), int(x), x / n, low, high)


def small_sample_warning(n: int, what: str = "audits") -> str | None:
    """The words a small sample gets instead of a confident number."""
    if n == 0:
        return f"No {what} in this selection: there is no rate to report. Draw a sample and audit it."
    if n < MIN_AUDITS:
        return (f"Only {n} {what} (fewer than {MIN_AUDITS}): read the interval, not the point; "
                "audit more before billing on it.")
    return None


@dataclass(frozen=True)
class Stratified:
    """The stratified false-resolution rate, its interval and the unaudited share of N."""

    rate: float | None
    low: float | None
    high: float | None
    unaudited_share: float | None
    effective_n: float | None


def stratified_rate(strata: Sequence[tuple[int, int, int]]) -> Stratified:
    """(N_h, n_h, x_h) per stratum -> the stratified rate with its effective-n Wilson interval."""
    total = sum(big for big, _, _ in strata)
    audited = [(big, n, x) for big, n, x in strata if n > 0]
    n_a = sum(big for big, _, _ in audited)
    unaudited = None if total == 0 else (total - n_a) / total
    if n_a == 0:
        return Stratified(None, None, None, unaudited, None)
    weights = [(big / n_a, n, x / n) for big, n, x in audited]
    p = sum(w * ph for w, _, ph in weights)
    v = sum(w * w * ph * (1 - ph) / n for w, n, ph in weights)
    n_eff = p * (1 - p) / v if v > 0 else float(sum(n for _, n, _ in audited))
    low, high = _wilson_real(p, n_eff)
    return Stratified(p, low, high, unaudited, n_eff)


def _wilson_real(p: float, n: float) -> tuple[float, float]:
    """The Wilson score interval for a proportion p observed on a (possibly fractional) n."""
    z = z_value(CONFIDENCE)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class StratumEstimate:
    reason: str
    billable_outcomes: int
    audited: int
    not_genuine: int
    rate: Rate

    def record(self) -> dict[str, Any]:
        return {"reason": self.reason, **_rate_keys(self.billable_outcomes, self.rate)}


def _rate_keys(big: int, r: Rate) -> dict[str, Any]:
    return {"billable_outcomes": int(big), "audited": r.n, "not_genuine": r.x,
            "false_rate": r.rate, "ci_low": r.low, "ci_high": r.high}


@dataclass(frozen=True)
class AuditEstimate:
    """Everything `audit` reports for one definition and selection."""

    definition: str
    definition_version: str
    selection: Selection
    billable_outcomes: int  # billable tasks (units > 0)
    billable_units: float
    overall: Rate
    stratified: Stratified
    by_reason: tuple[StratumEstimate, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def genuine_units(self) -> tuple[float | None, float | None, float | None]:
        """Estimated genuine outcomes (units): point, low, high."""
        r = self.overall
        if r.rate is None or r.low is None or r.high is None:
            return None, None, None
        u = self.billable_units
        return u * (1 - r.rate), u * (1 - r.high), u * (1 - r.low)

    def record(self) -> dict[str, Any]:
        """The JSON keys of DESIGN section 6 (judge and sample_size are added by the caller)."""
        point, low, high = self.genuine_units
        return {
            **_rate_keys(self.billable_outcomes, self.overall),
            "billable_units": self.billable_units,
            "genuine_outcomes": point, "genuine_low": low, "genuine_high": high,
            "stratified_false_rate": self.stratified.rate,
            "stratified_ci_low": self.stratified.low,
            "stratified_ci_high": self.stratified.high,
            "unaudited_share": self.stratified.unaudited_share,
            "by_reason": [s.record() for s in self.by_reason],
            "warnings": list(self.warnings),
        }

    def sentence(self) -> str:
        """'Of 8,776 outcomes billed, 93% (90-95%) were genuine on 412 audits.'"""
        r = self.overall
        head = f"Of {self.billable_outcomes:,} billed outcomes ({self.selection.describe()})"
        if r.rate is None or r.low is None or r.high is None:
            return f"{head}, none was audited: no estimate yet."
        # Whole percents, unless they would hide the interval (90% (90%-90%)).
        digits = 0 if f"{1 - r.high:.0%}" != f"{1 - r.low:.0%}" else 1
        return (f"{head}, {1 - r.rate:.{digits}%} ({1 - r.high:.{digits}%}-{1 - r.low:.{digits}%}) "
                f"were genuine on {r.n:,} audits.")


def _audited_billable(wh: Source, d: Definition, selection: Selection) -> pd.DataFrame:
    """The audit tally's billable rows (one row per group, `tasks` audited tasks in it)."""
    tally = audit_tally(wh, d, selection)
    return tally[tally["billable"]]


def _n_x(billable: pd.DataFrame) -> tuple[int, int]:
    """Audited tasks and those found not genuine among the tally rows."""
    return int(billable["tasks"].sum()), int(billable.loc[~billable["genuine"], "tasks"].sum())


def _strata(counts: pd.DataFrame, audited: pd.DataFrame) -> tuple[StratumEstimate, ...]:
    out = []
    for reason in BILLABLE_REASONS:
        big = int(counts.loc[counts["reason"] == reason.value, "tasks"].sum())
        n, x = _n_x(audited[audited["reason"] == reason.value])
        if big or n:
            out.append(StratumEstimate(reason.value, big, n, x, Rate.of(x, n)))
    return tuple(out)


def estimate(wh: Source, d: Definition, selection: Selection = EVERYTHING) -> AuditEstimate:
    """The audit estimate of `d` over `selection` (see the module docstring for the method)."""
    counts, units = billable_counts(wh, d, selection)
    billable = _audited_billable(wh, d, selection)
    n, x = _n_x(billable)
    overall = Rate.of(x, n)
    strata = _strata(counts, billable)
    strat = stratified_rate([(s.billable_outcomes, s.audited, s.not_genuine) for s in strata])
    warnings = [w for w in (small_sample_warning(overall.n),) if w]
    if strat.unaudited_share:
        missing = ", ".join(s.reason for s in strata if s.audited == 0 and s.billable_outcomes)
        warnings.append(f"{strat.unaudited_share:.1%} of the billable outcomes are in reasons with no "
                        f"audit ({missing}): the stratified rate says nothing about them.")
    return AuditEstimate(
        definition=d.name, definition_version=d.version, selection=selection,
        billable_outcomes=int(counts["tasks"].sum()), billable_units=units,
        overall=overall, stratified=strat, by_reason=strata, warnings=tuple(warnings),
    )


def by_account(wh: Source, d: Definition, selection: Selection = EVERYTHING) -> pd.DataFrame:
    """One row per account: billable_outcomes, audited, not_genuine, false_rate, ci_low, ci_high."""
    counts, _ = billable_counts(wh, d, selection)
    return _grouped(counts, _audited_billable(wh, d, selection), "account_id")


def trend(wh: Source, d: Definition, selection: Selection = EVERYTHING) -> pd.DataFrame:
    """One row per month: billable_outcomes, audited, not_genuine, false_rate, ci_low, ci_high."""
    counts, _ = billable_counts(wh, d, selection)
    out = _grouped(counts, _audited_billable(wh, d, selection), "month")
    out["month"] = pd.to_datetime(out["month"])
    return out


def _grouped(counts: pd.DataFrame, billable: pd.DataFrame, key: str) -> pd.DataFrame:
    big = counts.groupby(key)["tasks"].sum()
    n = billable.groupby(key)["tasks"].sum()
    x = billable[~billable["genuine"]].groupby(key)["tasks"].sum()
    keys = sorted(set(big.index) | set(n.index))
    rows = []
    for k in keys:
        r = Rate.of(int(x.get(k, 0)), int(n.get(k, 0)))
        rows.append({key: k, **_rate_keys(int(big.get(k, 0)), r)})
    columns = [key, "billable_outcomes", "audited", "not_genuine", "false_rate", "ci_low", "ci_high"]
    return pd.DataFrame(rows, columns=columns)
