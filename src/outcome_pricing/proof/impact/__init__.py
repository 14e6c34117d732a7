"""What the AI changed: baseline (ai_enabled false) against AI (ai_enabled true).

Public API (stable: the ROI case and other pages build on it):

- `impact_summary(wh, account_id=None) -> ImpactSummary`: every metric below
  as a `stats.Comparison` (baseline, ai, diff = ai - baseline, 95% CI,
  p-value, n per arm, warning). The measured change in human minutes per
  task is `summary.human_minutes.diff` (minutes, negative = time saved); the
  missed-issue change is `summary.missed_issue_rate.diff` (a fraction).
- `impact_by(wh, by, account_id=None)`: the same metrics per topic, account,
  month or channel (point estimates, arm mix, a normal-approximation
  interval for human minutes).
- `trend_by_go_live(wh, account_id=None)`: metrics per month relative to each
  account's go-live (accounts.ai_go_live, else its first month with an AI task).
- `distribution_sample(wh, metric, ...)`: a seeded subsample per arm for ECDFs.
- `plain_language(summary)`: sentences a sales engineer can read out.

Metric definitions (also in `METRICS`, shown on the page):

- human minutes per task: human_seconds / 60 averaged over every task with
  human_seconds recorded. A task the AI closed alone counts with its 0; an
  empty human_seconds is unknown and left out.
- human minutes per human-handled task: the same over tasks a human worked
  on: every baseline task, and AI tasks with a handoff or human_seconds > 0.
- resolution hours: closed_at - created_at in hours.
- missed-issue rate: among qa_audited tasks, the share with missed_issue true
  (an empty missed_issue on an audited task counts as nothing found).
- reopen rate: the share of tasks followed by another task from the same
  account, requester and topic within `reopen_window_hours` (72 by default)
  of closing: reopen_gap_hours <= window. A negative gap (the next task was
  opened before this one closed) counts as a reopen, exactly as resolution
  rule 3 (`reopened`) does. Only tasks whose whole window lies inside the
  account's logs count (closed at least `window` hours before the account's
  last task was created): the AI's tasks are the recent ones, and counting
  tasks whose window is still open would flatter the AI. Per account, so an
  account's figure does not depend on which other accounts are loaded or visible.
- handoff rate: AI arm only (the baseline has no AI to hand off from).
- CSAT: the mean score over tasks with a score.
- human minutes, same topic mix: per-topic differences weighted by the AI
  arm's topic mix, so AI taking the easy topics is not read as speed.

Statistics are in `stats` (bootstrap on value histograms, Newcombe, Mann-
Whitney, chi-square/Fisher). The summary reads the six per-task columns it
needs in one scan (values as FLOAT) and counts the rates in SQL,
bootstraps 2,000 resamples per metric and 1,000 for the stratified one; at
1M tasks that is well under the 2 s budget (see benchmarks/bench_impact.py).

The package: ``metrics`` (definitions, SQL fragments, scope), ``summary``
(``impact_summary``, ``ImpactSummary``, ``plain_language``), ``breakdown``
(``impact_by``, ``trend_by_go_live``, ``distribution_sample``, ``sd_of``) and
``words`` (formats and sentences); every public name is importable from here.
"""

from __future__ import annotations

from outcome_pricing.proof.impact.breakdown import (
    distribution_sample,
    go_live_months,
    impact_by,
    sd_of,
    trend_by_go_live,
)
from outcome_pricing.proof.impact.metrics import (
    DEFAULT_REOPEN_WINDOW_HOURS,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    GROUPINGS,
    METRICS,
    SAMPLE_METRICS,
    Metric,
    check_account,
)
from outcome_pricing.proof.impact.summary import ImpactSummary, impact_summary, plain_language
from outcome_pricing.proof.impact.words import (
    NO_CLEAR_CHANGE,
    card_change,
    describe,
    format_change,
    format_interval,
    format_p,
    format_value,
)

__all__ = [
    "DEFAULT_REOPEN_WINDOW_HOURS",
    "DEFAULT_RESAMPLES",
    "DEFAULT_SEED",
    "NO_CLEAR_CHANGE",
    "GROUPINGS",
    "METRICS",
    "SAMPLE_METRICS",
    "ImpactSummary",
    "Metric",
    "card_change",
    "check_account",
    "describe",
    "distribution_sample",
    "format_change",
    "format_interval",
    "format_p",
    "format_value",
    "go_live_months",
    "impact_by",
    "impact_summary",
    "plain_language",
    "sd_of",
    "trend_by_go_live",
]
