"""The executive overview: where we stand this month and what is at risk (issue 8).

One call, `overview(wh, planset, d, reference, proposed)`, computes everything
the Overview page and the one-page brief draw, from the engines that own each
number (nothing is recomputed here):

* revenue, cost to serve, margin and seat revenue at risk: `pricing.backtest`
  (so every figure equals the Price lab's to the cent);
* billable outcomes and the resolution rate: `definitions.outcomes` by month;
* quality (missed-issue rate, CSAT, reopen rate, AI against the human
  baseline): `impact.impact_by(by="month")`.

"This month" is the last complete month of the data: the month of the latest
`closed_at` when that task closed on the month's last calendar day, else the
month before it (the data was cut mid-month). With a single partial month
there is nothing better: that month is used and flagged `month_complete=False`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pandas as pd

from outcome_pricing.analysis.breakeven import Standing, standings
from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing.backtest import Backtest, backtest
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import Plan
from outcome_pricing.pricing.words import plan_in_words
from outcome_pricing.proof import impact
from outcome_pricing.rules import outcomes
from outcome_pricing.warehouse import cluster

if TYPE_CHECKING:
    from outcome_pricing.rules import Definition
    from outcome_pricing.warehouse.handle import Warehouse

TOP_MOVERS = 5
# Windows for the top movers, in months ending with "this month" (None = whole history).
MOVER_WINDOWS: dict[str, int | None] = {
    "this month": 1,
    "last 3 months": 3,
    "last 12 months": 12,
    "whole history": None,
}


# ---------------------------------------------------------------------- versions
def plan_version(plan: Plan) -> str:
    """The plan's version (`Plan.version`: a hash of its terms, not its name or description)."""
    return plan.version


def planset_version(planset: PlanSet) -> str:
    """The plan set's version (`PlanSet.version`)."""
    return planset.version


def plans_in_force(planset: PlanSet, reference: str, proposed: str, d: Definition | None = None) -> pd.DataFrame:
    """Every plan with its role in the scenario and its version: plan, role, version,
    description, terms (the plan's terms in words, from the terms themselves: they follow
    an edit, where a description may not)."""
    roles = {reference: "reference", proposed: "proposed"}
    if reference == proposed:
        roles[reference] = "reference and proposed"
    return pd.DataFrame(
        {
            "plan": [p.name for p in planset.plans],
            "role": [roles.get(p.name, "") for p in planset.plans],
            "version": [p.version for p in planset.plans],
            "description": [p.description for p in planset.plans],
            "terms": [plan_in_words(p, d) for p in planset.plans],
        }
    )


# ---------------------------------------------------------------------- this month
def latest_month(wh: Warehouse) -> tuple[pd.Timestamp, bool]:
    """The last complete month of the data (first day), and whether it is complete.

    Raises ConfigError on an empty warehouse (the page shows its empty state first).
    """
    span = cluster.closed_span(wh)  # cluster mode: from the first and last months' Parquet tasks
    row = (pd.Series({"first": span[0], "last": span[1]}) if span is not None else
           wh.query_df("SELECT min(closed_at) AS first, max(closed_at) AS last FROM tasks").iloc[0])
    if pd.isna(row["last"]):
        raise ConfigError("The warehouse has no tasks yet: load the demo data or your task logs first.")
    first, last = pd.Timestamp(row["first"]), pd.Timestamp(row["last"])
    month = last.to_period("M").to_timestamp()
    if last.normalize() == (month + pd.offsets.MonthEnd(0)).normalize():
        return month, True
    previous = month - pd.DateOffset(months=1)
    if first < month:  # the data reaches back into the month before
        return previous, True
    return month, False


# ---------------------------------------------------------------------- results
@dataclass(frozen=True)
class Kpis:
    """The headline figures of one month (dollars; rates as fractions).

    revenue_* and margin come from the backtest; margin and margin_pct are the
    proposed plan's, margin_reference and margin_pct_reference the reference's; seat_revenue_at_risk is the backtest's seat erosion
    (contracted seats beyond the seats the human workload needs, at each
    account's seat price).
    """

    month: pd.Timestamp
    revenue_reference: float
    revenue_proposed: float
    outcomes: float
    ai_tasks: int
    resolution_rate: float | None
    cogs: float
    margin: float
    margin_pct: float | None
    seat_revenue: float
    seat_revenue_at_risk: float
    margin_reference: float = 0.0  # the reference plan's margin, beside the proposed one's
    margin_pct_reference: float | None = None

    @property
    def margin_change(self) -> float:
        """Proposed minus reference margin: > 0 means the proposed plan keeps more."""
        return self.margin - self.margin_reference

    @property
    def revenue_change(self) -> float:
        """Proposed minus reference: > 0 means the proposed plan earns more."""
        return self.revenue_proposed - self.revenue_reference


@dataclass(frozen=True)
class WindowChange:
    """The proposed plan against the reference over a window of months, all accounts."""

    first: pd.Timestamp
    last: pd.Timestamp
    accounts: int
    change: float  # proposed minus reference revenue, dollars
    paying_more: int
    paying_less: int


@dataclass(frozen=True)
class Overview:
    """Everything the executive view shows, for one scenario.

    revenue_trend: month, plan, revenue, cogs, margin, margin_pct, accounts (every plan).
    activity_trend: month, tasks, ai_tasks, billable_units, resolution_rate.
    seat_trend: month, seats, seats_needed, seat_revenue, seat_revenue_at_risk.
    quality_trend: month, and for arm in (ai, baseline): missed_issue_rate_<arm>,
    csat_<arm>, reopen_rate_<arm>, tasks_<arm>, audited_<arm>.
    plans: plan, role, version, description, terms (plans_in_force).
    """

    backtest: Backtest
    definition_name: str
    definition_version: str
    reference: str
    proposed: str
    planset_version: str
    plans: pd.DataFrame
    month: pd.Timestamp
    month_complete: bool
    kpis: Kpis
    previous: Kpis | None  # the month before, for the cards' deltas (None without one)
    revenue_trend: pd.DataFrame
    activity_trend: pd.DataFrame
    seat_trend: pd.DataFrame
    quality_trend: pd.DataFrame
    reopen_window_hours: float

    def month_change(self, field: str) -> float | None:
        """This month's KPI `field` minus the month before's (e.g. "outcomes"); None when
        there is no month before or either value is missing."""
        if self.previous is None:
            return None
        now, before = getattr(self.kpis, field), getattr(self.previous, field)
        if now is None or before is None or pd.isna(now) or pd.isna(before):
            return None
        return float(now - before)

    def plan_trend(self, plan: str, column: str = "revenue") -> pd.Series:
        """One plan's `column` (revenue, cogs, margin, margin_pct) by month, oldest first."""
        rows = self.revenue_trend[self.revenue_trend["plan"] == plan]
        return rows.set_index("month")[column].sort_index()

    @property
    def months(self) -> list[pd.Timestamp]:
        """Months with data up to and including this month, oldest first."""
        return [m for m in self.activity_trend["month"] if m <= self.month]

    def window(self, months: int | None) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last month of the `months` ending with this month (None = whole history)."""
        span = self.months
        if months is not None and months < 1:
            raise ConfigError(f"A window of {months} months is empty; use 1 or more (or None for all).")
        first = span[0] if months is None else max(span[0], self.month - pd.DateOffset(months=months - 1))
        return pd.Timestamp(first), self.month

    def windowed(self, months: int | None = 1) -> Backtest:
        """The backtest limited to the window's months (same plans and reference)."""
        first, last = self.window(months)
        bt = self.backtest
        return replace(
            bt,
            frame=bt.frame[bt.frame["month"].between(first, last)],
            metrics=bt.metrics[bt.metrics["month"].between(first, last)],
        )

    def account_changes(self, months: int | None = 1) -> pd.DataFrame:
        """Per account over the window: reference_revenue, revenue (proposed), change, change_pct,
        name, segment; largest change first (Backtest.account_changes)."""
        return self.windowed(months).account_changes(self.proposed, self.reference)

    def window_change(self, months: int | None = 1) -> WindowChange:
        """How much the proposed plan bills against the reference over the window, and how
        many accounts would pay more or less (the line above the top movers)."""
        first, last = self.window(months)
        changes = self.account_changes(months)["change"]
        return WindowChange(
            first, last, len(changes), float(changes.sum()), int((changes > 0).sum()), int((changes < 0).sum())
        )

    def top_movers(self, months: int | None = 1, n: int = TOP_MOVERS) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The `n` accounts that would pay most more (the vendor gains), and most less (the
        vendor loses), under the proposed plan than under the reference, over the window.
        Accounts that never had the AI live are left out (see `not_live`): their change
        says nothing about outcome pricing, only that they had nothing to bill yet."""
        more, less = self.windowed(months).winners_losers(self.proposed, len(self.backtest.metrics), self.reference)
        out = set(self.not_live()["account_id"])

        def live(t: pd.DataFrame) -> pd.DataFrame:
            return t[~t["account_id"].isin(out)].head(n).reset_index(drop=True)

        return live(more), live(less)

    def not_live(self) -> pd.DataFrame:
        """Accounts that never had a task with the AI live (account_id, name), shown apart
        from the movers (breakeven.standings gives the Price lab the same rule)."""
        standing = standings(self.backtest, self.proposed)
        return standing.loc[standing["standing"] == Standing.NOT_LIVE.value, ["account_id", "name"]]


# ---------------------------------------------------------------------- computing
def _kpis(bt: Backtest, activity: pd.DataFrame, erosion: pd.DataFrame, month: pd.Timestamp,
          reference: str, proposed: str) -> Kpis:
    port = bt.portfolio()
    here = port[port["month"] == month].set_index("plan")
    act = activity[activity["month"] == month]
    seats = erosion[erosion["month"] == month]

    def plan_value(plan: str, col: str) -> float:
        return float(here[col].get(plan, 0.0)) if not here.empty else 0.0

    rate = float(act["resolution_rate"].iloc[0]) if len(act) else float("nan")
    margin_pct = plan_value(proposed, "margin_pct") if proposed in here.index else float("nan")
    ref_pct = plan_value(reference, "margin_pct") if reference in here.index else float("nan")
    return Kpis(
        month=month,
        revenue_reference=plan_value(reference, "revenue"),
        revenue_proposed=plan_value(proposed, "revenue"),
        outcomes=float(act["billable_units"].sum()),
        ai_tasks=int(act["ai_tasks"].sum()),
        resolution_rate=None if pd.isna(rate) else rate,
        cogs=plan_value(proposed, "cogs"),
        margin=plan_value(proposed, "margin"),
        margin_pct=None if pd.isna(margin_pct) else margin_pct,
        seat_revenue=float(seats["seat_revenue"].sum()),
        seat_revenue_at_risk=float(seats["seat_revenue_at_risk"].sum()),
        margin_reference=plan_value(reference, "margin"),
        margin_pct_reference=None if pd.isna(ref_pct) else ref_pct,
    )


def _activity(wh: Warehouse, d: Definition) -> pd.DataFrame:
    df = outcomes(wh, d, by=("month",))[["month", "tasks", "ai_tasks", "billable_units", "resolution_rate"]]
    df["month"] = pd.to_datetime(df["month"])
    return df


QUALITY_COLUMNS = [
    f"{metric}_{arm}"
    for arm in ("ai", "baseline")
    for metric in ("missed_issue_rate", "csat", "reopen_rate", "tasks", "audited")
]


def _quality(wh: Warehouse, window_hours: float) -> pd.DataFrame:
    df = impact.impact_by(wh, by="month", reopen_window_hours=window_hours)[["month", *QUALITY_COLUMNS]]
    df["month"] = pd.to_datetime(df["month"])
    return df


def _up_to(month: pd.Timestamp) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda df: df[df["month"] <= month].reset_index(drop=True)


def overview(
    wh: Warehouse,
    planset: PlanSet,
    d: Definition,
    reference: str | None = None,
    proposed: str | None = None,
) -> Overview:
    """The executive overview of `planset` under definition `d`.

    reference: today's plan (default: the first plan); proposed: the plan under
    consideration (default: the first plan with an outcome charge, else the last).
    """
    reference = reference or planset.default_reference()
    proposed = proposed or planset.default_proposed()
    planset.plan(proposed)  # a clear error for an unknown plan (the backtest checks the reference)
    month, complete = latest_month(wh)
    bt = backtest(wh, planset, d, reference)
    activity = _activity(wh, d)
    erosion = bt.seat_erosion(by="month")
    # The AI impact page's default window, so the two pages show the same reopen rates.
    window = impact.DEFAULT_REOPEN_WINDOW_HOURS
    earlier = activity[activity["month"] < month]["month"]
    previous = None if earlier.empty else _kpis(bt, activity, erosion, earlier.max(), reference, proposed)
    revenue = bt.portfolio()
    revenue["plan"] = revenue["plan"].astype(str)
    upto = _up_to(month)  # a partial last month would read as a collapse: leave it out
    return Overview(
        backtest=bt,
        definition_name=d.name,
        definition_version=d.version,
        reference=reference,
        proposed=proposed,
        planset_version=planset.version,
        plans=plans_in_force(planset, reference, proposed, d),
        month=month,
        month_complete=complete,
        kpis=_kpis(bt, activity, erosion, month, reference, proposed),
        previous=previous,
        revenue_trend=upto(revenue),
        activity_trend=upto(activity),
        seat_trend=upto(erosion),
        quality_trend=upto(_quality(wh, window)),
        reopen_window_hours=window,
    )


__all__ = [
    "MOVER_WINDOWS",
    "TOP_MOVERS",
    "Kpis",
    "Overview",
    "WindowChange",
    "latest_month",
    "overview",
    "plan_version",
    "planset_version",
    "plans_in_force",
]
