"""Cohort LTV at a horizon the cohort has not reached: marked incomplete, never a number.

Hand-worked: the January 2024 cohort is user 1 (first seen 2024-01-01) and user 2
(2024-01-20); the data end on 2024-01-31, 30 days after the cohort starts.
User 1 buys 10 on day 0 and 20 on day 25; user 2 buys 6 on day 0.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import insights as ins

T1 = dt.datetime(2024, 1, 1, 12)
T2 = dt.datetime(2024, 1, 20, 12)


def _dataset():
    users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [T1, T2]})
    orders = pl.DataFrame(
        {
            "order_id": [1, 2, 3],
            "user_id": [1, 1, 2],
            "amount": [10.0, 20.0, 6.0],
            "ordered_at": [T1, T1 + dt.timedelta(days=25), T2],
        }
    )
    return ins.load_dataset(users=users, orders=orders, as_of="2024-01-31")


def test_ltv_at_90_days_with_30_days_of_data_is_incomplete():
    out = ins.cohort_ltv(_dataset(), horizon=90, timeline=(0, 30, 90), bootstrap=0)
    rows = {r["t"]: r for r in out.iter_rows(named=True)}
    # t = 0: both users, (10 + 6) / 2 = 8, complete
    assert (rows[0]["value"], rows[0]["n"], rows[0]["complete"]) == (8.0, 2, True)
    # t = 30: only user 1 (2024-01-01 + 30 days = as_of): (10 + 20) / 1, incomplete
    assert (rows[30]["value"], rows[30]["n"], rows[30]["complete"]) == (30.0, 1, False)
    # t = 90: nobody has been followed that long: no value, incomplete
    r90 = rows[90]
    assert (r90["value"], r90["ci_low"], r90["ci_high"], r90["n"], r90["complete"]) == (
        None, None, None, 0, False,
    )  # fmt: skip


def test_bootstrap_leaves_the_unreached_horizon_without_ci():
    out = ins.cohort_ltv(_dataset(), horizon=90, timeline=(0, 30), bootstrap=50)
    r90 = out.filter(pl.col("t") == 90).row(0, named=True)
    assert (r90["value"], r90["ci_low"], r90["ci_high"]) == (None, None, None)
    r0 = out.filter(pl.col("t") == 0).row(0, named=True)
    assert r0["ci_low"] <= 8.0 <= r0["ci_high"]


def test_ltv_matrix_says_how_far_each_cohort_is_complete():
    out = ins.cohort_ltv(_dataset(), horizon=90, timeline=(0, 30), bootstrap=0)
    m = ins.ltv_matrix(out)
    assert m.columns == ["segment", "cohort", "n", "complete_through", "d0", "d30", "d90"]
    assert m.row(0) == ("all", "2024-01", 2, 0, 8.0, pytest.approx(30.0), None)
