"""Pricing: plans, charges, costs, the backtest and statements (DESIGN section 5).

One import for everything pricing; the work lives in

* ``plans``: PlanSet / Plan / Charge / Tier / Costs read from TOML, validated;
* ``money``: half-up rounding and exact scaled integers;
* ``charges``: the charge arithmetic (exact Decimal lines, integer-cent arrays);
* ``backtest``: metrics per account-month, the backtest, price sweeps;
* ``statements``: one account-month's statement with its evidence and exports.

The API other areas build on (forecast, ROI, overview)::

    planset = PlanSet.from_toml("data/plans.toml")     # or example_plans(), from_toml_text(text)
    metrics = account_month_metrics(wh, d, planset.costs)
        # account_id, month, seats, seat_price, human_hours, seats_needed, conversations,
        # outcomes, input_tokens_m, output_tokens_m, tasks, ai_tasks, cogs (+ exact integers)
    bt = backtest(wh, planset, d, reference="seats-today")   # or backtest_metrics(metrics, planset)
    bt.frame            # account_id, month, plan, revenue, cogs, margin, ... (one row per plan)
    bt.portfolio(); bt.totals(); bt.account_changes("per-outcome"); bt.winners_losers("per-outcome")
    bt.seat_erosion(by="month" | "account")
    price_sweep(wh, planset, d, plan="per-outcome")          # revenue, margin, break-even prices
    statement(wh, planset, "per-outcome", d, "A0001", "2026-03").to_csv() / .to_xlsx() / .to_text()

Charge functions: ``bill(plan, Usage) -> lines`` and ``bill_total(lines)`` (exact Decimal,
one account-month); ``plan_cents(plan, UsageArrays) -> PlanCents`` (integer cents for
many account-months; ``usage_arrays(metrics)`` builds the input). Both follow DESIGN 5
and agree to the cent (tests/test_backtest.py).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from outcome_pricing.kit.money import round_half_up
from outcome_pricing.pricing.backtest import (
    METRIC_COLUMNS,
    Backtest,
    PriceLab,
    PriceSweep,
    account_month_metrics,
    backtest,
    backtest_metrics,
    price_lab,
    price_sweep,
    price_sweep_metrics,
    usage_arrays,
    usage_by_tier,
)
from outcome_pricing.pricing.charges import (
    Line,
    PlanCents,
    Usage,
    UsageArrays,
    bill,
    bill_total,
    charge_line,
    plan_cents,
)
from outcome_pricing.pricing.plans import Charge, Costs, LineKind, Metric, Mode, Plan, PlanSet, Tier
from outcome_pricing.pricing.statements import Statement, parse_month, statement

# Package data, so an installed wheel finds them wherever it runs.
EXAMPLE_PLANS = Path(str(resources.files("outcome_pricing.pricing") / "data" / "plans.toml"))


def example_plans_text() -> str:
    """The example plans shipped in the package (pricing/data/plans.toml) (the app's default plan set)."""
    return EXAMPLE_PLANS.read_text(encoding="utf-8")


def example_plans() -> PlanSet:
    return PlanSet.from_toml(EXAMPLE_PLANS)


__all__ = [
    "EXAMPLE_PLANS",
    "METRIC_COLUMNS",
    "Backtest",
    "Charge",
    "Costs",
    "Line",
    "LineKind",
    "Metric",
    "Mode",
    "Plan",
    "PlanCents",
    "PlanSet",
    "PriceLab",
    "PriceSweep",
    "Statement",
    "Tier",
    "Usage",
    "UsageArrays",
    "account_month_metrics",
    "backtest",
    "backtest_metrics",
    "bill",
    "bill_total",
    "charge_line",
    "example_plans",
    "example_plans_text",
    "parse_month",
    "plan_cents",
    "price_lab",
    "price_sweep",
    "price_sweep_metrics",
    "round_half_up",
    "statement",
    "usage_arrays",
    "usage_by_tier",
]
