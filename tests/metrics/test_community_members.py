"""Members vs non-members: a hand-built immortal-time example where naive is biased and landmark is not."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from insights.data import MissingTableError
from insights.data.dataset import EmptyPeriodWarning
from insights.metrics.community_members import member_comparison, member_retention

T0 = dt.datetime(2024, 1, 1, 12)


def day(n: int) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


# Six users acquired on day 0; everyone orders 10 yuan on days 5, 15, 25, ... while "alive"
# (long-lived: to day 85; short-lived: to day 25). Membership changes nothing, but:
#   E1 (long) and E2 (short) join on day 10 (early joiners: one long, one short),
#   N1 (long) and N2 (short) never join,
#   L1 (long) joins on day 50; L2 (short) would have joined on day 50 but left at day 25.
# Naive (the documents' way: joined by the period's end vs never joined, orders per buyer-month
#   from the join): members E1, E2, L1 exposed from days 10, 10, 50 to day 90 (81, 81, 41 days),
#   orders 8 (15..85), 2 (15, 25), 4 (55..85) -> 14 / (203 / 30) = 2.069 a month;
#   non-members N1, N2, L2 from day 0 (91 days each): 9 + 3 + 3 -> 15 / (273 / 30) = 1.648:
#   ratio 1.26 although joining changes nothing (long lives are likelier to hold a join).
# Landmark day 30, window days 30..89: members E1, E2 -> (6 + 0) / 2 = 3,
#   non-members N1, N2, L1, L2 -> (6 + 0 + 6 + 0) / 4 = 3: ratio 1.0, the truth.
LONG, SHORT = list(range(5, 90, 10)), [5, 15, 25]
LIVES = {1: LONG, 2: SHORT, 3: LONG, 4: SHORT, 5: LONG, 6: SHORT}
USERS = pl.DataFrame({"user_id": list(LIVES), "first_seen_at": [T0] * 6})
ORDERS = pl.DataFrame(
    {
        "order_id": list(range(sum(len(v) for v in LIVES.values()))),
        "user_id": [u for u, days in LIVES.items() for _ in days],
        "ordered_at": [day(x) for days in LIVES.values() for x in days],
        "amount": [10.0] * sum(len(v) for v in LIVES.values()),
    }
)
COMMUNITY = pl.DataFrame(
    {"user_id": [1, 2, 5], "at": [day(10), day(10), day(50)], "action": ["join"] * 3}
)


def rows(t: pl.DataFrame, metric: str) -> dict[str, dict]:
    """The member and non-member rows of ``metric`` and its gap row (``<metric>_ratio``)."""
    return {
        r["segment"]: r
        for r in t.filter(pl.col("metric").is_in([metric, f"{metric}_ratio"])).to_dicts()
    }


def test_naive_comparison_is_biased(make_dataset):
    ds = make_dataset(users=USERS, orders=ORDERS, community=COMMUNITY, as_of="2024-06-30")
    t = member_comparison(ds, period="2024Q1", design="naive")
    r = rows(t, "repurchase_frequency")
    assert (r["member"]["n"], r["non_member"]["n"]) == (3, 3)
    assert r["member"]["value"] == pytest.approx(14 / (203 / 30))
    assert r["non_member"]["value"] == pytest.approx(15 / (273 / 30))
    assert r["member vs non_member"]["metric"] == "repurchase_frequency_ratio"
    assert r["member vs non_member"]["value"] == pytest.approx(14 * 273 / (203 * 15))  # 1.255
    # AOV of members' orders after joining vs non-members': 10 yuan each
    a = rows(t, "aov")
    assert (a["member"]["n"], a["non_member"]["n"]) == (14, 15)
    assert a["member vs non_member"]["value"] == pytest.approx(1.0)
    assert set(t["design"]) == {"naive"}


def test_landmark_comparison_is_not(make_dataset):
    ds = make_dataset(users=USERS, orders=ORDERS, community=COMMUNITY, as_of="2024-06-30")
    t = member_comparison(ds, period="2024Q1", landmark=30, horizon=60)
    r = rows(t, "orders_per_user")
    assert (r["member"]["n"], r["non_member"]["n"]) == (2, 4)
    assert r["member"]["value"] == pytest.approx(3.0)
    assert r["non_member"]["value"] == pytest.approx(3.0)
    assert r["member vs non_member"]["value"] == pytest.approx(1.0)
    assert rows(t, "gmv_per_user")["member vs non_member"]["value"] == pytest.approx(1.0)
    assert rows(t, "aov")["member"]["value"] == pytest.approx(10.0)
    a = rows(t, "active_rate")
    assert a["member"]["value"] == pytest.approx(0.5)  # E1 active in the window, E2 not
    assert a["non_member"]["value"] == pytest.approx(0.5)
    assert a["member vs non_member"]["value"] == pytest.approx(1.0)
    # sample-level check of the clustered SE: members' orders 6 and 0 -> se = sqrt(2/1 * 18) / 2
    assert r["member"]["ci_high"] - r["member"]["value"] == pytest.approx(1.959964 * 3.0, rel=1e-5)


def test_unobservable_users_are_left_out(make_dataset):
    ds = make_dataset(users=USERS, orders=ORDERS, community=COMMUNITY, as_of="2024-03-15")
    with pytest.warns(EmptyPeriodWarning, match="2024Q1"):
        t = member_comparison(ds, period="2024Q1", landmark=30, horizon=60)
    assert rows(t, "orders_per_user")["member"]["n"] == 0


def test_bad_arguments(make_dataset):
    ds = make_dataset(users=USERS, orders=ORDERS, community=COMMUNITY)
    with pytest.raises(ValueError, match="design"):
        member_comparison(ds, period="2024Q1", design="ever")  # type: ignore[arg-type]
    with pytest.raises(MissingTableError, match="community"):
        member_comparison(make_dataset(users=USERS, orders=ORDERS), period="2024Q1")


def test_member_retention_starts_at_landmark(make_dataset):
    ds = make_dataset(users=USERS, orders=ORDERS, community=COMMUNITY, as_of="2024-06-30")
    km = member_retention(ds, period="2024Q1", landmark=30)
    # retained at day 30: only the long-lived E1 (member) and N1, L1 (non-members), all L = 85
    first = km.group_by("segment").agg(pl.col("survival").first(), pl.col("at_risk").first())
    assert dict(first.select("segment", "at_risk").iter_rows()) == {"member": 1, "non_member": 2}
    assert set(first["survival"]) == {1.0}
    assert km["t"].min() >= 30
