"""Exploring a definition: the funnel of its rules, two definitions compared, sensitivity.

The analyses of the definitions page, each answered through `evaluate` (so
from the cube whenever the knobs are on its grid).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from outcome_pricing.rules.definition import (
    KNOBS,
    KNOBS_BY_NAME,
    Definition,
    Knob,
    Reason,
    number_text,
)
from outcome_pricing.rules.evaluate import by_columns, outcomes, total_units
from outcome_pricing.rules.source import Source


def funnel(wh: Source, d: Definition) -> pd.DataFrame:
    """From all tasks to billable ones, one stage per rule that removes tasks.

    Columns: stage, tasks (still in the funnel), removed (by that stage's rule),
    reason (the code of the removed tasks), share (of all tasks).
    """
    total = outcomes(wh, d, by=()).iloc[0]
    stages = [
        ("All tasks", None),
        ("AI live", Reason.AI_NOT_LIVE),
        ("AI answered", Reason.NO_AI_ANSWER),
        ("Not reopened", Reason.REOPENED),
        ("CSAT acceptable", Reason.LOW_CSAT),
        ("No disqualifying AI error", Reason.CORRECTED_ERROR),
        ("Verified (if required)", Reason.UNVERIFIED),
        ("Not an unbilled handoff", Reason.HANDOFF),
        ("Resolved", Reason.NOT_RESOLVED),
        ("Billable", Reason.DISPUTED),
    ]
    left = int(total["tasks"])
    rows = []
    for stage, removed_by in stages:
        removed = int(total[removed_by.column]) if removed_by else 0
        left -= removed
        rows.append((stage, left, removed, removed_by.value if removed_by else ""))
    df = pd.DataFrame(rows, columns=["stage", "tasks", "removed", "reason"])
    df["share"] = df["tasks"] / max(int(total["tasks"]), 1)
    return df


def compare(wh: Source, a: Definition, b: Definition, by: str = "account_id") -> pd.DataFrame:
    """Billable units under `a` and `b` per account (or month), largest changes first.

    Columns: <by>, units_a, units_b, change (b - a), change_pct (of a; NaN when a is 0).
    """
    cols = by_columns((by,))
    left = outcomes(wh, a, by=cols)[[*cols, "billable_units"]]
    right = outcomes(wh, b, by=cols)[[*cols, "billable_units"]]
    df = left.merge(right, on=list(cols), how="outer", suffixes=("_a", "_b")).fillna(0.0)
    df = df.rename(columns={"billable_units_a": "units_a", "billable_units_b": "units_b"})
    df["change"] = df["units_b"] - df["units_a"]
    df["change_pct"] = df["change"] / df["units_a"].where(df["units_a"] != 0)
    return df.sort_values(["change", *cols], key=_abs_desc_first).reset_index(drop=True)


@dataclass(frozen=True)
class TotalsCompared:
    """Two definitions over the whole history: billable units and resolution rates, and how
    far `b` moves them from `a` (a rate is None where there are no tasks with the AI live)."""

    units_a: float
    units_b: float
    rate_a: float | None
    rate_b: float | None

    @property
    def change(self) -> float:
        """Billable units under `b` minus under `a`."""
        return self.units_b - self.units_a

    @property
    def rate_change(self) -> float | None:
        """Resolution rate under `b` minus under `a` (None when either rate is missing)."""
        return None if self.rate_a is None or self.rate_b is None else self.rate_b - self.rate_a


def compare_totals(wh: Source, a: Definition, b: Definition) -> TotalsCompared:
    """The whole history under `a` and `b`: the headline of `compare`."""
    ta, tb = (outcomes(wh, d, by=()).iloc[0] for d in (a, b))
    return TotalsCompared(float(ta["billable_units"]), float(tb["billable_units"]), _rate(ta), _rate(tb))


def _rate(total: pd.Series) -> float | None:
    return None if pd.isna(total["resolution_rate"]) else float(total["resolution_rate"])


def _abs_desc_first(s: pd.Series) -> pd.Series:
    return -s.abs() if s.name == "change" else s


def neighbours(d: Definition) -> list[tuple[str, str, Definition]]:
    """For each knob, the definition with that knob moved to its neighbouring values.

    Returns (knob, side, definition) with side "lower"/"higher" (or "other" for
    yes/no knobs). Numeric neighbours come from the knob's ladder of usual values.
    """
    out: list[tuple[str, str, Definition]] = []
    for knob in KNOBS:
        value = getattr(d, knob.name)
        if knob.kind is bool:
            out.append((knob.name, "other", d.with_knobs(**{knob.name: not value})))
            continue
        steps: Sequence[Any] = knob.choices or knob.ladder
        lower = [v for v in steps if _order(knob, v) < _order(knob, value)]
        higher = [v for v in steps if _order(knob, v) > _order(knob, value)]
        if lower:
            out.append((knob.name, "lower", d.with_knobs(**{knob.name: lower[-1]})))
        if higher:
            out.append((knob.name, "higher", d.with_knobs(**{knob.name: higher[0]})))
    return out


def _order(knob: Knob, value: Any) -> float:
    return float(knob.choices.index(value)) if knob.choices else float(value)


def sensitivity(wh: Source, d: Definition) -> pd.DataFrame:
    """Portfolio billable units when each knob moves to a neighbouring value (tornado).

    Columns: knob, label, side, value (as text), billable_units, base_units, change.
    """
    variants = neighbours(d)
    units = total_units(wh, [d, *(v for _, _, v in variants)])
    base = units[0]
    rows = [
        (knob, KNOBS_BY_NAME[knob].label, side, _show(getattr(v, knob)), u, base, u - base)
        for (knob, side, v), u in zip(variants, units[1:], strict=True)
    ]
    return pd.DataFrame(
        rows, columns=["knob", "label", "side", "value", "billable_units", "base_units", "change"]
    )


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return number_text(value) if isinstance(value, int | float) else str(value)
