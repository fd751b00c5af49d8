"""Users not acquired in the data (``export_start``) are neither new users nor in acquisition cohorts.

Hand-worked example. The export starts on 2024-01-01 and has only orders; users are
derived from them with ``derive: {warmup_days: 7}``:

- user 1 bought before the export (first seen 2023-12-20, outside the data); in the
  export their first order is on 2024-01-02, inside the 7-day warm-up, so they may be
  an old customer: ``acquired_in_data = false``, not new in 2024Q1;
- user 2 first orders on 2024-01-20 (again on the 25th), user 3 on 2024-03-01: both new.

So 2024Q1 has 2 new users (3 without ``export_start``), and the acquisition cohorts
(lifetimes, retention curves, projected LTV) hold users 2 and 3 only. With a 30-day
churn gap and as_of 2024-06-30: user 2 is active on days 0 and 5, then idle for good,
so L = 5 (churned, duration 6); user 3 is active on day 0 only: L = 0 (duration 1).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import insights as ins
from insights.data._backend import collect
from insights.metrics._segments import acquired_users, users_frame


def _t(month: int, day: int, year: int = 2024) -> dt.datetime:
    return dt.datetime(year, month, day, 10)


ORDERS = pl.DataFrame(
    {
        "user_id": [1, 1, 2, 2, 3],
        "ordered_at": [_t(1, 2), _t(2, 15), _t(1, 20), _t(1, 25), _t(3, 1)],
        "amount": [10.0, 5.0, 20.0, 30.0, 40.0],
    }
)


@pytest.fixture(scope="module")
def started() -> ins.Dataset:
    return ins.load_dataset(
        orders=ORDERS, export_start="2024-01-01", derive={"warmup_days": 7}, as_of="2024-06-30"
    )


@pytest.fixture(scope="module")
def unstarted() -> ins.Dataset:
    return ins.load_dataset(orders=ORDERS, as_of="2024-06-30")


def test_a_customer_from_before_the_export_is_not_a_new_user(started, unstarted) -> None:
    assert ins.new_users(started, period="2024Q1")["n"].to_list() == [2]
    assert ins.new_users(unstarted, period="2024Q1")["n"].to_list() == [3]
    assert ins.new_users(started).select("period", "n").rows() == [("2024Q1", 2)]


def test_users_frame_carries_the_flag_and_acquired_users_filters_on_it(started, unstarted) -> None:
    flags = collect(users_frame(started).select("user_id", "acquired_in_data")).sort("user_id")
    assert flags.rows() == [(1, False), (2, True), (3, True)]
    assert collect(users_frame(unstarted).select("acquired_in_data"))["acquired_in_data"].all()
    assert sorted(collect(acquired_users(started))["user_id"].to_list()) == [2, 3]


def test_acquisition_cohorts_hold_only_users_acquired_in_the_data(started) -> None:
    lives = ins.user_lifetimes(started).collect().to_native().sort("user_id")
    assert lives.select("user_id", "L", "event", "duration").rows() == [(2, 5, 1, 6), (3, 0, 1, 1)]
    curves = ins.retention_curves(started, period="2024Q1")
    assert curves.counts["count"].sum() == 2
    first_order = ins.retention_curves(started, origin="first_order", as_of="2024-01-31")
    assert first_order.counts["count"].sum() == 1  # user 2 (user 3 is not a buyer yet)
    assert ins.projected_ltv(started, horizon=30, min_at_risk=1)["n"].to_list() == [2]
    assert ins.retention_rates(started, period="2024Q1")["n"].max() == 2


def test_a_users_table_with_users_first_seen_before_the_export() -> None:
    users = pl.DataFrame(
        {
            "user_id": [1, 2, 3],
            "first_seen_at": [_t(12, 20, 2023), _t(1, 5), _t(2, 10)],
            "channel": ["short_video", "short_video", "paid"],
        }
    )
    ds = ins.load_dataset(users=users, export_start="2024-01-01", as_of="2024-06-30")
    with pytest.warns(ins.EmptyPeriodWarning, match="2023Q4"):  # its one user came before
        new = ins.new_users(ds, period=["2023Q4", "2024Q1"])
    assert new.select("period", "n", "partial").rows() == [
        ("2023Q4", 0, True),
        ("2024Q1", 2, False),
    ]
    share = ins.new_user_share(ds, period="2024Q1", values="short_video")
    assert share.select("value", "n").row(0) == (0.5, 2)


def test_cac_counts_only_users_acquired_in_the_data() -> None:
    # the export starts mid-quarter: user 1 (2024-01-15) is in 2024Q1 but was seen before it
    users = pl.DataFrame({"user_id": [1, 2, 3], "first_seen_at": [_t(1, 15), _t(2, 5), _t(3, 10)]})
    spend = pl.DataFrame({"period_start": [dt.date(2024, 1, 1)], "amount": [120.0]})
    ds = ins.load_dataset(users=users, spend=spend, export_start="2024-02-01", as_of="2024-06-30")
    assert ins.cac(ds, period="2024Q1").select("value", "n").row(0) == (60.0, 2)
    share = ins.user_share(ds, period="2024Q1", column="user_id", values=[2])
    assert share.select("value", "n").row(0) == (0.5, 2)


def test_cohort_views_hold_only_users_acquired_in_the_data(started, unstarted) -> None:
    """Cohort LTV, the cohort matrix and the BTYD customers: users 2 and 3 (1 in January, 1 in March)."""
    ltv = ins.cohort_ltv(started, cohort_unit="month", horizon=30, timeline=(30,))
    assert dict(ltv.select("cohort", "n").unique().sort("cohort").rows()) == {
        "2024-01": 1,
        "2024-03": 1,
    }
    full = ins.cohort_ltv(unstarted, cohort_unit="month", horizon=30, timeline=(30,))
    assert dict(full.select("cohort", "n").unique().sort("cohort").rows()) == {
        "2024-01": 2,
        "2024-03": 1,
    }
    matrix = ins.retention_matrix(started, cohort_unit="month", unit="month", horizon=1)
    sizes = dict(matrix.filter(pl.col("cohort") != "mean").select("cohort", "n").unique().rows())
    assert sizes == {"2024-01": 1, "2024-03": 1}
    summary = ins.customer_summary(started)
    assert sorted(summary["user_id"].to_list()) == [2, 3]
