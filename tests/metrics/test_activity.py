"""Quarterly active users and 90-day activity on hand-worked examples, every engine."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from insights.metrics._periods import default_quarters
from insights.metrics.activity import active_users, activity_90d
from insights.stats.proportions import wilson_interval

d = dt.datetime
HEAD = ["metric", "segment", "period", "value", "ci_low", "ci_high", "n"]


def frames() -> dict[str, pl.DataFrame]:
    """Users and activity (views, interactions, orders), as_of 2024-04-15.

    u1 (tier1): first 2023-11-10; views 2023-12-05, 2024-01-15, 2024-02-20, 2024-03-10
    u2 (tier1): first 2023-12-01; interaction 2024-01-05, order 2024-02-05 (no March)
    u3 (tier3): first 2023-10-01 (acquisition day counts); nothing in 2023-12-02..31; views Jan,
                Feb, Mar -> not in the 90-day base
    u4 (tier3): first 2024-01-20; views 2024-02-02, 2024-04-02
    u5 (tier3): first 2023-12-20; views 2024-01-02, 2024-02-15, 2024-03-20, view 2024-05-01
                after as_of (ignored)
    Quarters (distinct active users):
      2023Q4: u1 (Nov 10, Dec 5), u2 (Dec 1), u3 (Oct 1), u5 (Dec 20)      -> 4
      2024Q1: u1, u2, u3, u4 (Jan 20, Feb 2), u5                           -> 5
      2024Q2 (partial): u4 (Apr 2)                                         -> 1
    90-day activity for 2024Q1 (w0 = 2024-01-01; base = 2023-12-02..2023-12-31;
      M1 = Jan 1-30, M2 = Jan 31-Feb 29, M3 = Mar 1-30):
      base = u1 (Dec 5), u2 (Dec 1? no: Dec 1 is w0-31 -> outside), u5 (Dec 20) -> {u1, u5}
      u1: Jan 15, Feb 20, Mar 10 -> all three; u5: Jan 2, Feb 15, Mar 20 -> all three -> 2/2
    """
    users = pl.DataFrame(
        {
            "user_id": [1, 2, 3, 4, 5],
            "first_seen_at": [
                d(2023, 11, 10),
                d(2023, 12, 1, 10),
                d(2023, 10, 1),
                d(2024, 1, 20),
                d(2023, 12, 20),
            ],
            "city_tier": ["tier1", "tier1", "tier3", "tier3", "tier3"],
        }
    )
    vs = [
        (1, d(2023, 12, 5)),
        (1, d(2024, 1, 15)),
        (1, d(2024, 2, 20)),
        (1, d(2024, 3, 10)),
        (3, d(2024, 1, 10)),
        (3, d(2024, 2, 10)),
        (3, d(2024, 3, 10)),
        (4, d(2024, 2, 2)),
        (4, d(2024, 4, 2)),
        (5, d(2024, 1, 2)),
        (5, d(2024, 2, 15)),
        (5, d(2024, 3, 20)),
        (5, d(2024, 5, 1)),
    ]
    views = pl.DataFrame(
        {
            "user_id": [u for u, _ in vs],
            "started_at": [t for _, t in vs],
            "watch_seconds": [60.0] * len(vs),
        }
    )
    inter = pl.DataFrame({"user_id": [2], "at": [d(2024, 1, 5)], "kind": ["comment"]})
    orders = pl.DataFrame(
        {"order_id": [1], "user_id": [2], "ordered_at": [d(2024, 2, 5)], "amount": [10.0]}
    )
    return {"users": users, "views": views, "interactions": inter, "orders": orders}


@pytest.fixture
def ds(make_dataset):
    src = frames()
    before = {k: v.clone() for k, v in src.items()}
    yield make_dataset(src, as_of="2024-04-15")
    assert all(src[k].equals(before[k]) for k in src)  # no mutation


def test_default_quarters() -> None:
    assert default_quarters(dt.date(2024, 1, 1), count=3) == ["2023Q3", "2023Q4", "2024Q1"]


def test_active_users_counts(ds) -> None:
    out = active_users(ds, period=["2023Q4", "2024Q1", "2024Q2"])
    assert out.columns == [*HEAD, "complete", "partial"]
    assert out.select("metric", "segment", "period", "value", "n", "complete").rows() == [
        ("active_users", "all", "2023Q4", 4.0, 4, True),
        ("active_users", "all", "2024Q1", 5.0, 5, True),
        ("active_users", "all", "2024Q2", 1.0, 1, False),
    ]
    assert out["ci_low"].null_count() == 3
    # the data run from 2023-10-01 (first user seen) to 2024-04-15: 2023Q3 starts before
    # them and 2024Q2 ends after them, so both are partial
    assert out["partial"].to_list() == [False, False, True]
    assert active_users(ds, period="2023Q3")["partial"].to_list() == [True]


def test_active_users_index_by_segment(ds) -> None:
    # tier1: Q4 = {1, 2}, Q1 = {1, 2}; tier3: Q4 = {3, 5}, Q1 = {3, 4, 5} -> index 150
    out = active_users(ds, period="2024Q1", by="city_tier", index_base="2023Q4")
    assert out.select("metric", "segment", "period", "value", "n").rows() == [
        ("active_users_index", "tier1", "2024Q1", 100.0, 2),
        ("active_users_index", "tier3", "2024Q1", 150.0, 3),
    ]
    # where: only tier3; base 2024Q2 (1 user: u4) -> Q1 = 3 / 1 * 100
    out = active_users(
        ds, period=["2024Q1", "2024Q2"], where={"city_tier": "tier3"}, index_base="2024Q2"
    )
    assert out["value"].to_list() == [300.0, 100.0]


def test_active_users_activity(ds) -> None:
    # views only: u2 is active in 2024Q1 only through an interaction and an order -> 4
    out = active_users(ds, period=["2024Q1"], activity=("views",))
    assert out["n"].item() == 4
    assert active_users(ds, period="2024Q1", activity="views")["n"].item() == 4
    # months and years are periods too: Jan u1-u5; Feb u1 (view), u2 (order), u3, u4, u5;
    # Mar u1, u3, u5. 2023: u1, u2, u3, u5 (u4 is first seen in 2024)
    months = active_users(ds, period=["2024-01", "2024-02", "2024-03", 2023])
    assert months.select("period", "n").rows() == [
        ("2024-01", 5), ("2024-02", 5), ("2024-03", 3), ("2023", 4)
    ]  # fmt: skip
    with pytest.raises(ValueError, match="pass several periods as a list"):
        active_users(ds, period=("2024Q1", "2024Q2"))  # type: ignore[arg-type]


def test_activity_90d(ds) -> None:
    out = activity_90d(ds, period="2024Q1")
    assert out.columns == [*HEAD, "successes", "status"]
    assert out.row(0) == (
        "active_90d", "all", "2024Q1", 1.0, *wilson_interval(2, 2), 2, 2, "observed"
    )  # fmt: skip
    # u1 (tier1) and u5 (tier3) each 1/1
    by = activity_90d(ds, period="2024Q1", by="city_tier")
    assert by.select("segment", "value", "n").rows() == [("tier1", 1.0, 1), ("tier3", 1.0, 1)]


def test_activity_90d_window_start_mid_month(ds) -> None:
    # w0 = 2024-01-10: base = Dec 11 .. Jan 9 -> u1? (Dec 5: no), u2 (Jan 5), u3 (Jan... 10: no),
    #   u5 (Dec 20, Jan 2) -> {u2, u5}; M1 = Jan 10 - Feb 8, M2 = Feb 9 - Mar 9, M3 = Mar 10 - Apr 8
    # u2: Feb 5 (M1) only -> no; u5: Feb 15 (M2), Mar 20 (M3), nothing in M1 -> no -> 0/2
    out = activity_90d(ds, period=("2024-01-10", "2024-03-31"))
    assert out.select("value", "n", "successes").row(0) == (0.0, 2, 0)


def test_activity_90d_needs_full_window(make_dataset) -> None:
    ds = make_dataset(frames(), as_of="2024-03-29")
    with pytest.raises(ValueError, match="2024-01-01..2024-03-30"):
        activity_90d(ds, period="2024Q1")


def test_active_users_index_ci_pairs_the_counts_by_user() -> None:
    import datetime as dt
    import math

    import insights as ins

    d = dt.datetime
    # five users (acquired before both quarters); active in 2024Q2 (x) and in the base 2024Q1 (y):
    # (1, 1), (1, 0), (0, 1), (1, 1), (0, 0)  ->  n 5, X 3, Y 3, XY 2, index 100
    q1, q2 = d(2024, 2, 1), d(2024, 5, 1)
    views = [(1, q1), (1, q2), (2, q2), (3, q1), (4, q1), (4, q2)]
    ds = ins.frames_dataset(
        users=pl.DataFrame({"user_id": [1, 2, 3, 4, 5], "first_seen_at": [d(2023, 12, 1)] * 5}),
        views=pl.DataFrame(
            {
                "user_id": [u for u, _ in views],
                "started_at": [t for _, t in views],
                "watch_seconds": [60.0] * len(views),
            }
        ),
        as_of="2024-06-30",
    )
    out = ins.active_users(ds, period=["2024Q1", "2024Q2"], index_base="2024Q1")
    row = out.filter(pl.col("period") == "2024Q2").row(0, named=True)
    # by hand: px = py = 0.6, pxy = 0.4, R = 1;
    # Var(R) = [0.24 - 2 (0.4 - 0.36) + 0.24] / (5 * 0.36) * 5 / 4 = 0.2778
    half = 1.959964 * math.sqrt((0.24 - 0.08 + 0.24) / 1.8 * 1.25)
    assert row["value"] == 100.0
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((100 * (1 - half), 100 * (1 + half)))
    base = out.filter(pl.col("period") == "2024Q1").row(0, named=True)
    assert (base["ci_low"], base["ci_high"]) == pytest.approx((100.0, 100.0))
    plain = ins.active_users(ds, period=["2024Q1", "2024Q2"])  # counts: no CI
    assert plain["ci_low"].null_count() == 2
