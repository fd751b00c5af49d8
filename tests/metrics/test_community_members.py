"""Members vs non-members: hand-built examples (immortal time; the landmark ratio and its CI) and a null simulation."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from insights.data import MissingTableError
from insights.data.dataset import Dataset, EmptyPeriodWarning, frames_dataset
from insights.metrics.community_members import member_comparison, member_retention

T0 = dt.datetime(2024, 1, 1, 12)
Z = 1.959963984540054


@pytest.fixture(autouse=True)
def _every_group_shown():
    """The hand-worked worlds have 3-user arms: show every number (min_cell 1) to check them."""
    import insights as ins

    with ins.options(min_cell=1):
        yield


def test_a_ratio_of_an_arm_below_min_cell_is_not_given(make_dataset):
    import insights as ins

    ds = make_dataset(hand_frames(), as_of="2024-06-30")
    with ins.options(min_cell=4):  # members: 3 users, 3 orders; non-members: 4 users, 5 orders
        t = member_comparison(ds, period="2024Q1", landmark=30, horizon=60)
    gaps = t.filter(pl.col("segment") == "member vs non_member")
    assert gaps.height == 4 and gaps["value"].is_null().all() and gaps["ci_low"].is_null().all()
    assert gaps["n"].to_list() == [7, 7, 8, 7]  # the users (or orders) of both arms still counted
    arms = t.filter(pl.col("segment") != "member vs non_member")
    assert arms["value"].is_not_null().all()  # the arms themselves are hidden at display (n < 4)


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


# A hand-worked landmark example with unequal arms (landmark day 30, horizon 60: days 30 .. 89).
#   user  first join  paid orders (day: yuan)              arm at day 30   in the window
#   1     day 5       35: 20, 50: 40                       member          2 orders, 60 yuan
#   2     day 20      40: 30                               member          1, 30
#   3     day 29      10: 100 (before the window)          member          0, 0
#   4     -           60: 10                               non-member      1, 10
#   5     day 30      31: 20, 32: 20, 33: 20               non-member      3, 60 (joins on day 30)
#   6     -           -                                    non-member      0, 0
#   7     day 45      89: 50, 90: 70 (day 90 is outside)   non-member      1, 50
# orders per user: members (2, 1, 0) -> 1.0, non-members (1, 3, 0, 1) -> 1.25: ratio 0.8;
# GMV per user 30 and 30: ratio 1; AOV 90 / 3 = 30 vs 120 / 5 = 24: ratio 1.25;
# active in the window (orders are the only activity here): 2/3 vs 3/4.
HAND = {
    1: ([5], [(35, 20.0), (50, 40.0)]),
    2: ([20], [(40, 30.0)]),
    3: ([29], [(10, 100.0)]),
    4: ([], [(60, 10.0)]),
    5: ([30], [(31, 20.0), (32, 20.0), (33, 20.0)]),
    6: ([], []),
    7: ([45], [(89, 50.0), (90, 70.0)]),
}


def hand_frames() -> dict[str, pl.DataFrame]:
    orders = [(u, d, a) for u, (_, ords) in HAND.items() for d, a in ords]
    joins = [(u, d) for u, (js, _) in HAND.items() for d in js]
    return {
        "users": pl.DataFrame({"user_id": list(HAND), "first_seen_at": [T0] * len(HAND)}),
        "orders": pl.DataFrame(
            {
                "order_id": list(range(len(orders))),
                "user_id": [u for u, _, _ in orders],
                "ordered_at": [day(d) for _, d, _ in orders],
                "amount": [a for _, _, a in orders],
            }
        ),
        "community": pl.DataFrame(
            {"user_id": [u for u, _ in joins], "at": [day(d) for _, d in joins], "action": "join"}
        ),
    }


def mean_se(values: list[float]) -> tuple[float, float]:
    """Sample mean and its standard error s / sqrt(n)."""
    n = len(values)
    m = sum(values) / n
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1) / n)


def log_ci(m1: float, s1: float, m0: float, s0: float) -> tuple[float, float, float]:
    """m1 / m0 with its 95% CI exp(log ratio +- z * sqrt((s1/m1)^2 + (s0/m0)^2))."""
    r, half = m1 / m0, Z * math.hypot(s1 / m1, s0 / m0)
    return r, r * math.exp(-half), r * math.exp(half)


def test_landmark_ratio_by_hand(make_dataset):
    ds = make_dataset(hand_frames(), as_of="2024-06-30")
    t = member_comparison(ds, period="2024Q1", landmark=30, horizon=60)
    o = rows(t, "orders_per_user")
    assert (o["member"]["n"], o["non_member"]["n"], o["member vs non_member"]["n"]) == (3, 4, 7)
    m1, s1 = mean_se([2, 1, 0])  # 1.0, sqrt(1/3)
    m0, s0 = mean_se([1, 3, 0, 1])  # 1.25, sqrt(4.75/3/4)
    r, lo, hi = log_ci(m1, s1, m0, s0)  # 0.8 (0.178 .. 3.59)
    gap = o["member vs non_member"]
    assert (gap["value"], gap["ci_low"], gap["ci_high"]) == pytest.approx((r, lo, hi), rel=1e-9)
    assert r == pytest.approx(0.8)
    assert (o["member"]["ci_low"], o["member"]["ci_high"]) == pytest.approx(
        (m1 - Z * s1, m1 + Z * s1)
    )
    g = rows(t, "gmv_per_user")
    r, lo, hi = log_ci(*mean_se([60, 30, 0]), *mean_se([10, 60, 0, 50]))
    assert r == pytest.approx(1.0)
    assert (g["member vs non_member"]["ci_low"], g["member vs non_member"]["ci_high"]) == (
        pytest.approx((lo, hi), rel=1e-9)
    )
    a = rows(t, "aov")
    assert (a["member"]["n"], a["non_member"]["n"]) == (3, 5)  # orders in the window
    assert (a["member"]["value"], a["non_member"]["value"]) == pytest.approx((30.0, 24.0))
    assert a["member vs non_member"]["value"] == pytest.approx(1.25)
    act = rows(t, "active_rate")
    assert (act["member"]["value"], act["non_member"]["value"]) == pytest.approx((2 / 3, 3 / 4))
    se1, se0 = math.sqrt(2 / 3 / 3 / 3), math.sqrt(3 / 4 / 4 / 4)  # binomial sqrt(p(1-p)/n)
    r, lo, hi = log_ci(2 / 3, se1, 3 / 4, se0)
    gap = act["member vs non_member"]
    assert (gap["value"], gap["ci_low"], gap["ci_high"]) == pytest.approx((r, lo, hi), rel=1e-9)


def null_world(seed: int, users: int = 3000) -> Dataset:
    """Joining changes nothing and is unrelated to the user: the truth of every ratio is 1.

    Users acquired over 2024 at midnight; lifetimes Exponential(mean 150 days);
    heterogeneous order rates Gamma(0.5, mean 0.03 a day) and user-level amounts; 35% join
    at acquisition + Exponential(mean 60 days), independently of everything else.
    """
    rng = np.random.default_rng(seed)
    fs = rng.integers(0, 366, users)
    life = rng.exponential(150.0, users)
    lam = rng.gamma(0.5, 0.06, users)
    mu = rng.normal(np.log(100.0), 0.5, users)
    k = rng.poisson(lam * life)
    who = np.repeat(np.arange(users), k)
    when = fs[who] + rng.random(who.size) * life[who]
    joined = np.flatnonzero(rng.random(users) < 0.35)
    join = fs[joined] + np.floor(rng.exponential(60.0, joined.size)) + 0.5
    start = dt.datetime(2024, 1, 1)

    def stamp(days: np.ndarray) -> pl.Series:
        return pl.Series((days * 86_400e6).astype(np.int64)).cast(pl.Duration("us")) + start

    return frames_dataset(
        users=pl.DataFrame({"user_id": np.arange(users), "first_seen_at": stamp(fs)}),
        orders=pl.DataFrame(
            {
                "order_id": np.arange(who.size),
                "user_id": who,
                "ordered_at": stamp(when),
                "amount": np.exp(mu[who] + rng.normal(0.0, 0.3, who.size)),
            }
        ),
        community=pl.DataFrame({"user_id": joined, "at": stamp(join), "action": "join"}),
        as_of="2025-06-30",
    )


def test_landmark_null_simulation_covers_one():
    """Seeded worlds where joining changes nothing: the landmark ratios' 95% CIs cover 1.

    Over 20 seeded worlds (3,000 users each), 90% or more of the 80 intervals cover 1 and
    at least 16 of the 20 of each ratio (at a true 95%, 16 or more happen with
    probability 0.997; the full coverage study, with power:
    ``benchmarks/coverage_members.py``). The documents' naive frequency ratio is biased
    upwards in the same worlds.
    """
    ratios = ("orders_per_user_ratio", "gmv_per_user_ratio", "aov_ratio", "active_rate_ratio")
    covered = dict.fromkeys(ratios, 0)
    naive = []
    for seed in range(20):
        ds = null_world(seed)
        gap = member_comparison(ds, period=2024).filter(pl.col("segment") == "member vs non_member")
        for r in gap.iter_rows(named=True):
            covered[r["metric"]] += r["ci_low"] <= 1.0 <= r["ci_high"]
        naive.append(
            member_comparison(ds, period=2024, design="naive")
            .filter(pl.col("metric") == "repurchase_frequency_ratio")["value"]
            .item()
        )
    assert sum(covered.values()) >= 72 and min(covered.values()) >= 16, covered
    assert np.mean(naive) > 1.03, naive
