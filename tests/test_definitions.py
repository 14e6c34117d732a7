"""Definitions of "resolved": knobs, version hash, presets, TOML, each rule, and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from outcome_pricing import Definition as ExportedDefinition
from outcome_pricing.cli import cli
from outcome_pricing.errors import ConfigError
from outcome_pricing.rules import (
    DEFAULT_PRESET,
    EVIDENCE_FIELDS,
    REASONS,
    Definition,
    Reason,
    compare,
    compare_totals,
    evaluate_tasks,
    funnel,
    load_definition,
    neighbours,
    outcomes,
    presets,
    sensitivity,
)
from outcome_pricing.warehouse.handle import Warehouse
from tests.reference import reference_rule
from tests.rows import load_tasks
from tests.strategies import definitions

# Pinned: a change here means every statement printed so far shows another version.
PRESET_VERSIONS = {
    "intercom-fin-2025": "5b5b8c7972",
    "intercom-fin-2026": "d6f688a45c",
    "lenient": "34fbb0e0d0",
    "strict": "235384241f",
    "zendesk-ar": "d2e5103109",
}


class TestKnobs:
    def test_python_api_exports_definition(self) -> None:
        assert ExportedDefinition is Definition

    def test_defaults_are_valid(self) -> None:
        d = Definition()
        assert d.unit == "conversation" and d.handoff == "never"

    @pytest.mark.parametrize(
        ("knobs", "key", "allowed"),
        [
            ({"silence_hours": -1}, "silence_hours", "from 0 to 10,000"),
            ({"reopen_window_hours": 20_000}, "reopen_window_hours", "from 0 to 10,000"),
            ({"partial_credit": 1.5}, "partial_credit", "from 0 to 1"),
            ({"min_csat": 6}, "min_csat", "whole number from 0 to 5"),
            ({"min_csat": 2.5}, "min_csat", "whole number"),
            ({"unit": "ticket"}, "unit", '"conversation", "issue"'),
            ({"handoff": "sometimes"}, "handoff", '"never", "with_context", "always"'),
            ({"silence_hours": "24"}, "silence_hours", "a number"),
            ({"silence_hours": True}, "silence_hours", "a number"),
            ({"assumed_resolution": "yes"}, "assumed_resolution", "true or false"),
            ({"silence_hours": float("nan")}, "silence_hours", "a number"),
        ],
    )
    def test_bad_value_is_refused_naming_key_and_allowed_values(
        self, knobs: dict[str, Any], key: str, allowed: str
    ) -> None:
        with pytest.raises(ConfigError) as err:
            Definition(**knobs)
        assert f"'{key}'" in str(err.value) and allowed in str(err.value)

    def test_empty_name_is_refused(self) -> None:
        with pytest.raises(ConfigError, match="'name'"):
            Definition(name=" ")

    def test_with_knobs_validates_too(self) -> None:
        with pytest.raises(ConfigError, match="partial_credit"):
            Definition().with_knobs(partial_credit=-0.1)


class TestVersion:
    def test_same_knobs_in_any_order_and_name_give_the_same_version(self) -> None:
        a = Definition.from_toml_text('name = "a"\nsilence_hours = 72\nunit = "issue"\n')
        b = Definition.from_toml_text('unit = "issue"\nname = "b"\nsilence_hours = 72.0\n')
        assert a.version == b.version and a.name != b.name

    def test_any_knob_change_changes_the_version(self) -> None:
        base = Definition()
        versions = {base.version} | {v.version for _, _, v in neighbours(base)}
        assert len(versions) == 1 + len(neighbours(base))

    def test_version_is_ten_hex_characters(self) -> None:
        assert len(Definition().version) == 10
        int(Definition().version, 16)


class TestPresets:
    def test_the_five_presets_ship_with_stable_distinct_versions(self) -> None:
        assert {n: d.version for n, d in presets().items()} == PRESET_VERSIONS

    @pytest.mark.parametrize("name", sorted(PRESET_VERSIONS))
    def test_each_preset_has_a_one_line_description(self, name: str) -> None:
        d = Definition.preset(name)
        assert d.name == name and d.description and "\n" not in d.description

    @pytest.mark.parametrize("name", ["intercom-fin-2025", "intercom-fin-2026", "zendesk-ar"])
    def test_vendor_presets_say_they_are_modelled_on_public_descriptions(self, name: str) -> None:
        assert "modelled on public descriptions, not the vendor's own rules" in presets()[name].description

    def test_vendor_presets_follow_the_published_shape(self) -> None:
        fin25, fin26, zd = (presets()[n] for n in ("intercom-fin-2025", "intercom-fin-2026", "zendesk-ar"))
        assert (fin25.silence_hours, fin25.handoff, fin25.reopen_window_hours > 0) == (24, "never", True)
        assert fin26.with_knobs(name=fin25.name, description=fin25.description, handoff="never") == fin25
        assert fin26.handoff == "with_context"
        assert (zd.silence_hours, zd.require_verification, zd.handoff, zd.partial_credit) == (72, True, "never", 0)

    def test_the_default_definition_is_the_default_preset(self) -> None:
        assert DEFAULT_PRESET == "intercom-fin-2025"
        assert Definition.default() == presets()[DEFAULT_PRESET]

    def test_unknown_preset_lists_the_presets(self) -> None:
        with pytest.raises(ConfigError, match="zendesk-ar"):
            Definition.preset("zendesk")


class TestToml:
    @settings(max_examples=40, deadline=None)
    @given(d=definitions, name=st.text(min_size=1, max_size=20).filter(str.strip))
    def test_round_trip_gives_an_equal_definition(self, d: Definition, name: str) -> None:
        d = d.with_knobs(name=name, description='says "hi" \\ there')
        back = Definition.from_toml_text(d.to_toml())
        assert back == d and back.version == d.version

    def test_toml_shows_the_version(self) -> None:
        d = Definition.preset("zendesk-ar")
        assert d.version in d.to_toml()

    def test_unknown_key_is_refused_with_the_allowed_keys(self) -> None:
        with pytest.raises(ConfigError) as err:
            Definition.from_toml_text('silence_hour = 24\n', source="contract.toml")
        text = str(err.value)
        assert "contract.toml" in text and "'silence_hour'" in text and "silence_hours" in text

    def test_bad_value_in_a_file_names_the_file_and_key(self, tmp_path: Path) -> None:
        path = tmp_path / "def.toml"
        path.write_text('handoff = "maybe"\n')
        with pytest.raises(ConfigError) as err:
            Definition.from_toml(path)
        assert str(path) in str(err.value) and "'handoff'" in str(err.value)

    def test_invalid_toml_syntax_is_a_config_error(self) -> None:
        with pytest.raises(ConfigError, match="not valid TOML"):
            Definition.from_toml_text("unit = ")

    def test_missing_file_is_a_config_error(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="Cannot read"):
            Definition.from_toml(tmp_path / "none.toml")

    def test_load_definition_reads_a_preset_or_a_file(self, tmp_path: Path) -> None:
        path = tmp_path / "mine.toml"
        path.write_text(Definition(name="mine", min_csat=3).to_toml())
        assert load_definition("strict") == presets()["strict"]
        assert load_definition(str(path)).min_csat == 3
        with pytest.raises(ConfigError, match="intercom-fin-2025"):
            load_definition("no-such-thing")


# ----------------------------------------------------------------------------- each rule, in order
# A task that is a confirmed resolution under the default definition; each case changes
# one thing so that exactly one earlier rule decides.
RULE_CASES: list[tuple[str, dict[str, Any], dict[str, Any], Reason, float]] = [
    ("ai_not_live", {"ai_enabled": False, "ai_answered": False}, {}, Reason.AI_NOT_LIVE, 0.0),
    ("no_answer", {"ai_answered": False}, {}, Reason.NO_AI_ANSWER, 0.0),
    ("reopened", {"_reopen_after_hours": 5}, {"reopen_window_hours": 24}, Reason.REOPENED, 0.0),
    ("reopen_ignored", {"_reopen_after_hours": 5}, {"reopen_window_hours": 0}, Reason.CONFIRMED, 1.0),
    ("reopen_late", {"_reopen_after_hours": 30}, {"reopen_window_hours": 24}, Reason.CONFIRMED, 1.0),
    ("low_csat", {"csat": 2}, {"min_csat": 3}, Reason.LOW_CSAT, 0.0),
    ("missing_csat_never_voids", {"csat": None}, {"min_csat": 5}, Reason.CONFIRMED, 1.0),
    ("corrected_error", {"ai_error_corrected": True}, {"count_corrected_errors": False}, Reason.CORRECTED_ERROR, 0.0),
    ("corrected_error_counts", {"ai_error_corrected": True}, {}, Reason.CONFIRMED, 1.0),
    ("unverified", {"verified": None}, {"require_verification": True}, Reason.UNVERIFIED, 0.0),
    ("handoff_always", {"handoff": True}, {"handoff": "always"}, Reason.HANDOFF_BILLED, 1.0),
    ("handoff_context", {"handoff": True, "context_retained": True}, {"handoff": "with_context"}, Reason.HANDOFF_BILLED, 1.0),
    ("handoff_no_context", {"handoff": True, "context_retained": False}, {"handoff": "with_context", "partial_credit": 0.3}, Reason.HANDOFF_PARTIAL, 0.3),
    ("handoff_free", {"handoff": True}, {"handoff": "never"}, Reason.HANDOFF, 0.0),
    ("handoff_one_outcome_at_most", {"handoff": True, "n_issues": 3, "n_issues_resolved": 3}, {"handoff": "always", "unit": "issue"}, Reason.HANDOFF_BILLED, 1.0),
    ("confirmed_per_issue", {"n_issues": 3, "n_issues_resolved": 2}, {"unit": "issue"}, Reason.CONFIRMED, 2.0),
    ("issue_missing_resolved_uses_n_issues", {"n_issues": 3, "n_issues_resolved": None}, {"unit": "issue"}, Reason.CONFIRMED, 3.0),
    ("issue_zero_resolved_still_one", {"n_issues": 2, "n_issues_resolved": 0}, {"unit": "issue"}, Reason.CONFIRMED, 1.0),
    ("assumed", {"customer_confirmed": False, "quiet_hours": 24.0}, {"silence_hours": 24}, Reason.ASSUMED, 1.0),
    ("quiet_too_short", {"customer_confirmed": False, "quiet_hours": 23.9}, {"silence_hours": 24}, Reason.NOT_RESOLVED, 0.0),
    ("assumed_off", {"customer_confirmed": False, "quiet_hours": 99.0}, {"assumed_resolution": False}, Reason.NOT_RESOLVED, 0.0),
    ("asked_for_more_help", {"customer_confirmed": None, "quiet_hours": None}, {}, Reason.NOT_RESOLVED, 0.0),
]


def _rows_for(task: dict[str, Any]) -> list[dict[str, Any]]:
    """The task, plus a later one from the same requester and topic when a reopen is wanted."""
    task = dict(task)
    after = task.pop("_reopen_after_hours", None)
    rows = [{"task_id": "T1", **task}]
    if after is not None:
        start = dt.datetime(2025, 1, 10, 10) + dt.timedelta(hours=after)
        rows.append({"task_id": "T2", "created_at": start, "closed_at": start, "ai_enabled": False})
    return rows


class TestRulesInOrder:
    @pytest.mark.parametrize(
        ("task", "knobs", "reason", "units"),
        [c[1:] for c in RULE_CASES],
        ids=[c[0] for c in RULE_CASES],
    )
    def test_first_deciding_rule_gives_the_reason_and_units(
        self, task: dict[str, Any], knobs: dict[str, Any], reason: Reason, units: float
    ) -> None:
        d = Definition(**knobs)
        with Warehouse.in_memory() as wh:
            load_tasks(wh, _rows_for(task))
            row = evaluate_tasks(wh, d, task_ids=["T1"]).iloc[0]
            total = outcomes(wh, d, by=())
        assert (row["reason"], row["billable_units"]) == (reason.value, units)
        assert total[reason.column].iloc[0] >= 1
        gap = row["reopen_gap_hours"]
        expected = reference_rule(row.to_dict(), None if gap != gap else gap, d)
        assert expected == (reason, units)

    def test_reason_codes_are_in_rule_order(self) -> None:
        assert [r.value for r in REASONS][:6] == [
            "ai_not_live", "no_ai_answer", "reopened", "low_csat", "corrected_error", "unverified",
        ]
        # Section 8's codes come after the ten rules, so the older codes keep their numbers.
        assert REASONS[11] is Reason.NOT_RESOLVED and len(REASONS) == 14
        assert REASONS[12:] == (Reason.DISPUTED, Reason.PENDING)


# ----------------------------------------------------------------------------- analyses on the demo
class TestAnalyses:
    def test_evidence_has_the_fields_the_rules_read(self, demo_wh: Warehouse) -> None:
        df = evaluate_tasks(demo_wh, presets()["zendesk-ar"], reason="unverified", limit=5)
        assert len(df) == 5 and set(df["reason"]) == {"unverified"}
        assert set(EVIDENCE_FIELDS) <= set(df.columns)

    def test_evidence_filters_by_account_and_month(self, demo_wh: Warehouse) -> None:
        d = presets()["intercom-fin-2025"]
        some = evaluate_tasks(demo_wh, d, limit=1).iloc[0]
        month = some["month"].strftime("%Y-%m")
        df = evaluate_tasks(demo_wh, d, account_id=some["account_id"], month=month)
        per_account = outcomes(demo_wh, d)
        mine = per_account[(per_account.account_id == some["account_id"]) & (per_account.month == some["month"])]
        assert len(df) == int(mine["tasks"].iloc[0])
        assert df["billable_units"].sum() == pytest.approx(float(mine["billable_units"].iloc[0]))

    def test_unknown_reason_filter_lists_the_codes(self, demo_wh: Warehouse) -> None:
        with pytest.raises(ConfigError, match="not_resolved"):
            evaluate_tasks(demo_wh, Definition(), reason="resolved")

    def test_bad_grouping_is_refused(self, demo_wh: Warehouse) -> None:
        with pytest.raises(ConfigError, match="account_id, month"):
            outcomes(demo_wh, Definition(), by=("topic",))

    def test_funnel_ends_at_the_billable_tasks(self, demo_wh: Warehouse) -> None:
        d = presets()["intercom-fin-2026"]
        f = funnel(demo_wh, d)
        total = outcomes(demo_wh, d, by=()).iloc[0]
        billable = sum(int(total[r.column]) for r in REASONS if r.value in
                       ("handoff_billed", "handoff_partial", "confirmed", "assumed"))
        assert f["tasks"].iloc[0] == total["tasks"] and f["tasks"].iloc[-1] == billable
        assert f["tasks"].is_monotonic_decreasing

    def test_compare_gives_each_accounts_change(self, demo_wh: Warehouse) -> None:
        a, b = presets()["strict"], presets()["lenient"]
        df = compare(demo_wh, a, b)
        assert df["change"].sum() == pytest.approx(
            outcomes(demo_wh, b, by=())["billable_units"].iloc[0]
            - outcomes(demo_wh, a, by=())["billable_units"].iloc[0]
        )
        assert df["change"].abs().is_monotonic_decreasing

    def test_compare_totals_gives_the_headline_changes(self, demo_wh: Warehouse) -> None:
        a, b = presets()["strict"], presets()["lenient"]
        ta, tb = (outcomes(demo_wh, d, by=()).iloc[0] for d in (a, b))
        totals = compare_totals(demo_wh, a, b)
        assert (totals.units_a, totals.units_b) == (ta["billable_units"], tb["billable_units"])
        assert totals.change == pytest.approx(compare(demo_wh, a, b)["change"].sum())
        assert totals.rate_change == pytest.approx(tb["resolution_rate"] - ta["resolution_rate"])

    def test_compare_totals_has_no_rate_change_without_a_rate(self) -> None:
        from outcome_pricing.rules import TotalsCompared

        assert TotalsCompared(3.0, 5.0, None, 0.4).rate_change is None
        assert TotalsCompared(3.0, 5.0, 0.5, 0.4).change == 2.0

    def test_the_accounts_with_tasks_are_the_accounts_with_outcomes(self, demo_wh: Warehouse) -> None:
        by_account = outcomes(demo_wh, Definition.default(), by=("account_id",))
        assert demo_wh.account_ids() == by_account["account_id"].tolist()

    def test_sensitivity_moves_each_knob_to_its_neighbours(self, demo_wh: Warehouse) -> None:
        d = presets()["zendesk-ar"]
        df = sensitivity(demo_wh, d)
        row = df[(df.knob == "silence_hours") & (df.side == "higher")].iloc[0]
        assert row["value"] == "96"
        expected = outcomes(demo_wh, d.with_knobs(silence_hours=96), by=())["billable_units"].iloc[0]
        assert row["billable_units"] == expected
        assert row["base_units"] == outcomes(demo_wh, d, by=())["billable_units"].iloc[0]
        assert set(df.knob) == {k for k, _, _ in neighbours(d)}


# ----------------------------------------------------------------------------- command line
def _run(db: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--db", str(db), *args])


class TestCommandLine:
    @pytest.mark.parametrize(
        ("by", "keys"),
        [("account,month", {"account_id", "month"}), ("account", {"account_id"}), ("month", {"month"}), ("total", set())],
    )
    def test_outcomes_json_has_the_grouping_keys(self, demo_db_path: Path, by: str, keys: set[str]) -> None:
        result = _run(demo_db_path, "outcomes", "--definition", "zendesk-ar", "--by", by, "--format", "json")
        assert result.exit_code == 0, result.output
        rows = json.loads(result.output)
        assert keys | {"tasks", "billable_units", "n_reopened"} <= set(rows[0])
        assert not ({"account_id", "month"} - keys) & set(rows[0])
        if "month" in keys:
            dt.datetime.strptime(rows[0]["month"], "%Y-%m")

    def test_outcomes_totals_agree_across_groupings(self, demo_db_path: Path) -> None:
        totals = []
        for by in ("account,month", "total"):
            rows = json.loads(_run(demo_db_path, "outcomes", "--definition", "lenient", "--by", by, "--format", "json").output)
            totals.append(sum(r["billable_units"] for r in rows))
        assert totals[0] == pytest.approx(totals[1])

    def test_outcomes_accepts_a_definition_file(self, demo_db_path: Path, tmp_path: Path) -> None:
        path = tmp_path / "d.toml"
        path.write_text(Definition(name="file-def", min_csat=4).to_toml())
        result = _run(demo_db_path, "outcomes", "--definition", str(path), "--format", "csv", "--by", "month")
        assert result.exit_code == 0 and result.output.startswith("month,tasks,billable_units")

    def test_explain_json_shows_reason_units_and_evidence(self, demo_wh: Warehouse, demo_db_path: Path) -> None:
        d = presets()["intercom-fin-2025"]
        task = evaluate_tasks(demo_wh, d, reason="assumed", limit=1).iloc[0]
        result = _run(demo_db_path, "explain", task["task_id"], "--definition", "intercom-fin-2025", "--format", "json")
        assert result.exit_code == 0, result.output
        record = json.loads(result.output)
        assert record["reason"] == "assumed" and record["billable_units"] == 1.0
        assert record["definition"] == d.name and record["definition_version"] == d.version
        assert set(EVIDENCE_FIELDS) <= set(record) and record["quiet_hours"] >= 24

    def test_explain_of_a_missing_task_fails_clearly(self, demo_db_path: Path) -> None:
        result = _run(demo_db_path, "explain", "NO-SUCH-TASK", "--definition", "strict")
        # An UnknownTaskError, like every refusal (the real entry point exits 2 with it).
        assert result.exit_code != 0 and "NO-SUCH-TASK" in str(result.exception)

    def test_unknown_definition_lists_the_presets(self, demo_db_path: Path) -> None:
        result = _run(demo_db_path, "outcomes", "--definition", "zendesk")
        assert result.exit_code != 0
        assert isinstance(result.exception, ConfigError) and "zendesk-ar" in str(result.exception)
