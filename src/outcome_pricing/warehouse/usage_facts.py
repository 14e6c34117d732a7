"""Definition-independent usage per account, month, model tier, topic and arm, built once
per data version (with the cube), so a backtest's first run reads a few thousand rows
instead of scanning every task for its usage and savings.

The table has the columns of cluster mode's account facts (`cluster.FACTS_DDL`), so the
readers use one SQL for both. It carries the cube's stamp: it is read only while the
cube is current and was built in the same transaction (`is_current`); otherwise the
readers scan the tasks as before. Having an account_id column, it is scoped like every
such table (`Warehouse._install_scope`).
"""

from __future__ import annotations

import duckdb

from outcome_pricing.warehouse.connection import has_table

TABLE = "usage_facts"
STAMP_TABLE = "usage_facts_stamp"

# The sums of scale/facts.py `account_facts`, from the tasks: human time rounded per task to
# whole milliseconds (as pricing/metrics.py and deals/savings.py sum it), so sums stay exact.
BUILD_SQL = f"""
CREATE OR REPLACE TABLE {TABLE} AS
SELECT account_id, month, model_tier, topic, ai_enabled,
       count(*)::BIGINT AS tasks,
       count(*) FILTER (WHERE ai_enabled)::BIGINT AS ai_tasks,
       coalesce(sum(round(coalesce(human_seconds, 0) * 1000)::BIGINT), 0)::BIGINT AS human_ms,
       coalesce(sum(coalesce(tokens_in, 0)), 0)::BIGINT AS input_tokens,
       coalesce(sum(coalesce(tokens_out, 0)), 0)::BIGINT AS output_tokens,
       coalesce(sum(round(human_seconds * 1000)::BIGINT), 0)::BIGINT AS timed_ms,
       count(human_seconds)::BIGINT AS timed_tasks
FROM tasks
GROUP BY ALL
"""


def build(cur: duckdb.DuckDBPyConnection, stamp: str) -> None:
    """(Re)build the table from `tasks` and record the cube stamp it goes with."""
    cur.execute(BUILD_SQL)
    cur.execute(f"CREATE OR REPLACE TABLE {STAMP_TABLE} AS SELECT ?::VARCHAR AS stamp", [stamp])


def is_current(cur: duckdb.DuckDBPyConnection, cube_stamp: str | None) -> bool:
    """True when the table was built with the cube whose current stamp is `cube_stamp`
    (None: the cube is stale or missing, so the facts are not trusted either)."""
    if cube_stamp is None or not has_table(cur, STAMP_TABLE):
        return False
    row = cur.execute(f"SELECT stamp FROM {STAMP_TABLE}").fetchone()
    return row is not None and row[0] == cube_stamp

