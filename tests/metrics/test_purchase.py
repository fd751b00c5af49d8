"""Purchase metrics on hand-worked examples (every engine) and against lifelines."""

from __future__ import annotations

import datetime as dt
import math

import narwhals as nw
import numpy as np
import polars as pl
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from insights.data.dataset import EmptyPeriodWarning
from insights.metrics.purchase import (
    aov,
    aov_ratio,
    first_purchase_conversion,
    repurchase_cycle,
    repurchase_of,
    repurchase_rate,
)
from insights.stats.proportions import wilson_interval

d = dt.datetime
Z = 1.959963984540054
HEAD = ["metric", "segment", "period", "value", "ci_low", "ci_high", "n"]


def purchase_frames() -> dict[str, pl.DataFrame]:
    """as_of 2024-06-30. Users first seen 2024-01-01 unless noted.

    u1 (a): Jan 5, Feb 20 (day +46)                     -> repurchased
    u2 (a): Jan 10, Apr 1 (+82 > 60)                    -> not
    u3 (b): Jan 3 REFUNDED, Jan 15, Mar 1 (+46)          -> repurchased (first = Jan 15)
    u4 (b): Mar 20 only (+60 = May 19 <= as_of)         -> not
    u5 (a, first seen 2023-12-01): Dec 20 2023, Jan 10  -> first order 2023: not in the Q1 cohort
    u6 (b): Jan 7 twice (same day is not a repurchase)  -> not
    u7 (a): Feb 1 REFUNDED, Feb 10                       -> not (with refunds: first Feb 1, +9: yes)
    u8 (b, first seen 2024-03-25): no order
    u9 (a, first seen 2024-02-01 23:00): Mar 1 (day index 29) -> converts within 30 days
    u10 (b, first seen 2024-02-01): Mar 2 (day index 30)      -> does not convert
    60-day repurchase, Q1 buyers: 1, 2, 3, 4, 6, 7, 9, 10 -> repeaters 1, 3 -> 2/8;
    including refunds: repeaters 1, 3, 7 -> 3/8.
    """
    jan1 = d(2024, 1, 1, 9)
    firsts = {
        1: jan1,
        2: jan1,
        3: jan1,
        4: jan1,
        5: d(2023, 12, 1),
        6: jan1,
        7: jan1,
        8: d(2024, 3, 25),
        9: d(2024, 2, 1, 23),
        10: d(2024, 2, 1),
    }
    users = pl.DataFrame(
        {
            "user_id": list(firsts),
            "first_seen_at": list(firsts.values()),
            "category": ["a", "a", "b", "b", "a", "b", "a", "b", "a", "b"],
        }
    )
    rows = [  # user, time, amount, refunded
        (1, d(2024, 1, 5), 10.0, False),
        (1, d(2024, 2, 20), 50.0, False),
        (2, d(2024, 1, 10), 30.0, False),
        (2, d(2024, 4, 1), 40.0, False),
        (3, d(2024, 1, 3), 100.0, True),
        (3, d(2024, 1, 15), 20.0, False),
        (3, d(2024, 3, 1), 20.0, False),
        (4, d(2024, 3, 20), 60.0, False),
        (5, d(2023, 12, 20), 25.0, False),
        (5, d(2024, 1, 10), 15.0, False),
        (6, d(2024, 1, 7, 10), 5.0, False),
        (6, d(2024, 1, 7, 18), 15.0, False),
        (7, d(2024, 2, 1), 70.0, True),
        (7, d(2024, 2, 10), 35.0, False),
        (9, d(2024, 3, 1, 8), 12.0, False),
        (10, d(2024, 3, 2, 8), 8.0, False),
    ]
    orders = pl.DataFrame(
        {
            "order_id": list(range(len(rows))),
            "user_id": [r[0] for r in rows],
            "ordered_at": [r[1] for r in rows],
            "amount": [r[2] for r in rows],
            "refunded": [r[3] for r in rows],
        }
    )
    return {"users": users, "orders": orders}


@pytest.fixture
def ds_and_src(make_dataset):
    src = purchase_frames()
    before = {k: v.clone() for k, v in src.items()}
    yield make_dataset(src, as_of="2024-06-30"), src
    assert all(src[k].equals(before[k]) for k in src)  # no mutation


def test_repurchase_rate(ds_and_src) -> None:
    ds, _ = ds_and_src
    out = repurchase_rate(ds, period="2024Q1")
    assert out.columns == [*HEAD, "successes", "status"]
    assert out.row(0) == (
        "repurchase_60d", "all", "2024Q1", 0.25, *wilson_interval(2, 8), 8, 2, "observed"
    )  # fmt: skip
    with_refunds = repurchase_rate(ds, period="2024Q1", include_refunded=True)
    assert with_refunds.select("value", "n").row(0) == (3 / 8, 8)
    # by category: a = users 1, 2, 7, 9 -> 1/4; b = users 3, 4, 6, 10 -> 1/4
    by = repurchase_rate(ds, period="2024Q1", by="category")
    assert by.select("segment", "value", "n").rows() == [("a", 0.25, 4), ("b", 0.25, 4)]
    # window 90: u2 (+82) now repurchases; u4 (Mar 20 + 90 = Jun 18 <= as_of) stays in: 3/8
    assert repurchase_rate(ds, period="2024Q1", window=90).select("metric", "value").row(0) == (
        "repurchase_90d",
        3 / 8,
    )
    # a Q2 cohort is empty: no first orders in Q2
    with pytest.warns(EmptyPeriodWarning, match="2024Q2"):
        assert repurchase_rate(ds, period="2024Q2").height == 0


def test_repurchase_not_observable(make_dataset) -> None:
    # as_of 2024-05-15: u4's first order (Mar 20) + 60 = May 19 > as_of -> left out; 2/7
    ds = make_dataset(purchase_frames(), as_of="2024-05-15")
    assert repurchase_rate(ds, period="2024Q1").select("value", "n").row(0) == (2 / 7, 7)


def test_repurchase_of_given_users(ds_and_src) -> None:
    ds, _ = ds_and_src
    users = ds.table("users")
    # re-segment: high = {1, 3}, ordinary = {2, 4}; user 7 etc. not among them
    sub = users.filter(nw.col("user_id").is_in([1, 2, 3, 4])).select(
        "user_id",
        nw.when(nw.col("user_id").is_in([1, 3]))
        .then(nw.lit("high"))
        .otherwise(nw.lit("ordinary"))
        .alias("segment"),
    )
    out = repurchase_of(ds, sub, period="2024Q1")
    assert out.select("segment", "value", "n").rows() == [("high", 1.0, 2), ("ordinary", 0.0, 2)]
    # a restriction by an expression on users, combined with by
    only = nw.col("user_id").is_in([1, 2, 6])
    out = repurchase_rate(ds, period="2024Q1", where=only, by="category")
    assert out.select("segment", "value", "n").rows() == [("a", 0.5, 2), ("b", 0.0, 1)]


def test_first_purchase_conversion(ds_and_src) -> None:
    ds, _ = ds_and_src
    # Q1 users: 1, 2, 3, 4, 6, 7, 8, 9, 10 (all observable for 30 days by 2024-06-30)
    # ordered on day index 0..29: 1 (day 4), 2 (9), 3 (14; Jan 3 refunded order ignored),
    # 6 (6), 9 (29) -> 5/9. Not: 4 (day 79), 7 (refunded day 31, then day 40), 8, 10 (day 30).
    out = first_purchase_conversion(ds, period="2024Q1")
    assert out.columns == [*HEAD, "successes", "status"]
    assert out.row(0) == (
        "first_purchase_30d",
        "all",
        "2024Q1",
        5 / 9,
        *wilson_interval(5, 9),
        9,
        5,
        "observed",
    )
    by = first_purchase_conversion(ds, period="2024Q1", by="category")
    # a: 1, 2, 7, 9 -> 1, 2, 9 = 3/4; b: 3, 4, 6, 8, 10 -> 3, 6 = 2/5
    assert by.select("segment", "value", "n").rows() == [("a", 0.75, 4), ("b", 0.4, 5)]
    # window 31: user 10 (day 30) converts -> 6/9
    assert first_purchase_conversion(ds, period="2024Q1", window=31)["value"].item() == 6 / 9


def test_first_purchase_observability(make_dataset) -> None:
    # as_of 2024-03-01: users first seen 2024-02-01 (9, 10) need Feb 1 + 30 = Mar 2 > as_of -> out;
    # user 8 is after as_of. Jan users 1, 2, 3, 4, 6, 7 -> converters 1, 2, 3, 6 = 4/6
    ds = make_dataset(purchase_frames(), as_of="2024-03-01")
    assert first_purchase_conversion(ds, period="2024Q1").select("value", "n").row(0) == (4 / 6, 6)


def _ratio_reference(per_user: list[tuple[float, int]]) -> tuple[float, float]:
    """AOV and its delta-method se from per-user (GMV, orders), written out longhand."""
    y = np.array([g for g, _ in per_user])
    x = np.array([k for _, k in per_user], dtype=float)
    r = y.sum() / x.sum()
    n = len(y)
    se = math.sqrt(n / (n - 1) * ((y - r * x) ** 2).sum()) / x.sum()
    return r, se


def test_aov(ds_and_src) -> None:
    ds, _ = ds_and_src
    # Q1 non-refunded orders per user: u1 10+50 (2), u2 30 (1), u3 20+20 (2), u4 60 (1),
    # u5 15 (1), u6 5+15 (2), u7 35 (1), u9 12 (1), u10 8 (1) -> GMV 280 over 12 orders
    per_user = [(60, 2), (30, 1), (40, 2), (60, 1), (15, 1), (20, 2), (35, 1), (12, 1), (8, 1)]
    r, se = _ratio_reference(per_user)
    assert r == pytest.approx(280 / 12)
    out = aov(ds, period="2024Q1")
    assert out.columns == [*HEAD, "gmv", "buyers", "se"]
    row = out.row(0, named=True)
    assert (row["metric"], row["segment"], row["n"], row["buyers"]) == ("aov", "all", 12, 9)
    assert row["value"] == pytest.approx(r)
    assert row["gmv"] == pytest.approx(280.0)
    assert row["se"] == pytest.approx(se, rel=1e-9)
    assert row["ci_low"] == pytest.approx(r - Z * se, rel=1e-9)
    assert row["ci_high"] == pytest.approx(r + Z * se, rel=1e-9)
    # including refunds adds u3's 100 and u7's 70: 450 / 14
    assert aov(ds, period="2024Q1", include_refunded=True)["value"].item() == pytest.approx(
        450 / 14
    )
    by = aov(ds, period="2024Q1", by="category").select("segment", "value", "n").rows()
    # a: u1, u2, u5, u7, u9 = 60+30+15+35+12 = 152 / 6; b: u3, u4, u6, u10 = 40+60+20+8 = 128 / 6
    assert by == [("a", pytest.approx(152 / 6), 6), ("b", pytest.approx(128 / 6), 6)]
    only = nw.col("user_id").is_in([1, 2])
    assert aov(ds, period="2024Q1", where=only)["value"].item() == pytest.approx(90 / 3)


def test_aov_ratio(ds_and_src) -> None:
    ds, _ = ds_and_src
    a, se_a = _ratio_reference([(60, 2), (30, 1), (15, 1), (35, 1), (12, 1)])
    b, se_b = _ratio_reference([(40, 2), (60, 1), (20, 2), (8, 1)])
    se_log = math.sqrt((se_a / a) ** 2 + (se_b / b) ** 2)
    out = aov_ratio(ds, period="2024Q1", column="category", values=["a"])
    assert out.columns == [*HEAD, "aov_in", "aov_rest", "n_in", "n_rest"]
    row = out.row(0, named=True)
    assert row["segment"] == "category in [a] vs rest"
    assert row["value"] == pytest.approx(a / b)
    assert row["ci_low"] == pytest.approx(a / b * math.exp(-Z * se_log), rel=1e-9)
    assert row["ci_high"] == pytest.approx(a / b * math.exp(Z * se_log), rel=1e-9)
    assert (row["n"], row["n_in"], row["n_rest"]) == (12, 6, 6)
    none = aov_ratio(ds, period="2024Q1", column="category", values=["zzz"])
    assert none["value"].item() is None and none["n_in"].item() == 0


def test_repurchase_cycle_hand_worked(make_dataset) -> None:
    # user 1 (beauty): orders on days 0, 10, 30 (as_of day 60) -> gaps 10, 20 and censored 30
    # user 2 (apparel): days 0, 0 (same day, one distinct day), 5 -> gap 5 and censored 55
    # user 3 (home): day 20 only -> censored 40
    t0 = d(2024, 1, 1, 12)
    users = pl.DataFrame(
        {"user_id": [1, 2, 3], "first_seen_at": [t0] * 3, "category": ["beauty", "apparel", "home"]}
    )
    od = [(1, 0), (1, 10), (1, 30), (2, 0), (2, 0.2), (2, 5), (3, 20)]
    orders = pl.DataFrame(
        {
            "order_id": list(range(len(od))),
            "user_id": [u for u, _ in od],
            "ordered_at": [t0 + dt.timedelta(days=k) for _, k in od],
            "amount": [1.0] * len(od),
        }
    )
    src = {"users": users, "orders": orders}
    ds = make_dataset(src, as_of="2024-03-01")
    # beauty: 10, 20 observed, 30 censored -> S(10) = 2/3, S(20) = 1/3 -> median 20
    out = repurchase_cycle(ds, by="category")
    assert out.columns == [*HEAD, "events", "buyers"]
    assert out.select("segment", "value", "n", "events").rows() == [
        ("apparel", 5.0, 2, 1),  # 5 observed, 55 censored: S(5) = 1/2 -> median 5
        ("beauty", 20.0, 3, 2),
        ("home", None, 1, 0),
    ]
    # pooled beauty+apparel: 5, 10, 20 observed, 30 and 55 censored
    # S(5) = 4/5, S(10) = 3/5, S(20) = 2/5 -> median 20
    # bootstrap=0: Greenwood's CI, as lifelines (the default bootstraps buyers)
    merged = repurchase_cycle(ds, where={"category": ["beauty", "apparel"]}, bootstrap=0)
    assert merged.select("segment", "value", "n").rows() == [("all", 20.0, 5)]
    kmf = KaplanMeierFitter().fit([5, 10, 20, 30, 55], [1, 1, 1, 0, 0])
    ci = median_survival_times(kmf.confidence_interval_)
    row = merged.row(0, named=True)
    assert row["ci_low"] == pytest.approx(ci.iloc[0, 0])
    assert (row["ci_high"] is None) == math.isinf(ci.iloc[0, 1])
    # period: gaps starting in January (all of them: day 30 is Jan 31): 6 gaps, 3 observed

    jan = repurchase_cycle(ds, period=("2024-01-01", "2024-01-31"), by=None)
    assert jan.select("period", "n", "events").row(0) == ("2024-01-01..2024-01-31", 6, 3)


def test_missing_orders_table_names_it(make_dataset) -> None:
    from insights.data.dataset import MissingTableError

    ds = make_dataset(users=purchase_frames()["users"], as_of="2024-06-30")
    with pytest.raises(MissingTableError, match="orders"):
        repurchase_rate(ds, period="2024Q1")
    with pytest.raises(MissingTableError, match="orders"):
        aov(ds, period="2024Q1")


def test_orders_without_refunded_column(make_dataset) -> None:
    # without a refunded column every order counts: u3 first = Jan 3 (+12 -> yes), u7 Feb 1 (+9 -> yes)
    src = purchase_frames()
    ds = make_dataset(users=src["users"], orders=src["orders"].drop("refunded"), as_of="2024-06-30")
    assert repurchase_rate(ds, period="2024Q1")["value"].item() == 3 / 8


def category_orders() -> dict[str, pl.DataFrame]:
    """as_of 2024-04-10 = day 100 after 2024-01-01. Order days and the order's category.

    u1 (prefers beauty): 0 beauty, 10 home, 20 beauty, 50 beauty
        -> beauty gaps 20, 30 and 50 censored; home 90 censored
    u2 (prefers home): 0 home, 5 beauty, 40 home (twice), 60 beauty REFUNDED, 70 no category
        -> home gap 40 and 60 censored; beauty 95 censored (55 + 40 censored with refunds);
           unknown 30 censored
    """
    t0 = d(2024, 1, 1, 10)
    users = pl.DataFrame(
        {"user_id": [1, 2], "first_seen_at": [t0, t0], "category": ["beauty", "home"]}
    )
    rows = [  # user, day, category, refunded
        (1, 0, "beauty", False),
        (1, 10, "home", False),
        (1, 20, "beauty", False),
        (1, 50, "beauty", False),
        (2, 0, "home", False),
        (2, 5, "beauty", False),
        (2, 40, "home", False),
        (2, 40.3, "home", False),
        (2, 60, "beauty", True),
        (2, 70, None, False),
    ]
    orders = pl.DataFrame(
        {
            "order_id": list(range(len(rows))),
            "user_id": [r[0] for r in rows],
            "ordered_at": [t0 + dt.timedelta(days=r[1]) for r in rows],
            "amount": [10.0] * len(rows),
            "category": [r[2] for r in rows],
            "refunded": [r[3] for r in rows],
        }
    )
    return {"users": users, "orders": orders}


def test_repurchase_cycle_by_order_category(make_dataset) -> None:
    src = category_orders()
    before = {k: v.clone() for k, v in src.items()}
    ds = make_dataset(src, as_of="2024-04-10")
    out = repurchase_cycle(ds, by="category", kind="same", bootstrap=0)
    assert all(src[k].equals(before[k]) for k in src)
    # beauty: 20, 30 observed, 50 and 95 censored -> S(20) = 3/4, S(30) = 1/2 -> median 30
    assert out.select("segment", "value", "n", "events").rows() == [
        ("beauty", 30.0, 4, 2),
        ("home", None, 3, 1),  # 40 observed, 90 and 60 censored: S never reaches 1/2
        ("unknown", None, 1, 0),
    ]
    kmf = KaplanMeierFitter().fit([20, 30, 50, 95], [1, 1, 0, 0])
    assert kmf.median_survival_time_ == 30
    ci = median_survival_times(kmf.confidence_interval_)
    row = out.row(0, named=True)
    assert row["ci_low"] == pytest.approx(ci.iloc[0, 0])
    assert (row["ci_high"] is None) == math.isinf(ci.iloc[0, 1])
    # with refunds, u2's beauty orders are days 5 and 60: gap 55 and 40 censored
    # beauty: 20, 30, 55 observed, 50 and 40 censored -> n = 5, events = 3
    refunds = repurchase_cycle(ds, by="category", kind="same", include_refunded=True)
    assert refunds.filter(pl.col("segment") == "beauty").select("n", "events").row(0) == (5, 3)
    # users' preferred category instead: u1 (beauty) gaps 10, 10, 30 + 50 censored -> median 10
    by_user = repurchase_cycle(ds, by="category")
    assert by_user.filter(pl.col("segment") == "beauty").select("value", "n").row(0) == (10.0, 4)
    # where= filters users: u2 only (home 40 observed and 60 censored, beauty 95, unknown 30)
    only_u2 = repurchase_cycle(ds, by="category", kind="same", where={"category": "home"})
    assert only_u2.select("segment", "n", "events").rows() == [
        ("beauty", 1, 0),
        ("home", 2, 1),
        ("unknown", 1, 0),
    ]


def test_segment_columns_checked(make_dataset) -> None:
    ds = make_dataset(category_orders(), as_of="2024-04-10")
    with pytest.raises(ValueError, match="by='nope' is not a users column"):
        repurchase_rate(ds, period="2024Q1", by="nope")
    with pytest.raises(ValueError, match="by='nope' is not a users column"):
        repurchase_cycle(ds, by="nope")
    with pytest.raises(ValueError, match="not an orders column"):
        repurchase_cycle(ds, by="channel", kind="same")
    with pytest.raises(ValueError, match="needs by="):
        repurchase_cycle(ds, by=None, kind="same")
    with pytest.raises(ValueError, match="kind"):
        repurchase_cycle(ds, kind="order")  # type: ignore[arg-type]
