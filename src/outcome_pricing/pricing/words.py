"""A plan's terms and a definition's rules in words, as a customer reads them.

"$0.99 per resolved conversation; nothing for handoffs; a reopen within 3 days
is not billed": what a report, a brief or an offer states next to the plan's
name, so nobody has to read TOML or a version hash to know the price. One
function each (`plan_in_words`, `definition_in_words`) and their join
(`terms_in_words`); every figure comes from the terms themselves.
"""

from __future__ import annotations

from decimal import Decimal

from outcome_pricing.kit.money import price_text
from outcome_pricing.pricing.terms import DIMENSION_WORDS, Charge, Metric, Mode, Plan, Tier
from outcome_pricing.rules import Definition

# What one unit of each metric is called, in the singular, after "per".
UNIT_NAMES = {
    Metric.SEATS: "contracted seat a month",
    Metric.SEATS_NEEDED: "seat needed a month",
    Metric.CONVERSATIONS: "conversation the AI takes on",
    Metric.INPUT_TOKENS_M: "million input tokens",
    Metric.OUTPUT_TOKENS_M: "million output tokens",
    Metric.TASKS: "task",
    Metric.SAVINGS_USD: "dollar of labour the AI saved",
}
PLURAL_NAMES = {
    Metric.SEATS: "seats",
    Metric.SEATS_NEEDED: "seats needed",
    Metric.CONVERSATIONS: "conversations",
    Metric.INPUT_TOKENS_M: "million input tokens",
    Metric.OUTPUT_TOKENS_M: "million output tokens",
    Metric.TASKS: "tasks",
    Metric.SAVINGS_USD: "dollars of labour the AI saved",
}


def _number(value: Decimal) -> str:
    """1,000 or 2.5: a count as people write it."""
    text = f"{value.normalize():,f}"
    return text


def _hours(hours: float) -> str:
    """48 -> '2 days', 24 -> '1 day', 36 -> '36 hours'."""
    if hours >= 24 and hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day{'s' if days != 1 else ''}"
    shown = f"{hours:g}"
    return f"{shown} hour{'s' if hours != 1 else ''}"


def outcome_name(d: Definition | None, plural: bool = False) -> str:
    """'resolved conversation' or 'resolved issue' (the definition's unit); 'outcome' without one."""
    if d is None:
        return "outcomes" if plural else "outcome"
    noun = "issue" if d.unit == "issue" else "conversation"
    return f"resolved {noun}{'s' if plural else ''}"


def _unit(charge: Charge, d: Definition | None, plural: bool = False) -> str:
    if charge.metric is Metric.OUTCOMES:
        return outcome_name(d, plural)
    return (PLURAL_NAMES if plural else UNIT_NAMES)[charge.metric]


def _amount(value: Decimal) -> str:
    """A fee, minimum or cap: $49, $25,000, $12.50 (cents only when there are some)."""
    return f"${value:,.0f}" if value == value.to_integral_value() else price_text(value)


def _tiers(charge: Charge, d: Definition | None) -> str:
    unit = _unit(charge, d)
    parts: list[str] = []
    low = Decimal(0)
    if charge.mode is Mode.VOLUME:
        for tier in charge.tiers:
            span = f"up to {_number(tier.up_to)}" if tier.up_to is not None else f"over {_number(low)}"
            parts.append(f"{price_text(tier.price)} each when a month has {span}{_flat(tier)}")
            low = tier.up_to if tier.up_to is not None else low
        return f"every {unit} at one price by the month's count: " + ", ".join(parts)
    return ", then ".join(_graduated(charge, d))


def _flat(tier: Tier) -> str:
    return f" plus {_amount(tier.flat)} for reaching it" if tier.flat > 0 else ""


def _graduated(charge: Charge, d: Definition | None) -> list[str]:
    unit = _unit(charge, d)
    many = _unit(charge, d, plural=True)
    parts: list[str] = []
    low = Decimal(0)
    for i, tier in enumerate(charge.tiers):
        if i == 0:
            first = "next" if charge.included > 0 else "first"
            where = f"for the {first} {_number(tier.up_to)} a month" if tier.up_to is not None else ""
            parts.append(f"{price_text(tier.price)} per {unit} {where}".strip())
        elif tier.up_to is not None:
            parts.append(f"{price_text(tier.price)} from {_number(low)} to {_number(tier.up_to)}")
        else:
            parts.append(f"{price_text(tier.price)} above {_number(low)} {many}")
        parts[-1] += _flat(tier)
        low = tier.up_to if tier.up_to is not None else low
    return parts


def charge_in_words(charge: Charge, d: Definition | None = None) -> str:
    """One charge: '$0.99 per resolved conversation', '$65.00 per seat needed a month (one per
    120 hours of human handling)', 'the first 25 resolved conversations a month free, then ...'."""
    if charge.account_price:
        text = f"each {_unit(charge, d).removesuffix(' a month')} at the account's current seat price a month"
    elif charge.tiers:
        text = _tiers(charge, d)
    elif charge.by is not None:  # prices by dimension (DESIGN 10): one price per value, `default` for the rest
        listed = [f"{price_text(charge.price_of(v))} on {v}" for v in charge.listed_values]
        rest = price_text(charge.price_of("default"))
        what = DIMENSION_WORDS[charge.by.value]
        text = f"per {_unit(charge, d)} by {what}: " + ", ".join([*listed, f"{rest} on any other {what}"])
    else:
        text = f"{price_text(charge.price or Decimal(0))} per {_unit(charge, d)}"
    if charge.metric is Metric.SEATS_NEEDED:
        text += f" (one seat per {_number(charge.hours_per_seat)} hours of human handling)"
    if charge.block is not None:
        text += f" (billed in whole blocks of {_number(charge.block)}: prices are per block)"
    if charge.included > 0:
        text = f"the first {_number(charge.included)} {_unit(charge, d, plural=True)} a month free, then {text}"
    settlement = str(getattr(charge, "audit_settlement", "none"))
    if settlement != "none":
        which = "its upper bound" if settlement == "upper_bound" else "its estimate"
        text += (f", less the audited false-resolution rate ({which}, over "
                 f"{getattr(charge, 'audit_window_months', 3)} months)")
    return text


def plan_in_words(plan: Plan, d: Definition | None = None) -> str:
    """The whole plan in one line: its charges, platform fee, minimum and cap."""
    parts = [charge_in_words(c, d) for c in plan.charges]
    if plan.platform_fee > 0:
        parts.append(f"a platform fee of {_amount(plan.platform_fee)} a month")
    if plan.minimum > 0:
        parts.append(f"a monthly minimum of {_amount(plan.minimum)}")
    if plan.cap > 0:
        parts.append(f"usage charges capped at {_amount(plan.cap)} a month")
    if plan.commitment is not None:
        c = plan.commitment
        every = "a month" if c.months == 1 else f"every {c.months} months"
        rest = (f"up to {c.rollover_max_pct * 100:.0f}% of it rolls over" if c.rollover
                else "the rest expires at the period's end")
        parts.append(f"a prepaid commitment of {_amount(c.amount)} {every}, drawn down by usage ({rest})")
    parts.extend(_deal_in_words(plan))
    return "; ".join(parts) if parts else "no charges"


def _deal_in_words(plan: Plan) -> list[str]:
    """The risk-sharing terms (DESIGN 11): when charging starts, a funded deployment, a guarantee."""
    deal = getattr(plan, "deal", None)
    if deal is None:
        return []
    out = []
    go_live = str(deal.charge_from) == "go_live"
    if deal.free_months:
        months = f"{deal.free_months} month{'s' if deal.free_months != 1 else ''}"
        out.append(f"the first {months} {'after the AI goes live ' if go_live else ''}free")
    elif go_live:
        out.append("charged from the month the AI goes live")
    if deal.implementation_cost > 0:
        out.append(f"the deployment ({_amount(deal.implementation_cost)}) funded by the vendor")
    g = deal.guarantee
    if g is not None:
        out.append(f"a credit of {g.credit_pct * 100:.0f}% of the outcome charges for every {g.window_months}-month "
                   f"window whose resolution rate is below {g.min_resolution_rate * 100:.0f}%")
    return out


def definition_in_words(d: Definition) -> str:
    """What counts as a billable outcome under ``d``, in a few short clauses."""
    noun = "issue" if d.unit == "issue" else "conversation"
    counts = "counted when the customer confirms it"
    if d.assumed_resolution:
        counts += f" or stays silent for {_hours(d.silence_hours)}"
    parts = [f"{'an' if noun == 'issue' else 'a'} {noun} is {counts}"]
    if d.require_verification:
        parts.append("only if a quality check verifies it")
    if d.handoff == "always":
        parts.append("a handoff to a human is billed")
    elif d.handoff == "with_context":
        parts.append("a handoff is billed only when the AI's context is passed on")
    elif d.partial_credit <= 0:
        parts.append("nothing for handoffs")
    if d.partial_credit > 0 and d.handoff != "always":
        parts.append(f"other handoffs billed at {d.partial_credit:.0%}")
    if d.reopen_window_hours > 0:
        parts.append(f"a reopen within {_hours(d.reopen_window_hours)} is not billed")
    if d.min_csat > 0:
        parts.append(f"a satisfaction score below {d.min_csat} is not billed")
    if not d.count_corrected_errors:
        parts.append("an answer the AI had to correct is not billed")
    window = getattr(d, "dispute_window_days", 0)  # a later knob (billing as it happened)
    if window:
        parts.append(f"an accepted dispute within {window} days of the month's end voids it")
    return "; ".join(parts)


def terms_in_words(plan: Plan, d: Definition) -> str:
    """The price and the rules that decide what it is paid for, for a report's headline."""
    text = plan_in_words(plan, d)
    if plan.has_outcome_charge:
        text += "; " + definition_in_words(d)
    return text
