"""The seeded, vectorised Monte Carlo (the model is in the package docstring).

Arrays are (scenarios, accounts, months). Scenarios are simulated in fixed
blocks, each drawing from its own SeedSequence child, so the same seed gives
the same numbers whatever the thread count, and every plan sees the same
scenarios (common random numbers).

Given the history (``simulate(..., history=...)``, as ``forecast`` does), each
plan's month-spanning terms are placed on the horizon (``spans``): nothing is
billed before an account's first charged month (charge_from, free_months),
commitment periods continue from the history with its balance, and a
guarantee's credits are netted from the revenue of the month that closes
the window, drawn as analysis.deal_risk draws them (same seeds).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from outcome_pricing.analysis.forecast.assumptions import Assumptions
from outcome_pricing.analysis.forecast.paths import (
    Baseline,
    Floats,
    Usage,
    block_sizes,
    draw_paths,
    today_metrics,
)
from outcome_pricing.analysis.forecast.result import (
    ForecastResult,
    band_frame,
    commitment_frame,
    guarantee_frames,
    prob_beats_frame,
    volatility_frame,
)
from outcome_pricing.analysis.forecast.spans import (
    HorizonTerms,
    draw_windows,
    has_deal_columns,
    horizon_terms,
    on_months,
)
from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.simulate import plan_cents_parts, plan_revenue_vectorised
from outcome_pricing.pricing.terms import Plan

PRICE_RATIO_BOUNDS = (0.2, 5.0)  # price response is computed on a clipped bill ratio
NO_TERMS = HorizonTerms(None, None, None)


def _volume_scales(
    a: Assumptions, b: Baseline, plans: Sequence[Plan], reference: Plan | None
) -> list[Floats]:
    """Per plan, the factor on each account's volume from the price response (1 when off)."""
    ones = np.ones_like(b.tasks)
    if a.price_elasticity == 0 or reference is None:
        return [ones for _ in plans]
    today = today_metrics(a, b)
    ref_bill = plan_revenue_vectorised(reference, today, b.seat_price)
    scales = []
    for plan in plans:
        bill = plan_revenue_vectorised(plan, today, b.seat_price)
        ratio = np.where(ref_bill > 0, bill / np.where(ref_bill > 0, ref_bill, 1.0), 1.0)
        scales.append(np.clip(ratio, *PRICE_RATIO_BOUNDS) ** a.price_elasticity)
    return scales



def forecast_months(last_month: pd.Timestamp | None, months: int) -> tuple[pd.Timestamp, ...]:
    """The months after the last month of history (first day of each)."""
    start = (pd.Timestamp(last_month) if last_month is not None else pd.Timestamp.today()).to_period("M") + 1
    return tuple(p.to_timestamp() for p in pd.period_range(start, periods=months, freq="M"))


@dataclass(frozen=True)
class _BlockResult:
    """One block's sums per plan: portfolio by month (scenarios, months) and by account (accounts,);
    per scenario, a commitment's breakage and overage (dollars over the horizon) and a guarantee's
    credits and triggers per account (scenarios, accounts), keyed by plan index."""

    revenue: list[Floats] = field(default_factory=list)
    margin: list[Floats] = field(default_factory=list)
    account_revenue: list[Floats] = field(default_factory=list)
    account_margin: list[Floats] = field(default_factory=list)
    breakage: dict[int, Floats] = field(default_factory=dict)
    overage: dict[int, Floats] = field(default_factory=dict)
    credit: dict[int, Floats] = field(default_factory=dict)
    triggered: dict[int, np.ndarray] = field(default_factory=dict)


def _guarantee_cents(
    plan: Plan, usage: Usage, b: Baseline, terms: HorizonTerms, rng: np.random.Generator
) -> tuple[Floats, Floats, np.ndarray]:
    """A guarantee's credits in cents per cell (in the month that closes each window), and per
    scenario and account the dollars credited and whether any window triggered."""
    assert terms.windows is not None and plan.deal.guarantee is not None
    w = terms.windows
    drawn = draw_windows(plan, usage, b.seat_price, w, rng)
    hit = drawn.hits(w, float(plan.deal.guarantee.min_resolution_rate))
    credit = float(plan.deal.guarantee.credit_pct) * drawn.charges * hit  # (s, a, windows) dollars
    by_month = on_months(credit, w.ends) * 100.0
    return by_month, credit.sum(axis=2), np.asarray(hit.any(axis=2))


def _run_block(
    a: Assumptions, b: Baseline, plans: Sequence[Plan], scales: Sequence[Floats], terms: Sequence[HorizonTerms],
    months: int, n: int, seed_seq: np.random.SeedSequence,
) -> _BlockResult:
    paths = draw_paths(a, b, months, n, np.random.default_rng(seed_seq))
    noise = np.random.default_rng(seed_seq.spawn(1)[0])  # guarantee draws, as analysis.deal_risk's
    out = _BlockResult()
    usage: Usage | None = None
    for i, (plan, scale, term) in enumerate(zip(plans, scales, terms, strict=True)):
        # Without a price response every plan sees the same usage: compute it once.
        if usage is None or usage.scale is not scale:
            usage = Usage(a, b, paths, scale)
            cogs = usage.cogs()
            cogs_month, cogs_account = cogs.sum(axis=1), cogs.sum(axis=(0, 2))
            del cogs
        parts = plan_cents_parts(plan, usage, b.seat_price, term.periods)
        cents = parts.total
        if term.windows is not None:
            credit_cents, out.credit[i], out.triggered[i] = _guarantee_cents(plan, usage, b, term, noise)
            cents -= credit_cents
        if term.charged is not None:
            cents *= term.charged[None]  # no line at all before the first charged month
        if paths.alive is not None:
            cents *= paths.alive  # no platform fee or minimum after an account leaves
        if plan.commitment is not None:
            alive = paths.alive if paths.alive is not None else 1.0  # no breakage after an account leaves
            out.breakage[i] = (parts.breakage * alive).sum(axis=(1, 2)) / 100.0
            out.overage[i] = (parts.overage * alive).sum(axis=(1, 2)) / 100.0
        rev_month, rev_account = cents.sum(axis=1) / 100.0, cents.sum(axis=(0, 2)) / 100.0
        out.revenue.append(rev_month)
        out.margin.append(rev_month - cogs_month)
        out.account_revenue.append(rev_account)
        out.account_margin.append(rev_account - cogs_account)
    return out


def simulate(
    assumptions: Assumptions,
    planset: PlanSet,
    months: int = 12,
    scenarios: int = 2000,
    seed: int = 0,
    reference: str | None = None,
    workers: int = 1,
    history: pd.DataFrame | None = None,
) -> ForecastResult:
    """Run the Monte Carlo for every plan of ``planset`` (see the module docstring for the model).

    ``reference`` names the plan today's bills are compared with for the
    price response (default: the first plan). ``workers`` > 1 simulates
    blocks of scenarios on threads (numpy releases the GIL); the result does
    not depend on it. ``history``: the account_month_metrics frame (made with
    the plans, with the deal columns) the assumptions came from; with it each
    plan's charge start, commitment periods and guarantee are placed on the
    horizon (without it every forecast month is charged, a commitment period
    starts in the first forecast month, and guarantees are not priced).
    """
    if months < 1 or months > 120:
        raise ConfigError(f"Forecast months must be between 1 and 120 (got {months}).")
    if scenarios < 1 or scenarios > 100_000:
        raise ConfigError(f"Forecast scenarios must be between 1 and 100000 (got {scenarios}).")
    assumptions.check()
    plans = planset.plans
    ref_plan = planset.plan(reference if reference is not None else planset.default_reference())
    b = Baseline.of(assumptions)
    scales = _volume_scales(assumptions, b, plans, ref_plan)
    account_ids = assumptions.accounts["account_id"].astype(str).tolist()
    terms = [horizon_terms(p, history, account_ids, months) if history is not None and has_deal_columns(history)
             else NO_TERMS for p in plans]
    sizes = block_sizes(scenarios)
    children = np.random.SeedSequence(seed).spawn(len(sizes))
    jobs = [(assumptions, b, plans, scales, terms, months, n, s) for n, s in zip(sizes, children, strict=True)]
    if workers > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(lambda j: _run_block(*j), jobs))
    else:
        parts = [_run_block(*j) for j in jobs]
    names = [p.name for p in plans]
    idx = range(len(plans))
    revenue = [np.concatenate([part.revenue[i] for part in parts]) for i in idx]
    margin = [np.concatenate([part.margin[i] for part in parts]) for i in idx]
    acc_rev = [np.sum([part.account_revenue[i] for part in parts], axis=0) / scenarios for i in idx]
    acc_mar = [np.sum([part.account_margin[i] for part in parts], axis=0) / scenarios for i in idx]
    month_list = forecast_months(assumptions.last_month, months)
    totals = np.stack([r.sum(axis=1) for r in revenue], axis=1)

    def joined(key: str, i: int) -> Floats:
        return np.concatenate([getattr(part, key)[i] for part in parts])

    committed = [i for i in idx if plans[i].commitment is not None]
    guaranteed = [i for i in idx if terms[i].windows is not None]
    guarantees, guarantee_totals = guarantee_frames(
        [names[i] for i in guaranteed], account_ids, [joined("credit", i) for i in guaranteed],
        [joined("triggered", i) for i in guaranteed],
    )
    accounts = pd.concat(
        [pd.DataFrame({"plan": n, "account_id": account_ids, "revenue": r, "margin": m})
         for n, r, m in zip(names, acc_rev, acc_mar, strict=True)],
        ignore_index=True,
    )
    return ForecastResult(
        revenue=band_frame(names, month_list, revenue),
        margin=band_frame(names, month_list, margin),
        totals=pd.DataFrame(totals, columns=names),
        prob_beats=prob_beats_frame(names, totals),
        volatility=volatility_frame(names, revenue, margin),
        accounts=accounts,
        assumptions=assumptions,
        months=month_list,
        scenarios=scenarios,
        seed=seed,
        reference=ref_plan.name,
        commitments=commitment_frame([names[i] for i in committed], [joined("breakage", i) for i in committed],
                                     [joined("overage", i) for i in committed]),
        guarantees=guarantees,
        guarantee_totals=guarantee_totals,
    )
