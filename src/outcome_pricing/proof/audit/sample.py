"""Drawing audits: a seeded sample of billable, not yet audited tasks, ready to fill in.

Simple (one group) or proportional by reason code or by account: each group
gets n x its share of the billable, not yet audited tasks, rounded by the
largest remainder (Hamilton's method: floors first, then one more to the groups
with the largest fractional parts, ties to the first group in sorted order), so
the shares add up to n exactly. Within a group the tasks are drawn without
replacement by a numpy Generator seeded with `seed`, from the candidates in
task_id order: the same warehouse, definition, n, grouping and seed give the
same sample.

The CSV has the audit columns first (task_id, audited_at, genuine, auditor,
note; all but task_id empty, to fill in), then the evidence the auditor needs;
`ingest --audits` reads it back (the evidence columns are ignored there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

import numpy as np
import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.cells import to_safe_csv
from outcome_pricing.proof.audit.records import EVERYTHING, Selection, effective_audits
from outcome_pricing.rules import BILLABLE_REASONS, EVIDENCE_FIELDS, Definition, evaluate_tasks
from outcome_pricing.rules.source import Source

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
    group_by = _sample_by(by)
    pool = candidates(wh, d, selection)
    rng = np.random.default_rng(seed)
    column = group_by.column
    groups = [("all", pool)] if column is None else sorted(pool.groupby(column), key=lambda g: str(g[0]))
    shares = largest_remainder(n, [len(g) for _, g in groups])
    picked = [
        frame.iloc[np.sort(rng.choice(len(frame), size=k, replace=False))]
        for (_, frame), k in zip(groups, shares, strict=True) if k
    ]
    drawn = pd.concat(picked, ignore_index=True) if picked else pool.iloc[0:0]
    return sample_file(drawn.sort_values("task_id", ignore_index=True))


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
