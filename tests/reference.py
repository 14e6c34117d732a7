"""The rules and the billing read literally in plain Python (DESIGN section 4, with the
reopen gap recomputed from the rows; sections 5 and 10 for the charges): the slow,
obvious reference the SQL, the cube and the backtest are checked against."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, localcontext
from typing import Any

import pandas as pd

from outcome_pricing.pricing.terms import Charge, Plan
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


# ============================================================================ billing, read literally
# DESIGN sections 5 and 10 in plain Python over task rows: the slow, obvious reference the
# backtest (cube, integer cents, vectorised commitment) and the statement are checked against.
# Written apart from pricing/charges.py on purpose: loops over units and months, no arrays.
def _half_up(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _ceil(x: Decimal) -> Decimal:
    return x.to_integral_value(rounding=ROUND_CEILING)


def reference_charge(charge: Charge, quantity: Decimal, split: dict[str, Decimal]) -> list[Decimal]:
    """The lines (cents, rounded) of one charge on one account-month's quantity."""
    with localcontext() as ctx:
        ctx.prec = 80
        if charge.by is not None:
            listed = [v for v, _ in charge.prices if v != "default"]
            lines = [_half_up(split.get(v, Decimal(0)) * charge.price_of(v)) for v in listed]
            rest = sum((q for v, q in split.items() if v not in listed), Decimal(0))
            return [*lines, _half_up(rest * charge.price_of("default"))]
        q = max(quantity - charge.included, Decimal(0))
        if charge.block is not None:
            q = _ceil(q / charge.block)
        if not charge.tiers:
            return [_half_up(q * (charge.price or Decimal(0)))]
        amount = Decimal(0)
        low = Decimal(0)
        for tier in charge.tiers:
            high = tier.up_to
            if charge.mode.value == "volume":
                if high is None or q <= high:
                    amount = q * tier.price + (tier.flat if q > 0 else 0)
                    break
            else:
                if q > low:
                    amount += (min(q, high) - low if high is not None else q - low) * tier.price + tier.flat
            low = high if high is not None else low
        return [_half_up(amount)]


def reference_month(plan: Plan, quantities: dict[str, Decimal], splits: dict[tuple[str, str], dict[str, Decimal]]) -> tuple[Decimal, Decimal]:
    """(usage after the cap, the rest of the month's lines: fee and minimum true-up)."""
    usage = Decimal(0)
    for c in plan.charges:
        split = splits.get((c.by.value, c.metric.value), {}) if c.by is not None else {}
        usage += sum(reference_charge(c, quantities[c.metric.value], split), Decimal(0))
    if plan.cap > 0:
        usage = min(usage, plan.cap)
    rest = plan.platform_fee
    if plan.minimum > 0 and usage + rest < plan.minimum:
        rest = plan.minimum - usage
    return usage, rest


def reference_commitment(plan: Plan, usages: list[Decimal]) -> list[tuple[Decimal, Decimal]]:
    """Per month of one account from its first charged month: (commitment lines, breakage)."""
    c = plan.commitment
    assert c is not None
    out = []
    balance = carried = Decimal(0)
    cap = _half_up(c.rollover_max_pct * c.amount) if c.rollover else Decimal(0)
    for i, usage in enumerate(usages):
        lines = Decimal(0)
        if i % c.months == 0:
            balance = carried + c.amount
            carried = Decimal(0)
            lines += c.amount
        drawn = min(usage, balance)
        balance -= drawn
        lines -= drawn
        breakage = Decimal(0)
        if i % c.months == c.months - 1:
            carried = min(balance, cap)
            breakage = balance - carried
            balance = Decimal(0)
        out.append((lines, breakage))
    return out


def reference_bills(rows: Sequence[dict[str, Any]], d: Definition, plan: Plan) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """Per (account, 'YYYY-MM'): (total, breakage) under ``plan``, from the task rows.

    Every month from an account's first task to the last month of all rows is billed;
    there is no accounts file (0 seats). Tokens per million; a missing dimension value is ''.
    """
    full = [{**BASE_TASK, **r} for r in rows]
    units = dict(zip(*reference_tasks(rows, d)[["task_id", "billable_units"]].to_dict("list").values(), strict=True))
    month_of = {t["task_id"]: (t["closed_at"].year, t["closed_at"].month) for t in full}
    last = max(month_of.values())
    out: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for account in sorted({t["account_id"] for t in full}):
        mine = [t for t in full if t["account_id"] == account]
        y, m = min(month_of[t["task_id"]] for t in mine)
        months = []
        while (y, m) <= last:
            months.append((y, m))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        usages, rests = [], []
        for ym in months:
            here = [t for t in mine if month_of[t["task_id"]] == ym]
            q = {
                "outcomes": sum((Decimal(repr(units[t["task_id"]])) for t in here), Decimal(0)),
                "conversations": Decimal(sum(1 for t in here if t["ai_enabled"])),
                "tasks": Decimal(len(here)),
                "input_tokens_m": Decimal(sum(t["tokens_in"] or 0 for t in here)) / 10**6,
                "output_tokens_m": Decimal(sum(t["tokens_out"] or 0 for t in here)) / 10**6,
                "seats": Decimal(0),
            }
            hours = sum((Decimal(str(t["human_seconds"] or 0)) for t in here), Decimal(0)) / 3600
            splits: dict[tuple[str, str], dict[str, Decimal]] = {}
            for c in plan.charges:
                if c.metric.value == "seats_needed":
                    q["seats_needed"] = _ceil(hours / c.hours_per_seat)
                if c.by is None:
                    continue
                split: dict[str, Decimal] = {}
                for t in here:
                    value = t[c.by.value] or ""
                    one = {"outcomes": Decimal(repr(units[t["task_id"]])), "tasks": Decimal(1),
                           "conversations": Decimal(int(bool(t["ai_enabled"]))),
                           "input_tokens_m": Decimal(t["tokens_in"] or 0) / 10**6,
                           "output_tokens_m": Decimal(t["tokens_out"] or 0) / 10**6}[c.metric.value]
                    split[value] = split.get(value, Decimal(0)) + one
                splits[(c.by.value, c.metric.value)] = split
            usage, rest = reference_month(plan, q, splits)
            usages.append(usage)
            rests.append(rest)
        spans = reference_commitment(plan, usages) if plan.commitment else [(Decimal(0), Decimal(0))] * len(months)
        for (y, m), usage, rest, (lines, breakage) in zip(months, usages, rests, spans, strict=True):
            out[(account, f"{y:04d}-{m:02d}")] = (usage + rest + lines, breakage)
    return out
