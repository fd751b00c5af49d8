"""Duration builders for each origin, on hand-worked examples (polars and duckdb)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from insights.data._backend import collect
from insights.metrics.durations import ORIGINS, durations_of, unit_columns, units_of

T0 = dt.datetime(2024, 1, 1, 9)
AS_OF = "2024-03-01"  # day 60 for users first seen 2024-01-01


def _at(day: int, hour: int = 0) -> dt.datetime:
    return T0 + dt.timedelta(days=day, hours=hour)


def _users(n: int = 4) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": list(range(1, n + 1)),
            "first_seen_at": [T0] * n,
            "platform": ["a", "b", "a", "b"][:n],
        }
    )


def _run(ds, origin: str) -> dict[int, tuple[int, int]]:
    out = collect(durations_of(ds, units_of(ds, origin=origin), origin=origin))
    return {r["user_id"]: (r["duration"], r["event"]) for r in out.iter_rows(named=True)}


def test_first_order(make_dataset) -> None:
    """user 1: orders days 0, 0 (same day: one purchase), 12 -> T = 12, observed.
    user 2: one order on day 5 -> censored at 60 - 5 = 55.
    user 3: refunded order day 1, paid days 3 and 10 -> first paid 3, T = 7.
    user 4: no order -> not a unit.
    """
    orders = pl.DataFrame(
        {
            "order_id": [1, 2, 3, 4, 5, 6, 7],
            "user_id": [1, 1, 1, 2, 3, 3, 3],
            "ordered_at": [_at(0, 1), _at(0, 5), _at(12), _at(5), _at(1), _at(3), _at(10)],
            "amount": [10.0] * 7,
            "refunded": [False, False, False, False, True, False, False],
        }
    )
    ds = make_dataset(users=_users(), orders=orders, as_of=AS_OF)
    assert _run(ds, "first_order") == {1: (12, 1), 2: (55, 0), 3: (7, 1)}


def test_community_join(make_dataset) -> None:
    """user 1: join day 2, leave day 9 -> T = 7. user 2: join day 5, still member -> 55 censored.
    user 3: leave day 1 (before any join), joins days 4 and 25, leave day 20 -> T = 20 - 4 = 16.
    user 4: never joined -> not a unit.
    """
    community = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 3, 3, 3, 3],
            "at": [_at(2), _at(9), _at(5), _at(1), _at(4), _at(20), _at(25)],
            "action": ["join", "leave", "join", "leave", "join", "leave", "join"],
        }
    )
    ds = make_dataset(users=_users(), community=community, as_of=AS_OF)
    assert _run(ds, "community_join") == {1: (7, 1), 2: (55, 0), 3: (16, 1)}


def test_experiment_counts_from_assignment(make_dataset) -> None:
    """churn_gap 30, as_of day 100 (2024-04-10).

    user 1, assigned on day 0: active 0, 10, 50 -> churn after 10: T = 11 (as first_seen).
    user 2 in two experiments: active 0, 5 | 41, 50, 95.
      assigned day 40: days since assignment 0 (assignment), 1, 10, 55 -> gap 45 after 10: T = 11.
      assigned day 45: days 0, 5, 50 -> gap 45 after 5: T = 6.
    user 3 assigned day 80: active 80, 90 -> 100 - 90 = 10 < 30: censored at 100 - 80 - 30 + 1 = -9 -> 0.
    user 4 assigned day 60, no activity after it: L = 0 and 100 - 60 >= 30 -> T = 1.
    """
    views = [(1, 10), (1, 50), (2, 5), (2, 41), (2, 50), (2, 95), (3, 80), (3, 90)]
    views_df = pl.DataFrame(
        {
            "user_id": [u for u, _ in views],
            "started_at": [_at(d, 2) for _, d in views],
            "watch_seconds": [60.0] * len(views),
        }
    )
    exp = pl.DataFrame(
        {
            "user_id": [1, 2, 2, 3, 4],
            "experiment": ["x", "x", "y", "y", "y"],
            "arm": ["control", "treatment", "control", "treatment", "control"],
            "assigned_at": [_at(0, 1), _at(40), _at(45), _at(80), _at(60)],
        }
    )
    ds = make_dataset(users=_users(), views=views_df, experiments=exp, as_of="2024-04-10")
    out = collect(durations_of(ds, units_of(ds, origin="experiment"), origin="experiment"))
    got = {
        (r["user_id"], r["experiment"]): (r["duration"], r["event"], r["arm"])
        for r in out.iter_rows(named=True)
    }
    assert got == {
        (1, "x"): (11, 1, "control"),
        (2, "x"): (11, 1, "treatment"),
        (2, "y"): (6, 1, "control"),
        (3, "y"): (0, 0, "treatment"),
        (4, "y"): (1, 1, "control"),
    }
    # the origin is the acquisition day in first_seen_day, as for every unit
    assert set(out["first_seen_day"].to_list()) == {(T0.date() - dt.date(1970, 1, 1)).days}


def test_first_seen_matches_lifetimes(make_dataset) -> None:
    """user 1 active 0, 10, 45 -> T = 11; user 2 only day 0 -> T = 1; others young -> censored."""
    views = pl.DataFrame(
        {"user_id": [1, 1], "started_at": [_at(10), _at(45)], "watch_seconds": [1.0, 1.0]}
    )
    ds = make_dataset(users=_users(2), views=views, as_of=AS_OF)
    assert _run(ds, "first_seen") == {1: (11, 1), 2: (1, 1)}


def test_unit_columns_and_bad_origin(make_dataset) -> None:
    exp = pl.DataFrame({"user_id": [1], "experiment": ["x"], "arm": ["c"], "assigned_at": [T0]})
    ds = make_dataset(users=_users(1), experiments=exp, as_of=AS_OF)
    assert unit_columns(ds) == ["user_id", "first_seen_at", "platform"]
    assert unit_columns(ds, origin="experiment")[-2:] == ["experiment", "arm"]
    assert set(ORIGINS) == {"first_seen", "first_order", "community_join", "experiment"}
    with pytest.raises(ValueError, match="origin must be one of"):
        units_of(ds, origin="signup")  # type: ignore[arg-type]
