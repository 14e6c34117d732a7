"""Evaluating a definition: outcomes per account-month (cube or task level), and the evidence.

The rules of `sql.py` run two ways that agree exactly:
- task by task on `tasks` (`evaluate_tasks`): the evidence;
- aggregated on the definition cube (`outcomes`): fast, for every chart.
The cube (see `warehouse/cube.py`, read by `cube_read.py`) buckets hours to its grid and
keeps the exact hours aside, so it answers every definition, on the grid or off it; accepted
disputes are applied to its counts in numpy (the disputed tasks placed in the cube once per
data generation). Without a current cube, counts are aggregated from `tasks` directly.
The warehouse is read through the `Source` protocol, never imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.rules.cube_read import (
    Counts,
    CubeArrays,
    Dense,
    HourKnobs,
    HourRows,
    Part,
    Parts,
    cached,
    hour_knobs,
    int_array,
    moved,
    peek,
    quick_stamp,
    read_cube,
    read_hour_rows,
    read_tier_cube,
    variant_of,
    variant_params,
    with_records,
)
from outcome_pricing.rules.definition import (
    REASONS,
    RESOLVED_REASONS,
    Definition,
    Reason,
    Unit,
)
from outcome_pricing.rules.knowledge import (
    BILLABLE_CODES,
    DISPUTED_REL,
    IS_BILLABLE,
    NO_DISPUTES,
    DisputedTasks,
    dispute_params,
    disputed_profiles,
    disputed_relations,
    disputes_in_force_sql,
    has_disputes_in_force,
)
from outcome_pricing.rules.profile_rules import variant_reasons
from outcome_pricing.rules.source import Source
from outcome_pricing.rules.sql import knob_params, reason_sql
from outcome_pricing.warehouse import cluster, cube

GROUP_COLUMNS = ("account_id", "month")


def answered_from_cube(wh: Source, d: Definition) -> bool:
    """Whether `outcomes(wh, d)` reads the cube (else it aggregates raw tasks): whenever the
    cube is current, for any definition (off the grid through its hours side table)."""
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
    keys, parts = _hindsight_counts(wh, d, per_key=True)
    tasks, per_task = _reason_matrix(len(keys), parts, d)
    out = keys.reset_index(drop=True).copy()
    out["whole_units"] = _whole_units(tasks, per_task)
    out["partial_tasks"] = tasks[:, Reason.HANDOFF_PARTIAL.code]
    return out


def _hindsight_counts(wh: Source, d: Definition, per_key: bool) -> Counts:
    """Hindsight counts: from the cube when it is current (any definition, on or off the
    grid, accepted disputes applied in numpy), else from tasks."""
    found = _cube_counts(wh, [d], "key", per_key)
    if found is None:
        return _disputes_applied(wh, d, _counts_from_tasks(wh, d))
    return found[0]


def _cube_counts(wh: Source, ds: Sequence[Definition], grain: str, per_key: bool) -> list[Counts] | None:
    """Each definition's hindsight counts from the cube (`grain` "key": by account-month;
    "tier": by account-month and model tier), or None when there is no current cube."""
    knobs = [hour_knobs(d) for d in ds]
    params = [variant_params(d, h, f"v{i}_") for i, (d, h) in enumerate(zip(ds, knobs, strict=True))]
    generation = getattr(wh, "generation", None)
    with wh.cursor() as cur:
        # The usual case: one count of the tasks (freshness), everything else already in
        # memory for that build, and the rules run in numpy over the profiles.
        stamp = quick_stamp(wh, cur, generation) if generation is not None else None
        held = None if stamp is None else _held((str(wh.path), wh.accounts, stamp), grain, knobs, generation)
        if held is None:
            # One snapshot: the stamp and everything read are of the same build, even if an
            # ingest commits meanwhile.
            cur.execute("BEGIN TRANSACTION")
            try:
                stamp = cube.current_stamp(cur)
                if stamp is None:
                    return None
                held = _read_all(wh, cur, stamp, grain, knobs, generation)
            finally:
                cur.execute("ROLLBACK")
    arrays, hours, disputed = held
    return [_corrected(arrays, variant_reasons(arrays.profiles, p), h, rows, disputed, d, per_key)
            for d, h, p, rows in zip(ds, knobs, params, hours, strict=True)]


Held = tuple[CubeArrays, list["HourRows | None"], "DisputedTasks | None"]


def _held(base: tuple[Any, ...], grain: str, knobs: list[HourKnobs], generation: int | None) -> Held | None:
    """(arrays, hour rows per definition, disputed tasks) when all are in memory, else None."""
    arrays = peek((*base, grain))
    hours = [None if h.on_grid else peek((*base, "hours", h.gap_bucket, h.quiet_bucket)) for h in knobs]
    disputed = peek((*base, "disputes", generation))
    if arrays is None or disputed is None or any(r is None for r, h in zip(hours, knobs, strict=True) if not h.on_grid):
        return None
    return arrays, hours, disputed


def _read_all(
    wh: Source, cur: duckdb.DuckDBPyConnection, stamp: str, grain: str, knobs: list[HourKnobs],
    generation: int | None,
) -> Held:
    base = (str(wh.path), wh.accounts, stamp)
    arrays = cached((*base, grain), lambda: read_tier_cube(cur) if grain == "tier" else read_cube(cur))
    hours = [None if h.on_grid else cached((*base, "hours", h.gap_bucket, h.quiet_bucket),
                                           lambda h=h: read_hour_rows(cur, h)) for h in knobs]  # type: ignore[misc]
    if generation is None:
        return arrays, hours, disputed_profiles(wh, cur)
    # NO_DISPUTES, not None, when there are none: the cache holds "read, and empty".
    disputed = cached((*base, "disputes", generation), lambda: disputed_profiles(wh, cur) or NO_DISPUTES)
    return arrays, hours, disputed


def _corrected(
    arrays: CubeArrays, reasons: np.ndarray, h: HourKnobs, hours: HourRows | None,
    disputed: DisputedTasks | None, d: Definition, per_key: bool,
) -> Counts:
    """The cube's counts under the definition's own knobs (`reasons[0]` per profile), with
    the rows of an off-grid bucket moved to the reason of their exact hours, then the
    billable tasks of accepted disputes in force moved to `disputed`."""
    counts = arrays.counts(reasons[0], per_key, issue_units=d.unit == Unit.ISSUE)
    extra = []
    if hours is not None and len(hours.k):
        rows = hours.rows_in(arrays) if per_key else np.zeros(len(hours.k), dtype="int64")
        if hours.edge is None:  # both knobs off the grid: each row's variant from its hours
            exact = reasons[variant_of(hours.gap, hours.quiet, h), hours.p]
            extra.append(moved(rows, reasons[0][hours.p], exact, hours.tasks, hours.issue_units))
        else:  # one knob: the leading rows take its variant (1: window, 2: silence), the rest 0
            n, p = hours.moving(h), hours.p
            exact = reasons[1 if h.gap_bucket is not None else 2][p[:n]]
            extra.append(moved(rows[:n], reasons[0][p[:n]], exact, hours.tasks[:n], hours.issue_units[:n]))
    if disputed is not None and len(disputed.k):
        reason = reasons[variant_of(disputed.gap, disputed.quiet, h), disputed.p]
        keep = disputed.in_force(d) & IS_BILLABLE[reason]
        n = int(keep.sum())
        rows = disputed.rows_in(arrays)[keep] if per_key else np.zeros(n, dtype="int64")
        extra.append(moved(rows, reason[keep],
                           np.full(n, Reason.DISPUTED.code, dtype="int64"), np.ones(n, dtype="int64"),
                           disputed.issue_units[keep]))
    return with_records(counts, extra)


def _counts_from_tasks(wh: Source, d: Definition, dimension: str | None = None) -> Counts:
    with wh.cursor() as cur:  # cluster mode holds the cube, not the tasks: say so, never guess
        cluster.refuse_task_scan(cur, f"Counting outcomes task by task{f' by {dimension}' if dimension else ''}")
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
    return keys, [(row_of_key, int_array(counts["r"]), int_array(counts["n"]), int_array(counts["iu"]))]


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
    by = (*GROUP_COLUMNS, dimension)
    found = _cube_counts(wh, [d], "tier", per_key=True) if dimension == "model_tier" else None
    if found is not None:
        return _pivot(*found[0], d, by)
    return _pivot(*_disputes_applied(wh, d, _counts_from_tasks(wh, d, dimension), dimension), d, by)


def _disputes_applied(wh: Source, d: Definition, counts: Counts, dimension: str | None = None) -> Counts:
    """`counts` with the billable tasks of accepted disputes in force moved to `disputed`
    (`dimension`: counts split by a task dimension too, see outcomes_by_dimension)."""
    raw = cube.RAW_INPUTS
    extra = f"{_dimension_sql(dimension)} AS {dimension}, " if dimension else ""
    with wh.cursor() as cur:
        if not has_disputes_in_force(cur):
            return counts
        # The rule runs on the disputed tasks only (kept per data generation), not on a
        # join of every task: see knowledge.disputed_rows.
        with disputed_relations(wh, cur):
            found = cur.execute(
                f"WITH v AS ({disputes_in_force_sql('d_')}) "
                f"SELECT account_id, month, {extra}{reason_sql(raw, 'd_')} AS r, count(*)::BIGINT AS n, "
                f"sum({raw['issue_units']})::BIGINT AS iu FROM {DISPUTED_REL} SEMI JOIN v USING (task_id) "
                "GROUP BY ALL",
                {**knob_params(d, "d_"), **dispute_params(d, "d_")},
            ).df()
    found = found[found["r"].isin(BILLABLE_CODES)]
    if found.empty:
        return counts
    keys, parts = counts
    if len(keys):
        lookup = keys.reset_index(drop=True).assign(_row=np.arange(len(keys)))
        lookup["month"] = pd.to_datetime(lookup["month"])
        found = found.assign(month=pd.to_datetime(found["month"]))
        on = [*GROUP_COLUMNS, *([dimension] if dimension else [])]
        rows = found.merge(lookup, on=on, how="left")["_row"].to_numpy(dtype="int64")
    else:  # the portfolio total: every record is row 0
        rows = np.zeros(len(found), dtype="int64")
    moved_n, moved_iu = int_array(found["n"]), int_array(found["iu"])
    disputed = np.full(len(found), Reason.DISPUTED.code, dtype="int64")
    return keys, [*parts, (rows, int_array(found["r"]), -moved_n, -moved_iu), (rows, disputed, moved_n, moved_iu)]


def _reason_matrix(n_groups: int, parts: Parts, d: Definition) -> tuple[np.ndarray, np.ndarray]:
    """Tasks per (group, reason), and units per task in the definition's unit, summed over
    the parts (each: group, reason, tasks and issue units per record)."""
    size = n_groups * len(REASONS)
    # bincount sums in float64: exact for counts below 2**53.
    issue = d.unit == Unit.ISSUE
    tasks = np.zeros(size, dtype="float64")
    units = np.zeros(size, dtype="float64") if issue else tasks
    for part in parts:
        if isinstance(part, Dense):  # already per (group, reason)
            tasks += part.tasks
            if issue:
                units += part.counted_issue_units()
            continue
        group, reason, n, iu = part
        cells = group * len(REASONS) + reason
        tasks += np.bincount(cells, weights=n, minlength=size)
        if issue:  # issue units are summed only when they are the unit
            units += np.bincount(cells, weights=iu, minlength=size)
    shape = (n_groups, len(REASONS))
    return tasks.astype("int64").reshape(shape), units.astype("int64").reshape(shape)


def _whole_units(tasks: np.ndarray, per_task: np.ndarray) -> np.ndarray:
    whole: np.ndarray = (
        tasks[:, Reason.HANDOFF_BILLED.code] + per_task[:, Reason.CONFIRMED.code]
        + per_task[:, Reason.ASSUMED.code]
    )
    return whole


def _records(parts: Parts) -> list[Part]:
    return [p.records() if isinstance(p, Dense) else p for p in parts]


def _pivot(keys: pd.DataFrame, parts: Parts, d: Definition, by: tuple[str, ...]) -> pd.DataFrame:
    """Sum tasks and issue units per (by group, reason) and derive every output column."""
    # keys are already one sorted row per account-month (or per account, month and value
    # of a dimension, as outcomes_by_dimension gives them)
    if by == GROUP_COLUMNS or (len(by) > 2 and tuple(keys.columns) == by):
        labels = keys.reset_index(drop=True)
    elif by:
        groups = keys.groupby(list(by), sort=True)
        labels = groups.size().index.to_frame(index=False)
        group_of_key = groups.ngroup().to_numpy()
        parts = [(group_of_key[row], reason, n, iu) for row, reason, n, iu in _records(parts)]
    else:  # the portfolio total is one row, even with no tasks at all
        labels = pd.DataFrame(index=range(1))
        parts = [(np.zeros(len(row), dtype="int64"), reason, n, iu) for row, reason, n, iu in _records(parts)]
    tasks, per_task = _reason_matrix(len(labels), parts, d)
    whole = _whole_units(tasks, per_task)
    by_reason = np.ascontiguousarray(tasks.T)  # one contiguous array per reason column
    total = by_reason.sum(axis=0)
    ai_tasks = total - by_reason[Reason.AI_NOT_LIVE.code]
    resolved = sum(by_reason[x.code] for x in RESOLVED_REASONS)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(ai_tasks > 0, resolved / np.maximum(ai_tasks, 1), np.nan)
    columns: dict[str, Any] = {
        "tasks": total,
        "billable_units": _billable_units(whole, by_reason[Reason.HANDOFF_PARTIAL.code], d),
        **{r.column: by_reason[r.code] for r in REASONS},
        "ai_tasks": ai_tasks,
        "resolution_rate": rate.astype("float64"),
    }
    if not by:
        return pd.DataFrame(columns, index=labels.index)
    # One frame from the label columns and the values, not copied (the values are this
    # call's own arrays; the labels are Series, so copy-on-write protects the cached keys).
    return pd.DataFrame({**{c: labels[c] for c in labels.columns}, **columns}, index=labels.index, copy=False)


def total_units(wh: Source, ds: Sequence[Definition]) -> list[float]:
    """Portfolio billable units of several definitions: one pass over the profiles when it can."""
    found = _cube_counts(wh, ds, "key", per_key=False)
    if found is None:
        return [float(outcomes(wh, d, by=())["billable_units"].iloc[0]) for d in ds]
    return [float(_pivot(*c, d, ())["billable_units"].iloc[0]) for c, d in zip(found, ds, strict=True)]
