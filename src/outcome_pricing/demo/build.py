"""Writing the demo into a warehouse: generate, stage and store in one transaction, with progress.

The chunks are staged in one temp table inside a single transaction and
handed to `Warehouse.apply_staged` once (the reopen gaps and the cube are
computed once, not per chunk).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from outcome_pricing.demo.audits import write_demo_audits
from outcome_pricing.demo.disputes import write_demo_disputes
from outcome_pricing.demo.portfolio import (
    CHANNELS,
    DEFAULT_END_MONTH,
    MODEL_TIERS,
    TOPICS,
    DemoSpec,
    account_ids,
    accounts_file,
    default_accounts,
    make_accounts,
)
from outcome_pricing.demo.tasks import chunk_sizes, chunks_ahead
from outcome_pricing.warehouse.schema import ACCOUNT_COLUMNS, TASK_COLUMNS, table_ddl

if TYPE_CHECKING:
    import duckdb

    from outcome_pricing.warehouse.handle import IngestResult, Warehouse

Progress = Callable[[float, str], None]

# Share of the progress bar for generating; the rest is storing (measured: about half each).
GENERATE_SHARE = 0.45


# Mean human hours per month over each account's fully human-only months.
BASELINE_HOURS_SQL = """
SELECT account_id, avg(hours) AS hours
FROM (SELECT account_id, date_trunc('month', closed_at) AS month,
             sum(human_seconds) / 3600.0 AS hours, bool_or(ai_enabled) AS any_ai
      FROM demo_stage GROUP BY ALL)
WHERE NOT any_ai
GROUP BY account_id
"""


def _baseline_hours(cur: duckdb.DuckDBPyConnection, n: int) -> np.ndarray:
    hours = np.full(n, np.nan)
    index = {a: i for i, a in enumerate(account_ids(n))}
    for account_id, value in cur.execute(BASELINE_HOURS_SQL).fetchall():
        hours[index[account_id]] = value
    return hours


def _sql_list(values: tuple[str, ...]) -> str:
    # Fixed module constants only (never user input), so inlining them is safe.
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _stage_sql(spec: DemoSpec) -> str:
    id_width = max(7, len(str(spec.tasks)))
    acc_width = max(4, len(str(spec.accounts)))
    return f"""
    INSERT INTO demo_stage
    SELECT 'T' || lpad(task_no::VARCHAR, {id_width}, '0') AS task_id,
           'A' || lpad((account_no + 1)::VARCHAR, {acc_width}, '0') AS account_id,
           'U' || lpad(requester_no::VARCHAR, 8, '0') AS requester_id,
           {_sql_list(tuple(t.name for t in TOPICS))}[topic_no + 1] AS topic,
           {_sql_list(CHANNELS)}[channel_no + 1] AS channel,
           created_at, closed_at, ai_enabled, ai_answered, handoff, context_retained,
           customer_confirmed, quiet_hours, verified, ai_error_corrected,
           n_issues, n_issues_resolved, csat, tokens_in, tokens_out,
           {_sql_list(MODEL_TIERS)}[tier_no + 1] AS model_tier,
           human_seconds, ai_seconds, qa_audited, missed_issue
    FROM demo_chunk
    """


def _create_stage(cur: duckdb.DuckDBPyConnection) -> None:
    """Temp tables with the contract columns and types, private to this cursor."""
    cur.execute(table_ddl("demo_stage", TASK_COLUMNS).replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
    cur.execute(table_ddl("demo_accounts", ACCOUNT_COLUMNS).replace("CREATE TABLE", "CREATE TEMP TABLE", 1))


def build_demo(
    wh: Warehouse,
    tasks: int = 300_000,
    accounts: int | None = None,
    months: int = 18,
    seed: int = 7,
    progress: Progress | None = None,
    *,
    end_month: date = DEFAULT_END_MONTH,
    replace: bool = True,
) -> IngestResult:
    """Write a synthetic task log of `tasks` tasks into `wh` in one transaction.

    With `replace` (the default) every earlier task and account is removed in
    the same transaction: a warehouse holds one data set, and demo rows mixed
    with real logs would mislead. Same arguments, same rows. Without
    `accounts`, one account per `portfolio.TASKS_PER_ACCOUNT` tasks (8 to 150).
    """
    n_accounts = default_accounts(tasks) if accounts is None else accounts
    spec = DemoSpec(tasks, n_accounts, months, seed, end_month)
    spec.check()
    report = progress or (lambda fraction, message: None)
    started = time.perf_counter()
    acc_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    acc = make_accounts(spec, acc_rng)
    sizes = chunk_sizes(tasks)
    stage_sql = _stage_sql(spec)
    with wh.transaction() as cur:
        _create_stage(cur)
        done = 0
        for size, table in chunks_ahead(spec, acc, sizes):
            cur.register("demo_chunk", table)
            cur.execute(stage_sql)
            cur.unregister("demo_chunk")
            done += size
            report(GENERATE_SHARE * done / tasks, f"generated {done:,} of {tasks:,} tasks")
        accounts_table = accounts_file(spec, acc, acc_rng, _baseline_hours(cur, n_accounts))
        cur.register("demo_accounts_arrow", accounts_table)
        cur.execute("INSERT INTO demo_accounts SELECT * FROM demo_accounts_arrow")
        cur.unregister("demo_accounts_arrow")
        if replace:
            cur.execute("DELETE FROM tasks")
            cur.execute("DELETE FROM accounts")
        report(GENERATE_SHARE, "storing: reopen gaps and the definition cube")
        result = wh.apply_staged(
            cur, tasks="demo_stage", accounts="demo_accounts", source=spec.source, sha256=None, kind="demo"
        )
        write_demo_audits(cur, seed, replace)
        write_demo_disputes(cur, seed, replace)
        cur.execute("DROP TABLE temp.main.demo_stage")
        cur.execute("DROP TABLE temp.main.demo_accounts")
    report(1.0, f"done in {time.perf_counter() - started:.1f} s")
    return result
