"""Invoices as issued (DESIGN section 8): what each statement said at its close, what was
corrected later and what is still open, per account, month and plan, exact to the cent.

For month N of one account under one plan (rating(M, T) from `ratings.py`):
`issued` = rating(N, T(N)); `adjustments` = the sum of the adjustment lines on N's
statement, one per earlier month M whose rating changed: rating(M, T(N)) -
rating(M, T(N-1)); `billed` = issued + adjustments; `final` = the hindsight rating of
N (the backtest's revenue); `open` = final - rating(N, T(L)), L the last month. So
issued + the adjustments for N issued later + open = final, for every month.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from outcome_pricing.kit.money import cents_to_float
from outcome_pricing.pricing.metrics import account_month_metrics
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.ratings import INF, check_plans, close_points, rate_points, refusal
from outcome_pricing.pricing.terms import Plan

if TYPE_CHECKING:
    from outcome_pricing.rules import Definition
    from outcome_pricing.warehouse.handle import Warehouse

MONEY = ("issued", "adjustments", "billed", "final", "open")
INVOICE_COLUMNS = ["account_id", "month", "plan", *MONEY]


def index_months(index: pd.Series | np.ndarray) -> pd.Series:
    """Month indexes (months since year 0) as first-of-month timestamps."""
    since_1970 = np.asarray(index, dtype=np.int64) - 1970 * 12
    return pd.Series(since_1970.astype("datetime64[M]").astype("datetime64[ns]"))


@dataclass(frozen=True)
class Invoices:
    """Every statement as issued, for some plans under one definition.

    ``frame``: account_id, month, plan, issued, adjustments, billed, final, open (dollars
    from exact cents) and the same in ``*_cents``. ``lines``: the adjustment lines, one
    per (statement month, earlier month): account_id, month (the statement's), for_month,
    plan, units_change, amount_cents, amount. ``ratings``: account_id, month, close
    (NaT = hindsight), plan, units (and units_micro, exact), rating_cents.
    """

    frame: pd.DataFrame
    lines: pd.DataFrame
    ratings: pd.DataFrame
    plans: tuple[str, ...]
    definition_name: str
    definition_version: str
    last_month: pd.Timestamp
    skipped: tuple[str, ...] = ()  # plans not rated, and why (they span months)

    def records(self) -> pd.DataFrame:
        """The public columns of DESIGN 6 (account_id, month, plan, issued, ..., open)."""
        return self.frame[INVOICE_COLUMNS]

    def by_month(self, plan: str | None = None) -> pd.DataFrame:
        """Per month and plan, summed over accounts: issued, adjustments, billed, final, open,
        late (positive adjustment lines on that month's statements) and clawback (negative)."""
        frame = self.frame if plan is None else self.frame[self.frame["plan"] == plan]
        cents = frame.groupby(["month", "plan"], sort=True)[[f"{k}_cents" for k in MONEY]].sum()
        lines = self.lines if plan is None else self.lines[self.lines["plan"] == plan]
        signed = lines.assign(
            late_cents=lines["amount_cents"].clip(lower=0), clawback_cents=(-lines["amount_cents"]).clip(lower=0)
        ).groupby(["month", "plan"])[["late_cents", "clawback_cents"]].sum()
        cents = cents.join(signed, how="left").fillna(0).astype("int64").reset_index()
        for key in (*MONEY, "late", "clawback"):  # dollars for charts, from exact cents
            cents[key] = cents_to_float(cents[f"{key}_cents"].to_numpy())
        return cents

    def summary(self) -> pd.DataFrame:
        """Per plan over the history: issued, late, clawback, open, final and the late and
        clawback rates (of the amount issued): which plans bill late or claw back most."""
        m = self.by_month()
        out = m.groupby("plan", sort=False)[["issued_cents", "late_cents", "clawback_cents", "open_cents",
                                              "final_cents"]].sum()
        out = out.reindex(list(self.plans)).fillna(0).astype("int64").reset_index()
        for key in ("issued", "late", "clawback", "open", "final"):
            out[key] = cents_to_float(out[f"{key}_cents"].to_numpy())
        issued = out["issued_cents"].astype(float).where(out["issued_cents"] != 0)
        out["late_rate"] = out["late_cents"] / issued
        out["clawback_rate"] = out["clawback_cents"] / issued
        out["definition"] = self.definition_name
        out["definition_version"] = self.definition_version
        return out


def invoices(
    wh: Warehouse, planset: PlanSet, d: Definition, plan: str | None = None, account: str | None = None
) -> Invoices:
    """Statements as issued at each close for ``plan`` under ``d``, for every account (or
    one). A plan that spans months (a commitment, a guarantee) is refused (ConfigError) when
    named; without ``plan``, every plan that can be rated is, and the others are listed in
    ``skipped``."""
    from outcome_pricing.rules.knowledge import billable_steps

    plans = [planset.plan(plan)] if plan is not None else [p for p in planset.plans if refusal(p) is None]
    skipped = tuple(r for r in (refusal(p) for p in planset.plans) if r is not None) if plan is None else ()
    check_plans(plans or list(planset.plans))
    if account is not None:
        wh.require_account(str(account), "so there are no invoices to show")
    metrics = account_month_metrics(wh, d, planset.costs, plans)
    hindsight = _hindsight_units(wh, d, metrics)
    if account is not None:
        metrics = metrics[metrics["account_id"] == str(account)].reset_index(drop=True)
        hindsight = hindsight[hindsight["account_id"] == str(account)]
    last = int(_month_index(metrics["month"]).max()) if len(metrics) else 0
    rated = []
    for lag in sorted({p.close_lag_days for p in plans}):
        steps = billable_steps(wh, d, lag)
        if account is not None:
            steps = steps[steps["account_id"] == str(account)]
        points = close_points(metrics, hindsight, steps, last)
        rated.append(rate_points(metrics, points, [p for p in plans if p.close_lag_days == lag], d, planset))
    ratings = pd.concat(rated, ignore_index=True)
    return replace(_summarise(ratings, plans, last, d), skipped=skipped)


def _hindsight_units(wh: Warehouse, d: Definition, metrics: pd.DataFrame) -> pd.DataFrame:
    """Hindsight whole units and partial-credit handoffs per account-month (exact integers).

    Without partial credit the metric already is the whole units (in millionths), so the
    rules are not evaluated a second time."""
    from outcome_pricing.rules import unit_counts

    if float(d.partial_credit) == 0:
        out = pd.DataFrame({
            "account_id": metrics["account_id"], "month": metrics["month"],
            "whole_units": metrics["outcomes_micro"].to_numpy(np.int64) // 1_000_000, "partial_tasks": 0,
        })
    else:
        out = unit_counts(wh, d)
    out["m"] = _month_index(out["month"])
    return out


def _month_index(months: pd.Series) -> pd.Series:
    ts = pd.to_datetime(months)
    return (ts.dt.year * 12 + ts.dt.month - 1).astype("int64")


def _summarise(ratings: pd.DataFrame, plans: list[Plan], last: int, d: Definition) -> Invoices:
    key = ["plan", "account_id", "m"]
    r = ratings.sort_values([*key, "n"], ignore_index=True)
    issued = r[r["n"] == r["m"]].set_index(key)["rating_cents"]
    final = r[r["n"] == INF].set_index(key)["rating_cents"]
    known = r[r["n"] <= last]
    at_last = known.groupby(key, sort=False)["rating_cents"].last()
    grouped = known.groupby(key, sort=False)
    change = known.assign(
        amount_cents=grouped["rating_cents"].diff(), units_change=grouped["units"].diff()
    )
    lines = change[change["n"] > change["m"]]
    lines = pd.DataFrame({
        "account_id": lines["account_id"].to_numpy(dtype=object),
        "month": index_months(lines["n"]).to_numpy(),
        "for_month": index_months(lines["m"]).to_numpy(),
        "plan": lines["plan"].to_numpy(dtype=object),
        "units_change": lines["units_change"].to_numpy(np.float64),
        "amount_cents": lines["amount_cents"].to_numpy(np.int64),
    })
    lines["amount"] = cents_to_float(lines["amount_cents"].to_numpy())
    adjustments = lines.assign(m=_month_index(lines["month"])).groupby(key)["amount_cents"].sum()
    frame = pd.DataFrame({"issued_cents": issued, "final_cents": final, "last_cents": at_last})
    frame["adjustments_cents"] = adjustments.reindex(frame.index).fillna(0).astype("int64")
    frame = frame.reset_index()
    frame["billed_cents"] = frame["issued_cents"] + frame["adjustments_cents"]
    frame["open_cents"] = frame["final_cents"] - frame["last_cents"]
    frame["month"] = index_months(frame["m"]).to_numpy()
    order = {p.name: i for i, p in enumerate(plans)}
    frame = frame.assign(_o=frame["plan"].map(order)).sort_values(["_o", "account_id", "month"], ignore_index=True)
    for k in MONEY:
        frame[k] = cents_to_float(frame[f"{k}_cents"].to_numpy())
    frame = frame[[*INVOICE_COLUMNS, *(f"{k}_cents" for k in MONEY)]]
    shown = ratings.assign(
        month=index_months(ratings["m"]).to_numpy(),
        close=index_months(ratings["n"].where(ratings["n"] != INF, 0)).where(ratings["n"] != INF).to_numpy(),
    )[["account_id", "month", "close", "plan", "units", "units_micro", "rating_cents"]]
    return Invoices(
        frame=frame, lines=lines.sort_values(["plan", "account_id", "month", "for_month"], ignore_index=True),
        ratings=shown, plans=tuple(p.name for p in plans), definition_name=d.name,
        definition_version=d.version, last_month=index_months(pd.Series([last])).iloc[0],
    )


def invoice_records(inv: Invoices) -> list[dict[str, Any]]:
    """JSON rows with the keys of DESIGN 6: numbers as numbers, months as YYYY-MM."""
    out = inv.records().copy()
    out["month"] = pd.to_datetime(out["month"]).dt.strftime("%Y-%m")
    return [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in out.to_dict(orient="records")]


def rates_by_definition(
    wh: Warehouse, planset: PlanSet, definitions: Sequence[Definition], plan: str
) -> pd.DataFrame:
    """Which definitions bill late or claw back most under one plan: one `Invoices.summary`
    row per definition (definition, definition_version, issued, late, clawback, open, final,
    late_rate, clawback_rate)."""
    from outcome_pricing.rules.knowledge import billable_steps_many

    # Every definition's late tasks in one scan; `invoices` then finds its steps kept.
    billable_steps_many(wh, definitions, planset.plan(plan).close_lag_days)
    rows = [invoices(wh, planset, d, plan=plan).summary() for d in definitions]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def rateable_plans(planset: PlanSet) -> tuple[str, ...]:
    """The plans `invoices` can rate (the others span months)."""
    return tuple(p.name for p in planset.plans if refusal(p) is None)
