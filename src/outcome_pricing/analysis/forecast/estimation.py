"""Estimating the forecast's assumptions from the warehouse history.

Per account: today's levels (the last actual month's tasks and ratios, the
ratios thickened when a month is thin), so the forecast continues from the
last actual month without a seam; a log-linear volume trend shrunk toward the
portfolio's, and a place on the pooled learning curve of the AI's resolution
rate (how far it still climbs). For the portfolio:
growth and its uncertainty, noise, token drift and churn. Every estimate
records in ``Assumptions.sources`` how it was obtained.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from outcome_pricing.analysis.forecast.assumptions import ACCOUNT_COLUMNS, CONTROLS, Assumptions
from outcome_pricing.analysis.forecast.mix import mix_columns
from outcome_pricing.analysis.recent import RECENT_MONTHS
from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing.deals.columns import first_hourly_default, savings_per_outcome
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import DEFAULT_HOURS_PER_SEAT, Metric

if TYPE_CHECKING:
    from outcome_pricing.rules import Definition
    from outcome_pricing.warehouse.handle import Warehouse

TREND_WINDOW_MONTHS = 12  # months of history the volume trend is fitted on
THIN_MONTH = 30.0  # a month with fewer units than this is too thin to be a rate on its own
LEARNING_FIT_MONTHS = 6  # an account's level on the pooled learning curve: its latest AI months


def _fit_trend(y: np.ndarray, x: np.ndarray) -> tuple[float, float, float, float]:
    """OLS of y on x: (intercept, slope, residual sd, slope standard error); NaN if too short."""
    n = len(y)
    if n < 3:
        return (float(y[-1]) if n else math.nan, math.nan, math.nan, math.nan)
    xm = x - x.mean()
    sxx = float(xm @ xm)
    slope = float(xm @ (y - y.mean())) / sxx
    intercept = float(y.mean() - slope * x.mean())
    resid = y - (intercept + slope * x)
    sd = math.sqrt(float(resid @ resid) / (n - 2))
    return intercept, slope, sd, sd / math.sqrt(sxx)


def _curve(k: np.ndarray, c: float, r0: float, tau: float) -> np.ndarray:
    """The learning curve: rate k months after go-live, from r0 toward the ceiling c."""
    return c - (c - r0) * np.exp(-k / tau)


def _learning_curve(
    k: np.ndarray, rate: np.ndarray, weight: np.ndarray
) -> tuple[float, float, float, float] | None:
    """Fit rate(k) = c - (c - r0) exp(-k / tau) on pooled months since go-live.

    Returns (c, r0, tau, standard error of c), or None when there is nothing to fit.
    """
    from scipy.optimize import curve_fit

    if len(k) < 4 or np.ptp(rate) <= 0:
        return None
    upper = max(1.0, float(rate.max()) * 1.5)
    try:
        (c, r0, tau), cov = curve_fit(
            _curve, k, rate, p0=(float(rate.max()), float(rate[0]), 3.0),
            sigma=1.0 / np.sqrt(np.maximum(weight, 1.0)),
            bounds=([0.0, 0.0, 0.25], [upper, upper, 60.0]), maxfev=5000,
        )
    except (RuntimeError, ValueError):
        return None
    c_se = float(np.sqrt(cov[0, 0])) if np.isfinite(cov[0, 0]) else 0.0
    return float(c), float(r0), float(tau), c_se


# Today's per-account ratios: column -> (numerator, denominator) over the latest months.
LATEST_RATIOS = {
    "ai_share": ("conversations", "tasks"),
    "resolution_rate": ("outcomes", "conversations"),
    "hours_per_open_task": ("human_hours", "open_tasks"),
    "input_tokens_m_per_conversation": ("input_tokens_m", "conversations"),
    "output_tokens_m_per_conversation": ("output_tokens_m", "conversations"),
    "cogs_per_conversation": ("cogs", "conversations"),
}


def _latest_ratios(hist: pd.DataFrame) -> pd.DataFrame:
    """Per account, each LATEST_RATIOS ratio over its most recent months that hold enough volume.

    The latest month is today's level (go-lives and the learning curve move
    these ratios every month); the one or two months before are added only
    when the latest is too thin (denominator < THIN_MONTH) to be a rate.
    ``hist`` is sorted by account and month.
    """
    from_end = hist.groupby("account_id", sort=False).cumcount(ascending=False)
    cols = sorted({c for pair in LATEST_RATIOS.values() for c in pair})
    sums = [hist[from_end < n].groupby("account_id", sort=True)[cols].sum() for n in range(1, RECENT_MONTHS + 1)]
    out = pd.DataFrame(index=sums[0].index)
    for name, (num, den) in LATEST_RATIOS.items():
        n_sum, d_sum = sums[-1][num].copy(), sums[-1][den].copy()
        for fewer in reversed(sums[:-1]):  # the fewest months that are thick enough win
            thick = fewer[den] >= THIN_MONTH
            n_sum[thick], d_sum[thick] = fewer.loc[thick, num], fewer.loc[thick, den]
        out[name] = np.where(d_sum > 0, n_sum / d_sum.where(d_sum > 0, 1.0), 0.0)
    return out


def _trends(hist: pd.DataFrame, month_index: pd.Series, last: int) -> pd.DataFrame:
    """Per account, the log-linear trend of monthly tasks over the last TREND_WINDOW_MONTHS.

    Columns: tasks (today's level), slope, slope_se, resid_sd (NaN when fewer
    than 3 months). Today's level is the trend at the last month, shifted by
    how far the latest months sat off it (seasonality, a recent step), so the
    forecast opens where the history ends.
    """
    in_window = (month_index > last - TREND_WINDOW_MONTHS) & (hist["tasks"] > 0)
    window = hist[in_window]
    x_all = month_index[in_window].to_numpy(dtype=float)
    y_all = np.log(window["tasks"].to_numpy(dtype=float))
    accounts, starts = np.unique(window["account_id"].to_numpy(), return_index=True)
    rows = []
    for acc, start, stop in zip(accounts, starts, [*starts[1:], len(window)], strict=True):
        x, y = x_all[start:stop], y_all[start:stop]
        a, slope, sd, se = _fit_trend(y, x)
        if math.isfinite(slope):
            level = math.exp(a + slope * last + float(np.mean((y - (a + slope * x))[-RECENT_MONTHS:])))
        else:
            level = float(np.exp(y[-RECENT_MONTHS:]).mean())
        rows.append((acc, level, slope, se, sd))
    return pd.DataFrame(rows, columns=["account_id", "tasks", "slope", "slope_se", "resid_sd"]).set_index("account_id")


def _account_table(hist: pd.DataFrame, month_index: pd.Series, last: int) -> pd.DataFrame:
    """Today's levels and the raw volume trend of every account (one row each, sorted by id)."""
    by_account = hist.groupby("account_id", sort=True)
    rows = pd.DataFrame({
        "active_recently": month_index.groupby(hist["account_id"]).max() >= last - 1,
        "seats": by_account["seats"].last().astype(float),
        "seat_price": by_account["seat_price"].last().astype(float),
    })
    rows = rows.join(_trends(hist, month_index, last)).join(_latest_ratios(hist))
    # No seam: the forecast starts from the last actual month (its tasks), so month 1 continues
    # from the history line; the trend moves it from there. Without tasks in that month the
    # trend level stands in.
    in_last = hist[month_index == last].groupby("account_id", sort=True)["tasks"].sum()
    actual = in_last.reindex(rows.index)
    rows["tasks"] = actual.where(actual > 0, rows["tasks"]).fillna(0.0)
    rows.index = rows.index.astype(str)
    return rows.rename_axis("account_id").reset_index()


def _shrink_growth(rows: pd.DataFrame) -> tuple[pd.Series, float, float]:
    """Empirical-Bayes shrinkage of noisy per-account slopes toward the portfolio's.

    Returns (shrunk slope per account, portfolio slope, typical posterior sd).
    Small accounts have noisy slopes; pulling them toward the pooled trend by
    their own precision keeps one odd quarter from driving a 2-year projection.
    """
    ok = rows["slope"].notna() & rows["slope_se"].notna()
    if not ok.any():
        return pd.Series(0.0, index=rows.index), 0.0, 0.0
    slope, se = rows.loc[ok, "slope"], rows.loc[ok, "slope_se"].clip(lower=1e-6)
    w = rows.loc[ok, "tasks"] + 1e-9  # accounts that left weigh (almost) nothing
    pooled = float(np.average(slope, weights=w))
    between = max(float(np.average((slope - pooled) ** 2, weights=w) - np.average(se**2, weights=w)), 0.0)
    k = between / (between + se**2)
    shrunk = pd.Series(pooled, index=rows.index)
    shrunk.loc[ok] = pooled + k * (slope - pooled)
    posterior_sd = float(np.median(np.sqrt(k) * se)) if between > 0 else float(np.median(se))
    return shrunk.clip(-0.2, 0.2), pooled, posterior_sd


HISTORY_COLUMNS = (
    "account_id", "month", "tasks", "conversations", "outcomes", "human_hours", "seats", "seat_price",
    "input_tokens_m", "output_tokens_m", "cogs",
)


def estimate_assumptions(
    history: pd.DataFrame,
    per_ai_task: float = 0.0,
    hours_per_seat: float = float(DEFAULT_HOURS_PER_SEAT),
) -> Assumptions:
    """Estimate every assumption from per account-month history.

    ``history`` has one row per account and month with HISTORY_COLUMNS
    (what ``pricing.account_month_metrics`` gives, plus human_hours and
    seat_price). ``per_ai_task`` is the cost per AI task of the plan set's
    costs (the part of COGS that does not drift with tokens).
    """
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ConfigError(f"Forecast history lacks column {missing[0]!r}; expected {', '.join(HISTORY_COLUMNS)}.")
    if history.empty:
        raise ConfigError("The warehouse has no tasks to forecast from. Load data first (outcome-pricing demo or ingest).")
    hist = history.copy()
    hist["month"] = pd.to_datetime(hist["month"])
    hist = hist.sort_values(["account_id", "month"], kind="stable").reset_index(drop=True)
    hist["open_tasks"] = (hist["tasks"] - hist["outcomes"]).clip(lower=0.0)
    months = pd.PeriodIndex(hist["month"], freq="M")
    month_index = pd.Series((months - months.min()).map(lambda p: p.n), index=hist.index)
    last = int(month_index.max())
    rows = _account_table(hist, month_index, last)
    # An account that sent nothing in the last two months has left: it gets no volume.
    rows.loc[~rows["active_recently"], "tasks"] = 0.0
    growth, pooled_growth, growth_sd = _shrink_growth(rows)
    rows["growth_offset"] = growth - pooled_growth
    # One unit per conversation at most (unit = "conversation") keeps the rate <= 1 in the future too.
    rows["rate_cap"] = 1.0 if (hist["outcomes"] <= hist["conversations"] + 1e-9).all() else np.inf
    rows["other_cost_per_conversation"] = per_ai_task
    rows["token_cost_per_conversation"] = (rows["cogs_per_conversation"] - per_ai_task).clip(lower=0.0)
    sources: dict[str, str] = {}
    values: dict[str, float] = {}
    values["volume_growth"] = pooled_growth
    sources["volume_growth"] = (
        f"task-weighted mean of per-account log-linear trends over the last {TREND_WINDOW_MONTHS} months "
        f"of monthly task counts ({len(rows)} accounts)"
    )
    values["growth_uncertainty"] = min(growth_sd, 0.1)
    sources["growth_uncertainty"] = "median standard error of the per-account trends, after shrinkage"
    values["market_uncertainty"] = _estimate_market_uncertainty(hist, month_index)
    sources["market_uncertainty"] = "standard error of the trend of the portfolio's total monthly tasks"
    resid = rows["resid_sd"].dropna()
    values["volume_noise"] = min(float(np.average(resid, weights=rows.loc[resid.index, "tasks"])) if len(resid) else 0.0, 1.0)
    sources["volume_noise"] = "task-weighted residual standard deviation around each account's trend"
    values.update(_estimate_learning(hist, month_index, rows, last, sources))
    values["token_drift"] = _estimate_token_drift(hist, month_index)
    sources["token_drift"] = "trend of pooled tokens per AI conversation, per month (log)"
    values["churn_hazard"], sources["churn_hazard"] = _estimate_churn(hist, month_index, last)
    values["seat_lag_months"] = 6.0
    sources["seat_lag_months"] = "judgement: seats are renegotiated over about two quarters (not in the data)"
    values["hours_per_seat"] = hours_per_seat
    sources["hours_per_seat"] = f"the plans' seats_needed charge (default {DEFAULT_HOURS_PER_SEAT} hours a month)"
    values["price_elasticity"] = 0.0
    sources["price_elasticity"] = "judgement: history holds no price changes to estimate it from; 0 = off"
    clipped = {c.name: min(max(values[c.name], c.minimum), c.maximum) for c in CONTROLS}
    result = Assumptions(
        **clipped,
        accounts=rows[list(ACCOUNT_COLUMNS)].reset_index(drop=True),
        sources=sources,
        last_month=pd.Timestamp(hist["month"].max()),
        derived={},
    )
    result.check()
    return result


def _estimate_learning(
    hist: pd.DataFrame, month_index: pd.Series, rows: pd.DataFrame, last: int, sources: dict[str, str]
) -> dict[str, float]:
    """Ceiling, time constant and noise of the resolution rate; each account's place on the curve.

    The curve is fitted on the pooled rate by months since each account's
    first AI month. An account sits at its own level on it (factor = its
    outcomes over the outcomes the pooled curve predicts, latest AI months),
    and today's rate stays the latest observed one (the forecast starts where the
    history ends). Sets rows["resolution_rate"] and rows["ceiling_factor"].
    """
    live = hist[hist["conversations"] > 0]
    age = month_index.loc[live.index]
    first = age.groupby(live["account_id"]).transform("min")
    k = (age - first).astype(float)
    pooled = live.groupby(k)[["outcomes", "conversations"]].sum()
    pooled = pooled[pooled["conversations"] > 0]
    fit = _learning_curve(
        pooled.index.to_numpy(dtype=float),
        (pooled["outcomes"] / pooled["conversations"]).to_numpy(dtype=float),
        pooled["conversations"].to_numpy(dtype=float),
    )
    weights = np.maximum(rows["tasks"] * rows["ai_share"], 1e-12)
    now = float(np.average(rows["resolution_rate"], weights=weights))
    out: dict[str, float] = {}
    if fit is not None and fit[0] > now + 0.005:
        c, r0, tau, c_se = fit
        recent = k >= k.groupby(live["account_id"]).transform("max") - (LEARNING_FIT_MONTHS - 1)
        sub = live[recent]
        expected = (sub["conversations"] * _curve(k[recent].to_numpy(), c, r0, tau)).groupby(sub["account_id"]).sum()
        factor = (sub.groupby("account_id")["outcomes"].sum() / expected).reindex(rows["account_id"]).fillna(0.0)
        has_ai = rows["ai_share"].to_numpy() > 0
        rows["ceiling_factor"] = np.where(has_ai, factor.to_numpy(), 1.0)
        # Today's rate is the latest observed one (no seam with the history); the account's
        # place on the pooled curve sets how far it still climbs.
        rows["resolution_rate"] = np.where(has_ai, rows["resolution_rate"].to_numpy(), 0.0)
        out["resolution_ceiling"], out["learning_months"], out["ceiling_uncertainty"] = c, tau, c_se
        sources["resolution_ceiling"] = (
            "pooled learning curve fitted on the rate by months since each account's first AI month"
        )
        sources["learning_months"] = sources["resolution_ceiling"]
        sources["ceiling_uncertainty"] = "standard error of the fitted ceiling"
    else:
        rows["ceiling_factor"] = (rows["resolution_rate"] / now) if now > 0 else 1.0
        out["resolution_ceiling"], out["learning_months"], out["ceiling_uncertainty"] = now, 6.0, 0.0
        sources["resolution_ceiling"] = "no learning left in the data: today's pooled rate"
        sources["ceiling_uncertainty"] = "no learning curve fitted: 0"
        sources["learning_months"] = "judgement (no learning curve visible in the data)"
    # Month-to-month changes of the log rate; differencing removes the slow curve.
    hit = live[live["outcomes"] > 0]
    ratio = hit["outcomes"] / hit["conversations"]
    logs = pd.Series(np.log(ratio.to_numpy()), index=ratio.index)
    diffs = logs.groupby(hit["account_id"]).diff().dropna()
    out["resolution_noise"] = (
        float(np.sqrt(np.average(diffs**2, weights=hit.loc[diffs.index, "conversations"]) / 2))
        if len(diffs) else 0.0
    )
    sources["resolution_noise"] = "conversation-weighted month-to-month change of each account's log rate, / sqrt(2)"
    return out


def _estimate_market_uncertainty(hist: pd.DataFrame, month_index: pd.Series) -> float:
    """How uncertain the whole portfolio's growth is: the standard error of its monthly trend."""
    total = hist.groupby(month_index)["tasks"].sum()
    total = total[total > 0].tail(TREND_WINDOW_MONTHS)
    if len(total) < 3:
        return 0.0
    _, _, _, se = _fit_trend(np.log(total.to_numpy(dtype=float)), total.index.to_numpy(dtype=float))
    return se if math.isfinite(se) else 0.0


def _estimate_token_drift(hist: pd.DataFrame, month_index: pd.Series) -> float:
    by_month = hist.groupby(month_index)[["input_tokens_m", "output_tokens_m", "conversations"]].sum()
    by_month = by_month[(by_month["conversations"] > 0) & (by_month["input_tokens_m"] + by_month["output_tokens_m"] > 0)]
    by_month = by_month.tail(TREND_WINDOW_MONTHS)
    if len(by_month) < 3:
        return 0.0
    per_conv = (by_month["input_tokens_m"] + by_month["output_tokens_m"]) / by_month["conversations"]
    _, slope, _, _ = _fit_trend(np.log(per_conv.to_numpy(dtype=float)), by_month.index.to_numpy(dtype=float))
    return slope if math.isfinite(slope) else 0.0


def _estimate_churn(hist: pd.DataFrame, month_index: pd.Series, last: int) -> tuple[float, str]:
    """Accounts that stopped sending tasks at least two months before the end, per account-month."""
    last_seen = month_index.groupby(hist["account_id"]).max()
    first_seen = month_index.groupby(hist["account_id"]).min()
    stopped = int((last_seen < last - 1).sum())
    exposure = float((last_seen - first_seen + 1).sum())
    if stopped == 0:
        return 0.0, "no account stopped sending tasks in the history"
    return stopped / exposure, f"{stopped} account(s) stopped sending tasks, over {exposure:.0f} account-months"


# ---------------------------------------------------------------------- from the warehouse
def _hours_per_seat(planset: PlanSet) -> float:
    """The plans' own seats_needed hours per seat (the first such charge), else the default."""
    return next(
        (float(c.hours_per_seat) for p in planset.plans for c in p.charges if c.metric is Metric.SEATS_NEEDED),
        float(DEFAULT_HOURS_PER_SEAT),
    )


def assumptions_from_metrics(metrics: pd.DataFrame, planset: PlanSet) -> Assumptions:
    """Estimate the assumptions from an account_month_metrics frame and the plans' costs."""
    a = estimate_assumptions(
        metrics, per_ai_task=float(planset.costs.per_ai_task), hours_per_seat=_hours_per_seat(planset)
    )
    # DESIGN 11 gain-share: each account's savings per outcome, so savings follow the outcomes
    per = savings_per_outcome(metrics, first_hourly_default(planset.plans))
    accounts = a.accounts.assign(savings_per_outcome=a.accounts["account_id"].map(per).fillna(0.0).astype(float))
    # settled outcomes and shares by dimension value, held at today's mix (forecast.mix)
    factors, derived = mix_columns(metrics, planset.plans, accounts["account_id"].astype(str).tolist())
    accounts = pd.concat([accounts, factors.reset_index(drop=True)], axis=1)
    return replace(a, accounts=accounts, derived=derived)


def assumptions_from_warehouse(wh: Warehouse, d: Definition, planset: PlanSet) -> Assumptions:
    """Estimate the assumptions from the warehouse under a definition (and the plans' costs)."""
    from outcome_pricing.pricing.metrics import account_month_metrics

    return assumptions_from_metrics(account_month_metrics(wh, d, planset.costs, planset.plans), planset)
