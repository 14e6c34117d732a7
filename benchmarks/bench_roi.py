"""ROI case speed: `python -m benchmarks.bench_roi`.

The ROI page assembles the case again on every change of an entered value
(the cash flows, the tornado and the low/high scenarios: about twenty cash
flow runs). Since issue 14 each run bills the plan for every projected month
(fees, tiers, minimum and cap, exact Decimal lines). Measured here: one
assembly with the plan billed month by month, against the same case with an
entered price per task (no billing: the old arithmetic), measured in the same
run, for a flat plan and for a tiered plan with an allowance and a cap, over
3 and 10 years, and for the plans whose months depend on each other (issues 16 to 18): a
deal with free months, a gain-share, a guarantee (expected credits) and a funded
deployment; a prepaid commitment with rollover; outcomes settled on audits. Budget: an
assembly stays under 0.25 s (the page feels instant).
"""

from __future__ import annotations

import statistics
import timeit
from decimal import Decimal

from benchmarks import figures
from outcome_pricing.analysis import roi
from outcome_pricing.analysis.roi.odds import GuaranteeOdds
from outcome_pricing.analysis.roi.settle import SettlementFactor
from outcome_pricing.analysis.roi.spend import Scope, SpendModel, UsageRates
from outcome_pricing.pricing.deal_terms import ChargeFrom, DealTerms, Guarantee
from outcome_pricing.pricing.terms import Charge, Commitment, Metric, Plan, Settlement, Tier

RUNS = 5
BUDGET_SECONDS = 0.25
SETTLED = SettlementFactor(("upper_bound", 3), Decimal("0.0603"), 90, 1, Scope.ACCOUNT, "2026-08", "2026-10")
RATES = UsageRates(outcomes=0.55, input_tokens_m=0.004, output_tokens_m=0.0008, ai_tasks=20_000,
                   scope=Scope.ACCOUNT, settlement=(SETTLED,))
ODDS = GuaranteeOdds(Decimal("0.65"), 3, Decimal(1), 0.05, "bench")
PLANS = {
    "per-outcome": Plan("per-outcome", charges=(Charge(Metric.OUTCOMES, price=Decimal("0.99")),)),
    "ladder + cap + fee": Plan(
        "ladder", platform_fee=Decimal(49), cap=Decimal(25_000),
        charges=(Charge(Metric.OUTCOMES, included=Decimal(25), tiers=(
            Tier(Decimal(1000), Decimal("0.99")), Tier(Decimal(5000), Decimal("0.89")), Tier(None, Decimal("0.79")),
        )),),
    ),
    "deal (free, gain-share, guarantee)": Plan(
        "deal", platform_fee=Decimal(49),
        charges=(Charge(Metric.OUTCOMES, price=Decimal("0.99")), Charge(Metric.SAVINGS_USD, price=Decimal("0.2"))),
        deal=DealTerms(ChargeFrom.GO_LIVE, 2, Decimal(1500), Decimal(30), Guarantee(Decimal("0.65"), 3, Decimal(1))),
    ),
    "commitment + rollover": Plan(
        "committed", charges=(Charge(Metric.OUTCOMES, price=Decimal("1.5")),),
        commitment=Commitment(Decimal(600), 3, True, Decimal("0.5")),
    ),
    "settled outcomes": Plan(
        "settled", charges=(Charge(Metric.OUTCOMES, price=Decimal("0.99"), audit_settlement=Settlement.UPPER_BOUND),),
    ),
}
VALUES = {"monthly_volume": 12_000, "volume_growth": 0.15, "minutes_saved_per_task": 4.0, "seats": 40,
          "seat_price": 115.0, "agent_hourly_cost": 38.0}


def _case(plan: Plan, years: int, billed: bool) -> roi.RoiCase:
    assumptions = {k: roi.entered(k, v) for k, v in VALUES.items()}
    source = roi.Source.MEASURED if billed else roi.Source.ENTERED
    assumptions["ai_spend_per_task"] = roi.Assumption("ai_spend_per_task", 0.5, source)
    model = SpendModel(plan, RATES, ai_minutes=4.0, baseline_minutes=8.0,
                       guarantee=ODDS if plan.deal.guarantee is not None else None)
    return roi.build_case(assumptions, subject="bench", plan=plan.name, years=years, spend=model)


def _seconds(plan: Plan, years: int, billed: bool) -> float:
    _case(plan, years, billed)  # warm-up
    return statistics.median(timeit.repeat(lambda: _case(plan, years, billed), number=1, repeat=RUNS))


def main() -> None:
    print(f"one case assembly (cash flows, tornado, scenarios), median of {RUNS}; budget {BUDGET_SECONDS} s")
    for name, plan in PLANS.items():
        for years in (3, 10):
            billed, baseline = _seconds(plan, years, True), _seconds(plan, years, False)
            flag = "ok" if billed <= BUDGET_SECONDS else "OVER BUDGET"
            print(f"  {name:36s} {years:2d} years: billed month by month {billed * 1000:7.1f} ms, "
                  f"price per task (baseline) {baseline * 1000:6.1f} ms, ratio {billed / baseline:5.1f}x  {flag}")
            figures.record(f"ROI case assembly, {name}, {years} years", billed, baseline,
                           "price per task (no monthly bill)", budget_seconds=BUDGET_SECONDS)


if __name__ == "__main__":
    main()
