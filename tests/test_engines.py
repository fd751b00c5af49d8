"""The engine fixtures themselves: every engine sees the same values as Polars.

A Spark round trip must keep naive timestamps as wall-clock values (TimestampNTZ),
never shifted by a session or machine time zone; the ``as_of`` cut must fall on the
same row on every engine.
"""

from __future__ import annotations

import datetime as dt

import narwhals as nw
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from insights.data import DataValidationError, load_dataset
from insights.data._backend import backend_name, collect, epoch_day, with_month_index

FRAME = pl.DataFrame(
    {
        "user_id": [1, 2, 3],
        "first_seen_at": [
            dt.datetime(2024, 1, 1, 0, 0, 0),
            dt.datetime(2024, 3, 31, 23, 59, 59, 999999),
            dt.datetime(2024, 4, 1, 0, 0, 0, 1),
        ],
        "day": [dt.date(1970, 1, 1), dt.date(2024, 2, 29), None],
        "amount": [1.5, None, -0.25],
        "label": ["a", None, "c"],
        "flag": [True, False, None],
    }
)


def test_round_trip_keeps_values_and_types(make_dataset, backend: str) -> None:
    ds = make_dataset(users=FRAME, as_of="2024-12-31")
    frame = ds.raw("users")
    assert backend_name(frame) == backend
    schema = frame.collect_schema()
    assert (
        schema["first_seen_at"] == nw.Datetime
        and getattr(schema["first_seen_at"], "time_zone", None) is None
    )
    assert schema["day"] == nw.Date
    assert_frame_equal(collect(frame).sort("user_id"), FRAME, check_dtypes=False)
    # wall clock, not instants: 2024-01-01 00:00 is epoch day 19723 on every engine
    days = collect(frame.select("user_id", epoch_day("first_seen_at").alias("d"))).sort("user_id")
    assert days["d"].to_list() == [19723, 19813, 19814]
    # the per-engine spelling (like=frame) gives the same days as the portable one
    fast = collect(frame.select("user_id", epoch_day("first_seen_at", like=frame).alias("d")))
    assert fast.sort("user_id")["d"].to_list() == [19723, 19813, 19814]


def test_epoch_day_spellings_agree_before_1970_on_leap_days_dates_and_time_zones() -> None:
    stamps = [
        dt.datetime(1900, 3, 1, 12), dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
        dt.datetime(1970, 1, 1), dt.datetime(2000, 2, 29, 6), dt.datetime(2024, 12, 31, 23), None,
    ]  # fmt: skip
    native = pl.DataFrame({"t": stamps}).with_columns(
        pl.col("t").dt.date().alias("d"),
        pl.col("t").dt.replace_time_zone("Asia/Shanghai").alias("z"),
        pl.col("t").dt.cast_time_unit("ns").alias("t_ns"),
        pl.col("t").dt.cast_time_unit("ms").alias("t_ms"),
    )
    frame = nw.from_native(native.lazy())
    want = [(s - dt.datetime(1970, 1, 1)).days if s else None for s in stamps]
    # datetime (us, ns, ms: Polars floor-divides the integer timestamp), date, time-zone
    # aware (local wall-clock day)
    for column in ("t", "t_ns", "t_ms", "d", "z"):
        portable = collect(frame.select(epoch_day(column).alias("x")))["x"].to_list()
        fast = collect(frame.select(epoch_day(column, like=frame).alias("x")))["x"].to_list()
        assert portable == fast == want, column


def test_as_of_cut_falls_on_the_same_row(make_dataset) -> None:
    # end of 2024-03-31 keeps the 23:59:59.999999 row and drops the one a microsecond later
    ds = make_dataset(users=FRAME, as_of="2024-03-31")
    assert ds.as_of == dt.datetime(2024, 3, 31, 23, 59, 59, 999999)
    assert sorted(collect(ds.table("users"))["user_id"].to_list()) == [1, 2]


ORDERS = pl.DataFrame(
    {
        "order_id": ["o1", "o2", "o3"],
        "user_id": [1, 1, 3],
        "ordered_at": [
            dt.datetime(2024, 1, 2, 8),
            dt.datetime(2024, 3, 31, 23, 59, 59),
            dt.datetime(2024, 4, 2, 7, 30),
        ],
        "amount": [10.0, 20.5, 7.25],
        "refunded": [False, None, True],
    }
)


def test_load_dataset_takes_engine_frames(make_dataset, backend: str) -> None:
    users = FRAME.select("user_id", "first_seen_at")
    natives = make_dataset(users=users, orders=ORDERS).tables
    ds = load_dataset(**natives)
    assert backend_name(ds.table("orders")) == backend
    # default as_of: end of the day of the latest timestamp (o3, 2024-04-02)
    assert ds.as_of == dt.datetime(2024, 4, 2, 23, 59, 59, 999999) and ds.quality.ok
    got = collect(ds.table("orders")).sort("order_id")
    filled = ORDERS.with_columns(pl.col("refunded").fill_null(False))
    assert_frame_equal(got.select(ORDERS.columns), filled, check_dtypes=False)
    assert [(e.table, e.rule, e.rows) for e in ds.quality.entries if e.rows] == [
        ("orders", "null_default", 1)
    ]
    cut = load_dataset(**natives, as_of="2024-03-31")
    assert collect(cut.table("orders"))["order_id"].sort().to_list() == ["o1", "o2"]
    after = {e.table: e.rows for e in cut.quality.entries if e.rule == "after_as_of"}
    assert after == {"users": 1, "orders": 1}


def test_engine_text_timestamps_are_reported_not_parsed(make_dataset, backend: str) -> None:
    users = FRAME.select("user_id", pl.col("first_seen_at").dt.strftime("%Y-%m-%d %H:%M:%S"))
    natives = make_dataset(users=users, as_of="2024-12-31").tables
    if backend == "polars":
        assert load_dataset(**natives).quality.ok
        return
    with pytest.raises(DataValidationError) as err:
        load_dataset(**natives)
    entry = err.value.log.errors[0]
    assert (entry.table, entry.column, entry.rule, entry.rows) == (
        "users",
        "first_seen_at",
        "type",
        3,
    )
    assert f"cast it in {backend} before loading" in entry.message


def test_month_index_matches_the_calendar(make_dataset, backend: str) -> None:
    # every 37th day from 1970 to 2099 (leap years, century 2000), against Python's calendar
    days = list(range(0, 47_500, 37))
    epoch = dt.date(1970, 1, 1)
    want = [(d.year * 12 + d.month - 1) for d in (epoch + dt.timedelta(days=k) for k in days)]
    frame = make_dataset(spend=pl.DataFrame({"d": days}), as_of="2024-01-01").raw("spend")
    got = collect(with_month_index(frame, "d", "m")).sort("d")["m"].to_list()
    assert got == want


# --- pandas: the headline numbers of the same data given as Parquet ------------------------

PANDAS_FORMS = ("numpy", "arrow", "messy")


def _pandas(frame: pl.DataFrame, form: str):
    """``frame`` as pandas: NumPy dtypes, Arrow-backed dtypes, or every awkward dtype at once."""
    import pandas as pd

    if form == "arrow":
        return frame.to_pandas(use_pyarrow_extension_array=True)
    out = frame.to_pandas()
    if form == "messy":
        for name, dtype in frame.schema.items():
            if isinstance(dtype, pl.Datetime):  # the same instants, tz-aware in UTC, nanoseconds
                out[name] = (
                    pd.to_datetime(out[name])
                    .dt.tz_localize("Asia/Shanghai")
                    .dt.tz_convert("UTC")
                    .astype("datetime64[ns, UTC]")
                )
            elif dtype == pl.String and name not in ("experiment", "arm"):
                out[name] = out[name].astype("category")
            elif dtype == pl.Int64:
                out[name] = out[name].astype("Int64")  # nullable integers
            elif dtype == pl.Boolean:
                out[name] = out[name].astype("boolean")
    return out


def _close(a: pl.DataFrame, b: pl.DataFrame, keys: list[str]) -> None:
    assert a.columns == b.columns and a.height == b.height > 0
    assert_frame_equal(a.sort(keys), b.sort(keys), check_dtypes=False, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("form", PANDAS_FORMS)
def test_pandas_frames_give_the_headline_numbers_of_parquet(small_sim_dir, form: str) -> None:
    # was: every user counted as churned (D30 0.328 against 0.370) and cohort_ltv crashed
    import insights as ins

    files = load_dataset(small_sim_dir)
    frames = {name: _pandas(collect(files.raw(name)), form) for name in files.names}
    ds = load_dataset(**frames, as_of=files.as_of)
    assert ds.quality.ok and all(backend_name(ds.raw(n)) == "polars" for n in ds.names)
    card, notes = ins.kpi_scorecard(ds, quarter="2024Q4")
    want, want_notes = ins.kpi_scorecard(files, quarter="2024Q4")
    assert set(card["metric"]) == set(want["metric"]) and len(set(card["metric"])) >= 10
    _close(card, want, ["metric", "segment", "quarter"])
    assert notes == want_notes
    keys = ["metric", "segment", "period"]
    _close(
        ins.retention_rates(ds, period=2024, by="platform"),
        ins.retention_rates(files, period=2024, by="platform"),
        keys,
    )
    curve = lambda d: ins.retention_curves(d, period=2024, by="channel").table  # noqa: E731
    _close(curve(ds), curve(files), ["segment", "t"])
    # cohort LTV: point estimates and sizes (its bootstrap intervals are drawn afresh)
    ltv = lambda d: ins.cohort_ltv(d, horizon=60, bootstrap=2).drop("ci_low", "ci_high")  # noqa: E731
    got, expected = ltv(ds), ltv(files)
    _close(
        got, expected, [c for c in got.columns if got[c].dtype in (pl.String, pl.Int64, pl.Boolean)]
    )
