"""Lifetimes take the dataset's churn gap (``dataset.yaml`` ``churn_gap``) unless a call sets its own.

Hand-worked: user 1 orders on 2024-01-02 and 2024-02-15 (44 idle days between), user 2
on 2024-01-20 and 01-25, user 3 on 2024-03-01; as_of 2024-06-30. With a 30-day gap
user 1 churns after day 0 (44 > 30): L = 0; with a 60-day gap the 44 days are no churn,
the last activity is day 44 and the 137 days after it confirm the churn: L = 44.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest

import insights as ins
from insights.metrics.lifetimes import _survival_counts


def _t(month: int, day: int) -> dt.datetime:
    return dt.datetime(2024, month, day, 10)


ORDERS = pl.DataFrame(
    {
        "user_id": [1, 1, 2, 2, 3],
        "ordered_at": [_t(1, 2), _t(2, 15), _t(1, 20), _t(1, 25), _t(3, 1)],
        "amount": [10.0, 5.0, 20.0, 30.0, 40.0],
    }
)


def _lives(ds: ins.Dataset, **kw) -> list[tuple[int, int, int]]:
    out = ins.user_lifetimes(ds, **kw).collect().to_native().sort("user_id")
    return out.select("user_id", "L", "event").rows()


@pytest.fixture(scope="module")
def plain() -> ins.Dataset:
    return ins.load_dataset(orders=ORDERS, as_of="2024-06-30")


def test_default_churn_gap_is_30_days(plain) -> None:
    assert plain.churn_gap is None
    assert _lives(plain) == [(1, 0, 1), (2, 5, 1), (3, 0, 1)]


def test_the_datasets_churn_gap_is_the_default(plain) -> None:
    loaded = ins.load_dataset(orders=ORDERS, as_of="2024-06-30", churn_gap=60)
    assert _lives(loaded) == [(1, 44, 1), (2, 5, 1), (3, 0, 1)]
    assert _lives(dataclasses.replace(plain, churn_gap=60)) == [(1, 44, 1), (2, 5, 1), (3, 0, 1)]
    counts = _survival_counts(loaded)
    assert counts.filter(pl.col("duration") == 45)["count"].to_list() == [1]  # L + 1


def test_a_calls_own_churn_gap_wins(plain) -> None:
    loaded = ins.load_dataset(orders=ORDERS, as_of="2024-06-30", churn_gap=60)
    assert _lives(loaded, churn_gap=30) == [(1, 0, 1), (2, 5, 1), (3, 0, 1)]
    assert _lives(plain, churn_gap=60) == [(1, 44, 1), (2, 5, 1), (3, 0, 1)]
    with pytest.raises(ValueError, match="churn_gap must be a whole number"):
        ins.user_lifetimes(plain, churn_gap=0)
