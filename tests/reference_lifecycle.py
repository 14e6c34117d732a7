"""DESIGN section 8 read literally, in plain Python: the slow, obvious reference the invoices
engine (SQL step functions, cube hindsight, integer-cent ratings) is checked against.

Every task is evaluated at every close with `reference_rule` (tests/reference.py) on the
inputs known then; every month is rated at every close with the exact Decimal `bill`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from outcome_pricing.pricing.charges import Usage, bill, bill_total
from outcome_pricing.pricing.terms import Metric, Plan
from outcome_pricing.rules import BILLABLE_REASONS, Definition, Reason
from tests.reference import reference_gaps, reference_rule
from tests.rows import BASE_TASK

HOUR_US = 3_600_000_000


def _us(t: dt.datetime) -> int:
    return (t - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)


def _round_half_away(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def month_start(t: dt.datetime | dt.date) -> dt.datetime:
    return dt.datetime(t.year, t.month, 1)


def next_month(m: dt.datetime) -> dt.datetime:
    return dt.datetime(m.year + (m.month == 12), m.month % 12 + 1, 1)


def close_of(m: dt.datetime, lag_days: int) -> dt.datetime:
    """T(M): 00:00 UTC on the first day of M+1, plus the close lag."""
    return next_month(m) + dt.timedelta(days=lag_days)


def voided_at(task: dict[str, Any], disputes: Sequence[dict[str, Any]], d: Definition) -> dt.datetime | None:
    """The earliest decided_at of the task's accepted disputes filed within the window."""
    end = next_month(month_start(task["closed_at"]))
    found = [
        x["decided_at"] for x in disputes
        if x["task_id"] == task["task_id"] and x["status"] == "accepted" and x["decided_at"] is not None
        and (d.dispute_window_days == 0 or x["filed_at"] <= end + dt.timedelta(days=d.dispute_window_days))
    ]
    return min(found) if found else None


def known_rule(
    task: dict[str, Any], gap: float | None, d: Definition, at: dt.datetime | None, voided: dt.datetime | None
) -> tuple[Reason, float]:
    """The reason and units of a task as known at `at` (None = hindsight)."""
    closed = _us(task["closed_at"])
    known_gap = gap
    if at is not None and gap is not None and closed + _round_half_away(gap * HOUR_US) > _us(at):
        known_gap = None  # the next task was not created yet
    reason, units = reference_rule(task, known_gap, d)
    if at is not None and reason is Reason.ASSUMED and closed + _round_half_away(d.silence_hours * HOUR_US) > _us(at):
        return Reason.PENDING, 0.0
    if reason in BILLABLE_REASONS and voided is not None and (at is None or voided <= at):
        return Reason.DISPUTED, 0.0
    return reason, units


class Lifecycle:
    """Tasks, disputes and a definition; ratings of any month at any close, by brute force."""

    def __init__(self, rows: Sequence[dict[str, Any]], disputes: Sequence[dict[str, Any]], d: Definition) -> None:
        self.tasks = [{**BASE_TASK, **r} for r in rows]
        self.gaps = reference_gaps(self.tasks)
        self.d = d
        self.voided = {t["task_id"]: voided_at(t, disputes, d) for t in self.tasks}
        self.last = max(month_start(t["closed_at"]) for t in self.tasks)

    def reason_at(self, task: dict[str, Any], at: dt.datetime | None) -> tuple[Reason, float]:
        return known_rule(task, self.gaps[task["task_id"]], self.d, at, self.voided[task["task_id"]])

    def usage(self, account: str, month: dt.datetime, at: dt.datetime | None) -> Usage:
        mine = [t for t in self.tasks if t["account_id"] == account and month_start(t["closed_at"]) == month]
        outcomes = Decimal(0)
        for t in mine:
            reason, _ = self.reason_at(t, at)
            if reason is Reason.HANDOFF_PARTIAL:
                outcomes += Decimal(str(self.d.partial_credit))
            elif reason is Reason.HANDOFF_BILLED:
                outcomes += 1
            elif reason in (Reason.CONFIRMED, Reason.ASSUMED):
                resolved = t["n_issues_resolved"] if t["n_issues_resolved"] is not None else t["n_issues"]
                outcomes += 1 if self.d.unit == "conversation" else max(1, resolved)
        quantities = {
            Metric.OUTCOMES: outcomes,
            Metric.CONVERSATIONS: Decimal(sum(1 for t in mine if t["ai_enabled"])),
            Metric.TASKS: Decimal(len(mine)),
            Metric.SEATS: Decimal(0),
            Metric.INPUT_TOKENS_M: Decimal(sum(t["tokens_in"] for t in mine)) / 1_000_000,
            Metric.OUTPUT_TOKENS_M: Decimal(sum(t["tokens_out"] for t in mine)) / 1_000_000,
        }
        human_ms = sum(round((t["human_seconds"] or 0) * 1000) for t in mine)
        return Usage(quantities, human_ms=human_ms)

    def rating(self, plan: Plan, account: str, month: dt.datetime, at: dt.datetime | None) -> Decimal:
        return bill_total(bill(plan, self.usage(account, month, at)))

    def months(self, account: str) -> list[dt.datetime]:
        first = min(month_start(t["closed_at"]) for t in self.tasks if t["account_id"] == account)
        out = [first]
        while out[-1] < self.last:
            out.append(next_month(out[-1]))
        return out

    def invoices(self, plan: Plan) -> dict[tuple[str, dt.datetime], dict[str, Decimal]]:
        """Per (account, month N): issued, adjustments, billed, final, open (DESIGN 8, literally)."""
        lag = plan.close_lag_days
        out = {}
        for account in sorted({t["account_id"] for t in self.tasks}):
            months = self.months(account)
            for i, n in enumerate(months):
                issued = self.rating(plan, account, n, close_of(n, lag))
                adjustments = sum(
                    (self.rating(plan, account, m, close_of(n, lag))
                     - self.rating(plan, account, m, close_of(months[i - 1], lag)) for m in months[:i]),
                    Decimal(0),
                )
                final = self.rating(plan, account, n, None)
                at_last = self.rating(plan, account, n, close_of(self.last, lag))
                out[(account, n)] = {
                    "issued": issued, "adjustments": adjustments, "billed": issued + adjustments,
                    "final": final, "open": final - at_last,
                }
        return out
