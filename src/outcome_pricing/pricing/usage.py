"""What the charges price: measured usage of one account-month (exact Decimal) or of many
(exact integers for the backtest), built from an account_month_metrics frame.

Beyond the plain metrics, usage carries what the charge shapes of DESIGN 10 need:
the settled outcomes metric of charges with an audit settlement (DESIGN 9, keyed by
(settlement, window)), the metric split by a dimension's values for charges priced
``by`` (keyed by `by_key`), and for terms that span months (a commitment) each
row's account, month number and first charged month.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.money import MICRO, ceil_decimal
from outcome_pricing.pricing.terms import DEFAULT_PRICE_KEY, Charge, Metric
from outcome_pricing.warehouse import cluster, cube, usage_facts

if TYPE_CHECKING:
    from outcome_pricing.warehouse.handle import Warehouse

MS_PER_HOUR = 3_600_000

# (dimension, metric, settlement key or None): one split of a metric by a dimension's values.
ByKey = tuple[str, str, tuple[str, int] | None]


def by_key(charge: Charge) -> ByKey:
    """Which split of which metric a charge priced ``by`` a dimension reads."""
    assert charge.by is not None
    return (charge.by.value, charge.metric.value, charge.settlement_key)


def seats_needed(human_ms: int, hours_per_seat: Decimal) -> Decimal:
    """ceil(human hours / hours_per_seat): seats a right-sized team would need."""
    return ceil_decimal(Decimal(int(human_ms)) / (hours_per_seat * MS_PER_HOUR))


def seats_needed_array(human_ms: np.ndarray, hours_per_seat: Decimal) -> np.ndarray:
    """Integer ceil(human_ms / (hours_per_seat x 3.6e6)); hours_per_seat has <= 3 decimals."""
    per_seat = int(hours_per_seat * 1000) * (MS_PER_HOUR // 1000)
    return -(-np.asarray(human_ms, dtype=np.int64) // per_seat)


def facts_table(wh: Warehouse) -> str | None:
    """Where the definition-independent usage sums come from: cluster mode's account facts,
    the usage facts built with the current cube (warehouse/usage_facts.py), or None: scan
    the tasks (a warehouse built before those facts existed, or written around the cube)."""
    if cluster.is_cluster(wh):
        return cluster.FACTS_TABLE
    with wh.cursor() as cur:
        return usage_facts.TABLE if usage_facts.is_current(cur, cube.current_stamp(cur)) else None


def go_live_sql(wh: Warehouse, where: str = "") -> str:
    """The relation of each account's go-live (DESIGN: the month of accounts.ai_go_live, else
    its first month with an AI task): account_id, name, tasks, go_live_month and source (what
    the month came from), its counts from the usage facts when they are current (a row per
    account, month and ai_enabled with tasks: the same count and first AI month as a scan of
    every task, which costs 1-2 s at 100M tasks). `where` is a fixed engine condition on the
    tasks' account_id (a scope), never text built from values."""
    return go_live_from(facts_table(wh), where)


def go_live_from(facts: str | None, where: str = "") -> str:
    """`go_live_sql` counted from the table `facts` (`facts_table`'s), or from every task (None)."""
    tasks, source = ("count(*)", "tasks") if facts is None else ("sum(tasks)::BIGINT", facts)
    return f"""(
  SELECT f.account_id, a.name, f.tasks,
         date_trunc('month', coalesce(a.ai_go_live, f.first_ai_month))::DATE AS go_live_month,
         CASE WHEN a.ai_go_live IS NOT NULL THEN 'accounts.ai_go_live'
              WHEN f.first_ai_month IS NOT NULL THEN 'first month with an AI task'
         END AS source
  FROM (SELECT account_id, {tasks} AS tasks, min(month) FILTER (WHERE ai_enabled) AS first_ai_month
        FROM {source} {where} GROUP BY account_id) AS f
  LEFT JOIN accounts a USING (account_id)
)"""


def _missing(what: str) -> ConfigError:
    return ConfigError(
        f"The usage has no {what}: make the metrics with the plans that need it "
        "(account_month_metrics(wh, d, costs, plans=planset.plans))."
    )


# ====================================================================== one account-month
@dataclass(frozen=True)
class Usage:
    """Exact measured usage of one account in one month (what the charges count).

    ``quantities`` holds every metric except ``seats_needed``, which depends on
    the charge's ``hours_per_seat`` and is derived from ``human_ms`` (human
    handling time in whole milliseconds, summed exactly). ``settled``: the
    outcomes metric per (settlement, window). ``by_values``: per `by_key`, the
    metric of each dimension value ('' for a missing or empty value); without a
    split every unit is of a value not listed (so it is billed at `default`).
    """

    quantities: Mapping[Metric, Decimal]
    human_ms: int = 0
    seat_price: Decimal = Decimal(0)
    settled: Mapping[tuple[str, int], Decimal] = field(default_factory=dict)
    by_values: Mapping[ByKey, Mapping[str, Decimal]] = field(default_factory=dict)
    saved_ms: Fraction | None = None  # DESIGN 11: labour saved (exact), for savings_usd
    hourly_cost: Decimal | None = None  # the account's agent_hourly_cost (None: the plan's default)

    def metric(self, charge: Charge) -> Decimal:
        if charge.metric is Metric.SEATS_NEEDED:
            return seats_needed(self.human_ms, charge.hours_per_seat)
        key = charge.settlement_key
        if key is not None:
            if key not in self.settled:
                raise _missing(f"settled outcomes for audit_settlement {key[0]!r}, window {key[1]}")
            return self.settled[key]
        return self.quantities.get(charge.metric, Decimal(0))

    def by_quantities(self, charge: Charge) -> list[tuple[str, Decimal]]:
        """(price key, quantity) per line of a charge priced by dimension: each listed value,
        then `default` with every other value (and the empty one)."""
        split = self.by_values.get(by_key(charge))
        if split is None:
            split = {"": self.metric(charge)}
        listed = charge.listed_values
        rest = sum((q for v, q in split.items() if v not in listed), Decimal(0))
        return [*((v, split.get(v, Decimal(0))) for v in listed), (DEFAULT_PRICE_KEY, rest)]


# ====================================================================== many account-months
@dataclass(frozen=True)
class BySplit:
    """One metric split by a dimension's values: ``micro[:, j]`` is value ``values[j]``."""

    values: tuple[str, ...]
    micro: np.ndarray  # (rows, values) int64 millionths


@dataclass(frozen=True)
class UsageArrays:
    """Usage of n account-months as exact integers (the backtest's input).

    ``micro``: every metric except seats_needed, in millionths of a unit
    (so input_tokens_m in micro units is simply the token count).
    ``human_ms``: human handling time in milliseconds; ``seat_price_micro``:
    each account's seat price in millionths of a dollar. ``settled``, ``by``:
    as on `Usage`. ``account``, ``month``, ``start``: per row an account code,
    a month number (year x 12 + month - 1) and the account's first charged month
    number, for terms that span months (rows sorted by account, then month).
    """

    micro: Mapping[Metric, np.ndarray]
    human_ms: np.ndarray
    seat_price_micro: np.ndarray
    settled: Mapping[tuple[str, int], np.ndarray] = field(default_factory=dict)
    by: Mapping[ByKey, BySplit] = field(default_factory=dict)
    account: np.ndarray | None = None
    month: np.ndarray | None = None
    start: np.ndarray | None = None
    saved_ms: np.ndarray | None = None  # DESIGN 11: per row, labour saved (Fraction objects)
    hourly_cost: np.ndarray | None = None  # per row, agent_hourly_cost (Decimal or None)

    def __len__(self) -> int:
        return len(self.human_ms)

    def metric_micro(self, charge: Charge) -> np.ndarray:
        if charge.metric is Metric.SEATS_NEEDED:
            return seats_needed_array(self.human_ms, charge.hours_per_seat) * MICRO
        key = charge.settlement_key
        if key is not None:
            if key not in self.settled:
                raise _missing(f"settled outcomes for audit_settlement {key[0]!r}, window {key[1]}")
            return self.settled[key]
        return self.micro[charge.metric]

    def by_micro(self, charge: Charge) -> list[tuple[str, np.ndarray]]:
        """(price key, micro quantities) per line of a charge priced by dimension (as on Usage)."""
        split = self.by.get(by_key(charge))
        if split is None:
            split = BySplit(("",), self.metric_micro(charge)[:, None])
        listed = charge.listed_values
        column = {v: j for j, v in enumerate(split.values)}
        zero = np.zeros(len(self), dtype=np.int64)
        lines = [(v, split.micro[:, column[v]] if v in column else zero) for v in listed]
        rest = [j for v, j in column.items() if v not in listed]
        lines.append((DEFAULT_PRICE_KEY, split.micro[:, rest].sum(axis=1) if rest else zero))
        return lines

    def row(self, i: int) -> Usage:
        """Row i as the Decimal usage a statement prices."""
        return Usage(
            quantities={m: Decimal(int(a[i])) / MICRO for m, a in self.micro.items()},
            human_ms=int(self.human_ms[i]),
            seat_price=(Decimal(int(self.seat_price_micro[i])) / MICRO).normalize(),
            settled={k: Decimal(int(a[i])) / MICRO for k, a in self.settled.items()},
            by_values={
                k: {v: Decimal(int(s.micro[i, j])) / MICRO for j, v in enumerate(s.values)}
                for k, s in self.by.items()
            },
            saved_ms=self.saved_ms[i] if self.saved_ms is not None else None,
            hourly_cost=self.hourly_cost[i] if self.hourly_cost is not None else None,
        )
