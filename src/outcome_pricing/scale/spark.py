"""The build on Spark: read the task files, check them, derive, write Parquet by month.

Every step is an Ibis expression of `scale/` compiled to Spark SQL and run on temp
views with the expression's relation names; this module only reads files, names
views and writes the results. The dataset it keeps (DATASET layout):

    <dataset>/tasks/month=YYYY-MM-01/*.parquet       every task with month and gap
    <dataset>/cube_rows/month=YYYY-MM-01/*.parquet   the cube before numbering
    <dataset>/facts/month=YYYY-MM-01/*.parquet       the account facts (scale/facts.py)

An ingest rewrites only the months it changes: it writes them under
<dataset>/_next/ first (Spark cannot overwrite files it is reading), then swaps
those month directories in. The dataset must be a path this machine can move
directories in (a local disk or a shared mount).
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir

from outcome_pricing.errors import Problem, ValidationError
from outcome_pricing.ingest.read import MISSING_COLUMN_TEXT
from outcome_pricing.ingest.validate import duplicate_text
from outcome_pricing.scale import checks, increment
from outcome_pricing.scale.compiler import to_sql
from outcome_pricing.scale.cube import cube_rows
from outcome_pricing.scale.derive import derived_tasks
from outcome_pricing.scale.facts import account_facts
from outcome_pricing.warehouse.schema import TASK_COLUMNS, TASKS_BY_NAME

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TASKS_DIR = "tasks"
CUBE_DIR = "cube_rows"
FACTS_DIR = "facts"
RAW = "_spark_raw"
PARSED = "_spark_parsed"
MONTH_TASKS = "_spark_month_tasks"
SHOWN_PER_RULE = 20


@dataclass(frozen=True)
class SparkBuild:
    """What one Spark ingest did: the months it rewrote and the task counts."""

    dataset: Path
    months: tuple[dt.date, ...]
    inserted: int
    updated: int
    notes: tuple[str, ...] = ()
    unchanged: int = 0  # sent rows identical to the stored ones (not rewritten)


def run(spark: SparkSession, expr: ir.Table, view: str | None = None) -> DataFrame:
    """An Ibis expression on Spark (optionally kept as temp view `view`)."""
    frame = spark.sql(to_sql(expr, "pyspark"))
    if view is not None:
        frame.createOrReplaceTempView(view)
    return frame


# ----------------------------------------------------------------------------- reading
def _is_parquet(source: str) -> bool:
    path = Path(source)
    if path.is_dir():
        return any(path.rglob("*.parquet")) or any(path.rglob("*.pq"))
    return source.lower().endswith((".parquet", ".pq"))


def read_tasks(spark: SparkSession, source: str, name: str) -> tuple[DataFrame, list[str]]:
    """The task file(s) at `source` (a file, a directory or a glob) as text columns under
    the contract's names; missing optional columns are NULL. Returns the frame and notes."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    if _is_parquet(source):
        frame = spark.read.parquet(source)
    else:
        header = spark.read.option("header", True).csv(source).columns
        schema = StructType([StructField(h, StringType()) for h in header]
                            + [StructField("_corrupt", StringType())])
        frame = (spark.read.option("header", True).option("mode", "PERMISSIVE")
                 .option("columnNameOfCorruptRecord", "_corrupt").schema(schema).csv(source))
        frame = frame.cache()
        bad = frame.filter(F.col("_corrupt").isNotNull()).select("_corrupt").limit(SHOWN_PER_RULE).collect()
        if bad:
            raise ValidationError(name, [
                Problem(name, None, None, "a line does not parse (wrong number of fields or bad quoting)",
                        str(r["_corrupt"])[:80]) for r in bad])
    by_norm: dict[str, str] = {}
    for column in frame.columns:
        if column != "_corrupt":
            by_norm.setdefault(column.strip().lower(), column)
    missing = [c.name for c in TASK_COLUMNS if c.required and c.name not in by_norm]
    if missing:
        raise ValidationError(name, [Problem(name, 1, c, MISSING_COLUMN_TEXT)
                                     for c in missing])
    notes = [f"{name}: column '{by_norm[k]}' is not in the data contract; ignored."
             for k in sorted(by_norm) if k not in TASKS_BY_NAME]
    text = [
        (F.col(f"`{by_norm[c.name]}`").cast("string") if c.name in by_norm else F.lit(None).cast("string"))
        .alias(c.name)
        for c in TASK_COLUMNS
    ]
    return frame.select(*text), notes


def check(spark: SparkSession, name: str) -> int:
    """Count every rule over the PARSED view in one aggregate; refuse with examples on any hit.
    Returns the number of rows."""
    row = run(spark, checks.counts(PARSED)).collect()[0].asDict()
    rules = checks.rules(checks.parsed_relation(PARSED))
    problems: list[Problem] = []
    total = 0
    for i, rule in enumerate(rules):
        n = int(row[f"r{i}"])
        total += n
        if n:
            for hit in run(spark, checks.examples(PARSED, i, SHOWN_PER_RULE)).collect():
                problems.append(Problem(name, None, rule.column,
                                        f"{rule.text} (task_id {hit['task_id']})", hit["value"]))
    if int(row["duplicates"]):
        total += int(row["duplicates"])
        for hit in run(spark, checks.duplicate_ids(PARSED, SHOWN_PER_RULE)).collect():
            problems.append(Problem(name, None, "task_id", duplicate_text("task_id"),
                                    str(hit["task_id"])))
    if total:
        raise ValidationError(name, problems[: ValidationError.SHOWN], total=total)
    return int(row["rows"])


# ----------------------------------------------------------------------------- building
def _write(frame: DataFrame, path: Path, sort_by: str | None = None) -> None:
    from pyspark.sql import functions as F

    # Wall-clock UTC without a zone (TIMESTAMP_NTZ): DuckDB reads it back as TIMESTAMP.
    for column in ("created_at", "closed_at"):
        if column in frame.columns:
            frame = frame.withColumn(column, F.col(column).cast("timestamp_ntz"))
    # One shuffle by month: a few files per month instead of one per month and task partition.
    # Tasks sorted by task_id within each month's files: each row group's task_id range (in
    # its footer) is then narrow, so a lookup by task id reads few files (load.files_naming).
    by_month = frame.repartition("month")
    if sort_by is not None:
        by_month = by_month.sortWithinPartitions(sort_by)
    by_month.write.mode("overwrite").partitionBy("month").parquet(str(path))


def _has_dataset(dataset: Path) -> bool:
    return (dataset / TASKS_DIR).is_dir() and any((dataset / TASKS_DIR).glob("month=*"))


def build(spark: SparkSession, source: str, dataset: Path, name: str | None = None) -> SparkBuild:
    """Read, check and build the tasks at `source` into `dataset` (module docstring)."""
    shown = name or source
    frame, notes = read_tasks(spark, source, shown)
    frame.createOrReplaceTempView(RAW)
    # Parsed once and kept: the rules and the build then read plain columns.
    run(spark, checks.parsed(RAW), PARSED).cache()
    n_rows = check(spark, shown)
    staged = spark.table(PARSED).select(*[c.name for c in TASK_COLUMNS])
    staged.createOrReplaceTempView(increment.SENT)
    next_dir = dataset / f"_next-{uuid.uuid4().hex[:12]}"
    unchanged = 0
    try:
        if _has_dataset(dataset):
            spark.read.parquet(str(dataset / TASKS_DIR)).createOrReplaceTempView(increment.STORED)
            # Kept: every later step reads the changed rows, and the count needs them once.
            unchanged = n_rows - run(spark, increment.changed(), increment.NEW).cache().count()
            counts = run(spark, increment.counts()).collect()[0]
            inserted, updated = int(counts["inserted"]), int(counts["updated"])
            run(spark, increment.gap_input(), increment.GAP_INPUT)
            run(spark, derived_tasks(increment.GAP_INPUT), increment.RECOMPUTED).cache()
            months_frame = run(spark, increment.months_to_write(), increment.MONTHS)
            months = sorted(r["month"] for r in months_frame.collect())
            content = run(spark, increment.month_content())
        else:
            staged.createOrReplaceTempView(increment.NEW)
            content = run(spark, derived_tasks(increment.NEW))
            inserted, updated, months = n_rows, 0, []
        _write(content, next_dir / TASKS_DIR, sort_by="task_id")
        written = _months_in(next_dir / TASKS_DIR)
        months = months or written
        if written:
            spark.read.parquet(str(next_dir / TASKS_DIR)).createOrReplaceTempView(MONTH_TASKS)
            _write(run(spark, cube_rows(MONTH_TASKS)), next_dir / CUBE_DIR)
            _write(run(spark, account_facts(MONTH_TASKS)), next_dir / FACTS_DIR)
        _swap(dataset, next_dir, months)
    finally:
        shutil.rmtree(next_dir, ignore_errors=True)
        spark.catalog.clearCache()
        for view in (RAW, PARSED, increment.SENT, increment.NEW, increment.STORED, increment.GAP_INPUT, increment.RECOMPUTED,
                     increment.MONTHS, MONTH_TASKS):
            spark.catalog.dropTempView(view)
    return SparkBuild(dataset, tuple(months), inserted, updated, tuple(notes), unchanged)


def month_dir(month: dt.date) -> str:
    return f"month={month.isoformat()}"


def _months_in(root: Path) -> list[dt.date]:
    """The months written under root, from the partition directories (no Spark job)."""
    found = [d.name.removeprefix("month=") for d in root.glob("month=*") if d.is_dir()] if root.is_dir() else []
    return sorted(dt.date.fromisoformat(m) for m in found)


def _swap(dataset: Path, next_dir: Path, months: list[Any]) -> None:
    """Replace each rewritten month's directories by the new ones (a month left empty goes)."""
    for sub in (TASKS_DIR, CUBE_DIR, FACTS_DIR):
        (dataset / sub).mkdir(parents=True, exist_ok=True)
        for month in months:
            target = dataset / sub / month_dir(month)
            shutil.rmtree(target, ignore_errors=True)
            fresh = next_dir / sub / month_dir(month)
            if fresh.is_dir():
                fresh.rename(target)
