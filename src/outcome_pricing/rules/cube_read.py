"""The definition cube read into numpy, and a definition's counts from it, on or off the grid.

The cube (`warehouse/cube.py`) counts tasks per account-month `k` (and model tier `t`) and
input profile `p`, with the hours bucketed to the grid. A definition's reason is computed
once per profile (the CASE of `sql.py` in numpy, `profile_rules.py`, over a few thousand
rows); the counts are then summed in numpy over arrays read once per cube build and scope,
and the cube's freshness costs one count of the tasks (`quick_stamp`).

Off the grid (a 30 h silence), only the tasks in the one bucket a knob falls in can go
either way. The profiles are evaluated with the knob itself (the bucket counts as "not
reopened" / "not quiet long enough") and with the knob moved onto the bucket's edge (the
bucket counts as reopened / assumed); every cube row takes the first, and the rows of the
side table `cube.HOURS_TABLE` in those buckets, which keep their exact hours, move to the
reason their exact hours give: the same comparisons as the rules on the task, so the counts
are identical to task by task.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import duckdb
import numpy as np
import pandas as pd

from outcome_pricing.rules.definition import REASONS, Definition
from outcome_pricing.rules.profile_rules import ProfileInputs, read_profile_inputs
from outcome_pricing.rules.sql import knob_params
from outcome_pricing.warehouse import cube
from outcome_pricing.warehouse.grid import HOUR_GRID
from outcome_pricing.warehouse.memo import GenerationMemo

GROUP_COLUMNS = ("account_id", "month")
ABOVE_GRID = HOUR_GRID[-1] + 1  # the gap bucket above the grid's last value
NO_BUCKET = -2  # no bucket has this value

# Counts arrive as: keys (account_id, month [, model_tier] per row, sorted), and parts of
# records, each part four arrays: per record its row in keys, reason code, task count and
# issue units (parts, not one concatenation: the cube's rows are not copied per query).
Part = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
Parts = list["Part | Dense"]
N_REASONS = len(REASONS)
Counts = tuple[pd.DataFrame, Parts]
_NO_KEYS = pd.DataFrame(columns=list(GROUP_COLUMNS))


def int_array(values: Any) -> np.ndarray:
    return np.asarray(values, dtype="int64")


def float_array(values: Any) -> np.ndarray:
    """A fetched column of hours as float64, NULL as NaN (fetchnumpy masks NULLs)."""
    return np.asarray(np.ma.filled(np.ma.asarray(values).astype("float64"), np.nan))


@dataclass(frozen=True)
class Dense:
    """Counts already summed per (row of keys, reason): tasks and issue units, flat
    (row * len(REASONS) + reason), float64 holding exact integers. `issue_units` is None
    when not counted: a definition whose unit is not the issue never reads them."""

    tasks: np.ndarray
    issue_units: np.ndarray | None

    def counted_issue_units(self) -> np.ndarray:
        if self.issue_units is None:  # counts(..., issue_units=False) was asked for a definition of issues
            raise RuntimeError("issue units were not counted for this definition")
        return self.issue_units

    def records(self) -> Part:
        """The same counts as records (one per row and reason), to regroup (zero issue units
        when not counted: only a definition that counts issues reads them)."""
        n_rows = len(self.tasks) // N_REASONS
        units = self.issue_units if self.issue_units is not None else np.zeros_like(self.tasks)
        return (np.repeat(np.arange(n_rows, dtype="int64"), N_REASONS),
                np.tile(np.arange(N_REASONS, dtype="int64"), n_rows), self.tasks, units)


# Per quantity (tasks, issue units), the last definitions' reasons per profile and that
# quantity's sums per (row, reason) under them.
Remembered = dict[str, list[tuple[np.ndarray, np.ndarray]]]


@dataclass(frozen=True)
class CubeArrays:
    """The cube as read by one scope of one build (by account-month, or by account-month and
    model tier): numpy arrays, reused by every query. Rows are sorted by profile, so the
    rows of the profiles whose reason changes are contiguous slices (`offsets`)."""

    keys: pd.DataFrame  # account_id, month [, model_tier] per row, sorted
    codes: np.ndarray  # per row of keys, sorted: k (or k * width + t by tier)
    width: int  # 0: rows are account-months; else the tier code's width
    row: np.ndarray  # per cube row: its row in keys
    profile: np.ndarray  # per cube row: p (sorted)
    tasks: np.ndarray
    issue_units: np.ndarray
    offsets: np.ndarray  # the rows of profile p: offsets[p]:offsets[p + 1]
    lengths: np.ndarray  # per profile p: its count of rows (offsets' differences)
    profile_tasks: np.ndarray  # per profile p: tasks and issue units over all rows
    profile_issue_units: np.ndarray
    # The profiles' rule inputs, read with the rows (no cache entry of their own: the
    # cache's few entries are for the cube reads and the off-grid buckets in use)
    profiles: ProfileInputs
    # The last definitions' sums: the next definition re-counts only the rows of profiles
    # whose reason differs (a knob change moves few), each quantity on its own, so issue
    # units are summed only for definitions that count issues.
    last: Remembered = field(default_factory=lambda: {"tasks": [], "issue_units": []}, compare=False)

    def locate(self, k: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The rows of keys of tasks at account-month k and tier t."""
        code = k if self.width == 0 else k * self.width + t
        return np.searchsorted(self.codes, code).astype("int64")

    def counts(self, reason_of_profile: np.ndarray, per_key: bool, issue_units: bool = True) -> Counts:
        if not per_key:  # a portfolio total needs only the sums per profile
            n = len(self.profile_tasks)
            return _NO_KEYS, [(np.zeros(n, dtype="int64"), reason_of_profile, self.profile_tasks,
                               self.profile_issue_units)]
        return self.keys, [self.dense(reason_of_profile, issue_units)]

    def dense(self, reasons: np.ndarray, issue_units: bool = True) -> Dense:
        """Tasks (and issue units, if asked) per (row, reason) when profile p has reason
        reasons[p]."""
        return Dense(self._summed("tasks", self.tasks, reasons),
                     self._summed("issue_units", self.issue_units, reasons) if issue_units else None)

    def _summed(self, name: str, weights: np.ndarray, reasons: np.ndarray) -> np.ndarray:
        """`weights` summed per (row, reason): from the remembered sums of `name` whose
        reasons differ on the fewest cube rows (a dot product per remembered one)."""
        with _LAST_LOCK:
            remembered = list(self.last[name])
        moving = [int(self.lengths @ (reasons != last)) for last, _ in remembered]
        best = int(np.argmin(moving)) if moving else -1
        if best < 0 or moving[best] * 2 > len(self.row):  # most rows move: count afresh
            cells = self.row * N_REASONS + reasons[self.profile]
            found = np.bincount(cells, weights=weights, minlength=len(self.keys) * N_REASONS)
        else:
            found = self._moved(*remembered[best], weights, reasons)
        with _LAST_LOCK:
            self.last[name].insert(0, (reasons.copy(), found))
            del self.last[name][_REMEMBERED:]
        return found

    def _moved(self, last: np.ndarray, sums: np.ndarray, weights: np.ndarray, reasons: np.ndarray) -> np.ndarray:
        """`sums` (per row and reason under the reasons `last`) with the rows of the profiles
        whose reason differs moved to their new reason: summed per row of keys and (old, new)
        pair of reasons (a knob change gives a few pairs), then every pair's sums moved by one
        product with the pairs' -1/+1 matrix (float64 sums of exact integers below 2**53:
        exact in any order)."""
        changed = np.flatnonzero(reasons != last)
        if not len(changed):
            return sums
        n_keys = len(self.keys)
        pairs, pair_of = np.unique(last[changed] * N_REASONS + reasons[changed], return_inverse=True)
        # the rows of the changed profiles: each slice's start, then consecutive
        starts, n_rows = self.offsets[changed], self.lengths[changed]
        at = np.repeat(starts - np.cumsum(n_rows) + n_rows, n_rows) + np.arange(int(n_rows.sum()))
        cells = np.repeat(pair_of * n_keys, n_rows) + self.row[at]
        moving = np.bincount(cells, weights=weights[at], minlength=len(pairs) * n_keys).reshape(len(pairs), n_keys)
        step = np.zeros((len(pairs), N_REASONS))
        old, new = np.divmod(pairs, N_REASONS)
        step[np.arange(len(pairs)), old] -= 1.0
        step[np.arange(len(pairs)), new] += 1.0
        moved: np.ndarray = (sums.reshape(n_keys, N_REASONS) + moving.T @ step).reshape(-1)
        return moved


_REMEMBERED = 6  # definitions remembered per cube read (a few sessions' current ones)
_LAST_LOCK = threading.Lock()


def _arrays(keys: pd.DataFrame, codes: np.ndarray, width: int, row: np.ndarray,
            rows: dict[str, Any], profiles: ProfileInputs) -> CubeArrays:
    n_profiles = len(profiles)
    order = np.argsort(int_array(rows["p"]), kind="stable")
    profile = int_array(rows["p"])[order]
    # float64: the weights bincount sums (exact below 2**53), so no query converts them again
    tasks = np.asarray(rows["tasks"], dtype="float64")[order]
    issue_units = np.asarray(rows["issue_units"], dtype="float64")[order]
    return CubeArrays(
        keys=keys, codes=codes, width=width, row=np.asarray(row, dtype="int64")[order], profile=profile,
        tasks=tasks, issue_units=issue_units,
        offsets=(offsets := np.searchsorted(profile, np.arange(n_profiles + 1))), lengths=np.diff(offsets),
        profile_tasks=np.bincount(profile, weights=tasks, minlength=n_profiles),
        profile_issue_units=np.bincount(profile, weights=issue_units, minlength=n_profiles),
        profiles=profiles,
    )


def _keys(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return cur.execute(f"SELECT k, account_id, month FROM {cube.KEYS_TABLE} ORDER BY k").df()


def read_cube(cur: duckdb.DuckDBPyConnection) -> CubeArrays:
    rows = cur.execute(f"SELECT k, p, tasks, issue_units FROM {cube.CUBE_TABLE}").fetchnumpy()
    keys = _keys(cur)
    codes = int_array(keys["k"])  # sorted: keys are read in k order
    return _arrays(keys[list(GROUP_COLUMNS)], codes, 0, np.searchsorted(codes, int_array(rows["k"])),
                   rows, read_profile_inputs(cur))


def read_tier_cube(cur: duckdb.DuckDBPyConnection) -> CubeArrays:
    rows = cur.execute(f"SELECT k, t, p, tasks, issue_units FROM {cube.TIERS_TABLE}").fetchnumpy()
    names = cur.execute(
        f"SELECT t, coalesce(model_tier, '') AS model_tier FROM {cube.TIER_NAMES_TABLE} ORDER BY t"
    ).df()
    keys = _keys(cur)
    # One row per (k, t) present, numbered in (account, month, tier) order.
    width = len(names) + 1
    codes, row = np.unique(int_array(rows["k"]) * width + int_array(rows["t"]), return_inverse=True)
    labels = keys.set_index("k").loc[codes // width, ["account_id", "month"]].reset_index(drop=True)
    labels["model_tier"] = names["model_tier"].to_numpy()[codes % width]
    return _arrays(labels, codes, width, np.asarray(row, dtype="int64"), rows, read_profile_inputs(cur))


# ---------------------------------------------------------------- caches
# Keyed by (warehouse file, account scope, cube stamp, ...): the stamp changes with every
# build, so an entry is never stale; a few entries cover the scopes in use at once.
_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_CACHE_SIZE = 12
_CACHE_LOCK = threading.Lock()
T = TypeVar("T")


def cached(key: tuple[Any, ...], read: Callable[[], T]) -> T:
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]  # type: ignore[no-any-return]
    value = read()
    with _CACHE_LOCK:
        _CACHE[key] = value
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def peek(key: tuple[Any, ...]) -> Any:
    """The cached value under `key`, or None (nothing is read)."""
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    return None


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


# ---------------------------------------------------------------- hour knobs off the grid
@dataclass(frozen=True)
class HourKnobs:
    """A definition's hour knobs and, when off the grid, the bucket each falls in."""

    window: float
    silence: float
    gap_bucket: int | None  # the smallest grid value above the window (or ABOVE_GRID)
    quiet_bucket: int | None  # the largest grid value below the silence period

    @property
    def on_grid(self) -> bool:
        return self.gap_bucket is None and self.quiet_bucket is None


def hour_knobs(d: Definition) -> HourKnobs:
    window, silence = float(d.reopen_window_hours), float(d.silence_hours)
    gap_bucket = None if window in HOUR_GRID else next((g for g in HOUR_GRID if g >= window), ABOVE_GRID)
    quiet_bucket = None if silence in HOUR_GRID else max(g for g in HOUR_GRID if g <= silence)
    return HourKnobs(window, silence, gap_bucket, quiet_bucket)


def variant_params(d: Definition, h: HourKnobs, p: str) -> list[dict[str, Any]]:
    """Knob parameters of the variants (prefix p + index): 0 = the definition itself; off the
    grid also 1 = window on its bucket, 2 = silence on its bucket, 3 = both."""
    if h.on_grid:
        return [knob_params(d, f"{p}0_")]
    out = []
    for i in range(4):
        params = knob_params(d, f"{p}{i}_")
        if i & 1 and h.gap_bucket is not None:
            params[f"{p}{i}_window"] = float(h.gap_bucket)
        elif h.gap_bucket == ABOVE_GRID:  # the bucket above the grid is numerically below the window
            params[f"{p}{i}_window"] = float(HOUR_GRID[-1])
        if i & 2 and h.quiet_bucket is not None:
            params[f"{p}{i}_silence"] = float(h.quiet_bucket)
        out.append(params)
    return out


def variant_of(gap: np.ndarray, quiet: np.ndarray, h: HourKnobs) -> np.ndarray:
    """Per task (or hours row), the variant whose reason is its reason: the rules' own
    comparisons on the exact hours (reopened: gap <= window; assumed: quiet >= silence;
    a missing value is never either)."""
    with np.errstate(invalid="ignore"):
        reopened = (gap <= h.window) if h.gap_bucket is not None else np.zeros(len(gap), dtype=bool)
        quiet_enough = (quiet >= h.silence) if h.quiet_bucket is not None else np.zeros(len(quiet), dtype=bool)
    variant: np.ndarray = np.asarray(reopened, dtype="int64") + 2 * np.asarray(quiet_enough, dtype="int64")
    return variant


# ---------------------------------------------------------------- freshness, cheaply
# Per handle: (its data generation, the stamp read then). Within a generation a call only
# counts the tasks: the stamp names the count it was built from, so tasks written behind
# the cube's back are caught as `cube.current_stamp` catches them; a new generation (a
# write through the handle) reads the stamp again. No catalog query per call.
_STAMPS: GenerationMemo[str] = GenerationMemo(entries=1)
_CATALOGS: dict[str, str] = {}


def quick_stamp(wh: Any, cur: duckdb.DuckDBPyConnection, generation: int) -> str | None:
    """The cube's current stamp, or None when this cheap check cannot tell (no cube, a
    stale one, cluster mode, which counts no tasks): then `cube.current_stamp` decides.
    `generation` is read before this call, so a write meanwhile never looks current. Within
    a generation a sealed (read-only) handle asks nothing more; others count the tasks, which
    catches rows written through a raw cursor behind the cube's back."""
    path = str(wh.path)
    if path not in _CATALOGS:
        _CATALOGS[path] = str(cur.execute("SELECT current_database()").fetchone()[0])  # type: ignore[index]
    held = _STAMPS.peek(wh, "stamp", generation)
    if held is not None:
        if getattr(wh, "sealed", False):  # read-only: no write can be behind the cube's back
            return held[0]
        # The whole table (catalog-qualified), as the stamp counts it, not a scoped view.
        table = '"' + _CATALOGS[path].replace('"', '""') + '".main.tasks'
        n_tasks = cur.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        if cube.stamp_from(held[0], n_tasks) is not None:
            return held[0]
    try:
        row = cur.execute(f"SELECT {cube.stamp_columns(_CATALOGS[path])}").fetchall()[0]
    except duckdb.CatalogException:  # a warehouse without a cube
        return None
    stamp = cube.stamp_from(row[0], row[1])
    if stamp is not None:
        _STAMPS.put(wh, "stamp", generation, stamp)
    return stamp


Placed = dict[int, tuple[CubeArrays, np.ndarray]]


def placed_rows(placed: Placed, arrays: CubeArrays, k: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The rows in `arrays`' keys of tasks at (k, t), located once per cube read and kept in
    `placed` (id -> (that read, rows)): the key and the tier read of one build."""
    held = placed.get(id(arrays))
    if held is None or held[0] is not arrays:
        held = (arrays, arrays.locate(k, t))
        if len(placed) >= 2:
            placed.clear()
        placed[id(arrays)] = held
    return held[1]


@dataclass(frozen=True)
class HourRows:
    """The hours side table's rows in the buckets of one definition's off-grid knobs."""

    k: np.ndarray
    t: np.ndarray
    p: np.ndarray
    gap: np.ndarray
    quiet: np.ndarray
    tasks: np.ndarray
    issue_units: np.ndarray
    # One knob off the grid: the rows sorted so that those it moves are a prefix, found by
    # binary search (`moving`): `edge` is the sort key, the gap ascending or the quiet time
    # descending (negated). None when both knobs are off the grid: every row is compared.
    edge: np.ndarray | None = None
    # Their rows in the keys of a cube read (id -> (that read, rows)): located once, not
    # per query (a bucket holds up to a few hundred thousand rows at 10M tasks).
    placed: Placed = field(default_factory=dict, compare=False, repr=False)

    def rows_in(self, arrays: CubeArrays) -> np.ndarray:
        return placed_rows(self.placed, arrays, self.k, self.t)

    def moving(self, h: HourKnobs) -> int:
        """How many leading rows take the knob's exact comparison (reopened: gap <= window;
        assumed: quiet >= silence), the others keep the bucket's reason (`edge` is set)."""
        assert self.edge is not None
        at = h.window if h.gap_bucket is not None else -h.silence
        return int(np.searchsorted(self.edge, at, side="right"))


def read_hour_rows(cur: duckdb.DuckDBPyConnection, h: HourKnobs) -> HourRows:
    found = cur.execute(
        f"SELECT k, t, p, gap_hours, quiet_hours, tasks, issue_units FROM {cube.HOURS_TABLE} "
        "WHERE gap_bucket = $gb OR quiet_bucket = $qb",
        {"gb": NO_BUCKET if h.gap_bucket is None else h.gap_bucket,
         "qb": NO_BUCKET if h.quiet_bucket is None else h.quiet_bucket},
    ).fetchnumpy()
    columns = (int_array(found["k"]), int_array(found["t"]), int_array(found["p"]), float_array(found["gap_hours"]),
               float_array(found["quiet_hours"]), int_array(found["tasks"]), int_array(found["issue_units"]))
    if (h.gap_bucket is None) == (h.quiet_bucket is None):  # both knobs off the grid
        return HourRows(*columns)
    edge = columns[3] if h.gap_bucket is not None else -columns[4]  # NaN (no hours) sorts last
    order = np.argsort(edge, kind="stable")
    k, t, p, gap, quiet, tasks, issue_units = (column[order] for column in columns)
    return HourRows(k, t, p, gap, quiet, tasks, issue_units, edge=edge[order])


def moved(rows: np.ndarray, old: np.ndarray, new: np.ndarray, n: np.ndarray, iu: np.ndarray) -> Part:
    """Records that move n tasks (iu issue units) of each row from reason `old` to `new`."""
    change = old != new
    rows, old, new, n, iu = rows[change], old[change], new[change], n[change], iu[change]
    return (np.concatenate([rows, rows]), np.concatenate([old, new]),
            np.concatenate([-n, n]), np.concatenate([-iu, iu]))


def with_records(counts: Counts, extra: Sequence[Part]) -> Counts:
    keys, parts = counts
    return keys, [*parts, *extra]
