"""The SparkSession the build runs on: local mode by default, a cluster through Spark Connect.

`local[*]` uses every core of this machine (CI, a laptop, a big single server).
A Spark Connect URL (`sc://host:15002`, from `--spark-remote` or $SPARK_REMOTE)
runs the same build on a cluster; only the URL changes. One session per process:
starting the JVM costs 8-12 s, so it is reused.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

from outcome_pricing.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

REMOTE_ENV = "SPARK_REMOTE"
MEMORY_ENV = "OUTCOME_PRICING_SPARK_MEMORY"  # driver memory in local mode, e.g. "6g"

# UTC so months and timestamps mean what they mean in DuckDB; a few shuffle partitions
# (adaptive execution coalesces them) instead of 200 tiny ones on a laptop.
LOCAL_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


def java_available() -> bool:
    """A Java runtime on PATH or in $JAVA_HOME (local mode starts a JVM)."""
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is not None or bool(home and os.path.exists(os.path.join(home, "bin", "java")))


def spark_session(remote: str | None = None) -> SparkSession:
    """The process's SparkSession: Spark Connect at `remote` (or $SPARK_REMOTE), else local[*]."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError(
            "The Spark build needs the `scale` extra: pip install 'outcome-pricing[scale]' "
            "(Ibis with DuckDB and PySpark 4.0)."
        ) from exc
    url = remote or os.environ.get(REMOTE_ENV) or None
    builder = SparkSession.builder.appName("outcome-pricing")
    if url:
        session = builder.remote(url).getOrCreate()
        session.conf.set("spark.sql.session.timeZone", "UTC")
        return session
    if not java_available():
        raise ConfigError(
            "Spark in local mode needs a Java 17 runtime: install one (Debian/Ubuntu: "
            "apt-get install openjdk-17-jre-headless) or give --spark-remote sc://HOST:15002."
        )
    builder = builder.master("local[*]").config("spark.driver.memory", os.environ.get(MEMORY_ENV, "2g"))
    for key, value in LOCAL_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
