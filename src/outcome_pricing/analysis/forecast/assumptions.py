"""The forecast's assumptions: each scalar as a control (label, range, help), the
per-account baseline columns, and :class:`Assumptions`, the record that carries
their values and, per scalar, where its value came from (``sources``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing.terms import DEFAULT_HOURS_PER_SEAT


@dataclass(frozen=True)
class Control:
    """How an assumption is shown as a control: label, unit and help text."""

    name: str
    label: str
    help: str
    minimum: float
    maximum: float
    step: float


CONTROLS: tuple[Control, ...] = (
    Control(
        "volume_growth", "Volume growth per month", "Monthly growth of task volume (log rate; 0.02 = about +2% a "
        "month), portfolio average. Each account keeps its own estimated offset from this average.",
        -0.2, 0.2, 0.001,
    ),
    Control(
        "growth_uncertainty", "Growth uncertainty", "Standard deviation of each account's monthly growth rate, "
        "drawn once per scenario: how far the trend itself may be wrong. Widens the fan over time.",
        0.0, 0.1, 0.001,
    ),
    Control(
        "market_uncertainty", "Portfolio growth uncertainty", "Standard deviation of a monthly growth shift shared "
        "by every account, drawn once per scenario (market, seasonality of the whole business): risk that does "
        "not diversify away across accounts.",
        0.0, 0.1, 0.001,
    ),
    Control(
        "volume_noise", "Monthly volume noise", "Standard deviation of month-to-month log noise on task volume "
        "around the trend (seasonality, campaigns, outages).",
        0.0, 1.0, 0.005,
    ),
    Control(
        "resolution_ceiling", "Resolution-rate ceiling", "Billable outcomes per AI conversation the learning curve "
        "tends to. Accounts already above it stay where they are.",
        0.0, 3.0, 0.01,
    ),
    Control(
        "learning_months", "Learning time constant (months)", "Months for the AI's resolution rate to close about "
        "63% of its remaining gap to the ceiling (rate = ceiling - gap x exp(-t / this)).",
        0.5, 60.0, 0.5,
    ),
    Control(
        "ceiling_uncertainty", "Ceiling uncertainty", "Standard deviation of the resolution-rate ceiling, drawn once "
        "per scenario for all accounts (the same AI agent serves them all: a better or worse model moves every "
        "account together).",
        0.0, 0.5, 0.005,
    ),
    Control(
        "resolution_noise", "Monthly resolution noise", "Standard deviation of month-to-month log noise on the "
        "resolution rate.",
        0.0, 1.0, 0.005,
    ),
    Control(
        "seat_lag_months", "Seat right-sizing lag (months)", "Contracted seats close 1/this of the gap to the seats "
        "needed each month, starting from today's contracted seats. 0 or 1 = seats follow the need at once.",
        0.0, 36.0, 1.0,
    ),
    Control(
        "hours_per_seat", "Hours per seat per month", "Human hours one seat covers a month: seats needed = "
        "ceil(human hours / this).",
        1.0, 400.0, 1.0,
    ),
    Control(
        "token_drift", "Token drift per month", "Monthly log change of tokens per AI conversation (longer "
        "contexts, bigger models: positive; caching and prompt trimming: negative).",
        -0.2, 0.2, 0.001,
    ),
    Control(
        "churn_hazard", "Monthly churn hazard", "Probability that an account stops in any month (no usage and "
        "no fees afterwards).",
        0.0, 0.5, 0.001,
    ),
    Control(
        "price_elasticity", "Price elasticity of volume", "Volume responds to the bill change against the "
        "reference plan at today's usage: volume x (bill ratio) ** elasticity. 0 = no response; -0.3 = a bill 10% "
        "higher loses about 3% of volume.",
        -3.0, 0.0, 0.05,
    ),
)
CONTROL_NAMES = tuple(c.name for c in CONTROLS)

# Per-account baseline columns (today's levels, estimated from history).
ACCOUNT_COLUMNS = (
    "account_id",
    "tasks",  # trend level of monthly tasks at the last history month
    "growth_offset",  # the account's monthly growth minus the portfolio's
    "ai_share",  # conversations (AI live) per task
    "resolution_rate",  # billable outcomes per conversation today
    "ceiling_factor",  # the account's level relative to the pooled learning curve
    "rate_cap",  # upper bound on the rate (1 when one unit per conversation at most)
    "hours_per_open_task",  # human hours per task that is not an outcome
    "seats",  # contracted seats today
    "seat_price",  # today's price per seat (for price = "account" charges)
    "input_tokens_m_per_conversation",
    "output_tokens_m_per_conversation",
    "token_cost_per_conversation",  # COGS from tokens per conversation
    "other_cost_per_conversation",  # COGS per conversation that does not drift (per AI task)
)


@dataclass(frozen=True)
class Assumptions:
    """The forecast's parameters: scalars shown as controls, plus today's level per account.

    Estimated from the warehouse by :func:`estimate_assumptions`; change any
    scalar with ``dataclasses.replace`` or :meth:`with_values`. ``sources``
    says, per scalar, how its default was obtained.
    """

    volume_growth: float = 0.0
    growth_uncertainty: float = 0.0
    market_uncertainty: float = 0.0
    volume_noise: float = 0.0
    resolution_ceiling: float = 0.7
    learning_months: float = 6.0
    ceiling_uncertainty: float = 0.0
    resolution_noise: float = 0.0
    seat_lag_months: float = 6.0
    hours_per_seat: float = float(DEFAULT_HOURS_PER_SEAT)
    token_drift: float = 0.0
    churn_hazard: float = 0.0
    price_elasticity: float = 0.0
    accounts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ACCOUNT_COLUMNS), compare=False)
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    last_month: pd.Timestamp | None = None
    # The metrics the plans read beyond the seven, held at today's mix (forecast.mix): name ->
    # the metric it scales; the per-account factor is the ``accounts`` column of that name.
    derived: Mapping[str, str] = field(default_factory=dict, compare=False)

    def values(self) -> dict[str, float]:
        """The scalar assumptions as plain numbers (cache keys, JSON)."""
        return {name: float(getattr(self, name)) for name in CONTROL_NAMES}

    def with_values(self, **values: float) -> Assumptions:
        unknown = sorted(set(values) - set(CONTROL_NAMES))
        if unknown:
            raise ConfigError(
                f"Unknown forecast assumption {unknown[0]!r}; known: {', '.join(CONTROL_NAMES)}."
            )
        sources = dict(self.sources)
        changed: dict[str, Any] = {}
        for name, value in values.items():
            old = float(getattr(self, name))
            if float(value) != old:
                changed[name] = float(value)
                sources[name] = f"set by the user (estimate {old:.4g}: {self.sources.get(name, 'default')})"
        return replace(self, **changed, sources=sources)

    def without_volatility(self) -> Assumptions:
        """The deterministic projection: no noise, no trend uncertainty, no churn."""
        return replace(
            self, growth_uncertainty=0.0, market_uncertainty=0.0, volume_noise=0.0, ceiling_uncertainty=0.0,
            resolution_noise=0.0, churn_hazard=0.0,
        )

    def check(self) -> None:
        """Refuse values the model cannot use, naming the assumption and the allowed range."""
        for c in CONTROLS:
            value = float(getattr(self, c.name))
            if not math.isfinite(value) or value < c.minimum or value > c.maximum:
                raise ConfigError(
                    f"Forecast assumption {c.name} ({c.label}) is {value}; it must be between "
                    f"{c.minimum:g} and {c.maximum:g}."
                )
        missing = [c for c in (*ACCOUNT_COLUMNS, *self.derived) if c not in self.accounts.columns]
        if missing:
            raise ConfigError(f"Forecast assumptions: the account table lacks column {missing[0]!r}.")
