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
conversation (see ``_observed`` for rates above 1, with issue units). That sampling noise is what makes a guarantee near the
account's own rate trigger about half the time. Windows are phased from the
account's first charged month, as in the backtest; a window that began in the
history counts the history's actual units, conversations and outcome charges.
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
from outcome_pricing.analysis.forecast.simulation import (
    _Baseline,
    _block_sizes,
    _draw_paths,
    _Usage,
)
from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing.charges import charge_cents_vectorised
from outcome_pricing.pricing.deals.columns import savings_per_outcome
from outcome_pricing.pricing.deals.schedule import NEVER, month_indexes, schedules
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import Metric, Plan

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


@dataclass(frozen=True)
class _Phase:
    """Per plan and account: how the horizon's months fall into guarantee windows."""

    charged: np.ndarray  # (accounts, months) bool
    onehot: np.ndarray  # (accounts, months, windows) 1.0 where month t is in window j
    complete: np.ndarray  # (accounts, windows) bool: the window ends inside the horizon
    hist_units: np.ndarray  # (accounts, windows): history part of each window
    hist_conv: np.ndarray
    hist_charges: np.ndarray  # dollars


def _phase(plan: Plan, history: pd.DataFrame, account_ids: list[str], months: int) -> _Phase:
    """Window membership of each forecast month, from the plan's schedule on the history."""
    from outcome_pricing.pricing.charges import plan_cents
    from outcome_pricing.pricing.metrics import usage_arrays

    last = int(month_indexes(history["month"]).max())
    per = schedules(history, plan.deal).reindex(account_ids)
    start = per["start"].fillna(NEVER).to_numpy(np.int64)
    t = last + 1 + np.arange(months)
    charged = (start[:, None] != NEVER) & (t[None, :] >= start[:, None])
    g = plan.deal.guarantee
    w = g.window_months if g is not None else 1
    n_acc = len(account_ids)
    window = np.where(charged, (t[None, :] - start[:, None]) // w, -1)
    first_window = np.where(start != NEVER, np.maximum((last + 1 - start) // w, 0), 0)
    j = np.where(charged, window - first_window[:, None], -1)
    n_win = int(j.max()) + 1 if j.size and j.max() >= 0 else 0
    onehot = np.zeros((n_acc, months, n_win))
    a_idx, t_idx = np.nonzero(j >= 0)
    onehot[a_idx, t_idx, j[a_idx, t_idx]] = 1.0
    ends = start[:, None] + (first_window[:, None] + np.arange(n_win)[None, :] + 1) * w - 1
    complete = (start[:, None] != NEVER) & (ends <= last + months)
    hist = np.zeros((3, n_acc, n_win))
    if n_win and g is not None:
        # a window that began in the history: its actual months count toward the first window
        bill = plan_cents(plan, usage_arrays(history))
        outcome = sum((line for c, line in zip(plan.charges, bill.by_charge, strict=True)
                       if c.metric is Metric.OUTCOMES), np.zeros(len(history), dtype=np.int64))
        pos = {a: i for i, a in enumerate(account_ids)}
        m = month_indexes(history["month"])
        units = history["outcomes_micro"].to_numpy(np.float64) / 1e6
        conversations = history["conversations"].to_numpy(np.float64)
        for row, (acc, month) in enumerate(zip(history["account_id"], m, strict=True)):
            i = pos.get(acc)
            if i is None or start[i] == NEVER or month < start[i]:
                continue
            if (month - start[i]) // w == first_window[i]:
                hist[0, i, 0] += units[row]
                hist[1, i, 0] += conversations[row]
                hist[2, i, 0] += outcome[row] / 100.0
    return _Phase(charged, onehot, complete, hist[0], hist[1], hist[2])


def _observed(rng: np.random.Generator, conv: np.ndarray, outcomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A window's conversations as a count, and its outcomes drawn Binomial(n, rate).

    With issue units a rate may pass 1: then the draw is Binomial(n, 1) scaled
    by the rate (the expected units are kept; such a window never falls short of
    a threshold below 1 by chance)."""
    n = np.rint(conv)
    rate = np.divide(outcomes, conv, out=np.zeros_like(outcomes), where=conv > 0)
    scale = np.maximum(rate, 1.0)
    draws = rng.binomial(n.astype(np.int64), np.clip(rate / scale, 0.0, 1.0)) * scale
    return n, draws


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
    b = _Baseline.of(assumptions)
    phases = [_phase(p, history, account_ids, months) for p in plans]
    per_unit = [_savings_per_unit(p, history, account_ids) for p in plans]
    sweeps = [tuple(sorted({*thresholds, float(p.deal.guarantee.min_resolution_rate)}))
              if p.deal.guarantee is not None else () for p in plans]
    parts: list[list[dict[str, np.ndarray]]] = [[] for _ in plans]
    for n, child in zip(_block_sizes(scenarios), np.random.SeedSequence(seed).spawn(len(_block_sizes(scenarios))),
                        strict=True):
        paths = _draw_paths(assumptions, b, months, n, np.random.default_rng(child))
        noise = np.random.default_rng(child.spawn(1)[0])
        usage = _Usage(assumptions, b, paths, np.ones_like(b.tasks))
        for i, plan in enumerate(plans):
            parts[i].append(_block(plan, usage, b.seat_price, phases[i], per_unit[i], sweeps[i], noise))
    risks = tuple(_summary(p, account_ids, parts[i], sweeps[i]) for i, p in enumerate(plans))
    return DealRisk(risks, months, scenarios, seed)


def _block(plan: Plan, usage: _Usage, seat_price: np.ndarray, phase: _Phase, per_unit: np.ndarray,
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
    lines = [charge_cents_vectorised(c, usage, seat_price) for c in plan.charges if c.metric is Metric.OUTCOMES]
    charges = sum(lines, np.zeros(conv.shape)) / 100.0
    win_conv = np.einsum("sat,atj->saj", conv, phase.onehot)
    win_out = np.einsum("sat,atj->saj", outcomes, phase.onehot)
    win_chg = np.einsum("sat,atj->saj", charges, phase.onehot) + phase.hist_charges[None]
    n, units = _observed(rng, win_conv, win_out)
    n = n + phase.hist_conv[None]
    units = units + phase.hist_units[None]
    credit = float(g.credit_pct) * win_chg
    complete = phase.complete[None]
    for k, theta in enumerate(sweep):
        hit = complete & (n > 0) & (units < theta * n)
        out[f"credit_{k}"] = (credit * hit).sum(axis=2)  # (s, a)
        out[f"trig_{k}"] = hit.any(axis=2)
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
