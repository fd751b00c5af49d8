"""Private-domain headlines against hand-worked examples (and lifelines), on Polars and DuckDB.

The naive members-vs-non-members rows (``member_comparison(design="naive")``, the
documents' comparison) are checked here on the same hand-worked frames.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from insights.data import MissingTableError
from insights.data.dataset import EmptyPeriodWarning
from insights.metrics.community import community_exit_rate, public_to_private_conversion
from insights.metrics.community_members import member_comparison

Z = 1.959963984540054


@pytest.fixture
def every_group_shown():
    """The hand-worked worlds have arms of a few users: show every number (min_cell 1)."""
    import insights as ins

    with ins.options(min_cell=1):
        yield


def wilson_ref(x: int, n: int) -> tuple[float, float]:
    z2 = Z * Z
    centre = (x + z2 / 2) / (n + z2)
    half = Z / (n + z2) * math.sqrt(x * (n - x) / n + z2 / 4)
    return centre - half, centre + half


def cluster_ratio_ref(y: list[float], x: list[float]) -> tuple[float, float]:
    """R = sum y / sum x and its delta-method se with clusters (Cochran 1977, 6.3), by hand."""
    y_, x_ = np.asarray(y), np.asarray(x)
    r = y_.sum() / x_.sum()
    n = len(y_)
    return r, math.sqrt(n / (n - 1) * ((y_ - r * x_) ** 2).sum()) / x_.sum()


def d(y: int, m: int, day: int, h: int = 12) -> dt.datetime:
    return dt.datetime(y, m, day, h)


USERS = pl.DataFrame(
    {
        "user_id": [1, 2, 3, 4, 5, 6, 7, 8],
        "first_seen_at": [d(2023, 12, 1), d(2024, 1, 10), d(2024, 2, 1), d(2023, 11, 1), d(2024, 3, 1),
                          d(2024, 1, 1), d(2023, 10, 1), d(2024, 2, 1)],
        "channel": ["a", "a", "a", "b", "b", "b", "b", "b"],
    }
)  # fmt: skip
# first joins: 1 Jan 10, 2 Feb 15, 3 2023-12-20 (again Mar 1), 4 Jan 5, 6 May 1 (after the period); 5, 7, 8 never
COMMUNITY = pl.DataFrame(
    {
        "user_id": [1, 1, 2, 3, 3, 3, 4, 4, 6, 3],
        "at": [d(2024, 1, 10), d(2024, 2, 9), d(2024, 2, 15), d(2023, 12, 20), d(2023, 12, 25), d(2024, 3, 1),
               d(2024, 1, 5, 11), d(2024, 1, 5, 18), d(2024, 5, 1), d(2024, 7, 1)],
        "action": ["join", "leave", "join", "join", "leave", "join", "join", "leave", "join", "leave"],
    }
)  # fmt: skip
VIEWS = pl.DataFrame(
    {
        "user_id": [1, 2, 2, 3, 4, 5, 6, 7],
        "started_at": [d(2024, 1, 1), d(2024, 1, 10), d(2024, 2, 20), d(2024, 2, 1), d(2024, 1, 5, 10),
                       d(2024, 3, 25), d(2024, 3, 31), d(2023, 12, 31)],
        "watch_seconds": [60.0] * 8,
    }
)  # fmt: skip
ORDERS = pl.DataFrame(
    {
        "order_id": list(range(1, 14)),
        "user_id": [1, 1, 1, 2, 3, 3, 3, 3, 5, 5, 7, 7, 6],
        "ordered_at": [d(2024, 1, 5), d(2024, 1, 20), d(2024, 2, 20), d(2024, 3, 1), d(2024, 1, 15), d(2024, 2, 15),
                       d(2024, 3, 15), d(2024, 4, 5), d(2024, 3, 10), d(2024, 3, 20), d(2024, 2, 1), d(2024, 2, 2),
                       d(2024, 2, 10)],
        "amount": [999.0, 100.0, 50.0, 80.0, 60.0, 60.0, 90.0, 70.0, 40.0, 20.0, 30.0, 500.0, 25.0],
        "refunded": [False] * 11 + [True, False],
    }
)  # fmt: skip
AS_OF = "2024-06-30"
FRAMES = {"users": USERS, "community": COMMUNITY, "views": VIEWS, "orders": ORDERS}


def test_public_to_private_conversion(make_dataset):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    out = public_to_private_conversion(ds, period="2024Q1")
    # Q1 viewers 1..6 (7's view is in 2023). Join j - view v in 0..30 days:
    #   1: Jan 1 -> Jan 10 (9) yes; 2: Jan 10 -> Feb 15 (36) no, Feb 20 is after the join; 3: Feb 1 -> Mar 1 (29) yes;
    #   4: Jan 5 -> Jan 5 (0) yes; 5: no join; 6: Mar 31 -> May 1 (31) no.   -> 3 / 6
    row = out.row(0, named=True)
    assert (row["metric"], row["segment"], row["n"], row["value"]) == (
        "public_to_private_conversion_30d",
        "all",
        6,
        0.5,
    )
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(wilson_ref(3, 6))
    # window 31 adds user 6 (31 days) -> 4 / 6; window 36 adds user 2 too -> 5 / 6; the metric id follows the window
    wide = public_to_private_conversion(ds, period="2024Q1", window=31)
    assert wide.select("metric", "value").row(0) == (
        "public_to_private_conversion_31d",
        pytest.approx(4 / 6),
    )
    assert public_to_private_conversion(ds, period="2024Q1", window=36)[
        "value"
    ].item() == pytest.approx(5 / 6)
    by = public_to_private_conversion(ds, period="2024Q1", by="channel")
    # a: 1, 2, 3 -> 2 / 3; b: 4, 5, 6 -> 1 / 3
    assert by.select("segment", "n").rows() == [("a", 3), ("b", 3)]
    assert by["value"].to_list() == pytest.approx([2 / 3, 1 / 3])


def naive_rows(ds, metric: str) -> dict[str, dict]:
    out = member_comparison(ds, period="2024Q1", design="naive")
    assert set(out["design"]) == {"naive"}
    rows = {
        r["segment"]: r for r in out.filter(pl.col("metric").str.starts_with(metric)).to_dicts()
    }
    assert list(rows) == ["member", "non_member", "member vs non_member"]
    return rows


def test_naive_repurchase_frequency(make_dataset, every_group_shown):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    rows = naive_rows(ds, "repurchase_frequency")
    # Exposure (days, both ends included) to Mar 31:
    #   members 1: Jan 10.. (82), 2: Feb 15.. (46), 3: Jan 1.. (91), 4: Jan 5.. (87);
    #   never-joined 5: Mar 1.. (31), 7: Jan 1.. (91), 8: Feb 1.. (60); 6 joins after the period: neither.
    # Orders in exposure: 1 -> Jan 20, Feb 20 (Jan 5 is before its join) = 2; 2 -> 1; 3 -> 3 (Apr 5 outside); 4 -> 0;
    #   5 -> 2; 7 -> 1 (the refunded Feb 2 order excluded); 8 -> 0.
    # members: 6 orders / (82 + 46 + 91) / 30 months = 6 / 7.3 = 0.8219; never: 3 / (122 / 30) = 0.7377
    rm, sm = cluster_ratio_ref([2, 1, 3], [82 / 30, 46 / 30, 91 / 30])
    rn, sn = cluster_ratio_ref([2, 1], [31 / 30, 91 / 30])
    assert (rm, rn) == pytest.approx((6 / 7.3, 90 / 122))
    se_log = math.sqrt((sm / rm) ** 2 + (sn / rn) ** 2)
    row = rows["member vs non_member"]
    assert (row["metric"], row["n"]) == ("repurchase_frequency_ratio", 5)
    assert row["value"] == pytest.approx(rm / rn)  # 1.1142
    assert row["ci_low"] == pytest.approx(rm / rn * math.exp(-Z * se_log))
    assert row["ci_high"] == pytest.approx(rm / rn * math.exp(Z * se_log))
    member, other = rows["member"], rows["non_member"]
    assert (member["value"], other["value"]) == pytest.approx((rm, rn))
    assert (member["n"], other["n"]) == (3, 2)
    assert member["ci_high"] == pytest.approx(rm + Z * sm)


def test_naive_aov(make_dataset, every_group_shown):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    rows = naive_rows(ds, "aov")
    # private (members' Q1 orders at/after first join): 1 -> 100, 50; 2 -> 80; 3 -> 60, 60, 90  => 440 / 6
    # public (never-joined): 5 -> 40, 20; 7 -> 30 (refunded 500 excluded)                      => 90 / 3 = 30
    # user 6 (joins in May) and 1's order before joining are in neither arm.
    rp, sp = cluster_ratio_ref([150, 80, 210], [2, 1, 3])
    rq, sq = cluster_ratio_ref([60, 30], [2, 1])
    se_log = math.sqrt((sp / rp) ** 2 + (sq / rq) ** 2)
    row, member, other = rows["member vs non_member"], rows["member"], rows["non_member"]
    assert (row["metric"], row["n"], member["n"], other["n"]) == ("aov_ratio", 9, 6, 3)
    assert (member["value"], other["value"]) == pytest.approx((440 / 6, 30.0))
    assert row["value"] == pytest.approx(440 / 6 / 30)  # 2.4444: an AOV uplift of +144%
    assert row["ci_low"] == pytest.approx(rp / rq * math.exp(-Z * se_log))
    assert row["ci_high"] == pytest.approx(rp / rq * math.exp(Z * se_log))


def test_community_exit_rate(make_dataset):
    from lifelines import KaplanMeierFitter

    ds = make_dataset(FRAMES, as_of=AS_OF)
    out = community_exit_rate(ds, period="2024Q1")
    # first Q1 join -> next leave: 1 Jan 10 -> Feb 9 (30, left); 2 Feb 15 -> none (censored Jun 30: 136);
    # 3 Mar 1 -> leave Jul 1 is after as_of (censored: 121); 4 Jan 5 -> same day (0, left).
    # KM: S(0) = 3/4, S(30) = 3/4 * 2/3 = 1/2 -> exit within 90 days = 0.5, 2 at risk at day 90
    row = out.row(0, named=True)
    assert (row["metric"], row["segment"], row["n"], row["at_risk"]) == (
        "community_exit_rate_90d",
        "all",
        4,
        2,
    )
    assert row["value"] == pytest.approx(0.5)
    with np.errstate(all="ignore"):
        kmf = KaplanMeierFitter().fit([30, 136, 121, 0], [1, 0, 0, 1])
        ci = kmf.confidence_interval_.loc[:90].iloc[-1]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((1 - ci.iloc[1], 1 - ci.iloc[0]))
    # window 20: only user 4 has left -> 1/4
    assert community_exit_rate(ds, period="2024Q1", window=20)["value"].item() == pytest.approx(
        0.25
    )
    # past the longest follow-up (136 days) with the curve above 0 -> undefined
    assert community_exit_rate(ds, period="2024Q1", window=200)["value"].is_null().all()


def test_community_exit_rate_by_segment_and_empty(make_dataset):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    by = community_exit_rate(ds, period="2024Q1", by="channel")
    # a: users 1 (left day 30), 2 and 3 (censored 136, 121) -> S(90) = 2/3 -> 1/3;
    # b: user 4 (left day 0) -> S = 0 -> 1.0 (defined although nobody is at risk on day 90)
    assert by.select("segment", "n", "at_risk").rows() == [("a", 3, 2), ("b", 1, 0)]
    assert by["value"].to_list() == pytest.approx([1 / 3, 1.0])
    # no joins in the period: an empty frame with the headline columns
    with pytest.warns(EmptyPeriodWarning, match="2022Q1"):
        empty = community_exit_rate(ds, period="2022Q1")
    assert empty.is_empty() and empty.columns[:7] == [
        "metric", "segment", "period", "value", "ci_low", "ci_high", "n",
    ]  # fmt: skip


def test_missing_community_raises(make_dataset):
    frames = {k: v for k, v in FRAMES.items() if k != "community"}
    ds = make_dataset(frames, as_of=AS_OF)
    for f in (public_to_private_conversion, community_exit_rate):
        with pytest.raises(MissingTableError, match="community"):
            f(ds, period="2024Q1")
    with pytest.raises(MissingTableError, match="community"):
        member_comparison(ds, period="2024Q1", design="naive")


def test_does_not_mutate_input(make_dataset):
    before = {k: v.clone() for k, v in FRAMES.items()}
    ds = make_dataset(FRAMES, as_of=AS_OF)
    public_to_private_conversion(ds, period="2024Q1")
    member_comparison(ds, period="2024Q1", design="naive")
    community_exit_rate(ds, period="2024Q1")
    for k, v in FRAMES.items():
        assert v.equals(before[k])
