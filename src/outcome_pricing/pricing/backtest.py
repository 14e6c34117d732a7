"""Every plan on the same history: the backtest, its portfolio views and seat erosion.

Plans are priced on all account-months at once in exact integer cents
(``charges.plan_cents``), the same cents a statement shows; the account-month
metrics come from ``metrics.account_month_metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.money import cents_to_float
from outcome_pricing.pricing.charges import seats_needed_array
from outcome_pricing.pricing.deals.billing import priced
from outcome_pricing.pricing.metrics import (
    METRIC_COLUMNS,
    account_month_metrics,
    require_metrics_for,
    usage_arrays,
)
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import DEFAULT_HOURS_PER_SEAT

if TYPE_CHECKING:
    from outcome_pricing.rules import Definition
    from outcome_pricing.warehouse.handle import Warehouse


@dataclass(frozen=True)
class Backtest:
    """N plans on the same history, per account and month.

    ``frame``: account_id, month, plan, revenue, cogs, margin, margin_pct,
    usage, cap_credit, platform_fee, minimum_true_up, commitment, drawdown
    (dollars, from exact cents; a commitment's line and its drawdown credit),
    breakage (commitment expired at a period's end: reported, not in revenue;
    0 except in a period's last month), revenue_cents, cogs_cents, and the metrics used. ``metrics``: the
    account_month_metrics frame. ``reference``: the plan changes are measured
    against (default: the first plan).
    """

    frame: pd.DataFrame
    metrics: pd.DataFrame
    plans: tuple[str, ...]
    reference: str
    definition_name: str
    definition_version: str

    def portfolio(self) -> pd.DataFrame:
        """Per month and plan: revenue, cogs, margin, margin_pct, accounts billed."""
        g = self.frame.groupby(["month", "plan"], observed=True, sort=True)
        out = g[["revenue", "cogs", "margin"]].sum()
        out["accounts"] = g["account_id"].nunique()
        out = out.reset_index()
        out["margin_pct"] = _ratio(out["margin"], out["revenue"])
        return out

    def totals(self) -> pd.DataFrame:
        """Per plan over the whole history: revenue, cogs, margin, margin_pct, change vs reference."""
        out = self.frame.groupby("plan", observed=True, sort=False)[["revenue", "cogs", "margin"]].sum()
        out = out.reindex(list(self.plans)).reset_index()
        out["margin_pct"] = _ratio(out["margin"], out["revenue"])
        ref = float(out.loc[out["plan"] == self.reference, "revenue"].sum())
        out["change_vs_reference"] = out["revenue"] - ref
        return out

    def account_changes(self, plan: str, reference: str | None = None) -> pd.DataFrame:
        """Per account over the history: revenue under ``reference`` and ``plan``, and the change.

        change > 0: the account would pay more under ``plan`` (the vendor
        gains); change < 0: it would pay less. Sorted by change, largest first.
        """
        reference = reference or self.reference
        self._check_plan(plan)
        self._check_plan(reference)
        by = self.frame.groupby(["account_id", "plan"], observed=True)["revenue"].sum().unstack("plan")
        out = pd.DataFrame(
            {"reference_revenue": by[reference], "revenue": by[plan]}
        ).reset_index()
        names = self.metrics.drop_duplicates("account_id").set_index("account_id")[["name", "segment"]]
        out = out.join(names, on="account_id")
        out["change"] = out["revenue"] - out["reference_revenue"]
        out["change_pct"] = _ratio(out["change"], out["reference_revenue"])
        out["plan"], out["reference"] = plan, reference
        return out.sort_values(["change", "account_id"], ascending=[False, True], ignore_index=True)

    def winners_losers(self, plan: str, n: int = 10, reference: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The ``n`` accounts that would pay most more, and most less, under ``plan`` than the reference."""
        changes = self.account_changes(plan, reference)
        more = changes[changes["change"] > 0].head(n)
        less = changes[changes["change"] < 0].sort_values("change", kind="stable").head(n)
        return more.reset_index(drop=True), less.reset_index(drop=True)

    def seat_erosion(self, by: str = "month", hours_per_seat: Decimal = DEFAULT_HOURS_PER_SEAT) -> pd.DataFrame:
        """Contracted seats against seats needed (human hours / hours_per_seat), and the
        seat revenue at risk: (seats - seats_needed, if positive) x the account's seat price.

        ``by`` = "month" (portfolio) or "account" (each account's latest month first).
        """
        m = self.metrics
        needed = seats_needed_array(m["human_ms"].to_numpy(), hours_per_seat)
        df = pd.DataFrame(
            {
                "account_id": m["account_id"],
                "month": m["month"],
                "seats": m["seats"],
                "seats_needed": needed,
                "seat_revenue": m["seats"] * m["seat_price"],
                "seat_revenue_at_risk": np.maximum(m["seats"] - needed, 0) * m["seat_price"],
            }
        )
        if by == "account":
            return df.sort_values(["account_id", "month"], ascending=[True, False], ignore_index=True)
        if by != "month":
            raise ConfigError(f"seat_erosion(by={by!r}): use by='month' or by='account'.")
        out = df.groupby("month", sort=True)[
            ["seats", "seats_needed", "seat_revenue", "seat_revenue_at_risk"]
        ].sum()
        return out.reset_index()

    def _check_plan(self, name: str) -> None:
        if name not in self.plans:
            raise ConfigError(f"There is no plan named {name!r} in this backtest. Plans: {', '.join(self.plans)}.")


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.astype(float)
    return (num / den.where(den != 0)).astype(float)


def _stack(per_plan: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.asarray(a, dtype=np.int64) for a in per_plan])


def backtest_metrics(
    metrics: pd.DataFrame,
    planset: PlanSet,
    reference: str | None = None,
    definition_name: str = "",
    definition_version: str = "",
) -> Backtest:
    """Price every plan of ``planset`` on an account_month_metrics frame (no warehouse needed)."""
    reference = reference or planset.default_reference()
    planset.plan(reference)  # a clear error for an unknown reference
    require_metrics_for(metrics, planset.plans)
    usage = usage_arrays(metrics)
    deals = [priced(p, metrics, usage) for p in planset.plans]  # DESIGN 11 stages included
    bills = [d.bill for d in deals]
    n, k = len(metrics), len(bills)
    revenue = _stack([d.total for d in deals])
    implementation = _stack([d.implementation for d in deals])  # a funded deployment is COGS
    cogs = np.tile(metrics["cogs_cents"].to_numpy(np.int64), k) + implementation
    codes = np.repeat(np.arange(k), n)
    # One frame built from whole arrays: far cheaper than one frame per plan then concat.
    columns: dict[str, Any] = {
        "account_id": np.tile(metrics["account_id"].to_numpy(dtype=object), k),
        "month": np.tile(metrics["month"].to_numpy(), k),
        "plan": pd.Categorical.from_codes(codes, categories=pd.Index(planset.names), ordered=True),
        "revenue": cents_to_float(revenue),
        "cogs": cents_to_float(cogs),
        "margin": cents_to_float(revenue - cogs),
        "margin_pct": _ratio_array(revenue - cogs, revenue),
        "usage": cents_to_float(_stack([b.usage for b in bills])),
        "cap_credit": cents_to_float(_stack([b.cap_credit for b in bills])),
        "platform_fee": cents_to_float(_stack([b.platform_fee for b in bills])),
        "minimum_true_up": cents_to_float(_stack([b.minimum_true_up for b in bills])),
        "commitment": cents_to_float(_stack([b.commitment for b in bills])),
        "drawdown": cents_to_float(_stack([b.drawdown for b in bills])),
        "breakage": cents_to_float(_stack([b.breakage for b in bills])),
        "guarantee_credit": cents_to_float(_stack([d.guarantee_credit for d in deals])),
        "implementation": cents_to_float(implementation),
        "revenue_cents": revenue,
        "cogs_cents": cogs,
    }
    for col in METRIC_COLUMNS:
        columns[col] = np.tile(metrics[col].to_numpy(), k)
    frame = pd.DataFrame(columns)
    return Backtest(frame, metrics, planset.names, reference, definition_name, definition_version)


def _ratio_array(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1), np.nan)


def backtest(wh: Warehouse, planset: PlanSet, d: Definition, reference: str | None = None) -> Backtest:
    """Every plan of ``planset`` over the warehouse's history under definition ``d``.

    Revenue per account-month equals the total of ``statement(...)`` for the
    same account, month and plan, to the cent.
    """
    metrics = account_month_metrics(wh, d, planset.costs, planset.plans)
    return backtest_metrics(metrics, planset, reference, d.name, d.version)
