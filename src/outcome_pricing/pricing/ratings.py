"""rating(M, T): month M's whole bill with the outcomes known at a close T (DESIGN section 8).

The close of month N is T(N) = 00:00 UTC on the first day of N+1 plus the plan's
`close_lag_days`. A month's outcomes change at few closes (a silence elapsing, a
reopen, a dispute decided), so each month is rated only at its own close, at each
later close where its outcomes changed, and in hindsight:

* hindsight units per account-month come from the cube (`rules.unit_counts`, with
  accepted disputes applied), exactly the backtest's;
* the tasks that can still change after their close (`rules.knowledge.billable_steps`:
  those closing within the silence or reopen window before it, and disputed ones) are
  evaluated at task level; units at close N = hindsight - their hindsight part + their
  part at N;
* each (account, M, close) is rated with the backtest's exact integer-cent path on the
  month's own usage with those units (re-rating: tiers, minimums and caps honoured).

Close indexes count months since year 0 (`knowledge.month_index`); `INF` is hindsight.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.money import floats_to_micro
from outcome_pricing.pricing.backtest import backtest_metrics
from outcome_pricing.pricing.metrics import KEYS
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import Metric, Plan

if TYPE_CHECKING:
    from outcome_pricing.rules import Definition

INF = 10**9  # the close index of hindsight (T = infinity)


def refusal(plan: Plan) -> str | None:
    """Why `invoices` cannot rate this plan month by month, or None.

    A commitment or a guarantee spans months (DESIGN 8: refused until a later contract
    defines them); a price by dimension or an audit settlement would need the outcomes
    per dimension, or the audits, as known at every close (not built yet).
    """
    if getattr(plan, "commitment", None) is not None:
        return f"plan {plan.name!r} has a prepaid commitment, which spans months"
    deal = getattr(plan, "deal", None)
    if deal is not None and getattr(deal, "guarantee", None) is not None:
        return f"plan {plan.name!r} has a guarantee, which spans months"
    if deal is not None and getattr(deal, "spans_months", False):  # DESIGN 11: go-live start, free months
        return f"plan {plan.name!r} starts charging at go-live or after free months, which depends on other months"
    if any(c.metric is Metric.OUTCOMES and getattr(c, "by", None) is not None for c in plan.charges):
        return f"plan {plan.name!r} prices outcomes by a dimension"
    if any(getattr(c, "settlement_key", None) is not None for c in plan.charges):
        return f"plan {plan.name!r} settles outcomes against audits"
    return None


def check_plans(plans: Sequence[Plan]) -> None:
    """ConfigError naming every plan `invoices` cannot rate (nothing is computed)."""
    reasons = [r for r in (refusal(p) for p in plans) if r is not None]
    if reasons:
        raise ConfigError(
            "Invoices as issued cannot be made: " + "; ".join(reasons) + ". A bill that spans "
            "months is not defined by the invoice contract yet (DESIGN section 8): pick other plans "
            "with --plan, or remove these from the plans file."
        )


def close_points(metrics: pd.DataFrame, hindsight: pd.DataFrame, steps: pd.DataFrame, last: int) -> pd.DataFrame:
    """Units of every account-month at its own close, at each later close (<= `last`) where
    they change, and at INF: account_id, m, n, whole, partial (exact integers).

    `hindsight`: account_id, m, whole_units, partial_tasks; `steps`: billable_steps."""
    base = metrics[KEYS].copy()
    base["m"] = _month_index(base["month"])
    base = base.merge(hindsight[["account_id", "m", "whole_units", "partial_tasks"]], on=["account_id", "m"], how="left")
    base[["whole_units", "partial_tasks"]] = base[["whole_units", "partial_tasks"]].fillna(0).astype("int64")
    late_inf = steps.groupby(["account_id", "m"], as_index=False)[["forever_whole", "forever_partial"]].sum()
    base = base.merge(late_inf, on=["account_id", "m"], how="left")
    base[["forever_whole", "forever_partial"]] = base[["forever_whole", "forever_partial"]].fillna(0).astype("int64")
    # Units of the tasks decided at close (never changing): hindsight minus the late ones' part.
    base["fixed_whole"] = base["whole_units"] - base["forever_whole"]
    base["fixed_partial"] = base["partial_tasks"] - base["forever_partial"]
    own = steps[(steps["n"] > steps["m"]) & (steps["n"] <= last)][["account_id", "m", "n"]]
    points = pd.concat(
        [base[["account_id", "m"]].assign(n=base["m"]), own], ignore_index=True
    ).drop_duplicates()
    merged = pd.concat(
        [points.assign(whole=0, partial=0, point=True),
         steps[["account_id", "m", "n", "whole", "partial"]].assign(point=False)],
        ignore_index=True,
    )
    # Steps before points at the same close: a point sees every change made at its close.
    merged = merged.sort_values(["account_id", "m", "n", "point"], kind="stable", ignore_index=True)
    grouped = merged.groupby(["account_id", "m"], sort=False)
    merged["cum_whole"] = grouped["whole"].cumsum()
    merged["cum_partial"] = grouped["partial"].cumsum()
    at = merged[merged["point"]].merge(
        base[["account_id", "m", "fixed_whole", "fixed_partial"]], on=["account_id", "m"], how="left"
    )
    closes = pd.DataFrame({
        "account_id": at["account_id"], "m": at["m"], "n": at["n"],
        "whole": at["fixed_whole"] + at["cum_whole"], "partial": at["fixed_partial"] + at["cum_partial"],
    })
    final = pd.DataFrame({
        "account_id": base["account_id"], "m": base["m"], "n": INF,
        "whole": base["whole_units"], "partial": base["partial_tasks"],
    })
    out = pd.concat([closes, final], ignore_index=True).astype({"m": "int64", "n": "int64", "whole": "int64", "partial": "int64"})
    return out.sort_values(["account_id", "m", "n"], ignore_index=True)


def _month_index(months: pd.Series) -> pd.Series:
    ts = pd.to_datetime(months)
    return (ts.dt.year * 12 + ts.dt.month - 1).astype("int64")


def rate_points(
    metrics: pd.DataFrame, points: pd.DataFrame, plans: Sequence[Plan], d: Definition, planset: PlanSet
) -> pd.DataFrame:
    """Each point's month rated under each plan, in integer cents: account_id, m, n, plan,
    units (billable outcome units known at that close), units_micro, rating_cents.

    One frame of the month's usage per point (several rows per account-month), priced by the
    backtest's exact path: a row is rated on its own; what is read across an account's rows
    (its first charged month) is the same with repeated months, and the one stage that runs
    along the months (a commitment) is refused before (`refusal`)."""
    rows = metrics.copy()
    rows["m"] = _month_index(rows["month"])
    frame = points.merge(rows, on=["account_id", "m"], how="left", validate="many_to_one")
    # The same float arithmetic as the hindsight metric (rules: whole + partial x credit),
    # so a month with nothing late is rated exactly as the backtest rates it.
    units = frame["whole"].to_numpy(np.float64) + frame["partial"].to_numpy(np.float64) * float(d.partial_credit)
    frame["outcomes_micro"] = floats_to_micro(pd.Series(units, index=frame.index))
    frame["outcomes"] = frame["outcomes_micro"] / 1_000_000
    subset = PlanSet(tuple(plans), planset.costs)
    revenue = backtest_metrics(frame, subset, reference=plans[0].name).frame["revenue_cents"].to_numpy(np.int64)
    k = len(plans)
    return pd.DataFrame({
        "account_id": np.tile(frame["account_id"].to_numpy(dtype=object), k),
        "m": np.tile(frame["m"].to_numpy(np.int64), k),
        "n": np.tile(frame["n"].to_numpy(np.int64), k),
        "plan": np.repeat([p.name for p in plans], len(frame)),
        "units": np.tile(frame["outcomes"].to_numpy(np.float64), k),
        "units_micro": np.tile(frame["outcomes_micro"].to_numpy(np.int64), k),
        "rating_cents": revenue,
    })
