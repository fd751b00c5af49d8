"""RFM scores and named segments against a hand-worked example, on Polars and DuckDB."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from insights.data import MissingTableError
from insights.data._backend import collect
from insights.metrics.rfm import RFM_SEGMENTS, rfm_scores, rfm_segments

D = dt.datetime(2024, 6, 30, 12)
# user: (recency_days, [amounts]); orders at D - recency, D - recency - 10, ... (all within 365 days)
# 10 buyers -> score = floor((rank - 1) / 2) + 1 (ranks 1-2 -> 1, ..., 9-10 -> 5), ties take the min rank.
#        R  F  M   fm   segment
#  u1   5  5  5   5    champions       u6  3  1  2  1.5  need_attention
#  u2   5  5  5   5    champions       u7  2  1  2  1.5  hibernating
#  u3   4  4  4   4    champions       u8  2  1  1  1    hibernating
#  u4   4  1  3   2    new             u9  1  3  4  3.5  at_risk (M ties u3 at 300 -> both 4)
#  u5   3  3  3   3    loyal           u10 1  1  1  1    hibernating
# F: 5 one-order buyers tie at rank 1 -> all F = 1; u5, u9 (2 orders) rank 6 -> 3.
BUYERS = {
    "u1": (0, [100.0] * 5),
    "u2": (1, [100.0] * 4),
    "u3": (5, [100.0] * 3),
    "u4": (10, [250.0]),
    "u5": (20, [100.0, 100.0]),
    "u6": (40, [100.0]),
    "u7": (60, [90.0]),
    "u8": (100, [80.0]),
    "u9": (200, [150.0, 150.0]),
    "u10": (300, [50.0]),
}
EXPECTED = {
    "u1": (5, 5, 5, "champions"), "u2": (5, 5, 5, "champions"), "u3": (4, 4, 4, "champions"),
    "u4": (4, 1, 3, "new"), "u5": (3, 3, 3, "loyal"), "u6": (3, 1, 2, "need_attention"),
    "u7": (2, 1, 2, "hibernating"), "u8": (2, 1, 1, "hibernating"), "u9": (1, 3, 4, "at_risk"),
    "u10": (1, 1, 1, "hibernating"),
}  # fmt: skip


def _frames() -> dict[str, pl.DataFrame]:
    rows = [
        (u, D - dt.timedelta(days=rec + 10 * i), a, False)
        for u, (rec, amounts) in BUYERS.items()
        for i, a in enumerate(amounts)
    ]
    rows += [
        ("u1", D + dt.timedelta(days=5), 999.0, False),  # after d: ignored
        ("u12", D - dt.timedelta(days=400), 70.0, False),  # outside the 365-day window
        ("u13", D - dt.timedelta(days=3), 60.0, True),  # refunded
    ]
    orders = pl.DataFrame(
        rows, schema=["user_id", "ordered_at", "amount", "refunded"], orient="row"
    ).with_row_index("order_id")
    ids = [*BUYERS, "u11", "u12", "u13"]
    users = pl.DataFrame(
        {
            "user_id": ids,
            "first_seen_at": [dt.datetime(2023, 1, 1)] * len(ids),
            "channel": ["a" if i % 2 else "b" for i in range(len(ids))],
        }
    )
    return {"users": users, "orders": orders}


def test_rfm_scores_hand_worked(make_dataset):
    ds = make_dataset(_frames(), as_of="2024-07-31")
    lazy = rfm_scores(ds, at="2024-06-30")
    assert not isinstance(lazy, pl.DataFrame)  # per-user scores stay lazy
    out = collect(lazy)
    assert out.columns == [
        "user_id", "segment", "recency_days", "frequency", "monetary", "r", "f", "m", "rfm_segment",
    ]  # fmt: skip
    got = {row[0]: row[1:] for row in out.select("user_id", "r", "f", "m", "rfm_segment").rows()}
    assert got == EXPECTED
    u9 = out.filter(pl.col("user_id") == "u9").row(0, named=True)
    assert (u9["recency_days"], u9["frequency"], u9["monetary"]) == (200, 2, 300.0)
    # all history: u12 becomes a buyer; refunded orders count on request
    assert collect(rfm_scores(ds, at="2024Q2", window=None)).height == 11
    assert collect(rfm_scores(ds, at="2024Q2", include_refunded=True)).height == 11


def test_rfm_segments_counts_and_gmv_share(make_dataset):
    ds = make_dataset(_frames(), as_of="2024-07-31")
    out = rfm_segments(ds, at="2024Q2")
    assert out["rfm_segment"].to_list() == [s[0] for s in RFM_SEGMENTS]
    assert set(out["metric"]) == {"rfm_segment_share"} and set(out["period"]) == {"2024Q2"}
    assert out.select("rfm_segment", "users").rows() == [
        ("champions", 3), ("loyal", 1), ("new", 1), ("promising", 0),
        ("need_attention", 1), ("at_risk", 1), ("hibernating", 3),
    ]  # fmt: skip
    total = 2270.0
    gmv = dict(out.select("rfm_segment", "gmv").rows())
    assert gmv["champions"] == pytest.approx(1200.0) and gmv["hibernating"] == pytest.approx(220.0)
    assert out["gmv_share"].to_list() == pytest.approx(
        [1200 / total, 200 / total, 250 / total, 0.0, 100 / total, 300 / total, 220 / total]
    )
    assert set(out["n"]) == {10} and out["value"][0] == pytest.approx(0.3)
    champ = out.row(0, named=True)
    assert champ["mean_frequency"] == pytest.approx(4.0)
    assert champ["mean_recency_days"] == pytest.approx(2.0)


def test_rfm_segments_by_segment_scores_overall(make_dataset):
    ds = make_dataset(_frames(), as_of="2024-07-31")
    out = rfm_segments(ds, at="2024Q2", by="channel")
    # channel b = u1, u3, u5, u7, u9 (even positions); scores still over all 10 buyers
    b = dict(out.filter(pl.col("segment") == "b").select("rfm_segment", "users").rows())
    assert b == {"champions": 2, "loyal": 1, "new": 0, "promising": 0, "need_attention": 0,
                 "at_risk": 1, "hibernating": 1}  # fmt: skip
    assert out.filter(pl.col("segment") == "a")["n"][0] == 5


def test_rfm_errors(make_dataset):
    frames = _frames()
    ds = make_dataset(frames, as_of="2024-07-31")
    with pytest.raises(ValueError, match="window"):
        rfm_scores(ds, at="2024Q2", window=0)
    with pytest.raises(ValueError, match="as_of"):
        rfm_segments(ds, at="2024Q4")
    with pytest.raises(MissingTableError, match="orders"):
        rfm_segments(make_dataset(users=frames["users"], as_of="2024-07-31"), at="2024Q2")
