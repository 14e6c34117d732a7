"""Sources a CFO can read (issue 14): plain words and rounded figures, whole tasks, and the
stated rule for a benefit whose likely range reaches zero."""

from __future__ import annotations

import re

import pytest

from outcome_pricing import pricing
from outcome_pricing.analysis import roi
from outcome_pricing.analysis.roi.estimation import UNPROVEN_RULE, impact_assumptions
from outcome_pricing.analysis.roi.spend import Scope
from outcome_pricing.proof.stats import Comparison
from outcome_pricing.reports import roi_report as report
from outcome_pricing.rules import load_definition

JARGON = re.compile(r"log-linear|shrunk|95% CI|n = |\d\.\d{4,}")


def comparison(diff: float, lo: float, hi: float, baseline: float = 10.0) -> Comparison:
    return Comparison("m", "minutes", "minutes", baseline, baseline + diff, diff, lo, hi, 0.01, 400, 600)


class Summary:
    """The two fields impact_assumptions reads, as an ImpactSummary carries them."""

    def __init__(self, minutes: Comparison, missed: Comparison) -> None:
        self.human_minutes_mix_adjusted = minutes
        self.human_minutes = minutes
        self.missed_issue_rate = missed


class TestTheRuleForAnUnprovenBenefit:
    def test_a_saving_whose_range_reaches_zero_is_counted_as_zero_and_says_so(self) -> None:
        got = impact_assumptions(Summary(comparison(-2.0, -4.0, 0.5), comparison(-0.01, -0.03, 0.01, 0.1)),
                                 Scope.ACCOUNT)  # type: ignore[arg-type]
        minutes = got["minutes_saved_per_task"]
        assert minutes.value == 0.0 and (minutes.ci_low, minutes.ci_high) == (-0.5, 4.0)
        assert "counted as 0" in minutes.source_text()
        assert got["missed_issue_reduction"].value == 0.0

    def test_a_saving_clear_of_zero_is_kept(self) -> None:
        got = impact_assumptions(Summary(comparison(-2.0, -2.6, -1.4), comparison(0.02, 0.01, 0.03, 0.1)),
                                 Scope.ACCOUNT)  # type: ignore[arg-type]
        assert got["minutes_saved_per_task"].value == pytest.approx(2.0)
        text = got["minutes_saved_per_task"].source_text()
        assert text == ("measured from this account's 1,000 tasks (10.0 minutes of human handling a task "
                        "without the AI, 8.0 with it, same mix of topics): 2.0 minutes saved per task, "
                        "likely between 1.4 and 2.6")
        # worse with the AI, and clearly so: kept as a negative benefit, never haircut away
        assert got["missed_issue_reduction"].value == pytest.approx(-0.02)
        assert "more tasks with a missed issue" in got["missed_issue_reduction"].source_text()

    def test_the_report_states_the_rule(self) -> None:
        case = roi.build_case({k: roi.entered(k, v) for k, v in {"monthly_volume": 1000}.items()}, subject="x")
        assert UNPROVEN_RULE in report.render_html(case).replace("&#x27;", "'")


def test_a_case_from_the_logs_reads_in_plain_words(demo_wh) -> None:  # noqa: ANN001
    ctx = roi.CaseContext(pricing.example_plans(), "per-outcome", load_definition("intercom-fin-2025"))
    case = roi.case_for_account(demo_wh, "A0002", ctx)
    for a in case.assumptions.values():
        assert not JARGON.search(a.source_text()), (a.key, a.source_text())
    volume = case.assumptions["monthly_volume"]
    assert volume.value.is_integer()
    assert f"{volume.value:,.0f} tasks a month" in volume.source_text()
    assert "likely between" in case.assumptions["minutes_saved_per_task"].source_text()
    assert case.plan_terms.startswith("$0.99 per resolved conversation")
