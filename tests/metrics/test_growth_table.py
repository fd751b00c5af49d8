"""growth_table against a hand-worked example, on Polars and DuckDB."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from insights.metrics.growth_table import count_growth, growth_table

Z = 1.959963984540054


def d(y: int, m: int, day: int) -> dt.datetime:
    return dt.datetime(y, m, day, 12)


USERS = pl.DataFrame(
    {
        "user_id": list(range(1, 9)),
        # the data start on 2023-01-01: every quarter from 2023Q1 to 2024Q2 is whole
        "first_seen_at": [d(2023, 1, 1)] * 2 + [d(2023, 11, 1)] * 2 + [d(2024, 2, 1)] * 4,
        "channel": ["organic", "organic", "organic", "paid", "paid", "paid", "paid", "organic"],
    }
)
# active: 2023Q1 {1,2}; 2023Q4 {2,3,4}; 2024Q1 {1,3,5,6,7,8}
VIEWS = pl.DataFrame(
    {
        "user_id": [1, 2, 3],
        "started_at": [d(2024, 1, 10), d(2023, 12, 1), d(2024, 3, 1)],
        "watch_seconds": [60.0] * 3,
    }
)
# user 5 orders on day 9 (converts), user 6 on day 48 (does not)
ORDERS = pl.DataFrame(
    {
        "order_id": [1, 2],
        "user_id": [5, 6],
        "ordered_at": [d(2024, 2, 10), d(2024, 3, 20)],
        "amount": [10.0, 20.0],
    }
)
SPEND = pl.DataFrame(
    {
        "period_start": [dt.date(2024, 1, 1)] * 2,
        "amount": [300.0, 0.0],
        "channel": ["paid", "organic"],
    }
)


def row(t: pl.DataFrame, metric: str, segment: str = "all") -> dict:
    rows = t.filter(metric=metric, segment=segment).to_dicts()
    assert len(rows) == 1, (metric, segment, rows)
    return rows[0]


def test_growth_table_hand_worked(make_dataset):
    ds = make_dataset(users=USERS, views=VIEWS, orders=ORDERS, spend=SPEND, as_of="2024-06-30")
    t = growth_table(ds, period="2024Q1")
    assert set(t["period"]) == {"2024Q1"}
    assert row(t, "active_users")["n"] == 6
    assert row(t, "active_users_qoq")["value"] == pytest.approx(6 / 3 - 1)
    assert row(t, "active_users_qoq")["base_period"] == "2023Q4"
    assert row(t, "active_users_qoq")["ci_low"] is None  # overlapping sets: no Poisson CI
    assert row(t, "active_users_yoy")["value"] == pytest.approx(6 / 2 - 1)
    assert row(t, "new_users")["value"] == 4
    g = row(t, "new_users_qoq")
    half = Z * math.sqrt(1 / 4 + 1 / 2)
    assert g["value"] == pytest.approx(1.0)
    assert g["ci_low"] == pytest.approx(math.exp(math.log(2) - half) - 1)
    assert g["ci_high"] == pytest.approx(math.exp(math.log(2) + half) - 1)
    assert row(t, "first_purchase_30d")["value"] == pytest.approx(0.25)
    assert row(t, "first_purchase_30d")["n"] == 4
    assert row(t, "cac")["value"] == pytest.approx(75.0)


def test_growth_table_by_channel(make_dataset):
    ds = make_dataset(users=USERS, views=VIEWS, orders=ORDERS, spend=SPEND, as_of="2024-06-30")
    t = growth_table(ds, period="2024Q1", by="channel")
    assert row(t, "new_users", "paid")["n"] == 3
    assert row(t, "new_users_qoq", "paid")["value"] == pytest.approx(2.0)
    assert row(t, "new_users_qoq", "organic")["value"] == pytest.approx(0.0)
    assert row(t, "cac", "paid")["value"] == pytest.approx(100.0)
    assert row(t, "cac", "organic")["value"] == pytest.approx(0.0)


def test_growth_table_without_spend_has_no_cac(make_dataset):
    ds = make_dataset(users=USERS, views=VIEWS, orders=ORDERS, as_of="2024-06-30")
    t = growth_table(ds, period="2024Q1")
    assert "cac" not in set(t["metric"])
    assert {"new_users", "new_users_yoy", "active_users", "first_purchase_30d"} <= set(t["metric"])


def test_growth_table_where_equals_the_segment(make_dataset):
    import narwhals as nw

    ds = make_dataset(users=USERS, views=VIEWS, orders=ORDERS, spend=SPEND, as_of="2024-06-30")
    by = growth_table(ds, period=["2024Q1"], by="channel")
    only = growth_table(ds, period=["2024Q1"], where={"channel": "paid"})
    assert set(only["segment"]) == {"all"} and "cac" in set(only["metric"])
    assert only.drop("segment").equals(by.filter(segment="paid").drop("segment"))
    # an expression may name users-only columns: no CAC rows (spend is not per user)
    expr = growth_table(ds, period="2024Q1", where=nw.col("channel") == "paid")
    assert expr.equals(only.filter(pl.col("metric") != "cac"))


def test_count_growth_zero_base_is_null():
    c = pl.DataFrame({"metric": "x", "segment": "a", "period": ["2024Q1", "2024Q2"], "n": [0, 5]})
    g = count_growth(c, lags={"qoq": {"2024Q2": "2024Q1"}}, ci=True)
    assert g["value"].to_list() == [None]
