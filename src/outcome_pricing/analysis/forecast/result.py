"""What a forecast returns: bands per plan and month, horizon totals, the probability
that one plan beats another, volatility, per-account means, and the JSON form."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from outcome_pricing.analysis.forecast.assumptions import Assumptions
from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.money import round_half_up

PERCENTILES = (10, 50, 90)


def chance_text(p: float | None) -> str:
    """A probability as people read it: "0%" and "100%" only when it is exactly so (a share
    of scenarios); "<1%" and ">99%" at the ends; whole percent between; "—" for none."""
    if p is None or p != p:
        return "—"
    if p <= 0:
        return "0%"
    if p >= 1:
        return "100%"
    if p < 0.005:
        return "<1%"
    if p >= 0.995:
        return ">99%"
    return f"{math.floor(p * 100 + 0.5)}%"  # half up: 0.5% reads 1%, never "0%"


@dataclass(frozen=True)
class ForecastResult:
    """The forecast per plan. Money in dollars (floats: a simulation, not a statement).

    * ``revenue`` / ``margin``: plan, month, p10, p50, p90, mean (portfolio, per month)
    * ``totals``: scenario x plan horizon revenue (for histograms and comparisons)
    * ``prob_beats``: square frame, P(row plan's horizon revenue > column plan's)
    * ``volatility``: per plan: mean, p10, p50, p90 of horizon revenue, cv_horizon
      (sd / mean of horizon revenue), cv_monthly (mean over months of sd / mean),
      downside (1 - p10 / p50), margin_p50 (horizon)
    * ``accounts``: per plan and account, mean horizon revenue and margin
    * ``history``: plan, month, revenue, margin (the backtest, when computed from a warehouse)
    * ``commitments``: per plan with a prepaid commitment, the horizon's breakage (unused
      commitment lost at a period's end, after rollover) and overage (usage billed beyond
      the balance): breakage_mean, breakage_p10/p50/p90, overage_mean, overage_p10/p50/p90
    * ``guarantees``: per plan with a guarantee and account: p_trigger (a window over the
      horizon triggers), expected_credit, p90_credit; ``guarantee_totals`` per plan:
      p_any_trigger, expected_credit, p10_credit, p90_credit (the portfolio). Revenue is
      already net of these credits.
    """

    revenue: pd.DataFrame
    margin: pd.DataFrame
    totals: pd.DataFrame
    prob_beats: pd.DataFrame
    volatility: pd.DataFrame
    accounts: pd.DataFrame
    assumptions: Assumptions
    months: tuple[pd.Timestamp, ...]
    scenarios: int
    seed: int
    reference: str | None = None
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    commitments: pd.DataFrame = field(default_factory=lambda: commitment_frame([], [], []))
    guarantees: pd.DataFrame = field(default_factory=lambda: guarantee_frames([], [], [], [])[0])
    guarantee_totals: pd.DataFrame = field(default_factory=lambda: guarantee_frames([], [], [], [])[1])

    @property
    def plans(self) -> tuple[str, ...]:
        return tuple(self.prob_beats.index)

    def prob(self, plan: str, other: str) -> float:
        """Probability that ``plan`` earns more than ``other`` over the whole horizon."""
        for name in (plan, other):
            if name not in self.prob_beats.index:
                raise ConfigError(f"No plan named {name!r} in this forecast; plans: {', '.join(self.plans)}.")
        return float(self.prob_beats[other].loc[plan])

    def beats_table(self) -> pd.DataFrame:
        """``prob_beats`` ready to show: NaN where a plan meets itself (a plan cannot beat
        itself, so its 0 there is no finding and must not read as "0%")."""
        prob = self.prob_beats
        itself = pd.DataFrame(np.eye(len(prob), dtype=bool), index=prob.index, columns=prob.columns)
        return prob.mask(itself)

    def beats_text(self) -> pd.DataFrame:
        """``beats_table`` as text (chance_text), the diagonal blank: what a table shows."""
        return self.beats_table().map(lambda p: "" if pd.isna(p) else chance_text(float(p)))

    def chance_sentence(self, plan: str, other: str) -> str:
        """The headline: how often ``plan`` earns more than ``other`` over the horizon, in words
        ("none"/"all" of the scenarios when it is exactly so, never a bare "0%")."""
        p = self.prob(plan, other)
        if p <= 0:
            return f"In none of the {self.scenarios:,} scenarios does {plan} earn more than {other}"
        if p >= 1:
            return f"In all {self.scenarios:,} scenarios {plan} earns more than {other}"
        return f"{chance_text(p)} chance that {plan} earns more than {other}"

    def account_changes(self, plan: str, reference: str) -> pd.DataFrame:
        """Per account: mean horizon revenue under ``reference`` and ``plan`` and the change
        (plan - reference), largest gain for the vendor first."""
        self.prob(plan, reference)  # a clear error for an unknown plan
        by = self.accounts.pivot(index="account_id", columns="plan", values="revenue")
        out = pd.DataFrame({"reference_revenue": by[reference], "revenue": by[plan]})
        out["change"] = out["revenue"] - out["reference_revenue"]
        out = out.reset_index().sort_values(["change", "account_id"], ascending=[False, True], ignore_index=True)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: bands per plan (months as YYYY-MM, dollars to the cent), prob_beats, volatility."""

        def bands(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
            out: dict[str, list[dict[str, Any]]] = {}
            for plan, g in frame.groupby("plan", sort=False):
                out[str(plan)] = [
                    {"month": m.strftime("%Y-%m"), "p10": _cents(p10), "p50": _cents(p50), "p90": _cents(p90),
                     "mean": _cents(mean)}
                    for m, p10, p50, p90, mean in zip(g["month"], g["p10"], g["p50"], g["p90"], g["mean"], strict=True)
                ]
            return out

        vol = self.volatility
        commitments = {
            str(r["plan"]): {k: _cents(v) for k, v in r.items() if k != "plan"}
            for r in self.commitments.to_dict("records")
        }
        guarantees = {
            str(r["plan"]): {
                "p_any_trigger": round(float(r["p_any_trigger"]), 4), "expected_credit": _cents(r["expected_credit"]),
                "p10_credit": _cents(r["p10_credit"]), "p90_credit": _cents(r["p90_credit"]),
                "accounts": [
                    {"account_id": str(a["account_id"]), "p_trigger": round(float(a["p_trigger"]), 4),
                     "expected_credit": _cents(a["expected_credit"]), "p90_credit": _cents(a["p90_credit"])}
                    for a in self.guarantees[self.guarantees["plan"] == r["plan"]].to_dict("records")
                ],
            }
            for r in self.guarantee_totals.to_dict("records")
        }
        return {
            "scenarios": self.scenarios,
            "seed": self.seed,
            "months": [m.strftime("%Y-%m") for m in self.months],
            "reference": self.reference,
            "plans": bands(self.revenue),
            "margin": bands(self.margin),
            # null where a plan meets itself (no finding), as the tables leave it blank
            "prob_beats": {
                str(a): {str(b): None if pd.isna(p) else round(float(p), 4) for b, p in row.items()}
                for a, row in self.beats_table().to_dict(orient="index").items()
            },
            "volatility": {
                str(r["plan"]): {
                    "mean": _cents(r["mean"]), "p10": _cents(r["p10"]), "p50": _cents(r["p50"]),
                    "p90": _cents(r["p90"]), "cv_horizon": round(float(r["cv_horizon"]), 4),
                    "cv_monthly": round(float(r["cv_monthly"]), 4), "downside": round(float(r["downside"]), 4),
                    "margin_p50": _cents(r["margin_p50"]),
                }
                for r in vol.to_dict("records")
            },
            "commitments": commitments,
            "guarantees": guarantees,
            "assumptions": {
                "values": {k: round(v, 6) for k, v in self.assumptions.values().items()},
                "sources": dict(self.assumptions.sources),
            },
        }


def _cents(value: float) -> float:
    """A float dollar figure to the cent for JSON (half up); not for statements."""
    return float(round_half_up(Decimal(repr(float(value)))))


def band_frame(plans: Sequence[str], months: Sequence[pd.Timestamp], by_plan: Sequence[np.ndarray]) -> pd.DataFrame:
    """P10/P50/P90 and mean per plan and month from each plan's (scenarios, months) dollars."""
    frames = []
    for name, values in zip(plans, by_plan, strict=True):
        p10, p50, p90 = np.percentile(values, PERCENTILES, axis=0)
        frames.append(pd.DataFrame({
            "plan": name, "month": list(months), "p10": p10, "p50": p50, "p90": p90, "mean": values.mean(axis=0),
        }))
    return pd.concat(frames, ignore_index=True)


def volatility_frame(plans: Sequence[str], revenue: Sequence[np.ndarray], margin: Sequence[np.ndarray]) -> pd.DataFrame:
    """Per plan: the spread of horizon revenue and of each month's (``ForecastResult.volatility``)."""
    rows = []
    for name, rev, mar in zip(plans, revenue, margin, strict=True):
        total = rev.sum(axis=1)
        mean = float(total.mean())
        p10, p50, p90 = (float(x) for x in np.percentile(total, PERCENTILES))
        month_mean = rev.mean(axis=0)
        month_cv = np.divide(rev.std(axis=0), month_mean, out=np.zeros_like(month_mean), where=month_mean > 0)
        rows.append({
            "plan": name, "mean": mean, "p10": p10, "p50": p50, "p90": p90,
            "cv_horizon": float(total.std() / mean) if mean > 0 else 0.0,
            "cv_monthly": float(month_cv.mean()),
            "downside": 1.0 - p10 / p50 if p50 > 0 else 0.0,
            "margin_p50": float(np.percentile(mar.sum(axis=1), 50)),
        })
    return pd.DataFrame(rows)


def prob_beats_frame(plans: Sequence[str], totals: np.ndarray) -> pd.DataFrame:
    """P(row beats column) over the horizon; the same scenarios for all plans (paired)."""
    beats = (totals[:, :, None] > totals[:, None, :]).mean(axis=0)
    return pd.DataFrame(beats, index=list(plans), columns=list(plans))


COMMITMENT_COLUMNS = ("plan", *(f"{m}_{s}" for m in ("breakage", "overage") for s in ("mean", "p10", "p50", "p90")))


def commitment_frame(plans: Sequence[str], breakage: Sequence[np.ndarray], overage: Sequence[np.ndarray]) -> pd.DataFrame:
    """Per plan: mean and P10/P50/P90 of the horizon's breakage and overage (each (scenarios,) dollars)."""
    rows = []
    for name, brk, over in zip(plans, breakage, overage, strict=True):
        row: dict[str, Any] = {"plan": name}
        for measure, values in (("breakage", brk), ("overage", over)):
            row[f"{measure}_mean"] = float(values.mean())
            for q, v in zip(PERCENTILES, np.percentile(values, PERCENTILES), strict=True):
                row[f"{measure}_p{q}"] = float(v)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COMMITMENT_COLUMNS))


def guarantee_frames(
    plans: Sequence[str], account_ids: Sequence[str], credited: Sequence[np.ndarray], triggered: Sequence[np.ndarray]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per plan and account, and per plan for the portfolio: the chance a guarantee triggers over
    the horizon and its credits (each (scenarios, accounts): dollars, and any window triggered)."""
    accounts, totals = [], []
    for name, credit, hit in zip(plans, credited, triggered, strict=True):
        accounts.append(pd.DataFrame({
            "plan": name, "account_id": list(account_ids), "p_trigger": hit.mean(axis=0),
            "expected_credit": credit.mean(axis=0), "p90_credit": np.percentile(credit, 90, axis=0),
        }))
        total = credit.sum(axis=1)
        p10, p90 = np.percentile(total, (10, 90))
        totals.append({"plan": name, "p_any_trigger": float(hit.any(axis=1).mean()), "expected_credit": float(total.mean()),
                       "p10_credit": float(p10), "p90_credit": float(p90)})
    account_columns = ["plan", "account_id", "p_trigger", "expected_credit", "p90_credit"]
    by_account = pd.concat(accounts, ignore_index=True) if accounts else pd.DataFrame(columns=account_columns)
    return by_account, pd.DataFrame(totals, columns=["plan", "p_any_trigger", "expected_credit", "p10_credit",
                                                      "p90_credit"])
