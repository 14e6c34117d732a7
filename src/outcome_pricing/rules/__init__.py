"""The rules: what counts as "resolved" (DESIGN section 4).

`definition` is the model (knobs, presets, TOML, version), `sql` the one CASE
expression, `evaluate` outcomes and evidence, `explore` the analyses of the
definitions page. Import from here: `from outcome_pricing.rules import Definition`.
"""

from __future__ import annotations

from outcome_pricing.rules.definition import (
    BILLABLE_REASONS,
    DEFAULT_PRESET,
    EVIDENCE_FIELDS,
    KNOB_NAMES,
    KNOBS,
    REASON_TEXT,
    REASONS,
    RESOLVED_REASONS,
    Definition,
    HandoffRule,
    Knob,
    Reason,
    Unit,
    definition_record,
    knobs_from_text,
    knobs_to_text,
    load_definition,
    presets,
)
from outcome_pricing.rules.evaluate import (
    GROUP_COLUMNS,
    answered_from_cube,
    outcomes,
    outcomes_from_tasks,
    unit_counts,
)
from outcome_pricing.rules.evidence import evaluate_tasks, explain_reason
from outcome_pricing.rules.explore import (
    TotalsCompared,
    compare,
    compare_totals,
    funnel,
    neighbours,
    sensitivity,
)
from outcome_pricing.rules.source import Source

__all__ = [
    "BILLABLE_REASONS",
    "DEFAULT_PRESET",
    "EVIDENCE_FIELDS",
    "GROUP_COLUMNS",
    "KNOBS",
    "KNOB_NAMES",
    "REASONS",
    "REASON_TEXT",
    "RESOLVED_REASONS",
    "Definition",
    "HandoffRule",
    "Knob",
    "Reason",
    "Source",
    "TotalsCompared",
    "Unit",
    "answered_from_cube",
    "compare",
    "compare_totals",
    "definition_record",
    "evaluate_tasks",
    "explain_reason",
    "funnel",
    "knobs_from_text",
    "knobs_to_text",
    "load_definition",
    "neighbours",
    "outcomes",
    "outcomes_from_tasks",
    "presets",
    "sensitivity",
    "unit_counts",
]
