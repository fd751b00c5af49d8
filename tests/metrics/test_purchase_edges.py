"""Purchase rates at the edge of the data: a window nobody has been followed through."""

from __future__ import annotations

import datetime as dt
import warnings

import polars as pl

from insights.data.dataset import EmptyPeriodWarning
from insights.metrics import first_purchase_conversion, repurchase_rate

d = dt.datetime


def _frames() -> dict[str, pl.DataFrame]:
    # users 1-3 first seen 2024-12-01 (category a), user 4 on 2024-10-01 (category b)
    users = pl.DataFrame(
        {
            "user_id": [1, 2, 3, 4],
            "first_seen_at": [d(2024, 12, 1)] * 3 + [d(2024, 10, 1)],
            "category": ["a", "a", "a", "b"],
        }
    )
    orders = pl.DataFrame(
        {
            "order_id": [1, 2, 3, 4, 5],
            "user_id": [1, 1, 2, 4, 4],
            "ordered_at": [
                d(2024, 12, 5),
                d(2024, 12, 20),
                d(2024, 12, 10),
                d(2024, 10, 2),
                d(2024, 10, 20),
            ],
            "amount": [10.0] * 5,
        }
    )
    return {"users": users, "orders": orders}


def test_repurchase_nobody_followed_through_the_window_is_not_observed(make_dataset) -> None:
    ds = make_dataset(_frames(), as_of="2024-12-31")
    # first orders: u1 Dec 5, u2 Dec 10 (+60 > Dec 31: not followed); u4 Oct 2 (+60 = Dec 1: followed,
    # again on day 18). By category: a has 2 new buyers, none followed; b has 1 of 1 followed.
    with warnings.catch_warnings():
        warnings.simplefilter(
            "error", EmptyPeriodWarning
        )  # nobody followed is not "nobody in scope"
        by = repurchase_rate(ds, period="2024Q4", by="category")
    assert by.select("segment", "value", "ci_low", "n", "successes", "status").rows() == [
        ("a", None, None, 0, 0, "not_observed"),
        ("b", 1.0, by["ci_low"][1], 1, 1, "observed"),
    ]
    only_a = repurchase_rate(ds, period="2024Q4", where={"category": "a"})
    assert only_a.select("value", "n", "status").row(0) == (None, 0, "not_observed")


def test_first_purchase_nobody_followed_through_the_window_is_not_observed(make_dataset) -> None:
    ds = make_dataset(_frames(), as_of="2024-12-31")
    # 30 days: u1-u3 (Dec 1 + 30 = Dec 31) and u4 followed; u1 (day 4), u2 (day 9), u4 (day 1) buy: 3/4
    assert first_purchase_conversion(ds, period="2024Q4").select("value", "n", "status").row(0) == (
        0.75, 4, "observed",
    )  # fmt: skip
    # 40 days: u1-u3 not followed (Dec 1 + 40 > Dec 31); u4 followed and bought
    by = first_purchase_conversion(ds, period="2024Q4", window=40, by="category")
    assert by.select("segment", "value", "n", "status").rows() == [
        ("a", None, 0, "not_observed"),
        ("b", 1.0, 1, "observed"),
    ]
