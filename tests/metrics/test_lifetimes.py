"""Activity days, lifetimes and survival counts on a hand-worked example, on every engine."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from insights.data._backend import collect
from insights.metrics.activity_days import active_user_days, activity_days, as_of_day
from insights.metrics.lifetimes import _survival_counts as survival_counts
from insights.metrics.lifetimes import user_lifetimes

T0 = dt.datetime(2024, 1, 1, 8)
AS_OF = "2024-04-30"  # day index 120 for users first seen 2024-01-01


def at(first: dt.datetime, day: float) -> dt.datetime:
    return first + dt.timedelta(days=day)


def frames() -> dict[str, pl.DataFrame]:
    """Hand-worked lifetimes (churn_gap 30, as_of 2024-04-30):

    user 1 (2024-01-01, a): days 0, 2, 10, 45 -> gap 35 > 30 after day 10: L = 10, event, duration 11
    user 2 (2024-01-01 20:00, b): interaction 2023-12-31 22:00 (skew -> day 0), order day 20;
            120 - 20 = 100 >= 30: L = 20, event, duration 21
    user 3 (2024-01-01, a): days 30, 60, 90, 115 (gaps of exactly 30 are not churn), view on day
            125 is after as_of; 120 - 115 = 5 < 30: censored, L = 115; a churn is confirmable
            only up to day C = 120 - 30 = 90, so duration = C + 1 = 91
    user 4 (2024-03-20, b): view day 5; as_of is day 41, 41 - 5 = 36 >= 30: L = 5, event, duration 6
    user 5 (2024-04-10, a): nothing; as_of day 20 < 30: censored at L = 0, duration 0
    user 6 (2024-05-05): first seen after as_of: out
    user 7 (2024-01-01, b): views days 20, 45, 70, 90 (no gap > 30); 120 - 90 = 30 >= 30 (the
            churn gap is fully observed): L = 90, event, duration 91
    """
    firsts = {
        1: T0,
        2: dt.datetime(2024, 1, 1, 20),
        3: T0,
        4: dt.datetime(2024, 3, 20, 9),
        5: dt.datetime(2024, 4, 10),
        6: dt.datetime(2024, 5, 5),
        7: T0,
    }
    users = pl.DataFrame(
        {
            "user_id": list(firsts),
            "first_seen_at": list(firsts.values()),
            "category": ["a", "b", "a", "b", "a", "a", "b"],
        }
    )
    view_days = [
        (1, 2),
        (1, 10),
        (1, 45),
        (3, 30),
        (3, 60),
        (3, 90),
        (3, 115),
        (3, 125),
        (4, 5),
        (7, 20),
        (7, 45),
        (7, 70),
        (7, 90),
    ]
    views = pl.DataFrame(
        {
            "user_id": [u for u, _ in view_days],
            "started_at": [at(firsts[u], d) for u, d in view_days],
            "watch_seconds": [60.0] * len(view_days),
        }
    )
    interactions = pl.DataFrame(
        {"user_id": [2], "at": [dt.datetime(2023, 12, 31, 22)], "kind": ["like"]}
    )
    orders = pl.DataFrame(
        {"order_id": [1], "user_id": [2], "ordered_at": [at(firsts[2], 20)], "amount": [9.9]}
    )
    return {"users": users, "views": views, "interactions": interactions, "orders": orders}


EXPECTED = {  # user: (L, event, duration, last active day index)
    1: (10, 1, 11, 45),
    2: (20, 1, 21, 20),
    3: (115, 0, 91, 115),
    4: (5, 1, 6, 5),
    5: (0, 0, 0, 0),  # C + 1 = 20 - 30 + 1 < 0 -> 0
    7: (90, 1, 91, 90),
}


def test_activity_days(make_dataset) -> None:
    src = frames()
    before = {k: v.clone() for k, v in src.items()}
    ds = make_dataset(src, as_of=AS_OF)
    days = collect(activity_days(ds)).sort("user_id", "day")
    assert all(src[k].equals(before[k]) for k in src)
    got = {u: sorted(g["day"].to_list()) for (u,), g in days.group_by("user_id")}
    assert got == {
        1: [0, 2, 10, 45],
        2: [0, 20],
        3: [0, 30, 60, 90, 115],
        4: [0, 5],
        5: [0],
        7: [0, 20, 45, 70, 90],
    }
    only_views = collect(activity_days(ds, activity=("views",)))
    assert sorted(only_views.filter(pl.col("user_id") == 2)["day"].to_list()) == [0]
    assert set(only_views["segment"]) == {"all"}
    with pytest.raises(ValueError, match="activity names unknown tables"):
        activity_days(ds, activity=("clicks",))
    # by and where: the segment column and the filter on users columns
    a = collect(activity_days(ds, by="category", where={"category": "a"}))
    expected_a = set(src["users"].filter(pl.col("category") == "a")["user_id"].to_list())
    assert set(a["user_id"].to_list()) == expected_a & set(got)
    assert set(a["segment"]) == {"a"}
    assert a.sort("user_id", "day")["day"].to_list() == [
        d for u in sorted(expected_a & set(got)) for d in got[u]
    ]


def test_active_user_days_epoch(make_dataset) -> None:
    ds = make_dataset(frames(), as_of=AS_OF)
    days = collect(active_user_days(ds)).filter(pl.col("user_id") == 4)
    first = (dt.date(2024, 3, 20) - dt.date(1970, 1, 1)).days
    assert sorted(days["day"].to_list()) == [first, first + 5]
    assert set(days["first_seen_day"].to_list()) == {first}
    assert as_of_day(ds) == (dt.date(2024, 4, 30) - dt.date(1970, 1, 1)).days


def test_user_lifetimes(make_dataset) -> None:
    src = frames()
    before = {k: v.clone() for k, v in src.items()}
    ds = make_dataset(src, as_of=AS_OF)
    lt = collect(user_lifetimes(ds)).sort("user_id")
    assert all(src[k].equals(before[k]) for k in src)
    assert lt.columns == [
        "user_id", "segment", "first_seen_day", "last_active_day", "L", "event", "duration"
    ]  # fmt: skip
    assert set(lt["segment"]) == {"all"}
    for row in lt.to_dicts():
        L, event, duration, last = EXPECTED[row["user_id"]]
        assert (row["L"], row["event"], row["duration"]) == (L, event, duration)
        assert row["last_active_day"] - row["first_seen_day"] == last
    assert set(lt["user_id"].to_list()) == set(EXPECTED)


def test_churn_gap_parameter(make_dataset) -> None:
    # churn_gap = 25: user 3 now churns after day 0 (gap 30 > 25): L = 0, duration 1;
    # user 7: gaps 20, 25, 25, 20 are all <= 25, and 120 - 90 >= 25: L = 90 still
    ds = make_dataset(frames(), as_of=AS_OF)
    lt = collect(user_lifetimes(ds, churn_gap=25)).sort("user_id")
    row3 = lt.filter(pl.col("user_id") == 3).row(0, named=True)
    assert (row3["L"], row3["event"], row3["duration"]) == (0, 1, 1)
    row7 = lt.filter(pl.col("user_id") == 7).row(0, named=True)
    assert (row7["L"], row7["event"], row7["duration"]) == (90, 1, 91)
    with pytest.raises(ValueError):
        user_lifetimes(ds, churn_gap=0)


def test_user_lifetimes_period_by_where(make_dataset) -> None:
    # the Q1 cohort of category a (users 1 and 3), as in the survival counts below
    ds = make_dataset(frames(), as_of=AS_OF)
    lt = collect(user_lifetimes(ds, period="2024Q1", by="category", where={"category": "a"}))
    lt = lt.sort("user_id")
    expected = frames()["users"].filter(
        (pl.col("category") == "a") & (pl.col("first_seen_at") < dt.datetime(2024, 4, 1))
    )
    assert lt["user_id"].to_list() == sorted(expected["user_id"].to_list())
    assert set(lt["segment"]) == {"a"}
    for row in lt.to_dicts():
        assert (row["L"], row["event"], row["duration"]) == EXPECTED[row["user_id"]][:3]


def test_survival_counts(make_dataset) -> None:
    ds = make_dataset(frames(), as_of=AS_OF)
    counts = survival_counts(ds, period="2024Q1", by="category")
    assert counts.columns == ["segment", "duration", "event", "count"]
    # Q1 cohort: users 1, 2, 3, 4, 7 (user 5 is April)
    assert counts.rows() == [
        ("a", 11, 1, 1),
        ("a", 91, 0, 1),
        ("b", 6, 1, 1),
        ("b", 21, 1, 1),
        ("b", 91, 1, 1),
    ]
    everyone = survival_counts(ds)
    assert everyone["count"].sum() == 6 and set(everyone["segment"]) == {"all"}
    only_a = survival_counts(ds, period="2024Q2", where={"category": "a"})
    assert only_a.rows() == [("all", 0, 0, 1)]


def test_users_only_dataset(make_dataset) -> None:
    # no activity tables: everyone is active on day 0 only; as_of day 120 -> L = 0, event for
    # users 1, 2, 3, 7 (first seen 2024-01-01) and 4 (day 41); user 5 (day 20) censored at 0
    ds = make_dataset(users=frames()["users"], as_of=AS_OF)
    counts = survival_counts(ds)
    assert counts.rows() == [("all", 0, 0, 1), ("all", 1, 1, 5)]
