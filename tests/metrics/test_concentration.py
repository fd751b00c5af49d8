"""Pareto curve of GMV over buyers against a hand-worked example, on Polars and DuckDB."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from insights.metrics.concentration import gmv_share_top_buyers, pareto_curve

T = dt.datetime(2024, 2, 10, 12)
# GMV in 2024Q1 per buyer: b1 50 (30 + 20), b2 20, b3 10, b4 10, b5 5, b6 3, b7 2 -> total 100, n = 7.
# Top ceil(p * 7) buyers: p=.1 -> 1 (50), .2 -> 2 (70), .3 -> 3 (80), .4 -> 3 (80), .5 -> 4 (90),
# .6 -> 5 (95), .7 -> 5 (95), .8 -> 6 (98), .9 -> 7 (100), 1 -> 7 (100).
ORDERS = pl.DataFrame(
    {
        "order_id": list(range(11)),
        "user_id": ["b1", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b2", "b7", "x"],
        "ordered_at": [T] * 8 + [dt.datetime(2024, 4, 2), T, dt.datetime(2023, 12, 31)],
        "amount": [30.0, 20.0, 20.0, 10.0, 10.0, 5.0, 3.0, 2.0, 500.0, 400.0, 60.0],
        "refunded": [False] * 9 + [True, False],  # b7's 400 refunded; b2's 500 in Q2; x's in 2023
    }
)
USERS = pl.DataFrame(
    {
        "user_id": ["b1", "b2", "b3", "b4", "b5", "b6", "b7", "x"],
        "first_seen_at": [dt.datetime(2023, 6, 1)] * 8,
        "tier": ["h", "h", "h", "l", "l", "l", "l", "h"],
    }
)
EXPECTED = [0.0, 0.5, 0.7, 0.8, 0.8, 0.9, 0.95, 0.95, 0.98, 1.0, 1.0]


def test_pareto_curve_hand_worked(make_dataset):
    ds = make_dataset(users=USERS, orders=ORDERS, as_of="2024-06-30")
    out = pareto_curve(ds, period="2024Q1", points=10)
    assert out.columns == [
        "metric", "segment", "period", "value", "ci_low", "ci_high", "n",
        "buyer_share", "buyers", "gmv_cum", "gmv_total", "is_top",
    ]  # fmt: skip
    assert out["buyer_share"].to_list() == pytest.approx([k / 10 for k in range(11)])
    assert out["value"].to_list() == pytest.approx(EXPECTED)
    assert out["buyers"].to_list() == [0, 1, 2, 3, 3, 4, 5, 5, 6, 7, 7]
    assert set(out["n"]) == {7} and set(out["gmv_total"]) == {100.0}
    assert out.filter("is_top")["buyer_share"].to_list() == pytest.approx([0.2])
    assert set(out["metric"]) == {"pareto_gmv_share"} and out["ci_low"].null_count() == 11


def test_pareto_top_matches_gmv_share_top_buyers(make_dataset):
    ds = make_dataset(users=USERS, orders=ORDERS, as_of="2024-06-30")
    for top in (0.2, 0.3, 0.5):
        curve = pareto_curve(ds, period="2024Q1", points=[0.25, 0.75], top=top, by="tier")
        ref = gmv_share_top_buyers(ds, period="2024Q1", top=top, by="tier")
        got = curve.filter("is_top").select("segment", "value", "n", "buyers").sort("segment")
        assert got["value"].to_list() == pytest.approx(ref["value"].to_list())
        assert got["buyers"].to_list() == ref["n_top"].to_list()
        assert got["n"].to_list() == ref["n"].to_list()
    # tier h: b1 50, b2 20, b3 10 (n = 3); shares 0, .25 (1 -> 50/80), .5 (2 -> 70/80), .75 (3), 1
    h = pareto_curve(ds, period="2024Q1", points=[0.25, 0.75], top=0.5, by="tier")
    h = h.filter(pl.col("segment") == "h")
    assert h["value"].to_list() == pytest.approx([0.0, 50 / 80, 70 / 80, 1.0, 1.0])


def test_pareto_include_refunded_and_errors(make_dataset):
    ds = make_dataset(users=USERS, orders=ORDERS, as_of="2024-06-30")
    out = pareto_curve(ds, period="2024Q1", points=10, include_refunded=True)
    # b7 now 402 of 500: top 1 buyer (10% of 7 -> 1) holds 402 / 500
    assert out["value"][1] == pytest.approx(402 / 500)
    with pytest.raises(ValueError, match="points"):
        pareto_curve(ds, period="2024Q1", points=0)
    with pytest.raises(ValueError, match="points"):
        pareto_curve(ds, period="2024Q1", points=[0.5, 1.5])
    with pytest.raises(ValueError, match="top"):
        pareto_curve(ds, period="2024Q1", top=0)
