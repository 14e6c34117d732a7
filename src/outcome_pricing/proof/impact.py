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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from outcome_pricing.errors import OutcomePricingError
from outcome_pricing.proof import stats
from outcome_pricing.proof.stats import Comparison
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
            rows.append(
                {
                    "metric": METRICS[key].label,
                    "baseline": format_value(c.baseline, c.unit),
                    "AI": format_value(c.ai, c.unit),
                    "change": format_change(c.diff, c.unit),
                    f"{level} CI": _format_interval(c),
                    "p-value": format_p(c.p_value) if c.p_value is not None else "—",
                    "n baseline": f"{c.n_baseline:,}",
                    "n AI": f"{c.n_ai:,}",
                    "test": c.test or "—",
                    "warning": c.warning or "",
                }
            )
        return pd.DataFrame(rows)


def _format_interval(c: Comparison) -> str:
    if c.ci_low is None or c.ci_high is None:
        return "—"
    if c.diff is None:  # a single-arm metric: the interval is that of the AI value
        return f"{format_value(c.ci_low, c.unit)} to {format_value(c.ci_high, c.unit)}"
    return f"{format_change(c.ci_low, c.unit)} to {format_change(c.ci_high, c.unit)}"


def format_value(x: float | None, unit: str) -> str:
    """A metric value for display: rates as %, others with one or two decimals."""
    if x is None:
        return "—"
    return f"{x:.1%}" if unit == "fraction" else _num(x)


def format_change(x: float | None, unit: str) -> str:
    """A signed change: rates in percentage points (pp), others in their unit."""
    if x is None:
        return "—"
    if unit == "fraction":
        return f"{_num(x * 100, signed=True)} pp"
    return _num(x, signed=True)


# ------------------------------------------------------------------ scope
def _query(wh: Warehouse, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    """Run SQL with named parameters ($name) on its own cursor."""
    with wh.cursor() as cur:
        return cur.execute(sql, params).df()


def _scope(account_id: str | None) -> tuple[str, dict[str, Any]]:
    """WHERE clause and named parameters for an optional account filter."""
    if account_id is None:
        return "", {}
    return "WHERE account_id = $account", {"account": account_id}


def check_account(wh: Warehouse, account_id: str | None) -> None:
    """Raise UnknownAccountError naming the account and some known ones if it has no tasks."""
    if account_id is not None:
        wh.require_account(account_id, "or compare all accounts instead")


# ------------------------------------------------------------------ summary
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
    where, params = _scope(account_id)
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
    where, params = _scope(account_id)
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
    row = _query(wh, sql, {**params, "window": window})
    return {k: int(v) for k, v in row.iloc[0].items()}


# ------------------------------------------------------------------ breakdowns
def _arm_aggregates() -> list[str]:
    """Per-arm aggregate expressions shared by the breakdown and the trend."""
    parts = []
    for arm, cond in (("baseline", "NOT ai_enabled"), ("ai", "ai_enabled")):
        parts += [
            f"count(*) FILTER (WHERE {cond}) AS tasks_{arm}",
            f"avg(human_seconds / 60.0) FILTER (WHERE {cond}) AS human_minutes_{arm}",
            f"var_samp(human_seconds / 60.0) FILTER (WHERE {cond}) AS _var_{arm}",
            f"count(human_seconds) FILTER (WHERE {cond}) AS _n_{arm}",
            f"avg(human_seconds / 60.0) FILTER (WHERE {cond} AND {HANDLED_SQL}) "
            f"AS human_minutes_per_handled_task_{arm}",
            f"avg({RESOLUTION_HOURS_SQL}) FILTER (WHERE {cond}) AS resolution_hours_{arm}",
            f"count(*) FILTER (WHERE {cond} AND qa_audited) AS audited_{arm}",
            f"avg({MISSED_SQL}::INTEGER) FILTER (WHERE {cond} AND qa_audited) "
            f"AS missed_issue_rate_{arm}",
            f"avg({REOPENED_SQL}::INTEGER) FILTER (WHERE {cond} AND {OBSERVED_SQL}) "
            f"AS reopen_rate_{arm}",
            f"avg(csat) FILTER (WHERE {cond}) AS csat_{arm}",
        ]
    parts.append("avg(handoff::INTEGER) FILTER (WHERE ai_enabled) AS handoff_rate_ai")
    return parts


def _finish(df: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Add differences, the human-minutes interval (Welch, normal) and flags; drop helpers."""
    z = stats.z_value(confidence)
    for key in ("human_minutes", "human_minutes_per_handled_task", "resolution_hours",
                "missed_issue_rate", "reopen_rate", "csat"):
        df[f"{key}_diff"] = df[f"{key}_ai"] - df[f"{key}_baseline"]
    se = np.sqrt(df["_var_ai"] / df["_n_ai"] + df["_var_baseline"] / df["_n_baseline"])
    df["human_minutes_diff_ci_low"] = df["human_minutes_diff"] - z * se
    df["human_minutes_diff_ci_high"] = df["human_minutes_diff"] + z * se
    df["ai_share"] = df["tasks_ai"] / (df["tasks_ai"] + df["tasks_baseline"])
    df["small_sample"] = df[["tasks_ai", "tasks_baseline"]].min(axis=1) < stats.MIN_N_PER_ARM
    return df.drop(columns=[c for c in df.columns if c.startswith("_")])


def impact_by(
    wh: Warehouse,
    by: Literal["topic", "account_id", "month", "channel"] = "topic",
    account_id: str | None = None,
    *,
    reopen_window_hours: float = DEFAULT_REOPEN_WINDOW_HOURS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Every metric per `by` value, both arms side by side.

    Columns: `by`, tasks_baseline, tasks_ai, share_baseline / share_ai (the
    group's share of its arm: the mix of work, e.g. AI taking the easy
    topics), ai_share, <metric>_baseline, <metric>_ai, <metric>_diff,
    human_minutes_diff_ci_low/high (normal approximation with Welch standard
    error: a large-sample interval for the table; the headline uses the
    bootstrap), handoff_rate_ai, small_sample (fewer than 30 tasks in an arm).
    """
    if by not in GROUPINGS:
        raise OutcomePricingError(f"Cannot break the impact down by '{by}'; use one of {', '.join(GROUPINGS)}.")
    check_account(wh, account_id)
    where, params = _scope(account_id)
    col = GROUPINGS[by]
    sql = (
        f"SELECT {col}, {', '.join(_arm_aggregates())} FROM tasks {ENDS_JOIN} {where} "
        f"GROUP BY {col} ORDER BY {col}"
    )
    df = _finish(_query(wh, sql, {**params, "window": reopen_window_hours}), confidence)
    df.insert(3, "share_baseline", df["tasks_baseline"] / max(1, int(df["tasks_baseline"].sum())))
    df.insert(4, "share_ai", df["tasks_ai"] / max(1, int(df["tasks_ai"].sum())))
    return df


def go_live_months(wh: Warehouse, account_id: str | None = None) -> pd.DataFrame:
    """Each account's go-live month: accounts.ai_go_live, else its first month with an AI task.

    Columns: account_id, name (from accounts, may be empty), tasks, go_live_month
    (None if neither is known), source.
    """
    check_account(wh, account_id)
    where, params = _scope(account_id)
    sql = f"{_GO_LIVE_CTE.format(where=where)} SELECT * FROM golive ORDER BY account_id"
    return _query(wh, sql, params)


_GO_LIVE_CTE = """
WITH firsts AS (
  SELECT account_id, count(*) AS tasks, min(month) FILTER (WHERE ai_enabled) AS first_ai_month
  FROM tasks {where} GROUP BY account_id
),
golive AS (
  SELECT f.account_id, a.name, f.tasks,
         date_trunc('month', coalesce(a.ai_go_live, f.first_ai_month))::DATE AS go_live_month,
         CASE WHEN a.ai_go_live IS NOT NULL THEN 'accounts.ai_go_live'
              WHEN f.first_ai_month IS NOT NULL THEN 'first month with an AI task'
         END AS source
  FROM firsts f LEFT JOIN accounts a USING (account_id)
)
"""


def trend_by_go_live(
    wh: Warehouse,
    account_id: str | None = None,
    *,
    reopen_window_hours: float = DEFAULT_REOPEN_WINDOW_HOURS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Metrics per month relative to each account's go-live (0 = the go-live month).

    Accounts without a go-live (no ai_go_live and never an AI task) are left
    out. Columns: months_from_go_live, accounts, tasks, human_minutes (all
    tasks of that month), then the per-arm columns of `impact_by`.
    """
    check_account(wh, account_id)
    where, params = _scope(account_id)
    rel = "date_diff('month', golive.go_live_month, tasks.month)"
    sql = f"""
        {_GO_LIVE_CTE.format(where=where)}
        SELECT {rel} AS months_from_go_live,
               count(DISTINCT account_id) AS accounts,
               count(*) AS tasks,
               avg(human_seconds / 60.0) AS human_minutes,
               {', '.join(_arm_aggregates())}
        FROM tasks JOIN golive USING (account_id) {ENDS_JOIN}
        {where}
        {'AND' if where else 'WHERE'} golive.go_live_month IS NOT NULL
        GROUP BY 1 ORDER BY 1
    """
    return _finish(_query(wh, sql, {**params, "window": reopen_window_hours}), confidence)


def distribution_sample(
    wh: Warehouse,
    metric: str = "human_minutes",
    account_id: str | None = None,
    *,
    per_arm: int = 5000,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Up to `per_arm` values of `metric` per arm, a seeded subsample (for ECDF/violin plots).

    The sample is the `per_arm` tasks with the smallest hash(task_id, seed):
    the same seed gives the same tasks whatever the thread count.
    Columns: arm ("baseline" | "AI"), value.
    """
    if metric not in SAMPLE_METRICS:
        raise OutcomePricingError(
            f"No distribution for '{metric}'; use one of {', '.join(SAMPLE_METRICS)}."
        )
    check_account(wh, account_id)
    expr, cond = SAMPLE_METRICS[metric]
    where, params = _scope(account_id)
    where = f"{where} AND {cond}" if where else f"WHERE {cond}"
    # One top-N per arm (cheaper than a window over every task).
    sql = " UNION ALL ".join(
        f"""(SELECT '{label}' AS arm, {expr} AS value FROM tasks {where} AND {arm}
             ORDER BY hash(task_id, $seed), task_id LIMIT $n)"""
        for label, arm in (("baseline", "NOT ai_enabled"), ("AI", "ai_enabled"))
    ) + " ORDER BY arm, value"
    return _query(wh, sql, {**params, "seed": int(seed), "n": int(per_arm)})


# ------------------------------------------------------------------ words
def format_p(p: float | None) -> str:
    """p < 0.001, p = 0.034, or 'no p-value'."""
    if p is None:
        return "no p-value"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _digits(x: float) -> int:
    """One decimal from 1 up, two from 0.1, three below (so -0.004 does not print as -0.00)."""
    size = abs(x)  # thresholds just below 1 and 0.1 so 0.9999 prints as 1.0, not 1.00
    return 1 if size >= 0.995 else 2 if size >= 0.0995 or x == 0 else 3


def _num(x: float, signed: bool = False, digits: int | None = None) -> str:
    places = _digits(x) if digits is None else digits
    return f"{x:{'+' if signed else ''},.{places}f}"


def describe(c: Comparison, noun: str = "tasks") -> str:
    """One sentence for one comparison, e.g. 'Human minutes per task fell by 4.1 (95% CI ...'.

    Warnings are not repeated here: they travel in `Comparison.warning` and
    `ImpactSummary.warnings`, and every surface shows them next to the sentence.
    """
    label = c.label[0].upper() + c.label[1:]
    if c.diff is None or c.ci_low is None or c.ci_high is None:
        return f"{label}: no comparison. {c.warning or ''}".strip()
    scale, suffix = (100.0, " percentage points") if c.is_rate else (1.0, "")
    falls = c.diff < 0
    size = abs(c.diff) * scale
    low, high = sorted((-c.ci_high * scale, -c.ci_low * scale) if falls else (c.ci_low * scale, c.ci_high * scale))
    verb = "fell" if falls else "rose"
    if c.diff == 0:
        verb, size = "changed", 0.0
    level = f"{c.confidence:.0%}"
    places = _digits(size)  # the interval at the precision of the change it brackets
    if c.is_rate:
        start, end = f"{c.baseline:.1%}", f"{c.ai:.1%}"  # type: ignore[str-format]
    else:
        start, end = _num(c.baseline or 0.0), _num(c.ai or 0.0)
    text = (
        f"{label} {verb} by {_num(size)}{suffix} "
        f"({level} CI {_num(low, digits=places)} to {_num(high, digits=places)}), "
        f"from {start} to {end}, n = {c.n_baseline:,} baseline and {c.n_ai:,} AI {noun}; "
        f"{format_p(c.p_value)}."
    )
    if not c.significant:
        text += " The data cannot tell this apart from no change."
    return text


def plain_language(summary: ImpactSummary) -> str:
    """The headline in words: human minutes, the same at a fixed topic mix, missed issues."""
    keys = ("human_minutes", "human_minutes_mix_adjusted", "missed_issue_rate")
    return " ".join(describe(getattr(summary, k), METRICS[k].noun) for k in keys)


def sd_of(wh: Warehouse, metric: str = "human_minutes", account_id: str | None = None) -> float | None:
    """Standard deviation of a per-task metric (for the power calculator's defaults)."""
    if metric not in SAMPLE_METRICS:
        raise OutcomePricingError(f"No standard deviation for '{metric}'.")
    expr, cond = SAMPLE_METRICS[metric]
    where, params = _scope(account_id)
    where = f"{where} AND {cond}" if where else f"WHERE {cond}"
    value = _query(wh, f"SELECT stddev_samp({expr}) AS sd FROM tasks {where}", params)["sd"].iloc[0]
    return None if pd.isna(value) else float(value)
