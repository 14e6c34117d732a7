"""A required text value of only whitespace is empty, as Python's str.isspace means it.

The rule is a regular expression (ingest/validate.py BLANK_TEXT; a trim() over the same
characters was tried and cost ten times as much at 1M rows); this test holds the SQL rule
to a plain-Python reference on random text, whitespace of every kind included.
"""

from __future__ import annotations

import sys

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from outcome_pricing.ingest.read import TASKS
from outcome_pricing.ingest.validate import REQUIRED_TEXT, value_rules

WHITESPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())


def _required_text_rule() -> str:
    task_id = next(c for c in TASKS.columns if c.name == "task_id")
    [rule] = [r for r in value_rules(task_id, from_text=False) if r.text == REQUIRED_TEXT]
    return rule.condition


_CON = duckdb.connect()
_TEXT = st.text(alphabet=st.sampled_from(WHITESPACE) | st.characters(codec="utf-8"), max_size=6)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(_TEXT | st.none(), min_size=1, max_size=20))
def test_the_sql_rule_refuses_exactly_the_blank_values(values: list[str | None]) -> None:
    rule = _required_text_rule()
    cur = _CON.cursor()
    cur.execute("CREATE OR REPLACE TEMP TABLE t (i INT, task_id VARCHAR)")
    cur.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    refused = {i for (i,) in cur.execute(f"SELECT i FROM t WHERE {rule}").fetchall()}
    assert refused == {i for i, v in enumerate(values) if v is None or v == "" or v.isspace()}
