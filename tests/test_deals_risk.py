"""Deal risk on the forecast's scenarios (DESIGN 11): the guarantee's trigger probability
against a closed form, the prospect's closed form, and the threshold sweep."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
from scipy.stats import binom

from outcome_pricing.analysis.deal_case import trigger_probability
from outcome_pricing.analysis.deal_risk import deal_risk
from outcome_pricing.analysis.forecast import ACCOUNT_COLUMNS, Assumptions
from outcome_pricing.kit.money import MICRO
from outcome_pricing.pricing.deal_terms import DealTerms, Guarantee
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import Charge, Metric, Plan

CONV, RATE, THRESHOLD, WINDOW, MONTHS = 100, 0.62, 0.60, 3, 12
LAST = pd.Timestamp(2025, 6, 1)


def _assumptions() -> Assumptions:
    """One account, 100 conversations a month, a fixed resolution rate: no trend, no noise."""
    row = dict.fromkeys(ACCOUNT_COLUMNS, 0.0)
    row.update(account_id="A1", tasks=float(CONV), ai_share=1.0, resolution_rate=RATE, ceiling_factor=1.0,
               rate_cap=1.0, hours_per_open_task=0.1)
    # a ceiling of 0 leaves every account at its own rate (the curve never falls below today's)
    return Assumptions(resolution_ceiling=0.0, accounts=pd.DataFrame([row]), last_month=LAST)


def _history() -> pd.DataFrame:
    """The last month of history, the account's only (charging starts with the forecast)."""
    return pd.DataFrame({
        "account_id": ["A1"], "month": [LAST], "seats": [0], "conversations": [CONV], "tasks": [CONV],
        "outcomes_micro": [int(CONV * RATE * MICRO)], "input_tokens": [0], "output_tokens": [0], "human_ms": [0],
        "seat_price_micro": [0], "saved_ms": [Fraction(0)], "agent_hourly_cost": [None],
        "go_live_month": [LAST], "outcomes": [CONV * RATE], "cogs_cents": [0],
    })


def _plan(threshold: float = THRESHOLD) -> Plan:
    return Plan("guaranteed", charges=(Charge(Metric.OUTCOMES, price=Decimal(1)),),
                deal=DealTerms(free_months=1, guarantee=Guarantee(Decimal(str(threshold)), WINDOW, Decimal("0.5"))))


def test_trigger_probability_matches_the_binomial_closed_form() -> None:
    result = deal_risk(_assumptions(), PlanSet((_plan(),)), _history(), months=MONTHS, scenarios=4000, seed=3)
    risk = result.plan("guaranteed")
    n = CONV * WINDOW
    p = binom.cdf(math.ceil(THRESHOLD * n) - 1, n, RATE)  # one window falls short
    windows = MONTHS // WINDOW
    p_any = 1 - (1 - p) ** windows
    got = float(risk.accounts["p_trigger"].iloc[0])
    assert abs(got - p_any) < 4 * math.sqrt(p_any * (1 - p_any) / 4000)
    # a triggered window credits half of its outcome charges: 3 months x 62 outcomes x $1
    credit = 0.5 * WINDOW * CONV * RATE
    expected = windows * p * credit
    assert abs(float(risk.accounts["expected_credit"].iloc[0]) - expected) < 4 * credit * math.sqrt(windows * p * (1 - p) / 4000)
    assert trigger_probability(n, RATE, THRESHOLD) == float(p)


def test_the_sweep_rises_with_the_threshold_and_the_same_seed_repeats() -> None:
    a = deal_risk(_assumptions(), PlanSet((_plan(),)), _history(), months=MONTHS, scenarios=500, seed=1)
    b = deal_risk(_assumptions(), PlanSet((_plan(),)), _history(), months=MONTHS, scenarios=500, seed=1)
    sweep = a.plan("guaranteed").sweep
    assert sweep.equals(b.plan("guaranteed").sweep)
    expected = sweep["expected_credit"].to_numpy()
    assert np.all(np.diff(expected) >= 0) and expected[0] == 0 and expected[-1] > 0
    # far above the account's 62%, every window triggers: all of the credit
    assert sweep["p_any_trigger"].iloc[-1] == 1.0
    assert a.plan("guaranteed").expensive_from(0.05) is not None


def test_the_closed_form_counts_a_window_that_misses_by_one_outcome() -> None:
    # 10 conversations at a 65% threshold: 6 outcomes fall short (6 < 6.5), 7 do not
    assert trigger_probability(10, 1.0, 0.65) == 0.0
    assert math.isclose(trigger_probability(10, 0.5, 0.65), binom.cdf(6, 10, 0.5))
    assert trigger_probability(0, 0.5, 0.65) == 0.0
