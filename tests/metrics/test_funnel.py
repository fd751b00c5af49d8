"""Interaction and public-to-private funnels against hand-worked examples, on Polars and DuckDB."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from insights.data import MissingTableError
from insights.metrics.funnel import interaction_funnel, private_funnel

Z = 1.959963984540054


def wilson_ref(x: int, n: int) -> tuple[float, float]:
    z2 = Z * Z
    centre = (x + z2 / 2) / (n + z2)
    half = Z / (n + z2) * math.sqrt(x * (n - x) / n + z2 / 4)
    return centre - half, centre + half


def d(m: int, day: int, h: int = 12) -> dt.datetime:
    return dt.datetime(2024, m, day, h)


USERS = pl.DataFrame(
    {"user_id": list(range(1, 7)), "first_seen_at": [dt.datetime(2023, 12, 1)] * 6}
)
VIEWS = pl.DataFrame(
    {
        "user_id": [1, 2, 3, 4, 5, 6],
        "started_at": [d(1, 5)] * 5 + [d(4, 5)],
        "watch_seconds": [600.0] * 6,
    }
)
# 1..4 interact on Jan 10 (4 also on Mar 30); 6 interacts but never views in Q1
INTER = pl.DataFrame(
    {
        "user_id": [1, 2, 3, 4, 4, 6],
        "at": [d(1, 10)] * 4 + [d(3, 30), d(1, 10)],
        "kind": ["like"] * 6,
    }
)
# 1: Jan 15 (+5 d, trigger) and Feb 20 (+36 d after trigger: repurchase)
# 2: Jan 10 10:00 (before the interaction) and Jan 25 (+15 d): never ordered within 7 days
# 3: Jan 17 (+7 d, boundary: ordered), no repeat
# 4: Apr 2 (+3 d after Mar 30): ordered, but Apr 2 + 60 > as_of May 15: not observable
# 5: orders but never interacted
ORDERS = pl.DataFrame(
    {
        "order_id": list(range(1, 8)),
        "user_id": [1, 1, 2, 2, 3, 4, 5],
        "ordered_at": [d(1, 15), d(2, 20), d(1, 10, 10), d(1, 25), d(1, 17), d(4, 2), d(1, 12)],
        "amount": [10.0] * 7,
    }
)


def test_interaction_funnel_hand_worked(make_dataset):
    ds = make_dataset(
        users=USERS, views=VIEWS, interactions=INTER, orders=ORDERS, as_of="2024-05-15"
    )
    f = interaction_funnel(ds, period="2024Q1")
    assert f["stage"].to_list() == ["viewers", "interacted", "ordered", "repurchased"]
    assert f["users"].to_list() == [5, 4, 3, 1]
    assert f["n"].to_list() == [5, 5, 4, 2]
    assert f["value"].to_list() == pytest.approx([1.0, 0.8, 0.75, 0.5])
    assert f["overall"].to_list() == pytest.approx([1.0, 0.8, 0.6, 0.2])
    assert f["drop_off"].to_list()[1:] == pytest.approx([0.2, 0.25, 0.5])
    assert f["drop_off"][0] is None and f["ci_low"][0] is None
    lo, hi = wilson_ref(3, 4)
    assert (f["ci_low"][2], f["ci_high"][2]) == pytest.approx((lo, hi))
    assert set(f["metric"]) == {"interaction_funnel"} and set(f["period"]) == {"2024Q1"}


def test_interaction_funnel_windows_are_parameters(make_dataset):
    ds = make_dataset(
        users=USERS, views=VIEWS, interactions=INTER, orders=ORDERS, as_of="2024-05-15"
    )
    f = interaction_funnel(ds, period="2024Q1", order_window=15)  # user 2's Jan 25 order now counts
    assert f["users"].to_list() == [5, 4, 4, 1]


def test_interaction_funnel_needs_interactions(make_dataset):
    ds = make_dataset(users=USERS, views=VIEWS, orders=ORDERS)
    with pytest.raises(MissingTableError, match="interactions"):
        interaction_funnel(ds, period="2024Q1")


# private funnel: 5 viewers on Jan 5
# 1 joins Jan 20 (+15 d), stays, orders Feb 1: all stages
# 2 joins Jan 10, leaves Jan 25 (15 d <= 30): joined, not stayed
# 3 joins Mar 1 (+56 d > 30): not joined
# 4 joins Jan 6, leaves Mar 20 (74 d): stayed; only ordered before joining
# 5 never joins
COMMUNITY = pl.DataFrame(
    {
        "user_id": [1, 2, 2, 3, 4, 4],
        "at": [d(1, 20), d(1, 10), d(1, 25), d(3, 1), d(1, 6), d(3, 20)],
        "action": ["join", "join", "leave", "join", "join", "leave"],
    }
)
P_ORDERS = pl.DataFrame(
    {
        "order_id": [1, 2],
        "user_id": [1, 4],
        "ordered_at": [d(2, 1), d(1, 1)],
        "amount": [10.0, 10.0],
    }
)


def test_private_funnel_hand_worked(make_dataset):
    ds = make_dataset(
        users=USERS, views=VIEWS, community=COMMUNITY, orders=P_ORDERS, as_of="2024-05-15"
    )
    f = private_funnel(ds, period="2024Q1")
    assert f["stage"].to_list() == ["viewers", "joined", "stayed", "ordered"]
    assert f["users"].to_list() == [5, 3, 2, 1]
    assert f["n"].to_list() == [5, 5, 3, 2]
    assert f["value"].to_list() == pytest.approx([1.0, 0.6, 2 / 3, 0.5])
    assert f["drop_off"].to_list()[1:] == pytest.approx([0.4, 1 / 3, 0.5])


def test_private_funnel_by_segment(make_dataset):
    users = USERS.with_columns(channel=pl.Series(["a", "a", "b", "b", "b", "b"]))
    ds = make_dataset(
        users=users, views=VIEWS, community=COMMUNITY, orders=P_ORDERS, as_of="2024-05-15"
    )
    f = private_funnel(ds, period="2024Q1", by="channel")
    a = f.filter(segment="a")
    assert a["users"].to_list() == [2, 2, 1, 1]
    b = f.filter(segment="b")
    assert b["users"].to_list() == [3, 1, 1, 0]


def test_interaction_funnel_counts_complete_order_windows_only(make_dataset):
    d = dt.datetime
    users = pl.DataFrame({"user_id": [1, 2, 3], "first_seen_at": [d(2024, 12, 1)] * 3})
    views = pl.DataFrame(
        {"user_id": [1, 2, 3], "started_at": [d(2024, 12, 1)] * 3, "watch_seconds": [60.0] * 3}
    )
    # as_of Dec 31: an interaction is followed 7 days when its day is Dec 24 or earlier.
    # User 1 (Dec 20) orders Dec 22: counted, ordered. User 2 (Dec 24) never orders:
    # counted, not ordered. User 3 (Dec 28) orders Dec 29: its window is open, not counted.
    inter = pl.DataFrame(
        {"user_id": [1, 2, 3], "at": [d(2024, 12, 20), d(2024, 12, 24), d(2024, 12, 28)],
         "kind": ["like"] * 3}
    )  # fmt: skip
    orders = pl.DataFrame(
        {"order_id": [1, 2], "user_id": [1, 3], "ordered_at": [d(2024, 12, 22), d(2024, 12, 29)],
         "amount": [9.0, 9.0]}
    )  # fmt: skip
    ds = make_dataset(
        {"users": users, "views": views, "interactions": inter, "orders": orders},
        as_of="2024-12-31",
    )
    f = interaction_funnel(ds, period="2024Q4")
    ordered = f.filter(pl.col("stage") == "ordered").row(0, named=True)
    assert (ordered["users"], ordered["n"], ordered["value"]) == (1, 2, 0.5)
    assert f.filter(pl.col("stage") == "interacted")["users"].item() == 3
