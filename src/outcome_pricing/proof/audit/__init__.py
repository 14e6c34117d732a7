"""Proof by audit (DESIGN section 9): how many billed outcomes were genuine.

- ``records``: which tasks were audited (file, app decisions, QA columns) and
  what each is under a definition; the `Selection` (account, months).
- ``estimate``: the false-resolution rate with its Wilson interval, by reason
  (stratified, with a documented interval), by account and by month.
- ``judge``: the `verified` flag's sensitivity and specificity; Rogan-Gladen.
- ``planner``: audits needed for a margin (finite population).
- ``sample``: a seeded sample to audit, largest-remainder allocation.
- ``settlement``: the rate r per account-month an outcomes charge settles on.
- ``decisions``: a reviewer's verdict in the app, kept with who and when.
- ``pack``: the evidence pack of one account and month.
"""

from __future__ import annotations

from outcome_pricing.proof.audit.decisions import decision_history, record_decision
from outcome_pricing.proof.audit.estimate import (
    MIN_AUDITS,
    AuditEstimate,
    Rate,
    Stratified,
    StratumEstimate,
    by_account,
    estimate,
    stratified_rate,
    trend,
)
from outcome_pricing.proof.audit.judge import Judge, judge, rogan_gladen
from outcome_pricing.proof.audit.pack import evidence_pack
from outcome_pricing.proof.audit.planner import Z_95, sample_size
from outcome_pricing.proof.audit.records import (
    Selection,
    audit_tally,
    audited_tasks,
    effective_audits,
)
from outcome_pricing.proof.audit.sample import SampleBy, draw_sample, largest_remainder, sample_csv
from outcome_pricing.proof.audit.settlement import settled_micro, settlement_rates

__all__ = [
    "MIN_AUDITS",
    "Z_95",
    "AuditEstimate",
    "Judge",
    "Rate",
    "SampleBy",
    "Selection",
    "Stratified",
    "StratumEstimate",
    "audit_tally",
    "audited_tasks",
    "by_account",
    "decision_history",
    "draw_sample",
    "effective_audits",
    "estimate",
    "evidence_pack",
    "judge",
    "largest_remainder",
    "record_decision",
    "rogan_gladen",
    "sample_csv",
    "sample_size",
    "settled_micro",
    "settlement_rates",
    "stratified_rate",
    "trend",
]
