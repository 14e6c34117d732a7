"""Which tasks were audited, and what each audited task is under a definition.

An audit is a person's judgment of one task (DESIGN section 9). Three sources,
in order of authority:

1. the audits file (`ingest --audits`) and the reviewers' decisions in the app
   (`audit_decisions`): for one task the latest audited_at / decided_at wins
   (a tie goes to the app's decision, then to the later ingest or decision);
2. the task columns: qa_audited = true with missed_issue present is an audit
   with genuine = not missed_issue, unless the task has a row in 1.

The billable side comes from the rules (`rules.evaluate_tasks` on the audited
tasks only, and `rules.outcomes` from the cube for the counts), so an audit
estimate always agrees with the bill it is about.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.rules import BILLABLE_REASONS, REASONS, Definition, evaluate_tasks, outcomes
from outcome_pricing.rules.evidence import evidence_sql
from outcome_pricing.rules.source import Source
from outcome_pricing.warehouse.connection import has_table
from outcome_pricing.warehouse.memo import GenerationMemo

BILLABLE_CODES: tuple[str, ...] = tuple(r.value for r in BILLABLE_REASONS)

# Latest explicit audit per task, then the QA columns of tasks without one. Table names are
# fixed; the scoped warehouse shadows every table with an account_id, these included.
EFFECTIVE_AUDITS_SQL = """
WITH explicit AS (
  SELECT task_id, audited_at AS audit_time, genuine, auditor AS who, note, 0 AS src, ingest_id AS seq,
         'audits file' AS source
  FROM audits
  UNION ALL
  SELECT task_id, decided_at, genuine, decided_by, note, 1, decision_id, 'reviewer in the app'
  FROM audit_decisions
),
latest AS (
  SELECT * FROM explicit
  QUALIFY row_number() OVER (PARTITION BY task_id ORDER BY audit_time DESC, src DESC, seq DESC) = 1
)
SELECT task_id, genuine, audit_time AS audited_at, who AS auditor, note, source FROM latest
UNION ALL
SELECT task_id, NOT missed_issue, NULL::TIMESTAMP, NULL::VARCHAR, NULL::VARCHAR, 'qa columns'
FROM tasks
WHERE qa_audited AND missed_issue IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM explicit AS e WHERE e.task_id = tasks.task_id)
"""

AUDIT_COLUMNS_OUT = ["task_id", "genuine", "audited_at", "auditor", "note", "source"]


@dataclass(frozen=True)
class Selection:
    """Which billable outcomes an estimate is about: one account or all, some months or all.

    `months` holds first days of months; empty means every month.
    """

    account_id: str | None = None
    months: tuple[dt.date, ...] = ()

    @classmethod
    def of(cls, account_id: str | None = None, months: Sequence[object] = ()) -> Selection:
        return cls(account_id or None, tuple(sorted({month_start(m) for m in months})))

    def keep(self, df: pd.DataFrame) -> pd.DataFrame:
        """Rows of `df` (with account_id and month columns) inside the selection."""
        mask = pd.Series(True, index=df.index)
        if self.account_id is not None:
            mask &= df["account_id"] == self.account_id
        if self.months:
            wanted = {pd.Timestamp(m) for m in self.months}
            mask &= pd.to_datetime(df["month"]).isin(wanted)
        return df[mask]

    def describe(self) -> str:
        who = f"account {self.account_id}" if self.account_id else "every account"
        when = ", ".join(m.strftime("%Y-%m") for m in self.months) if self.months else "every month"
        return f"{who}, {when}"


EVERYTHING = Selection()  # every account, every month


def month_start(value: object) -> dt.date:
    """'2025-10', a date or a timestamp as the first day of its month."""
    try:
        ts = pd.Timestamp(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        raise ConfigError(f"month {value!r} is not a month; write it as YYYY-MM.") from None
    if pd.isna(ts):
        raise ConfigError(f"month {value!r} is not a month; write it as YYYY-MM.")
    return dt.date(ts.year, ts.month, 1)


def has_audit_tables(wh: Source) -> bool:
    """False for a warehouse written before audits existed (opened read-only, never migrated)."""
    with wh.cursor() as cur:
        return has_table(cur, "audits") and has_table(cur, "audit_decisions")


QA_AUDITS_SQL = ("SELECT task_id, NOT missed_issue AS genuine, NULL::TIMESTAMP AS audited_at, "
                 "NULL::VARCHAR AS auditor, NULL::VARCHAR AS note, 'qa columns' AS source "
                 "FROM tasks WHERE qa_audited AND missed_issue IS NOT NULL")
QA_AUDITED = "qa_audited AND missed_issue IS NOT NULL"  # a task the QA columns audit
QA_AUDITED_IDS = f"SELECT task_id FROM tasks WHERE {QA_AUDITED}"
EXPLICIT_AUDITED_IDS = "SELECT task_id FROM audits UNION ALL SELECT task_id FROM audit_decisions"
# Every task some source audited (a superset of the effective audits: the join decides).
AUDITED_IDS = f"{EXPLICIT_AUDITED_IDS} UNION ALL {QA_AUDITED_IDS}"


def effective_audits(wh: Source) -> pd.DataFrame:
    """One row per audited task: task_id, genuine, audited_at, auditor, note, source."""
    if not has_audit_tables(wh):
        return wh.query_df(QA_AUDITS_SQL, {})
    df = wh.query_df(EFFECTIVE_AUDITS_SQL, {})
    df.columns = AUDIT_COLUMNS_OUT
    return df


# Per warehouse handle and data generation: (kind, definition, account) -> audited tasks. The
# page asks for the estimate, the judge, the accounts and the trend of one definition at once.
_cache: GenerationMemo[pd.DataFrame] = GenerationMemo(entries=8)


def audited_tasks(wh: Source, d: Definition, selection: Selection = EVERYTHING) -> pd.DataFrame:
    """Every audited task in the selection with its reason and units under `d`, and the verdict.

    Columns: those of `rules.evaluate_tasks` plus genuine, audited_at, auditor, note,
    source and billable (units > 0). Ordered by task_id. Kept per handle and data
    generation (a warehouse without a generation is never cached).
    """
    return _cached(wh, "tasks", d, selection, _audited)


def _cached(wh: Source, kind: str, d: Definition, selection: Selection,
            compute: Callable[[Source, Definition, str | None], pd.DataFrame]) -> pd.DataFrame:
    """`compute` kept per handle, data generation, definition and account (a warehouse
    without a generation is never cached), then narrowed to the selection."""
    found = _cache.get(wh, (kind, d.canonical(), selection.account_id),
                       lambda: compute(wh, d, selection.account_id))
    return selection.keep(found).reset_index(drop=True)


TALLY_COLUMNS = ["account_id", "month", "reason", "billable", "genuine", "judged", "verified", "tasks"]


def audit_tally(wh: Source, d: Definition, selection: Selection = EVERYTHING) -> pd.DataFrame:
    """`audited_tasks` counted in SQL: audited tasks per account, month, reason, billable,
    genuine, judged (the AI answered with `verified` present) and verified; column tasks.

    Every estimate, the judge and the settlement read this: at 100M tasks the audited
    tasks themselves (millions of rows) never come into memory. Cached like `audited_tasks`.
    """
    return _cached(wh, "tally", d, selection, _tally)


def _tally(wh: Source, d: Definition, account_id: str | None) -> pd.DataFrame:
    tables = has_audit_tables(wh)
    ids, audits = (AUDITED_IDS, EFFECTIVE_AUDITS_SQL) if tables else (QA_AUDITED_IDS, QA_AUDITS_SQL)
    inner, params = evidence_sql(wh, d, account_id=account_id, within_sql=f"task_id IN ({ids})")
    sql = f"""
    SELECT ev.account_id, ev.month, ev.r, ev.billable_units > 0 AS billable,
           coalesce(au.genuine, false) AS genuine,
           (coalesce(ev.ai_answered, false) AND ev.verified IS NOT NULL) AS judged,
           coalesce(ev.verified, false) AS verified, count(*)::BIGINT AS tasks
    FROM ({inner}) AS ev JOIN ({audits}) AS au USING (task_id)
    GROUP BY ALL ORDER BY ALL
    """  # fixed SQL from the engine; values are bound
    df = wh.query_df(sql, params)
    codes = df.pop("r")
    df.insert(2, "reason", codes.map(lambda i: REASONS[int(i)].value).astype("object"))
    return df[TALLY_COLUMNS]


def _audited(wh: Source, d: Definition, account_id: str | None) -> pd.DataFrame:
    audits = effective_audits(wh)
    if audits.empty:
        base = evaluate_tasks(wh, d, task_ids=[], limit=0)
    else:
        base = evaluate_tasks(wh, d, account_id=account_id, task_ids=list(audits["task_id"]))
    df = base.merge(audits, on="task_id", how="inner")
    df["genuine"] = df["genuine"].astype(bool)
    df["billable"] = df["billable_units"] > 0
    return df.sort_values("task_id", ignore_index=True)


def billable_counts(wh: Source, d: Definition, selection: Selection = EVERYTHING) -> tuple[pd.DataFrame, float]:
    """Billable tasks per account, month and billable reason, and the selection's billable units.

    The frame: account_id, month, reason, tasks (rows with tasks > 0). From the cube when
    it can answer, like every other count of outcomes.
    """
    per = selection.keep(outcomes(wh, d, by=("account_id", "month")))
    parts = []
    for reason in BILLABLE_REASONS:
        part = per[["account_id", "month"]].copy()
        part["reason"] = reason.value
        part["tasks"] = per[reason.column].astype("int64")
        parts.append(part)
    found = pd.concat(parts, ignore_index=True)
    return found[found["tasks"] > 0].reset_index(drop=True), float(per["billable_units"].sum())
