"""Retention headline at the edge of the data: a day nobody is followed to has no value.

Hand-worked Kaplan–Meier (churn gap 30 days): a user churns the day after their last
activity (T = last active day + 1) when ``as_of`` is at least 30 days later; otherwise
they are censored at T = as_of day - 30 + 1.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import insights as ins

T0 = dt.datetime(2024, 1, 1, 12)


def _dataset(active_days: dict[int, list[int]], segments: dict[int, str], as_of: str):
    users = pl.DataFrame(
        {
            "user_id": list(active_days),
            "first_seen_at": [T0] * len(active_days),
            "channel": ["paid" if segments[u] == "a" else "organic" for u in active_days],
        }
    )
    rows = [(u, d) for u, days in active_days.items() for d in days]
    views = pl.DataFrame(
        {
            "user_id": [u for u, _ in rows],
            "started_at": [T0 + dt.timedelta(days=d) for _, d in rows],
            "watch_seconds": [60.0] * len(rows),
        }
    )
    return ins.load_dataset(users=users, views=views, as_of=as_of)


def test_d60_with_nobody_at_risk_is_null():
    # as_of 2024-02-29 = day 59. User 1 active days 0, 10 -> churns, T = 11; user 2 day 0
    # only -> T = 1; user 3 active days 0, 20, 45 -> 59 - 45 < 30: censored at T = 30.
    # KM: S(1) = 2/3, S(11) = 2/3 * 1/2 = 1/3, then user 3 leaves censored at 30:
    # nobody is followed to day 60 -> D60 is not observed (it was printed as 1/3 carried,
    # or 0.0% when the last unit at risk had churned).
    ds = _dataset({1: [0, 10], 2: [0], 3: [0, 20, 45]}, dict.fromkeys((1, 2, 3), "a"), "2024-02-29")
    r = ins.retention_rates(ds, period="2024Q1", timeline=(7, 30, 60))
    got = {row["day"]: row for row in r.iter_rows(named=True)}
    assert got[7]["value"] == pytest.approx(2 / 3) and got[7]["status"] == "observed"
    assert got[30]["value"] == pytest.approx(1 / 3) and got[30]["at_risk"] == 1
    assert got[30]["status"] == "observed"
    d60 = got[60]
    assert (d60["value"], d60["ci_low"], d60["ci_high"]) == (None, None, None)
    assert (d60["n"], d60["at_risk"], d60["status"]) == (3, 0, "not_observed")


def test_everyone_churned_before_the_day_is_an_observed_zero():
    # as_of far away: user 1 T = 1, user 2 T = 6; nobody is censored, so S(60) = 0 is known.
    ds = _dataset({1: [0], 2: [0, 5]}, {1: "a", 2: "a"}, "2024-06-30")
    d60 = ins.retention_rates(ds, period="2024Q1", timeline=(60,)).row(0, named=True)
    assert (d60["value"], d60["at_risk"], d60["status"]) == (0.0, 0, "observed")


def test_not_observed_is_decided_per_segment():
    # segment a: as in the first test (nobody followed to day 60); segment b: user 4
    # active days 0, 20, 40 -> 59 - 40 < 30, censored at T = 30; user 5 active days 0, 25
    # -> 59 - 25 >= 30, churns, T = 26. At day 20 both are at risk in b (S = 1); at day
    # 60 nobody is, and user 4 left censored: b is not observed at 60 either.
    ds = _dataset(
        {1: [0, 10], 2: [0], 3: [0, 20, 45], 4: [0, 20, 40], 5: [0, 25]},
        {1: "a", 2: "a", 3: "a", 4: "b", 5: "b"},
        "2024-02-29",
    )
    r = ins.retention_rates(ds, period="2024Q1", timeline=(20, 60), by="channel")
    status = {(row["segment"], row["day"]): row["status"] for row in r.iter_rows(named=True)}
    assert status == {  # a -> channel "paid", b -> "organic"
        ("paid", 20): "observed",
        ("organic", 20): "observed",
        ("paid", 60): "not_observed",
        ("organic", 60): "not_observed",
    }
    b20 = r.filter(segment="organic", day=20).row(0, named=True)
    assert (b20["value"], b20["at_risk"]) == (1.0, 2)
