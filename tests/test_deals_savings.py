"""savings_usd (DESIGN 11): the SQL over the warehouse against the plain-Python reading,
and hand-computed account-months (an account with no baseline uses the portfolio's)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcome_pricing.pricing.deals.savings import (
    BaselineSource,
    savings_columns,
    savings_detail,
    savings_usd,
)
from outcome_pricing.warehouse import Warehouse
from tests.deals_rows import load, reference_saved_ms, task

JAN, FEB = dt.date(2025, 1, 10), dt.date(2025, 2, 10)


@st.composite
def task_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for n in range(draw(st.integers(1, 30))):
        rows.append(task(
            n, draw(st.sampled_from(["A1", "A2", "A3"])), draw(st.sampled_from([JAN, FEB])),
            topic=draw(st.sampled_from(["billing", "login", "refund"])),
            ai_enabled=draw(st.booleans()),
            human_seconds=draw(st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0005, 90.0, 3600.25, 1e6 / 7]))),
        ))
    return rows


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(task_lists())
def test_sql_savings_agree_with_the_plain_reading(rows: list[dict[str, Any]]) -> None:
    with Warehouse.in_memory() as wh:
        load(wh, rows)
        got = {(a, pd.Timestamp(m)): s for a, m, s in savings_columns(wh)[["account_id", "month", "saved_ms"]]
               .itertuples(index=False)}
    want = reference_saved_ms(rows)
    assert {k: v for k, v in got.items()} == want


def test_an_account_without_a_baseline_uses_the_portfolio_on_its_topic(fresh_wh: Warehouse) -> None:
    rows = [
        # A1's baseline: billing 600 s and 300 s (mean 450 s), login 1200 s
        task(1, "A1", JAN, ai_enabled=False, human_seconds=600.0),
        task(2, "A1", JAN, ai_enabled=False, human_seconds=300.0),
        task(3, "A1", JAN, ai_enabled=False, topic="login", human_seconds=1200.0),
        # A2 went live from its first task: no baseline of its own
        task(4, "A2", FEB, human_seconds=50.0),  # billing: portfolio billing 450 s -> 400 s saved
        task(5, "A2", FEB, human_seconds=None),  # no time recorded: left out
        task(6, "A2", FEB, topic="refund", human_seconds=0.0),  # refund: portfolio all topics 700 s
        task(7, "A1", FEB, topic="refund", human_seconds=100.0),  # A1 all topics: 700 s -> 600 s
    ]
    load(fresh_wh, rows, [{"account_id": "A1", "agent_hourly_cost": 36.0}])
    cols = savings_columns(fresh_wh).set_index("account_id")
    assert cols.loc["A2", "saved_ms"] == Fraction(400_000 + 700_000)
    assert cols.loc["A1", "saved_ms"] == Fraction(600_000)
    detail = savings_detail(fresh_wh, "A2", pd.Timestamp(2025, 2, 1), Decimal(30))
    assert detail.topics["baseline_source"].tolist() == [BaselineSource.PORTFOLIO_TOPIC, BaselineSource.PORTFOLIO]
    assert detail.hourly_source == "plan hourly_cost_default"
    assert detail.savings == Fraction(1_100_000, 3_600_000) * 30  # 1100 s at $30/h = $9.1666...
    assert "AI tasks x (baseline" in detail.lines()[0]
    own = savings_detail(fresh_wh, "A1", pd.Timestamp(2025, 2, 1), Decimal(30))
    assert own.hourly_cost == Decimal(36) and own.savings == Fraction(600, 3600) * 36  # $6.00


def test_slower_ai_saves_nothing_and_no_hourly_cost_saves_nothing() -> None:
    assert savings_usd(Fraction(-5000), Decimal(30)) == 0
    assert savings_usd(Fraction(3_600_000), None) == 0
    assert savings_usd(Fraction(3_600_000), Decimal("45.5")) == Fraction(91, 2)


@pytest.mark.parametrize("seconds", [0.0005, 1.0015, 2.5])
def test_milliseconds_are_rounded_like_the_usage_scan(fresh_wh: Warehouse, seconds: float) -> None:
    rows = [task(1, "A1", JAN, ai_enabled=False, human_seconds=10.0), task(2, "A1", JAN, human_seconds=seconds)]
    load(fresh_wh, rows)
    assert savings_columns(fresh_wh)["saved_ms"].tolist() == [reference_saved_ms(rows)[("A1", pd.Timestamp(2025, 1, 1))]]


@pytest.mark.slow
def test_savings_agree_with_the_same_topic_mix_effect_on_the_demo(demo_wh: Warehouse) -> None:
    """Two measures of the same thing: the impact page's human minutes per task at the AI's
    topic mix (AI minus baseline), and savings_usd's minutes saved per timed AI task."""
    from outcome_pricing.proof.impact import impact_summary

    cols = savings_columns(demo_wh)
    saved_minutes = float(sum(cols["saved_ms"], Fraction(0))) / cols["ai_timed_tasks"].sum() / 60_000
    effect = impact_summary(demo_wh).human_minutes_mix_adjusted.diff
    assert saved_minutes > 0 and effect < 0  # the same sign: the AI saves time
    assert abs(saved_minutes + effect) < 0.15 * abs(effect)  # and the same size, within 15%
