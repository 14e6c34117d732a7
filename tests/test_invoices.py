"""Invoices as issued (DESIGN section 8) against the plain-Python reference of
tests/reference_lifecycle.py: random logs around month ends, random disputes, random
definitions and tiered plans with minimums, caps and close lags; exact to the cent."""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcome_pricing.errors import ConfigError
from outcome_pricing.ingest.disputes import ingest_disputes
from outcome_pricing.pricing import backtest
from outcome_pricing.pricing.invoices import invoices
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import Charge, Commitment, Metric, Mode, Plan, Tier
from outcome_pricing.rules import Definition, evaluate_tasks, outcomes, outcomes_from_tasks
from outcome_pricing.warehouse.handle import Warehouse
from tests.reference_lifecycle import Lifecycle, close_of, month_start
from tests.rows import load_tasks

HALF_HOUR = dt.timedelta(minutes=30)
# Month ends, closes (with lags of 0..2 days) and a mid-month time: tasks closed in the last
# hour of a month, reopens created exactly at a close, silences ending exactly at one.
ANCHORS = [
    dt.datetime(2025, 1, 31, 22), dt.datetime(2025, 2, 27, 23), dt.datetime(2025, 2, 28, 23),
    dt.datetime(2025, 3, 1, 0), dt.datetime(2025, 3, 2, 0), dt.datetime(2025, 3, 3, 0),
    dt.datetime(2025, 3, 20, 12),
]
QUIET = [None, 0.0, 0.5, 1.0, 1.5, 2.0, 24.0, 25.0, 48.0, 500.0]
HOURS = [0, 1, 1.5, 2, 24, 48]


@st.composite
def task_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for i in range(draw(st.integers(1, 14))):
        created = draw(st.sampled_from(ANCHORS)) + draw(st.integers(-2, 3)) * HALF_HOUR
        rows.append({
            "task_id": f"T{i:02d}",
            "account_id": draw(st.sampled_from(["A1", "A2"])),
            "requester_id": draw(st.sampled_from(["R1", "R2"])),
            "topic": "billing",
            "created_at": created,
            "closed_at": created + draw(st.integers(0, 4)) * HALF_HOUR,
            "ai_enabled": draw(st.sampled_from([True, True, True, False])),
            "ai_answered": draw(st.sampled_from([True, True, True, False])),
            "handoff": draw(st.sampled_from([False, False, True])),
            "context_retained": draw(st.booleans()),
            "customer_confirmed": draw(st.sampled_from([True, False, False])),
            "quiet_hours": draw(st.sampled_from(QUIET)),
            "n_issues": 2,
            "n_issues_resolved": draw(st.sampled_from([None, 0, 2])),
        })
    return rows


@st.composite
def dispute_rows(draw: st.DrawFn, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(0, 5))):
        task = draw(st.sampled_from(rows))
        filed = task["closed_at"] + draw(st.integers(0, 40)) * dt.timedelta(hours=12)
        status = draw(st.sampled_from(["open", "accepted", "accepted", "rejected"]))
        decided = None if status == "open" else filed + draw(st.integers(0, 40)) * dt.timedelta(hours=12)
        out.append({"dispute_id": f"D{i}", "task_id": task["task_id"], "filed_at": filed,
                    "status": status, "decided_at": decided, "reason": "wrong", "reviewer": "rev"})
    return out


definitions = st.builds(
    Definition,
    unit=st.sampled_from(["conversation", "issue"]),
    assumed_resolution=st.booleans(),
    silence_hours=st.sampled_from(HOURS),
    handoff=st.sampled_from(["never", "with_context", "always"]),
    partial_credit=st.sampled_from([0.0, 0.3]),
    reopen_window_hours=st.sampled_from(HOURS),
    dispute_window_days=st.sampled_from([0, 1, 10]),
)

cents = st.decimals(min_value=0, max_value=20, places=2)


@st.composite
def tiered_plans(draw: st.DrawFn) -> Plan:
    tiers = (Tier(Decimal(draw(st.integers(1, 3))), draw(cents)), Tier(None, draw(cents)))
    outcome = Charge(Metric.OUTCOMES, included=Decimal(draw(st.integers(0, 1))), tiers=tiers,
                     mode=draw(st.sampled_from(list(Mode))))
    charges = [outcome] + ([Charge(Metric.CONVERSATIONS, price=Decimal("0.10"))] if draw(st.booleans()) else [])
    return Plan(
        "tiered", platform_fee=draw(st.sampled_from([Decimal(0), Decimal("5.00")])),
        minimum=draw(st.sampled_from([Decimal(0), Decimal("3.00"), Decimal("12.50")])),
        cap=draw(st.sampled_from([Decimal(0), Decimal("8.00"), Decimal("40.00")])),
        charges=tuple(charges), close_lag_days=draw(st.integers(0, 2)),
    )


def load_disputes(wh: Warehouse, disputes: list[dict[str, Any]]) -> None:
    if not disputes:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "disputes.csv"
        with path.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(disputes[0]))
            w.writeheader()
            w.writerows([{k: ("" if v is None else v) for k, v in x.items()} for x in disputes])
        ingest_disputes(wh, path)


def cents_of(amount: Decimal) -> int:
    return int(amount * 100)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Definition, Plan]:
    rows = draw(task_rows())
    return rows, draw(dispute_rows(rows)), draw(definitions), draw(tiered_plans())


class TestAgainstTheReference:
    @pytest.mark.slow
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(scenarios())
    def test_invoices_match_the_reference_to_the_cent(self, case: Any) -> None:
        rows, disputes, d, plan = case
        ref = Lifecycle(rows, disputes, d).invoices(plan)
        with Warehouse.in_memory() as wh:
            load_tasks(wh, rows)
            load_disputes(wh, disputes)
            result = invoices(wh, PlanSet((plan,)), d)
            got = result.frame
        assert len(got) == len(ref)
        assert _identity_holds(got, result.lines)
        for r in got.itertuples():
            want = ref[(r.account_id, pd.Timestamp(r.month).to_pydatetime())]
            assert [r.issued_cents, r.adjustments_cents, r.billed_cents, r.final_cents, r.open_cents] == [
                cents_of(want[k]) for k in ("issued", "adjustments", "billed", "final", "open")
            ], (r, want)

    @pytest.mark.slow
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(scenarios(), st.integers(0, 6))
    def test_tasks_as_known_at_a_close_match_the_reference(self, case: Any, pick: int) -> None:
        rows, disputes, d, plan = case
        life = Lifecycle(rows, disputes, d)
        months = sorted({month_start(t["closed_at"]) for t in life.tasks})
        at = [None, *(close_of(m, plan.close_lag_days) for m in months)][pick % (len(months) + 1)]
        with Warehouse.in_memory() as wh:
            load_tasks(wh, rows)
            load_disputes(wh, disputes)
            got = evaluate_tasks(wh, d, as_of=at).set_index("task_id")
            hindsight = outcomes(wh, d, by=())
            slow = outcomes_from_tasks(wh, d, by=())
        for t in life.tasks:
            reason, units = life.reason_at(t, at)
            assert (got.loc[t["task_id"], "reason"], got.loc[t["task_id"], "billable_units"]) == pytest.approx(
                (reason.value, units)
            ), t["task_id"]
        total = sum(life.reason_at(t, None)[1] for t in life.tasks)
        assert float(hindsight["billable_units"].iloc[0]) == pytest.approx(total)
        assert float(slow["billable_units"].iloc[0]) == pytest.approx(total)
        n_disputed = sum(life.reason_at(t, None)[0].value == "disputed" for t in life.tasks)
        assert int(hindsight["n_disputed"].iloc[0]) == n_disputed

    @pytest.mark.slow
    @settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(scenarios(), st.lists(definitions, min_size=1, max_size=2))
    def test_every_definition_in_one_scan_is_each_alone(self, case: Any, more: list[Definition]) -> None:
        """The comparison by definition reads every definition's late tasks in one scan (a
        superset); each definition's steps and invoices are still its own, to the cent."""
        from outcome_pricing.rules import knowledge

        rows, disputes, d, plan = case
        ds = [d, *more]
        with Warehouse.in_memory() as wh:
            load_tasks(wh, rows)
            load_disputes(wh, disputes)
            alone = [knowledge._steps_of(wh, [x], plan.close_lag_days, True)[0] for x in ds]
            together = knowledge.billable_steps_many(wh, ds, plan.close_lag_days)  # kept for invoices
            frame = invoices(wh, PlanSet((plan,)), ds[-1]).frame  # from the kept steps
        for one, many in zip(alone, together, strict=True):
            pd.testing.assert_frame_equal(many.reset_index(drop=True), one.reset_index(drop=True), check_dtype=False)
        ref = Lifecycle(rows, disputes, ds[-1]).invoices(plan)
        for r in frame.itertuples():
            want = ref[(r.account_id, pd.Timestamp(r.month).to_pydatetime())]
            assert [r.issued_cents, r.adjustments_cents, r.billed_cents, r.final_cents, r.open_cents] == [
                cents_of(want[k]) for k in ("issued", "adjustments", "billed", "final", "open")
            ], (r, want)


def _identity_holds(frame: pd.DataFrame, lines: pd.DataFrame) -> bool:
    later = lines.groupby(["account_id", "for_month", "plan"])["amount_cents"].sum()
    later.index = later.index.set_names(["account_id", "month", "plan"])
    f = frame.set_index(["account_id", "month", "plan"])
    total = f["issued_cents"] + later.reindex(f.index).fillna(0).astype("int64") + f["open_cents"]
    return bool((total == f["final_cents"]).all())


class TestOnTheDemo:
    def test_issued_plus_adjustments_plus_open_is_final(self, demo_wh: Warehouse) -> None:
        from outcome_pricing.pricing import example_plans

        inv = invoices(demo_wh, example_plans(), Definition.preset("zendesk-ar"))
        assert _identity_holds(inv.frame, inv.lines)
        assert (inv.lines["amount_cents"] != 0).any()  # the demo has late outcomes and clawbacks

    def test_final_is_the_backtest_revenue(self, demo_wh: Warehouse) -> None:
        from outcome_pricing.pricing import example_plans

        d = Definition.preset("intercom-fin-2026")
        result = invoices(demo_wh, example_plans(), d)
        inv = result.frame
        assert result.skipped  # the example plans include a commitment: listed, not rated
        bt = backtest(demo_wh, example_plans(), d).frame.assign(plan=lambda f: f["plan"].astype(str))
        bt = bt[bt["plan"].isin(result.plans)]
        both = inv.merge(bt, on=["account_id", "month", "plan"], validate="one_to_one")
        assert len(both) == len(inv) == len(bt)
        assert (both["final_cents"] == both["revenue_cents"]).all()

    def test_one_account_is_the_slice_of_all(self, demo_wh: Warehouse) -> None:
        from outcome_pricing.pricing import example_plans

        d = Definition.preset("zendesk-ar")
        every = invoices(demo_wh, example_plans(), d, plan="per-outcome").frame
        account = str(every["account_id"].iloc[0])
        one = invoices(demo_wh, example_plans(), d, plan="per-outcome", account=account).frame
        pd.testing.assert_frame_equal(one, every[every["account_id"] == account].reset_index(drop=True))


class TestRefusals:
    def test_a_plan_with_a_commitment_is_refused_by_name(self, fresh_wh: Warehouse) -> None:
        plan = Plan("prepaid", charges=(Charge(Metric.OUTCOMES, price=Decimal(1)),),
                    commitment=Commitment(Decimal(100), 3))
        load_tasks(fresh_wh, [{}])
        with pytest.raises(ConfigError, match="prepaid"):
            invoices(fresh_wh, PlanSet((plan,)), Definition())


class TestStatementsAsIssued:
    @pytest.mark.slow
    def test_they_add_up_to_the_invoices(self, demo_wh: Warehouse) -> None:
        from outcome_pricing.pricing import example_plans
        from outcome_pricing.pricing.issued import issued_statement

        d, plans = Definition.preset("zendesk-ar"), example_plans()
        inv = invoices(demo_wh, plans, d, plan="outcome-ladder")
        moved = inv.lines[inv.lines["amount_cents"] != 0].head(3)
        quiet = inv.frame.head(1)[["account_id", "month"]]
        for row in pd.concat([moved[["account_id", "month"]], quiet]).itertuples():
            s = issued_statement(demo_wh, plans, "outcome-ladder", d, row.account_id, row.month)
            want = inv.frame[(inv.frame["account_id"] == row.account_id) & (inv.frame["month"] == row.month)].iloc[0]
            assert [cents_of(s.own_total), cents_of(s.adjustments_total), cents_of(s.total)] == [
                want["issued_cents"], want["adjustments_cents"], want["billed_cents"]]
            assert "STATEMENT AS ISSUED" in s.to_text() and s.to_csv() and s.to_xlsx()[:2] == b"PK"

    def test_a_late_outcome_and_a_clawback_name_their_tasks(self, fresh_wh: Warehouse) -> None:
        from outcome_pricing.pricing.issued import issued_statement

        jan_end = dt.datetime(2025, 1, 31, 23, 30)
        load_tasks(fresh_wh, [
            # quiet for a day, closed in January's last hour: billed on February's statement
            {"task_id": "LATE", "customer_confirmed": False, "quiet_hours": 30.0,
             "created_at": jan_end, "closed_at": jan_end},
            # confirmed, but the customer came back on 2 February: clawed back on February's
            {"task_id": "BACK", "requester_id": "R2", "created_at": jan_end, "closed_at": jan_end},
            {"task_id": "AGAIN", "requester_id": "R2", "created_at": dt.datetime(2025, 2, 2),
             "closed_at": dt.datetime(2025, 2, 2, 1)},
        ])
        d = Definition(silence_hours=24, reopen_window_hours=72)
        plan = Plan("flat", charges=(Charge(Metric.OUTCOMES, price=Decimal("2.00")),))
        s = issued_statement(fresh_wh, PlanSet((plan,)), "flat", d, "A1", "2025-02")
        assert [(a.for_month, a.was, a.now) for a in s.adjustments] == [("2025-01", Decimal("2.00"), Decimal("2.00"))]
        assert sorted(zip(s.moved["task_id"], s.moved["change"], strict=True)) == [
            ("BACK", "clawback (reopened)"), ("LATE", "late outcome")]
        jan = issued_statement(fresh_wh, PlanSet((plan,)), "flat", d, "A1", "2025-01")
        assert dict(zip(jan.base.tasks["task_id"], jan.base.tasks["reason"], strict=True)) == {
            "LATE": "pending", "BACK": "confirmed"}


class TestTheCommand:
    def _run(self, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from outcome_pricing.cli import main; main()", "--db", str(db),
                               "invoices", *args], capture_output=True, text=True, check=False)

    @pytest.mark.slow
    def test_json_keys_and_refusals(self, demo_db_copy: Path) -> None:
        ok = self._run(demo_db_copy, "--definition", "zendesk-ar", "--plan", "per-outcome", "--format", "json")
        assert ok.returncode == 0, ok.stderr
        rows = json.loads(ok.stdout)
        assert set(rows[0]) == {"account_id", "month", "plan", "issued", "adjustments", "billed", "final", "open"}
        assert all(isinstance(r["issued"], float) and len(r["month"]) == 7 for r in rows)
        unknown = self._run(demo_db_copy, "--definition", "zendesk-ar", "--plan", "nope")
        assert unknown.returncode == 2 and "nope" in unknown.stderr
        spans = self._run(demo_db_copy, "--definition", "zendesk-ar", "--plan", "committed-rollover")
        assert spans.returncode == 2 and "commitment" in spans.stderr and not spans.stdout
