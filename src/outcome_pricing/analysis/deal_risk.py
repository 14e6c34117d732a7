"""What a deal's shared risk costs the vendor, on the forecast's scenarios (DESIGN 11).

For every plan with a guarantee or a gain-share charge, on the very scenarios
of ``analysis.forecast`` (same seed, same blocks, same volume and resolution
paths: common random numbers):

* per account, the probability that at least one guarantee window over the
  horizon triggers, and the expected and P90 credits;
* a sweep of min_resolution_rate: where the guarantee becomes expensive;
* gain-share revenue bands (P10/P50/P90 of the horizon's charges on savings_usd).

The model on top of the forecast's paths, per scenario, account and window:
the forecast gives expected conversations and outcomes (continuous); a
window's conversations are rounded to a count n and its outcomes are drawn
Binomial(n, rate), the rate being the window's expected outcomes per
conversation (see ``forecast.spans.observed`` for rates above 1, with issue
units). That sampling noise is what makes a guarantee near the account's own
rate trigger about half the time. Windows are phased from the account's first
charged month, as in the backtest; a window that began in the history counts
the history's actual units, conversations and outcome charges
(``forecast.spans``: the forecast nets its revenue of the same credits).
Savings follow outcomes: savings_usd per billable unit over the history
(valued as the plan would) times each scenario's outcomes.

Floats (a simulation, not a statement), seeded like the forecast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from outcome_pricing.analysis.forecast.assumptions import Assumptions
from outcome_pricing.analysis.forecast.paths import Baseline, Usage, block_sizes, draw_paths
from outcome_pricing.analysis.forecast.spans import (
    GuaranteeWindows,
    draw_windows,
    guarantee_windows,
)
from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing.charges import charge_cents_vectorised
from outcome_pricing.pricing.deals.columns import savings_per_outcome
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import Plan

if TYPE_CHECKING:
    from outcome_pricing.rules import Definition
    from outcome_pricing.warehouse.handle import Warehouse

SWEEP = tuple(round(0.30 + 0.05 * i, 2) for i in range(14))  # 0.30 .. 0.95
SAVINGS = "savings_usd"


def is_deal(plan: Plan) -> bool:
    """A plan whose risk this module prices: a guarantee or a charge on savings_usd."""
    return plan.deal.guarantee is not None or any(c.metric.value == SAVINGS for c in plan.charges)


@dataclass(frozen=True)
class PlanRisk:
    """One plan's shared risk over the horizon (dollars, floats).

    ``accounts``: account_id, windows (complete windows ending in the horizon),
    p_trigger, expected_credit, p90_credit, gain_share_mean, gain_share_p10,
    gain_share_p50, gain_share_p90. ``sweep``: min_resolution_rate,
    expected_credit, p90_credit, p_any_trigger (portfolio), accounts_likely
    (accounts with p_trigger >= 0.5), credit_share (expected credits / expected
    outcome charges of the windows). ``portfolio``: p_any_trigger,
    expected_credit, p90_credit, gain_share_p10/p50/p90, outcome_charges.
    """

    plan: str
    accounts: pd.DataFrame
    sweep: pd.DataFrame
    portfolio: dict[str, float]

    def account(self, account_id: str) -> dict[str, float] | None:
        """One account's figures (p_trigger, expected_credit, p90_credit, gain-share bands), if any."""
        rows = self.accounts[self.accounts["account_id"] == account_id]
        if rows.empty:
            return None
        return {str(k): float(v) for k, v in rows.iloc[0].items() if k != "account_id"}

    def expensive_from(self, share: float = 0.05) -> float | None:
        """The lowest swept threshold whose expected credits pass ``share`` of the outcome charges."""
        hit = self.sweep[self.sweep["credit_share"] >= share]
        return float(hit["min_resolution_rate"].min()) if len(hit) else None


@dataclass(frozen=True)
class DealRisk:
    plans: tuple[PlanRisk, ...]
    months: int
    scenarios: int
    seed: int

    def plan(self, name: str) -> PlanRisk:
        for p in self.plans:
            if p.plan == name:
                return p
        names = ", ".join(p.plan for p in self.plans) or "none"
        raise ConfigError(f"No deal risk for plan {name!r}; plans with a guarantee or gain-share: {names}.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "months": self.months, "scenarios": self.scenarios, "seed": self.seed,
            "plans": {
                p.plan: {
                    "portfolio": {k: round(v, 4) for k, v in p.portfolio.items()},
                    "accounts": p.accounts.round(4).to_dict("records"),
                    "sweep": p.sweep.round(4).to_dict("records"),
                }
                for p in self.plans
            },
        }


def _savings_per_unit(plan: Plan, history: pd.DataFrame, account_ids: list[str]) -> np.ndarray:
    """Per account: savings_usd per billable unit over the history, valued as ``plan`` would."""
    per = savings_per_outcome(history, plan.deal.hourly_cost_default)
    return per.reindex(account_ids).fillna(0.0).to_numpy(np.float64)


def deal_risk(
    assumptions: Assumptions,
    planset: PlanSet,
    history: pd.DataFrame,
    months: int = 12,
    scenarios: int = 1000,
    seed: int = 0,
    thresholds: tuple[float, ...] = SWEEP,
) -> DealRisk:
    """The shared risk of every deal plan of ``planset`` on the forecast's scenarios.

    ``history``: the account_month_metrics frame the assumptions came from (with
    the deal columns); ``seed``, ``months`` and ``scenarios`` as the forecast's,
    so the scenarios are the forecast's own.
    """
    if months < 1 or months > 120 or scenarios < 1 or scenarios > 100_000:
        raise ConfigError("Deal risk: months must be 1..120 and scenarios 1..100000.")
    assumptions.check()
    plans = [p for p in planset.plans if is_deal(p)]
    account_ids = assumptions.accounts["account_id"].astype(str).tolist()
    b = Baseline.of(assumptions)
    phases = [guarantee_windows(p, history, account_ids, months) for p in plans]
    per_unit = [_savings_per_unit(p, history, account_ids) for p in plans]
    sweeps = [tuple(sorted({*thresholds, float(p.deal.guarantee.min_resolution_rate)}))
              if p.deal.guarantee is not None else () for p in plans]
    parts: list[list[dict[str, np.ndarray]]] = [[] for _ in plans]
    sizes = block_sizes(scenarios)
    for n, child in zip(sizes, np.random.SeedSequence(seed).spawn(len(sizes)), strict=True):
        paths = draw_paths(assumptions, b, months, n, np.random.default_rng(child))
        noise = np.random.default_rng(child.spawn(1)[0])  # the forecast's guarantee draws (forecast.simulation)
        usage = Usage(assumptions, b, paths, np.ones_like(b.tasks))
        for i, plan in enumerate(plans):
            parts[i].append(_block(plan, usage, b.seat_price, phases[i], per_unit[i], sweeps[i], noise))
    risks = tuple(_summary(p, account_ids, parts[i], sweeps[i]) for i, p in enumerate(plans))
    return DealRisk(risks, months, scenarios, seed)


def _block(plan: Plan, usage: Usage, seat_price: np.ndarray, phase: GuaranteeWindows, per_unit: np.ndarray,
           sweep: tuple[float, ...], rng: np.random.Generator) -> dict[str, np.ndarray]:
    conv, outcomes = usage["conversations"], usage["outcomes"]
    out: dict[str, np.ndarray] = {}
    savings_charges = [c for c in plan.charges if c.metric.value == SAVINGS]
    if savings_charges:
        cells = {SAVINGS: outcomes * per_unit[None, :, None]}
        cents = sum((charge_cents_vectorised(c, cells, seat_price) for c in savings_charges), np.zeros(conv.shape))
        out["gain_share"] = (cents * phase.charged[None]).sum(axis=2) / 100.0  # (s, a)
    g = plan.deal.guarantee
    if g is None or phase.onehot.shape[2] == 0:
        return out
    drawn = draw_windows(plan, usage, seat_price, phase, rng)
    win_chg = drawn.charges
    credit = float(g.credit_pct) * win_chg
    complete = phase.complete[None]
    for k, theta in enumerate(sweep):
        hit = drawn.hits(phase, theta)
        out[f"credit_{k}"] = (credit * hit).sum(axis=2)  # (s, a)
        out[f"trig_{k}"] = np.asarray(hit.any(axis=2))
    out["charges"] = (win_chg * complete).sum(axis=2)
    out["windows"] = np.broadcast_to(complete.sum(axis=2), conv.shape[:2]).astype(np.float64)
    return out


def _summary(plan: Plan, account_ids: list[str], parts: list[dict[str, np.ndarray]],
             sweep: tuple[float, ...]) -> PlanRisk:
    def joined(key: str) -> np.ndarray:
        return np.concatenate([p[key] for p in parts]) if parts and key in parts[0] else np.zeros((0, len(account_ids)))

    acc = pd.DataFrame({"account_id": account_ids})
    portfolio: dict[str, float] = {}
    rows = []
    if plan.deal.guarantee is not None and "charges" in parts[0]:
        own = sweep.index(float(plan.deal.guarantee.min_resolution_rate))
        credit, trig = joined(f"credit_{own}"), joined(f"trig_{own}")
        acc["windows"] = joined("windows")[0] if len(joined("windows")) else 0.0
        acc["p_trigger"] = trig.mean(axis=0)
        acc["expected_credit"] = credit.mean(axis=0)
        acc["p90_credit"] = np.percentile(credit, 90, axis=0)
        total = credit.sum(axis=1)
        charges = joined("charges").sum(axis=1)
        portfolio.update(p_any_trigger=float(trig.any(axis=1).mean()), expected_credit=float(total.mean()),
                         p90_credit=float(np.percentile(total, 90)), outcome_charges=float(charges.mean()))
        for k, theta in enumerate(sweep):
            c, t = joined(f"credit_{k}"), joined(f"trig_{k}")
            tot = c.sum(axis=1)
            rows.append({"min_resolution_rate": theta, "expected_credit": float(tot.mean()),
                         "p90_credit": float(np.percentile(tot, 90)), "p_any_trigger": float(t.any(axis=1).mean()),
                         "accounts_likely": int((t.mean(axis=0) >= 0.5).sum()),
                         "credit_share": float(tot.mean() / charges.mean()) if charges.mean() > 0 else 0.0})
    if "gain_share" in parts[0]:
        gs = joined("gain_share")
        acc["gain_share_mean"] = gs.mean(axis=0)
        for q in (10, 50, 90):
            acc[f"gain_share_p{q}"] = np.percentile(gs, q, axis=0)
        total = gs.sum(axis=1)
        portfolio.update({f"gain_share_p{q}": float(np.percentile(total, q)) for q in (10, 50, 90)})
        portfolio["gain_share_mean"] = float(total.mean())
    sweep_frame = pd.DataFrame(rows, columns=["min_resolution_rate", "expected_credit", "p90_credit",
                                              "p_any_trigger", "accounts_likely", "credit_share"])
    return PlanRisk(plan.name, acc, sweep_frame, portfolio)


def deal_risk_from_warehouse(
    wh: Warehouse, planset: PlanSet, d: Definition, months: int = 12, scenarios: int = 1000, seed: int = 0,
    thresholds: tuple[float, ...] = SWEEP,
) -> DealRisk:
    """``deal_risk`` on the assumptions the forecast estimates from the same history."""
    from outcome_pricing.analysis.forecast import assumptions_from_metrics
    from outcome_pricing.pricing import account_month_metrics

    metrics = account_month_metrics(wh, d, planset.costs)
    return deal_risk(assumptions_from_metrics(metrics, planset), planset, metrics, months, scenarios, seed, thresholds)


__all__ = ["SWEEP", "DealRisk", "PlanRisk", "deal_risk", "deal_risk_from_warehouse", "is_deal"]
