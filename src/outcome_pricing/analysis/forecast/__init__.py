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
* terms      every plan term the backtest prices: outcomes settled on audits and
             prices by dimension at today's mix (``mix``); the charge start and free
             months, commitment periods (breakage, overage) and guarantee credits
             placed from the history (``spans``)

Quantities are continuous (an expectation-level simulation, not single
tasks); money is float (simulations may use floats, DESIGN 2). Every random
draw comes from a Generator seeded by ``seed``: scenarios are simulated in
fixed blocks, each with its own SeedSequence child, so the same seed gives
the same numbers, and all plans see the same scenarios (common random
numbers), which makes "plan A beats plan B" a paired comparison.

The package, one concept a module:

* ``assumptions``: the controls (``CONTROLS``, ``CONTROL_NAMES``) and :class:`Assumptions`;
* ``estimation``: the assumptions estimated from the history (``estimate_assumptions``);
* ``mix``: today's mix held over the horizon (audit settlement factors, shares by dimension value);
* ``paths``: the random paths and the usage they imply (``Baseline``, ``draw_paths``, ``Usage``,
  ``block_sizes``: the public pieces analysis.deal_risk prices a deal's risk on);
* ``spans``: each plan's month-spanning terms on the horizon (charge start and free months,
  commitment periods, guarantee windows);
* ``simulation``: the seeded vectorised Monte Carlo (``simulate``);
* ``result``: :class:`ForecastResult`, its bands, probabilities, volatility and JSON;
* here: ``forecast``, the whole run from a warehouse (estimate, simulate, add the backtest).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from outcome_pricing.analysis.forecast.assumptions import (
    ACCOUNT_COLUMNS,
    CONTROL_NAMES,
    CONTROLS,
    Assumptions,
    Control,
)
from outcome_pricing.analysis.forecast.estimation import (
    HISTORY_COLUMNS,
    assumptions_from_metrics,
    assumptions_from_warehouse,
    estimate_assumptions,
)
from outcome_pricing.analysis.forecast.mix import ASSUMPTION_TEXT as MIX_ASSUMPTION
from outcome_pricing.analysis.forecast.paths import (
    BLOCK_SCENARIOS,
    Baseline,
    Usage,
    block_sizes,
    draw_paths,
)
from outcome_pricing.analysis.forecast.result import PERCENTILES, ForecastResult, chance_text
from outcome_pricing.analysis.forecast.simulation import forecast_months, simulate
from outcome_pricing.pricing.plans import PlanSet

if TYPE_CHECKING:
    from outcome_pricing.rules import Definition
    from outcome_pricing.warehouse.handle import Warehouse

# One default run for every surface (the Forecast page, the CLI, the Overview's chance):
# the same figures wherever a reader sees them.
DEFAULT_MONTHS = 12
DEFAULT_SCENARIOS = 1000
DEFAULT_SEED = 0


def forecast(
    wh: Warehouse,
    planset: PlanSet,
    d: Definition,
    months: int = DEFAULT_MONTHS,
    scenarios: int = DEFAULT_SCENARIOS,
    seed: int = DEFAULT_SEED,
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
    from outcome_pricing.pricing import account_month_metrics, backtest_metrics

    metrics = account_month_metrics(wh, d, planset.costs, planset.plans)
    a = assumptions if assumptions is not None else assumptions_from_metrics(metrics, planset)
    a = a.with_values(**(overrides or {}))
    result = simulate(a, planset, months=months, scenarios=scenarios, seed=seed, reference=reference, workers=workers,
                      history=metrics)
    portfolio = backtest_metrics(metrics, planset, reference).portfolio()
    history = portfolio[["plan", "month", "revenue", "margin"]].copy()
    history["plan"] = history["plan"].astype(str)
    return replace(result, history=history.sort_values(["plan", "month"], kind="stable", ignore_index=True))



__all__ = [
    "ACCOUNT_COLUMNS",
    "BLOCK_SCENARIOS",
    "DEFAULT_MONTHS",
    "DEFAULT_SCENARIOS",
    "DEFAULT_SEED",
    "CONTROLS",
    "CONTROL_NAMES",
    "HISTORY_COLUMNS",
    "PERCENTILES",
    "MIX_ASSUMPTION",
    "Assumptions",
    "Baseline",
    "Control",
    "ForecastResult",
    "assumptions_from_metrics",
    "Usage",
    "assumptions_from_warehouse",
    "block_sizes",
    "chance_text",
    "draw_paths",
    "estimate_assumptions",
    "forecast",
    "forecast_months",
    "simulate",
]
