"""The headline: baseline against AI over all tasks (or one account's), every metric
a `stats.Comparison`, from one scan of the per-task values and one count of the rates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from outcome_pricing.proof import stats
from outcome_pricing.proof.impact.metrics import (
    DEFAULT_REOPEN_WINDOW_HOURS,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    ENDS_JOIN,
    HANDLED_SQL,
    METRICS,
    MISSED_SQL,
    OBSERVED_SQL,
    REOPENED_SQL,
    RESOLUTION_HOURS_SQL,
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
    rows = _task_arrays(wh, account_id)
    counts = _rate_counts(wh, account_id, reopen_window_hours)
    is_ai = rows["ai_enabled"].astype(bool)
    handled = rows["handled"].astype(bool)
    minutes = rows["human_minutes"]

    def means(key: str, values: np.ndarray, mask: np.ndarray | None = None) -> Comparison:
        m = METRICS[key]
        keep = np.ones(values.size, dtype=bool) if mask is None else mask
        return stats.compare_means(
            values[keep & ~is_ai], values[keep & is_ai], metric=key, label=m.label, unit=m.unit,
            rng=rng, resamples=resamples, definition=m.definition, confidence=confidence,
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
    return ImpactSummary(
        account_id=account_id,
        tasks=int(is_ai.size),
        human_minutes=means("human_minutes", minutes),
        human_minutes_mix_adjusted=stats.compare_means_stratified(
            minutes, is_ai, rows["topic_code"], metric=mix.key, label=mix.label, unit=mix.unit,
            rng=rng, resamples=max(1, resamples // 2), definition=mix.definition,
            confidence=confidence,
        ),
        human_minutes_per_handled_task=means("human_minutes_per_handled_task", minutes, handled),
        resolution_hours=means("resolution_hours", rows["resolution_hours"]),
        missed_issue_rate=rates("missed_issue_rate", "missed", "audited"),
        reopen_rate=rates("reopen_rate", "reopened", "observed"),
        handoff_rate=stats.single_rate(
            counts["handoffs_ai"], counts["tasks_ai"], metric=handoff.key, label=handoff.label,
            definition=handoff.definition, confidence=confidence,
        ),
        csat=means("csat", rows["csat"]),
        reopen_window_hours=reopen_window_hours,
        seed=seed,
        resamples=resamples,
    )


def _task_arrays(wh: Warehouse, account_id: str | None) -> dict[str, np.ndarray]:
    """One scan: the per-task values (NaN = missing) the bootstraps and rank tests need.

    Values come as FLOAT (7 significant digits, far finer than any minute or
    hour reported) to halve the transfer and sort fast. Topics come as a
    64-bit hash, numbered here: a join to a topic list costs more than the
    whole scan.
    """
    where, params = scope(account_id)
    sql = f"""
        SELECT ai_enabled,
               hash(topic) AS topic_hash,
               {HANDLED_SQL} AS handled,
               coalesce(human_seconds / 60.0, 'NaN'::DOUBLE)::FLOAT AS human_minutes,
               ({RESOLUTION_HOURS_SQL})::FLOAT AS resolution_hours,
               coalesce(csat::FLOAT, 'NaN'::FLOAT) AS csat
        FROM tasks {where}
    """
    with wh.cursor() as cur:
        arrays = {k: np.asarray(v) for k, v in cur.execute(sql, params).fetchnumpy().items()}
    arrays["topic_code"] = _stratum_codes(arrays.pop("topic_hash"))
    return arrays


def _stratum_codes(keys: np.ndarray) -> np.ndarray:
    """0..k-1 in the sorted order of the keys, whatever the row order (so seeds reproduce)."""
    codes, uniques = pd.factorize(keys)
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[np.argsort(uniques)] = np.arange(len(uniques))
    small = len(uniques) < np.iinfo(np.int16).max
    return rank[codes].astype(np.int16 if small else np.int64)  # numpy radix-sorts small ints


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
