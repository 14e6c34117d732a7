"""The usage facts built with the cube against the scan of the tasks they replace: the same
usage per account, month and tier, the same savings inputs, the same go-live months; read only
while current."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcome_pricing.pricing import metrics, usage
from outcome_pricing.pricing.deals import savings, schedule
from outcome_pricing.proof import impact
from outcome_pricing.warehouse import usage_facts
from outcome_pricing.warehouse.handle import Warehouse
from tests.rows import load_tasks

TASK = st.fixed_dictionaries({
    "account_id": st.sampled_from(["A1", "A2", "A3"]),
    "topic": st.sampled_from(["billing", "login", None]),
    "model_tier": st.sampled_from(["standard", "premium", None]),
    "ai_enabled": st.booleans(),
    "human_seconds": st.one_of(st.none(), st.floats(0, 5000, allow_nan=False), st.integers(0, 900).map(float)),
    "tokens_in": st.one_of(st.none(), st.integers(0, 10**6)),
    "tokens_out": st.one_of(st.none(), st.integers(0, 10**6)),
    "day": st.integers(0, 120),
})


def rows_of(drawn: list[dict[str, object]]) -> list[dict[str, object]]:
    out = []
    for i, t in enumerate(drawn):
        created = dt.datetime(2025, 1, 1, 9) + dt.timedelta(days=int(t.pop("day")))  # type: ignore[call-overload]
        out.append({**t, "task_id": f"T{i}", "created_at": created, "closed_at": created + dt.timedelta(hours=1)})
    return out


def scanned(wh: Warehouse, sql: str) -> pd.DataFrame:
    keys = [c for c in ("account_id", "month", "model_tier", "topic") if c in sql.split("FROM")[0]]
    return wh.query_df(sql).sort_values(keys, ignore_index=True, na_position="first")


@pytest.mark.slow  # an ingest or two per example
@given(st.lists(TASK, min_size=1, max_size=40), st.lists(TASK, max_size=10))
@settings(max_examples=10, deadline=None)
def test_facts_give_the_sums_the_task_scans_give(first, second):
    with Warehouse.in_memory() as wh:
        load_tasks(wh, rows_of(first))
        if second:  # a second ingest rebuilds them with the cube
            load_tasks(wh, [{**r, "task_id": f"S{r['task_id']}"} for r in rows_of(second)])
        assert usage.facts_table(wh) == usage_facts.TABLE
        table = usage_facts.TABLE
        for plain, from_facts in ((metrics.USAGE_SQL, metrics.USAGE_FACTS_SQL),
                                  (savings.BASELINE_SQL, savings.BASELINE_FACTS_SQL),
                                  (savings.AI_SQL, savings.AI_FACTS_SQL)):
            pd.testing.assert_frame_equal(scanned(wh, from_facts.format(facts=table)), scanned(wh, plain),
                                          check_dtype=False)
        # Each account's go-live month and task count: the deal terms' and the AI impact page's.
        by_account = {"by": "account_id", "ignore_index": True}
        every_task = wh.query_df(f"SELECT * FROM {usage.go_live_from(None)} ORDER BY account_id")
        pd.testing.assert_frame_equal(
            wh.query_df(f"SELECT * FROM {usage.go_live_from(table)} ORDER BY account_id"), every_task,
            check_dtype=False)
        # ... and as the AI impact page and the deal terms read them (the current facts)
        pd.testing.assert_frame_equal(impact.go_live_months(wh), every_task)
        pd.testing.assert_frame_equal(
            schedule.go_live_frame(wh).sort_values(**by_account), every_task[["account_id", "go_live_month"]].astype(
                {"go_live_month": "datetime64[us]"}), check_dtype=False)


def test_facts_are_not_read_once_the_tasks_change_around_the_cube():
    with Warehouse.in_memory() as wh:
        load_tasks(wh, [{"task_id": "T1", "human_seconds": 60.0}])
        assert usage.facts_table(wh) == usage_facts.TABLE
        with wh.transaction() as cur:  # a write that skips apply_staged: the cube goes stale
            cur.execute("DELETE FROM tasks")
        assert usage.facts_table(wh) is None
        assert metrics.usage_by_tier(wh).empty  # and the usage comes from the scan
        assert impact.go_live_months(wh).empty


def test_a_scoped_view_reads_only_its_accounts_facts():
    with Warehouse.in_memory() as wh:
        load_tasks(wh, [{"task_id": "T1", "account_id": "A1", "human_seconds": 60.0},
                        {"task_id": "T2", "account_id": "A2", "human_seconds": 120.0}])
        scoped = wh.scoped(["A2"])
        assert usage.facts_table(scoped) == usage_facts.TABLE
        got = metrics.usage_by_tier(scoped)
        assert list(got["account_id"]) == ["A2"] and list(got["human_ms"]) == [120_000]
