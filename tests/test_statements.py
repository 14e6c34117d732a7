"""Statements: totals equal the backtest to the cent, every task listed as evidence,
exports (CSV, XLSX) that no spreadsheet can run as formulas, and the CLI."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from outcome_pricing.cli import cli
from outcome_pricing.errors import ConfigError, UnknownAccountError, WarehouseError
from outcome_pricing.kit.money import from_cents
from outcome_pricing.pricing import (
    EXAMPLE_PLANS,
    backtest,
    example_plans,
    example_plans_text,
    statement,
)
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import LineKind
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse.handle import Warehouse

DEF = Definition.preset("intercom-fin-2026").with_knobs(partial_credit=0.5)
EVIL = "=HYPERLINK(\"http://x\",\"click\")"


@pytest.fixture(scope="module")
def busy(demo_wh: Warehouse) -> tuple[str, str]:
    """The account-month with the most outcomes (a statement with real evidence)."""
    bt = backtest(demo_wh, example_plans(), DEF)
    top = bt.metrics.sort_values("outcomes", ascending=False).iloc[0]
    return str(top["account_id"]), top["month"].strftime("%Y-%m")


class TestStatement:
    @pytest.mark.parametrize("plan", example_plans().names)
    def test_total_equals_the_backtest_to_the_cent(self, demo_wh: Warehouse, busy: tuple[str, str], plan: str) -> None:
        account, month = busy
        s = statement(demo_wh, example_plans(), plan, DEF, account, month)
        bt = backtest(demo_wh, example_plans(), DEF).frame
        row = bt[(bt["account_id"] == account) & (bt["month"].dt.strftime("%Y-%m") == month) & (bt["plan"] == plan)]
        assert s.total == from_cents(int(row["revenue_cents"].iloc[0]))
        assert all(line.amount == line.amount.quantize(Decimal("0.01")) for line in s.lines)

    def test_header_names_the_definition_version_and_plan(self, demo_wh: Warehouse, busy: tuple[str, str]) -> None:
        s = statement(demo_wh, example_plans(), "per-outcome", DEF, *busy)
        header = dict(s.header())
        assert header["Definition version"] == DEF.version
        assert header["Plan"] == "per-outcome" and header["Month"] == busy[1]
        assert busy[0] in header["Account"]

    def test_header_names_the_plan_version_and_the_total_in_dollars_and_cents(
        self, demo_wh: Warehouse, busy: tuple[str, str]
    ) -> None:
        plans = example_plans()
        s = statement(demo_wh, plans, "per-outcome", DEF, *busy)
        header = dict(s.header())
        assert s.plan_version == header["Plan version"] == plans.plan("per-outcome").version
        assert re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d", header["Total"])
        assert Decimal(header["Total"].lstrip("$").replace(",", "")) == s.total
        for export in (s.to_text(), s.to_csv().decode()):
            assert s.plan_version in export
        with zipfile.ZipFile(io.BytesIO(s.to_xlsx())) as book:
            assert s.plan_version in book.read("xl/sharedStrings.xml").decode()

    def test_tasks_are_the_evidence_for_the_outcome_line(self, demo_wh: Warehouse, busy: tuple[str, str]) -> None:
        s = statement(demo_wh, example_plans(), "per-outcome", DEF, *busy)
        line = next(line for line in s.lines if line.kind is LineKind.CHARGE)
        assert float(line.quantity) == pytest.approx(s.evidence_units)
        assert {"task_id", "reason", "billable_units"} <= set(s.tasks.columns)
        assert len(s.tasks) == s.reasons()["tasks"].sum()
        assert line.amount == (line.quantity * Decimal("0.99")).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")

    def test_unknown_account_month_or_plan_is_a_clear_error(self, demo_wh: Warehouse, busy: tuple[str, str]) -> None:
        with pytest.raises(UnknownAccountError, match="No tasks for account 'NOPE'"):
            statement(demo_wh, example_plans(), "per-outcome", DEF, "NOPE", busy[1])
        with pytest.raises(WarehouseError, match="no tasks that closed in 1999-01"):
            statement(demo_wh, example_plans(), "per-outcome", DEF, busy[0], "1999-01")
        with pytest.raises(ConfigError, match="YYYY-MM"):
            statement(demo_wh, example_plans(), "per-outcome", DEF, busy[0], "March")
        with pytest.raises(ConfigError, match="no plan named 'gold'"):
            statement(demo_wh, example_plans(), "gold", DEF, *busy)


def evil_planset() -> PlanSet:
    """The example plans with a plan whose name and description a spreadsheet would run."""
    text = example_plans_text().replace('name = "per-outcome"', f"name = '{EVIL}'")
    return PlanSet.from_toml_text(text.replace('description = "Only outcomes', 'description = "@SUM(A1) Only outcomes'))


class TestExports:
    def test_csv_has_header_lines_and_tasks_and_escapes_formulas(self, demo_wh: Warehouse, busy: tuple[str, str]) -> None:
        s = statement(demo_wh, evil_planset(), EVIL, DEF, *busy)
        rows = list(csv.reader(io.StringIO(s.to_csv().decode())))
        cells = [c for row in rows for c in row]
        assert ["Statement"] in rows and ["Lines"] in rows and ["Tasks"] in rows
        assert "'" + EVIL in cells and EVIL not in cells
        assert not any(c.startswith(("=", "+", "@")) for c in cells)
        task_header = rows[rows.index(["Tasks"]) + 1]
        assert task_header[:3] == ["task_id", "account_id", "month"]
        assert len(rows) - rows.index(["Tasks"]) - 2 == len(s.tasks)
        total_row = next(r for r in rows if r and r[0] == "total")
        assert Decimal(total_row[-1]) == s.total

    def test_xlsx_has_three_sheets_and_no_formulas(self, demo_wh: Warehouse, busy: tuple[str, str]) -> None:
        s = statement(demo_wh, evil_planset(), EVIL, DEF, *busy)
        with zipfile.ZipFile(io.BytesIO(s.to_xlsx())) as book:
            workbook = book.read("xl/workbook.xml").decode()
            strings = book.read("xl/sharedStrings.xml").decode()
            sheets = [book.read(n).decode() for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
        for name in ("Summary", "Lines", "Tasks"):
            assert f'name="{name}"' in workbook
        assert "'=HYPERLINK" in strings and "'@SUM(A1)" in strings
        assert not any("<f>" in sheet for sheet in sheets)

    def test_text_lists_lines_total_and_tasks(self, demo_wh: Warehouse, busy: tuple[str, str]) -> None:
        s = statement(demo_wh, example_plans(), "outcome-committed", DEF, *busy)
        text = s.to_text()
        assert "LINES" in text and "TASKS" in text and f"TOTAL  ${s.total:,.2f}" in text
        assert str(s.tasks["task_id"].iloc[0]) in text


class TestStatementCli:
    def run(self, db: Path, *args: str) -> object:
        base = ["--db", str(db), "statement", "--plans", str(EXAMPLE_PLANS), "--definition", "intercom-fin-2026"]
        return CliRunner().invoke(cli, [*base, *args])

    def test_prints_the_statement_and_writes_csv_or_xlsx(self, demo_db_path: Path, busy: tuple[str, str], tmp_path: Path) -> None:
        account, month = busy
        for suffix in (".csv", ".xlsx"):
            out = tmp_path / f"s{suffix}"
            result = self.run(demo_db_path, "--account", account, "--month", month, "--plan", "per-outcome", "--out", str(out))
            assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
            assert "STATEMENT" in result.output and out.stat().st_size > 0  # type: ignore[attr-defined]

    def test_without_plans_it_bills_on_the_packaged_example_plans(self, demo_db_path: Path, busy: tuple[str, str]) -> None:
        account, month = busy
        args = ["--db", str(demo_db_path), "statement", "--definition", "intercom-fin-2026",
                "--account", account, "--month", month, "--plan", "per-outcome"]
        without = CliRunner().invoke(cli, args)
        assert without.exit_code == 0, without.output
        with_file = self.run(demo_db_path, "--account", account, "--month", month, "--plan", "per-outcome")

        def lines(output: str) -> list[str]:  # all but the clock
            return [line for line in output.splitlines() if not line.startswith("Made at")]

        assert lines(without.output) == lines(with_file.output)  # type: ignore[attr-defined]
        assert "STATEMENT" in without.output and "per-outcome" in without.output

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--account", "NOPE", "--month", "2026-01", "--plan", "per-outcome"], "No tasks for account 'NOPE'"),
            (["--account", "A0001", "--month", "1999-01", "--plan", "per-outcome"], "no tasks that closed in 1999-01"),
            (["--account", "A0001", "--month", "2026-01", "--plan", "gold"], "no plan named 'gold'"),
            (["--account", "A0001", "--month", "2026-01", "--plan", "per-outcome", "--out", "x.pdf"], ".csv or .xlsx"),
        ],
    )
    def test_unknown_inputs_exit_non_zero_with_a_clear_message(self, demo_db_path: Path, args: list[str], message: str) -> None:
        result = self.run(demo_db_path, *args)
        assert result.exit_code != 0  # type: ignore[attr-defined]
        assert message in str(result.exception)  # type: ignore[attr-defined]
