"""Evaluating a definition: outcomes per account-month (cube or task level), and the evidence.

The rules of `sql.py` run two ways that agree exactly:
- task by task on `tasks` (`evaluate_tasks`): the evidence;
- aggregated on the definition cube (`outcomes`): fast, for every chart.
The cube (see `warehouse/cube.py`) buckets hours to its grid, which is exact for
hour knobs on the grid; other definitions are aggregated from `tasks` directly.
The warehouse is read through the `Source` protocol, never imported.
"""

from __future__ import annotations

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
    REASONS,
    RESOLVED_REASONS,
    Definition,
    Reason,
    Unit,
)
from outcome_pricing.rules.knowledge import (
    BILLABLE_CODES,
    dispute_params,
    disputed_rows,
    disputes_in_force_sql,
    has_disputes_in_force,
)
from outcome_pricing.rules.source import Source
from outcome_pricing.rules.sql import knob_params, reason_sql
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
    return _pivot(*_hindsight_counts(wh, d, per_key=bool(cols)), d, cols)


def outcomes_from_tasks(
    wh: Source, d: Definition, by: Sequence[str] | str = GROUP_COLUMNS
) -> pd.DataFrame:
    """`outcomes` computed from raw tasks, never the cube (the benchmark and tests compare)."""
    return _pivot(*_disputes_applied(wh, d, _counts_from_tasks(wh, d)), d, by_columns(by))


def unit_counts(wh: Source, d: Definition) -> pd.DataFrame:
    """Hindsight billable units per account_id, month as exact integers: whole_units (tasks
    billed as whole outcomes, in the definition's unit) and partial_tasks (handoffs billed at
    the partial credit); billable_units = whole_units + partial_tasks x partial_credit."""
    keys, row, reason, n, iu = _hindsight_counts(wh, d, per_key=True)
    tasks, per_task = _reason_matrix(len(keys), row, reason, n, iu, d)
    out = keys.reset_index(drop=True).copy()
    out["whole_units"] = _whole_units(tasks, per_task)
    out["partial_tasks"] = tasks[:, Reason.HANDOFF_PARTIAL.code]
    return out


def _hindsight_counts(wh: Source, d: Definition, per_key: bool) -> _Counts:
    """Hindsight counts: from the cube when it can answer, else from tasks; then accepted
    disputes in force move their billable tasks to `disputed` (a small task-level correction,
    so a definition change stays a cube query)."""
    found = _from_cube(wh, [d])
    if found is None:
        counts = _counts_from_tasks(wh, d)
    else:
        arrays, reasons = found
        counts = arrays.counts(reasons[0], per_key=per_key)
    return _disputes_applied(wh, d, counts)


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


def _counts_from_tasks(wh: Source, d: Definition, dimension: str | None = None) -> _Counts:
    raw = cube.RAW_INPUTS
    group = [*GROUP_COLUMNS, *([dimension] if dimension else [])]
    # `dimension` is one of DIMENSIONS (a fixed whitelist), never a user value.
    extra = f"{_dimension_sql(dimension)} AS {dimension}, " if dimension else ""
    counts = wh.query_df(
        f"SELECT account_id, month, {extra}{reason_sql(raw, 'd_')} AS r, count(*)::BIGINT AS n, "
        f"sum({raw['issue_units']})::BIGINT AS iu FROM tasks GROUP BY ALL ORDER BY {', '.join(group)}",
        knob_params(d, "d_"),
    )
    keys = counts[group].drop_duplicates().reset_index(drop=True)
    row_of_key = counts.groupby(group, sort=True).ngroup().to_numpy()
    return keys, row_of_key, _int_array(counts["r"]), _int_array(counts["n"]), _int_array(counts["iu"])


# ---------------------------------------------------------------- outcomes by a task dimension
# For plans priced by dimension (DESIGN 10). The values of a dimension as billed: a
# missing or empty value is '' (billed at the plan's `default` price).
DIMENSIONS = ("model_tier", "channel", "topic")


def _dimension_sql(dimension: str) -> str:
    if dimension not in DIMENSIONS:
        raise ConfigError(f"Cannot split outcomes by {dimension!r}: use one of {', '.join(DIMENSIONS)}.")
    return f"coalesce(nullif({dimension}, ''), '')"


def outcomes_by_dimension(wh: Source, d: Definition, dimension: str) -> pd.DataFrame:
    """Billable outcomes under `d` per account_id, month and one task dimension (model_tier,
    channel or topic; '' for a missing or empty value), with the columns of `outcomes`.

    Summed over the dimension it equals `outcomes(wh, d)`. model_tier is answered from the
    cube's tier split (`cube.TIERS_TABLE`) when the cube can answer; channel and topic,
    and definitions off the cube's grid, from tasks: the same numbers.
    """
    _dimension_sql(dimension)
    found = _from_tier_cube(wh, d) if dimension == "model_tier" else None
    counts = found if found is not None else _counts_from_tasks(wh, d, dimension)
    by = (*GROUP_COLUMNS, dimension)
    return _pivot(*_disputes_applied(wh, d, counts, dimension), d, by)


def _from_tier_cube(wh: Source, d: Definition) -> _Counts | None:
    """Counts per (account-month, model tier) from the cube's tier split, or None."""
    if not d.cube_exact:
        return None
    with wh.cursor() as cur:
        cur.execute("BEGIN TRANSACTION")  # one snapshot, as in _from_cube
        try:
            stamp = cube.current_stamp(cur)
            if stamp is None:
                return None
            arrays = _cached((str(wh.path), wh.accounts, stamp + "|tiers"), lambda: _read_tier_cube(cur))
            reasons = _profile_reasons(cur, [d])[0]
        finally:
            cur.execute("ROLLBACK")
    return arrays.counts(reasons, per_key=True)


def _read_tier_cube(cur: duckdb.DuckDBPyConnection) -> _CubeArrays:
    rows = cur.execute(f"SELECT k, t, p, tasks, issue_units FROM {cube.TIERS_TABLE}").fetchnumpy()
    names = cur.execute(f"SELECT t, coalesce(model_tier, '') AS model_tier FROM {cube.TIER_NAMES_TABLE} ORDER BY t").df()
    keys = cur.execute(f"SELECT k, account_id, month FROM {cube.KEYS_TABLE} ORDER BY k").df()
    n_profiles = int(cur.execute(f"SELECT count(*) FROM {cube.PROFILES_TABLE}").fetchone()[0])  # type: ignore[index]
    # One key per (k, t) present, numbered in (account, month, tier) order.
    k, t = _int_array(rows["k"]), _int_array(rows["t"])
    width = len(names) + 1
    cells, row = np.unique(k * width + t, return_inverse=True)
    key_of_k = keys.set_index("k")
    labels = key_of_k.loc[cells // width, ["account_id", "month"]].reset_index(drop=True)
    labels["model_tier"] = names["model_tier"].to_numpy()[cells % width]
    profile = _int_array(rows["p"])
    tasks, issue_units = _int_array(rows["tasks"]), _int_array(rows["issue_units"])
    return _CubeArrays(
        keys=labels,
        row=np.asarray(row, dtype="int64"),
        profile=profile,
        tasks=tasks,
        issue_units=issue_units,
        profile_tasks=np.bincount(profile, weights=tasks, minlength=n_profiles).astype("int64"),
        profile_issue_units=np.bincount(profile, weights=issue_units, minlength=n_profiles).astype("int64"),
    )


def _cached(key: tuple[str, Any, str], read: Any) -> _CubeArrays:
    with _CUBE_CACHE_LOCK:
        if key in _CUBE_CACHE:
            _CUBE_CACHE.move_to_end(key)
            return _CUBE_CACHE[key]
    arrays: _CubeArrays = read()
    with _CUBE_CACHE_LOCK:
        _CUBE_CACHE[key] = arrays
        while len(_CUBE_CACHE) > _CUBE_CACHE_SIZE:
            _CUBE_CACHE.popitem(last=False)
    return arrays


def _disputes_applied(wh: Source, d: Definition, counts: _Counts, dimension: str | None = None) -> _Counts:
    """`counts` with the billable tasks of accepted disputes in force moved to `disputed`
    (`dimension`: counts split by a task dimension too, see outcomes_by_dimension)."""
    raw = cube.RAW_INPUTS
    extra = f"{_dimension_sql(dimension)} AS {dimension}, " if dimension else ""
    with wh.cursor() as cur:
        if not has_disputes_in_force(cur):
            return counts
        # The rule runs on the disputed tasks only (kept per data generation), not on a
        # join of every task: see knowledge.disputed_rows.
        disputes, tasks = disputed_rows(wh, cur)
        cur.register("_accepted_disputes", disputes)
        cur.register("_disputed_tasks", tasks)
        try:
            found = cur.execute(
                f"WITH v AS ({disputes_in_force_sql('d_', '_accepted_disputes', '_disputed_tasks')}) "
                f"SELECT account_id, month, {extra}{reason_sql(raw, 'd_')} AS r, count(*)::BIGINT AS n, "
                f"sum({raw['issue_units']})::BIGINT AS iu FROM _disputed_tasks SEMI JOIN v USING (task_id) "
                "GROUP BY ALL",
                {**knob_params(d, "d_"), **dispute_params(d, "d_")},
            ).df()
        finally:
            cur.unregister("_accepted_disputes")
            cur.unregister("_disputed_tasks")
    found = found[found["r"].isin(BILLABLE_CODES)]
    if found.empty:
        return counts
    keys, row, reason, n, iu = counts
    if len(keys):
        lookup = keys.reset_index(drop=True).assign(_row=np.arange(len(keys)))
        lookup["month"] = pd.to_datetime(lookup["month"])
        found = found.assign(month=pd.to_datetime(found["month"]))
        on = [*GROUP_COLUMNS, *([dimension] if dimension else [])]
        rows = found.merge(lookup, on=on, how="left")["_row"].to_numpy(dtype="int64")
    else:  # the portfolio total: every record is row 0
        rows = np.zeros(len(found), dtype="int64")
    moved_n, moved_iu = _int_array(found["n"]), _int_array(found["iu"])
    disputed = np.full(len(found), Reason.DISPUTED.code, dtype="int64")
    return (
        keys,
        np.concatenate([row, rows, rows]),
        np.concatenate([reason, _int_array(found["r"]), disputed]),
        np.concatenate([n, -moved_n, moved_n]),
        np.concatenate([iu, -moved_iu, moved_iu]),
    )


def _int_array(values: Any) -> np.ndarray:
    return np.asarray(values, dtype="int64")


def _reason_matrix(
    n_groups: int, group: np.ndarray, reason: np.ndarray, n: np.ndarray, iu: np.ndarray, d: Definition
) -> tuple[np.ndarray, np.ndarray]:
    """Tasks per (group, reason), and units per task in the definition's unit."""
    cells = np.asarray(group, dtype="int64") * len(REASONS) + reason
    shape = (n_groups, len(REASONS))
    # bincount sums in float64: exact for counts below 2**53.
    tasks = np.bincount(cells, weights=n, minlength=shape[0] * shape[1]).astype("int64").reshape(shape)
    per_task = tasks
    if d.unit == Unit.ISSUE:  # issue units are summed only when they are the unit
        per_task = np.bincount(cells, weights=iu, minlength=tasks.size).astype("int64").reshape(shape)
    return tasks, per_task


def _whole_units(tasks: np.ndarray, per_task: np.ndarray) -> np.ndarray:
    whole: np.ndarray = (
        tasks[:, Reason.HANDOFF_BILLED.code] + per_task[:, Reason.CONFIRMED.code]
        + per_task[:, Reason.ASSUMED.code]
    )
    return whole


def _pivot(
    keys: pd.DataFrame, row_of_key: np.ndarray, reason: np.ndarray, n: np.ndarray,
    iu: np.ndarray, d: Definition, by: tuple[str, ...],
) -> pd.DataFrame:
    """Sum tasks and issue units per (by group, reason) and derive every output column."""
    # keys are already one sorted row per account-month (or per account, month and value
    # of a dimension, as outcomes_by_dimension gives them)
    if by == GROUP_COLUMNS or (len(by) > 2 and tuple(keys.columns) == by):
        labels = keys.reset_index(drop=True)
        group = np.asarray(row_of_key, dtype="int64")
    elif by:
        groups = keys.groupby(list(by), sort=True)
        labels = groups.size().index.to_frame(index=False)
        group = groups.ngroup().to_numpy()[row_of_key]
    else:  # the portfolio total is one row, even with no tasks at all
        labels = pd.DataFrame(index=range(1))
        group = np.zeros(len(row_of_key), dtype="int64")
    tasks, per_task = _reason_matrix(len(labels), group, reason, n, iu, d)
    whole = _whole_units(tasks, per_task)
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


def total_units(wh: Source, ds: Sequence[Definition]) -> list[float]:
    """Portfolio billable units of several definitions: one pass over the profiles when it can."""
    found = _from_cube(wh, ds)
    if found is None:
        return [float(outcomes(wh, d, by=())["billable_units"].iloc[0]) for d in ds]
    arrays, reasons = found
    return [
        float(_pivot(*_disputes_applied(wh, d, arrays.counts(r, per_key=False)), d, ())["billable_units"].iloc[0])
        for r, d in zip(reasons, ds, strict=True)
    ]
