"""Evaluating a definition: outcomes per account-month (cube or task level), and the evidence.

The rules of `sql.py` run two ways that agree exactly:
- task by task on `tasks` (`evaluate_tasks`): the evidence;
- aggregated on the definition cube (`outcomes`): fast, for every chart.
The cube (see `warehouse/cube.py`) buckets hours to its grid, which is exact for
hour knobs on the grid; other definitions are aggregated from `tasks` directly.
The warehouse is read through the `Source` protocol, never imported.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.rules.definition import (
    EVIDENCE_FIELDS,
    REASON_TEXT,
    REASONS,
    RESOLVED_REASONS,
    Definition,
    Reason,
    Unit,
    number_text,
)
from outcome_pricing.rules.source import Source
from outcome_pricing.rules.sql import knob_params, reason_sql, unit_input
from outcome_pricing.warehouse import cube

GROUP_COLUMNS = ("account_id", "month")


def answered_from_cube(wh: Source, d: Definition) -> bool:
    """Whether `outcomes(wh, d)` reads the cube (else it aggregates raw tasks)."""
    if not d.cube_exact:
        return False
    with wh.cursor() as cur:
        return cube.is_current(cur)


def by_columns(by: Sequence[str] | str) -> tuple[str, ...]:
    """`by` as a tuple of group columns, or ConfigError naming the allowed ones."""
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


def outcomes(
    wh: Source, d: Definition, by: Sequence[str] | str = GROUP_COLUMNS
) -> pd.DataFrame:
    """Billable outcomes under `d`, grouped by `by` (any of account_id, month; () = total).

    Columns: the `by` columns, tasks, billable_units, one `n_<reason>` task count
    per reason code, ai_tasks (tasks with the AI live) and resolution_rate (tasks
    counted as a whole outcome / ai_tasks). An outcome belongs to the month its task
    closed. Answered from the cube when exact, else from tasks: identical numbers.
    """
    cols = by_columns(by)
    found = _from_cube(wh, [d])
    if found is None:
        return _pivot(*_counts_from_tasks(wh, d), d, cols)
    arrays, reasons = found
    return _pivot(*arrays.counts(reasons[0], per_key=bool(cols)), d, cols)


def outcomes_from_tasks(
    wh: Source, d: Definition, by: Sequence[str] | str = GROUP_COLUMNS
) -> pd.DataFrame:
    """`outcomes` computed from raw tasks, never the cube (the benchmark and tests compare)."""
    return _pivot(*_counts_from_tasks(wh, d), d, by_columns(by))


# Counts arrive as: keys (account_id, month per account-month, sorted), and per record
# its account-month row in keys, reason code, task count and issue units.
_Counts = tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _profile_reasons(cur: duckdb.DuckDBPyConnection, ds: Sequence[Definition]) -> list[np.ndarray]:
    """Each definition's reason code for every input profile (indexed by p), in one query."""
    params: dict[str, Any] = {}
    columns = []
    for i, d in enumerate(ds):
        params |= knob_params(d, f"v{i}_")
        columns.append(f"{reason_sql(cube.PROFILE_INPUTS, f'v{i}_')} AS r{i}")
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
    wh: Source, ds: Sequence[Definition]
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


def _cube_arrays(cur: duckdb.DuckDBPyConnection, wh: Source, stamp: str) -> _CubeArrays:
    key = (str(wh.path), wh.accounts, stamp)
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


def _counts_from_tasks(wh: Source, d: Definition) -> _Counts:
    raw = cube.RAW_INPUTS
    counts = wh.query_df(
        f"SELECT account_id, month, {reason_sql(raw, 'd_')} AS r, count(*)::BIGINT AS n, "
        f"sum({raw['issue_units']})::BIGINT AS iu FROM tasks GROUP BY ALL ORDER BY account_id, month",
        knob_params(d, "d_"),
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
    wh: Source,
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
    FROM (SELECT *, {unit_input(d, raw)} AS u, {reason_sql(raw, 'd_')} AS r
          FROM tasks {'WHERE ' + ' AND '.join(where) if where else ''}) AS t
    {outer}
    ORDER BY task_id
    {'LIMIT $limit' if limit is not None else ''}
    """
    if limit is not None:
        params["limit"] = max(int(limit), 0)
    df = wh.query_df(sql, params)
    codes = df.pop("r")
    df.insert(3, "reason", codes.map(lambda i: REASONS[int(i)].value).astype("object"))
    return df


def explain_reason(reason: Reason | str, d: Definition) -> str:
    """One sentence on why a task got its reason code under `d`."""
    r = _reason(reason)
    text = REASON_TEXT[r]
    if r is Reason.REOPENED:
        text += f" ({number_text(d.reopen_window_hours)} h)"
    elif r is Reason.LOW_CSAT:
        text += f" ({d.min_csat})"
    elif r is Reason.ASSUMED:
        text += f" ({number_text(d.silence_hours)} h)"
    elif r is Reason.HANDOFF_PARTIAL:
        text += f" ({d.partial_credit:g} of an outcome)"
    return text + "."


def total_units(wh: Source, ds: Sequence[Definition]) -> list[float]:
    """Portfolio billable units of several definitions: one pass over the profiles when it can."""
    found = _from_cube(wh, ds)
    if found is None:
        return [float(outcomes(wh, d, by=())["billable_units"].iloc[0]) for d in ds]
    arrays, reasons = found
    return [
        float(_pivot(*arrays.counts(r, per_key=False), d, ())["billable_units"].iloc[0])
        for r, d in zip(reasons, ds, strict=True)
    ]
