"""A task timestamp parses to the same UTC value on the fast path as on the zone-aware one.

ingest/read.py parses the plain form (YYYY-MM-DD HH:MM:SS, or with T) as TIMESTAMP and
everything else through TIMESTAMPTZ and back to UTC (which honours an offset or a zone,
at three times the cost). This holds the whole expression to the zone-aware cast alone
(the obvious reference) on random text near the plain form: impossible dates and times,
offsets, zones, stray characters and lengths, so the fast path can never change a value.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcome_pricing.errors import ValidationError
from outcome_pricing.ingest import ingest_files
from outcome_pricing.ingest.read import TASKS, _from_text, _Params
from outcome_pricing.warehouse.handle import Warehouse
from outcome_pricing.warehouse.schema import TASK_COLUMN_NAMES

_CON = duckdb.connect()
_CON.execute("SET TimeZone = 'UTC'")
_CREATED_AT = next(c for c in TASKS.columns if c.name == "created_at")
_SUFFIX = st.sampled_from(["", "Z", "+05", "-03:30", "+99:00", ".5", " UTC", " Europe/Paris", "\t", " x"])


@st.composite
def near_plain(draw: st.DrawFn) -> str:
    """A timestamp-like text: the plain form with some characters changed, cut or extended."""
    text = list(draw(st.sampled_from(["2025-05-01 09:30:00", "2025-02-28T23:59:59", "2000-01-01 00:00:00"])))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text) - 1))
        text[at] = draw(st.sampled_from(" +-:.TZz\t0912x") | st.characters(codec="utf-8"))
    cut = draw(st.integers(10, len(text)))
    return "".join(text[:cut]) + draw(_SUFFIX)


# Texts on which DuckDB's TIMESTAMP cast and its TIMESTAMPTZ cast disagree (found by this
# test): the fast path must not take them. Checked in every example, with the random ones.
_TRICKY = [
    "epoch", "infinity", "2025-13-01 00:00:00", "2025-02-30 10:00:00", "2025-01-01 24:00:00",
    "2025-01-01 23:59:60", "2025-05-01 09:30:0\t", "2025-05-01 09:30: 0", "2025-05-01T09: +:00",
    "2025-05-01 09:30:0Z", "2025-05-01 09:30+05", "2025-05-01 09:3 :00", " 025-05-01T09:30:00",
]


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(values=st.lists(near_plain(), min_size=1, max_size=40))
def test_the_fast_path_gives_the_zone_aware_value(values: list[str]) -> None:
    values = values + _TRICKY
    p = _Params({})
    ours = _from_text(_CREATED_AT, "s", None, None, p)
    differ = _CON.cursor().execute(
        f"SELECT s, {ours}, timezone('UTC', TRY_CAST(s AS TIMESTAMPTZ)) FROM (SELECT unnest($values) AS s) "
        f"WHERE ({ours}) IS DISTINCT FROM timezone('UTC', TRY_CAST(s AS TIMESTAMPTZ))",
        {**p.values, "values": values},
    ).fetchall()
    assert differ == []


def test_the_fast_path_is_taken_for_the_plain_form() -> None:
    """The fast path must match what real logs write, or it saves nothing (and this says so)."""
    p = _Params({})
    ours = _from_text(_CREATED_AT, "s", None, None, p)
    fast = ours.split(" THEN ")[0].removeprefix("CASE WHEN ")
    rows = _CON.execute(
        f"SELECT s, {fast} FROM (VALUES ('2025-05-01 09:30:00'), ('2025-05-01T09:30:00'), "
        f"('2025-05-01 09:30:00+02:00'), ('2025-05-01 09:30')) v(s)", p.values
    ).fetchall()
    assert rows == [("2025-05-01 09:30:00", True), ("2025-05-01T09:30:00", True),
                    ("2025-05-01 09:30:00+02:00", False), ("2025-05-01 09:30", False)]


# A Parquet column already of the contract's type is read as it is (ingest/read.py
# PARQUET_NATIVE), not cast to text and parsed back: the same rows and the same verdict.
_TYPED_RECORDS = [
    # (created_at UTC, closed_at in +02:00, ai_enabled, n_issues, csat)
    (datetime(2025, 1, 1, 10), datetime(2025, 1, 1, 13, tzinfo=timezone(timedelta(hours=2))), True, 2, 5),
    (datetime(2025, 3, 1, 9, 30, 0, 250000), datetime(2025, 3, 2, 12, tzinfo=UTC), False, 1, None),
]


def _typed_files(folder: Path, records: list[tuple[Any, ...]]) -> tuple[Path, Path]:
    base = {"account_id": "acme", "requester_id": "r0", "topic": "billing", "ai_answered": True, "handoff": False}
    table = pa.table({
        "task_id": [f"T{i}" for i in range(len(records))],
        **{k: [v] * len(records) for k, v in base.items()},
        "created_at": pa.array([r[0] for r in records], pa.timestamp("us")),
        "closed_at": pa.array([r[1] for r in records], pa.timestamp("us", tz="+02:00")),
        "ai_enabled": pa.array([r[2] for r in records], pa.bool_()),
        "n_issues": pa.array([r[3] for r in records], pa.int64()),
        "csat": pa.array([r[4] for r in records], pa.int32()),
    })
    pq.write_table(table, folder / "t.parquet")
    with (folder / "t.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(table.column_names)
        for row in table.to_pylist():
            out.writerow(["" if v is None else v.isoformat() if isinstance(v, datetime) else
                          str(v).lower() if isinstance(v, bool) else v for v in row.values()])
    return folder / "t.csv", folder / "t.parquet"


def _stored(path: Path) -> tuple[list[tuple[str | None, str]], pd.DataFrame]:
    with Warehouse.in_memory() as wh:
        try:
            ingest_files(wh, tasks=path)
            problems: list[tuple[str | None, str]] = []
        except ValidationError as exc:
            problems = [(p.column, p.rule) for p in exc.problems]
        return problems, wh.query_df(f"SELECT {', '.join(TASK_COLUMN_NAMES)} FROM tasks ORDER BY task_id")


@pytest.mark.parametrize("bad", [None, "early", "csat"])
def test_a_typed_parquet_file_stores_what_its_csv_stores(tmp_path: Path, bad: str | None) -> None:
    records = list(_TYPED_RECORDS)
    if bad == "early":  # closed before created, and a placeholder year
        records.append((datetime(1970, 1, 1), datetime(2024, 12, 31, tzinfo=UTC), True, 1, 3))
    if bad == "csat":
        records.append((datetime(2025, 1, 1), datetime(2025, 1, 2, tzinfo=UTC), True, 0, 9))
    csv_path, parquet_path = _typed_files(tmp_path, records)
    (csv_problems, csv_rows), (pq_problems, pq_rows) = _stored(csv_path), _stored(parquet_path)
    assert csv_problems == pq_problems
    assert bool(csv_problems) == (bad is not None)
    pd.testing.assert_frame_equal(csv_rows, pq_rows)
    if bad is None:
        assert str(pq_rows["closed_at"][0]) == "2025-01-01 11:00:00"  # +02:00 stored as UTC
