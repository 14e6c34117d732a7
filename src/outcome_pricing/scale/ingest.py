"""`ingest --engine spark`: build on Spark, keep the Parquet dataset, load the warehouse.

1. Spark reads the task files (CSV or Parquet: a file, a directory or a glob),
   checks every rule and refuses the whole input on any problem (nothing written).
2. It derives month and reopen gap and the cube rows, recomputing only the
   affected (account, requester, topic) partitions when the dataset already holds
   tasks, and rewrites the changed months of the Parquet dataset.
3. The warehouse loads those months' tasks and the whole cube in one transaction.

Accounts stay local: an accounts file goes through the DuckDB ingest (it is small),
after the Spark build has passed its checks and before the load.

Cluster mode (`cluster_mode`, `ingest --engine spark --cluster`; warehouse/cluster.py):
step 3 loads the whole cube and the account facts instead of tasks; the tasks stay in
the dataset, where task-level evidence reads them one account-month at a time.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.dataset as pads

from outcome_pricing.errors import ConfigError
from outcome_pricing.ingest.files import IngestReport, ingest_files
from outcome_pricing.scale import load, spark
from outcome_pricing.scale.compiler import to_sql
from outcome_pricing.scale.facts import account_facts
from outcome_pricing.scale.session import spark_session
from outcome_pricing.warehouse import build_sql, cluster
from outcome_pricing.warehouse.handle import Warehouse
from outcome_pricing.warehouse.schema import DERIVED_COLUMNS, TASK_COLUMNS


def default_dataset(wh: Warehouse) -> Path:
    """Where the Parquet dataset lives by default: next to the warehouse file."""
    if str(wh.path) == ":memory:":
        raise ConfigError("An in-memory warehouse has no place for the Parquet dataset: give one.")
    return wh.path.with_name(wh.path.stem + ".parquet")


def ingest_on_spark(
    wh: Warehouse,
    tasks: str | Path,
    accounts: str | Path | None = None,
    *,
    remote: str | None = None,
    dataset: Path | None = None,
    cluster_mode: bool = False,
) -> IngestReport:
    """The Spark ingest (module docstring). Raises ValidationError (nothing written)."""
    if wh.read_only:
        raise ConfigError(f"The warehouse {wh.path} is open read-only; cannot ingest.")
    root = dataset or default_dataset(wh)
    check_mode(wh, root, cluster_mode)
    session = spark_session(remote)
    if not spark._has_dataset(root) and not wh.is_empty():
        seed_dataset(wh, root)
    built = spark.build(session, str(tasks), root)
    account_report = ingest_files(wh, accounts=accounts) if accounts is not None else None
    result = load.load(wh, built, str(tasks), cluster_mode=cluster_mode)
    notes = built.notes + (account_report.notes if account_report else ())
    return IngestReport(
        source=result.source,
        rows_inserted=result.rows_inserted,
        rows_updated=result.rows_updated,
        accounts_inserted=account_report.accounts_inserted if account_report else 0,
        accounts_updated=account_report.accounts_updated if account_report else 0,
        rows_unchanged=built.unchanged,
        accounts_unchanged=account_report.accounts_unchanged if account_report else 0,
        notes=notes,
    )


def check_mode(wh: Warehouse, root: Path, cluster_mode: bool) -> None:
    """A cluster-mode warehouse stays in cluster mode, on its own dataset (refused before
    anything is built; a full warehouse may turn cluster mode: its tasks are seeded first)."""
    recorded = cluster.dataset(wh)
    if recorded is None:
        return
    if not cluster_mode:
        raise ConfigError(
            f"The warehouse {wh.path} is in cluster mode (its tasks are in {recorded}): "
            "add --cluster, or build a new warehouse to hold every task."
        )
    if recorded.resolve() != root.resolve():
        raise ConfigError(
            f"The warehouse {wh.path} was built in cluster mode from the dataset {recorded}, "
            f"not {root}: give --parquet {recorded}."
        )
    if not spark._has_dataset(root):
        raise ConfigError(f"The Parquet dataset {root} of this cluster-mode warehouse is missing.")


def seed_dataset(wh: Warehouse, root: Path) -> None:
    """Write the warehouse's tasks and cube rows as the dataset (the first Spark ingest into
    a warehouse built by DuckDB), in the layout the Spark build writes."""
    columns = ", ".join(c.name for c in TASK_COLUMNS + DERIVED_COLUMNS)
    with wh.cursor() as cur:
        for sub, sql in ((spark.TASKS_DIR, f"SELECT {columns} FROM tasks ORDER BY task_id"),  # as Spark writes
                         (spark.CUBE_DIR, build_sql.CUBE_ROWS_SQL),
                         (spark.FACTS_DIR, to_sql(account_facts("tasks"), "duckdb"))):
            reader = cur.sql(sql).to_arrow_reader()
            pads.write_dataset(reader, root / sub, format="parquet", partitioning=["month"],
                               partitioning_flavor="hive", existing_data_behavior="delete_matching")
