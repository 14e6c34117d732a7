"""Writing the demo into a warehouse: generate, stage and store in one transaction, with progress.

Each chunk is written, already in the contract's columns and types, to a
Parquet file in a scratch folder; a view over those files is handed to
`Warehouse.apply_staged` once (the reopen gaps and the cube are computed once,
not per chunk). Why files and not a temp table: rows inserted into a temp table
inside a transaction stay in memory whatever DuckDB's memory limit says (100M
tasks reached 16 GB before half were staged); the files keep memory flat, and
DuckDB's sorts and joins over them spill to disk under the limit.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np

from outcome_pricing.demo.audits import write_demo_audits
from outcome_pricing.demo.disputes import write_demo_disputes
from outcome_pricing.demo.portfolio import (
    CHANNELS,
    DEFAULT_END_MONTH,
    MODEL_TIERS,
    TOPICS,
    Accounts,
    DemoSpec,
    account_ids,
    accounts_file,
    default_accounts,
    make_accounts,
)
from outcome_pricing.demo.tasks import chunk_sizes, chunks_ahead
from outcome_pricing.warehouse.schema import ACCOUNT_COLUMNS, TASK_COLUMNS, table_ddl

if TYPE_CHECKING:
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
    typed = ", ".join(f"CAST({c.name} AS {c.sql_type}) AS {c.name}" for c in TASK_COLUMNS)
    return f"""
    SELECT {typed} FROM (
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
    FROM demo_chunk)
    """


def _create_stage(cur: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """The staged tasks (a view over the chunk files) and accounts, private to this cursor."""
    files = _literal(str(folder / "chunk_*.parquet"))
    cur.execute(f"CREATE TEMP VIEW demo_stage AS SELECT * FROM read_parquet({files})")
    cur.execute(table_ddl("demo_accounts", ACCOUNT_COLUMNS).replace("CREATE TABLE", "CREATE TEMP TABLE", 1))


def _chunk_file(folder: Path, index: int) -> str:
    """The chunk's file as an SQL string literal (zero-padded: the glob reads them in order)."""
    return _literal(str(folder / f"chunk_{index:06d}.parquet"))


def _literal(text: str) -> str:
    # Only for our own scratch paths (COPY and read_parquet here take no bound parameters).
    return "'" + text.replace("'", "''") + "'"


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
    with tempfile.TemporaryDirectory(prefix="outcome-pricing-demo-") as scratch:
        folder = Path(scratch)
        _write_chunks(spec, acc, folder, report)
        report(GENERATE_SHARE, "storing: reopen gaps and the definition cube")
        result = _store(wh, spec, acc, acc_rng, folder, replace)
    report(1.0, f"done in {time.perf_counter() - started:.1f} s")
    return result


def _write_chunks(spec: DemoSpec, acc: Accounts, folder: Path, report: Progress) -> None:
    """Generate the chunks into Parquet files, before the write transaction starts.

    An in-memory DuckDB of its own turns the codes into the contract's text
    columns; every statement commits at once, so no chunk stays referenced (inside
    one long transaction each registered chunk was kept until the commit).
    """
    stage_sql = _stage_sql(spec)
    done = 0
    con = duckdb.connect()
    try:
        for index, (size, table) in enumerate(chunks_ahead(spec, acc, chunk_sizes(spec.tasks))):
            con.register("demo_chunk", table)
            con.execute(f"COPY ({stage_sql}) TO {_chunk_file(folder, index)} (FORMAT parquet)")
            con.unregister("demo_chunk")
            done += size
            report(GENERATE_SHARE * done / spec.tasks, f"generated {done:,} of {spec.tasks:,} tasks")
    finally:
        con.close()


def _store(
    wh: Warehouse, spec: DemoSpec, acc: Accounts, acc_rng: np.random.Generator, folder: Path, replace: bool
) -> IngestResult:
    """One transaction: the staged chunks and accounts in, reopen gaps, cube, audits, disputes."""
    n_accounts = spec.accounts
    with wh.transaction() as cur:
        _create_stage(cur, folder)
        accounts_table = accounts_file(spec, acc, acc_rng, _baseline_hours(cur, n_accounts))
        cur.register("demo_accounts_arrow", accounts_table)
        cur.execute("INSERT INTO demo_accounts SELECT * FROM demo_accounts_arrow")
        cur.unregister("demo_accounts_arrow")
        if replace:
            cur.execute("DELETE FROM tasks")
            cur.execute("DELETE FROM accounts")
        result = wh.apply_staged(
            cur, tasks="demo_stage", accounts="demo_accounts", source=spec.source, sha256=None, kind="demo"
        )
        write_demo_audits(cur, spec.seed, replace)
        write_demo_disputes(cur, spec.seed, replace)
        cur.execute("DROP VIEW temp.main.demo_stage")
        cur.execute("DROP TABLE temp.main.demo_accounts")
    return result
