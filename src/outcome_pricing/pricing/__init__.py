"""Pricing: plans, charges, costs, the backtest and statements (DESIGN section 5).

One import for everything pricing; the work lives in

* ``terms``: the values of one plan's terms: Metric, Charge, Tier, Plan, Commitment, Costs;
* ``plans``: PlanSet, read from TOML and validated (``bounds``: the bound of every value),
  and the default reference and proposed plans (``PlanSet.default_reference()`` /
  ``default_proposed()``);
* ``charges``: the charge arithmetic of one account-month, exact (Decimal lines); ``cents``:
  the same for many account-months in integer cents; ``simulate``: in floats; ``spanning``:
  the terms that span months (a prepaid commitment), exact and vectorised; ``lines``,
  ``usage``: what a bill lists and what it prices;
* ``metrics``: every priced quantity per account-month (one cached usage scan + outcomes;
  ``outcomes_metric`` is where an outcomes charge's metric is formed); ``splits``: metrics
  split by model tier, channel or topic for charges priced ``by`` one;
* ``backtest``: every plan on the history, portfolio views, seat erosion;
* ``sweep``: per-outcome price sweeps, break-even prices, the Price lab bundle;
* ``statements``: one account-month's statement with its evidence and exports;
* ``data/plans.toml``: the example plans, package data (``example_plans()``, ``EXAMPLE_PLANS``).

(Half-up rounding and exact scaled integers live in ``kit.money``.)

The API other areas build on (forecast, ROI, overview)::

    planset = example_plans()              # the packaged examples; or PlanSet.from_toml(path)
    metrics = account_month_metrics(wh, d, planset.costs)
        # account_id, month, seats, seat_price, human_hours, seats_needed, conversations,
        # outcomes, input_tokens_m, output_tokens_m, tasks, ai_tasks, cogs (+ exact integers)
    bt = backtest(wh, planset, d)          # reference: planset.default_reference(); or backtest_metrics(...)
    bt.frame            # account_id, month, plan, revenue, cogs, margin, ... (one row per plan)
    bt.portfolio(); bt.totals(); bt.account_changes("per-outcome"); bt.winners_losers("per-outcome")
    bt.seat_erosion(by="month" | "account")
    price_sweep(wh, planset, d)            # planset.default_proposed(): revenue, margin, break-even
    statement(wh, planset, "per-outcome", d, "A0001", "2026-03").to_csv() / .to_xlsx() / .to_text()

Charge functions: ``bill(plan, Usage) -> lines`` and ``bill_total(lines)`` (exact Decimal,
one account-month, a commitment's month as the first of its period); ``span_account(plan,
[(month number, month_lines(plan, usage)), ...], start)`` (one account's months in order,
with the commitment's balance); ``plan_cents(plan, UsageArrays) -> PlanCents`` (integer cents
for many account-months, commitment included; ``usage_arrays(metrics)`` builds the input
from ``account_month_metrics(wh, d, costs, plans=planset.plans)``). All follow DESIGN 5
and 10 and agree to the cent (tests/test_backtest.py, tests/test_charge_shapes.py).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from outcome_pricing.kit.money import round_half_up
from outcome_pricing.pricing.backtest import Backtest, backtest, backtest_metrics
from outcome_pricing.pricing.charges import (
    Line,
    PlanCents,
    Usage,
    UsageArrays,
    bill,
    bill_total,
    charge_line,
    month_lines,
    plan_cents,
)
from outcome_pricing.pricing.metrics import (
    METRIC_COLUMNS,
    account_month_metrics,
    outcomes_metric,
    usage_arrays,
    usage_by_tier,
)
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.spanning import CommitmentMonth, SpannedMonth, span_account
from outcome_pricing.pricing.statements import Statement, parse_month, statement
from outcome_pricing.pricing.sweep import (
    PriceLab,
    PriceSweep,
    price_lab,
    price_sweep,
    price_sweep_metrics,
)
from outcome_pricing.pricing.terms import (
    Charge,
    Commitment,
    Costs,
    Dimension,
    LineKind,
    Metric,
    Mode,
    Plan,
    Settlement,
    Tier,
)

# Package data, read through importlib.resources so an installed wheel finds the
# example plans wherever it runs (not relative to a source checkout).
_EXAMPLE_PLANS_RESOURCE = resources.files("outcome_pricing.pricing") / "data" / "plans.toml"
EXAMPLE_PLANS = Path(str(_EXAMPLE_PLANS_RESOURCE))  # a file path, for tools that want one


def example_plans_text() -> str:
    """The example plans shipped in the package (pricing/data/plans.toml), as TOML text."""
    return _EXAMPLE_PLANS_RESOURCE.read_text(encoding="utf-8")


def example_plans() -> PlanSet:
    """The example plans shipped in the package, parsed: the default plan set of the CLI and the app."""
    return PlanSet.from_toml_text(example_plans_text(), source=str(EXAMPLE_PLANS))


__all__ = [
    "EXAMPLE_PLANS",
    "METRIC_COLUMNS",
    "Backtest",
    "Charge",
    "Commitment",
    "CommitmentMonth",
    "Costs",
    "Dimension",
    "Line",
    "LineKind",
    "Metric",
    "Mode",
    "Plan",
    "PlanCents",
    "PlanSet",
    "PriceLab",
    "PriceSweep",
    "Settlement",
    "SpannedMonth",
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
    "month_lines",
    "outcomes_metric",
    "parse_month",
    "plan_cents",
    "price_lab",
    "price_sweep",
    "price_sweep_metrics",
    "round_half_up",
    "span_account",
    "statement",
    "usage_arrays",
    "usage_by_tier",
]
