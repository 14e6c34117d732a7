"""The data contract's bounds (issue 13): a value beyond one is refused at ingest with
the usual message, on every input path; one task at the maximum of every bound still
goes through every command (outcomes, backtest, statement, impact, roi, forecast, the
cube), and the statement still equals the backtest to the cent."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from outcome_pricing import demo
from outcome_pricing.cli import main as cli_main
from outcome_pricing.errors import ValidationError
from outcome_pricing.ingest import ingest_files
from outcome_pricing.pricing import example_plans
from outcome_pricing.warehouse.handle import Warehouse
from outcome_pricing.warehouse.schema import (
    ACCOUNT_COLUMNS,
    MAX_HOURLY_COST,
    MAX_HOURS,
    MAX_ISSUES,
    MAX_PRICE,
    MAX_SEATS,
    MAX_SECONDS,
    MAX_TOKENS,
    TASK_COLUMNS,
)

BOUNDED_TASK_COLUMNS = [c for c in TASK_COLUMNS if c.maximum is not None and c.name != "csat"]
BOUNDED_ACCOUNT_COLUMNS = [c for c in ACCOUNT_COLUMNS if c.maximum is not None]
TASK: dict[str, Any] = {
    "task_id": "MAX1", "account_id": "acme", "requester_id": "r0", "topic": "billing",
    "created_at": "2025-01-01 10:00:00", "closed_at": "2025-01-01 11:00:00",
    "ai_enabled": "true", "ai_answered": "true", "handoff": "false",
}


def write_csv(path: Path, records: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(records[0]))
        w.writeheader()
        w.writerows(records)
    return path


def problems(**files: Any) -> list[tuple[int | None, str | None, str]]:
    with Warehouse.in_memory() as wh, pytest.raises(ValidationError) as info:
        ingest_files(wh, **files)
    return [(p.row, p.column, p.rule) for p in info.value.problems]


def whole(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


class TestBoundsAreRefusedAtIngest:
    def test_the_contract_bounds_are_the_documented_ones(self) -> None:
        assert MAX_SECONDS == 10 * 365 * 24 * 3600 and MAX_HOURS == 10 * 365 * 24
        assert MAX_TOKENS == 10**12 and MAX_ISSUES == 10**6
        readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
        for bound in (MAX_SECONDS, MAX_HOURS, MAX_TOKENS, MAX_ISSUES, MAX_SEATS, MAX_PRICE, MAX_HOURLY_COST):
            assert f"{bound:,.0f}" in readme, bound

    @pytest.mark.parametrize("col", BOUNDED_TASK_COLUMNS, ids=lambda c: c.name)
    def test_a_task_value_beyond_its_bound_is_refused_naming_row_and_column(self, col: Any, tmp_path: Path) -> None:
        assert col.maximum is not None
        over = col.maximum + 1 if col.kind.value == "int" else col.maximum * 1.000001
        records = [dict(TASK, task_id="ok", **{col.name: ""}), dict(TASK, **{col.name: whole(over)})]
        if col.name == "n_issues_resolved":
            records[0]["n_issues"], records[1]["n_issues"] = "", whole(over)  # not "resolved > issues" alone
        found = problems(tasks=write_csv(tmp_path / "t.csv", records))
        assert (3, col.name, f"must be <= {col.maximum:,.0f}") in found, found
        table = pa.table({k: [r.get(k) for r in records] for k in records[1]} | {
            col.name: pa.array([None, float(over)], pa.float64())})
        pq.write_table(table, tmp_path / "t.parquet")
        assert (2, col.name, f"must be <= {col.maximum:,.0f}") in problems(tasks=tmp_path / "t.parquet")

    @pytest.mark.parametrize("col", BOUNDED_ACCOUNT_COLUMNS, ids=lambda c: c.name)
    def test_an_account_value_beyond_its_bound_is_refused(self, col: Any, tmp_path: Path) -> None:
        assert col.maximum is not None
        path = write_csv(tmp_path / "a.csv", [{"account_id": "acme", col.name: whole(col.maximum * 10)}])
        assert [(r, c) for r, c, _ in problems(accounts=path)] == [(2, col.name)]

    @pytest.mark.parametrize("tokens", [2**62, 10**20, 2**63 - 1])
    def test_huge_parquet_token_counts_are_refused_cleanly(self, tmp_path: Path, tokens: int) -> None:
        table = pa.table({k: [v] for k, v in TASK.items()} | {
            "tokens_in": pa.array([tokens], pa.uint64() if tokens >= 2**63 else pa.int64())
            if tokens < 2**64 else pa.array([float(tokens)])})
        if tokens == 10**20:
            table = table.set_column(table.schema.get_field_index("tokens_in"), "tokens_in", pa.array([1e20]))
        pq.write_table(table, tmp_path / "t.parquet")
        assert [(r, c) for r, c, _ in problems(tasks=tmp_path / "t.parquet")] == [(1, "tokens_in")]


# ---------------------------------------------------------------------------- one task at every maximum
MONTH = "2025-02"


def maxed_task(task_id: str, ai: bool) -> dict[str, Any]:
    return dict(
        TASK, task_id=task_id, account_id="MAXED", requester_id=f"r-{task_id}",
        created_at=f"{MONTH}-03 10:00:00", closed_at=f"{MONTH}-03 11:00:00",
        ai_enabled=str(ai).lower(), customer_confirmed="true", verified="true",
        quiet_hours=whole(MAX_HOURS), n_issues=whole(MAX_ISSUES), n_issues_resolved=whole(MAX_ISSUES),
        csat="5", tokens_in=whole(MAX_TOKENS), tokens_out=whole(MAX_TOKENS), model_tier="advanced",
        human_seconds=whole(MAX_SECONDS), ai_seconds=whole(MAX_SECONDS), qa_audited="true", missed_issue="false",
    )


@pytest.fixture(scope="module")
def maxed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo warehouse plus an account whose tasks sit at every bound."""
    folder = tmp_path_factory.mktemp("bounds")
    db = folder / "wh.duckdb"
    with Warehouse.open(db) as wh:
        demo.build_demo(wh, tasks=3_000, accounts=4, months=4, seed=5)
        first = str(wh.scalar("SELECT strftime(min(month), '%Y-%m') FROM tasks"))
        tasks = [maxed_task(f"MAX{i}", ai=i % 2 == 0) for i in range(4)]
        for i, t in enumerate(tasks):  # the same account in the demo's first month too
            if i >= 2:
                t["created_at"], t["closed_at"] = f"{first}-05 10:00:00", f"{first}-05 11:00:00"
        accounts = [{"account_id": "MAXED", "name": "Max", "seats": whole(MAX_SEATS), "seat_price": whole(MAX_PRICE),
                     "agent_hourly_cost": whole(MAX_HOURLY_COST), "ai_go_live": f"{first}-01", "owner": "x"}]
        ingest_files(wh, tasks=write_csv(folder / "t.csv", tasks), accounts=write_csv(folder / "a.csv", accounts))
    return db


def run(db: Path, args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(sys, "argv", ["outcome-pricing", "--db", str(db), *args])
    code = 0
    try:
        cli_main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


PLAN_NAMES = [p.name for p in example_plans().plans]


@pytest.mark.slow
class TestOneTaskAtEveryMaximumStillBills:
    def test_outcomes_and_the_cube(self, maxed_db: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
        rows = json.loads(run(maxed_db, ["outcomes", "--definition", "lenient", "--format", "json"], capsys, monkeypatch))
        mine = [r for r in rows if r["account_id"] == "MAXED"]
        assert mine and sum(r["tasks"] for r in mine) == 4
        issue = json.loads(run(maxed_db, ["outcomes", "--definition", _issue_definition(maxed_db.parent),
                                          "--format", "json"], capsys, monkeypatch))
        assert sum(r["billable_units"] for r in issue if r["account_id"] == "MAXED") >= 2 * MAX_ISSUES

    def test_backtest_and_the_statement_agree_to_the_cent(
        self, maxed_db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        rows = json.loads(run(maxed_db, ["backtest", "--definition", "lenient", "--format", "json"], capsys, monkeypatch))
        mine = [r for r in rows if r["account_id"] == "MAXED" and str(r["month"]) == MONTH]
        assert {r["plan"] for r in mine} == set(PLAN_NAMES)
        for r in mine:
            text = run(maxed_db, ["statement", "--account", "MAXED", "--month", MONTH, "--plan", r["plan"],
                                  "--definition", "lenient"], capsys, monkeypatch)
            revenue = Decimal(str(r["revenue"])).quantize(Decimal("0.01"))
            assert f"{revenue:,}" in text or f"{revenue}" in text, (r["plan"], revenue, text[-400:])

    def test_impact_roi_and_forecast(self, maxed_db: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
        impact = json.loads(run(maxed_db, ["impact", "--account", "MAXED", "--format", "json"], capsys, monkeypatch))
        assert impact
        json.loads(run(maxed_db, ["impact", "--format", "json"], capsys, monkeypatch))
        roi = json.loads(run(maxed_db, ["roi", "--account", "MAXED", "--plan", "per-outcome", "--definition",
                                        "lenient", "--format", "json"], capsys, monkeypatch))
        assert "npv" in roi
        forecast = json.loads(run(maxed_db, ["forecast", "--definition", "lenient", "--months", "3",
                                             "--scenarios", "50", "--format", "json"], capsys, monkeypatch))
        assert forecast

    def test_explain_a_maxed_task(self, maxed_db: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
        out = json.loads(run(maxed_db, ["explain", "MAX0", "--definition", "lenient", "--format", "json"],
                             capsys, monkeypatch))
        assert out["task_id"] == "MAX0"


def _issue_definition(folder: Path) -> str:
    path = folder / "per_issue.toml"
    path.write_text('name = "per-issue"\nunit = "issue"\nassumed_resolution = true\nsilence_hours = 24\n'
                    'require_verification = false\nhandoff = "never"\nreopen_window_hours = 0\n', encoding="utf-8")
    return str(path)


@pytest.fixture(autouse=True)
def _no_user(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("OUTCOME_PRICING_USER", raising=False)
    yield


class TestSumsWithinTheBoundsFitTheirTypes:
    def test_issues_at_the_bound_in_many_tasks_sum_past_int32_in_the_cube(self, tmp_path: Path) -> None:
        """2,200 tasks of 1,000,000 issues in one account-month: 2.2e9 units, past INT32."""
        n = 2_200
        records = [dict(TASK, task_id=f"T{i}", requester_id=f"r{i}", n_issues=whole(MAX_ISSUES),
                        customer_confirmed="true") for i in range(n)]
        from outcome_pricing.rules import Definition

        with Warehouse.in_memory() as wh:
            ingest_files(wh, tasks=write_csv(tmp_path / "t.csv", records))
            d = Definition(name="per-issue", unit="issue", require_verification=False)
            got = wh.outcomes(d)
        assert int(got["billable_units"].sum()) == n * MAX_ISSUES
