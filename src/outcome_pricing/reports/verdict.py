"""What an executive reads first: the forecast's chance, yearly figures and a one-line verdict.

* `outlook`: the forecast's probability that the proposed plan earns more than
  the reference over the coming months (the Forecast page's default run, so the
  two pages show the same chance), with both plans' median horizon revenue;
* `yearly_figures`: revenue and margin under both plans per calendar year of
  the history (a partial year says how many months it holds);
* `verdict`: one sentence with the change in revenue and margin over the last
  12 months and the forecast's chance, decided here, drawn by the page and the brief.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pandas as pd

from outcome_pricing.analysis import forecast as fc
from outcome_pricing.pricing.metrics import account_month_metrics
from outcome_pricing.reports.overview import Overview

if TYPE_CHECKING:
    from outcome_pricing.pricing.plans import PlanSet
    from outcome_pricing.rules import Definition
    from outcome_pricing.warehouse.handle import Warehouse

VERDICT_MONTHS = 12  # the verdict's window: the last 12 months of history (or all of it)


@dataclass(frozen=True)
class Outlook:
    """The forecast's answer to "will the proposed plan earn more?" (dollars; chance 0..1)."""

    chance: float  # P(proposed horizon revenue > reference's), paired scenarios
    first: pd.Timestamp
    last: pd.Timestamp
    reference_p50: float
    proposed_p50: float
    scenarios: int
    seed: int

    @property
    def months(self) -> int:
        return (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1


def outlook(
    wh: Warehouse, planset: PlanSet, d: Definition, reference: str, proposed: str,
    months: int = fc.DEFAULT_MONTHS, scenarios: int = fc.DEFAULT_SCENARIOS, seed: int = fc.DEFAULT_SEED,
) -> Outlook | None:
    """The forecast's chance that ``proposed`` beats ``reference``; None when they are one plan."""
    if reference == proposed:
        return None
    # Only the two plans: every plan sees the same seeded scenarios (common random numbers), so
    # the paired chance is the Forecast page's to the last scenario, at a fraction of the cost.
    # The assumptions are estimated from the whole plan set, as the Forecast page does.
    # The history goes in as on the Forecast page (fc.forecast): deal terms (charge start, free
    # months, commitment balances, guarantee credits) are placed on the horizon from it.
    pair = replace(planset, plans=(planset.plan(reference), planset.plan(proposed)))
    history = account_month_metrics(wh, d, planset.costs, planset.plans)
    estimates = fc.assumptions_from_metrics(history, planset)
    result = fc.simulate(estimates, pair, months=months, scenarios=scenarios, seed=seed, reference=reference,
                         workers=2, history=history)
    p50 = dict(zip(result.volatility["plan"].astype(str), result.volatility["p50"].astype(float), strict=True))
    return Outlook(
        chance=result.prob(proposed, reference),
        first=result.months[0], last=result.months[-1],
        reference_p50=p50[reference], proposed_p50=p50[proposed],
        scenarios=scenarios, seed=seed,
    )


YEARLY_COLUMNS = ("year", "months", "revenue_reference", "revenue_proposed", "revenue_change",
                  "margin_reference", "margin_proposed", "margin_pct_reference", "margin_pct_proposed")


def yearly_figures(ov: Overview) -> pd.DataFrame:
    """Per calendar year of the history (up to this month): YEARLY_COLUMNS, oldest first."""
    trend = ov.revenue_trend[ov.revenue_trend["plan"].isin([ov.reference, ov.proposed])]
    trend = trend.assign(year=pd.to_datetime(trend["month"]).dt.year)
    sums = trend.groupby(["year", "plan"])[["revenue", "margin"]].sum().unstack("plan")
    months = trend.groupby("year")["month"].nunique()
    out = pd.DataFrame({
        "year": sums.index.astype(int),
        "months": months.reindex(sums.index).to_numpy(),
        "revenue_reference": sums[("revenue", ov.reference)].to_numpy(),
        "revenue_proposed": sums[("revenue", ov.proposed)].to_numpy(),
        "margin_reference": sums[("margin", ov.reference)].to_numpy(),
        "margin_proposed": sums[("margin", ov.proposed)].to_numpy(),
    })
    out["revenue_change"] = out["revenue_proposed"] - out["revenue_reference"]
    for side in ("reference", "proposed"):
        revenue = out[f"revenue_{side}"]
        out[f"margin_pct_{side}"] = (out[f"margin_{side}"] / revenue).where(revenue > 0)
    return out[list(YEARLY_COLUMNS)].reset_index(drop=True)


def _money(value: float) -> str:
    text = f"${abs(value):,.0f}"
    return f"-{text}" if round(value) < 0 else text


def _share(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.1%}"


def _chance_words(chance: Outlook) -> str:
    """The forecast's answer in words; "none" or "all" of the scenarios when it is exactly so."""
    horizon = f"over the next {chance.months} months"
    if chance.chance <= 0:
        return f"it earns more in none of the forecast's {chance.scenarios:,} scenarios {horizon}"
    if chance.chance >= 1:
        return f"it earns more in all {chance.scenarios:,} of the forecast's scenarios {horizon}"
    return f"the forecast gives it a {fc.chance_text(chance.chance)} chance of earning more {horizon}"


def verdict(ov: Overview, chance: Outlook | None) -> str:
    """One line: the proposed plan against the reference over the last 12 months (revenue,
    margin) and the forecast's chance that it earns more."""
    if ov.reference == ov.proposed:
        return (f"{ov.proposed} is both the reference and the proposed plan: choose another proposed "
                "plan to compare.")
    first, last = ov.window(VERDICT_MONTHS)
    window = ov.revenue_trend[ov.revenue_trend["month"].between(first, last)]
    by = window.groupby("plan")[["revenue", "margin"]].sum()
    revenue = {str(k): float(v) for k, v in by["revenue"].items()}
    margin = {str(k): float(v) for k, v in by["margin"].items()}
    ref, prop = revenue[ov.reference], revenue[ov.proposed]
    change = prop - ref
    span = len(window["month"].unique())
    relative = f" ({change / ref:+.0%})" if ref > 0 else ""
    more_or_less = "more" if change >= 0 else "less"
    share = {plan: margin[plan] / revenue[plan] if revenue[plan] > 0 else None for plan in (ov.reference, ov.proposed)}
    text = (f"{ov.proposed} would have billed {_money(abs(change))} {more_or_less} than {ov.reference} over "
            f"the last {span} months{relative}, at a margin of {_share(share[ov.proposed])} against "
            f"{_share(share[ov.reference])}")
    if chance is not None:
        text += "; " + _chance_words(chance)
    return text + "."
