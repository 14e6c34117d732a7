"""A guarantee's chances in the customer's ROI case (DESIGN 11): expected credits.

Expected credits = the chance a window falls short x credit_pct x the window's
outcome charges, summed over the complete windows of the horizon from the first
charged month (month 0 = go-live). The chance per window comes from the
vendor's forecast scenarios for an account with history
(``analysis.deal_risk``: the probability that its next window triggers, taken
for every window of the case), or, for a prospect, from the closed form
P(Binomial(n, rate) < threshold x n) (``deal_case.trigger_probability``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from outcome_pricing.analysis.deal_case import trigger_probability
from outcome_pricing.analysis.roi.assumptions import MONTHS_PER_YEAR
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import Plan
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse.handle import Warehouse

RISK_SCENARIOS = 1000  # the forecast's default number of scenarios
RISK_SEED = 0


@dataclass(frozen=True)
class GuaranteeOdds:
    """How likely a guarantee window is to fall short, and where that chance comes from."""

    threshold: Decimal
    window_months: int
    credit_pct: Decimal
    p_window: float | None  # from the forecast; None: the closed form, window by window
    source: str

    def chance(self, conversations: float, rate: float) -> float:
        """P(a window of ``conversations`` at ``rate`` outcomes each falls short)."""
        if self.p_window is not None:
            return self.p_window
        return trigger_probability(round(conversations), rate, float(self.threshold))


def closed_form_odds(plan: Plan) -> GuaranteeOdds | None:
    g = plan.deal.guarantee
    if g is None:
        return None
    return GuaranteeOdds(g.min_resolution_rate, g.window_months, g.credit_pct, None,
                         "P(Binomial(conversations, the measured outcomes per task) < the threshold x "
                         "conversations), window by window (no history of this customer to forecast from)")


def forecast_odds(wh: Warehouse, planset: PlanSet, plan: Plan, d: Definition, account_id: str) -> GuaranteeOdds | None:
    """The chance that the account's next guarantee window falls short, from the vendor's
    forecast scenarios (``deal_risk_from_warehouse`` over one window's months: exactly one
    window ends in them); the closed form when the account has no such window."""
    from outcome_pricing.analysis.deal_risk import deal_risk_from_warehouse

    odds = closed_form_odds(plan)
    if odds is None:
        return None
    alone = replace(planset, plans=(plan,))
    w = odds.window_months
    risk = deal_risk_from_warehouse(wh, alone, d, months=w, scenarios=RISK_SCENARIOS, seed=RISK_SEED)
    row = risk.plan(plan.name).account(account_id)
    if row is None or row.get("windows", 0.0) < 1:
        return odds
    p = row["p_trigger"]
    return replace(odds, p_window=p, source=(
        f"{p:.1%}, from the vendor's forecast ({RISK_SCENARIOS:,} scenarios of this account's next "
        f"{w}-month window), taken for every window"))


def expected_credits(odds: GuaranteeOdds, outcome_charges: Sequence[Decimal], tasks: Sequence[float], rate: float,
                     start: int) -> tuple[float, ...]:
    """Expected guarantee credits by year (index 0..N, >= 0): every complete window of the
    horizon from the first charged month, chance x credit_pct x its outcome charges, booked
    in the year of its last month. ``outcome_charges``: each projected month's charge lines
    on outcomes; ``tasks``: tasks a month in each year (conversations)."""
    years = len(tasks)
    out = [0.0] * (years + 1)
    w = odds.window_months
    first = start
    while first + w <= len(outcome_charges):
        inside = range(first, first + w)
        charges = float(sum((outcome_charges[m] for m in inside), Decimal(0)))
        conversations = sum(tasks[m // MONTHS_PER_YEAR] for m in inside)
        out[(first + w - 1) // MONTHS_PER_YEAR + 1] += odds.chance(conversations, rate) * float(odds.credit_pct) * charges
        first += w
    return tuple(out)
