"""Every input path applies the same value rules (issue 13): CSV, TSV, gzip, Parquet,
a mapping's value map and constants, and the app's upload give the same verdict, the
same rule on the same column, and store the same rows."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcome_pricing.errors import ValidationError
from outcome_pricing.ingest import Upload, ingest_files, ingest_uploads
from outcome_pricing.ingest.mapping import Mapping
from outcome_pricing.warehouse.handle import Warehouse
from outcome_pricing.warehouse.schema import TASK_COLUMN_NAMES

BASE: dict[str, Any] = {
    "task_id": "T0", "account_id": "acme", "requester_id": "r0", "topic": "billing",
    "created_at": "2025-01-01 10:00:00", "closed_at": "2025-01-01 11:00:00",
    "ai_enabled": "true", "ai_answered": "true", "handoff": "false",
    "quiet_hours": "30", "n_issues": "1", "csat": "5", "tokens_in": "100", "human_seconds": "12.5",
}


@pytest.fixture
def wh() -> Iterator[Warehouse]:
    w = Warehouse.in_memory()
    yield w
    w.close()


def rows(n: int, **overrides: Any) -> list[dict[str, Any]]:
    return [dict(BASE, task_id=f"T{i}", **overrides) for i in range(n)]


def write_csv(path: Path, records: list[dict[str, Any]], delimiter: str = ",") -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(records[0]), delimiter=delimiter)
        w.writeheader()
        w.writerows(records)
    return path


def write_parquet(path: Path, table: pa.Table) -> Path:
    pq.write_table(table, path)
    return path


def typed_table(records: list[dict[str, Any]], **columns: pa.Array) -> pa.Table:
    """The records as a Parquet table: text columns as strings, `columns` typed as given."""
    data: dict[str, Any] = {k: [r[k] for r in records] for k in records[0] if k not in columns}
    data.update(columns)
    return pa.table(data)


def verdict(wh: Warehouse, **files: Any) -> list[tuple[str | None, str]]:
    """(column, rule) of every problem, or [] when the file loads."""
    try:
        ingest_files(wh, **files)
    except ValidationError as exc:
        return [(p.column, p.rule) for p in exc.problems]
    return []


def refusal(wh: Warehouse, **files: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        ingest_files(wh, **files)
    assert wh.is_empty()
    return info.value


class TestParquetGetsTheCsvRules:
    def test_a_parquet_csat_of_3_5_is_refused_not_stored_as_4(self, wh: Warehouse, tmp_path: Path) -> None:
        records = rows(3)
        path = write_parquet(tmp_path / "t.parquet", typed_table(records, csat=pa.array([5.0, 3.5, 4.0])))
        exc = refusal(wh, tasks=path)
        assert [(p.row, p.column, p.value) for p in exc.problems] == [(2, "csat", "3.5")]
        assert "whole number" in exc.problems[0].rule

    def test_parquet_tokens_of_3_5_are_refused(self, wh: Warehouse, tmp_path: Path) -> None:
        path = write_parquet(tmp_path / "t.parquet", typed_table(rows(2), tokens_in=pa.array([3.5, 4.0])))
        exc = refusal(wh, tasks=path)
        assert [(p.row, p.column) for p in exc.problems] == [(1, "tokens_in")]

    @pytest.mark.parametrize("column", ["human_seconds", "quiet_hours"])
    @pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
    def test_nan_and_infinity_in_parquet_are_refused(
        self, wh: Warehouse, tmp_path: Path, column: str, bad: float
    ) -> None:
        path = write_parquet(tmp_path / "t.parquet", typed_table(rows(2), **{column: pa.array([1.0, bad])}))
        exc = refusal(wh, tasks=path)
        assert [(p.row, p.column) for p in exc.problems] == [(2, column)]
        assert "finite number" in exc.problems[0].rule

    def test_the_same_rule_and_column_as_the_csv_gives(self, wh: Warehouse, tmp_path: Path) -> None:
        records = rows(2)
        records[1]["csat"] = "3.5"
        from_csv = verdict(wh, tasks=write_csv(tmp_path / "t.csv", records))
        from_parquet = verdict(
            wh, tasks=write_parquet(tmp_path / "t.parquet", typed_table(records, csat=pa.array([5.0, 3.5])))
        )
        assert from_csv == from_parquet and from_csv

    def test_reingesting_the_same_parquet_file_reports_nothing_updated(
        self, wh: Warehouse, tmp_path: Path
    ) -> None:
        records = rows(4)
        table = typed_table(
            records,
            created_at=pa.array(pd.to_datetime([r["created_at"] for r in records]).tz_localize("Europe/Paris")),
            quiet_hours=pa.array([0.1, 1 / 3, 2.0, None]),
            human_seconds=pa.array([12.5, 1e-7, 3.0, 123456.789]),
            csat=pa.array([5, None, 3, 1], pa.int64()),
            ai_enabled=pa.array([True, False, True, False]),
            verified=pa.array([True, None, False, True]),
        )
        path = write_parquet(tmp_path / "t.parquet", table)
        first = ingest_files(wh, tasks=path)
        again = ingest_files(wh, tasks=path)
        assert (first.rows_inserted, again.rows_inserted, again.rows_updated, again.rows_unchanged) == (4, 0, 0, 4)


class TestMappedValuesGetTheRules:
    def test_a_mapped_csat_of_4_5_is_refused_not_stored_as_4(self, wh: Warehouse, tmp_path: Path) -> None:
        records = rows(2)
        records[1]["csat"] = "great"
        m = Mapping.from_toml_text('[tasks.values.csat]\n"great" = 4.5\n')
        exc = refusal(wh, tasks=write_csv(tmp_path / "t.csv", records), mapping=m)
        assert [(p.row, p.column, p.value) for p in exc.problems] == [(3, "csat", "4.5")]

    def test_a_constant_outside_the_rules_is_refused(self, wh: Warehouse, tmp_path: Path) -> None:
        records = [{k: v for k, v in r.items() if k != "csat"} for r in rows(2)]
        m = Mapping.from_toml_text("[tasks.constants]\ncsat = 2.5\n")
        exc = refusal(wh, tasks=write_csv(tmp_path / "t.csv", records), mapping=m)
        assert {p.column for p in exc.problems} == {"csat"}

    def test_a_mapped_nan_is_refused(self, wh: Warehouse, tmp_path: Path) -> None:
        records = rows(1, human_seconds="unknown")
        m = Mapping.from_toml_text('[tasks.values.human_seconds]\n"unknown" = "nan"\n')
        exc = refusal(wh, tasks=write_csv(tmp_path / "t.csv", records), mapping=m)
        assert [p.column for p in exc.problems] == ["human_seconds"]


class TestEveryPathGivesTheSameVerdict:
    @pytest.mark.parametrize("bad", [
        {"csat": "3.5"}, {"tokens_in": "2.5"}, {"human_seconds": "nan"}, {"quiet_hours": "inf"},
        {"csat": "9"}, {"n_issues": "0"}, {"tokens_in": "1e20"}, {"human_seconds": "1e308"},
    ])
    def test_csv_tsv_gzip_upload_and_parquet_agree(
        self, wh: Warehouse, tmp_path: Path, bad: dict[str, str]
    ) -> None:
        records = rows(2)
        records[1].update(bad)
        expected = verdict(wh, tasks=write_csv(tmp_path / "t.csv", records))
        assert expected, "the CSV should be refused"
        assert verdict(wh, tasks=write_csv(tmp_path / "t.tsv", records, "\t")) == expected
        assert verdict(wh, tasks=write_csv(tmp_path / "t.csv.gz", records)) == expected
        numeric = {k: pa.array([float(r[k]) for r in records]) for k in bad}
        assert verdict(wh, tasks=write_parquet(tmp_path / "t.parquet", typed_table(records, **numeric))) == expected
        text_parquet = write_parquet(tmp_path / "s.parquet", typed_table(records))
        assert verdict(wh, tasks=text_parquet) == expected
        with pytest.raises(ValidationError) as info:
            ingest_uploads(wh, Upload("t.parquet", text_parquet.read_bytes()))
        assert [(p.column, p.rule) for p in info.value.problems] == expected
        assert wh.is_empty()


# ---------------------------------------------------------------------------- hypothesis
NUMBER_TEXT = st.one_of(
    st.integers(-3, 12).map(str),
    st.sampled_from(["3.5", "4.0", "0.5", "nan", "inf", "-inf", "1e20", "1e308", "2.0", "", "7"]),
    st.floats(-10, 1e13, allow_nan=False).map(repr),
)
COLUMNS = ("csat", "n_issues", "tokens_in", "quiet_hours", "human_seconds")


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.tuples(*[NUMBER_TEXT] * len(COLUMNS)), min_size=1, max_size=4))
def test_a_file_as_csv_and_as_parquet_gives_the_same_verdict_and_the_same_rows(
    tmp_path_factory: pytest.TempPathFactory, values: list[tuple[str, ...]]
) -> None:
    folder = tmp_path_factory.mktemp("parity")
    records = [dict(BASE, task_id=f"T{i}", **dict(zip(COLUMNS, v, strict=True))) for i, v in enumerate(values)]
    as_float = {
        c: pa.array([float(r[c]) if r[c] != "" else None for r in records], pa.float64()) for c in COLUMNS
    }
    outcomes = []
    for path in (write_csv(folder / "t.csv", records), write_parquet(folder / "t.parquet", typed_table(records, **as_float))):
        with Warehouse.in_memory() as w:
            problems = verdict(w, tasks=path)
            stored = w.query_df(f"SELECT {', '.join(TASK_COLUMN_NAMES)} FROM tasks ORDER BY task_id")
            outcomes.append((problems, stored))
    (csv_problems, csv_rows), (pq_problems, pq_rows) = outcomes
    assert csv_problems == pq_problems
    pd.testing.assert_frame_equal(csv_rows, pq_rows)
