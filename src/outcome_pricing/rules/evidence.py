"""The evidence: task by task, the reason code, billable units and the fields the rules read
(DESIGN sections 4 and 8), in hindsight or as known at a time T.

The same CASE of `sql.py` as every other path; knowledge at T (`knowledge.py`) masks the
reopens not made yet, marks silences not elapsed as `pending` and applies only disputes
decided by T. Accepted disputes in force make billable tasks `disputed`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.rules.definition import (
    EVIDENCE_FIELDS,
    REASON_TEXT,
    REASONS,
    Definition,
    Reason,
    number_text,
)
from outcome_pricing.rules.knowledge import (
    at_us,
    dispute_params,
    disputes_in_force_sql,
    has_disputes_in_force,
    known_inputs,
    known_reason,
)
from outcome_pricing.rules.source import Source
from outcome_pricing.rules.sql import knob_params, reason_sql, unit_input
from outcome_pricing.warehouse import cluster, cube


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
    wh: Source,
    d: Definition,
    account_id: str | None = None,
    month: Any = None,
    task_ids: Sequence[str] | None = None,
    reason: Reason | str | None = None,
    limit: int | None = None,
    as_of: Any = None,
) -> pd.DataFrame:
    """Task by task: task_id, account_id, month, reason, billable_units and the fields the
    rules read (as stored: an empty field stays empty), ordered by task_id.

    Filters combine; `month` is "YYYY-MM" or a date; `limit` caps the rows returned.
    `as_of` (a UTC time) evaluates with what was known then (DESIGN 8: reopens not yet
    made do not count, silences not yet elapsed are `pending`, disputes decided later do
    not apply); None is hindsight. Accepted disputes in force make billable tasks `disputed`.
    """
    sql, params = evidence_sql(wh, d, account_id, month, task_ids, reason, as_of)
    sql = f"SELECT * FROM ({sql}) AS ev ORDER BY task_id {'LIMIT $limit' if limit is not None else ''}"
    if limit is not None:
        params["limit"] = max(int(limit), 0)
    df = wh.query_df(sql, params)
    codes = df.pop("r")
    df.insert(3, "reason", codes.map(lambda i: REASONS[int(i)].value).astype("object"))
    return df


def evidence_sql(
    wh: Source,
    d: Definition,
    account_id: str | None = None,
    month: Any = None,
    task_ids: Sequence[str] | None = None,
    reason: Reason | str | None = None,
    as_of: Any = None,
    within_sql: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The SELECT behind `evaluate_tasks` (reason as the code `r`, unordered) and its parameters,
    for callers that aggregate the evidence in SQL rather than pulling tasks into pandas.

    `within_sql` is a fixed engine condition on `tasks` (for example a semi-join on the audits),
    never text built from values.
    """
    params = knob_params(d, "d_")
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
    if within_sql is not None:
        where.append(within_sql)
    outer = ""
    if reason is not None:
        outer = "WHERE r = $reason_code"
        params["reason_code"] = _reason(reason).code
    at = None
    if as_of is not None:
        at = "$at_us"
        params["at_us"] = at_us(as_of)
    with wh.cursor() as cur:
        if task_ids is None and within_sql is None:  # cluster mode holds only the tasks side files name
            cluster.refuse_task_scan(cur, "Listing tasks without naming them (use one account-month)")
        disputes = has_disputes_in_force(cur)
    raw = cube.RAW_INPUTS
    inputs = known_inputs(raw, at) if at is not None else raw
    source = "tasks"
    if disputes:
        params |= dispute_params(d, "d_")
        source = f"tasks LEFT JOIN ({disputes_in_force_sql('d_', 'disputes', 'tasks')}) AS v USING (task_id)"
    units = (
        f"CASE r WHEN {Reason.HANDOFF_BILLED.code} THEN 1.0 "
        f"WHEN {Reason.HANDOFF_PARTIAL.code} THEN $d_partial "
        f"WHEN {Reason.CONFIRMED.code} THEN u WHEN {Reason.ASSUMED.code} THEN u ELSE 0.0 END"
    )
    sql = f"""
    SELECT task_id, account_id, month, r, ({units})::DOUBLE AS billable_units,
           {', '.join(EVIDENCE_FIELDS)}
    FROM (SELECT *, {known_reason('r0', 'd_', at, 'voided_at' if disputes else None)} AS r
          FROM (SELECT *, {unit_input(d, raw)} AS u, {reason_sql(inputs, 'd_')} AS r0
                FROM {source} {'WHERE ' + ' AND '.join(where) if where else ''}) AS t0) AS t
    {outer}
    """
    return sql, params


def explain_reason(reason: Reason | str, d: Definition) -> str:
    """One sentence on why a task got its reason code under `d`."""
    r = _reason(reason)
    text = REASON_TEXT[r]
    if r is Reason.REOPENED:
        text += f" ({number_text(d.reopen_window_hours)} h)"
    elif r is Reason.LOW_CSAT:
        text += f" ({d.min_csat})"
    elif r in (Reason.ASSUMED, Reason.PENDING):
        text += f" ({number_text(d.silence_hours)} h)"
    elif r is Reason.HANDOFF_PARTIAL:
        text += f" ({d.partial_credit:g} of an outcome)"
    return text + "."
