"""Drawing audits: a seeded sample of billable, not yet audited tasks, ready to fill in.

Simple (one group) or proportional by reason code or by account: each group
gets n x its share of the billable, not yet audited tasks, rounded by the
largest remainder (Hamilton's method: floors first, then one more to the groups
with the largest fractional parts, ties to the first group in sorted order), so
the shares add up to n exactly. Within a group the tasks are drawn without
replacement by a numpy Generator seeded with `seed`, from the candidates in
task_id order: the same warehouse, definition, n, grouping and seed give the
same sample.

The draw counts the candidates of each group in SQL, picks positions (ranks in task_id
order within the group) with the seeded Generator, and fetches only those rows: at 100M
tasks the millions of billable candidates never come into memory (`candidates` is the
same pool in pandas, the reference the tests compare the draw with).

The CSV has the audit columns first (task_id, audited_at, genuine, auditor,
note; all but task_id empty, to fill in), then the evidence the auditor needs;
`ingest --audits` reads it back (the evidence columns are ignored there).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.cells import to_safe_csv
from outcome_pricing.proof.audit.records import (
    AUDITED_IDS,
    EVERYTHING,
    QA_AUDITED_IDS,
    Selection,
    effective_audits,
    has_audit_tables,
)
from outcome_pricing.rules import (
    BILLABLE_REASONS,
    EVIDENCE_FIELDS,
    REASONS,
    Definition,
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
    sizes = wh.query_df(f"SELECT grp, count(*) AS size FROM ({pool}) AS p GROUP BY grp", params)
    groups = sorted(zip(sizes["grp"].map(_group_name(column)), sizes["grp"], sizes["size"], strict=True),
                    key=lambda g: str(g[0]))
    shares = largest_remainder(n, [int(size) for _, _, size in groups])
    rng = np.random.default_rng(seed)
    keys: list[object] = []
    ranks: list[int] = []
    for (_, key, size), k in zip(groups, shares, strict=True):
        if k:  # the same calls, in the same order, as drawing from the pool in pandas
            at = np.sort(rng.choice(int(size), size=k, replace=False))
            keys += [key] * k
            ranks += [int(i) for i in at]
    if not keys:
        return sample_file(candidates_frame(wh.query_df(f"SELECT * EXCLUDE (grp) FROM ({pool}) AS p LIMIT 0", params)))
    params |= {"pick_keys": keys, "pick_ranks": ranks}
    # Rank the narrow (task_id, group) pool only; the evidence comes for the drawn tasks alone.
    sql = f"""
    SELECT task_id FROM (
      SELECT task_id, grp, row_number() OVER (PARTITION BY grp ORDER BY task_id) - 1 AS rank FROM ({pool}) AS q) AS p
    JOIN (SELECT unnest($pick_keys) AS grp, unnest($pick_ranks) AS rank) AS w USING (grp, rank)
    """  # fixed SQL from the engine; values are bound
    picked = [str(t) for t in wh.query_df(sql, params)["task_id"]]
    rows, row_params = evidence_sql(wh, d, within_sql="task_id IN (SELECT unnest($picked_ids))")
    drawn = wh.query_df(f"SELECT * FROM ({rows}) AS ev ORDER BY task_id", row_params | {"picked_ids": picked})
    return sample_file(candidates_frame(drawn))


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
    audited = AUDITED_IDS if has_audit_tables(wh) else QA_AUDITED_IDS
    inner, params = evidence_sql(wh, d, account_id=selection.account_id, within_sql=f"task_id NOT IN ({audited})")
    params["billable_codes"] = BILLABLE_CODES
    where = ["list_contains($billable_codes, r)", "billable_units > 0"]
    if selection.months:
        where.append("list_contains($sample_months, month)")
        params["sample_months"] = list(selection.months)
    grp = {"reason": "r", "account_id": "account_id"}.get(column or "", "'all'")
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
