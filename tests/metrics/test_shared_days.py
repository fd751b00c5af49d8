"""The shared per-user active days (issue 17): computed once, the same numbers as before.

The reference is a plain Polars computation written here, independent of
``insights``: for each user, the calendar days of the events of the activity tables
(cut at ``as_of``), clipped at the first-seen day, plus that first day, distinct.
Every engine's :func:`active_user_days` must equal it with sharing on and off, and
the retention curves and matrix must be identical either way.
"""

from __future__ import annotations

import datetime as dt
import gc
import warnings
from pathlib import Path

import narwhals as nw
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import insights as ins
from insights.data._backend import collect, materialize
from insights.data._cache import CacheWarning
from insights.metrics import activity_days as ad
from insights.metrics.activity_days import active_user_days, shared_days

AS_OF = dt.datetime(2024, 6, 30, 23, 59, 59)
EPOCH = dt.datetime(1970, 1, 1)


def _frames(seed: int = 3, n_users: int = 120) -> dict[str, pl.DataFrame]:
    """Users first seen in 2024H1; events from a day before the first day to after ``as_of``,
    repeated days, users without events and events of a user who is not in ``users``."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2024, 1, 1)
    first = [start + dt.timedelta(hours=int(h)) for h in rng.integers(0, 24 * 170, n_users)]
    users = pl.DataFrame(
        {
            "user_id": np.arange(1, n_users + 1),
            "first_seen_at": first,
            "city_tier": rng.choice(["t1", "t2", None], n_users).tolist(),
        }
    )

    def events(n: int, column: str, extra: dict[str, object]) -> pl.DataFrame:
        who = rng.integers(1, n_users + 2, n)  # n_users + 1 is not a user
        base = [first[min(u, n_users) - 1] for u in who]
        hours = rng.integers(-30, 24 * 200, n)  # up to a day before the first day, past as_of
        stamps = [b + dt.timedelta(hours=int(h)) for b, h in zip(base, hours, strict=True)]
        return pl.DataFrame({"user_id": who, column: stamps, **extra})

    views = events(1500, "started_at", {"watch_seconds": [30.0] * 1500})
    interactions = events(800, "at", {"action": ["like"] * 800})
    orders = events(300, "ordered_at", {"order_id": np.arange(300), "amount": [9.0] * 300})
    return {"users": users, "views": views, "interactions": interactions, "orders": orders}


def _reference_days(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """``user_id, first_seen_day, day`` by hand: epoch days, as_of cut, clip, distinct."""

    def epoch_days(column: str) -> pl.Expr:
        return ((pl.col(column) - pl.lit(EPOCH)).dt.total_seconds() // 86_400).cast(pl.Int64)

    users = frames["users"].filter(pl.col("first_seen_at") <= AS_OF)
    users = users.select("user_id", epoch_days("first_seen_at").alias("first_seen_day"))
    rows = [users.with_columns(pl.col("first_seen_day").alias("day"))]
    for name, column in (("views", "started_at"), ("interactions", "at"), ("orders", "ordered_at")):
        ev = (
            frames[name]
            .filter(pl.col(column) <= AS_OF)
            .select("user_id", epoch_days(column).alias("day"))
        )
        joined = ev.join(users, on="user_id", how="inner")
        rows.append(
            joined.select(
                "user_id", "first_seen_day", pl.max_horizontal("day", "first_seen_day").alias("day")
            )
        )
    out = pl.concat([r.select("user_id", "first_seen_day", "day") for r in rows]).unique()
    return out.sort("user_id", "day")


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.col("user_id", "first_seen_day", "day").cast(pl.Int64)).sort(
        "user_id", "day"
    )


@pytest.mark.parametrize("share", [True, False])
def test_active_days_equal_an_independent_computation(make_dataset, backend, share) -> None:
    frames = _frames()
    ds = make_dataset(frames, as_of=AS_OF)
    with ins.options(share_days=share):
        got = collect(active_user_days(ds))
        if share and backend in ("polars", "duckdb"):
            assert shared_days(ds) is shared_days(ds)  # computed once, then remembered
    assert_frame_equal(_sorted(got), _reference_days(frames))


def test_repeated_days_and_other_origins_match_the_reference(make_dataset, backend) -> None:
    """``distinct=False`` (repeats allowed) and units whose origin is not the first day."""
    frames = _frames(seed=5)
    ds = make_dataset(frames, as_of=AS_OF)
    ref = _reference_days(frames)
    origin = 19_800  # 2024-03-18: after some users' first day, before others'
    units = frames["users"].select("user_id", pl.lit(origin, pl.Int64).alias("first_seen_day"))
    events = ref.filter(pl.col("day") > pl.col("first_seen_day"))  # clipped rows aside
    raw = pl.concat([r for r in [_raw_days(frames)]])
    expected = (
        pl.concat(
            [
                units.with_columns(pl.col("first_seen_day").alias("day")),
                raw.join(units, on="user_id").filter(pl.col("day") >= pl.col("first_seen_day")),
            ],
            how="diagonal",
        )
        .select("user_id", "first_seen_day", "day")
        .unique()
        .sort("user_id", "day")
    )
    assert events.height > 0
    for share in (True, False):
        with ins.options(share_days=share):
            from insights.data._backend import to_lazy

            people = to_lazy(units) if backend == "polars" else _on_engine(units, ds, backend)
            got = collect(active_user_days(ds, users=people))
            repeats = collect(active_user_days(ds, users=people, distinct=False))
        assert_frame_equal(_sorted(got), expected)
        assert_frame_equal(_sorted(repeats).unique().sort("user_id", "day"), expected)


def _raw_days(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Every event's (user, epoch day) up to as_of, not clipped."""
    out = []
    for name, column in (("views", "started_at"), ("interactions", "at"), ("orders", "ordered_at")):
        f = frames[name].filter(pl.col(column) <= AS_OF)
        day = ((pl.col(column) - pl.lit(EPOCH)).dt.total_seconds() // 86_400).cast(pl.Int64)
        out.append(f.select("user_id", day.alias("day")))
    return pl.concat(out)


def _on_engine(frame: pl.DataFrame, ds: ins.Dataset, backend: str):
    import narwhals as nw

    if backend == "duckdb":
        con = ds.meta["duckdb_connection"]
        return nw.from_native(con.from_arrow(frame.to_arrow()))
    spark = ds.tables["users"].sparkSession  # the session of the dataset's frames
    return nw.from_native(spark.createDataFrame(frame.to_pandas()))


def test_curves_and_matrix_identical_with_sharing_on_and_off(make_dataset, backend) -> None:
    ds = make_dataset(_frames(seed=11, n_users=200), as_of=AS_OF)
    results = {}
    for share in (False, True):
        with ins.options(share_days=share):
            curves = ins.retention_curves(ds, by="city_tier")
            matrix = ins.retention_matrix(
                ds, cohort_unit="month", unit="week", kind="on", min_cell=0
            )
            lives = collect(ins.user_lifetimes(ds)).sort("user_id")
            results[share] = (curves.table, matrix, lives)
    for before, after in zip(results[False], results[True], strict=True):
        assert_frame_equal(before, after)


def test_another_dataset_never_reads_stale_days(make_dataset, backend) -> None:
    first = _frames(seed=1)
    second = _frames(seed=2)  # same shape, other content
    a = make_dataset(first, as_of=AS_OF)
    assert_frame_equal(_sorted(collect(active_user_days(a))), _reference_days(first))
    b = make_dataset(second, as_of=AS_OF)
    assert_frame_equal(_sorted(collect(active_user_days(b))), _reference_days(second))
    # another as_of of the same frames is another key too
    c = a.with_as_of("2024-03-31")
    got = _sorted(collect(active_user_days(c)))
    assert got["day"].max() <= (dt.date(2024, 3, 31) - EPOCH.date()).days


def _write(frames: dict[str, pl.DataFrame], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.write_parquet(folder / f"{name}.parquet")
    return folder


def test_on_disk_intermediate_is_keyed_on_content(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("INSIGHTS_CACHE_DIR", str(tmp_path / "cache"))
    frames = _frames(seed=21)
    folder = _write(frames, tmp_path / "data")
    ds = ins.load_dataset(folder, as_of=AS_OF, validate=False)
    ad._SHARED.clear()
    assert_frame_equal(_sorted(collect(active_user_days(ds))), _reference_days(frames))
    files = list((tmp_path / "cache" / "results").glob("*.parquet"))
    assert len(files) == 1
    # a fresh process (the in-memory memo emptied) reads the Parquet intermediate
    ad._SHARED.clear()
    again = ins.load_dataset(folder, as_of=AS_OF, validate=False)
    days = shared_days(again)
    assert str(files[0]) in days.to_native().explain()
    assert_frame_equal(_sorted(collect(active_user_days(again))), _reference_days(frames))
    # the sorted fast paths read the file in its order: the same lifetimes and matrix
    from_disk = (
        collect(ins.user_lifetimes(again)).sort("user_id"),
        ins.retention_matrix(again, cohort_unit="month", unit="week", min_cell=0),
    )
    with ins.options(share_days=False):
        plain = (
            collect(ins.user_lifetimes(again)).sort("user_id"),
            ins.retention_matrix(again, cohort_unit="month", unit="week", min_cell=0),
        )
    for got, want in zip(from_disk, plain, strict=True):
        assert_frame_equal(got, want)
    # other content in the same folder: another key, never the stale file
    changed = _frames(seed=22)
    _write(changed, folder)
    ad._SHARED.clear()
    fresh = ins.load_dataset(folder, as_of=AS_OF, validate=False)
    assert_frame_equal(_sorted(collect(active_user_days(fresh))), _reference_days(changed))
    assert len(list((tmp_path / "cache" / "results").glob("*.parquet"))) == 2


def test_a_damaged_intermediate_is_discarded_and_computed_again(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("INSIGHTS_CACHE_DIR", str(tmp_path / "cache"))
    frames = _frames(seed=31)
    folder = _write(frames, tmp_path / "data")
    ad._SHARED.clear()
    collect(active_user_days(ins.load_dataset(folder, as_of=AS_OF, validate=False)))
    (path,) = (tmp_path / "cache" / "results").glob("*.parquet")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    ad._SHARED.clear()
    ds = ins.load_dataset(folder, as_of=AS_OF, validate=False)
    with pytest.warns(CacheWarning, match="intermediate"):
        got = collect(active_user_days(ds))
    assert_frame_equal(_sorted(got), _reference_days(frames))


def test_duckdb_temp_tables_limits_and_cleanup() -> None:
    import duckdb
    import narwhals as nw

    con = duckdb.connect()
    rel = nw.from_native(con.sql("SELECT range AS a FROM range(10)"))
    with ins.options(duckdb_memory_limit="1GB"):
        kept = materialize(rel.filter(nw.col("a") > 6))
    assert sorted(collect(kept)["a"].to_list()) == [7, 8, 9]
    limit = con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
    assert limit.replace(" ", "").lower() in ("953.6mib", "1gb", "1.0gib", "1000.0mb")
    temp = "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name LIKE '__insights_%'"
    assert con.sql(temp).fetchall()[0][0] == 1
    derived = kept.with_columns(b=nw.col("a") * 2)  # a relation built on the table keeps it
    del kept
    gc.collect()
    assert sorted(collect(derived)["b"].to_list()) == [14, 16, 18]
    del derived
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert con.sql(temp).fetchall()[0][0] == 0


@pytest.mark.parametrize("slice_users", [1, 7, 50, 10_000])
def test_distinct_days_cut_into_user_ranges_equal_one_sort(monkeypatch, slice_users) -> None:
    """Sorting the users' id ranges one at a time (the 10M-user memory cap) changes nothing:
    the same rows, in the same user x day order, as a plain set of (user, day) pairs."""
    from insights.data import _backend

    rng = np.random.default_rng(slice_users)
    n = 4000
    users = rng.integers(100, 220, n)  # 120 ids, some without events
    days = rng.integers(19_700, 19_900, n)
    expected = sorted(set(zip(users.tolist(), days.tolist(), strict=True)))
    events = nw.from_native(pl.DataFrame({"user_id": users, "day": days}).lazy())
    monkeypatch.setattr(_backend, "SLICE_USERS", slice_users)
    out = collect(
        _backend.distinct_days(events, last_day=19_950, user_range=(100, 230), users=131)
    )
    assert out.rows() == expected
