"""The per-task values behind the headline's bootstraps and rank tests, counted in SQL.

One scan groups the tasks by arm and value (human minutes also by handled and
topic, for the per-handled and mix-adjusted figures), so what reaches Python is a
few hundred thousand (value, count) rows at 100M tasks instead of every task:
values come as FLOAT (7 significant digits, far finer than any minute or hour
reported), which also bounds how many distinct values there can be.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outcome_pricing.proof.impact.metrics import HANDLED_SQL, RESOLUTION_HOURS_SQL, scope
from outcome_pricing.proof.stats import ValueCounts, value_counts
from outcome_pricing.warehouse.handle import Warehouse

Rows = dict[str, np.ndarray]

# GROUPING(minutes, hours) tells the grouping sets apart: 1 = minutes rows, 2 = hours, 3 = CSAT.
_SQL = """
WITH t AS (
  SELECT ai_enabled AS ai,
         {handled} AS handled,
         hash(topic) AS topic_hash,
         coalesce(human_seconds / 60.0, 'NaN'::DOUBLE)::FLOAT AS minutes,
         coalesce(({hours})::FLOAT, 'NaN'::FLOAT) AS hours,
         coalesce(csat::FLOAT, 'NaN'::FLOAT) AS csat
  FROM tasks {where}
)
SELECT grouping(minutes, hours) AS part,
       coalesce(ai, false) AS ai,
       coalesce(handled, false) AS handled,
       coalesce(topic_hash, 0)::UBIGINT AS topic_hash,
       coalesce(minutes, hours, csat, 'NaN'::FLOAT) AS value,
       count(*) AS n
FROM t
GROUP BY GROUPING SETS ((ai, handled, topic_hash, minutes), (ai, hours), (ai, csat))
"""


@dataclass(frozen=True)
class TaskValues:
    """Counts per (arm, value) of each per-task metric; `minutes` also per handled and topic."""

    tasks: int
    minutes: Rows
    hours: Rows
    csat: Rows

    def arm(self, rows: Rows, ai: bool, handled_only: bool = False) -> ValueCounts:
        """One arm's sample of a metric (optionally only human-handled tasks)."""
        keep = rows["ai"] == ai
        if handled_only:
            keep &= rows["handled"]
        return value_counts(rows["value"][keep], rows["n"][keep])

    def by_topic(self) -> list[tuple[ValueCounts, ValueCounts]]:
        """(baseline, AI) human minutes per topic, topics in the order of their hash."""
        rows = self.minutes
        finite = np.isfinite(rows["value"])
        topics = np.unique(rows["topic_hash"][finite])
        out = []
        for topic in topics:
            keep = finite & (rows["topic_hash"] == topic)
            part = {k: v[keep] for k, v in rows.items()}
            out.append((self.arm(part, False), self.arm(part, True)))
        return out


def task_values(wh: Warehouse, account_id: str | None) -> TaskValues:
    """One grouped scan of the tasks in scope (all accounts, or one)."""
    where, params = scope(account_id)
    sql = _SQL.format(handled=HANDLED_SQL, hours=RESOLUTION_HOURS_SQL, where=where)
    with wh.cursor() as cur:
        got = {k: np.asarray(v) for k, v in cur.execute(sql, params).fetchnumpy().items()}
    got["value"] = got["value"].astype(float)
    got["ai"] = got["ai"].astype(bool)
    got["handled"] = got["handled"].astype(bool)
    parts = {p: got["part"] == p for p in (1, 2, 3)}
    split = {p: {k: v[mask] for k, v in got.items() if k != "part"} for p, mask in parts.items()}
    return TaskValues(
        tasks=int(split[3]["n"].sum()), minutes=split[1], hours=split[2], csat=split[3],
    )
