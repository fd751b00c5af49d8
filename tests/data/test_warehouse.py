"""Warehouse sources: ``load_dataset("duckdb:<file>")`` and ``load_dataset("spark:<db>")``."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

from insights.data import load_dataset
from insights.metrics import retention_curves

T0 = dt.datetime(2024, 1, 1, 12)


def _frames() -> dict[str, pl.DataFrame]:
    users = pl.DataFrame({"user_id": [1, 2, 3], "first_seen_at": [T0] * 3})
    views = pl.DataFrame(
        {
            "user_id": [1, 3, 3, 3],
            "started_at": [T0 + dt.timedelta(days=d) for d in (10, 20, 45, 70)],
            "watch_seconds": [60.0] * 4,
        }
    )
    return {"users": users, "views": views}


def test_duckdb_file_loads_like_the_same_frames(tmp_path) -> None:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    for name, frame in _frames().items():
        con.register("f", frame.to_arrow())
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM f")
        con.unregister("f")
    con.close()
    ds = load_dataset(f"duckdb:{path}", as_of="2024-03-31")
    assert ds.source == f"duckdb:{path}" and sorted(ds.names) == ["users", "views"]
    ours = retention_curves(ds).at([7, 30]).select("t", "survival").rows()
    # the hand-worked example of retention_curves' docstring: S(7) = 2/3, S(30) = 1/3
    assert ours == [(7, pytest.approx(2 / 3)), (30, pytest.approx(1 / 3))]


def test_warehouse_errors_say_what_is_wrong(tmp_path) -> None:
    with pytest.raises(ValueError, match="no such database file"):
        load_dataset(f"duckdb:{tmp_path / 'none.duckdb'}")
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(ValueError, match="no table users"):
        load_dataset(f"duckdb:{path}")


@pytest.mark.spark
def test_spark_database_loads_like_the_same_frames(spark) -> None:
    def ntz(t: dt.datetime) -> str:
        return f"TIMESTAMP_NTZ'{t:%Y-%m-%d %H:%M:%S}'"

    spark.sql("CREATE DATABASE IF NOT EXISTS insights_wh")
    for name, frame in _frames().items():
        rows = ", ".join(
            "(" + ", ".join(ntz(v) if isinstance(v, dt.datetime) else repr(v) for v in row) + ")"
            for row in frame.rows()
        )
        spark.sql(f"DROP TABLE IF EXISTS insights_wh.{name}")
        spark.sql(
            f"CREATE TABLE insights_wh.{name} USING parquet AS "
            f"SELECT * FROM VALUES {rows} AS t({', '.join(frame.columns)})"
        )
    ds = load_dataset("spark:insights_wh", as_of="2024-03-31")
    assert sorted(ds.names) == ["users", "views"]
    ours = retention_curves(ds).at([7, 30]).select("t", "survival").rows()
    assert ours == [(7, pytest.approx(2 / 3)), (30, pytest.approx(1 / 3))]
    with pytest.raises(ValueError, match="no table nowhere.users"):
        load_dataset("spark:nowhere")
