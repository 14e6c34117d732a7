"""What the impact measures: each metric's label, unit and definition, the fixed SQL
fragments that compute them over `tasks`, and the account scope every query shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from outcome_pricing.proof import stats
from outcome_pricing.warehouse.handle import Warehouse

DEFAULT_REOPEN_WINDOW_HOURS = 72.0
DEFAULT_SEED = 20_240_501
DEFAULT_RESAMPLES = stats.DEFAULT_RESAMPLES


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    noun: str  # what n counts, for sentences: "tasks", "QA-audited tasks"
    definition: str


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric(
            "human_minutes", "human minutes per task", "minutes", "tasks",
            "human_seconds / 60 over every task with human_seconds recorded; an AI-only task "
            "counts with its 0, an empty value is left out.",
        ),
        Metric(
            "human_minutes_mix_adjusted", "human minutes per task at the same topic mix",
            "minutes", "tasks",
            "Per-topic differences in human minutes per task, weighted by the AI arm's topic "
            "mix (topics without baseline tasks are left out), so a shift in the mix of work "
            "is not read as a change in speed.",
        ),
        Metric(
            "human_minutes_per_handled_task", "human minutes per human-handled task", "minutes",
            "human-handled tasks",
            "Human minutes over tasks a human worked on: every baseline task, and AI tasks with "
            "a handoff or human_seconds > 0. Shows whether what is left for people is harder.",
        ),
        Metric(
            "resolution_hours", "resolution time (hours)", "hours", "tasks",
            "Hours from created_at to closed_at.",
        ),
        Metric(
            "missed_issue_rate", "missed-issue rate", "fraction", "QA-audited tasks",
            "Among qa_audited tasks, the share where QA found an issue missed or answered "
            "wrongly (missed_issue true; empty counts as nothing found).",
        ),
        Metric(
            "reopen_rate", "reopen rate", "fraction", "tasks with a full reopen window",
            "Share of tasks followed by another task from the same requester on the same topic "
            "within the reopen window of closing (reopen_gap_hours <= window). A negative gap "
            "(the next task opened before this one closed) counts, as in resolution rule 3. Only "
            "tasks closed at least one window before the account's last task count (a later "
            "reopen could still come for the others).",
        ),
        Metric(
            "handoff_rate", "handoff rate", "fraction", "AI tasks",
            "Share of AI tasks handed to a human. AI arm only: the baseline has no AI to hand "
            "off from, so the interval is that of the AI rate.",
        ),
        Metric("csat", "CSAT (1-5)", "points", "scored tasks", "Mean CSAT over tasks with a score."),
    )
}

# SQL fragments over `tasks`: fixed text, never built from user input.
HANDLED_SQL = "(NOT ai_enabled OR handoff OR coalesce(human_seconds, 0) > 0)"
RESOLUTION_HOURS_SQL = "date_diff('millisecond', created_at, closed_at) / 3600000.0"
REOPENED_SQL = "coalesce(reopen_gap_hours <= $window, false)"
# The reopen window of this task is over by the end of its account's logs (else a reopen could
# still come); needs ENDS_JOIN in the FROM clause.
OBSERVED_SQL = "(date_diff('millisecond', closed_at, log_end) >= $window * 3600000)"
ENDS_JOIN = (
    "JOIN (SELECT account_id, max(created_at) AS log_end FROM tasks GROUP BY account_id) AS ends "
    "USING (account_id)"
)
MISSED_SQL = "coalesce(missed_issue, false)"
GROUPINGS = {"topic": "topic", "account_id": "account_id", "month": "month", "channel": "channel"}
SAMPLE_METRICS = {
    "human_minutes": ("human_seconds / 60.0", "human_seconds IS NOT NULL"),
    "human_minutes_per_handled_task": (
        "human_seconds / 60.0", f"human_seconds IS NOT NULL AND {HANDLED_SQL}",
    ),
    "resolution_hours": (RESOLUTION_HOURS_SQL, "true"),
    "csat": ("csat::DOUBLE", "csat IS NOT NULL"),
}


def query(wh: Warehouse, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    """Run SQL with named parameters ($name) on its own cursor."""
    with wh.cursor() as cur:
        return cur.execute(sql, params).df()


def scope(account_id: str | None) -> tuple[str, dict[str, Any]]:
    """WHERE clause and named parameters for an optional account filter."""
    if account_id is None:
        return "", {}
    return "WHERE account_id = $account", {"account": account_id}


def check_account(wh: Warehouse, account_id: str | None) -> None:
    """Raise UnknownAccountError naming the account and some known ones if it has no tasks."""
    if account_id is not None:
        wh.require_account(account_id, "or compare all accounts instead")
