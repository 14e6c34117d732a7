"""The rules of "resolved" in SQL: the one CASE expression of DESIGN section 4.

Written once over named inputs and run on raw `tasks` (task level, and the slow
path of `outcomes`); on the definition cube's profiles (the fast path) the same
CASE runs in numpy (`profile_rules.py`, checked against this text on random
profiles by tests/test_profile_rules.py). Knob values are bound parameters with
a prefix, so several definitions can be evaluated in one query.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from outcome_pricing.rules.definition import REASONS, Definition, Reason, Unit


def reason_sql(cols: Mapping[str, str], p: str) -> str:
    """The rules of DESIGN section 4 as one CASE returning the reason's rule-order code.

    `cols` maps input names to SQL (raw `tasks` or the cube); knob values are the
    bound parameters `$<p>...` (see `knob_params`).
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


def knob_params(d: Definition, p: str) -> dict[str, Any]:
    """The knob values `reason_sql` reads, as bound parameters named `<p>...` (never formatted in)."""
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


def unit_input(d: Definition, cols: Mapping[str, str]) -> str:
    """Units of a confirmed or assumed task: 1 per conversation, or per resolved issue."""
    return cols["issue_units"] if d.unit == Unit.ISSUE else cols["tasks"]


