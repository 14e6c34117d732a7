"""Exports a finance reader opens in a spreadsheet: numbers as numbers, booleans as booleans,
one month format (issue 14)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from outcome_pricing import pricing
from outcome_pricing.cli import cli
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse


@pytest.fixture(scope="module")
def statement(demo_wh: Warehouse) -> pricing.Statement:
    account, month = demo_wh.query_df(
        "SELECT account_id, strftime(month, '%Y-%m') AS m FROM tasks WHERE ai_enabled "
        "GROUP BY ALL ORDER BY count(*) DESC LIMIT 1").iloc[0]
    return pricing.statement(demo_wh, pricing.example_plans(), "per-outcome", Definition.preset("intercom-fin-2025"),
                             account, month)


def sheet_cells(xlsx: bytes, sheet: int) -> list[tuple[str, str | None, str]]:
    """(cell reference, type attribute, raw value) of every cell of one sheet."""
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        xml = z.read(f"xl/worksheets/sheet{sheet}.xml").decode()
    return [(ref, kind or None, value) for ref, kind, value in
            re.findall(r'<c r="([A-Z]+\d+)"(?: s="\d+")?(?: t="(\w+)")?[^>]*>(?:<v>([^<]*)</v>)?', xml)]


class TestStatementFiles:
    def test_the_csv_header_total_is_a_plain_number_equal_to_the_lines_total(self, statement) -> None:
        rows = list(csv.reader(io.StringIO(statement.to_csv().decode())))
        header = {r[0]: r[1] for r in rows[1:11] if len(r) == 2}
        assert header["Total"] == f"{statement.total:.2f}"  # not "$2,464.11"
        assert header["Tasks"] == str(len(statement.tasks))
        total_line = next(r for r in rows if r and r[0] == "total")
        assert total_line[-1] == header["Total"]
        assert not any("$" in cell and "," in cell and cell.replace("$", "").replace(",", "").replace(".", "").isdigit()
                       for row in rows for cell in row)

    def test_the_xlsx_summary_holds_the_total_as_a_number(self, statement) -> None:
        cells = sheet_cells(statement.to_xlsx(), 1)
        numbers = [float(v) for ref, kind, v in cells if ref.startswith("B") and kind is None and v]
        assert float(statement.total) in numbers and len(statement.tasks) in numbers

    def test_the_xlsx_tasks_sheet_types_booleans_as_booleans(self, statement) -> None:
        cells = sheet_cells(statement.to_xlsx(), 3)
        assert any(kind == "b" for _, kind, _ in cells)  # ai_enabled and the other flags


class TestCliMonths:
    def test_csv_and_json_outputs_write_months_as_yyyy_mm(self, demo_db_copy: Path) -> None:
        runner = CliRunner()
        for fmt in ("csv", "json"):
            result = runner.invoke(cli, ["--db", str(demo_db_copy), "outcomes", "--definition", "zendesk-ar",
                                         "--by", "month", "--format", fmt])
            assert result.exit_code == 0, result.output
            assert re.search(r"\b20\d\d-\d\d\b", result.stdout)
            assert not re.search(r"\b20\d\d-\d\d-\d\d\b", result.stdout), fmt

    def test_a_table_prints_its_summary_on_stdout(self, demo_db_copy: Path) -> None:
        result = CliRunner().invoke(cli, ["--db", str(demo_db_copy), "backtest", "--definition", "zendesk-ar"])
        assert result.exit_code == 0, result.output
        assert "reference plan" in result.stdout and "change_vs_reference" in result.stdout
        assert result.stderr == ""


class TestRates:
    """`--discount-rate` takes the app's unit (10%) as well as a fraction (0.10)."""

    @pytest.mark.parametrize(("text", "rate"), [("10%", 0.10), ("0.10", 0.10), ("0", 0.0), ("12.5%", 0.125), ("100%", 1.0)])
    def test_a_rate_reads_as_percent_or_fraction(self, text: str, rate: float) -> None:
        from outcome_pricing.cli._common import RATE

        assert RATE.convert(text, None, None) == pytest.approx(rate)

    @pytest.mark.parametrize("text", ["10", "150%", "-1%", "ten", "nan"])
    def test_an_ambiguous_or_out_of_range_rate_is_refused(self, text: str) -> None:
        import click

        from outcome_pricing.cli._common import RATE

        with pytest.raises(click.BadParameter):
            RATE.convert(text, None, None)

    def test_roi_refuses_a_bare_10_with_exit_2_and_names_the_fix(self, demo_db_copy: Path) -> None:
        result = CliRunner().invoke(cli, ["--db", str(demo_db_copy), "roi", "--account", "A0001", "--plan",
                                          "per-outcome", "--definition", "zendesk-ar", "--discount-rate", "10"])
        assert result.exit_code == 2 and "did you mean 10%" in result.output
