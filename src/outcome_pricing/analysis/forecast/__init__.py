"""Monte Carlo forecast: where each pricing model takes revenue over the coming months.

Outcome pricing moves risk from the buyer to the seller: revenue follows
volume and the AI's resolution rate, while seat revenue erodes as customers
need fewer agents. This module projects every account forward, month by
month, in many random scenarios, prices each scenario under every plan of a
PlanSet, and reports the range (P10/P50/P90), not one line.

The model, per scenario s, account a and month t = 1..H ahead of the last
month of history (all parameters estimated from the warehouse, editable as
an :class:`Assumptions`):

* tasks      V = V0_a * exp(g_sa * t + volume_noise * e_sat),
             g_sa = growth_a + growth_uncertainty * z_sa + market_uncertainty * m_s
             (a log-linear trend per account; the trend itself is uncertain,
             per account and for the whole portfolio at once)
* AI share   conversations = V * ai_share_a (AI-live share of tasks, held)
* rate       r = ceiling_a - (ceiling_a - r0_a) * exp(-t / learning_months),
             times exp(resolution_noise * e'_sat); outcomes = conversations * r;
             ceiling_a = (resolution_ceiling + ceiling_uncertainty * c_s) x the
             account's level on the pooled learning curve, never below today's
             rate r0_a (the same AI serves every account: c_s is shared)
* humans     human_hours = (V - outcomes) * hours_per_open_task_a;
             seats_needed = ceil(human_hours / hours_per_seat); contracted
             seats start at today's and move toward it by 1/seat_lag_months of
             the gap each month (continuous: no first-month cliff)
* tokens     tokens per conversation drift by exp(token_drift * t); COGS
             per conversation = token cost (drifting) + per-AI-task cost
* churn      an account stops (no usage, no fee) with a monthly hazard
* price      volume is scaled by (plan bill / reference bill) ** elasticity,
             both bills at today's usage (customers send less work, or leave,
             when the bill rises)

Quantities are continuous (an expectation-level simulation, not single
tasks); money is float (simulations may use floats, DESIGN 2). Every random
draw comes from a Generator seeded by ``seed``: scenarios are simulated in
fixed blocks, each with its own SeedSequence child, so the same seed gives
the same numbers, and all plans see the same scenarios (common random
numbers), which makes "plan A beats plan B" a paired comparison.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.money import round_half_up
from outcome_pricing.pricing.charges import plan_cents_vectorised, plan_revenue_vectorised
from outcome_pricing.pricing.plans import DEFAULT_HOURS_PER_SEAT, Metric, Plan, PlanSet

if TYPE_CHECKING:
    from outcome_pricing.rules.definition import Definition
    from outcome_pricing.warehouse.handle import Warehouse

# Scenarios are simulated in blocks of this many; part of the seed's meaning
# (each block draws from its own SeedSequence child), so keep it fixed.
BLOCK_SCENARIOS = 25
TREND_WINDOW_MONTHS = 12  # months of history the volume trend is fitted on
RECENT_MONTHS = 3  # at most this many latest months make today's per-account ratios
THIN_MONTH = 30.0  # a month with fewer units than this is too thin to be a rate on its own
LEARNING_FIT_MONTHS = 6  # an account's level on the pooled learning curve: its latest AI months
PRICE_RATIO_BOUNDS = (0.2, 5.0)  # price response is computed on a clipped bill ratio
PERCENTILES = (10, 50, 90)


# ====================================================================== assumptions
@dataclass(frozen=True)
class Control:
    """How an assumption is shown as a control: label, unit and help text."""

    name: str
    label: str
    help: str
    minimum: float
    maximum: float
    step: float


CONTROLS: tuple[Control, ...] = (
    Control(
        "volume_growth", "Volume growth per month", "Monthly growth of task volume (log rate; 0.02 = about +2% a "
        "month), portfolio average. Each account keeps its own estimated offset from this average.",
        -0.2, 0.2, 0.001,
    ),
    Control(
        "growth_uncertainty", "Growth uncertainty", "Standard deviation of each account's monthly growth rate, "
        "drawn once per scenario: how far the trend itself may be wrong. Widens the fan over time.",
        0.0, 0.1, 0.001,
    ),
    Control(
        "market_uncertainty", "Portfolio growth uncertainty", "Standard deviation of a monthly growth shift shared "
        "by every account, drawn once per scenario (market, seasonality of the whole business): risk that does "
        "not diversify away across accounts.",
        0.0, 0.1, 0.001,
    ),
    Control(
        "volume_noise", "Monthly volume noise", "Standard deviation of month-to-month log noise on task volume "
        "around the trend (seasonality, campaigns, outages).",
        0.0, 1.0, 0.005,
    ),
    Control(
        "resolution_ceiling", "Resolution-rate ceiling", "Billable outcomes per AI conversation the learning curve "
        "tends to. Accounts already above it stay where they are.",
        0.0, 3.0, 0.01,
    ),
    Control(
        "learning_months", "Learning time constant (months)", "Months for the AI's resolution rate to close about "
        "63% of its remaining gap to the ceiling (rate = ceiling - gap x exp(-t / this)).",
        0.5, 60.0, 0.5,
    ),
    Control(
        "ceiling_uncertainty", "Ceiling uncertainty", "Standard deviation of the resolution-rate ceiling, drawn once "
        "per scenario for all accounts (the same AI agent serves them all: a better or worse model moves every "
        "account together).",
        0.0, 0.5, 0.005,
    ),
    Control(
        "resolution_noise", "Monthly resolution noise", "Standard deviation of month-to-month log noise on the "
        "resolution rate.",
        0.0, 1.0, 0.005,
    ),
    Control(
        "seat_lag_months", "Seat right-sizing lag (months)", "Contracted seats close 1/this of the gap to the seats "
        "needed each month, starting from today's contracted seats. 0 or 1 = seats follow the need at once.",
        0.0, 36.0, 1.0,
    ),
    Control(
        "hours_per_seat", "Hours per seat per month", "Human hours one seat covers a month: seats needed = "
        "ceil(human hours / this).",
        1.0, 400.0, 1.0,
    ),
    Control(
        "token_drift", "Token drift per month", "Monthly log change of tokens per AI conversation (longer "
        "contexts, bigger models: positive; caching and prompt trimming: negative).",
        -0.2, 0.2, 0.001,
    ),
    Control(
        "churn_hazard", "Monthly churn hazard", "Probability that an account stops in any month (no usage and "
        "no fees afterwards).",
        0.0, 0.5, 0.001,
    ),
    Control(
        "price_elasticity", "Price elasticity of volume", "Volume responds to the bill change against the "
        "reference plan at today's usage: volume x (bill ratio) ** elasticity. 0 = no response; -0.3 = a bill 10% "
        "higher loses about 3% of volume.",
        -3.0, 0.0, 0.05,
    ),
)
CONTROL_NAMES = tuple(c.name for c in CONTROLS)

# Per-account baseline columns (today's levels, estimated from history).
ACCOUNT_COLUMNS = (
    "account_id",
    "tasks",  # trend level of monthly tasks at the last history month
    "growth_offset",  # the account's monthly growth minus the portfolio's
    "ai_share",  # conversations (AI live) per task
    "resolution_rate",  # billable outcomes per conversation today
    "ceiling_factor",  # the account's level relative to the pooled learning curve
    "rate_cap",  # upper bound on the rate (1 when one unit per conversation at most)
    "hours_per_open_task",  # human hours per task that is not an outcome
    "seats",  # contracted seats today
    "seat_price",  # today's price per seat (for price = "account" charges)
    "input_tokens_m_per_conversation",
    "output_tokens_m_per_conversation",
    "token_cost_per_conversation",  # COGS from tokens per conversation
    "other_cost_per_conversation",  # COGS per conversation that does not drift (per AI task)
)


@dataclass(frozen=True)
class Assumptions:
    """The forecast's parameters: scalars shown as controls, plus today's level per account.

    Estimated from the warehouse by :func:`estimate_assumptions`; change any
    scalar with ``dataclasses.replace`` or :meth:`with_values`. ``sources``
    says, per scalar, how its default was obtained.
    """

    volume_growth: float = 0.0
    growth_uncertainty: float = 0.0
    market_uncertainty: float = 0.0
    volume_noise: float = 0.0
    resolution_ceiling: float = 0.7
    learning_months: float = 6.0
    ceiling_uncertainty: float = 0.0
    resolution_noise: float = 0.0
    seat_lag_months: float = 6.0
    hours_per_seat: float = float(DEFAULT_HOURS_PER_SEAT)
    token_drift: float = 0.0
    churn_hazard: float = 0.0
    price_elasticity: float = 0.0
    accounts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ACCOUNT_COLUMNS), compare=False)
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    last_month: pd.Timestamp | None = None

    def values(self) -> dict[str, float]:
        """The scalar assumptions as plain numbers (cache keys, JSON)."""
        return {name: float(getattr(self, name)) for name in CONTROL_NAMES}

    def with_values(self, **values: float) -> Assumptions:
        unknown = sorted(set(values) - set(CONTROL_NAMES))
        if unknown:
            raise ConfigError(
                f"Unknown forecast assumption {unknown[0]!r}; known: {', '.join(CONTROL_NAMES)}."
            )
        sources = dict(self.sources)
        changed: dict[str, Any] = {}
        for name, value in values.items():
            old = float(getattr(self, name))
            if float(value) != old:
                changed[name] = float(value)
                sources[name] = f"set by the user (estimate {old:.4g}: {self.sources.get(name, 'default')})"
        return replace(self, **changed, sources=sources)

    def without_volatility(self) -> Assumptions:
        """The deterministic projection: no noise, no trend uncertainty, no churn."""
        return replace(
            self, growth_uncertainty=0.0, market_uncertainty=0.0, volume_noise=0.0, ceiling_uncertainty=0.0,
            resolution_noise=0.0, churn_hazard=0.0,
        )

    def check(self) -> None:
        """Refuse values the model cannot use, naming the assumption and the allowed range."""
        for c in CONTROLS:
            value = float(getattr(self, c.name))
            if not math.isfinite(value) or value < c.minimum or value > c.maximum:
                raise ConfigError(
                    f"Forecast assumption {c.name} ({c.label}) is {value}; it must be between "
                    f"{c.minimum:g} and {c.maximum:g}."
                )
        missing = [c for c in ACCOUNT_COLUMNS if c not in self.accounts.columns]
        if missing:
            raise ConfigError(f"Forecast assumptions: the account table lacks column {missing[0]!r}.")


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
    rows["tasks"] = rows["tasks"].fillna(0.0)
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
    sources["hours_per_seat"] = "the plans' seats_needed charge (default 120 hours a month)"
    values["price_elasticity"] = 0.0
    sources["price_elasticity"] = "judgement: history holds no price changes to estimate it from; 0 = off"
    clipped = {c.name: min(max(values[c.name], c.minimum), c.maximum) for c in CONTROLS}
    result = Assumptions(
        **clipped,
        accounts=rows[list(ACCOUNT_COLUMNS)].reset_index(drop=True),
        sources=sources,
        last_month=pd.Timestamp(hist["month"].max()),
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
    so today's rate is read off the smooth curve rather than one noisy month.
    Sets rows["resolution_rate"] and rows["ceiling_factor"].
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
        age_now = (last - first.groupby(live["account_id"]).first()).reindex(rows["account_id"]).fillna(0.0)
        has_ai = rows["ai_share"].to_numpy() > 0
        rows["ceiling_factor"] = np.where(has_ai, factor.to_numpy(), 1.0)
        rows["resolution_rate"] = np.where(
            has_ai, factor.to_numpy() * _curve(age_now.to_numpy(dtype=float), c, r0, tau), 0.0
        )
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
    logs = np.log(hit["outcomes"] / hit["conversations"])
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


# ====================================================================== warehouse glue
def _hours_per_seat(planset: PlanSet) -> float:
    """The plans' own seats_needed hours per seat (the first such charge), else the default."""
    return next(
        (float(c.hours_per_seat) for p in planset.plans for c in p.charges if c.metric is Metric.SEATS_NEEDED),
        float(DEFAULT_HOURS_PER_SEAT),
    )


def assumptions_from_metrics(metrics: pd.DataFrame, planset: PlanSet) -> Assumptions:
    """Estimate the assumptions from an account_month_metrics frame and the plans' costs."""
    return estimate_assumptions(
        metrics, per_ai_task=float(planset.costs.per_ai_task), hours_per_seat=_hours_per_seat(planset)
    )


def assumptions_from_warehouse(wh: Warehouse, d: Definition, planset: PlanSet) -> Assumptions:
    """Estimate the assumptions from the warehouse under a definition (and the plans' costs)."""
    from outcome_pricing.pricing.backtest import account_month_metrics

    return assumptions_from_metrics(account_month_metrics(wh, d, planset.costs), planset)


# ====================================================================== simulation
@dataclass(frozen=True)
class _Baseline:
    """Per-account parameters as arrays of shape (accounts,)."""

    tasks: np.ndarray
    growth: np.ndarray
    ai_share: np.ndarray
    rate0: np.ndarray
    ceiling_factor: np.ndarray
    rate_cap: np.ndarray
    hours_per_open_task: np.ndarray
    seats: np.ndarray
    seat_price: np.ndarray
    in_per_conv: np.ndarray
    out_per_conv: np.ndarray
    token_cost: np.ndarray
    other_cost: np.ndarray

    @classmethod
    def of(cls, a: Assumptions) -> _Baseline:
        acc = a.accounts

        def col(name: str) -> np.ndarray:
            return acc[name].to_numpy(dtype=np.float64)

        rate0 = col("resolution_rate")
        return cls(
            tasks=col("tasks"),
            growth=a.volume_growth + col("growth_offset"),
            ai_share=col("ai_share"),
            rate0=rate0,
            ceiling_factor=col("ceiling_factor"),
            rate_cap=col("rate_cap"),
            hours_per_open_task=col("hours_per_open_task"),
            seats=col("seats"),
            seat_price=col("seat_price"),
            in_per_conv=col("input_tokens_m_per_conversation"),
            out_per_conv=col("output_tokens_m_per_conversation"),
            token_cost=col("token_cost_per_conversation"),
            other_cost=col("other_cost_per_conversation"),
        )


@dataclass
class _Paths:
    """One block of scenarios: the random parts, shape (scenarios, accounts, months)."""

    volume: np.ndarray  # tasks before price response and churn
    rate: np.ndarray  # outcomes per conversation
    alive: np.ndarray | None  # 1.0 while the account has not churned; None = no churn


def _draw_paths(a: Assumptions, b: _Baseline, months: int, n: int, rng: np.random.Generator) -> _Paths:
    """Volume, resolution rate and survival for n scenarios.

    Every stream is drawn whatever the assumption values (in a fixed order),
    so changing one assumption moves the answer smoothly instead of reshuffling
    every scenario.
    """
    n_acc = len(b.tasks)
    t = np.arange(1, months + 1, dtype=np.float64)
    z_growth = rng.standard_normal((n, n_acc))
    # Month-level noise in float32 (twice as fast to draw); the paths themselves are float64.
    e_volume = rng.standard_normal((n, n_acc, months), dtype=np.float32)
    e_rate = rng.standard_normal((n, n_acc, months), dtype=np.float32)
    u_churn = rng.random((n, n_acc))
    z_market = rng.standard_normal((n, 1))  # shared by every account of a scenario
    z_ceiling = rng.standard_normal((n, 1))

    growth = b.growth[None, :] + a.growth_uncertainty * z_growth + a.market_uncertainty * z_market
    log_v = np.multiply(e_volume, a.volume_noise, dtype=np.float64)
    log_v += growth[:, :, None] * t
    log_v += np.log(np.maximum(b.tasks, 1e-300))[None, :, None]
    volume = np.exp(log_v, out=log_v)
    volume[:, b.tasks <= 0, :] = 0.0

    ceiling = np.maximum(a.resolution_ceiling + a.ceiling_uncertainty * z_ceiling, 0.0) * b.ceiling_factor[None, :]
    np.maximum(ceiling, b.rate0[None, :], out=ceiling)  # (scenarios, accounts)
    gap_left = np.exp(-t / a.learning_months)
    # rate = ceiling - (ceiling - r0) * gap_left = ceiling * (1 - gap_left) + r0 * gap_left
    curve = ceiling[:, :, None] * (1.0 - gap_left) + (b.rate0[:, None] * gap_left)[None, :, :]
    if a.resolution_noise > 0:
        rate = np.multiply(e_rate, a.resolution_noise, dtype=np.float64)
        np.exp(rate, out=rate)
        rate *= curve
    else:
        rate = curve
    np.minimum(rate, b.rate_cap[None, :, None], out=rate)

    # Alive in month t iff U < (1 - h)^t: a geometric churn month per scenario and account.
    alive = None
    if a.churn_hazard > 0:
        log_survive = math.log1p(-a.churn_hazard) * t
        alive = (np.log(np.maximum(u_churn, 1e-300))[:, :, None] < log_survive[None, None, :]).astype(np.float64)
    return _Paths(volume, rate, alive)


def _seat_path(needed: np.ndarray, seats0: np.ndarray, lag: float) -> np.ndarray:
    """Contracted seats moving toward ``needed`` (s, a, t): 1/lag of the gap a month.

    The path starts from today's contracted seats (the seats the history
    bills) and is continuous, like every quantity here: the expected seats of
    an account that right-sizes over about ``lag`` months. Whole seats a
    month (rounding the step up) would close every gap under ``lag`` seats in
    the first forecast month, a cliff right after the history line.
    Accounts with no contracted seats today (no accounts row) stay at zero.
    """
    contracted = seats0 > 0
    if lag <= 1:
        return needed * contracted[None, :, None]
    by_month = np.ascontiguousarray(np.moveaxis(needed, 2, 0))  # month-major: each step is contiguous
    current = np.broadcast_to(seats0[None, :], needed.shape[:2]).astype(np.float64)
    step = np.empty_like(current)
    for t in range(by_month.shape[0]):
        np.subtract(by_month[t], current, out=step)
        step /= lag
        current += step
        by_month[t] = current
    by_month *= contracted[None, None, :]
    return np.ascontiguousarray(np.moveaxis(by_month, 0, 2))


class _Usage(Mapping[str, np.ndarray]):
    """The charge metrics of one block (scenarios, accounts, months), each computed on first use.

    A plan set rarely uses all seven metrics; computing only those asked for
    keeps the simulation within its time budget. ``human_hours`` stands in
    for seats_needed (each charge applies its own hours_per_seat).
    """

    KEYS = (*(m.value for m in Metric if m is not Metric.SEATS_NEEDED), "human_hours")

    def __init__(self, a: Assumptions, b: _Baseline, paths: _Paths, scale: np.ndarray) -> None:
        self.a, self.b, self.paths, self.scale = a, b, paths, scale
        self._cache: dict[str, np.ndarray] = {}
        months = paths.volume.shape[2]
        self.drift = np.exp(a.token_drift * np.arange(1, months + 1, dtype=np.float64))

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._cache:
            if key not in self.KEYS:
                raise KeyError(key)
            self._cache[key] = getattr(self, f"_{key}")()
        return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.KEYS)

    def __len__(self) -> int:
        return len(self.KEYS)

    def _tasks(self) -> np.ndarray:
        volume = self.paths.volume
        if not np.all(self.scale == 1.0):
            volume = volume * self.scale[None, :, None]
        if self.paths.alive is not None:
            volume = volume * self.paths.alive
        return volume

    def _conversations(self) -> np.ndarray:
        return self["tasks"] * self.b.ai_share[None, :, None]

    def _outcomes(self) -> np.ndarray:
        return self["conversations"] * self.paths.rate

    def _human_hours(self) -> np.ndarray:
        hours = self["tasks"] - self["outcomes"]
        np.maximum(hours, 0.0, out=hours)
        hours *= self.b.hours_per_open_task[None, :, None]
        return hours

    def _seats(self) -> np.ndarray:
        needed = self["human_hours"] / self.a.hours_per_seat
        needed -= 1e-9  # float noise on exact multiples must not add a seat
        np.ceil(needed, out=needed)
        seats = _seat_path(needed, self.b.seats, self.a.seat_lag_months)
        if self.paths.alive is not None:
            seats *= self.paths.alive
        return seats

    def _tokens(self, per_conversation: np.ndarray) -> np.ndarray:
        return self["conversations"] * (per_conversation[:, None] * self.drift[None, :])[None]

    def _input_tokens_m(self) -> np.ndarray:
        return self._tokens(self.b.in_per_conv)

    def _output_tokens_m(self) -> np.ndarray:
        return self._tokens(self.b.out_per_conv)

    def cogs(self) -> np.ndarray:
        """COGS per cell: tokens (drifting) and the per-AI-task cost, per conversation."""
        per_conv = self.b.token_cost[:, None] * self.drift[None, :] + self.b.other_cost[:, None]
        return self["conversations"] * per_conv[None]


def _today_metrics(a: Assumptions, b: _Baseline) -> dict[str, np.ndarray]:
    """Today's usage per account (shape (accounts,)): what the price response compares bills on."""
    conversations = b.tasks * b.ai_share
    outcomes = conversations * b.rate0
    return {
        Metric.SEATS.value: b.seats,
        "human_hours": np.maximum(b.tasks - outcomes, 0.0) * b.hours_per_open_task,
        Metric.CONVERSATIONS.value: conversations,
        Metric.OUTCOMES.value: outcomes,
        Metric.INPUT_TOKENS_M.value: conversations * b.in_per_conv,
        Metric.OUTPUT_TOKENS_M.value: conversations * b.out_per_conv,
        Metric.TASKS.value: b.tasks,
    }


def _volume_scales(
    a: Assumptions, b: _Baseline, plans: Sequence[Plan], reference: Plan | None
) -> list[np.ndarray]:
    """Per plan, the factor on each account's volume from the price response (1 when off)."""
    ones = np.ones_like(b.tasks)
    if a.price_elasticity == 0 or reference is None:
        return [ones for _ in plans]
    today = _today_metrics(a, b)
    ref_bill = plan_revenue_vectorised(reference, today, b.seat_price)
    scales = []
    for plan in plans:
        bill = plan_revenue_vectorised(plan, today, b.seat_price)
        ratio = np.where(ref_bill > 0, bill / np.where(ref_bill > 0, ref_bill, 1.0), 1.0)
        scales.append(np.clip(ratio, *PRICE_RATIO_BOUNDS) ** a.price_elasticity)
    return scales


# ====================================================================== result
@dataclass(frozen=True)
class ForecastResult:
    """The forecast per plan. Money in dollars (floats: a simulation, not a statement).

    * ``revenue`` / ``margin``: plan, month, p10, p50, p90, mean (portfolio, per month)
    * ``totals``: scenario x plan horizon revenue (for histograms and comparisons)
    * ``prob_beats``: square frame, P(row plan's horizon revenue > column plan's)
    * ``volatility``: per plan: mean, p10, p50, p90 of horizon revenue, cv_horizon
      (sd / mean of horizon revenue), cv_monthly (mean over months of sd / mean),
      downside (1 - p10 / p50), margin_p50 (horizon)
    * ``accounts``: per plan and account, mean horizon revenue and margin
    * ``history``: plan, month, revenue, margin (the backtest, when computed from a warehouse)
    """

    revenue: pd.DataFrame
    margin: pd.DataFrame
    totals: pd.DataFrame
    prob_beats: pd.DataFrame
    volatility: pd.DataFrame
    accounts: pd.DataFrame
    assumptions: Assumptions
    months: tuple[pd.Timestamp, ...]
    scenarios: int
    seed: int
    reference: str | None = None
    history: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def plans(self) -> tuple[str, ...]:
        return tuple(self.prob_beats.index)

    def prob(self, plan: str, other: str) -> float:
        """Probability that ``plan`` earns more than ``other`` over the whole horizon."""
        for name in (plan, other):
            if name not in self.prob_beats.index:
                raise ConfigError(f"No plan named {name!r} in this forecast; plans: {', '.join(self.plans)}.")
        return float(self.prob_beats.loc[plan, other])

    def account_changes(self, plan: str, reference: str) -> pd.DataFrame:
        """Per account: mean horizon revenue under ``reference`` and ``plan`` and the change
        (plan - reference), largest gain for the vendor first."""
        self.prob(plan, reference)  # a clear error for an unknown plan
        by = self.accounts.pivot(index="account_id", columns="plan", values="revenue")
        out = pd.DataFrame({"reference_revenue": by[reference], "revenue": by[plan]})
        out["change"] = out["revenue"] - out["reference_revenue"]
        out = out.reset_index().sort_values(["change", "account_id"], ascending=[False, True], ignore_index=True)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: bands per plan (months as YYYY-MM, dollars to the cent), prob_beats, volatility."""

        def bands(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
            out: dict[str, list[dict[str, Any]]] = {}
            for plan, g in frame.groupby("plan", sort=False):
                out[str(plan)] = [
                    {"month": m.strftime("%Y-%m"), "p10": _cents(p10), "p50": _cents(p50), "p90": _cents(p90),
                     "mean": _cents(mean)}
                    for m, p10, p50, p90, mean in zip(g["month"], g["p10"], g["p50"], g["p90"], g["mean"], strict=True)
                ]
            return out

        vol = self.volatility
        return {
            "scenarios": self.scenarios,
            "seed": self.seed,
            "months": [m.strftime("%Y-%m") for m in self.months],
            "reference": self.reference,
            "plans": bands(self.revenue),
            "margin": bands(self.margin),
            "prob_beats": {
                str(a): {str(b): round(float(self.prob_beats.loc[a, b]), 4) for b in self.prob_beats.columns}
                for a in self.prob_beats.index
            },
            "volatility": {
                str(r.plan): {
                    "mean": _cents(r.mean), "p10": _cents(r.p10), "p50": _cents(r.p50), "p90": _cents(r.p90),
                    "cv_horizon": round(float(r.cv_horizon), 4), "cv_monthly": round(float(r.cv_monthly), 4),
                    "downside": round(float(r.downside), 4), "margin_p50": _cents(r.margin_p50),
                }
                for r in vol.itertuples(index=False)
            },
            "assumptions": {
                "values": {k: round(v, 6) for k, v in self.assumptions.values().items()},
                "sources": dict(self.assumptions.sources),
            },
        }


def _cents(value: float) -> float:
    """A float dollar figure to the cent for JSON (half up); not for statements."""
    return float(round_half_up(Decimal(repr(float(value)))))


def _bands_frame(plans: Sequence[str], months: Sequence[pd.Timestamp], by_plan: Sequence[np.ndarray]) -> pd.DataFrame:
    frames = []
    for name, values in zip(plans, by_plan, strict=True):
        p10, p50, p90 = np.percentile(values, PERCENTILES, axis=0)
        frames.append(pd.DataFrame({
            "plan": name, "month": list(months), "p10": p10, "p50": p50, "p90": p90, "mean": values.mean(axis=0),
        }))
    return pd.concat(frames, ignore_index=True)


def _volatility(plans: Sequence[str], revenue: Sequence[np.ndarray], margin: Sequence[np.ndarray]) -> pd.DataFrame:
    rows = []
    for name, rev, mar in zip(plans, revenue, margin, strict=True):
        total = rev.sum(axis=1)
        mean = float(total.mean())
        p10, p50, p90 = (float(x) for x in np.percentile(total, PERCENTILES))
        month_mean = rev.mean(axis=0)
        month_cv = np.divide(rev.std(axis=0), month_mean, out=np.zeros_like(month_mean), where=month_mean > 0)
        rows.append({
            "plan": name, "mean": mean, "p10": p10, "p50": p50, "p90": p90,
            "cv_horizon": float(total.std() / mean) if mean > 0 else 0.0,
            "cv_monthly": float(month_cv.mean()),
            "downside": 1.0 - p10 / p50 if p50 > 0 else 0.0,
            "margin_p50": float(np.percentile(mar.sum(axis=1), 50)),
        })
    return pd.DataFrame(rows)


def _prob_beats(plans: Sequence[str], totals: np.ndarray) -> pd.DataFrame:
    """P(row beats column) over the horizon; the same scenarios for all plans (paired)."""
    beats = (totals[:, :, None] > totals[:, None, :]).mean(axis=0)
    return pd.DataFrame(beats, index=list(plans), columns=list(plans))


# ====================================================================== running it
def forecast_months(last_month: pd.Timestamp | None, months: int) -> tuple[pd.Timestamp, ...]:
    """The months after the last month of history (first day of each)."""
    start = (pd.Timestamp(last_month) if last_month is not None else pd.Timestamp.today()).to_period("M") + 1
    return tuple(p.to_timestamp() for p in pd.period_range(start, periods=months, freq="M"))


def _block_sizes(scenarios: int) -> list[int]:
    full, rest = divmod(scenarios, BLOCK_SCENARIOS)
    return [BLOCK_SCENARIOS] * full + ([rest] if rest else [])


@dataclass(frozen=True)
class _BlockResult:
    """One block's sums per plan: portfolio by month (scenarios, months) and by account (accounts,)."""

    revenue: list[np.ndarray]
    margin: list[np.ndarray]
    account_revenue: list[np.ndarray]
    account_margin: list[np.ndarray]


def _run_block(
    a: Assumptions, b: _Baseline, plans: Sequence[Plan], scales: Sequence[np.ndarray], months: int,
    n: int, seed_seq: np.random.SeedSequence,
) -> _BlockResult:
    paths = _draw_paths(a, b, months, n, np.random.default_rng(seed_seq))
    out = _BlockResult([], [], [], [])
    usage: _Usage | None = None
    for plan, scale in zip(plans, scales, strict=True):
        # Without a price response every plan sees the same usage: compute it once.
        if usage is None or usage.scale is not scale:
            usage = _Usage(a, b, paths, scale)
            cogs = usage.cogs()
            cogs_month, cogs_account = cogs.sum(axis=1), cogs.sum(axis=(0, 2))
            del cogs
        cents = plan_cents_vectorised(plan, usage, b.seat_price)
        if paths.alive is not None:
            cents *= paths.alive  # no platform fee or minimum after an account leaves
        rev_month, rev_account = cents.sum(axis=1) / 100.0, cents.sum(axis=(0, 2)) / 100.0
        out.revenue.append(rev_month)
        out.margin.append(rev_month - cogs_month)
        out.account_revenue.append(rev_account)
        out.account_margin.append(rev_account - cogs_account)
    return out


def simulate(
    assumptions: Assumptions,
    planset: PlanSet,
    months: int = 12,
    scenarios: int = 2000,
    seed: int = 0,
    reference: str | None = None,
    workers: int = 1,
) -> ForecastResult:
    """Run the Monte Carlo for every plan of ``planset`` (see the module docstring for the model).

    ``reference`` names the plan today's bills are compared with for the
    price response (default: the first plan). ``workers`` > 1 simulates
    blocks of scenarios on threads (numpy releases the GIL); the result does
    not depend on it.
    """
    if months < 1 or months > 120:
        raise ConfigError(f"Forecast months must be between 1 and 120 (got {months}).")
    if scenarios < 1 or scenarios > 100_000:
        raise ConfigError(f"Forecast scenarios must be between 1 and 100000 (got {scenarios}).")
    assumptions.check()
    plans = planset.plans
    ref_plan = planset.plan(reference) if reference is not None else plans[0]
    b = _Baseline.of(assumptions)
    scales = _volume_scales(assumptions, b, plans, ref_plan)
    sizes = _block_sizes(scenarios)
    children = np.random.SeedSequence(seed).spawn(len(sizes))
    jobs = [(assumptions, b, plans, scales, months, n, s) for n, s in zip(sizes, children, strict=True)]
    if workers > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(lambda j: _run_block(*j), jobs))
    else:
        parts = [_run_block(*j) for j in jobs]
    names = [p.name for p in plans]
    idx = range(len(plans))
    revenue = [np.concatenate([part.revenue[i] for part in parts]) for i in idx]
    margin = [np.concatenate([part.margin[i] for part in parts]) for i in idx]
    acc_rev = [np.sum([part.account_revenue[i] for part in parts], axis=0) / scenarios for i in idx]
    acc_mar = [np.sum([part.account_margin[i] for part in parts], axis=0) / scenarios for i in idx]
    month_list = forecast_months(assumptions.last_month, months)
    totals = np.stack([r.sum(axis=1) for r in revenue], axis=1)
    account_ids = assumptions.accounts["account_id"].astype(str).tolist()
    accounts = pd.concat(
        [pd.DataFrame({"plan": n, "account_id": account_ids, "revenue": r, "margin": m})
         for n, r, m in zip(names, acc_rev, acc_mar, strict=True)],
        ignore_index=True,
    )
    return ForecastResult(
        revenue=_bands_frame(names, month_list, revenue),
        margin=_bands_frame(names, month_list, margin),
        totals=pd.DataFrame(totals, columns=names),
        prob_beats=_prob_beats(names, totals),
        volatility=_volatility(names, revenue, margin),
        accounts=accounts,
        assumptions=assumptions,
        months=month_list,
        scenarios=scenarios,
        seed=seed,
        reference=ref_plan.name,
    )


def forecast(
    wh: Warehouse,
    planset: PlanSet,
    d: Definition,
    months: int = 12,
    scenarios: int = 2000,
    seed: int = 0,
    assumptions: Assumptions | None = None,
    reference: str | None = None,
    workers: int = 1,
    overrides: Mapping[str, float] | None = None,
) -> ForecastResult:
    """The forecast of every plan from the warehouse under definition ``d``, with the
    backtest's monthly portfolio revenue and margin as ``history``.

    ``assumptions`` default to the estimates from the same history;
    ``overrides`` (name -> value) change some of them, to see what an
    assumption moves.
    """
    from outcome_pricing.pricing.backtest import account_month_metrics, backtest_metrics

    metrics = account_month_metrics(wh, d, planset.costs)
    a = assumptions if assumptions is not None else assumptions_from_metrics(metrics, planset)
    a = a.with_values(**(overrides or {}))
    result = simulate(a, planset, months=months, scenarios=scenarios, seed=seed, reference=reference, workers=workers)
    portfolio = backtest_metrics(metrics, planset, reference).portfolio()
    history = portfolio[["plan", "month", "revenue", "margin"]].copy()
    history["plan"] = history["plan"].astype(str)
    return replace(result, history=history.sort_values(["plan", "month"], kind="stable", ignore_index=True))


__all__ = [
    "CONTROLS",
    "Assumptions",
    "Control",
    "ForecastResult",
    "assumptions_from_warehouse",
    "estimate_assumptions",
    "forecast",
    "assumptions_from_metrics",
    "simulate",
]
