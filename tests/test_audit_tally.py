"""Proof's fast paths against the task-by-task path, on the demo data: the audit tally
(audited tasks counted in SQL) and the sample drawn in SQL.

Every estimate, the judge and the settlement read `audit_tally`; the reference counts the
rows of `audited_tasks` (the rules' `evaluate_tasks` on every audited task) one by one.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcome_pricing.proof.audit import (
    Selection,
    audited_tasks,
    by_account,
    draw_sample,
    estimate,
    judge,
    trend,
)
from outcome_pricing.proof.audit.sample import SampleBy, candidates, largest_remainder, sample_file
from outcome_pricing.proof.audit.settlement import audit_counts
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse

definitions = st.builds(
    Definition,
    assumed_resolution=st.booleans(),
    silence_hours=st.sampled_from([6.0, 24.0, 30.0, 72.0]),
    require_verification=st.booleans(),
    handoff=st.sampled_from(["never", "with_context", "always"]),
    partial_credit=st.sampled_from([0.0, 0.5]),
    reopen_window_hours=st.sampled_from([12.0, 24.0, 72.0]),
    min_csat=st.integers(0, 4),
)


def _reference(wh: Warehouse, d: Definition, selection: Selection) -> dict[str, Any]:
    """Counts from the audited tasks themselves, one row at a time."""
    rows = audited_tasks(wh, d, selection).to_dict("records")
    billable = [r for r in rows if r["billable"]]
    judged = [r for r in rows if bool(r["ai_answered"]) and r["verified"] is not None and not pd.isna(r["verified"])]
    per_reason = Counter(r["reason"] for r in billable)
    bad_reason = Counter(r["reason"] for r in billable if not r["genuine"])
    return {
        "n": len(billable), "x": sum(not r["genuine"] for r in billable),
        "reasons": {k: (per_reason[k], bad_reason[k]) for k in per_reason},
        "se": (sum(bool(r["verified"]) and r["genuine"] for r in judged), sum(r["genuine"] for r in judged)),
        "sp": (sum(not r["verified"] and not r["genuine"] for r in judged), sum(not r["genuine"] for r in judged)),
        "judged": len(judged),
        "accounts": Counter(r["account_id"] for r in billable),
        "cells": Counter((r["account_id"], pd.Timestamp(r["month"])) for r in billable),
        "bad cells": Counter((r["account_id"], pd.Timestamp(r["month"])) for r in billable if not r["genuine"]),
    }


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(d=definitions, pick=st.integers(0, 12), months=st.lists(st.integers(0, 7), max_size=3))
def test_the_tally_counts_what_the_audited_tasks_say(demo_wh: Warehouse, d: Definition, pick: int,
                                                     months: list[int]) -> None:
    accounts = demo_wh.account_ids()
    first = pd.Timestamp(demo_wh.scalar("SELECT min(month) FROM tasks"))
    selection = Selection.of(accounts[pick] if pick < len(accounts) else None,
                             [first + pd.DateOffset(months=m) for m in months])
    ref = _reference(demo_wh, d, selection)

    e = estimate(demo_wh, d, selection)
    assert (e.overall.n, e.overall.x) == (ref["n"], ref["x"])
    assert {s.reason: (s.audited, s.not_genuine) for s in e.by_reason if s.audited} == ref["reasons"]
    j = judge(demo_wh, d, selection)
    assert (j.sensitivity.x, j.sensitivity.n) == ref["se"]
    assert (j.specificity.x, j.specificity.n) == ref["sp"]
    assert j.n == ref["judged"]
    accounts_seen = by_account(demo_wh, d, selection)
    assert {a: n for a, n in zip(accounts_seen["account_id"], accounts_seen["audited"], strict=True) if n} == dict(ref["accounts"])
    months_seen = trend(demo_wh, d, selection)
    assert int(months_seen["audited"].sum()) == ref["n"]
    if not selection.account_id and not selection.months:  # the settlement reads every account-month
        cells = audit_counts(demo_wh, d)
        got = {(a, pd.Timestamp(m)): (int(n), int(x)) for a, m, n, x in cells.itertuples(index=False)}
        assert got == {k: (v, ref["bad cells"][k]) for k, v in ref["cells"].items()}


def _reference_sample(wh: Warehouse, d: Definition, n: int, by: str, seed: int, selection: Selection) -> pd.DataFrame:
    """The draw from the whole pool in pandas: groups in name order, positions from one Generator."""
    pool = candidates(wh, d, selection)
    rng = np.random.default_rng(seed)
    column = SampleBy(by).column
    groups = [("all", pool)] if column is None else sorted(pool.groupby(column), key=lambda g: str(g[0]))
    shares = largest_remainder(n, [len(g) for _, g in groups])
    picked = [frame.iloc[np.sort(rng.choice(len(frame), size=k, replace=False))]
              for (_, frame), k in zip(groups, shares, strict=True) if k]
    drawn = pd.concat(picked, ignore_index=True) if picked else pool.iloc[0:0]
    return sample_file(drawn.sort_values("task_id", ignore_index=True))


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(d=definitions, n=st.integers(1, 400), by=st.sampled_from(["simple", "reason", "account"]),
       seed=st.integers(0, 2**32 - 1), pick=st.integers(0, 15), month=st.integers(-1, 7))
def test_the_sample_drawn_in_sql_is_the_pandas_draw(demo_wh: Warehouse, d: Definition, n: int, by: str, seed: int,
                                                    pick: int, month: int) -> None:
    accounts = demo_wh.account_ids()
    first = pd.Timestamp(demo_wh.scalar("SELECT min(month) FROM tasks"))
    selection = Selection.of(accounts[pick] if pick < len(accounts) else None,
                             [first + pd.DateOffset(months=month)] if month >= 0 else [])
    got = draw_sample(demo_wh, d, n, by, seed, selection)
    want = _reference_sample(demo_wh, d, n, by, seed, selection)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
