"""The terms of a deal that shares the risk (DESIGN section 11), as plan keys.

Values and their strict reading only, so `terms.py` can hold them on a `Plan`
without an import circle (this module imports nothing from pricing):

* charging from go-live: ``charge_from`` ("first_task" | "go_live"), ``free_months``;
* a funded deployment: ``implementation_cost`` (the vendor's COGS in the go-live month);
* gain-share: ``hourly_cost_default`` (the labour cost of accounts without their own);
* ``[plans.guarantee]``: ``min_resolution_rate``, ``window_months``, ``credit_pct``.

Every key keeps its default out of the plan's dict form, so a plan that keeps
the defaults has the version hash it had before these keys existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from outcome_pricing.kit.money import MICRO_PLACES
from outcome_pricing.pricing import bounds
from outcome_pricing.pricing.bounds import Fail

DEAL_KEYS = frozenset({"charge_from", "free_months", "implementation_cost", "hourly_cost_default", "guarantee"})
GUARANTEE_KEYS = frozenset({"min_resolution_rate", "window_months", "credit_pct"})
SAVINGS_METRIC = "savings_usd"
OUTCOMES_METRIC = "outcomes"


class ChargeFrom(StrEnum):
    """Where an account's charging starts (before free months)."""

    FIRST_TASK = "first_task"  # the month of the account's first task
    GO_LIVE = "go_live"  # accounts.ai_go_live, else the close month of its first ai_enabled task


@dataclass(frozen=True)
class Guarantee:
    """A credit of ``credit_pct`` of a window's outcome charges when the window's
    resolution rate (billable units / conversations) is below ``min_resolution_rate``."""

    min_resolution_rate: Decimal
    window_months: int
    credit_pct: Decimal


@dataclass(frozen=True)
class DealTerms:
    """The section-11 keys of one plan; the defaults change nothing."""

    charge_from: ChargeFrom = ChargeFrom.FIRST_TASK
    free_months: int = 0
    implementation_cost: Decimal = Decimal(0)  # whole cents
    hourly_cost_default: Decimal | None = None  # dollars per agent hour
    guarantee: Guarantee | None = None

    @property
    def is_default(self) -> bool:
        return self == DealTerms()

    @property
    def spans_months(self) -> bool:
        """True when a month's bill depends on the account's other months: a guarantee
        window, or a start that is not the first task's month (go-live, free months)."""
        return self.guarantee is not None or self.charge_from is not ChargeFrom.FIRST_TASK or self.free_months > 0


def _number(value: Decimal) -> Decimal | int:
    return int(value) if value == value.to_integral_value() else value


def deal_dict(terms: DealTerms) -> dict[str, Any]:
    """The keys that differ from their defaults (what a plans file holds and a version hashes)."""
    out: dict[str, Any] = {}
    if terms.charge_from is not ChargeFrom.FIRST_TASK:
        out["charge_from"] = terms.charge_from.value
    if terms.free_months:
        out["free_months"] = terms.free_months
    if terms.implementation_cost:
        out["implementation_cost"] = terms.implementation_cost
    if terms.hourly_cost_default is not None:
        out["hourly_cost_default"] = terms.hourly_cost_default
    if terms.guarantee is not None:
        g = terms.guarantee
        out["guarantee"] = {
            "min_resolution_rate": g.min_resolution_rate,
            "window_months": g.window_months,
            "credit_pct": g.credit_pct,
        }
    return out


# ---------------------------------------------------------------------- reading
def read_deal(fail: Fail, where: str, raw: dict[str, Any], metrics: Sequence[object]) -> DealTerms:
    """The section-11 keys of one [[plans]] table, validated; ``metrics`` are its charges' metrics.

    Refused, naming the plan and the key: a charge_from other than first_task or
    go_live, months that are not whole or out of range, a guarantee share outside
    0..1, a window under one month, a guarantee without an outcomes charge, and
    gain-share (a charge on savings_usd) without hourly_cost_default (an account
    without agent_hourly_cost would save nothing, silently).
    """
    value = raw.get("charge_from", ChargeFrom.FIRST_TASK.value)
    try:
        charge_from = ChargeFrom(value if isinstance(value, str) else "")
    except ValueError:
        raise fail(where, "charge_from", f"{value!r} is not a start; use \"first_task\" or \"go_live\".") from None
    hourly = None
    if "hourly_cost_default" in raw:
        hourly = bounds.number(fail, where, raw, "hourly_cost_default", None, MICRO_PLACES, bounds.MAX_PRICE)
    if SAVINGS_METRIC in metrics and hourly is None:
        raise fail(
            where, "hourly_cost_default",
            "a charge on savings_usd values saved time at the account's agent_hourly_cost, and at this "
            "default for accounts without one; set it (e.g. hourly_cost_default = 30).",
        )
    return DealTerms(
        charge_from=charge_from,
        free_months=bounds.integer(fail, where, raw, "free_months", 0, 0, bounds.MAX_MONTHS),
        implementation_cost=bounds.number(fail, where, raw, "implementation_cost", Decimal(0), 2, bounds.MAX_FEE),
        hourly_cost_default=hourly,
        guarantee=_guarantee(fail, where, raw["guarantee"], metrics) if "guarantee" in raw else None,
    )


def _guarantee(fail: Fail, plan_where: str, raw: Any, metrics: Sequence[object]) -> Guarantee:
    where = f"{plan_where}, guarantee"
    if not isinstance(raw, dict):
        raise fail(where, "guarantee", "must be a table [plans.guarantee] with min_resolution_rate, "
                   "window_months and credit_pct.")
    unknown = sorted(set(raw) - GUARANTEE_KEYS)
    if unknown:
        raise fail(where, unknown[0], f"unknown key; allowed keys are {', '.join(sorted(GUARANTEE_KEYS))}.")
    if OUTCOMES_METRIC not in metrics:
        raise fail(where, "guarantee", "credits the plan's charges on outcomes, and this plan has none.")
    return Guarantee(
        min_resolution_rate=_share(fail, where, raw, "min_resolution_rate"),
        window_months=bounds.integer(fail, where, raw, "window_months", None, 1, bounds.MAX_MONTHS),
        credit_pct=_share(fail, where, raw, "credit_pct"),
    )


def _share(fail: Fail, where: str, raw: dict[str, Any], key: str) -> Decimal:
    """A required share from 0 to 1 (0.8 = 80%), at most 6 decimals."""
    if key in raw and isinstance(raw[key], int | float) and not isinstance(raw[key], bool) and raw[key] > 1:
        raise fail(where, key, f"{raw[key]!r} is above 1; write a share from 0 to 1 (0.8 = 80%).")
    return bounds.number(fail, where, raw, key, None, MICRO_PLACES, Decimal(1))
