"""Interaction headlines against hand-worked examples, on Polars and DuckDB."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from insights.data import MissingTableError
from insights.data._backend import collect
from insights.metrics.concentration import gmv_share_top_buyers
from insights.metrics.interaction import (
    interaction_intensity,
    interaction_rate,
    repurchase_after_interaction,
)
from insights.metrics.interaction_outcomes import high_vs_ordinary

Z = 1.959963984540054


def wilson_ref(x: int, n: int) -> tuple[float, float]:
    z2 = Z * Z
    centre = (x + z2 / 2) / (n + z2)
    half = Z / (n + z2) * math.sqrt(x * (n - x) / n + z2 / 4)
    return centre - half, centre + half


def cluster_ratio_ref(y: list[float], x: list[float]) -> tuple[float, float]:
    """R = sum y / sum x and its delta-method se with clusters (Cochran 1977, 6.3), by hand."""
    y_, x_ = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    r = y_.sum() / x_.sum()
    n = len(y_)
    return r, math.sqrt(n / (n - 1) * ((y_ - r * x_) ** 2).sum()) / x_.sum()


def d(y: int, m: int, day: int, h: int = 12) -> dt.datetime:
    return dt.datetime(y, m, day, h)


USERS = pl.DataFrame(
    {
        "user_id": list(range(1, 12)),
        "first_seen_at": [d(2023, 11, 1)] * 11,
        "channel": ["a"] * 5 + ["b"] * 6,
    }
)
# Q1 viewers 1..10 (11 only views in April). Watch hours: 1, 2, 0.5, 1, 1 x 5 (users 5..9), 0 (user 10).
VIEWS = pl.DataFrame(
    {
        "user_id": list(range(1, 12)),
        "started_at": [d(2024, 1, 2)] * 10 + [d(2024, 4, 2)],
        "watch_seconds": [3600.0, 7200.0, 1800.0, 3600.0] + [3600.0] * 5 + [0.0, 3600.0],
    }
)
# Q1 interactions: 1 -> 10 (Jan 5), 2 -> 10 (Feb 20), 3 -> 2 (Jan 20 12:00), 4 -> 1 (Feb 1), 10 -> 1 (Feb 1 10:00),
# 11 -> 3 (Jan 15). Outside Q1: 3 (Dec 2023), 4 (April).
# Intensity per watch-hour: 1 -> 10, 2 -> 5, 3 -> 4, 4 -> 1, 5..9 -> 0, 10 -> +inf (1 interaction, 0 hours).
INTERACTIONS = pl.DataFrame(
    {
        "user_id": [1] * 10 + [2] * 10 + [3, 3, 4, 10, 11, 11, 11, 3, 4],
        "at": [d(2024, 1, 5)] * 10 + [d(2024, 2, 20)] * 10
        + [d(2024, 1, 20), d(2024, 1, 20), d(2024, 2, 1), d(2024, 2, 1, 10), d(2024, 1, 15), d(2024, 1, 15),
           d(2024, 1, 15), d(2023, 12, 1), d(2024, 4, 1)],
        "kind": ["like"] * 29,
    }
)  # fmt: skip
ORDERS = pl.DataFrame(
    {
        "order_id": list(range(1, 15)),
        "user_id": [1, 1, 10, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 11],
        "ordered_at": [d(2024, 1, 10), d(2024, 2, 1), d(2024, 2, 1), d(2024, 1, 5), d(2024, 2, 10), d(2024, 1, 20),
                       d(2024, 3, 1), d(2024, 3, 1), d(2024, 4, 15), d(2024, 2, 1), d(2024, 2, 2), d(2023, 12, 1),
                       d(2024, 1, 15), d(2024, 2, 1)],
        "amount": [100.0, 60.0, 40.0, 50.0, 30.0, 20.0, 30.0, 10.0, 99.0, 25.0, 999.0, 10.0, 30.0, 500.0],
        "refunded": [False] * 10 + [True] + [False] * 3,
    }
)  # fmt: skip
AS_OF = "2024-06-30"
FRAMES = {"users": USERS, "views": VIEWS, "interactions": INTERACTIONS, "orders": ORDERS}


def test_interaction_rate(make_dataset):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    out = interaction_rate(ds, period="2024Q1")
    # viewers 1..10; interacted in Q1: 1, 2, 3, 4, 10 -> 5 / 10 (11 interacts but did not view in Q1)
    row = out.row(0, named=True)
    assert (row["metric"], row["segment"], row["period"], row["value"], row["n"]) == (
        "interaction_rate",
        "all",
        "2024Q1",
        0.5,
        10,
    )
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(wilson_ref(5, 10))
    # a: 1..5 -> 1, 2, 3, 4 interacted (4/5); b: 6..10 -> 10 (1/5)
    by = interaction_rate(ds, period="2024Q1", by="channel")
    assert by.select("segment", "n").rows() == [("a", 5), ("b", 5)]
    assert by["value"].to_list() == pytest.approx([0.8, 0.2])


def test_interaction_intensity(make_dataset):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    lazy = interaction_intensity(ds, period="2024Q1")
    assert not isinstance(lazy, pl.DataFrame)  # stays lazy in the engine
    out = collect(lazy).sort("user_id")
    assert out.columns == ["user_id", "interactions", "watch_hours", "intensity", "segment"]
    assert out["interactions"].to_list() == [10, 10, 2, 1, 0, 0, 0, 0, 0, 1]
    assert out["watch_hours"].to_list() == pytest.approx([1, 2, 0.5, 1, 1, 1, 1, 1, 1, 0])
    assert out["intensity"].to_list() == pytest.approx([10, 5, 4, 1, 0, 0, 0, 0, 0, math.inf])
    # 10 viewers, top 20% -> 2: user 10 (inf) and user 1 (10)
    assert out.filter(pl.col("segment") == "high")["user_id"].to_list() == [1, 10]
    # top 30% -> 3 adds user 2; top 90% -> 9, but zero-interaction viewers are never high

    def high(top: float) -> list[int]:
        frame = collect(interaction_intensity(ds, period="2024Q1", top=top))
        return sorted(frame.filter(pl.col("segment") == "high")["user_id"])

    assert high(0.3) == [1, 2, 10]
    assert high(0.9) == [1, 2, 3, 4, 10]
    with pytest.raises(ValueError, match="top"):
        interaction_intensity(ds, period="2024Q1", top=1.5)


def test_high_vs_ordinary_uplift_rows(make_dataset):
    """The AOV and repurchase uplifts of high- vs ordinary-interaction viewers (the gap rows)."""
    ds = make_dataset(FRAMES, as_of=AS_OF)
    hv = high_vs_ordinary(ds, period="2024Q1")
    assert hv.columns[:7] == ["metric", "segment", "period", "value", "ci_low", "ci_high", "n"]
    out = hv.filter(pl.col("metric").is_in(["aov_uplift", "repurchase_uplift"]))
    assert out["metric"].to_list() == ["aov_uplift", "repurchase_uplift"]
    assert set(out["segment"]) == {"high vs ordinary"}
    aov_row, rep_row = out.row(0, named=True), out.row(1, named=True)
    # AOV over Q1 orders. high (1, 10): 100 + 60 + 40 = 200 / 3 orders.
    # ordinary: 2 -> 50 + 30; 3 -> 20 + 30; 4 -> 10 (its April order is outside); 5 -> 25 (refund excluded); 6 -> 30
    #   = 195 / 7. (11 is not a Q1 viewer.)  uplift = (200/3) / (195/7) - 1 = 1.3932
    rh, sh = cluster_ratio_ref([160, 40], [2, 1])
    ro, so = cluster_ratio_ref([80, 50, 10, 25, 30], [2, 2, 1, 1, 1])
    assert (aov_row["value_high"], aov_row["value_ordinary"]) == pytest.approx((200 / 3, 195 / 7))
    assert aov_row["value"] == pytest.approx(rh / ro - 1)
    se_log = math.sqrt((sh / rh) ** 2 + (so / ro) ** 2)
    assert aov_row["ci_low"] == pytest.approx(rh / ro * math.exp(-Z * se_log) - 1)
    assert aov_row["ci_high"] == pytest.approx(rh / ro * math.exp(Z * se_log) - 1)
    assert (aov_row["n"], aov_row["n_high"], aov_row["n_ordinary"]) == (10, 3, 7)
    # 60-day repurchase of buyers with the first order in Q1. high: 1 (Jan 10 -> Feb 1) yes, 10 no -> 1/2.
    # ordinary: 2 (Jan 5 -> Feb 10) yes, 3 (Jan 20 -> Mar 1) yes, 4 (Mar 1 -> Apr 15) yes, 5 no (refund) -> 3/4;
    # 6's first order is in 2023. uplift = 0.5 / 0.75 - 1 = -1/3; Katz se(log) = sqrt(0.5/1 + 0.25/3)
    se_rep = math.sqrt((1 - 0.5) / (0.5 * 2) + (1 - 0.75) / (0.75 * 4))
    assert (rep_row["value_high"], rep_row["value_ordinary"]) == pytest.approx((0.5, 0.75))
    assert rep_row["value"] == pytest.approx(-1 / 3)
    assert rep_row["ci_low"] == pytest.approx(2 / 3 * math.exp(-Z * se_rep) - 1)
    assert rep_row["ci_high"] == pytest.approx(2 / 3 * math.exp(Z * se_rep) - 1)
    assert (rep_row["n"], rep_row["n_high"], rep_row["n_ordinary"]) == (6, 2, 4)


def test_repurchase_after_interaction(make_dataset):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    out = repurchase_after_interaction(ds, period="2024Q1")
    # interaction at or before the first order: 1 (Jan 5 < Jan 10), 3 (Jan 20 12:00 = first order, edge),
    # 4 (Feb 1 < Mar 1), 10 (Feb 1 10:00 < 12:00), 11 (Jan 15 < Feb 1); not 2 (Feb 20 > Jan 5), 5, 6.
    # Repurchased within 60 days: 1, 3, 4 -> 3 / 5
    row = out.row(0, named=True)
    assert (row["metric"], row["segment"], row["n"]) == ("repurchase_60d", "all", 5)
    assert row["value"] == pytest.approx(0.6)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(wilson_ref(3, 5))
    # by channel: a = 1, 3, 4 (all repurchase), b = 10, 11 (neither); where keeps one channel
    by = repurchase_after_interaction(ds, period="2024Q1", by="channel")
    assert by.select("segment", "value", "n").rows() == [("a", 1.0, 3), ("b", 0.0, 2)]
    only_b = repurchase_after_interaction(ds, period="2024Q1", where={"channel": "b"})
    assert only_b.select("segment", "value", "n").row(0) == ("all", 0.0, 2)


def test_gmv_share_top_buyers(make_dataset):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    out = gmv_share_top_buyers(ds, period="2024Q1")
    # Q1 GMV per buyer: 11 -> 500, 1 -> 160, 2 -> 80, 3 -> 50, 10 -> 40, 6 -> 30, 5 -> 25, 4 -> 10; total 895
    # top ceil(0.2 * 8) = 2 buyers: 500 + 160 = 660 -> 660 / 895
    row = out.row(0, named=True)
    assert (row["metric"], row["n"], row["n_top"]) == ("gmv_share_top20pct_buyers", 8, 2)
    assert (row["value"], row["gmv_top"], row["gmv_total"]) == pytest.approx(
        (660 / 895, 660.0, 895.0)
    )
    assert row["ci_low"] is None and row["ci_high"] is None
    # top half: 500 + 160 + 80 + 50 = 790
    half = gmv_share_top_buyers(ds, period="2024Q1", top=0.5)
    assert half.select("metric", "n_top").row(0) == ("gmv_share_top50pct_buyers", 4)
    assert half["value"].item() == pytest.approx(790 / 895)
    # by channel: a (1..5): 160, 80, 50, 25, 10 -> top 1 = 160 / 325; b: 500, 40, 30 -> top 1 = 500 / 570
    by = gmv_share_top_buyers(ds, period="2024Q1", by="channel")
    assert by.select("segment", "n", "n_top").rows() == [("a", 5, 1), ("b", 3, 1)]
    assert by["value"].to_list() == pytest.approx([160 / 325, 500 / 570])


def test_missing_tables_raise(make_dataset):
    ds = make_dataset(users=USERS, views=VIEWS, orders=ORDERS, as_of=AS_OF)
    with pytest.raises(MissingTableError, match="interactions"):
        interaction_rate(ds, period="2024Q1")
    with pytest.raises(MissingTableError, match="interactions"):
        high_vs_ordinary(ds, period="2024Q1")
    with pytest.raises(MissingTableError, match="interactions"):
        repurchase_after_interaction(ds, period="2024Q1")
    no_views = make_dataset(users=USERS, interactions=INTERACTIONS, as_of=AS_OF)
    with pytest.raises(MissingTableError, match="views"):
        interaction_intensity(no_views, period="2024Q1")
    with pytest.raises(MissingTableError, match="orders"):
        gmv_share_top_buyers(no_views, period="2024Q1")


def test_does_not_mutate_input(make_dataset):
    before = {k: v.clone() for k, v in FRAMES.items()}
    ds = make_dataset(FRAMES, as_of=AS_OF)
    interaction_rate(ds, period="2024Q1")
    collect(interaction_intensity(ds, period="2024Q1"))
    high_vs_ordinary(ds, period="2024Q1")
    repurchase_after_interaction(ds, period="2024Q1")
    gmv_share_top_buyers(ds, period="2024Q1")
    for k, v in FRAMES.items():
        assert v.equals(before[k])
