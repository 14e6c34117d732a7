"""A plan's terms and a definition's rules in words (pricing/words.py), as a report states them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from outcome_pricing.pricing import example_plans
from outcome_pricing.pricing.terms import Charge, Metric, Mode, Plan, Tier
from outcome_pricing.pricing.words import definition_in_words, plan_in_words, terms_in_words
from outcome_pricing.rules import Definition

FIN = Definition.preset("intercom-fin-2025")


@pytest.mark.parametrize(("plan", "words"), [
    (Plan("p", charges=(Charge(Metric.OUTCOMES, price=Decimal("0.99")),)), "$0.99 per resolved conversation"),
    (Plan("p", platform_fee=Decimal(1000), cap=Decimal(100), minimum=Decimal("12.50")),
     "a platform fee of $1,000 a month; a monthly minimum of $12.50; usage charges capped at $100 a month"),
    (Plan("p", charges=(Charge(Metric.OUTCOMES, included=Decimal(25),
                               tiers=(Tier(Decimal(1000), Decimal("0.99")), Tier(None, Decimal("0.79")))),)),
     "the first 25 resolved conversations a month free, then $0.99 per resolved conversation for the next "
     "1,000 a month, then $0.79 above 1,000 resolved conversations"),
    (Plan("p", charges=(Charge(Metric.OUTCOMES, mode=Mode.VOLUME,
                               tiers=(Tier(Decimal(50), Decimal("1.50")), Tier(None, Decimal(2)))),)),
     "every resolved conversation at one price by the month's count: $1.50 each when a month has up to 50, "
     "$2.00 each when a month has over 50"),
    (Plan("p", charges=(Charge(Metric.SEATS_NEEDED, price=Decimal(65)),)),
     "$65.00 per seat needed a month (one seat per 120 hours of human handling)"),
    (Plan("p"), "no charges"),
])
def test_plans_in_words(plan: Plan, words: str) -> None:
    assert plan_in_words(plan, FIN) == words


def test_the_issue_example_reads_as_the_issue_wrote_it() -> None:
    text = terms_in_words(example_plans().plan("per-outcome"), FIN)
    assert text.startswith("$0.99 per resolved conversation; ")
    assert "nothing for handoffs" in text and "a reopen within 7 days is not billed" in text


@pytest.mark.parametrize(("name", "parts"), [
    ("zendesk-ar", ["stays silent for 3 days", "only if a quality check verifies it", "nothing for handoffs"]),
    ("intercom-fin-2026", ["a handoff is billed only when the AI's context is passed on"]),
    ("strict", ["a satisfaction score below 4 is not billed", "an answer the AI had to correct is not billed"]),
    ("lenient", ["an issue is counted", "stays silent for 4 hours", "a handoff to a human is billed"]),
])
def test_definitions_in_words(name: str, parts: list[str]) -> None:
    text = definition_in_words(Definition.preset(name))
    for part in parts:
        assert part in text


def test_every_example_plan_has_words_and_a_plan_without_outcomes_no_definition() -> None:
    for plan in example_plans().plans:
        text = terms_in_words(plan, FIN)
        assert text and "None" not in text
        # the definition's rules are stated only where the plan bills outcomes
        assert ("is counted when the customer confirms it" in text) == plan.has_outcome_charge
