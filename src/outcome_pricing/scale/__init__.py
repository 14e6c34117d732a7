"""The definition-independent build as Ibis expressions, for DuckDB and Apache Spark (DESIGN 12).

Written once, run on either engine:
- tables.py: the relations the build reads (unbound Ibis tables with the contract's types)
- derive.py: month and reopen gap; cube.py: the cube rows, their numbering, the tier split
- facts.py: the account facts cluster mode keeps instead of the tasks (warehouse/cluster.py)
- checks.py: reading task files as text on Spark and counting every rule of the contract
- increment.py: what an ingest changes (only the affected partitions are recomputed)
- compiler.py: the expressions as SQL (Spark at run time; DuckDB ahead of time into
  warehouse/build_sql.py, which the normal ingest runs)
- session.py, spark.py: the SparkSession and the Spark build to Parquet by month
- load.py: the Parquet back into the DuckDB warehouse; ingest.py: `ingest --engine spark`
- evidence.py: the Parquet tasks cluster mode reads: one account-month's (task-level
  evidence), one account's, those a fixed filter selects, or a view of them all

Needs the `scale` extra (Ibis, PySpark 4.0) and, for Spark in local mode, Java 17;
nothing here is imported by the DuckDB path.
"""
