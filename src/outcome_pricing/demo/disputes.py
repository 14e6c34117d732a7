"""Demo disputes: customers contesting a few billed-looking outcomes (DESIGN section 8).

About `DISPUTE_SHARE` of the tasks a common preset would bill (confirmed, quiet for a
day, or a handoff with context) are disputed, more often when the customer came back
soon or gave a low CSAT; those are also accepted more often. A dispute is filed 1 to 20
days after the task closed and decided 1 to 14 days later; disputes filed in the last
month of the data are still open, so the Disputes page has work to show. Seeded: same
seed, same disputes. Every decision is also in the history, by a named reviewer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import duckdb

DISPUTE_SHARE = 0.004
ACCEPT_SHARE = {"plain": 0.35, "came_back": 0.8, "low_csat": 0.7}
REVIEWERS = ("priya.pricing@vendor.example", "tom.admin@vendor.example")
REASONS = (
    "customer says the problem came back the next day",
    "the answer was wrong; an agent fixed it",
    "duplicate of a conversation already billed",
    "test conversation from our QA team",
    "customer never confirmed; they gave up",
)
US_PER_DAY = 86_400_000_000

# Fixed SQL, no user values.
CANDIDATES_SQL = """
SELECT task_id, account_id, epoch_us(closed_at) AS closed_us,
       coalesce(reopen_gap_hours BETWEEN 0 AND 72, false) AS came_back,
       coalesce(csat <= 2, false) AS low_csat
FROM tasks
WHERE ai_answered AND ((handoff AND coalesce(context_retained, false))
   OR (NOT handoff AND (coalesce(customer_confirmed, false) OR coalesce(quiet_hours, 0) >= 24)))
ORDER BY task_id
"""


def demo_disputes(cur: duckdb.DuckDBPyConnection, seed: int) -> pd.DataFrame:
    """The demo's disputes: dispute_id, task_id, account_id, filed_at, status, decided_at,
    reason, reviewer."""
    c = cur.execute(CANDIDATES_SQL).df()
    last = cur.execute("SELECT max(epoch_us(closed_at)) FROM tasks").fetchall()[0][0]
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(15,)))
    came_back, low_csat = c["came_back"].to_numpy(bool), c["low_csat"].to_numpy(bool)
    weight = np.where(came_back, 6.0, 1.0) * np.where(low_csat, 4.0, 1.0)
    picked = rng.random(len(c)) < DISPUTE_SHARE * weight
    c = c[picked].reset_index(drop=True)
    came_back, low_csat = came_back[picked], low_csat[picked]
    filed = c["closed_us"].to_numpy(np.int64) + rng.integers(1, 21, len(c)) * US_PER_DAY
    decided = filed + rng.integers(1, 15, len(c)) * US_PER_DAY
    accept = np.where(came_back, ACCEPT_SHARE["came_back"], np.where(low_csat, ACCEPT_SHARE["low_csat"],
                                                                      ACCEPT_SHARE["plain"]))
    accepted = rng.random(len(c)) < accept
    still_open = decided > (last or 0) - 20 * US_PER_DAY  # decided after the data ends: still open
    status = np.where(still_open, "open", np.where(accepted, "accepted", "rejected"))
    return pd.DataFrame({
        "dispute_id": [f"DSP{i + 1:05d}" for i in range(len(c))],
        "task_id": c["task_id"].astype(str),
        "account_id": c["account_id"].astype(str),
        "filed_at": pd.to_datetime(filed, unit="us"),
        "status": status,
        "decided_at": pd.Series(pd.to_datetime(decided, unit="us")).where(~still_open),
        "reason": np.array(REASONS, dtype=object)[rng.integers(0, len(REASONS), len(c))],
        "reviewer": pd.Series(np.array(REVIEWERS, dtype=object)[rng.integers(0, len(REVIEWERS), len(c))]).where(
            ~still_open, None),
    })


def write_demo_disputes(cur: duckdb.DuckDBPyConnection, seed: int, replace: bool) -> int:
    """Store the demo disputes and their decisions (inside the demo's transaction); return how many."""
    if replace:
        cur.execute("DELETE FROM disputes")
        cur.execute("DELETE FROM dispute_decisions")
    found = demo_disputes(cur, seed)
    cur.register("demo_disputes_frame", found)
    cur.execute(
        "INSERT INTO disputes SELECT dispute_id, task_id, account_id, filed_at, status, decided_at, reason, "
        "reviewer, NULL FROM demo_disputes_frame"
    )
    first = int(cur.execute("SELECT coalesce(max(decision_id), 0) + 1 FROM dispute_decisions").fetchall()[0][0])
    cur.execute(
        "INSERT INTO dispute_decisions SELECT ? + row_number() OVER (ORDER BY dispute_id) - 1, dispute_id, "
        "task_id, account_id, status, reviewer, decided_at, NULL, 'demo', decided_at "
        "FROM demo_disputes_frame WHERE status <> 'open'",
        [first],
    )
    cur.unregister("demo_disputes_frame")
    return len(found)
