"""The per-user day offsets behind curves and matrix (issue 17): the same numbers on every path.

References are plain Python loops over each unit's sorted days, written here,
independent of ``insights``: the first day followed by more than ``gap`` empty days
and the last day (``gap_summary``), and the distinct ``day // width`` of each unit
(``key_periods``). The DuckDB curves and matrix read a shared table of offsets from
the first-seen day when every origin is that day; other origins fall back to the
general path; all must equal the results with sharing off.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import narwhals as nw
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from test_shared_days import AS_OF, _frames

import insights as ins
from insights.data import _backend
from insights.data._backend import _DAY_SPAN, collect, gap_summary, key_periods
from insights.metrics import activity_days


def _days(seed: int) -> pl.DataFrame:
    """``u, d``: 300 units, days 0..400 with repeats; some units lack day 0, some hold it only."""
    rng = np.random.default_rng(seed)
    u = rng.integers(0, 300, 4000)
    d = np.where(rng.random(4000) < 0.7, rng.integers(0, 400, 4000), rng.integers(0, 40, 4000))
    return pl.DataFrame({"u": u, "d": d}).vstack(pl.DataFrame({"u": [300], "d": [0]}))


def _reference(days: pl.DataFrame, gap: int, *, origin: bool) -> pl.DataFrame:
    rows = []
    for (unit,), sub in days.group_by(["u"]):
        ds = sorted(set(sub["d"].to_list()) | ({0} if origin else set()))
        churn = next((a for a, b in zip(ds, ds[1:], strict=False) if b - a > gap), None)
        rows.append((unit, churn, ds[-1]))
    schema = {"u": pl.Int64, "__churn": pl.Int64, "__last": pl.Int64}
    out = pl.DataFrame(rows, schema=schema, orient="row")
    return out.sort("u")


def _on(engine: str, frame: pl.DataFrame) -> nw.LazyFrame:
    if engine == "duckdb":
        return nw.from_native(duckdb.connect().from_arrow(frame.to_arrow()))
    return nw.from_native(frame.lazy())


def _tidy(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.all().cast(pl.Int64)).sort(frame.columns[0])


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
@pytest.mark.parametrize("origin", [False, True])
def test_gap_summary_matches_a_loop(engine: str, origin: bool) -> None:
    days = _days(1)
    if origin:  # the rows hold only the later days; day 0 is implied
        days = days.filter(pl.col("d") > 0)
    for gap in (1, 30):
        got = collect(gap_summary(_on(engine, days), unit="u", day="d", gap=gap, origin=origin))
        assert_frame_equal(_tidy(got), _reference(days, gap, origin=origin))
        if engine == "polars":  # rows in unit x day order: the sort is skipped
            ordered = _on(engine, days.sort("u", "d"))
            fast = gap_summary(ordered, unit="u", day="d", gap=gap, presorted=True, origin=origin)
            assert_frame_equal(_tidy(collect(fast)), _reference(days, gap, origin=origin))


@pytest.mark.parametrize("origin", [False, True])
def test_gap_summary_of_packed_keys_matches_a_loop(backend: str, origin: bool, request) -> None:
    """``day=None``: the rows are packed keys ``u * 2**22 + d`` (as the shared offsets
    come), read as they are on Polars and DuckDB, unpacked on Spark."""
    days = _days(3)
    if origin:
        days = days.filter(pl.col("d") > 0)
    keys = days.select((pl.col("u") * _DAY_SPAN + pl.col("d")).alias("__k"))
    if backend == "pyspark":
        frame = nw.from_native(request.getfixturevalue("spark").createDataFrame(keys.to_pandas()))
    else:
        frame = _on(backend, keys)
    for gap in (1, 30):
        got = collect(gap_summary(frame, unit="u", day=None, gap=gap, origin=origin))
        assert_frame_equal(_tidy(got), _reference(days, gap, origin=origin))
        if backend == "polars":  # in key order: the sort is skipped
            ordered = _on(backend, keys.sort("__k"))
            fast = gap_summary(ordered, unit="u", day=None, gap=gap, presorted=True, origin=origin)
            assert_frame_equal(_tidy(collect(fast)), _reference(days, gap, origin=origin))


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_key_periods_match_a_set(engine: str) -> None:
    days = _days(2)
    keys = days.sort("u", "d").select((pl.col("u") * _DAY_SPAN + pl.col("d")).alias("__k"))
    want = sorted({(u, d // 30) for u, d in days.iter_rows()})
    got = collect(key_periods(_on(engine, keys), width=30, presorted=True))
    assert sorted(got.rows()) == want


@pytest.mark.parametrize(
    ("slices", "scale"),
    [((3, 2), 1), ((40, 11), 1), ((10_000, 10_000), 1), ((40, 11), 10**9), ((40, 11), 10**13)],
)
def test_duckdb_ranges_equal_one_pass_and_sharing_off(monkeypatch, slices, scale) -> None:
    """DuckDB builds the shared days (with their offsets) one user-id range at a time and
    reads the offsets in parts of user ids (gap summaries and periods per part): curves,
    matrix and lifetimes equal the per-call path, whatever the range sizes (3 users a
    range: 50 ranges; 2 a part: 75 parts; one range for all). Sparse ids (``scale``)
    are cut by how many users a range holds, not by id width; ids spanning 2**40 or
    more (10**13 apart) leave the offsets path (packed keys would overflow)."""
    users_per, units_per = slices
    monkeypatch.setattr(_backend, "DUCKDB_SLICE_USERS", users_per)
    monkeypatch.setattr(_backend, "DUCKDB_SLICE_UNITS", units_per)
    fast, parts = [], []  # the offsets path is taken; how many parts each table is built from
    offsets, materialize_parts = activity_days._duckdb_offsets, _backend.materialize_parts
    monkeypatch.setattr(
        activity_days, "_duckdb_offsets", lambda *a, **k: fast.append(offsets(*a, **k)) or fast[-1]
    )
    monkeypatch.setattr(
        _backend, "materialize_parts", lambda p: parts.append(len(p)) or materialize_parts(p)
    )
    frames = {
        k: v.with_columns(pl.col("user_id") * scale)
        for k, v in _frames(seed=43, n_users=150).items()
    }
    results = {}
    for share in (False, True):
        con = duckdb.connect()
        ds = ins.load_dataset(
            as_of=AS_OF,
            validate=False,
            **{k: con.from_arrow(v.to_arrow()) for k, v in frames.items()},
        )
        with ins.options(share_days=share):
            results[share] = (
                ins.retention_curves(ds, by="city_tier").table,
                ins.retention_curves(ds, by="city_tier", period="2024-Q1").table,
                ins.retention_matrix(ds, cohort_unit="month", unit="month", min_cell=0),
                ins.retention_matrix(ds, cohort_unit="month", unit="month", kind="on", min_cell=0),
                ins.retention_matrix(ds, cohort_unit="week", unit="week", kind="on", min_cell=0),
                collect(ins.user_lifetimes(ds)).sort("user_id"),
            )
    for before, after in zip(results[False], results[True], strict=True):
        assert_frame_equal(before, after)
    taken = [f for f in fast if f is not None]
    if scale * 150 >= 1 << 40:
        assert not taken
        return
    assert len(taken) >= 3  # the full-population curves, the two matrices of kind on
    assert (max(parts) > 1) == (users_per < 150)  # shared days: several ranges, or one
    assert max(parts) <= 150 // min(slices) + 2  # by how many users, not by id width
    assert all((len(f[0]) > 1) == (units_per < 150) for f in taken)  # offsets: parts, or one
    assert all(len(f[0]) <= 150 // units_per + 2 for f in taken)


def test_subsets_and_other_origins_equal_sharing_off(make_dataset, backend) -> None:
    """A period (some users), a where= filter and experiment origins: fast path or not,
    the numbers are those of the per-call path."""
    if backend == "pyspark":
        pytest.skip("Spark computes the days per call: no shared path to compare")
    frames = _frames(seed=41, n_users=150)
    users = frames["users"]
    experiments = pl.DataFrame(
        {
            "user_id": users["user_id"],
            "experiment": ["e1"] * users.height,
            "arm": ["a", "b"] * (users.height // 2),
            "assigned_at": [t + dt.timedelta(days=5) for t in users["first_seen_at"]],
        }
    )
    ds = make_dataset({**frames, "experiments": experiments}, as_of=AS_OF)
    results = {}
    for share in (False, True):
        with ins.options(share_days=share):
            results[share] = (
                ins.retention_curves(ds, by="city_tier", period="2024-Q1").table,
                ins.retention_curves(ds, where={"city_tier": "t1"}).table,
                ins.retention_curves(ds, origin="experiment", by="arm").table,
                ins.retention_matrix(
                    ds,
                    cohort_unit="month",
                    unit="month",
                    min_cell=0,
                    where={"city_tier": ["t1", "t2"]},
                ),
                collect(ins.user_lifetimes(ds, period="2024-Q2")).sort("user_id"),
            )
    for before, after in zip(results[False], results[True], strict=True):
        assert_frame_equal(before, after)
