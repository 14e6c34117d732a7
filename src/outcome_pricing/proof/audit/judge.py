"""How good the judge is: the `verified` flag (often a model) against the audits.

On audited tasks the AI answered with `verified` present (billable or not):
sensitivity Se = P(verified | genuine), specificity Sp = P(not verified | not
genuine), each with its Wilson interval. Among all tasks the AI answered with
`verified` present, q is the share verified; the Rogan-Gladen estimator
(q + Sp - 1) / (Se + Sp - 1), clipped to [0, 1], corrects q for the judge's
errors into the share genuinely resolved.

What it does to a bill that requires verification: the verified tasks are
billed; of them a share PPV = Se pi / (Se pi + (1 - Sp)(1 - pi)) is genuine
(pi the corrected rate), and genuine tasks the judge rejected, (1 - Se) pi of
the answered tasks, are never billed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from outcome_pricing.proof.audit.estimate import Rate, small_sample_warning
from outcome_pricing.proof.audit.records import EVERYTHING, Selection, audit_tally
from outcome_pricing.rules import Definition
from outcome_pricing.rules.source import Source

JUDGED_SQL = """
SELECT count(*) FILTER (WHERE verified) AS verified, count(*) AS judged
FROM tasks
WHERE ai_answered AND verified IS NOT NULL {where}
"""


def rogan_gladen(q: float, se: float, sp: float) -> float | None:
    """The genuine rate corrected for the judge; None when the judge is no better than chance."""
    youden = se + sp - 1
    if youden <= 0:
        return None
    return min(1.0, max(0.0, (q + sp - 1) / youden))


@dataclass(frozen=True)
class Judge:
    sensitivity: Rate  # x = verified among genuine
    specificity: Rate  # x = not verified among not genuine
    n: int  # audited, answered, verified present
    verified_share: float | None  # q over every answered task with verified present
    judged_tasks: int
    corrected_genuine_rate: float | None
    warning: str | None

    @property
    def billed_genuine_share(self) -> float | None:
        """PPV: the share of verified (billed) tasks that are genuine."""
        se, sp, pi = self.sensitivity.rate, self.specificity.rate, self.corrected_genuine_rate
        if se is None or sp is None or pi is None:
            return None
        billed = se * pi + (1 - sp) * (1 - pi)
        return None if billed <= 0 else se * pi / billed

    @property
    def genuine_unbilled(self) -> float | None:
        """Genuine tasks the judge rejects (never billed when verification is required)."""
        se, pi = self.sensitivity.rate, self.corrected_genuine_rate
        if se is None or pi is None:
            return None
        return (1 - se) * pi * self.judged_tasks

    def record(self) -> dict[str, Any]:
        se, sp = self.sensitivity, self.specificity
        return {
            "sensitivity": se.rate, "sensitivity_low": se.low, "sensitivity_high": se.high,
            "specificity": sp.rate, "specificity_low": sp.low, "specificity_high": sp.high,
            "n": self.n, "verified_share": self.verified_share,
            "corrected_genuine_rate": self.corrected_genuine_rate,
            "billed_genuine_share": self.billed_genuine_share,
            "genuine_unbilled": self.genuine_unbilled,
            "warning": self.warning,
        }


def judge(wh: Source, d: Definition, selection: Selection = EVERYTHING) -> Judge:
    """Sensitivity, specificity and the Rogan-Gladen corrected genuine rate over `selection`."""
    tally = audit_tally(wh, d, selection)
    seen = tally[tally["judged"]]
    verified, genuine, tasks = seen["verified"], seen["genuine"], seen["tasks"]
    se = Rate.of(int(tasks[verified & genuine].sum()), int(tasks[genuine].sum()))
    sp = Rate.of(int(tasks[~verified & ~genuine].sum()), int(tasks[~genuine].sum()))
    n_verified, judged = _judged(wh, selection)
    q = n_verified / judged if judged else None
    corrected = None
    if q is not None and se.rate is not None and sp.rate is not None:
        corrected = rogan_gladen(q, se.rate, sp.rate)
    # The rarer verdict limits the judge's accuracy: name it.
    warning = small_sample_warning(*((se.n, "audited genuine tasks") if se.n <= sp.n else (sp.n, "audited not-genuine tasks")))
    return Judge(se, sp, int(tasks.sum()), q, judged, corrected, warning)


def _judged(wh: Source, selection: Selection) -> tuple[int, int]:
    where, params = [], {}
    if selection.account_id is not None:
        where.append("account_id = $account_id")
        params["account_id"] = selection.account_id
    if selection.months:
        where.append("list_contains($months, month)")
        params["months"] = list(selection.months)  # type: ignore[assignment]
    sql = JUDGED_SQL.format(where="".join(f" AND {w}" for w in where))  # fixed clauses only
    row = wh.query_df(sql, params).iloc[0]
    return int(row["verified"]), int(row["judged"])
