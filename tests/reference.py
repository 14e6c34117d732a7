"""The rules read literally in plain Python (DESIGN section 4, with the reopen gap
recomputed from the rows): the slow, obvious reference the SQL and the cube are
checked against."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from outcome_pricing.rules import REASONS, Definition, Reason
from tests.rows import BASE_TASK


def _yes(value: Any) -> bool:
    """The rules read a missing boolean as false."""
    return value is not None and bool(value)


def reference_gaps(rows: Iterable[dict[str, Any]]) -> dict[str, float | None]:
    """Hours from closed_at to the next created_at of the same account, requester and topic."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["account_id"], r["requester_id"], r["topic"])].append(r)
    gaps: dict[str, float | None] = {}
    for members in groups.values():
        members.sort(key=lambda r: (r["created_at"], r["task_id"]))
        for this, nxt in zip(members, [*members[1:], None], strict=True):
            gaps[this["task_id"]] = (
                None if nxt is None else (nxt["created_at"] - this["closed_at"]).total_seconds() / 3600
            )
    return gaps


def reference_rule(t: dict[str, Any], gap: float | None, d: Definition) -> tuple[Reason, float]:
    """DESIGN section 4, read literally: the first rule that decides, and the units."""
    if not _yes(t["ai_enabled"]):
        return Reason.AI_NOT_LIVE, 0.0
    if not _yes(t["ai_answered"]):
        return Reason.NO_AI_ANSWER, 0.0
    if d.reopen_window_hours > 0 and gap is not None and gap <= d.reopen_window_hours:
        return Reason.REOPENED, 0.0
    if d.min_csat > 0 and t["csat"] is not None and t["csat"] < d.min_csat:
        return Reason.LOW_CSAT, 0.0
    if _yes(t["ai_error_corrected"]) and not d.count_corrected_errors:
        return Reason.CORRECTED_ERROR, 0.0
    if d.require_verification and not _yes(t["verified"]):
        return Reason.UNVERIFIED, 0.0
    if _yes(t["handoff"]):
        if d.handoff == "always" or (d.handoff == "with_context" and _yes(t["context_retained"])):
            return Reason.HANDOFF_BILLED, 1.0
        if d.partial_credit > 0:
            return Reason.HANDOFF_PARTIAL, float(d.partial_credit)
        return Reason.HANDOFF, 0.0
    resolved = t["n_issues_resolved"] if t["n_issues_resolved"] is not None else t["n_issues"]
    units = 1.0 if d.unit == "conversation" else float(max(1, resolved))
    if _yes(t["customer_confirmed"]):
        return Reason.CONFIRMED, units
    quiet = t["quiet_hours"]
    if d.assumed_resolution and quiet is not None and quiet >= d.silence_hours:
        return Reason.ASSUMED, units
    return Reason.NOT_RESOLVED, 0.0


def reference_tasks(rows: Sequence[dict[str, Any]], d: Definition) -> pd.DataFrame:
    """Per task: task_id, account_id, month, reason, billable_units (plain Python)."""
    full = [{**BASE_TASK, **r} for r in rows]
    gaps = reference_gaps(full)
    out = []
    for t in full:
        reason, units = reference_rule(t, gaps[t["task_id"]], d)
        month = pd.Timestamp(t["closed_at"].year, t["closed_at"].month, 1)
        out.append((t["task_id"], t["account_id"], month, reason.value, units))
    return pd.DataFrame(out, columns=["task_id", "account_id", "month", "reason", "billable_units"])


def reference_outcomes(tasks: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Reference aggregation: task counts per reason and the plain sum of units."""
    keys = list(by) or (lambda _: 0)
    rows = []
    for key, g in tasks.groupby(keys, sort=True):
        counts = g["reason"].value_counts()
        row = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=False))
        row |= {"tasks": len(g), "billable_units": float(g["billable_units"].sum())}
        row |= {r.column: int(counts.get(r.value, 0)) for r in REASONS}
        rows.append(row)
    return pd.DataFrame(rows)
