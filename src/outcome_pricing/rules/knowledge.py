"""Knowledge at a time T (DESIGN section 8): what the rules could know when an invoice was made.

A task closed in month M is rated at T with what was known at T:
- a reopen counts only once the next task was created (closed_at + reopen_gap_hours <= T);
- an assumed resolution counts only once its silence has elapsed
  (closed_at + silence_hours <= T); before that the task is `pending`;
- an accepted dispute voids a billable outcome (`disputed`) once decided_at <= T, if it
  was filed at most `dispute_window_days` after the end of M (0 = no limit).
Hindsight is T = infinity. Times are compared in whole microseconds (hours x 3.6e9,
rounded), the same way in SQL and in the plain-Python reference of the tests.

A task's billable units are therefore a step function of T with one interval of
billability: U (its units with no reopen known) from `a` (its silence elapsed, or its
close) until `b` (the first of its reopen and its accepted dispute). `task_steps_sql`
gives, per task, the first close index N whose close T(N) >= a and the first >= b;
`billable_steps` sums them per account, month and close for the invoices.

Only tasks whose silence ends after their month's close, whose reopen (within the
window) comes after it, or that carry an accepted dispute can change after that close
(`LATE_SQL`); the others are decided at close and are answered by the cube's hindsight.
The steps are kept per handle and data generation; `billable_steps_many` reads the late
tasks of several definitions in one scan (the Invoices page's comparison by definition).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, cast

import duckdb
import numpy as np
import pandas as pd

from outcome_pricing.rules.cube_read import CubeArrays, Placed, float_array, int_array, placed_rows
from outcome_pricing.rules.definition import BILLABLE_REASONS, REASONS, Definition, Reason
from outcome_pricing.rules.source import Source
from outcome_pricing.rules.sql import knob_params, reason_sql, unit_input
from outcome_pricing.warehouse import build_sql, cluster, cube
from outcome_pricing.warehouse.memo import GenerationMemo

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 86_400_000_000
BILLABLE_CODES = tuple(r.code for r in BILLABLE_REASONS)
# Per reason code, whether it is billable: a lookup, not np.isin, in the per-query numpy path
IS_BILLABLE = np.isin(np.arange(len(REASONS)), BILLABLE_CODES)
_BILLABLE_SQL = "(" + ", ".join(str(c) for c in BILLABLE_CODES) + ")"


def dispute_params(d: Definition, p: str) -> dict[str, Any]:
    return {f"{p}dispute_window": int(d.dispute_window_days)}


# The names `disputed_relations` registers the accepted disputes and their tasks under.
ACCEPTED_REL = "_accepted_disputes"
DISPUTED_REL = "_disputed_tasks"


def disputes_in_force_sql(p: str, disputes: str = ACCEPTED_REL, tasks: str = DISPUTED_REL) -> str:
    """Per task: `voided_at`, the earliest decided_at of its accepted disputes in force
    (filed at most the window's days after the end of the task's month; 0 = no limit).
    `disputes` and `tasks` name the relations read: by default the few rows
    `disputed_relations` registers, not a join of every task."""
    return f"""SELECT ds.task_id, min(ds.decided_at) AS voided_at
      FROM {disputes} AS ds JOIN {tasks} AS tk USING (task_id)
      WHERE ds.status = 'accepted' AND ds.decided_at IS NOT NULL
        AND (${p}dispute_window = 0
             OR ds.filed_at <= tk.month + INTERVAL 1 MONTH + to_days(${p}dispute_window))
      GROUP BY ds.task_id"""


# The accepted disputes and their tasks, per warehouse handle, data generation and scope.
# Joining the few disputed tasks to `tasks` costs a scan of every task id (about 0.1 s a
# million tasks) on every outcomes query; the rows change only with a write, so they are
# read once per generation and the correction runs on these small tables.
_rows_cache: GenerationMemo[tuple[Any, Any]] = GenerationMemo(entries=4)
ACCEPTED_SQL = "SELECT * FROM disputes WHERE status = 'accepted' AND decided_at IS NOT NULL"
# Only the columns the readers of the disputed tasks use (the cube's placement,
# `build_sql.TASK_PROFILES_SQL`; the task-level correction, `evaluate._disputes_applied`:
# the rules' inputs and the dimensions): the join reads these columns of every task, so
# `*` cost twice the time (measured at 10M tasks; at 100M the first read of the cube was
# mostly this statement).
DISPUTED_TASK_COLUMNS = (
    "task_id", "account_id", "month", "closed_at", "model_tier", "channel", "topic", "ai_enabled", "ai_answered",
    "handoff", "context_retained", "customer_confirmed", "verified", "ai_error_corrected", "csat",
    "reopen_gap_hours", "quiet_hours", "n_issues", "n_issues_resolved",
)
DISPUTED_TASKS_SQL = (
    f"SELECT {', '.join(DISPUTED_TASK_COLUMNS)} FROM tasks SEMI JOIN ({ACCEPTED_SQL}) USING (task_id)"
)


def disputed_rows(wh: Any, cur: duckdb.DuckDBPyConnection) -> tuple[Any, Any]:
    """(accepted disputes, their tasks) as Arrow tables, to register on a cursor.

    Kept per handle while its `generation` and `accounts` (scope) stay the same; a source
    without a generation is read every time."""
    return _rows_cache.get(wh, getattr(wh, "accounts", None), lambda: (_arrow(cur, ACCEPTED_SQL),
                                                                      _arrow(cur, DISPUTED_TASKS_SQL)))


@contextmanager
def disputed_relations(wh: Any, cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """`disputed_rows` registered on `cur` as ACCEPTED_REL and DISPUTED_REL while the block
    runs: a rule over the disputes joins these few rows, never every task."""
    disputes, tasks = disputed_rows(wh, cur)
    cur.register(ACCEPTED_REL, disputes)
    cur.register(DISPUTED_REL, tasks)
    try:
        yield
    finally:
        cur.unregister(ACCEPTED_REL)
        cur.unregister(DISPUTED_REL)


# The disputed tasks placed in the cube (for the cube's correction, `disputed_profiles`):
# per task its numbering (k, p, t), exact hours, issue units and `filed_after_us`, the
# earliest filing of its accepted disputes in microseconds after the end of its month.
_FIRST_FILED_SQL = (
    "SELECT task_id, min(filed_at) AS first_filed FROM disputes "
    "WHERE status = 'accepted' AND decided_at IS NOT NULL GROUP BY task_id"
)


@dataclass(frozen=True)
class DisputedTasks:
    """The tasks with an accepted dispute, in the cube's numbering (numpy arrays)."""

    k: np.ndarray
    t: np.ndarray
    p: np.ndarray
    gap: np.ndarray
    quiet: np.ndarray
    issue_units: np.ndarray
    filed_after_us: np.ndarray
    placed: Placed = field(default_factory=dict, compare=False, repr=False)

    def rows_in(self, arrays: CubeArrays) -> np.ndarray:
        """Each disputed task's row in the keys of a cube read (located once per read)."""
        return placed_rows(self.placed, arrays, self.k, self.t)

    def in_force(self, d: Definition) -> np.ndarray:
        """Which tasks' disputes void an outcome under `d`: the rule of `disputes_in_force_sql`
        (filed at most dispute_window_days after the end of the month; 0 = no limit) in
        integer microseconds, as that SQL compares its timestamps."""
        window = int(d.dispute_window_days)
        if window == 0:
            return np.ones(len(self.k), dtype=bool)
        return self.filed_after_us <= window * US_PER_DAY


_EMPTY = np.zeros(0, dtype="int64")
NO_DISPUTES = DisputedTasks(_EMPTY, _EMPTY, _EMPTY, _EMPTY.astype("float64"), _EMPTY.astype("float64"), _EMPTY, _EMPTY)


def disputed_profiles(wh: Any, cur: duckdb.DuckDBPyConnection) -> DisputedTasks | None:
    """The accepted disputes' tasks placed in the current cube (None: no dispute in force).

    Reads the disputed tasks (`disputed_rows`, kept per data generation) and numbers them
    with the cube's own compiled expression (`build_sql.TASK_PROFILES_SQL`)."""
    if not has_disputes_in_force(cur):
        return None
    _, tasks = disputed_rows(wh, cur)
    cur.register(cube.PROFILE_TASKS, tasks)
    try:
        found = cur.execute(
            f"WITH f AS ({_FIRST_FILED_SQL}) SELECT tp.k, tp.t, tp.p, tp.gap_hours, tp.quiet_hours, "
            "tp.issue_units, epoch_us(f.first_filed) - epoch_us(tp.month + INTERVAL 1 MONTH) AS filed_after_us "
            f"FROM ({build_sql.TASK_PROFILES_SQL}) AS tp JOIN f USING (task_id)"
        ).fetchnumpy()
    finally:
        cur.unregister(cube.PROFILE_TASKS)
    ints = {n: int_array(found[n]) for n in ("k", "t", "p", "issue_units", "filed_after_us")}
    return DisputedTasks(ints["k"], ints["t"], ints["p"], float_array(found["gap_hours"]),
                         float_array(found["quiet_hours"]), ints["issue_units"], ints["filed_after_us"])


def _arrow(cur: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """A result as an Arrow table, on this cursor (its scope views hold only there; the
    copy DuckDB warns about is of a few disputed rows)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return cur.execute(sql).to_arrow_table()


def has_disputes_in_force(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether any accepted dispute is stored (a warehouse made before disputes has none)."""
    try:
        row = cur.execute(
            "SELECT count(*) FROM (SELECT 1 FROM disputes WHERE status = 'accepted' LIMIT 1)"
        ).fetchall()  # all, so the cursor holds no unfinished result
    except duckdb.CatalogException:
        return False
    return bool(row and row[0][0])


def at_us(value: Any) -> int:
    """A time (timestamp, datetime or text, UTC) as whole microseconds since the epoch."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return int(ts.value // 1000)


def known_inputs(raw: Mapping[str, str], at: str) -> dict[str, str]:
    """The rule inputs as known at `at` (SQL, epoch microseconds): a reopen whose next task
    was created after T is not known yet, so its gap reads as missing."""
    gap = raw["gap_hours"]
    return {
        **raw,
        "gap_hours": f"(CASE WHEN epoch_us(closed_at) + round({gap} * {US_PER_HOUR})::BIGINT <= {at} "
                     f"THEN {gap} END)",
    }


def known_reason(r: str, p: str, at: str | None, voided: str | None) -> str:
    """The reason code as known at `at` from `r`, the rules' code on the inputs known then:
    an assumed resolution whose silence has not elapsed is pending; a billable one with an
    accepted dispute decided by then is disputed. `at` None = hindsight; `voided` None = no
    disputes."""
    whens = []
    if at is not None:
        whens.append(
            f"WHEN {r} = {Reason.ASSUMED.code} AND epoch_us(closed_at) "
            f"+ round(${p}silence * {US_PER_HOUR})::BIGINT > {at} THEN {Reason.PENDING.code}"
        )
    if voided is not None:
        in_force = f"{voided} IS NOT NULL" + (f" AND epoch_us({voided}) <= {at}" if at is not None else "")
        whens.append(f"WHEN {r} IN {_BILLABLE_SQL} AND {in_force} THEN {Reason.DISPUTED.code}")
    return f"(CASE {' '.join(whens)} ELSE {r} END)" if whens else r


def _close_index(x_us: str) -> str:
    """The first close index N (months since year 0) with T(N) = start of N+1 + lag >= x."""
    shifted = f"make_timestamp({x_us} - $lag_us - 1)"
    return f"(year({shifted}) * 12 + month({shifted}) - 1)"


def month_index(month: Any) -> int:
    ts = pd.Timestamp(month)
    return ts.year * 12 + ts.month - 1


def index_month(index: int) -> pd.Timestamp:
    return pd.Timestamp(year=index // 12, month=index % 12 + 1, day=1)


# A task that can still change after its own close T(M): its silence ends after it, or its
# reopen (within the window) comes after it, or it is disputed. A cheap over-approximation
# of the rules (no CASE): a task selected needlessly changes nothing (its steps cancel).
def late_sql(p: str) -> str:
    """LATE_SQL with the knobs of prefix `p` (`<p>window`, `<p>late_silence_us`)."""
    return f"""(epoch_us(closed_at) + ${p}late_silence_us > epoch_us(month + INTERVAL 1 MONTH) + $lag_us
  OR (${p}window > 0 AND reopen_gap_hours IS NOT NULL AND reopen_gap_hours <= ${p}window
      AND epoch_us(closed_at) + round(reopen_gap_hours * 3600000000)::BIGINT
          > epoch_us(month + INTERVAL 1 MONTH) + $lag_us))"""


LATE_SQL = late_sql("d_")
# The task columns the steps read (the rules' inputs, the dimensions and the times).
STEP_COLUMNS = (
    "task_id", "account_id", "month", "closed_at", "ai_enabled", "ai_answered", "handoff", "context_retained",
    "customer_confirmed", "verified", "ai_error_corrected", "csat", "reopen_gap_hours", "quiet_hours",
    "n_issues", "n_issues_resolved",
)


def task_steps_sql(d: Definition, where: str, late_only: bool, disputes: bool, p: str = "d_",
                   source: str = "tasks") -> str:
    """Per billable task: task_id, account_id, month, m (its month's index), reason (the code
    with no reopen known), whole, partial (its units), na (first close it is billed at),
    nb (first close it is not, NULL = never), cause of nb ('reopen' | 'dispute').

    Bound parameters: the knobs (prefix `p`), `lag_us` and, with `late_only`,
    `<p>late_silence_us`. `source` names the tasks relation read (`tasks`, or the late
    tasks `billable_steps_many` holds). With `disputes`, run it inside `disputed_relations`."""
    raw = cube.RAW_INPUTS
    no_gap = {**raw, "gap_hours": "NULL::DOUBLE"}
    filters = [where] if where else []
    if late_only:
        late = late_sql(p)
        if disputes:
            late = f"({late} OR task_id IN (SELECT task_id FROM v))"
        filters.append(late)
    voided = "LEFT JOIN v USING (task_id)" if disputes else ""
    dispute_us = "epoch_us(v.voided_at)" if disputes else "NULL::BIGINT"
    return f"""
    WITH {'v AS (' + disputes_in_force_sql(p) + '),' if disputes else ''}
    t AS (
      SELECT task_id, account_id, month, closed_at, reopen_gap_hours,
             {reason_sql(raw, p)} AS r_inf, {reason_sql(no_gap, p)} AS r0,
             {unit_input(d, raw)} AS u
      FROM {source} {'WHERE ' + ' AND '.join(filters) if filters else ''}
    ),
    s AS (
      SELECT t.task_id, t.account_id, t.month, t.r0,
             CASE t.r0 WHEN {Reason.HANDOFF_BILLED.code} THEN 1 WHEN {Reason.CONFIRMED.code} THEN t.u
                  WHEN {Reason.ASSUMED.code} THEN t.u ELSE 0 END::BIGINT AS whole,
             (t.r0 = {Reason.HANDOFF_PARTIAL.code})::BIGINT AS partial,
             year(t.month) * 12 + month(t.month) - 1 AS m,
             CASE WHEN t.r0 = {Reason.ASSUMED.code}
                  THEN epoch_us(t.closed_at) + round(${p}silence * {US_PER_HOUR})::BIGINT END AS a_us,
             CASE WHEN t.r_inf = {Reason.REOPENED.code}
                  THEN epoch_us(t.closed_at) + round(t.reopen_gap_hours * {US_PER_HOUR})::BIGINT END AS reopen_us,
             {dispute_us} AS dispute_us
      FROM t {voided}
    )
    -- Not billable rows (whole and partial 0) are kept: see billable_steps.
    SELECT task_id, account_id, month, m, r0 AS reason, whole, partial,
           greatest(m, coalesce({_close_index('a_us')}, m)) AS na,
           -- greatest() and least() skip NULLs: an end that never comes stays NULL.
           CASE WHEN coalesce(reopen_us, dispute_us) IS NOT NULL
                THEN greatest(m, {_close_index('least(reopen_us, dispute_us)')}) END AS nb,
           CASE WHEN reopen_us IS NOT NULL AND (dispute_us IS NULL OR reopen_us <= dispute_us)
                THEN 'reopen' WHEN dispute_us IS NOT NULL THEN 'dispute' END AS cause
    FROM s"""


def _late_silence_us(d: Definition) -> int:
    """-1 without assumed resolutions: no silence can end after the close."""
    return int(round(float(d.silence_hours) * US_PER_HOUR)) if d.assumed_resolution else -1


def _step_params(d: Definition, lag_days: int, late_only: bool, p: str = "d_") -> dict[str, Any]:
    params: dict[str, Any] = {**knob_params(d, p), "lag_us": int(lag_days) * US_PER_DAY}
    if late_only:
        params[f"{p}late_silence_us"] = _late_silence_us(d)
    return params


def _uses_disputes(wh: Source) -> bool:
    with wh.cursor() as cur:
        return has_disputes_in_force(cur)


def billable_steps(wh: Source, d: Definition, lag_days: int, late_only: bool = True) -> pd.DataFrame:
    """Changes of billable units per account_id, m (month index), n (close index), summed
    over the tasks that can change after their close (all billable tasks when `late_only`
    is False): whole units and partial-credit handoffs gained (+) or lost (-) at close n,
    and forever_whole, forever_partial, the part gained at n that is never lost (the
    tasks' hindsight contribution). The cumulative sum over n of one (account, m) is what
    those tasks contribute at close n. Kept per handle and data generation."""
    return billable_steps_many(wh, [d], lag_days, late_only)[0]


def billable_steps_many(wh: Source, ds: Sequence[Definition], lag_days: int,
                        late_only: bool = True) -> list[pd.DataFrame]:
    """`billable_steps` of each definition, the ones not kept yet in one scan of the tasks."""
    held = cast(cluster.Handle, wh)  # a Warehouse: cluster mode reads the late tasks from Parquet
    from_parquet = late_only and cluster.is_cluster(held)
    if from_parquet:
        def compute(todo: Sequence[Definition]) -> list[pd.DataFrame]:
            out = []
            for d in todo:
                with cluster.tasks_where(held, LATE_SQL, _step_params(d, lag_days, late_only)) as late:
                    out.append(_steps_of(late, [d], lag_days, late_only))
            return [o[0] for o in out]
    else:
        def compute(todo: Sequence[Definition]) -> list[pd.DataFrame]:
            return _steps_of(wh, todo, lag_days, late_only)
    generation = getattr(wh, "generation", None)  # before the query: a write in between is not kept
    if generation is None:  # a source without a generation is read every time
        return compute(ds)
    scope = (getattr(wh, "accounts", None), int(lag_days), late_only, from_parquet)
    keys = [(*scope, d.canonical()) for d in ds]
    found = {k: kept[0] for k in keys if (kept := _steps_cache.peek(wh, k, generation)) is not None}
    todo = [(k, d) for k, d in zip(keys, ds, strict=True) if k not in found]
    if todo:
        computed = dict(zip([k for k, _ in todo], compute([d for _, d in todo]), strict=True))
        for k, steps in computed.items():
            _steps_cache.put(wh, k, generation, steps)
        found |= computed
    return [found[k].copy() for k in keys]


# Per handle and generation: (scope, lag, late_only, from Parquet, definition) -> steps (a few
# hundred rows each). The Invoices page rates one definition, then compares it with the others.
_steps_cache: GenerationMemo[pd.DataFrame] = GenerationMemo(entries=32)


def _steps_of(wh: Source, ds: Sequence[Definition], lag_days: int, late_only: bool) -> list[pd.DataFrame]:
    """One query for every definition: with several, the late tasks of any of them (a
    superset: the largest silence and reopen window) are read once (a MATERIALIZED CTE) and
    each definition's own late test and rules run on those few rows."""
    if not ds:
        return []
    disputes = _uses_disputes(wh)
    params: dict[str, Any] = {}
    several = len(ds) > 1
    parts = []
    for i, d in enumerate(ds):
        p = f"d{i}_" if several else "d_"
        params |= _step_params(d, lag_days, late_only, p) | (dispute_params(d, p) if disputes else {})
        parts.append(f"""
    SELECT {i} AS q, account_id, m, na, nb, sum(whole)::BIGINT AS whole, sum(partial)::BIGINT AS partial
    FROM ({task_steps_sql(d, "", late_only, disputes, p, "late" if late_only else "tasks")})
    GROUP BY account_id, m, na, nb
    -- After the aggregate, not in a WHERE: a filter on the rules' code would be pushed into
    -- the scan and run the rules on every task (measured: twice the time).
    HAVING sum(whole) > 0 OR sum(partial) > 0""")
    head = ""
    if late_only:
        if several:
            params["all_window"] = max(float(d.reopen_window_hours) for d in ds)
            params["all_late_silence_us"] = max(_late_silence_us(d) for d in ds)
        head = f"WITH late AS MATERIALIZED ({_late_rows_sql(late_sql('all_' if several else 'd_'), disputes)}) "
    with wh.cursor() as cur, disputed_relations(wh, cur) if disputes else nullcontext():
        groups = cur.execute(head + " UNION ALL ".join(parts), params).df()
    return [_as_steps(groups[groups["q"] == i].drop(columns="q")) for i in range(len(ds))]


def _late_rows_sql(late: str, disputes: bool) -> str:
    """The tasks that can change after their close: the late ones (any definition's late
    test is `late` or narrower) and, with disputes, the disputed tasks, from the few rows
    `disputed_relations` registers (an IN over every task cost a join of 10M rows)."""
    cols = ", ".join(STEP_COLUMNS)
    sql = f"SELECT {cols} FROM tasks WHERE {late}"
    if disputes:
        sql += f" UNION ALL SELECT {cols} FROM {DISPUTED_REL} WHERE NOT coalesce({late}, false)"
    return sql


def _as_steps(groups: pd.DataFrame) -> pd.DataFrame:
    """Tasks grouped by (account, m, na, nb) as +units at na and -units at nb (if nb > na)."""
    billed = groups[groups["nb"].isna() | (groups["nb"] > groups["na"])]
    forever = billed["nb"].isna()
    gain = pd.DataFrame({
        "account_id": billed["account_id"], "m": billed["m"], "n": billed["na"],
        "whole": billed["whole"], "partial": billed["partial"],
        "forever_whole": billed["whole"].where(forever, 0), "forever_partial": billed["partial"].where(forever, 0),
    })
    ended = billed[~forever]
    loss = pd.DataFrame({
        "account_id": ended["account_id"], "m": ended["m"], "n": ended["nb"],
        "whole": -ended["whole"], "partial": -ended["partial"], "forever_whole": 0, "forever_partial": 0,
    })
    steps = pd.concat([gain, loss], ignore_index=True)
    steps = steps.astype({"m": "int64", "n": "int64", "whole": "int64", "partial": "int64",
                          "forever_whole": "int64", "forever_partial": "int64"})
    out = steps.groupby(["account_id", "m", "n"], sort=True, as_index=False).sum()
    return out.reset_index(drop=True)


def task_steps(
    wh: Source, d: Definition, lag_days: int, account_id: str, last_month: Any
) -> pd.DataFrame:
    """`task_steps_sql` for one account's tasks up to `last_month` (a statement's evidence)."""
    disputes = _uses_disputes(wh)
    params = {
        **_step_params(d, lag_days, late_only=False),
        **(dispute_params(d, "d_") if disputes else {}),
        "account_id": str(account_id),
        "last_month": pd.Timestamp(last_month).date(),
    }
    sql = task_steps_sql(d, "account_id = $account_id AND month <= $last_month", False, disputes)
    with wh.cursor() as cur, disputed_relations(wh, cur) if disputes else nullcontext():
        return cur.execute(sql + " ORDER BY m, task_id", params).df()
