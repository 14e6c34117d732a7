"""The three kinds of ROI subject and their cases: an account, a prospect by hand, uploaded logs.

Measuring is the slow part (the warehouse); assembling is cheap: a page
measures once (`measure_account`, `measure_prospect`) and assembles the case
again on every change of an entered value (`assemble_case`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from outcome_pricing.analysis.roi.assumptions import (
    DEFAULT_DISCOUNT_RATE,
    DEFAULT_RISK_ADJUSTMENT,
    DEFAULT_YEARS,
    OVERRIDABLE,
    SPECS,
    Assumption,
    clamp,
    default_assumptions,
    entered,
    resolve_derived,
    value_map,
    with_overrides,
    with_risk_adjustment,
)
from outcome_pricing.analysis.roi.cashflows import validate_horizon
from outcome_pricing.analysis.roi.estimation import (
    CaseContext,
    account_assumptions,
    account_ids,
    impact_assumptions,
    minutes_comparison,
    recent_metrics,
    spend_assumptions,
    usage_rates,
    volume_assumptions,
)
from outcome_pricing.analysis.roi.odds import GuaranteeOdds, closed_form_odds, forecast_odds
from outcome_pricing.analysis.roi.result import RoiCase, SubjectKind, build_case
from outcome_pricing.analysis.roi.settle import SettlementFactor, settlement_factors
from outcome_pricing.analysis.roi.spend import Scope, SpendModel, UsageRates
from outcome_pricing.errors import ConfigError
from outcome_pricing.ingest.files import ingest_files
from outcome_pricing.pricing.metrics import account_month_metrics
from outcome_pricing.pricing.words import terms_in_words
from outcome_pricing.proof import impact
from outcome_pricing.warehouse import cluster
from outcome_pricing.warehouse.handle import Warehouse


@dataclass(frozen=True)
class Measured:
    """What the logs say about one customer: the slow part of a case, measured once."""

    subject: str  # display name (user text: escape when shown)
    kind: SubjectKind
    assumptions: Mapping[str, Assumption]
    notes: tuple[str, ...] = ()
    spend: SpendModel | None = None  # how to bill the plan (None: no AI tasks to measure from)


def _with_spend(out: dict[str, Assumption], ctx: CaseContext, rates: UsageRates | None,
                ai_minutes: float, baseline_minutes: float | None, guarantee: GuaranteeOdds | None = None,
                settlement: tuple[SettlementFactor, ...] = ()) -> SpendModel | None:
    """The plan's billing model and its year-1 figures in ``out``; None without rates.
    ``settlement``: the latest settlement factors (roi.settle); ``guarantee``: the chance a
    guarantee window falls short (roi.deal)."""
    if rates is None:
        return None
    spend = SpendModel(ctx.plan_obj, replace(rates, settlement=settlement), ai_minutes, baseline_minutes, guarantee)
    v = value_map(resolve_derived({**default_assumptions(), **out}))
    out.update(spend_assumptions(spend, v, ctx))
    return spend


def _unproven_notes(out: Mapping[str, Assumption]) -> list[str]:
    """The stated rule, once, when a measured benefit was counted as 0 by it."""
    zeroed = [a.spec.label for a in out.values() if "counted as 0" in a.detail]
    return [f"Counted as 0 because the likely range reaches zero: {', '.join(zeroed)}."] if zeroed else []


def measure_account(wh: Warehouse, account_id: str, ctx: CaseContext,
                   kind: SubjectKind = SubjectKind.ACCOUNT) -> Measured:
    """Every assumption the account's own logs can give; the portfolio's where they cannot.

    Raises for an unknown account or plan.
    """
    wh.require_account(account_id, "so there is no ROI case to build")
    ctx.plan_obj  # noqa: B018 - fail early, naming the known plans
    metrics = account_month_metrics(wh, ctx.definition, ctx.planset.costs, ctx.planset.plans)
    name, out = account_assumptions(wh, account_id)
    out.update(volume_assumptions(metrics, account_id, float(ctx.planset.costs.per_ai_task)))
    with cluster.account_evidence(wh, account_id) as ev:  # cluster mode: the account's Parquet tasks
        summary = impact.impact_summary(ev, account_id)
    out.update(impact_assumptions(summary, Scope.ACCOUNT))
    rates = usage_rates(recent_metrics(metrics, account_id), Scope.ACCOUNT)
    missing = [k for k in ("minutes_saved_per_task", "missed_issue_reduction") if k not in out]
    notes: list[str] = []
    if missing or rates is None:
        labels = [SPECS[k].label for k in missing] + (["outcomes per AI task"] if rates is None else [])
        notes.append(
            "Not measurable from this account's logs (no baseline or no recent AI tasks): "
            + ", ".join(labels) + "; the portfolio's figure is used."
        )
        said = cluster.needs_tasks(wh, "The portfolio's measured effect")  # every task: not read from Parquet
        portfolio = impact_assumptions(impact.impact_summary(wh, None), Scope.PORTFOLIO) if said is None else {}
        out.update({k: portfolio[k] for k in missing if k in portfolio})
        notes.extend([said] if said is not None and missing else [])
        rates = rates or usage_rates(recent_metrics(metrics, None), Scope.PORTFOLIO)
    minutes = minutes_comparison(summary)
    plan = ctx.plan_obj
    odds = forecast_odds(wh, ctx.planset, plan, ctx.definition, account_id) if plan.deal.guarantee else None
    spend = _with_spend(out, ctx, rates, minutes.ai if minutes.ai is not None else 0.0, minutes.baseline, odds,
                        settlement_factors(wh, ctx.definition, plan, metrics, account_id))
    subject = account_id if name == account_id else f"{name} ({account_id})"
    return Measured(subject, kind, out, tuple(notes + _unproven_notes(out)), spend)


@dataclass(frozen=True)
class CaseSettings:
    """The case's frame: horizon, discount rate, the default haircut and entered overrides."""

    years: int = DEFAULT_YEARS
    discount_rate: float = DEFAULT_DISCOUNT_RATE
    risk_adjustment: float = DEFAULT_RISK_ADJUSTMENT
    overrides: Mapping[str, float] = field(default_factory=dict)
    prepared_on: date | None = None


def _measured_base(measured: Measured, risk_adjustment: float) -> dict[str, Assumption]:
    """Defaults, then what was measured, then the case's haircut (before anything entered)."""
    return with_risk_adjustment({**default_assumptions(), **measured.assumptions}, risk_adjustment)


def editable_assumptions(measured: Measured, settings: CaseSettings) -> dict[str, Assumption]:
    """For each assumption a user may enter: its value without that entry (measured, default
    or derived from the others), which is where an input starts and what "reset" returns to."""
    base = _measured_base(measured, settings.risk_adjustment)
    out = {}
    for key in OVERRIDABLE:
        others = {k: v for k, v in settings.overrides.items() if k != key}
        out[key] = resolve_derived(with_overrides(base, others))[key]
    return out


def assemble_case(measured: Measured, settings: CaseSettings, ctx: CaseContext) -> RoiCase:
    """The case from measured inputs: defaults, then what was measured, then the default
    haircut, then what the user entered (cheap: measure once, assemble on every change)."""
    return build_case(
        with_overrides(_measured_base(measured, settings.risk_adjustment), settings.overrides),
        subject=measured.subject,
        subject_kind=measured.kind,
        plan=ctx.plan,
        plan_terms=terms_in_words(ctx.plan_obj, ctx.definition),
        plan_version=ctx.plan_obj.version,
        spend=measured.spend,
        definition_name=ctx.definition.name,
        definition_version=ctx.definition.version,
        years=settings.years,
        discount_rate=settings.discount_rate,
        risk_adjustment=settings.risk_adjustment,
        prepared_on=settings.prepared_on,
        notes=measured.notes,
    )


def case_for_account(
    wh: Warehouse, account_id: str, ctx: CaseContext, settings: CaseSettings | None = None,
    kind: SubjectKind = SubjectKind.ACCOUNT,
) -> RoiCase:
    """The case for an account in the warehouse, from its own logs (the portfolio's where not)."""
    settings = settings or CaseSettings()
    validate_horizon(settings.years, settings.discount_rate)
    return assemble_case(measure_account(wh, account_id, ctx, kind), settings, ctx)


# ------------------------------------------------------------------ prospects
@dataclass(frozen=True)
class Prospect:
    """A prospect described by hand: what sales can ask on a first call."""

    name: str
    monthly_volume: float
    human_minutes_per_task: float  # handling time today, without the AI
    agent_hourly_cost: float
    seats: float
    seat_price: float


def measure_prospect(wh: Warehouse, prospect: Prospect, ctx: CaseContext) -> Measured:
    """A prospect by hand: their volume, time, cost and seats; the AI's effect and the plan's
    outcomes and tokens per task measured on the portfolio in the warehouse."""
    entered_values = {
        "monthly_volume": prospect.monthly_volume,
        "agent_hourly_cost": prospect.agent_hourly_cost,
        "seats": prospect.seats,
        "seat_price": prospect.seat_price,
    }
    measured = {k: entered(k, v, "prospect") for k, v in entered_values.items()}
    summary = impact.impact_summary(wh, None)
    portfolio_effects = impact_assumptions(summary, Scope.PORTFOLIO)
    minutes = portfolio_effects.get("minutes_saved_per_task")
    baseline = minutes_comparison(summary).baseline
    if minutes is not None and baseline:
        # The portfolio's relative saving applied to the prospect's own handling time.
        share = prospect.human_minutes_per_task / baseline
        scaled = replace(
            minutes,
            value=clamp("minutes_saved_per_task", minutes.value * share),
            ci_low=None if minutes.ci_low is None else minutes.ci_low * share,
            ci_high=None if minutes.ci_high is None else minutes.ci_high * share,
        )
        likely = f", likely between {scaled.range_text()}" if scaled.ci_low is not None else ""
        measured["minutes_saved_per_task"] = replace(
            scaled,
            detail=f"the portfolio's saving ({minutes.value / baseline:.0%} of human handling time) applied "
            f"to the prospect's {prospect.human_minutes_per_task:g} minutes: {scaled.value:.1f} minutes saved "
            f"per task{likely}. The portfolio: {minutes.detail}",
        )
    if "missed_issue_reduction" in portfolio_effects:
        measured["missed_issue_reduction"] = portfolio_effects["missed_issue_reduction"]
    metrics = account_month_metrics(wh, ctx.definition, ctx.planset.costs, ctx.planset.plans)
    rates = usage_rates(recent_metrics(metrics, None), Scope.PORTFOLIO)
    saved = value_map(measured)["minutes_saved_per_task"]
    human = prospect.human_minutes_per_task
    spend = _with_spend(measured, ctx, rates, human - saved, human, closed_form_odds(ctx.plan_obj),
                        settlement_factors(wh, ctx.definition, ctx.plan_obj, metrics, None))
    notes = [] if rates is not None else [
        "The warehouse has no AI tasks to measure outcomes per task from: enter the AI spend per task."
    ]
    return Measured(prospect.name, SubjectKind.PROSPECT, measured, tuple(notes + _unproven_notes(measured)), spend)


def case_for_prospect(
    wh: Warehouse, prospect: Prospect, ctx: CaseContext, settings: CaseSettings | None = None
) -> RoiCase:
    """The case for a prospect described by hand (see measure_prospect)."""
    settings = settings or CaseSettings()
    validate_horizon(settings.years, settings.discount_rate)
    return assemble_case(measure_prospect(wh, prospect, ctx), settings, ctx)


def load_prospect_logs(
    tasks: str | Path, accounts: str | Path | None = None, mapping: str | Path | None = None, *,
    tasks_name: str | None = None, accounts_name: str | None = None,
) -> Warehouse:
    """A prospect's uploaded logs in a throw-away in-memory warehouse (never stored)."""
    wh = Warehouse.in_memory()
    try:
        ingest_files(
            wh, tasks=tasks, accounts=accounts, mapping=mapping,
            tasks_name=tasks_name, accounts_name=accounts_name,
        )
    except BaseException:
        wh.close()
        raise
    return wh


def case_for_upload(
    wh: Warehouse, ctx: CaseContext, settings: CaseSettings | None = None, account_id: str | None = None
) -> RoiCase:
    """The case from a prospect's uploaded logs (see load_prospect_logs)."""
    ids = account_ids(wh)
    if account_id is None:
        if len(ids) != 1:
            raise ConfigError(
                f"The uploaded logs hold {len(ids)} accounts ({', '.join(ids[:5])}"
                f"{', ...' if len(ids) > 5 else ''}); choose one."
            )
        account_id = ids[0]
    return case_for_account(wh, account_id, ctx, settings, kind=SubjectKind.UPLOAD)
