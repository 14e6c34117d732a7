"""The rules of `sql.py` over the cube's input profiles, in numpy: a definition change asks
the database nothing.

The profiles (`cube.PROFILES_TABLE`, about 6,000 rows on the 10M demo) are read once per
cube build; a definition's reason per profile is then a handful of array comparisons
(about 0.1 ms) instead of a SQL round trip (about 3 ms). The comparisons are those of
`reason_sql`, SQL's NULL logic included: a WHEN whose condition is NULL is not taken, so a
NULL boolean is neither true nor false here, and a NULL hour or csat (NaN) fails every
comparison. tests/test_profile_rules.py checks this against `reason_sql` run by DuckDB on
the same profiles, and against the plain-Python reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from outcome_pricing.rules.definition import HandoffRule, Reason
from outcome_pricing.warehouse import cube

# The boolean inputs of the rules, as the profiles store them (NULL allowed).
FLAGS = ("ai_enabled", "ai_answered", "handoff", "context_retained", "customer_confirmed",
         "verified", "ai_error_corrected")
NUMBERS = ("csat", "gap_hours", "quiet_hours")


@dataclass(frozen=True)
class ProfileInputs:
    """Per profile p (index p): where each boolean input is TRUE and where it is FALSE (a
    NULL is neither), and the numeric inputs as float64 with NULL as NaN."""

    yes: Mapping[str, np.ndarray]
    no: Mapping[str, np.ndarray]
    numbers: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.numbers["csat"])


def read_profile_inputs(cur: duckdb.DuckDBPyConnection, table: str = cube.PROFILES_TABLE) -> ProfileInputs:
    """The profiles of `table` (columns p, numbered from 0, and the inputs), placed by p."""
    found = cur.execute(f"SELECT p, {', '.join(FLAGS + NUMBERS)} FROM {table}").fetchnumpy()
    p = np.asarray(found["p"], dtype="int64")
    n = len(p)

    def placed(values: np.ndarray, fill: Any) -> np.ndarray:
        out = np.full(n, fill, dtype=values.dtype)
        out[p] = values
        return out

    yes, no = {}, {}
    for name in FLAGS:
        column = np.ma.asarray(found[name])
        known = ~np.ma.getmaskarray(column)
        values = np.asarray(np.ma.filled(column, False), dtype=bool)
        yes[name] = placed(known & values, False)
        no[name] = placed(known & ~values, False)
    numbers = {name: placed(np.asarray(np.ma.filled(np.ma.asarray(found[name]).astype("float64"), np.nan)), np.nan)
               for name in NUMBERS}
    return ProfileInputs(yes, no, numbers)


def profile_reasons(inputs: ProfileInputs, params: Mapping[str, Any], p: str) -> np.ndarray:
    """The reason code (rule order) per profile under the knobs `params` (named `<p>...`, as
    `sql.knob_params` and `cube_read.variant_params` give them): `reason_sql`'s CASE."""
    yes, no, x = inputs.yes, inputs.no, inputs.numbers
    window, min_csat, silence = float(params[f"{p}window"]), int(params[f"{p}min_csat"]), float(params[f"{p}silence"])
    handoff_rule = str(params[f"{p}handoff"])
    n = len(inputs)
    none = np.zeros(n, dtype=bool)
    with np.errstate(invalid="ignore"):  # NaN (NULL) compares false, as `IS NOT NULL AND ...`
        reopened = (x["gap_hours"] <= window) if window > 0 else none
        low_csat = (x["csat"] < min_csat) if min_csat > 0 else none
        assumed = (x["quiet_hours"] >= silence) if bool(params[f"{p}assumed"]) else none
    billed_handoff = (
        yes["handoff"] if handoff_rule == HandoffRule.ALWAYS
        else yes["handoff"] & yes["context_retained"] if handoff_rule == HandoffRule.WITH_CONTEXT
        else none
    )
    # np.select takes the first condition that holds: the CASE's first WHEN taken.
    rules = [
        (no["ai_enabled"], Reason.AI_NOT_LIVE),
        (no["ai_answered"], Reason.NO_AI_ANSWER),
        (reopened, Reason.REOPENED),
        (low_csat, Reason.LOW_CSAT),
        (yes["ai_error_corrected"] if not bool(params[f"{p}count_corrected"]) else none, Reason.CORRECTED_ERROR),
        (no["verified"] if bool(params[f"{p}require_verification"]) else none, Reason.UNVERIFIED),
        (billed_handoff, Reason.HANDOFF_BILLED),
        (yes["handoff"] if float(params[f"{p}partial"]) > 0 else none, Reason.HANDOFF_PARTIAL),
        (yes["handoff"], Reason.HANDOFF),
        (yes["customer_confirmed"], Reason.CONFIRMED),
        (assumed, Reason.ASSUMED),
    ]
    reasons: np.ndarray = np.select([c for c, _ in rules], [r.code for _, r in rules], Reason.NOT_RESOLVED.code)
    return reasons.astype("int64", copy=False)


def variant_reasons(inputs: ProfileInputs, variants: list[dict[str, Any]]) -> np.ndarray:
    """Reasons per variant (rows) and profile: `cube_read.variant_params`'s variants, each
    named with its own prefix (the text before `window`)."""
    out = np.empty((len(variants), len(inputs)), dtype="int64")
    for i, params in enumerate(variants):
        prefix = next(name for name in params if name.endswith("window"))[: -len("window")]
        out[i] = profile_reasons(inputs, params, prefix)
    return out
