"""The evidence pack (one ZIP per account and month) and the demo's audits."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from outcome_pricing.pricing import example_plans
from outcome_pricing.proof.audit import estimate, evidence_pack, judge
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse
from tests.rows import load_tasks

D = Definition.preset("intercom-fin-2025")


class TestEvidencePack:
    @pytest.fixture(scope="class")
    def pack(self) -> zipfile.ZipFile:
        fresh_wh = Warehouse.in_memory()
        load_tasks(fresh_wh, [{"task_id": f"T{i}", "requester_id": f"R{i}"} for i in range(5)])
        with fresh_wh.transaction() as cur:
            cur.execute("INSERT INTO accounts (account_id, name) VALUES ('A1', '<script>alert(1)</script>')")
            cur.execute("INSERT INTO audits SELECT task_id, account_id, TIMESTAMP '2025-02-01', task_id <> 'T0', "
                        "'=HYPERLINK(\"evil\")', '@SUM(A1)', 1 FROM tasks")
        planset = example_plans()
        data = evidence_pack(fresh_wh, planset, planset.names[0], D, "A1", "2025-01")
        fresh_wh.close()
        return zipfile.ZipFile(io.BytesIO(data))

    def test_holds_the_index_and_every_file(self, pack: zipfile.ZipFile) -> None:
        assert pack.namelist() == ["index.html", "statement.csv", "billed_tasks.csv", "audits.csv",
                                   "estimate.csv", "definition.toml"]

    def test_the_index_escapes_every_value(self, pack: zipfile.ZipFile) -> None:
        page = pack.read("index.html").decode()
        assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert D.version in page and "on 5 audits" in page

    def test_no_csv_cell_runs_as_a_formula(self, pack: zipfile.ZipFile) -> None:
        rows = list(csv.DictReader(io.StringIO(pack.read("audits.csv").decode())))
        assert {r["auditor"] for r in rows} == {"'=HYPERLINK(\"evil\")"} and {r["note"] for r in rows} == {"'@SUM(A1)"}

    def test_the_estimate_and_billed_tasks_are_the_months(self, pack: zipfile.ZipFile) -> None:
        est = list(csv.DictReader(io.StringIO(pack.read("estimate.csv").decode())))
        assert (est[0]["billable_outcomes"], est[0]["audited"], est[0]["not_genuine"]) == ("5", "5", "1")
        billed = list(csv.DictReader(io.StringIO(pack.read("billed_tasks.csv").decode())))
        assert len(billed) == 5 and {r["reason"] for r in billed} == {"confirmed"}
        toml = pack.read("definition.toml").decode()
        assert Definition.from_toml_text(toml).version == D.version


class TestDemoAudits:
    def test_a_few_percent_audited_more_for_assumed_resolutions(self, demo_wh: Warehouse) -> None:
        e = estimate(demo_wh, D)
        strata = {s.reason: s.audited / s.billable_outcomes for s in e.by_reason}
        assert 0.01 < strata["confirmed"] < strata["assumed"] < 0.2
        assert e.overall.rate is not None and 0.01 < e.overall.rate < 0.3

    def test_the_judge_is_good_but_not_perfect(self, demo_wh: Warehouse) -> None:
        j = judge(demo_wh, D)
        assert j.sensitivity.rate is not None and j.specificity.rate is not None
        assert 0.7 < j.sensitivity.rate < 0.99 and 0.7 < j.specificity.rate < 0.99

    @pytest.mark.slow
    def test_the_demo_audits_are_seeded(self) -> None:
        from outcome_pricing import demo

        found = []
        for _ in range(2):
            with Warehouse.in_memory() as wh:
                demo.build_demo(wh, tasks=3000, accounts=3, months=4, seed=11)
                found.append(wh.query_df("SELECT * FROM audits ORDER BY task_id"))
        assert len(found[0]) > 0 and found[0].equals(found[1])
