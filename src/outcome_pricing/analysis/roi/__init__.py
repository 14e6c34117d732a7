"""A customer's ROI case in the Forrester Total Economic Impact (TEI) shape.

Benefits, costs and a risk adjustment over a few years: the initial
investment sits at year 0 and is not discounted; later years are discounted
at year end (10% a year by default, Forrester's rate).

    NPV      = sum over y of net_y / (1 + r) ** y
    ROI      = (PV benefits - PV costs) / PV costs
    payback  = months until the cumulative (undiscounted) net cash flow covers
               the initial investment, interpolated linearly inside a year

Benefit lines are risk-adjusted exactly once: each line's gross amount times
(1 - its haircut), before anything is summed or discounted. Costs are not
haircut (TEI sometimes inflates costs; we keep them as billed).

Conventions (stated once so nothing is counted twice):
- Everything is incremental to the customer's situation today.
- Labour: hours saved = measured change in human minutes per task x projected
  tasks; valued at the agent hourly cost (wages, not licences).
- Seats: the change in seat spend is counted once, split in two lines.
  "Seats no longer needed" (a benefit, risk-adjusted) = seats_avoided x
  seat_price: licences dropped (separate from the wages above). "Remaining
  seat costs" (a cost) is what the plan changes for the seats kept: zero when
  the plan does not charge for seats (the customer pays today's licences for
  them before and after, so they are not incremental); when the plan charges
  for seats itself, its seat charges replace today's licences, so the line is
  plan seat charges - seats kept x seat_price (negative = the plan's seats are
  cheaper). The AI spend never includes seat charges.
- AI spend: the chosen plan billed (the charge arithmetic of the backtest and
  statements) for every projected month (spend.py): that month's tasks at the
  account's outcomes and tokens per AI task over its last three months under
  the chosen definition. Fees, allowances, tiers, minimums and caps are billed
  per month, never scaled by volume. An entered AI spend per task replaces the
  bill (tasks x that price).
- Deal terms (roi.deal, DESIGN 10 and 11), each a cost line of its own so NPV and
  payback count what the rows show: the month 0 of the projection is the go-live;
  free months (minus what they would have billed), gain-share (the share of the
  labour saved), the guarantee's expected credits (a risk reduction, roi.odds),
  the implementation the vendor funds, a prepaid commitment and its expected
  breakage (a memo row, inside the commitment). Outcomes with an audit
  settlement are billed settled (roi.settle).

Floats are fine here (a projection, not a statement); the report rounds to
whole dollars.
"""


from outcome_pricing.analysis.roi.assumptions import (
    DEFAULT_DISCOUNT_RATE,
    DEFAULT_RISK_ADJUSTMENT,
    DEFAULT_YEARS,
    MAX_YEARS,
    OVERRIDABLE,
    RISK_KEYS,
    SPECS,
    WHOLE_UNITS,
    Assumption,
    AssumptionSpec,
    Source,
    default_assumptions,
    entered,
    value_text,
)
from outcome_pricing.analysis.roi.cashflows import (
    CashFlows,
    Line,
    LineKind,
    YearFlow,
    cash_flows,
    payback_months,
    period_labels,
)
from outcome_pricing.analysis.roi.estimation import (
    UNPROVEN_RULE,
    CaseContext,
    account_ids,
    account_names,
    default_account,
)
from outcome_pricing.analysis.roi.result import RoiCase, SubjectKind, build_case, cash_flow_table
from outcome_pricing.analysis.roi.sensitivity import ScenarioResult, TornadoBar
from outcome_pricing.analysis.roi.subjects import (
    CaseSettings,
    Measured,
    Prospect,
    assemble_case,
    case_for_account,
    case_for_prospect,
    case_for_upload,
    editable_assumptions,
    load_prospect_logs,
    measure_account,
    measure_prospect,
)

__all__ = [
    "DEFAULT_DISCOUNT_RATE",
    "DEFAULT_RISK_ADJUSTMENT",
    "DEFAULT_YEARS",
    "MAX_YEARS",
    "OVERRIDABLE",
    "RISK_KEYS",
    "SPECS",
    "WHOLE_UNITS",
    "Assumption",
    "AssumptionSpec",
    "CaseContext",
    "CaseSettings",
    "CashFlows",
    "Line",
    "LineKind",
    "Measured",
    "Prospect",
    "RoiCase",
    "ScenarioResult",
    "Source",
    "SubjectKind",
    "TornadoBar",
    "UNPROVEN_RULE",
    "YearFlow",
    "account_ids",
    "account_names",
    "assemble_case",
    "build_case",
    "case_for_account",
    "case_for_prospect",
    "case_for_upload",
    "cash_flow_table",
    "cash_flows",
    "default_account",
    "default_assumptions",
    "editable_assumptions",
    "entered",
    "load_prospect_logs",
    "measure_account",
    "measure_prospect",
    "payback_months",
    "period_labels",
    "value_text",
]
