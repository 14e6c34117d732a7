"""The headline: baseline against AI over all tasks (or one account's), every metric
a `stats.Comparison`, from one grouped count of the per-task values and one of the rates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from outcome_pricing.proof import stats
from outcome_pricing.proof.impact.counts import task_values
from outcome_pricing.proof.impact.metrics import (
    DEFAULT_REOPEN_WINDOW_HOURS,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    ENDS_JOIN,
    METRICS,
    MISSED_SQL,
    OBSERVED_SQL,
    REOPENED_SQL,
    check_account,
    query,
    scope,
)
from outcome_pricing.proof.impact.words import (
    describe,
    format_change,
    format_interval,
    format_p,
    format_value,
)
from outcome_pricing.proof.stats import Comparison
from outcome_pricing.warehouse.handle import Warehouse


@dataclass(frozen=True)
class ImpactSummary:
    """Baseline against AI for one account (or all), every metric a `Comparison`.

    Stable fields for other modules: `human_minutes.diff` (minutes per task,
    AI - baseline), `human_minutes_mix_adjusted.diff`, `missed_issue_rate.diff`
    (fraction), each with `ci_low`, `ci_high`, `p_value`, `n_baseline`,
    `n_ai` and `warning`.
    """

    account_id: str | None
    tasks: int
    human_minutes: Comparison
    human_minutes_mix_adjusted: Comparison
    human_minutes_per_handled_task: Comparison
    resolution_hours: Comparison
    missed_issue_rate: Comparison
    reopen_rate: Comparison
    handoff_rate: Comparison
    csat: Comparison
    reopen_window_hours: float = DEFAULT_REOPEN_WINDOW_HOURS
    seed: int = DEFAULT_SEED
    resamples: int = DEFAULT_RESAMPLES

    @property
    def comparisons(self) -> dict[str, Comparison]:
        """Every metric, in display order."""
        return {key: getattr(self, key) for key in METRICS}

    @property
    def warnings(self) -> tuple[str, ...]:
        """Each metric's warning, prefixed with its label."""
        return tuple(
            f"{METRICS[key].label[0].upper()}{METRICS[key].label[1:]}: {c.warning}"
            for key, c in self.comparisons.items()
            if c.warning
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: one object per metric, plus warnings and the plain-language summary."""
        out: dict[str, Any] = {
            "account_id": self.account_id,
            "tasks": self.tasks,
            "reopen_window_hours": self.reopen_window_hours,
            "seed": self.seed,
            "resamples": self.resamples,
        }
        out.update({key: c.to_dict() for key, c in self.comparisons.items()})
        out["warnings"] = list(self.warnings)
        out["summary"] = plain_language(self)
        return out

    def table(self) -> pd.DataFrame:
        """One row per metric: estimates, difference, interval, p-value, n, test, warning."""
        rows = [
            {
                "metric": METRICS[key].label,
                "unit": c.unit,
                "baseline": c.baseline,
                "ai": c.ai,
                "diff": c.diff,
                "ci_low": c.ci_low,
                "ci_high": c.ci_high,
                "p_value": c.p_value,
                "n_baseline": c.n_baseline,
                "n_ai": c.n_ai,
                "test": c.test,
                "interval": c.ci_method,
                "warning": c.warning or "",
            }
            for key, c in self.comparisons.items()
        ]
        return pd.DataFrame(rows)

    def display_table(self) -> pd.DataFrame:
        """`table()` as text for people: rates in %, changes in percentage points."""
        rows = []
        for key, c in self.comparisons.items():
            level = f"{c.confidence:.0%}"
            label = METRICS[key].label
            rows.append(
                {
                    "Metric": label[:1].upper() + label[1:],
                    "Baseline": format_value(c.baseline, c.unit),
                    "AI": format_value(c.ai, c.unit),
                    "Change": format_change(c.diff, c.unit),
                    f"{level} interval": format_interval(c),
                    "p-value": format_p(c.p_value) if c.p_value is not None else "—",
                    "Tasks, baseline": f"{c.n_baseline:,}",
                    "Tasks, AI": f"{c.n_ai:,}",
                    "Test": c.test or "—",
                    "Warning": c.warning or "",
                }
            )
        return pd.DataFrame(rows)


def impact_summary(
    wh: Warehouse,
    account_id: str | None = None,
    *,
    reopen_window_hours: float = DEFAULT_REOPEN_WINDOW_HOURS,
    seed: int = DEFAULT_SEED,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
) -> ImpactSummary:
    """Baseline against AI over all tasks (or one account's), every metric with its statistics.

    Deterministic for a given seed. Raises UnknownAccountError for an account
    without tasks. Small or empty arms give a `warning` on the metric, not an error.
    """
    check_account(wh, account_id)
    rng = np.random.default_rng(seed)
    values = task_values(wh, account_id)
    counts = _rate_counts(wh, account_id, reopen_window_hours)

    def means(key: str, rows: dict[str, np.ndarray], handled_only: bool = False) -> Comparison:
        m = METRICS[key]
        return stats.compare_counted_means(
            values.arm(rows, False, handled_only), values.arm(rows, True, handled_only),
            metric=key, label=m.label, unit=m.unit, rng=rng, resamples=resamples,
            definition=m.definition, confidence=confidence,
        )

    def rates(key: str, events: str, total: str) -> Comparison:
        m = METRICS[key]
        return stats.compare_rates(
            counts[f"{events}_baseline"], counts[f"{total}_baseline"],
            counts[f"{events}_ai"], counts[f"{total}_ai"],
            metric=key, label=m.label, definition=m.definition, confidence=confidence,
        )

    mix = METRICS["human_minutes_mix_adjusted"]
    handoff = METRICS["handoff_rate"]
    # The draws come in this order (pooled, mix-adjusted, handled, hours, CSAT): keep it,
    # it is what a seed reproduces.
    return ImpactSummary(
        account_id=account_id,
        tasks=values.tasks,
        human_minutes=means("human_minutes", values.minutes),
        human_minutes_mix_adjusted=stats.compare_counted_means_stratified(
            values.by_topic(), metric=mix.key, label=mix.label, unit=mix.unit,
            rng=rng, resamples=max(1, resamples // 2), definition=mix.definition,
            confidence=confidence,
        ),
        human_minutes_per_handled_task=means("human_minutes_per_handled_task", values.minutes, True),
        resolution_hours=means("resolution_hours", values.hours),
        missed_issue_rate=rates("missed_issue_rate", "missed", "audited"),
        reopen_rate=rates("reopen_rate", "reopened", "observed"),
        handoff_rate=stats.single_rate(
            counts["handoffs_ai"], counts["tasks_ai"], metric=handoff.key, label=handoff.label,
            definition=handoff.definition, confidence=confidence,
        ),
        csat=means("csat", values.csat),
        reopen_window_hours=reopen_window_hours,
        seed=seed,
        resamples=resamples,
    )


def _rate_counts(wh: Warehouse, account_id: str | None, window: float) -> dict[str, int]:
    """Events and denominators per arm for the rates, counted in SQL."""
    where, params = scope(account_id)
    parts = []
    for arm, cond in (("baseline", "NOT ai_enabled"), ("ai", "ai_enabled")):
        parts += [
            f"count(*) FILTER (WHERE {cond}) AS tasks_{arm}",
            f"count(*) FILTER (WHERE {cond} AND qa_audited) AS audited_{arm}",
            f"count(*) FILTER (WHERE {cond} AND qa_audited AND {MISSED_SQL}) AS missed_{arm}",
            f"count(*) FILTER (WHERE {cond} AND {OBSERVED_SQL}) AS observed_{arm}",
            f"count(*) FILTER (WHERE {cond} AND {OBSERVED_SQL} AND {REOPENED_SQL}) AS reopened_{arm}",
            f"count(*) FILTER (WHERE {cond} AND handoff) AS handoffs_{arm}",
        ]
    sql = f"SELECT {', '.join(parts)} FROM tasks {ENDS_JOIN} {where}"
    row = query(wh, sql, {**params, "window": window})
    return {str(k): int(v) for k, v in row.iloc[0].items()}


def plain_language(summary: ImpactSummary) -> str:
    """The headline in words: human minutes, the same at a fixed topic mix, missed issues."""
    keys = ("human_minutes", "human_minutes_mix_adjusted", "missed_issue_rate")
    return " ".join(describe(getattr(summary, k), METRICS[k].noun) for k in keys)
