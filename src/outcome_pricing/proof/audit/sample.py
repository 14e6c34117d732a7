"""Drawing audits: a seeded sample of billable, not yet audited tasks, ready to fill in.

Simple (one group) or proportional by reason code or by account: each group
gets n x its share of the billable, not yet audited tasks, rounded by the
largest remainder (Hamilton's method: floors first, then one more to the groups
with the largest fractional parts, ties to the first group in sorted order), so
the shares add up to n exactly. Within a group the tasks are drawn without
replacement by a numpy Generator seeded with `seed`, from the candidates in
task_id order: the same warehouse, definition, n, grouping and seed give the
same sample.

The draw runs the rules over the tasks once: the pool's task ids come back in task_id
order with their group as Arrow arrays (no Python objects; some 30M short ids at 100M
tasks), the group sizes and the positions (ranks in task_id order within the group, picked
with the seeded Generator) are read from them, and the evidence is fetched for the drawn
tasks alone (`candidates` is the same pool in pandas, the reference the tests compare the
draw with). Counting in SQL first and ranking in a window after ran the rules twice and
took 241 s at 100M tasks.

The CSV has the audit columns first (task_id, audited_at, genuine, auditor,
note; all but task_id empty, to fill in), then the evidence the auditor needs;
`ingest --audits` reads it back (the evidence columns are ignored there).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.cells import to_safe_csv
from outcome_pricing.proof.audit.records import (
    EVERYTHING,
    EXPLICIT_AUDITED_IDS,
    QA_AUDITED,
    Selection,
    effective_audits,
    has_audit_tables,
)
from outcome_pricing.rules import (
    BILLABLE_REASONS,
    EVIDENCE_FIELDS,
    REASONS,
    Definition,
    Reason,
    evaluate_tasks,
)
from outcome_pricing.rules.evidence import evidence_sql
from outcome_pricing.rules.source import Source
from outcome_pricing.warehouse import cluster

BILLABLE_CODES = [r.code for r in BILLABLE_REASONS]

AUDIT_FILE_COLUMNS = ("task_id", "audited_at", "genuine", "auditor", "note")
EVIDENCE_COLUMNS = ("account_id", "month", "reason", "billable_units", *EVIDENCE_FIELDS)


class SampleBy(StrEnum):
    SIMPLE = "simple"
    REASON = "reason"
    ACCOUNT = "account"

    @property
    def column(self) -> str | None:
        return {SampleBy.REASON: "reason", SampleBy.ACCOUNT: "account_id"}.get(self)


def largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` in proportion to `weights` (counts), shares summing to `total` exactly."""
    whole = sum(weights)
    if total < 0:
        raise ConfigError(f"Cannot draw a negative number of tasks ({total}).")
    if whole == 0:
        return [0] * len(weights)
    total = min(total, whole)
    quotas = [total * w / whole for w in weights]
    shares = [math.floor(q) for q in quotas]
    left = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - shares[i]), i))
    for i in order[:left]:
        shares[i] += 1
    return shares


def candidates(wh: Source, d: Definition, selection: Selection = EVERYTHING) -> pd.DataFrame:
    """Billable, not yet audited tasks of the selection with their evidence, by task_id."""
    # One reason at a time: only billable rows come back (most tasks are not billable).
    parts = [evaluate_tasks(wh, d, account_id=selection.account_id, reason=r) for r in BILLABLE_REASONS]
    tasks = selection.keep(pd.concat(parts, ignore_index=True))
    audited = set(effective_audits(wh)["task_id"])
    keep = (tasks["billable_units"] > 0) & ~tasks["task_id"].isin(audited)
    return tasks[keep].sort_values("task_id", ignore_index=True)


def draw_sample(
    wh: Source,
    d: Definition,
    n: int,
    by: SampleBy | str = SampleBy.SIMPLE,
    seed: int = 0,
    selection: Selection = EVERYTHING,
) -> pd.DataFrame:
    """The sample as the audit file to fill in: AUDIT_FILE_COLUMNS then EVIDENCE_COLUMNS."""
    if n < 1:
        raise ConfigError(f"--n must be at least 1 (the number of tasks to audit), got {n}.")
    column = _sample_by(by).column
    pool, params = _pool_sql(wh, d, selection, column)
    ids, keys = _pool_ids(wh, f"SELECT task_id, grp FROM ({pool}) AS p ORDER BY task_id", params)
    names, codes = _group_codes(keys, column)
    order = sorted(range(len(names)), key=lambda g: str(names[g]))
    members = [np.flatnonzero(codes == g) for g in order]
    shares = largest_remainder(n, [len(m) for m in members])
    rng = np.random.default_rng(seed)
    rows: list[np.ndarray] = []
    for at, k in zip(members, shares, strict=True):
        if k:  # the same calls, in the same order, as drawing from the pool in pandas
            rows.append(at[np.sort(rng.choice(len(at), size=k, replace=False))])
    picked = [str(t) for t in ids.take(np.concatenate(rows)).to_pylist()] if rows else []
    within = "task_id IN (SELECT unnest($picked_ids))"
    evidence, row_params = evidence_sql(wh, d, within_sql=within)
    drawn = wh.query_df(f"SELECT * FROM ({evidence}) AS ev ORDER BY task_id", row_params | {"picked_ids": picked})
    return sample_file(candidates_frame(drawn))


def _pool_ids(wh: Source, sql: str, params: dict[str, Any]) -> tuple[pa.Array, pa.Array]:
    """The pool's task ids in task_id order and their group keys, as Arrow arrays.

    One scan with the rules: the group sizes and the ranks both come from these arrays
    (at 100M tasks, some 30M short ids: a few hundred MB, never Python objects)."""
    with wh.cursor() as cur, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # DuckDB notes the copy it makes
        table: pa.Table = cur.execute(sql, params).to_arrow_table()
    return table.column("task_id").combine_chunks(), table.column("grp").combine_chunks()


def _group_codes(keys: pa.Array, column: str | None) -> tuple[list[object], np.ndarray]:
    """The groups' names (as the pandas pool has them) and each pool row's group number."""
    encoded = pc.dictionary_encode(keys)
    name = _group_name(column)
    names = [name(k) for k in encoded.dictionary.to_pylist()]
    return names, np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)


def candidates_frame(drawn: pd.DataFrame) -> pd.DataFrame:
    """Rows of the pool as `evaluate_tasks` has them: the reason code as its name."""
    codes = drawn.pop("r")
    drawn.insert(3, "reason", codes.map(lambda i: REASONS[int(i)].value).astype("object"))
    return drawn


def _group_name(column: str | None) -> Callable[[object], object]:
    """The group's name as the pandas pool would have it (reason codes as their values)."""
    if column == "reason":
        return lambda code: REASONS[int(code)].value  # type: ignore[call-overload]
    return lambda key: key


def _pool_sql(wh: Source, d: Definition, selection: Selection, column: str | None) -> tuple[str, dict[str, Any]]:
    """Billable, not yet audited tasks of the selection (the pool of `candidates`) with a group key."""
    with wh.cursor() as cur:  # as `evaluate_tasks` without task_ids: never guess in cluster mode
        cluster.refuse_task_scan(cur, "Listing tasks without naming them (use one account-month)")
    # The QA columns' audits are a test on the row itself; only the audits file and the app's
    # decisions (few rows) are a join. NOT IN over every audited id cost a tenth of the draw.
    not_audited = f"NOT coalesce({QA_AUDITED}, false)"
    if has_audit_tables(wh):
        not_audited += f" AND task_id NOT IN ({EXPLICIT_AUDITED_IDS})"
    inner, params = evidence_sql(wh, d, account_id=selection.account_id, within_sql=not_audited)
    # Units are at least 1 per confirmed or assumed task (cube.RAW_INPUTS), so `billable_units
    # > 0` is a test on the code alone; testing the units repeats the rules' CASE in the scan.
    params["pool_codes"] = [c for c in BILLABLE_CODES
                            if c != Reason.HANDOFF_PARTIAL.code or float(d.partial_credit) > 0]
    where = ["list_contains($pool_codes, r)"]
    if selection.months:
        where.append("list_contains($sample_months, month)")
        params["sample_months"] = list(selection.months)
    grp = {"reason": "r", "account_id": "account_id"}.get(column or "", "0")  # one group
    return f"SELECT *, {grp} AS grp FROM ({inner}) AS ev WHERE {' AND '.join(where)}", params


def _sample_by(by: SampleBy | str) -> SampleBy:
    try:
        return SampleBy(by)
    except ValueError:
        raise ConfigError(f"--by {by!r}: use one of {', '.join(s.value for s in SampleBy)}.") from None


def sample_file(drawn: pd.DataFrame) -> pd.DataFrame:
    """Evidence rows as the audit file: empty audited_at, genuine, auditor and note to fill in."""
    out = pd.DataFrame({"task_id": drawn["task_id"].astype(str)})
    for column in AUDIT_FILE_COLUMNS[1:]:
        out[column] = ""
    for column in EVIDENCE_COLUMNS:
        out[column] = drawn[column].to_numpy() if column in drawn else None
    out["month"] = pd.to_datetime(out["month"]).dt.strftime("%Y-%m")
    return out


def sample_csv(sample: pd.DataFrame) -> bytes:
    """The sample as a spreadsheet-safe CSV (text cells cannot run as formulas)."""
    return to_safe_csv(sample)
