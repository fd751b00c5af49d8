"""Growth headlines against hand-worked examples, on Polars and DuckDB."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from insights.data import MissingTableError
from insights.metrics.growth import (
    bounce_rate,
    cac,
    new_user_share,
    new_users,
    user_share,
    watch_minutes_per_session,
)

HEAD = ["metric", "segment", "period", "value", "ci_low", "ci_high", "n"]
Z = 1.959963984540054


def wilson_ref(x: int, n: int) -> tuple[float, float]:
    """Wilson (1927) score interval written out independently of the library."""
    z2 = Z * Z
    centre = (x + z2 / 2) / (n + z2)
    half = Z / (n + z2) * math.sqrt(x * (n - x) / n + z2 / 4)
    return centre - half, centre + half


def d(y: int, m: int, day: int, h: int = 0) -> dt.datetime:
    return dt.datetime(y, m, day, h)


# 2024Q1 acquires users 1, 2, 3, 4, 7 (5 users); 5 and 8 are Q2, 6 is 2023Q4.
USERS = pl.DataFrame(
    {
        "user_id": [1, 2, 3, 4, 5, 6, 7, 8],
        "first_seen_at": [d(2024, 1, 5), d(2024, 1, 20), d(2024, 2, 10), d(2024, 3, 31, 23),
                          d(2024, 4, 1), d(2023, 12, 31), d(2024, 2, 15), d(2024, 6, 30)],
        "channel": ["paid", "organic", "paid", "referral", "paid", "paid", None, "organic"],
        "city_tier": ["tier3", "tier1", "tier4_county", "tier2", "tier3", "tier1", None, "tier3"],
    }
)  # fmt: skip
SPEND = pl.DataFrame(
    {
        "period_start": [dt.date(2023, 12, 1), dt.date(2024, 1, 1), dt.date(2024, 2, 1),
                         dt.date(2024, 3, 1), dt.date(2024, 4, 1)],
        "channel": ["paid", "paid", "paid", "referral", "paid"],
        "amount": [99.0, 300.0, 200.0, 50.0, 1000.0],
    }
)  # fmt: skip
# Q1 sessions: user 1: 120 s + 360 s; user 2: 30 s; user 3: 600 s. Outside Q1: user 6 (2023-12-31), user 5 (April).
VIEWS = pl.DataFrame(
    {
        "user_id": [1, 1, 2, 3, 6, 5],
        "started_at": [d(2024, 1, 5), d(2024, 2, 1), d(2024, 1, 21), d(2024, 3, 31, 22), d(2023, 12, 31), d(2024, 4, 2)],
        "watch_seconds": [120.0, 360.0, 30.0, 600.0, 5.0, 5.0],
    }
)  # fmt: skip
AS_OF = "2024-06-30"


def test_user_share_hand_worked(make_dataset):
    ds = make_dataset(users=USERS, as_of=AS_OF)
    out = user_share(ds, period="2024Q1", column="city_tier", values=["tier3", "tier4_county"])
    assert out.columns[:7] == HEAD
    # Q1 users 1, 2, 3, 4, 7: tier3 (1) and tier4_county (3) -> 2 / 5 (7's null tier is "not in")
    row = out.row(0, named=True)
    assert (row["metric"], row["segment"], row["period"], row["n"]) == (
        "user_share",
        "tier3+tier4_county",
        "2024Q1",
        5,
    )
    assert row["value"] == pytest.approx(0.4)
    lo, hi = wilson_ref(2, 5)  # (0.1176, 0.7693)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
    assert row["share_of"] == "tier3+tier4_county"
    named = user_share(ds, period="2024Q1", column="city_tier", values="tier1", segment="top tier")
    assert named.select("segment", "value", "n", "share_of").row(0) == (
        "top tier", pytest.approx(0.2), 5, "top tier"
    )  # fmt: skip


def test_user_share_by_segment(make_dataset):
    ds = make_dataset(users=USERS, as_of=AS_OF)
    out = user_share(
        ds, period="2024Q1", column="city_tier", values=["tier3", "tier4_county"], by="channel"
    )
    # paid: 1 (tier3), 3 (tier4_county) -> 2/2; organic: 2 -> 0/1; referral: 4 -> 0/1; unknown: 7 -> 0/1
    assert out.select("segment", "value", "n").rows() == [
        ("organic", 0.0, 1), ("paid", 1.0, 2), ("referral", 0.0, 1), ("unknown", 0.0, 1),
    ]  # fmt: skip
    assert set(out["share_of"]) == {"tier3+tier4_county"}


def test_new_user_share(make_dataset):
    ds = make_dataset(users=USERS, as_of=AS_OF)
    out = new_user_share(ds, period="2024Q1", values=["paid"])
    # channel paid among Q1 users: 1, 3 of 1, 2, 3, 4, 7 -> 0.4
    assert out.select("metric", "segment", "value", "n").row(0) == (
        "new_user_share",
        "paid",
        pytest.approx(0.4),
        5,
    )
    # Q2 (users 5, 8): paid 5 -> 1/2
    assert new_user_share(ds, period="2024Q2", values="paid")["value"].item() == pytest.approx(0.5)


def test_new_users(make_dataset):
    ds = make_dataset(users=USERS, as_of=AS_OF)
    out = new_users(ds, period=["2024Q1", "2024Q2"])
    assert out.columns[:7] == HEAD
    assert out.select("segment", "period", "value", "n").rows() == [
        ("all", "2024Q1", 5.0, 5),
        ("all", "2024Q2", 2.0, 2),
    ]
    # default: every calendar quarter with acquisitions: 2023Q4 (user 6), 2024Q1 (5), 2024Q2 (5, 8)
    assert new_users(ds).select("period", "n").rows() == [
        ("2023Q4", 1),
        ("2024Q1", 5),
        ("2024Q2", 2),
    ]
    by = new_users(ds, period="2024Q1", by="channel")
    assert by.select("segment", "n").rows() == [
        ("organic", 1),
        ("paid", 2),
        ("referral", 1),
        ("unknown", 1),
    ]


def test_cac(make_dataset):
    ds = make_dataset(users=USERS, spend=SPEND, as_of=AS_OF)
    out = cac(ds, period="2024Q1")
    # Q1 spend 300 + 200 + 50 = 550 over 5 new users -> 110 yuan
    assert out.select("metric", "segment", "value", "n", "spend").row(0) == (
        "cac",
        "all",
        110.0,
        5,
        550.0,
    )
    assert out["ci_low"].is_null().all() and out["ci_high"].is_null().all()
    by = cac(ds, period="2024Q1", by="channel")
    # paid 500 / 2 = 250; referral 50 / 1; organic and unknown: no spend -> 0
    assert by.select("segment", "value", "n").rows() == [
        ("organic", 0.0, 1), ("paid", 250.0, 2), ("referral", 50.0, 1), ("unknown", 0.0, 1),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="city_tier"):
        cac(ds, period="2024Q1", by="city_tier")
    # where filters spend and users alike: paid spend 500 over the 2 paid new users
    paid = cac(ds, period="2024Q1", where={"channel": ["paid"]})
    assert paid.select("segment", "value", "n", "spend").row(0) == ("all", 250.0, 2, 500.0)
    with pytest.raises(ValueError, match="where: spend has no column \\['city_tier'\\]"):
        cac(ds, period="2024Q1", where={"city_tier": "tier3"})


def test_watch_minutes_per_session(make_dataset):
    ds = make_dataset(users=USERS, views=VIEWS, as_of=AS_OF)
    out = watch_minutes_per_session(ds, period="2024Q1")
    # per user (minutes, sessions): 1 -> (8, 2), 2 -> (0.5, 1), 3 -> (10, 1); R = 18.5 / 4 = 4.625
    # residuals y - R x: -1.25, -4.125, 5.375; sum of squares 47.46875
    # Var = 3/2 * 47.46875 / 4**2 = 4.450195..., se = 2.10954...
    se = math.sqrt(1.5 * 47.46875 / 16)
    row = out.row(0, named=True)
    assert row["metric"] == "watch_minutes_per_session_mean"
    assert (row["value"], row["n"], row["n_users"]) == (pytest.approx(4.625), 4, 3)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((4.625 - Z * se, 4.625 + Z * se))


def test_bounce_rate(make_dataset):
    ds = make_dataset(users=USERS, views=VIEWS, as_of=AS_OF)
    out = bounce_rate(ds, period="2024Q1")
    # Q1 sessions 120, 360, 30, 600 s: one under 60 s -> 1 / 4
    row = out.row(0, named=True)
    assert (row["metric"], row["value"], row["n"], row["n_users"]) == ("bounce_rate", 0.25, 4, 3)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(wilson_ref(1, 4))
    # threshold 150 s: 120 and 30 -> 2 / 4
    assert bounce_rate(ds, period="2024Q1", threshold_seconds=150)["value"].item() == pytest.approx(
        0.5
    )
    by = bounce_rate(ds, period="2024Q1", by="channel")
    assert by.select("segment", "value", "n").rows() == [("organic", 1.0, 1), ("paid", 0.0, 3)]


def test_missing_tables_raise(make_dataset):
    ds = make_dataset(users=USERS, as_of=AS_OF)
    with pytest.raises(MissingTableError, match="spend"):
        cac(ds, period="2024Q1")
    with pytest.raises(MissingTableError, match="views"):
        watch_minutes_per_session(ds, period="2024Q1")
    with pytest.raises(MissingTableError, match="views"):
        bounce_rate(ds, period="2024Q1")


def test_does_not_mutate_input(make_dataset):
    frames = {"users": USERS, "spend": SPEND, "views": VIEWS}
    before = {k: v.clone() for k, v in frames.items()}
    ds = make_dataset(frames, as_of=AS_OF)
    user_share(ds, period="2024Q1", column="city_tier", values=["tier3"])
    new_user_share(ds, period="2024Q1", values=["paid"])
    new_users(ds)
    cac(ds, period="2024Q1", by="channel")
    watch_minutes_per_session(ds, period="2024Q1")
    bounce_rate(ds, period="2024Q1")
    for k, v in frames.items():
        assert v.equals(before[k])
