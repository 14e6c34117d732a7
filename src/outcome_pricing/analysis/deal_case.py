"""A deal seen from both sides, for one account's history or for a prospect (DESIGN 11).

The vendor: what the deal would have earned and cost on the account's own logs
(revenue, COGS with the funded implementation, margin) against the reference
plan. The customer (the ROI view of the terms): the months it was not charged
(free months, worth what the plan would have billed), the gain-share it pays
against the savings it keeps, the implementation the vendor funded, and the
guarantee's expected value, which is a **reduction of risk** (expected credits
in the scenarios where the AI underperforms), not a saving in the expected case.

A prospect has no logs: it is described by its expected monthly volume,
resolution rate, minutes saved and hourly cost, and the guarantee's trigger
probability per window has a closed form: P(Binomial(n, rate) < threshold x n).

Floats here (a projection); the statements are exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.money import cents_to_float
from outcome_pricing.pricing.cents import plan_cents
from outcome_pricing.pricing.deals.billing import deal_cents
from outcome_pricing.pricing.deals.savings import hourly_cost_for, savings_usd
from outcome_pricing.pricing.metrics import usage_arrays
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.simulate import charge_cents_vectorised
from outcome_pricing.pricing.terms import Metric, Plan

SAVINGS = "savings_usd"


@dataclass(frozen=True)
class DealSides:
    """Both sides of one deal over a stretch of months (dollars)."""

    account: str
    months: int
    charged_months: int
    free_months_value: float  # what the plan would have billed in the months it did not charge
    revenue: float  # the deal's bills
    reference_revenue: float  # the reference plan's bills over the same months
    cogs: float  # cost to serve, with the implementation
    implementation: float  # the deployment the vendor funded
    gain_share: float  # the customer's charges on savings_usd
    savings: float  # measured labour savings (savings_usd, as the plan values them)
    guarantee_credits: float  # credits granted (history) or expected (prospect)
    guarantee_expected: float | None = None  # expected credits over the forecast (risk reduction)
    trigger_probability: float | None = None

    @property
    def margin(self) -> float:
        return self.revenue - self.cogs

    @property
    def customer_net(self) -> float:
        """Savings kept after gain-share, plus credits, minus the deal's other charges."""
        return self.savings - self.revenue

    def vendor_rows(self) -> list[tuple[str, float]]:
        return [("Revenue under the deal", self.revenue), ("Revenue under the reference plan", self.reference_revenue),
                ("Cost to serve (with implementation)", self.cogs), ("of which implementation (funded)", self.implementation),
                ("Margin", self.margin), ("Guarantee credits", self.guarantee_credits)]

    def customer_rows(self) -> list[tuple[str, float]]:
        rows = [("Labour savings measured", self.savings), ("Gain-share paid", self.gain_share),
                ("Savings kept", self.savings - self.gain_share), ("Free months (value not billed)", self.free_months_value),
                ("Implementation funded by the vendor", self.implementation),
                ("Guarantee credits received", -self.guarantee_credits)]
        if self.guarantee_expected is not None:
            rows.append(("Guarantee: expected credits (risk reduction, not a saving)", self.guarantee_expected))
        return rows

    def to_dict(self) -> dict[str, Any]:
        out = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in self.__dict__.items()}
        out["margin"] = round(self.margin, 2)
        return out


def account_choices(metrics: pd.DataFrame) -> list[str]:
    """The accounts a deal can be priced on, the most AI conversations first (the default pick)."""
    sizes = metrics.groupby("account_id")["conversations"].sum()
    return sorted(sizes.index.astype(str), key=lambda a: (-int(sizes[a]), a))


def account_sides(metrics: pd.DataFrame, plan: Plan, reference: Plan, account_id: str) -> DealSides:
    """The deal on one account's history (``metrics``: account_month_metrics with deal columns)."""
    rows = metrics[metrics["account_id"] == account_id].reset_index(drop=True)
    if rows.empty:
        raise ConfigError(f"Account {account_id!r} has no months in this data; pick another account.")
    usage = usage_arrays(rows)
    raw = plan_cents(plan, usage)
    deal = deal_cents(plan, rows, raw)
    ref = deal_cents(reference, rows, plan_cents(reference, usage))
    savings_lines = [line for c, line in zip(plan.charges, deal.bill.by_charge, strict=True) if c.metric.value == SAVINGS]
    default = plan.deal.hourly_cost_default
    measured = sum(float(savings_usd(s, hourly_cost_for(c, default)))
                   for s, c, on in zip(rows["saved_ms"], rows["agent_hourly_cost"], deal.charged, strict=True) if on)
    return DealSides(
        account=account_id,
        months=len(rows),
        charged_months=int(deal.charged.sum()),
        free_months_value=float(cents_to_float(np.where(deal.charged, 0, raw.total).sum())),
        revenue=float(cents_to_float(deal.total.sum())),
        reference_revenue=float(cents_to_float(ref.total.sum())),
        cogs=float(cents_to_float((rows["cogs_cents"].to_numpy(np.int64) + deal.implementation).sum())),
        implementation=float(cents_to_float(deal.implementation.sum())),
        gain_share=float(cents_to_float(np.sum(savings_lines))) if savings_lines else 0.0,
        savings=measured,
        guarantee_credits=float(cents_to_float(deal.guarantee_credit.sum())),
    )


# ---------------------------------------------------------------------- building a deal
@dataclass(frozen=True)
class DealForm:
    """A deal as the deal desk builds it: a base plan plus the terms of DESIGN 11.

    Shares are fractions (0.2 = 20%); ``min_resolution_rate`` None = no guarantee;
    ``gain_share`` 0 = no charge on savings. Floats from a form are rounded by the
    plans reader (cents for money, 6 decimals for the rest) and validated like a file.
    """

    base_plan: str
    name: str = "deal"
    charge_from: str = "go_live"
    free_months: int = 0
    implementation_cost: float = 0.0
    gain_share: float = 0.0
    hourly_cost_default: float = 30.0
    min_resolution_rate: float | None = None
    window_months: int = 3
    credit_pct: float = 1.0


def build_deal(planset: PlanSet, form: DealForm) -> tuple[PlanSet, Plan]:
    """The plan set with the deal plan added (or replacing one of the same name), validated."""
    import tomllib

    import tomli_w

    from outcome_pricing.kit.money import form_amount

    data = tomllib.loads(planset.to_toml())
    base = next(dict(p) for p in data["plans"] if p["name"] == planset.plan(form.base_plan).name)
    base["name"] = form.name.strip() or "deal"
    base.pop("description", None)
    base["charge_from"] = form.charge_from
    base["free_months"] = int(form.free_months)
    base["implementation_cost"] = form_amount(form.implementation_cost, 2)
    charges = [c for c in base.get("charges", []) if c.get("metric") != SAVINGS]
    if form.gain_share > 0:
        charges.append({"metric": SAVINGS, "name": "gain-share on labour savings", "price": form_amount(form.gain_share)})
        base["hourly_cost_default"] = form_amount(form.hourly_cost_default)
    base["charges"] = charges
    if form.min_resolution_rate is not None:
        base["guarantee"] = {"min_resolution_rate": form_amount(form.min_resolution_rate),
                             "window_months": int(form.window_months), "credit_pct": form_amount(form.credit_pct)}
    data["plans"] = [p for p in data["plans"] if p["name"] != base["name"]] + [base]
    out = PlanSet.from_toml_text(tomli_w.dumps(data), source="deal desk")
    return out, out.plan(base["name"])


# ---------------------------------------------------------------------- a prospect
@dataclass(frozen=True)
class Prospect:
    """A customer without logs: what sales expects of it, per month."""

    name: str = "prospect"
    conversations: float = 5000.0
    resolution_rate: float = 0.6
    minutes_saved_per_outcome: float = 6.0
    hourly_cost: float = 30.0
    months: int = 12
    cost_per_conversation: float = 0.05

    def check(self) -> None:
        if not (self.conversations >= 0 and 0 <= self.resolution_rate <= 1 and self.minutes_saved_per_outcome >= 0
                and self.hourly_cost >= 0 and 1 <= self.months <= 120 and self.cost_per_conversation >= 0):
            raise ConfigError("A prospect needs conversations >= 0, a resolution rate from 0 to 1, minutes saved "
                              ">= 0, an hourly cost >= 0, 1 to 120 months and a cost per conversation >= 0.")


def trigger_probability(n: int, rate: float, threshold: float) -> float:
    """P(Binomial(n, rate) < threshold x n): a window of n conversations falls short."""
    from scipy.stats import binom

    if n <= 0:
        return 0.0
    short = math.ceil(threshold * n) - 1  # the most outcomes that still fall short
    return float(binom.cdf(short, n, rate)) if short >= 0 else 0.0


def prospect_sides(plan: Plan, reference: Plan, prospect: Prospect) -> DealSides:
    """The deal on a prospect's expected months: charged from go-live (month 1) plus free months."""
    prospect.check()
    months = prospect.months
    conv = np.full(months, prospect.conversations)
    outcomes = conv * prospect.resolution_rate
    saved = outcomes * prospect.minutes_saved_per_outcome / 60.0 * prospect.hourly_cost
    metrics = {Metric.CONVERSATIONS.value: conv, Metric.OUTCOMES.value: outcomes, Metric.TASKS.value: conv,
               Metric.SEATS.value: np.zeros(months), "human_hours": np.zeros(months),
               Metric.INPUT_TOKENS_M.value: np.zeros(months), Metric.OUTPUT_TOKENS_M.value: np.zeros(months),
               SAVINGS: saved}
    seat = np.zeros(months)
    charged = np.arange(months) >= plan.deal.free_months

    def bill(p: Plan) -> tuple[np.ndarray, list[np.ndarray]]:
        lines = [charge_cents_vectorised(c, metrics, seat) / 100.0 for c in p.charges]
        usage = np.sum(lines, axis=0) if lines else np.zeros(months)
        if p.cap > 0:
            usage = np.minimum(usage, float(p.cap))
        total = usage + float(p.platform_fee)
        if p.minimum > 0:
            total = np.maximum(total, float(p.minimum))
        return total, lines

    total, lines = bill(plan)
    ref_total, _ = bill(reference)
    outcome_lines = sum((ln for c, ln in zip(plan.charges, lines, strict=True) if c.metric is Metric.OUTCOMES),
                        np.zeros(months))
    gain = sum((ln for c, ln in zip(plan.charges, lines, strict=True) if c.metric.value == SAVINGS), np.zeros(months))
    expected, p_any = 0.0, None
    g = plan.deal.guarantee
    if g is not None:
        w = g.window_months
        windows = [(s, s + w) for s in range(plan.deal.free_months, months - w + 1, w)]
        n = int(round(prospect.conversations * w))
        p = trigger_probability(n, prospect.resolution_rate, float(g.min_resolution_rate))
        expected = sum(p * float(g.credit_pct) * float(outcome_lines[a:b].sum()) for a, b in windows)
        p_any = 1.0 - (1.0 - p) ** len(windows)
    implementation = float(plan.deal.implementation_cost)
    return DealSides(
        account=prospect.name, months=months, charged_months=int(charged.sum()),
        free_months_value=float(total[~charged].sum()), revenue=float(total[charged].sum()) - expected,
        reference_revenue=float(ref_total.sum()),
        cogs=float(conv.sum() * prospect.cost_per_conversation) + implementation, implementation=implementation,
        gain_share=float(gain[charged].sum()), savings=float(saved[charged].sum()),
        guarantee_credits=-expected, guarantee_expected=expected if g is not None else None,
        trigger_probability=p_any,
    )


__all__ = ["DealForm", "DealSides", "account_choices", "build_deal", "Prospect", "account_sides", "prospect_sides", "trigger_probability"]
