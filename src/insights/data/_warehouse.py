"""Data that lives in a warehouse: ``spark:<database>`` and ``duckdb:<file>`` sources.

``load_dataset("spark:dw")`` reads the contract's tables (``dw.users``, ``dw.orders``,
...) from the active Spark session's catalog (one is created when none is active,
e.g. on a cluster where ``spark-submit`` configured it); ``load_dataset(
"duckdb:warehouse.duckdb")`` opens a DuckDB database file read-only and takes its
tables of the same names. Nothing is read here: the tables stay lazy in their engine,
and every analysis sends only aggregates back (see ``docs/scaling.md``). A report
takes the same text as its ``data`` parameter.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from insights.data.contract import CONTRACT

__all__ = ["is_warehouse", "warehouse_tables"]

_URI = re.compile(r"^(spark|duckdb):(.+)$")


def is_warehouse(source: object) -> bool:
    """True for ``spark:<database>`` and ``duckdb:<file>`` sources.

    Examples
    --------
    >>> is_warehouse("spark:dw"), is_warehouse("data/demo")
    (True, False)
    """
    return isinstance(source, str | Path) and _URI.match(str(source)) is not None


def warehouse_tables(source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The contract tables found in the warehouse ``source``, and meta to keep alive.

    Raises
    ------
    ValueError
        The source is malformed, its engine is not installed, or it has no users table.
    """
    match = _URI.match(source)
    if match is None:
        raise ValueError(
            f"{source!r} is not a warehouse source (spark:<database> or duckdb:<file>)"
        )
    engine, where = match.groups()
    if engine == "spark":
        return _spark(where), {}
    return _duckdb(where)


def _spark(database: str) -> dict[str, Any]:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ValueError("spark: sources need pyspark (pip install 'insights[spark]')") from None
    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    tables = {
        name: spark.table(f"{database}.{name}")
        for name in CONTRACT
        if spark.catalog.tableExists(f"{database}.{name}")
    }
    if "users" not in tables:
        catalog = spark.conf.get("spark.sql.catalogImplementation", "in-memory")
        hint = (
            " (this session's catalog is Spark's in-memory one, which no other process shares: "
            "point spark.sql.catalogImplementation and hive.metastore.uris at your metastore, "
            "see docs/scaling.md)"
            if catalog == "in-memory"
            else f" (catalog: {catalog})"
        )
        raise ValueError(f"spark:{database}: no table {database}.users; it is required{hint}")
    return tables


def _duckdb(file: str) -> tuple[dict[str, Any], dict[str, Any]]:
    import duckdb

    path = Path(file).expanduser()
    if not path.exists():
        raise ValueError(f"duckdb:{file}: no such database file")
    con = duckdb.connect(str(path), read_only=True)
    present = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
    tables = {name: con.table(name) for name in CONTRACT if name in present}
    if "users" not in tables:
        con.close()
        raise ValueError(f"duckdb:{file}: no table users; it is required")
    return tables, {"duckdb_connection": con}
