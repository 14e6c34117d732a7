"""Settlement (DESIGN section 9): r per account-month over the window, against a plain-Python
reference on random logs and audits, and the settled outcomes metric."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcome_pricing.proof.audit.settlement import settled_micro, settlement_rates
from outcome_pricing.proof.stats import wilson_interval
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse
from tests.audit_rows import store_audits
from tests.reference import reference_tasks
from tests.rows import load_tasks
from tests.strategies import definitions

MONTHS = [pd.Timestamp(2025, m, 1) for m in range(1, 8)]


@st.composite
def logs(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[tuple[str, bool]]]:
    rows = []
    for i in range(draw(st.integers(1, 30))):
        month = draw(st.integers(1, 7))
        start = dt.datetime(2025, month, draw(st.integers(1, 27)), 9)
        rows.append({
            "task_id": f"T{i:03d}", "account_id": draw(st.sampled_from(["A1", "A2"])),
            "requester_id": f"R{i}", "created_at": start, "closed_at": start + dt.timedelta(hours=1),
            "handoff": draw(st.booleans()), "context_retained": draw(st.none() | st.booleans()),
            "customer_confirmed": draw(st.none() | st.booleans()),
            "quiet_hours": draw(st.none() | st.sampled_from([1.0, 30.0, 100.0])),
            "verified": draw(st.none() | st.booleans()),
        })
    audited = draw(st.lists(st.sampled_from([r["task_id"] for r in rows]), unique=True))
    return rows, [(t, draw(st.booleans())) for t in audited]


def reference_rates(rows: list[dict[str, Any]], audits: list[tuple[str, bool]], d: Definition,
                    keys: pd.DataFrame, mode: str, window: int) -> list[float]:
    """r read literally: for each account-month, the audited billable tasks of the window."""
    evaluated = reference_tasks(rows, d).set_index("task_id")
    verdict = dict(audits)
    out = []
    for account, month in zip(keys["account_id"], keys["month"], strict=True):
        n = x = 0
        for task_id, t in evaluated.iterrows():
            months_back = (month.year - t["month"].year) * 12 + month.month - t["month"].month
            if t["account_id"] == account and 0 <= months_back < window and t["billable_units"] > 0 \
                    and task_id in verdict:
                n += 1
                x += not verdict[str(task_id)]
        if n == 0:
            out.append(0.0)
        elif mode == "point":
            out.append(x / n)
        else:
            out.append(1.0 if x == n else wilson_interval(x, n)[1])
    return out


class TestSettlementRates:
    @pytest.mark.slow
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(log=logs(), d=definitions, mode=st.sampled_from(["point", "upper_bound"]), window=st.integers(1, 4))
    def test_agrees_with_the_plain_python_reference(
        self, log: tuple[list[dict[str, Any]], list[tuple[str, bool]]], d: Definition, mode: str, window: int
    ) -> None:
        rows, audits = log
        keys = pd.DataFrame([(a, m) for a in ("A1", "A2", "A3") for m in MONTHS], columns=["account_id", "month"])
        with Warehouse.in_memory() as wh:
            load_tasks(wh, rows)
            store_audits(wh, audits)
            found = settlement_rates(wh, d, keys, mode, window)
        assert found == pytest.approx(reference_rates(rows, audits, d, keys, mode, window), abs=1e-12)

    def test_the_window_is_calendar_months_up_to_the_month(self, fresh_wh: Warehouse) -> None:
        when = [dt.datetime(2025, m, 5, 9) for m in (1, 3)]
        load_tasks(fresh_wh, [{"task_id": f"T{i}", "requester_id": f"R{i}", "created_at": w,
                               "closed_at": w + dt.timedelta(hours=1)} for i, w in enumerate(when)])
        store_audits(fresh_wh, [("T0", False), ("T1", True)])
        keys = pd.DataFrame({"account_id": ["A1"] * 4, "month": MONTHS[:4]})
        d = Definition.preset("intercom-fin-2025")
        assert settlement_rates(fresh_wh, d, keys, "point", 2).tolist() == [1.0, 1.0, 0.0, 0.0]
        assert settlement_rates(fresh_wh, d, keys, "point", 3).tolist() == [1.0, 1.0, 0.5, 0.0]

    def test_no_audits_means_no_discount(self, fresh_wh: Warehouse) -> None:
        load_tasks(fresh_wh, [{"task_id": "T1"}])
        keys = pd.DataFrame({"account_id": ["A1"], "month": [MONTHS[0]]})
        assert settlement_rates(fresh_wh, Definition.preset("zendesk-ar"), keys, "upper_bound", 3).tolist() == [0.0]


class TestSettledMetric:
    def test_multiplies_by_one_minus_r_rounding_half_up(self) -> None:
        found = settled_micro(np.array([1_000_000, 3, 5]), np.array([0.25, 0.5, 0.1]))
        assert found.tolist() == [750_000, 2, 5]  # 1.5 -> 2, 4.5 -> 5


class TestSettlementExplained:
    def test_the_statement_sentence_says_what_was_discounted_and_why(self, fresh_wh: Warehouse) -> None:
        from outcome_pricing.pricing.terms import Charge, Metric, Plan, Settlement
        from outcome_pricing.proof.audit.settlement import explain_settlement

        when = dt.datetime(2025, 3, 5, 9)
        load_tasks(fresh_wh, [{"task_id": f"T{i}", "requester_id": f"R{i}", "created_at": when,
                               "closed_at": when + dt.timedelta(hours=1)} for i in range(4)])
        store_audits(fresh_wh, [("T0", False), ("T1", True), ("T2", True), ("T3", True)])
        plan = Plan("p", charges=(Charge(Metric.OUTCOMES, audit_settlement=Settlement.POINT),
                                  Charge(Metric.TASKS)))
        found = explain_settlement(fresh_wh, Definition.preset("intercom-fin-2025"), plan, "A1", "2025-03-01", 4.0)
        assert found == ["outcomes: outcomes settled on audits (point): 4.00 billable units x (1 - 25.00%) = 3.00; "
                         "1 of 4 audited billed outcomes of A1 closed in 2025-01 to 2025-03 were not genuine; "
                         "the rate is 25.00%."]


SETTLED_PLANS = """
[[plans]]
name = "as-counted"
  [[plans.charges]]
  metric = "outcomes"
  price = 1.00

[[plans]]
name = "upper"
  [[plans.charges]]
  metric = "outcomes"
  price = 1.00
  audit_settlement = "upper_bound"
"""


class TestSettlementInTheBill:
    def test_backtest_and_statement_bill_the_settled_outcomes_and_say_why(self, fresh_wh: Warehouse) -> None:
        from outcome_pricing.pricing import backtest, statement
        from outcome_pricing.pricing.plans import PlanSet

        when = dt.datetime(2025, 3, 5, 9)
        load_tasks(fresh_wh, [{"task_id": f"T{i}", "requester_id": f"R{i}", "created_at": when,
                               "closed_at": when + dt.timedelta(hours=1)} for i in range(10)])
        store_audits(fresh_wh, [("T0", False), ("T1", True), ("T2", True), ("T3", True)])
        planset = PlanSet.from_toml_text(SETTLED_PLANS)
        d = Definition.preset("intercom-fin-2025")
        r = wilson_interval(1, 4)[1]
        expected = round(10 * (1 - r), 6)  # the settled metric, in whole millionths, times $1
        bt = backtest(fresh_wh, planset, d).frame.set_index("plan")["revenue"]
        assert bt["as-counted"] == 10.0
        assert bt["upper"] == pytest.approx(round(expected + 1e-9, 2))
        s = statement(fresh_wh, planset, "upper", d, "A1", "2025-03")
        assert float(s.total) == bt["upper"]
        notes = [v for k, v in s.header() if k == "Audit settlement"]
        assert len(notes) == 1 and "1 of 4 audited billed outcomes" in notes[0] and "upper bound" in notes[0]
        assert not [k for k, _ in statement(fresh_wh, planset, "as-counted", d, "A1", "2025-03").header()
                    if k == "Audit settlement"]
