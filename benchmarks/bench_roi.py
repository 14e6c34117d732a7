"""ROI case speed: `python -m benchmarks.bench_roi`.

The ROI page assembles the case again on every change of an entered value
(the cash flows, the tornado and the low/high scenarios: about twenty cash
flow runs). Since issue 14 each run bills the plan for every projected month
(fees, tiers, minimum and cap, exact Decimal lines). Measured here: one
assembly with the plan billed month by month, against the same case with an
entered price per task (no billing: the old arithmetic), measured in the same
run, for a flat plan and for a tiered plan with an allowance and a cap, over
3 and 10 years. Budget: an assembly stays under 0.25 s (the page feels instant).
"""

from __future__ import annotations

import statistics
import timeit
from decimal import Decimal

from outcome_pricing.analysis import roi
from outcome_pricing.analysis.roi.spend import Scope, SpendModel, UsageRates
from outcome_pricing.pricing.terms import Charge, Metric, Plan, Tier

RUNS = 5
BUDGET_SECONDS = 0.25
RATES = UsageRates(outcomes=0.55, input_tokens_m=0.004, output_tokens_m=0.0008, ai_tasks=20_000,
                   scope=Scope.ACCOUNT)
PLANS = {
    "per-outcome": Plan("per-outcome", charges=(Charge(Metric.OUTCOMES, price=Decimal("0.99")),)),
    "ladder + cap + fee": Plan(
        "ladder", platform_fee=Decimal(49), cap=Decimal(25_000),
        charges=(Charge(Metric.OUTCOMES, included=Decimal(25), tiers=(
            Tier(Decimal(1000), Decimal("0.99")), Tier(Decimal(5000), Decimal("0.89")), Tier(None, Decimal("0.79")),
        )),),
    ),
}
VALUES = {"monthly_volume": 12_000, "volume_growth": 0.15, "minutes_saved_per_task": 4.0, "seats": 40,
          "seat_price": 115.0, "agent_hourly_cost": 38.0}


def _case(plan: Plan, years: int, billed: bool) -> roi.RoiCase:
    assumptions = {k: roi.entered(k, v) for k, v in VALUES.items()}
    source = roi.Source.MEASURED if billed else roi.Source.ENTERED
    assumptions["ai_spend_per_task"] = roi.Assumption("ai_spend_per_task", 0.5, source)
    model = SpendModel(plan, RATES, ai_minutes=4.0, baseline_minutes=8.0)
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
            print(f"  {name:20s} {years:2d} years: billed month by month {billed * 1000:7.1f} ms, "
                  f"price per task (baseline) {baseline * 1000:6.1f} ms, ratio {billed / baseline:5.1f}x  {flag}")


if __name__ == "__main__":
    main()
