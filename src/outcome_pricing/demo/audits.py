"""Demo audits: people's judgments on a few percent of the billed-looking tasks.

The demo's hidden truth (was the problem genuinely solved?) is not stored, so
the audit verdict is drawn from what a reviewer would see: a confirmed answer
is almost always genuine; an assumed resolution (the customer went quiet)
less so, and less again when the same customer came back soon, gave a low CSAT
or got a corrected wrong answer; a task that was neither confirmed nor quiet
long enough (QA reviewed some) rarely is. The `verified` flag acts as a good but
imperfect judge: the verdict is drawn from the posterior given the flag, with
sensitivity `JUDGE_SENSITIVITY` and a false-positive rate `JUDGE_FALSE_POSITIVE`,
so the Proof page measures about those. Assumed resolutions are audited more
(`AUDIT_SHARE`), as a careful vendor would. Seeded: same seed, same audits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import duckdb

AUDIT_SHARE = {"confirmed": 0.02, "assumed": 0.06, "handoff": 0.02, "other": 0.0}
PRIOR_GENUINE = {"confirmed": 0.97, "assumed": 0.84, "handoff": 0.78, "other": 0.15}
JUDGE_SENSITIVITY = 0.92
JUDGE_FALSE_POSITIVE = 0.2
AUDITORS = ("maria.qa@vendor.example", "sam.qa@vendor.example", "lee.qa@vendor.example")
NOT_GENUINE_NOTES = (
    "customer came back by email the next day",
    "answer did not fix the problem; customer gave up",
    "wrong policy quoted",
    "only the first of two problems addressed",
)

# Billed-looking tasks under the common presets (confirmed, quiet for a day, or a handoff
# with context) and every answered task QA reviewed (qa_audited): the file records QA's
# verdict, and it wins over the qa columns. Fixed SQL, no user values.
CANDIDATES_SQL = """
WITH t AS (
  SELECT *, CASE
    WHEN handoff AND coalesce(context_retained, false) THEN 'handoff'
    WHEN NOT handoff AND coalesce(customer_confirmed, false) THEN 'confirmed'
    WHEN NOT handoff AND coalesce(quiet_hours, 0) >= 24 THEN 'assumed'
    ELSE 'other' END AS kind
  FROM tasks WHERE ai_answered
)
SELECT task_id, kind, coalesce(qa_audited, false) AS qa,
       coalesce(reopen_gap_hours BETWEEN 0 AND 72, false) AS came_back,
       coalesce(csat <= 2, false) AS low_csat,
       coalesce(ai_error_corrected, false) AS corrected,
       verified,
       epoch_us(closed_at) AS closed_us
FROM t
WHERE kind <> 'other' OR coalesce(qa_audited, false)
ORDER BY task_id
"""


def _posterior(prior: np.ndarray, verified: np.ndarray) -> np.ndarray:
    """P(genuine | the judge's flag) for a judge of the stated accuracy; the prior where no flag."""
    se, fp = JUDGE_SENSITIVITY, JUDGE_FALSE_POSITIVE
    yes = prior * se / (prior * se + (1 - prior) * fp)
    no = prior * (1 - se) / (prior * (1 - se) + (1 - prior) * (1 - fp))
    flag = pd.array(verified, dtype="boolean")
    known = ~np.asarray(flag.isna())
    flagged = np.asarray(flag.fillna(False), dtype=bool)
    return np.where(known, np.where(flagged, yes, no), prior)


def demo_audits(cur: duckdb.DuckDBPyConnection, seed: int) -> pd.DataFrame:
    """The audits file the demo comes with: task_id, audited_at, genuine, auditor, note."""
    c = cur.execute(CANDIDATES_SQL).df()
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(9,)))
    kind = c["kind"].to_numpy(dtype=object)
    share = np.array([AUDIT_SHARE[k] for k in kind]) if len(c) else np.zeros(0)
    picked = (rng.random(len(c)) < share) | c["qa"].to_numpy(dtype=bool)
    c = c[picked].reset_index(drop=True)
    prior = np.array([PRIOR_GENUINE[k] for k in c["kind"]], dtype=float) if len(c) else np.zeros(0)
    prior = prior * np.where(c["came_back"], 0.35, 1.0) * np.where(c["low_csat"], 0.5, 1.0)
    prior = prior * np.where(c["corrected"], 0.8, 1.0)
    genuine = rng.random(len(c)) < _posterior(prior, c["verified"].to_numpy())
    delay_us = rng.integers(2 * 24, 20 * 24, len(c)) * 3_600_000_000
    notes = np.array(NOT_GENUINE_NOTES, dtype=object)[rng.integers(0, len(NOT_GENUINE_NOTES), len(c))]
    return pd.DataFrame({
        "task_id": c["task_id"].astype(str),
        "audited_at": pd.to_datetime(c["closed_us"].to_numpy(np.int64) + delay_us, unit="us"),
        "genuine": genuine,
        "auditor": np.array(AUDITORS, dtype=object)[rng.integers(0, len(AUDITORS), len(c))],
        "note": pd.Series(notes).where(~genuine, None),
    })


def write_demo_audits(cur: duckdb.DuckDBPyConnection, seed: int, replace: bool) -> int:
    """Store the demo audits (inside the demo's transaction, after its tasks); return how many.

    They belong to the demo's own ingest (its ingest_log row), so the log still ends with
    the demo, which is how a warehouse is recognised as a given demo.
    """
    if replace:
        cur.execute("DELETE FROM audits")
        cur.execute("DELETE FROM audit_decisions")
    audits = demo_audits(cur, seed)
    ingest_id = int(cur.execute("SELECT coalesce(max(ingest_id), 1) FROM ingest_log").fetchall()[0][0])
    cur.register("demo_audits_frame", audits)
    cur.execute(
        "INSERT INTO audits SELECT a.task_id, t.account_id, a.audited_at, a.genuine, a.auditor, a.note, ? "
        "FROM demo_audits_frame AS a JOIN tasks AS t USING (task_id)",
        [ingest_id],
    )
    cur.unregister("demo_audits_frame")
    return len(audits)
