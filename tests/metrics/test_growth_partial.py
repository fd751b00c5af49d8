"""Quarters with partial data: flagged ``partial``, and no growth rate against them.

Hand-worked: users are acquired from 2017-10-01 (the first day of the data); the
export ends on 2018-01-01, one day into 2018Q1 (as in the issue, where that one day
showed as a -96.7% quarter-on-quarter change).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import insights as ins


def _users(days: list[dt.date]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": list(range(1, len(days) + 1)),
            "first_seen_at": [dt.datetime.combine(d, dt.time(12)) for d in days],
        }
    )


# 30 users in 2017Q4 (the first on 2017-10-01), one on 2018-01-01
Q4 = [dt.date(2017, 10, 1) + dt.timedelta(days=3 * i) for i in range(30)]
USERS = _users([*Q4, dt.date(2018, 1, 1)])


def test_one_day_of_a_quarter_is_partial():
    ds = ins.load_dataset(users=USERS, as_of="2018-01-01")
    new = ins.new_users(ds, period=["2017Q4", "2018Q1"])
    assert new.select("period", "n", "partial").rows() == [
        ("2017Q4", 30, False),
        ("2018Q1", 1, True),
    ]


def test_growth_against_a_partial_quarter_is_null():
    ds = ins.load_dataset(users=USERS, as_of="2018-01-01")
    t = ins.growth_table(ds, period=["2017Q4", "2018Q1"])
    qoq = t.filter(metric="new_users_qoq", period="2018Q1").row(0, named=True)
    # 1 / 30 - 1 = -96.7% before: now null, flagged partial
    assert (qoq["value"], qoq["ci_low"], qoq["ci_high"], qoq["partial"]) == (None, None, None, True)
    assert qoq["n"] == 1 and qoq["base_period"] == "2017Q4"
    level = t.filter(metric="new_users", period="2018Q1").row(0, named=True)
    assert (level["value"], level["partial"]) == (1.0, True)
    whole = t.filter(metric="new_users", period="2017Q4").row(0, named=True)
    assert (whole["value"], whole["partial"]) == (30.0, False)
    # 2017Q4 against 2017Q3: the data start on 2017-10-01, so 2017Q3 is outside the data
    # (partial), and the rate is null even though the base count is simply 0
    q4 = t.filter(metric="new_users_qoq", period="2017Q4").row(0, named=True)
    assert (q4["value"], q4["partial"]) == (None, True)
    assert t["partial"].dtype == pl.Boolean and t["partial"].null_count() == 0


def test_whole_quarters_keep_their_growth():
    # 2018Q1 wholly observed: 15 users -> qoq = 15 / 30 - 1 = -0.5 (Poisson CI as before)
    q1 = [dt.date(2018, 1, 1) + dt.timedelta(days=5 * i) for i in range(15)]
    ds = ins.load_dataset(users=_users([*Q4, *q1]), as_of="2018-03-31")
    qoq = ins.growth_table(ds, period="2018Q1").filter(metric="new_users_qoq").row(0, named=True)
    assert qoq["value"] == pytest.approx(-0.5) and qoq["partial"] is False
    assert qoq["ci_low"] is not None


def test_a_quarter_starting_before_the_data_is_partial():
    # first user 2017-10-15: 2017Q4 began before the data (half a month missing)
    ds = ins.load_dataset(
        users=_users([dt.date(2017, 10, 15), dt.date(2018, 2, 1)]), as_of="2018-03-31"
    )
    new = ins.new_users(ds, period=["2017Q4", "2018Q1"])
    assert new["partial"].to_list() == [True, False]


def test_export_start_sets_the_first_day_of_the_data():
    # the export starts on 2017-10-01 although the first user came on the 15th
    users = _users([dt.date(2017, 10, 15), dt.date(2018, 2, 1)])
    ds = ins.load_dataset(users=users, as_of="2018-03-31", export_start="2017-10-01")
    assert ins.new_users(ds, period=["2017Q4", "2018Q1"])["partial"].to_list() == [False, False]


def test_default_quarters_are_flagged_too():
    ds = ins.load_dataset(users=USERS, as_of="2018-01-01")
    assert ins.new_users(ds).select("period", "partial").rows() == [
        ("2017Q4", False),
        ("2018Q1", True),
    ]
