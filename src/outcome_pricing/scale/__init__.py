"""The definition-independent build as Ibis expressions, for DuckDB and Apache Spark.

DESIGN section 12. Empty until that build lands (issue 19): today the build is
DuckDB SQL in ``warehouse/derive.py`` and ``warehouse/cube.py``.
"""
