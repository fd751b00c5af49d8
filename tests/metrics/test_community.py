"""Community flow, time to leave and private GMV share against hand-worked examples."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from insights.metrics.community import (
    community_activity,
    community_leave_curves,
    community_spells,
    private_gmv_share,
)


def d(m: int, day: int, h: int = 12) -> dt.datetime:
    return dt.datetime(2024, m, day, h)


USERS = pl.DataFrame({"user_id": [1, 2, 3, 4], "first_seen_at": [dt.datetime(2023, 12, 1)] * 4})
# 1: member since Dec 2023, never leaves; 2: joins Jan 10, leaves Feb 3, re-joins Mar 1;
# 3: joins Feb 20, leaves Feb 25; 4: never a member
COMMUNITY = pl.DataFrame(
    {
        "user_id": [1, 2, 2, 2, 3, 3],
        "at": [dt.datetime(2023, 12, 5), d(1, 10), d(2, 3), d(3, 1), d(2, 20), d(2, 25)],
        "action": ["join", "join", "leave", "join", "join", "leave"],
    }
)


def test_community_activity_months(make_dataset):
    ds = make_dataset(users=USERS, community=COMMUNITY, as_of="2024-03-31")
    t = community_activity(ds, period="2024Q1")
    assert t["period"].to_list() == ["2024-01", "2024-02", "2024-03"]
    # Jan: start {1}, joined {2}, during {1,2}, left {}; Feb: start {1,2}, joined {3}, during {1,2,3},
    # left {2,3}; Mar: start {1}, joined {2}, during {1,2}, left {}
    assert t["members_start"].to_list() == [1, 2, 1]
    assert t["joined"].to_list() == [1, 1, 1]
    assert t["left"].to_list() == [0, 2, 0]
    assert t["n"].to_list() == [2, 3, 2]
    assert t["value"].to_list() == pytest.approx([0.0, 2 / 3, 0.0])


def test_community_leave_curves_is_km_from_first_join(make_dataset):
    ds = make_dataset(users=USERS, community=COMMUNITY, as_of="2024-03-31")
    curves = community_leave_curves(ds)
    # T: user 1 censored at Mar 31 (117 d), user 2 leaves after 24 d, user 3 after 5 d
    s = curves.at([5, 24])
    assert s["survival"].to_list() == pytest.approx([2 / 3, 1 / 3])
    # where= keeps users 2 and 3: both leave (after 24 and 5 days)
    kept = community_leave_curves(ds, where={"user_id": [2, 3]})
    assert kept.at([5, 24])["survival"].to_list() == pytest.approx([1 / 2, 0.0])
    with pytest.raises(TypeError, match="origin"):
        community_leave_curves(ds, origin="first_seen")  # type: ignore[call-arg]


def test_community_spells_with_segments(make_dataset):
    users = USERS.with_columns(channel=pl.Series(["a", "a", "b", "b"]))
    ds = make_dataset(users=users, community=COMMUNITY, as_of="2024-03-31")
    spells = community_spells(ds, by="channel").collect().sort("user_id", "join_at")
    # 1: one open spell; 2: Jan 10 - Feb 3, then open from Mar 1; 3: Feb 20 - Feb 25
    assert spells.select("user_id", "segment").rows() == [(1, "a"), (2, "a"), (2, "a"), (3, "b")]
    assert spells["leave_at"].to_list() == [None, d(2, 3), None, d(2, 25)]
    only_b = community_spells(ds, where={"channel": "b"}).collect()
    assert only_b.select("user_id", "segment").rows() == [(3, "all")]


ORDERS = pl.DataFrame(
    {
        "order_id": [1, 2, 3, 4, 5],
        "user_id": [1, 2, 2, 3, 4],
        # 2's Feb 10 order is between spells (left Feb 3, re-joined Mar 1): public
        "ordered_at": [d(1, 5), d(1, 15), d(2, 10), d(2, 22), d(1, 5)],
        "amount": [100.0, 50.0, 50.0, 20.0, 80.0],
        "source": ["live", "private_domain", "live", "private_domain", "live"],
    }
)


def test_private_gmv_share_membership(make_dataset):
    ds = make_dataset(users=USERS, community=COMMUNITY, orders=ORDERS, as_of="2024-03-31")
    t = private_gmv_share(ds, period="2024Q1")
    r = t.row(0, named=True)
    assert r["gmv_private"] == pytest.approx(170.0)  # 100 + 50 + 20
    assert r["gmv_total"] == pytest.approx(300.0)
    assert r["value"] == pytest.approx(170 / 300)
    assert r["n"] == 4
    # delta-method se of the ratio estimator, by hand (buyers as clusters)
    y, x = np.array([100.0, 50.0, 20.0, 0.0]), np.array([100.0, 100.0, 20.0, 80.0])
    rr = y.sum() / x.sum()
    se = np.sqrt(4 / 3 * ((y - rr * x) ** 2).sum()) / x.sum()
    assert r["ci_high"] - r["value"] == pytest.approx(1.959964 * se, rel=1e-5)


def test_private_gmv_share_source(make_dataset):
    ds = make_dataset(users=USERS, community=COMMUNITY, orders=ORDERS, as_of="2024-03-31")
    t = private_gmv_share(ds, period="2024Q1", definition="source")
    assert t["value"][0] == pytest.approx(70 / 300)
    with pytest.raises(ValueError, match="definition"):
        private_gmv_share(ds, period="2024Q1", definition="x")  # type: ignore[arg-type]
