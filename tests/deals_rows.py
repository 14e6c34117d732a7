"""Hand-made rows for the deal tests: tasks and accounts loaded the way files land, and the
savings_usd metric read literally in plain Python (the reference the SQL is checked against)."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import pandas as pd

from outcome_pricing.warehouse import Warehouse
from outcome_pricing.warehouse.schema import ACCOUNT_COLUMNS
from tests.rows import BASE_TASK, load_tasks


def load_accounts(wh: Warehouse, rows: Sequence[dict[str, Any]]) -> None:
    frame = pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in ACCOUNT_COLUMNS])
    frame = frame.astype(object).where(frame.notna(), None)
    typed = ", ".join(f"CAST({c.name} AS {c.sql_type}) AS {c.name}" for c in ACCOUNT_COLUMNS)
    with wh.transaction() as cur:
        cur.register("accounts_frame", frame)
        cur.execute(f"CREATE OR REPLACE TEMP TABLE staged_accounts AS SELECT {typed} FROM accounts_frame")
        cur.unregister("accounts_frame")
        wh.apply_staged(cur, tasks=None, accounts="staged_accounts", source="test", sha256=None)
        cur.execute("DROP TABLE staged_accounts")


def task(n: int, account: str, day: dt.date, **over: Any) -> dict[str, Any]:
    """Task n of ``account`` closing on ``day`` (a new requester each, so nothing reopens)."""
    at = dt.datetime(day.year, day.month, day.day, 9)
    return {**BASE_TASK, "task_id": f"{account}-{n}", "account_id": account, "requester_id": f"R{account}{n}",
            "created_at": at, "closed_at": at + dt.timedelta(minutes=30), **over}


def load(wh: Warehouse, tasks: Sequence[dict[str, Any]], accounts: Sequence[dict[str, Any]] = ()) -> None:
    load_tasks(wh, tasks)
    if accounts:
        load_accounts(wh, accounts)


def _ms(seconds: float) -> int:
    return math.floor(seconds * 1000 + 0.5)  # as the SQL's round: whole ms, halves away from zero (>= 0)


def reference_saved_ms(tasks: Sequence[dict[str, Any]]) -> dict[tuple[str, pd.Timestamp], Fraction]:
    """DESIGN 11 read literally: per account-month, sum over AI tasks with human_seconds of
    (baseline - human), the baseline falling back account+topic, account, portfolio+topic, portfolio."""
    base = [t for t in tasks if not t["ai_enabled"] and t["human_seconds"] is not None]

    def mean(rows: list[dict[str, Any]]) -> Fraction | None:
        return Fraction(sum(_ms(r["human_seconds"]) for r in rows), len(rows)) if rows else None

    by_at: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    by_a: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_t: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in base:
        by_at[(r["account_id"], r["topic"])].append(r)
        by_a[r["account_id"]].append(r)
        by_t[r["topic"]].append(r)
    out: dict[tuple[str, pd.Timestamp], Fraction] = defaultdict(Fraction)
    for t in tasks:
        if not t["ai_enabled"] or t["human_seconds"] is None:
            continue
        pools = (by_at.get((t["account_id"], t["topic"]), []), by_a.get(t["account_id"], []),
                 by_t.get(t["topic"], []), base)
        b = next((mean(p) for p in pools if p), None)  # the first pool with a task (a mean may be 0)
        month = pd.Timestamp(t["closed_at"].year, t["closed_at"].month, 1)
        out[(t["account_id"], month)] += (b - _ms(t["human_seconds"])) if b is not None else Fraction(0)
    return dict(out)
