"""A deal's terms in the customer's ROI case (DESIGN 11): what each changes for the customer.

The cash flows carry one line per term (cashflows.case_lines), so NPV and
payback count them; this module gives the rows that explain each term in words
a CFO can check (the guarantee's chances: roi.odds):

* **free months**: the months after go-live with no charge at all, worth what
  the plan would have billed in them (a negative cost);
* **gain-share**: the plan's share of the labour saved, with the savings
  computation (tasks x minutes saved / 60 x agent hourly cost);
* **guarantee**: expected credits = the chance a window falls short x
  credit_pct x the window's outcome charges, summed over the complete windows
  of the horizon. A **risk reduction**: the credit is paid only when the AI
  underperforms, so it narrows the downside; it is not a saving to plan on.
  The chance per window comes from the vendor's forecast scenarios for an
  account with history (``analysis.deal_risk``: the probability that its next
  window triggers, taken for every window of the case), or, for a prospect, from the closed form P(Binomial(n, rate) < threshold x n)
  (``deal_case.trigger_probability``);
* **funded implementation**: the deployment the vendor pays for, which the
  customer does not (up to the customer's own implementation estimate);
* **prepaid commitment** (DESIGN 10): the commitment billed per period, and
  its expected breakage (prepaid, unused, expired), already inside that line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from outcome_pricing.analysis.roi.odds import GuaranteeOdds
from outcome_pricing.analysis.roi.spend import YearSpend
from outcome_pricing.kit.money import price_text
from outcome_pricing.pricing.terms import Metric, Plan


# ---------------------------------------------------------------------- the rows shown
@dataclass(frozen=True)
class DealTerm:
    """One term in words, and the cash-flow line that counts it (same amounts)."""

    line: str  # the key of the cash-flow line
    term: str
    meaning: str
    amounts: tuple[float, ...]  # by year 0..N, as in the line (negative lowers the costs)


def _money(x: float) -> str:
    return f"-${abs(x):,.0f}" if round(x) < 0 else f"${x:,.0f}"


def _gain_share_text(plan: Plan, v: Mapping[str, float], spend: YearSpend) -> str:
    share = next(c for c in plan.charges if c.metric is Metric.SAVINGS_USD)
    saved = v["monthly_volume"] * v["minutes_saved_per_task"] / 60.0 * v["agent_hourly_cost"]
    price = (f"{share.price:.0%} of the labour saved" if share.price is not None and not share.tiers
             else "the plan's charge on the labour saved")
    year1 = spend.part("gain_share")[1] + spend.part("free_gain_share")[1]
    return (f"You pay {price}, measured as the labour line counts it (before its risk adjustment): "
            f"{v['monthly_volume']:,.0f} tasks a month x {v['minutes_saved_per_task']:.1f} minutes saved / 60 x "
            f"${v['agent_hourly_cost']:,.2f} an hour = {_money(saved)} saved a month in year 1; "
            f"{_money(year1)} in year 1" + (" (the free months' share is taken off in the free-months line)."
                                            if spend.free_months else "."))


LIKELY = 0.5  # a window this likely to fall short: the guarantee is expected to pay, say so


def _likely(odds: GuaranteeOdds, spend: YearSpend) -> str:
    """A warning when the guarantee is more likely than not to pay at the measured rate."""
    charged = sum(spend.ai[1:])
    if charged <= 0 or sum(spend.part("guarantee")) < LIKELY * float(odds.credit_pct) * charged:
        return ""
    return (" At the measured resolution rate most windows fall short of the threshold: most outcome "
            "charges are expected to be credited back.")


def _commitment_text(plan: Plan) -> str:
    c = plan.commitment
    assert c is not None
    rest = (f"up to {c.rollover_max_pct:.0%} of it rolls into the next period, the rest expires" if c.rollover
            else "the rest expires at the period's end")
    return (f"You prepay {price_text(c.amount)} at the start of every {c.months}-month period; usage draws it "
            f"down and usage beyond it is billed at the plan's prices; {rest}.")


def _chance_text(odds: GuaranteeOdds, v: Mapping[str, float], rate: float) -> str:
    """Where the chance comes from, with its figure (the closed form: year 1's window)."""
    if odds.p_window is not None:
        return odds.source
    conversations = v["monthly_volume"] * odds.window_months
    return (f"{odds.chance(conversations, rate):.1%} a window in year 1 ({conversations:,.0f} conversations at "
            f"{rate:.1%} resolved each), {odds.source}")


def deal_terms(plan: Plan, v: Mapping[str, float], spend: YearSpend | None, lines: Mapping[str, tuple[float, ...]],
               odds: GuaranteeOdds | None, rate: float = 0.0) -> tuple[DealTerm, ...]:
    """The plan's deal terms as rows (none for a plan without them, or an entered price per task).
    ``rate``: billable outcomes per task (conversation) in the projection."""
    if spend is None:
        return ()
    rows: list[DealTerm] = []
    if "free_months" in lines:
        n = spend.free_months
        rows.append(DealTerm("free_months", f"Free months ({n})", (
            f"No charge at all for the first {n} month{'s' if n != 1 else ''} after go-live: worth what the plan "
            "would have billed in them (fee and usage at the case's volumes)."), lines["free_months"]))
    if "gain_share" in lines:
        rows.append(DealTerm("gain_share", "Gain-share", _gain_share_text(plan, v, spend), lines["gain_share"]))
    g = plan.deal.guarantee
    if "guarantee" in lines and g is not None and odds is not None:
        rows.append(DealTerm("guarantee", "Guarantee (a risk reduction, not a saving)", (
            f"If billable outcomes / conversations over a {g.window_months}-month window fall below "
            f"{g.min_resolution_rate:.0%}, {g.credit_pct:.0%} of that window's outcome charges are credited. "
            f"Expected credits = the chance a window falls short x {g.credit_pct:.0%} x its outcome charges; "
            f"the chance: {_chance_text(odds, v, rate)}. This is the guarantee's expected value: it pays only in the windows "
            "where the AI falls short, so it reduces the risk of a shortfall rather than adding a saving in "
            f"the expected case.{_likely(odds, spend)}"), lines["guarantee"]))
    if "implementation_funded" in lines:
        rows.append(DealTerm("implementation_funded", "Implementation funded by the vendor", (
            f"The vendor pays for the deployment ({_money(spend.funded)}); your own implementation estimate "
            f"({_money(v['implementation_cost'])}) is covered up to that amount."), lines["implementation_funded"]))
    if "commitment" in lines:
        rows.append(DealTerm("commitment", "Prepaid commitment", _commitment_text(plan), lines["commitment"]))
        none = not any(round(a, 2) for a in lines["breakage"])
        rows.append(DealTerm("breakage", "Expected breakage (inside the commitment)", (
            "None at the case's volumes: usage uses up each period's prepaid amount." if none else
            "Prepaid and not used at a period's end, at the case's volumes: money paid for nothing, already "
            "counted in the commitment line (not added again)."), lines["breakage"]))
    return tuple(rows)
