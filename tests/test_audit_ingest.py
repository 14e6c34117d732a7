"""`ingest --audits FILE` and the `audit`, `audit-sample` commands: hostile files first
(refused whole, named by file, row and column, nothing written), then the round trip."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from outcome_pricing.cli import cli
from outcome_pricing.errors import ValidationError
from outcome_pricing.ingest.audits import ingest_audits
from outcome_pricing.proof.audit import effective_audits
from outcome_pricing.warehouse import Warehouse
from tests.rows import load_tasks

HEADER = "task_id,audited_at,genuine,auditor,note\n"


@pytest.fixture
def wh(fresh_wh: Warehouse) -> Warehouse:
    load_tasks(fresh_wh, [{"task_id": "T1"}, {"task_id": "T2", "requester_id": "R2"}])
    return fresh_wh


def write(tmp_path: Path, body: str, name: str = "audits.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def stored(wh: Warehouse) -> int:
    return int(wh.scalar("SELECT count(*) FROM audits"))


class TestHostileAuditFiles:
    @pytest.mark.parametrize(("body", "row", "column", "words"), [
        ("T1,2025-03-01 10:00:00,maybe,qa,\n", 2, "genuine", "boolean"),
        ("T1,2025-03-01 10:00:00,true,qa,\nT9,2025-03-01 10:00:00,true,qa,\n", 3, "task_id", "no task"),
        ("T1,,true,qa,\n", 2, "audited_at", "required"),
        ("T1,1970-01-01 00:00:00,true,qa,\n", 2, "audited_at", "outside"),
        ("T1,2025-03-01 10:00:00,true,qa,\nT1,2025-03-02 10:00:00,false,qa,\n", 2, "task_id", "more than once"),
    ])
    def test_a_bad_row_refuses_the_file_naming_row_and_column(
        self, wh: Warehouse, tmp_path: Path, body: str, row: int, column: str, words: str
    ) -> None:
        path = write(tmp_path, "T2,2025-03-01 10:00:00,true,qa,fine\n" + body)
        with pytest.raises(ValidationError) as info:
            ingest_audits(wh, path)
        problem = info.value.problems[0]
        assert (problem.file, problem.row, problem.column) == (str(path), row + 1, column)
        assert words in problem.rule
        assert stored(wh) == 0

    def test_a_missing_required_column_is_named(self, wh: Warehouse, tmp_path: Path) -> None:
        path = tmp_path / "a.csv"
        path.write_text("task_id,audited_at\nT1,2025-03-01\n", encoding="utf-8")
        with pytest.raises(ValidationError, match="genuine"):
            ingest_audits(wh, path)

    def test_a_formula_in_a_note_is_stored_as_text(self, wh: Warehouse, tmp_path: Path) -> None:
        ingest_audits(wh, write(tmp_path, 'T1,2025-03-01 10:00:00,false,qa,"=HYPERLINK(""x"")"\n'))
        assert effective_audits(wh)["note"].tolist() == ['=HYPERLINK("x")']


class TestAuditIngest:
    def test_a_later_ingest_adds_rows_and_the_latest_wins(self, wh: Warehouse, tmp_path: Path) -> None:
        first = ingest_audits(wh, write(tmp_path, "T1,2025-03-01 10:00:00,true,qa,\n", "a.csv"))
        again = ingest_audits(wh, write(tmp_path, "T1,2025-03-01 10:00:00,true,qa,\n", "a.csv"))
        later = ingest_audits(wh, write(tmp_path, "T1,2025-03-05T10:00:00Z,no,lead,recheck\n", "b.csv"))
        assert (first.rows_inserted, again.rows_inserted, again.rows_unchanged, later.rows_inserted) == (1, 0, 1, 1)
        assert stored(wh) == 2
        assert effective_audits(wh)[["task_id", "genuine", "auditor"]].values.tolist() == [["T1", False, "lead"]]

    def test_the_audit_keeps_the_tasks_account_for_scoping(self, wh: Warehouse, tmp_path: Path) -> None:
        ingest_audits(wh, write(tmp_path, "T1,2025-03-01 10:00:00,true,qa,\n"))
        assert effective_audits(wh.scoped(["A2"])).empty and len(effective_audits(wh.scoped(["A1"]))) == 1


class TestAuditCommands:
    @pytest.mark.slow
    def test_ingest_audit_and_sample_round_trip(self, demo_db_copy: Path, tmp_path: Path) -> None:
        runner = CliRunner()
        db = ["--db", str(demo_db_copy)]
        out = tmp_path / "sample.csv"
        drawn = runner.invoke(cli, [*db, "audit-sample", "--definition", "zendesk-ar", "--n", "12",
                                    "--by", "reason", "--seed", "3", "--out", str(out)])
        assert drawn.exit_code == 0, drawn.output
        rows = list(csv.DictReader(out.open(encoding="utf-8")))
        assert len(rows) == 12
        again = tmp_path / "again.csv"
        runner.invoke(cli, [*db, "audit-sample", "--definition", "zendesk-ar", "--n", "12",
                            "--by", "reason", "--seed", "3", "--out", str(again)])
        assert again.read_bytes() == out.read_bytes()
        before = json.loads(runner.invoke(cli, [*db, "audit", "--definition", "zendesk-ar", "--format", "json"]).output)
        for r in rows:
            r |= {"audited_at": "2026-11-20 10:00:00", "genuine": "false", "auditor": "me"}
        with out.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        loaded = runner.invoke(cli, [*db, "ingest", "--audits", str(out)])
        assert loaded.exit_code == 0, loaded.output
        after = json.loads(runner.invoke(cli, [*db, "audit", "--definition", "zendesk-ar", "--format", "json",
                                              "--margin", "0.02"]).output)
        assert (after["audited"], after["not_genuine"]) == (before["audited"] + 12, before["not_genuine"] + 12)
        keys = {"billable_outcomes", "audited", "not_genuine", "false_rate", "ci_low", "ci_high",
                "stratified_false_rate", "unaudited_share", "by_reason", "judge", "sample_size"}
        assert keys <= set(after)
        assert {"sensitivity", "specificity", "n", "corrected_genuine_rate"} <= set(after["judge"])
        assert {"reason", "billable_outcomes", "audited", "false_rate", "ci_low", "ci_high"} <= set(after["by_reason"][0])

    def test_a_refused_audits_file_exits_2_and_names_the_row(self, demo_db_copy: Path, tmp_path: Path) -> None:
        path = write(tmp_path, "NOPE,2025-03-01 10:00:00,true,qa,\n")
        result = CliRunner().invoke(cli, ["--db", str(demo_db_copy), "ingest", "--audits", str(path)])
        assert result.exit_code != 0 and "row 2" in str(result.exception or result.output)

    def test_an_unknown_account_is_refused(self, demo_db_copy: Path) -> None:
        result = CliRunner().invoke(cli, ["--db", str(demo_db_copy), "audit", "--definition", "zendesk-ar",
                                          "--account", "NOPE"])
        assert result.exit_code != 0


class TestAuditsAreScoped:
    def test_a_scoped_view_sees_only_its_accounts_audits(self, demo_wh: Warehouse) -> None:
        from outcome_pricing.proof.audit import Selection, estimate
        from outcome_pricing.rules import Definition

        d = Definition.preset("zendesk-ar")
        account = demo_wh.account_ids()[0]
        scoped, selected = estimate(demo_wh.scoped([account]), d), estimate(demo_wh, d, Selection.of(account))
        assert scoped.overall == selected.overall and scoped.billable_outcomes == selected.billable_outcomes
        assert scoped.overall.n < estimate(demo_wh, d).overall.n

    def test_sales_cannot_audit_another_owners_account(
        self, demo_db_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with Warehouse.open(demo_db_copy, read_only=True) as wh:
            owners = wh.query_df("SELECT account_id, owner FROM accounts ORDER BY account_id")
        seller = str(owners["owner"].iloc[0])
        other = str(owners.loc[owners["owner"] != seller, "account_id"].iloc[0])
        roles = tmp_path / "roles.toml"
        roles.write_text(f'[people]\n"s@example.com" = {{ role = "sales", owner = "{seller}" }}\n', encoding="utf-8")
        monkeypatch.setenv("OUTCOME_PRICING_ROLES", str(roles))
        result = CliRunner().invoke(cli, ["--db", str(demo_db_copy), "--as-user", "s@example.com", "audit",
                                          "--definition", "zendesk-ar", "--account", other])
        from outcome_pricing.access import AccessDeniedError

        assert isinstance(result.exception, AccessDeniedError) and other in str(result.exception)
