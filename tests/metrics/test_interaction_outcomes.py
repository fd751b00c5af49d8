"""Participation, type mix, high vs ordinary, dose-response and fatigue against hand-worked examples."""

from __future__ import annotations

import datetime as dt

import narwhals as nw
import polars as pl
import pytest

from insights.metrics.interaction import interaction_rate
from insights.metrics.interaction_outcomes import (
    high_vs_ordinary,
    interaction_dose_response,
    interaction_fatigue,
    interaction_participation,
    interaction_type_mix,
)


def d(m: int, day: int, h: int = 12) -> dt.datetime:
    return dt.datetime(2024, m, day, h)


def users(n: int) -> pl.DataFrame:
    return pl.DataFrame({"user_id": list(range(1, n + 1)), "first_seen_at": [d(1, 1, 8)] * n})


def test_participation_stacks_quarters(make_dataset):
    views = pl.DataFrame(
        {
            "user_id": [1, 2, 1],
            "started_at": [d(1, 5), d(1, 5), d(4, 5)],
            "watch_seconds": [60.0] * 3,
        }
    )
    inter = pl.DataFrame({"user_id": [1, 1], "at": [d(1, 5), d(4, 5)], "kind": ["like", "gift"]})
    ds = make_dataset(users=users(2), views=views, interactions=inter, as_of="2024-06-30")
    t = interaction_participation(ds, period=["2024Q1", "2024Q2"])
    assert t["period"].to_list() == ["2024Q1", "2024Q2"]
    assert t["value"].to_list() == pytest.approx([0.5, 1.0])
    assert t["n"].to_list() == [2, 1]
    assert t.row(0) == interaction_rate(ds, period="2024Q1").row(0)


def test_type_mix(make_dataset):
    inter = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 3, 3, 3],
            "at": [d(1, 5)] * 5 + [d(4, 1)],
            "kind": ["like", "like", "comment", "like", "share", "share"],
        }
    )
    ds = make_dataset(users=users(3), interactions=inter, as_of="2024-06-30")
    t = interaction_type_mix(ds, period="2024Q1")
    assert t["kind"].to_list() == ["like", "comment", "share"]
    assert t["value"].to_list() == pytest.approx([3 / 5, 1 / 5, 1 / 5])
    assert t["interactions"].to_list() == [3, 1, 1]
    assert t["users"].to_list() == [2, 1, 1]
    assert set(t["n"]) == {5}


def test_dose_response_deciles(make_dataset):
    # 7 viewers, 1 watch-hour each; interactions 0,1,2,3,4,4,0 -> bins=2 over the 5 interactors:
    # min-ranks 1..4,4 -> bin (r-1)*2//5+1: users 2,3,4 -> d01; 5,6 -> d02; 1,7 -> d00
    views = pl.DataFrame(
        {"user_id": list(range(1, 8)), "started_at": [d(1, 5)] * 7, "watch_seconds": [3600.0] * 7}
    )
    counts = {1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 4, 7: 0}
    ids = [u for u, k in counts.items() for _ in range(k)]
    inter = pl.DataFrame({"user_id": ids, "at": [d(1, 5)] * len(ids), "kind": ["like"] * len(ids)})
    orders = pl.DataFrame(
        {
            "order_id": [1, 2, 3, 4],
            "user_id": [1, 3, 5, 6],
            "ordered_at": [d(2, 1)] * 4,
            "amount": [5.0] * 4,
        }
    )
    ds = make_dataset(
        users=users(7), views=views, interactions=inter, orders=orders, as_of="2024-06-30"
    )
    t = interaction_dose_response(ds, period="2024Q1", bins=2)
    assert t["segment"].to_list() == ["d00", "d01", "d02"]
    assert t["decile"].to_list() == [0, 1, 2]
    assert t["value"].to_list() == pytest.approx([1 / 2, 1 / 3, 1.0])
    assert t["n"].to_list() == [2, 3, 2]
    assert t["intensity_min"].to_list() == pytest.approx([0.0, 1.0, 4.0])
    assert t["intensity_max"].to_list() == pytest.approx([0.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="outcome"):
        interaction_dose_response(ds, period="2024Q1", outcome="gmv")  # type: ignore[arg-type]


def test_fatigue_curve(make_dataset):
    # viewer-days (as_of Mar 31, horizon 7, cap 2):
    # u1 Jan 1 k=3 -> "2+", returns Jan 5; u1 Jan 5 k=0, no return
    # u2 Jan 1 k=1, next view Jan 20 (19 d): no; u2 Jan 20 k=0 no
    # u3 Jan 1 k=0 returns Jan 3; u3 Jan 3 k=0 no; u4 Mar 30 not observable
    views = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 2, 3, 3, 4],
            "started_at": [d(1, 1), d(1, 5), d(1, 1), d(1, 20), d(1, 1), d(1, 3), d(3, 30)],
            "watch_seconds": [60.0] * 7,
        }
    )
    inter = pl.DataFrame(
        {"user_id": [1, 1, 1, 2, 4], "at": [d(1, 1)] * 4 + [d(3, 30)], "kind": ["like"] * 5}
    )
    ds = make_dataset(users=users(4), views=views, interactions=inter, as_of="2024-03-31")
    t = interaction_fatigue(ds, period="2024Q1", cap=2)
    assert t["segment"].to_list() == ["0", "1", "2+"]
    assert t["n"].to_list() == [4, 1, 1]
    assert t["value"].to_list() == pytest.approx([1 / 4, 0.0, 1.0])
    assert t["users"].to_list() == [3, 1, 1]
    assert set(t["metric"]) == {"return_7d"}


def test_high_vs_ordinary_hand_worked(make_dataset):
    # 4 viewers (1 h each on Jan 1), interactions 5, 4, 1, 0 -> top=0.5: high = {1, 2}
    views = pl.DataFrame(
        {
            "user_id": [1, 2, 3, 4, 1, 2, 3],
            "started_at": [d(1, 1)] * 4 + [d(2, 10), d(2, 1), d(2, 5)],
            "watch_seconds": [3600.0] * 4 + [0.0] * 3,  # later views only extend lifetimes
        }
    )
    ids = [1] * 5 + [2] * 4 + [3]
    inter = pl.DataFrame({"user_id": ids, "at": [d(1, 1)] * len(ids), "kind": ["like"] * len(ids)})
    orders = pl.DataFrame(
        {
            "order_id": [1, 2, 3, 4, 5],
            "user_id": [1, 1, 2, 3, 3],
            "ordered_at": [d(1, 2), d(1, 20), d(1, 3), d(1, 2), d(1, 10)],
            "amount": [100.0, 50.0, 60.0, 30.0, 30.0],
        }
    )
    ds = make_dataset(
        users=users(4), views=views, interactions=inter, orders=orders, as_of="2024-06-30"
    )
    t = high_vs_ordinary(ds, period="2024Q1", top=0.5)

    def v(metric: str, segment: str) -> dict:
        return t.filter(metric=metric, segment=segment).to_dicts()[0]

    assert v("aov", "high")["value"] == pytest.approx(70.0)  # 210 / 3
    assert v("aov", "ordinary")["value"] == pytest.approx(30.0)  # 60 / 2
    assert v("aov_uplift", "high vs ordinary")["value"] == pytest.approx(70 / 30 - 1)
    assert v("repurchase_60d", "high")["value"] == pytest.approx(0.5)
    assert v("repurchase_60d", "ordinary")["value"] == pytest.approx(1.0)
    assert v("repurchase_uplift", "high vs ordinary")["value"] == pytest.approx(-0.5)
    # lifetimes (no 30-day gap before the last view): high L = 40, 31 -> S(30) = 1; ordinary L = 35, 0 -> 1/2
    assert v("retention_d30", "high")["value"] == pytest.approx(1.0)
    assert v("retention_d30", "ordinary")["value"] == pytest.approx(0.5)
    gap = v("retention_uplift", "high vs ordinary")
    assert gap["value"] == pytest.approx(1.0)
    assert (gap["n_high"], gap["n_ordinary"]) == (2, 2)
    assert gap["value_high"] == pytest.approx(1.0) and gap["value_ordinary"] == pytest.approx(0.5)
    # where= keeps viewers 1 (5 interactions) and 3 (1): top half = {1}
    # AOV 150 / 2 = 75 vs 60 / 2 = 30 -> uplift 1.5
    w = high_vs_ordinary(ds, period="2024Q1", top=0.5, where=nw.col("user_id").is_in([1, 3]))
    row = w.filter(metric="aov_uplift").row(0, named=True)
    assert row["value"] == pytest.approx(75 / 30 - 1)
    assert (row["n_high"], row["n_ordinary"]) == (2, 2)
