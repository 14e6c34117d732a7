"""The rule scan's shortcut: a file that passes is told by one OR-ed filter, and only a file
with a problem pays for a count per rule (ingest/validate.py `_rule_counts`).

This holds the shortcut to the obvious way, one count per rule on its own, on random
staged task rows whose values sit on and across every bound (NULLs, NaN, infinities,
fractions, blank text, placeholder timestamps, offsets, repeated ids), so a rule the
OR-ed filter missed, or a NULL that hid a true condition, would show as a count of 0.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from outcome_pricing.ingest.read import TASKS
from outcome_pricing.ingest.validate import _rule_counts, _rules
from outcome_pricing.warehouse.schema import Kind

FROM_TEXT = {"created_at", "closed_at"}  # as a CSV stages them (validate.value_rules)
STAGED_TYPE = {Kind.TEXT: "VARCHAR", Kind.BOOL: "BOOLEAN", Kind.INT: "DOUBLE",
               Kind.NUMBER: "DOUBLE", Kind.TIMESTAMP: "TIMESTAMP"}

_NUMBERS = st.sampled_from([None, 0.0, 1.0, 3.0, 5.0, 6.0, 2.5, -1.0, 1e7, 1e13, math.nan, math.inf, -math.inf])
_TEXTS = st.sampled_from([None, "", " ", "\t", "a", "T1", "T2", "\u00a0x"])
_TIMES = st.sampled_from([None, datetime(2025, 1, 1), datetime(2025, 1, 2), datetime(1970, 1, 1),
                          datetime(9999, 12, 31)])
_VALUE = {Kind.TEXT: _TEXTS, Kind.BOOL: st.sampled_from([None, True, False]),
          Kind.INT: _NUMBERS, Kind.NUMBER: _NUMBERS, Kind.TIMESTAMP: _TIMES}


def _columns() -> list[tuple[str, str]]:
    out = []
    for col in TASKS.columns:
        if col.name in FROM_TEXT:
            out += [(f"_raw_{col.name}", "VARCHAR"), (f"_offset_{col.name}", "BIGINT")]
        out.append((col.name, STAGED_TYPE[col.kind]))
    return out


# A valid row: each drawn row changes at most two of its values (or its side columns),
# so a row is often wrong in one rule only, the case where a rule the OR-ed filter
# missed would go unseen.
_GOOD: dict[str, Any] = {
    "task_id": "T", "account_id": "a", "requester_id": "a", "topic": "a", "channel": "a",
    "created_at": datetime(2025, 1, 1), "closed_at": datetime(2025, 1, 2), "ai_enabled": True,
    "ai_answered": False, "handoff": False, "n_issues": 1.0, "tokens_in": 0.0, "tokens_out": 0.0,
}
_SIDE = {f"_raw_{n}": st.sampled_from([None, "soon"]) for n in FROM_TEXT} | {
    f"_offset_{n}": st.sampled_from([None, 0, 3600, 50400, 50460, -90000]) for n in FROM_TEXT}
_CHANGES = {c.name: _VALUE[c.kind] for c in TASKS.columns} | _SIDE


@st.composite
def _row(draw: st.DrawFn, i: int) -> dict[str, Any]:
    row = {**_GOOD, "task_id": f"T{i}"}
    for name in draw(st.lists(st.sampled_from(sorted(_CHANGES)), max_size=2, unique=True)):
        row[name] = draw(_CHANGES[name])
    return row


_ROWS = st.integers(1, 8).flatmap(lambda n: st.tuples(*(_row(i) for i in range(n))))


@settings(max_examples=300, deadline=None)
@given(rows=_ROWS)
def test_the_shortcut_counts_what_each_rule_counts_on_its_own(rows: tuple[dict[str, Any], ...]) -> None:
    columns = _columns()
    with duckdb.connect() as con:
        con.execute(f"CREATE TABLE {TASKS.stage_table} ({', '.join(f'{n} {t}' for n, t in columns)})")
        con.executemany(f"INSERT INTO {TASKS.stage_table} VALUES ({', '.join('?' for _ in columns)})",
                        [[r.get(n) for n, _ in columns] for r in rows])
        rules = _rules(TASKS, FROM_TEXT)
        one_by_one = [int(con.execute(f"SELECT count(*) FROM {TASKS.stage_table} WHERE {r.condition}")
                          .fetchone()[0]) for r in rules]  # type: ignore[index]
        assert _rule_counts(con, TASKS, rules) == one_by_one
