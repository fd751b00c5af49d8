"""Retention matrices: hand-worked cells on every engine, Wilson intervals, the survival mapping."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from lifelines import KaplanMeierFitter

from insights.metrics.lifetimes import _survival_counts as survival_counts
from insights.metrics.retention_matrix import MATRIX_COLUMNS, retention_matrix
from insights.stats.km import kaplan_meier, survival_at
from insights.stats.proportions import wilson_interval

d = dt.datetime
JAN1 = d(2024, 1, 1, 9)


def hand_frames() -> dict[str, pl.DataFrame]:
    """as_of 2024-04-30 (day 120 after 2024-01-01). Activity days after each first_seen.

    Jan cohort (bucket days 0..30): u1 (Jan 1): 0, 35, 70; u2 (Jan 10): 0, 5;
        u3 (Jan 20): 0, 65; u4 (Jan 31): 0, 89.
    Feb cohort (bucket days 31..59): u5 (Feb 1): 0, 30; u6 (Feb 15): 0.
    Apr cohort: u7 (Apr 20): 0.
    Rolling 30-day months: offsets u1 {0, 1, 2}, u2 {0}, u3 {0, 2}, u4 {0, 2}, u5 {0, 1}.
    """
    firsts = {
        1: JAN1,
        2: d(2024, 1, 10),
        3: d(2024, 1, 20, 23),
        4: d(2024, 1, 31),
        5: d(2024, 2, 1),
        6: d(2024, 2, 15),
        7: d(2024, 4, 20),
    }
    users = pl.DataFrame(
        {
            "user_id": list(firsts),
            "first_seen_at": list(firsts.values()),
            "category": ["a", "a", "b", "b", "a", "b", "b"],
            "platform": ["x", "y", "x", "x", "y", "y", "x"],
        }
    )
    act = [(1, 35), (1, 70), (2, 5), (3, 65), (4, 89), (5, 30)]
    views = pl.DataFrame(
        {
            "user_id": [u for u, _ in act],
            "started_at": [firsts[u] + dt.timedelta(days=k, hours=1) for u, k in act],
            "watch_seconds": [60.0] * len(act),
        }
    )
    return {"users": users, "views": views}


@pytest.fixture
def hand(make_dataset):
    src = hand_frames()
    before = {k: v.clone() for k, v in src.items()}
    yield make_dataset(src, as_of="2024-04-30")
    assert all(src[k].equals(before[k]) for k in src)  # inputs never mutated


def cells(m: pl.DataFrame, *cols: str) -> dict[tuple[str, int], tuple]:
    return {(r["cohort"], r["period"]): tuple(r[c] for c in cols) for r in m.iter_rows(named=True)}


def test_on_hand_worked(hand) -> None:
    m = retention_matrix(hand, kind="on", min_cell=1)
    assert m.columns == list(MATRIX_COLUMNS) and set(m["segment"]) == {"all"}
    got = cells(m, "retained", "n", "complete")
    # Jan: top period (120 - 0) // 30 = 4; complete while 30 + 30k + 29 <= 120 -> k <= 2
    assert [got[("2024-01", k)] for k in range(5)] == [
        (4, 4, True),
        (1, 4, True),
        (3, 4, True),
        (0, 4, False),
        (0, 4, False),
    ]
    # Feb: top (120 - 31) // 30 = 2; complete while 59 + 30k + 29 <= 120 -> k <= 1
    assert [got[("2024-02", k)] for k in range(3)] == [(2, 2, True), (1, 2, True), (0, 2, False)]
    # Apr: only period 0, not complete (a user first seen Apr 30 has days to come)
    assert got[("2024-04", 0)] == (1, 1, False)
    assert ("2024-04", 1) not in got and ("2024-03", 0) not in got  # no March users
    # mean row = pooled complete cells: k0 (4 + 2) / 6, k1 (1 + 1) / 6, k2 3 / 4, k3/k4 none;
    # never final here: Apr's k0 is still open and Feb/Apr have later periods to come
    mean = [got[("mean", k)] for k in range(5)]
    assert mean == [(6, 6, False), (2, 6, False), (3, 4, False), (0, 0, False), (0, 0, False)]
    # once every cohort's cell of a period is final, so is the mean cell: at day 181 Apr's
    # k1 has ended (120 + 59 <= 181), Feb's k3 has not (59 + 119 <= 181 but Apr's k3: no)
    later = cells(retention_matrix(hand.with_as_of("2024-06-30"), kind="on", min_cell=1),
                  "retained", "n", "complete")  # fmt: skip
    assert later[("mean", 0)] == (7, 7, True) and later[("mean", 1)] == (2, 7, True)
    assert later[("mean", 3)][2] is False
    row = m.filter((pl.col("cohort") == "2024-01") & (pl.col("period") == 1)).row(0, named=True)
    assert row["cohort_start"] == dt.date(2024, 1, 1)
    assert (row["day_from"], row["day_to"], row["value"]) == (30, 59, 0.25)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(wilson_interval(1, 4))
    assert m.filter(pl.col("cohort") == "mean")["cohort_start"].is_null().all()
    assert m["cohort"].to_list()[-5:] == ["mean"] * 5  # mean rows last


def test_unbounded_hand_worked(hand, make_dataset) -> None:
    """On or after up to a horizon, worked by hand (rolling 30-day months, as_of day 120).

    Return periods: Jan cohort u1 {0, 1, 2}, u2 {0}, u3 {0, 2}, u4 {0, 2}; Feb u5 {0, 1},
    u6 {0}; Apr u7 {0}. Cell (c, k) with horizon H = entries of c with a return in some
    period k .. H - 1; final when period H - 1 has ended for c's last possible entry.
    """
    # no horizon: returns up to as_of, so every cell may still grow -> all provisional
    m = retention_matrix(hand, kind="unbounded", min_cell=1)
    got = cells(m, "retained", "complete")
    assert [got[("2024-01", k)] for k in range(5)] == [(4, False), (3, False), (3, False),
                                                       (0, False), (0, False)]  # fmt: skip
    assert [got[("2024-02", k)][0] for k in range(3)] == [2, 1, 0]
    assert [cells(m, "n")[("mean", k)] for k in range(3)] == [(0,), (0,), (0,)]  # no final cell
    # H = 2: Jan k0 4 (all), k1 1 (u1 only: u3/u4 return in period 2, beyond the horizon);
    # final: Jan 30 + 59 = 89 <= 120, Feb 59 + 59 = 118 <= 120; Apr 119 + 59 > 120
    two = cells(retention_matrix(hand, kind="unbounded", horizon=2, min_cell=1),
                "retained", "n", "complete")  # fmt: skip
    assert [two[("2024-01", k)] for k in range(2)] == [(4, 4, True), (1, 4, True)]
    assert [two[("2024-02", k)] for k in range(2)] == [(2, 2, True), (1, 2, True)]
    assert two[("2024-04", 0)] == (1, 1, False) and ("2024-04", 1) not in two
    assert [two[("mean", k)] for k in range(2)] == [(6, 6, False), (2, 6, False)]
    # H = 3: Jan k1 = returns in 1..2 = u1, u3, u4; final (30 + 89 = 119 <= 120); Feb not
    three = cells(retention_matrix(hand, kind="unbounded", horizon=3, min_cell=1),
                  "retained", "complete")  # fmt: skip
    assert [three[("2024-01", k)] for k in range(3)] == [(4, True), (3, True), (3, True)]
    assert [three[("2024-02", k)] for k in range(3)] == [(2, False), (1, False), (0, False)]
    # later data: u2 (first seen Jan 10) back on Jul 1, 173 days on = period 5. The final
    # H = 3 cells keep their values; the provisional no-horizon cells grow (Jan k1: 3 -> 4).
    src = hand_frames()
    extra = pl.DataFrame({"user_id": [2], "started_at": [d(2024, 7, 1)], "watch_seconds": [9.0]})
    src["views"] = pl.concat([src["views"], extra])
    later = make_dataset(src, as_of="2024-07-31")
    again = cells(retention_matrix(later, kind="unbounded", horizon=3, min_cell=1),
                  "retained", "complete")  # fmt: skip
    assert [again[("2024-01", k)] for k in range(3)] == [(4, True), (3, True), (3, True)]
    grown = cells(retention_matrix(later, kind="unbounded", min_cell=1), "retained")
    assert grown[("2024-01", 1)] == (4,) and got[("2024-01", 1)] == (3, False)


def test_mean_row_is_n_weighted_mean_of_complete_cells(hand) -> None:
    m = retention_matrix(hand, kind="on", cohort_unit="week", unit="week", min_cell=1)
    body = m.filter(pl.col("cohort") != "mean")
    for k, mean_rate in m.filter(pl.col("cohort") == "mean").select("period", "value").iter_rows():
        done = body.filter((pl.col("period") == k) & pl.col("complete"))
        if done.is_empty():
            assert mean_rate is None
            continue
        weighted = (done["value"] * done["n"]).sum() / done["n"].sum()
        assert mean_rate == pytest.approx(weighted)
    # weekly rolling: u1 (Mon 2024-01-01, ISO week 2024-W01) back on days 35 and 70: weeks 5, 10
    # (u2, first seen Jan 10, is in W02)
    weekly = cells(m, "retained", "n")
    assert weekly[("2024-W01", 5)] == (1, 1) and weekly[("2024-W01", 10)] == (1, 1)
    assert weekly[("2024-W02", 0)] == (1, 1) and weekly[("2024-W02", 1)] == (0, 1)


def test_wilson_intervals_match_reference(hand) -> None:
    m = retention_matrix(hand, kind="on", alpha=0.1, min_cell=1)
    for r in m.filter(pl.col("n") > 0).iter_rows(named=True):
        lo, hi = wilson_interval(r["retained"], r["n"], alpha=0.1)
        assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))
        assert r["value"] == pytest.approx(r["retained"] / r["n"])


def test_calendar_windows(hand) -> None:
    # calendar months after the start's month: u1 Jan/Feb/Mar -> 0, 1, 2; u2 Jan 15 -> 0;
    # u3 Mar 25 -> 2; u4 Apr 29 -> 3; u5 Mar 2 -> 1 (Feb cohort)
    m = retention_matrix(hand, kind="on", windows="calendar", min_cell=1)
    got = cells(m, "retained", "complete", "day_from")
    assert [got[("2024-01", k)][:2] for k in range(4)] == [
        (4, True),
        (1, True),
        (2, True),
        (1, True),
    ]
    assert [got[("2024-02", k)][:2] for k in range(3)] == [(2, True), (1, True), (0, True)]
    assert got[("2024-01", 1)][2] is None
    early = retention_matrix(
        hand.with_as_of("2024-04-29"), kind="on", windows="calendar", min_cell=1
    )
    # April is not over: u4's Apr 29 visit counts, the cell is flagged
    assert cells(early, "retained", "complete")[("2024-01", 3)] == (1, False)


def test_brackets(hand) -> None:
    spans = [(1, 7), (8, 30), (31, 90)]
    m = retention_matrix(hand, kind="bracket", brackets=spans, min_cell=1)
    got = cells(m, "retained", "n", "complete", "day_from", "day_to")
    # Jan: u2 day 5 -> b0; u1 35/70, u3 65, u4 89 -> b2. Complete: 30 + hi <= 120 for all.
    assert [got[("2024-01", k)] for k in range(3)] == [
        (1, 4, True, 1, 7),
        (0, 4, True, 8, 30),
        (3, 4, True, 31, 90),
    ]
    # Feb: u5 day 30 -> b1; b2 incomplete (59 + 90 > 120)
    assert [got[("2024-02", k)][:3] for k in range(3)] == [
        (0, 2, True),
        (1, 2, True),
        (0, 2, False),
    ]
    # Apr (first day 91): bracket 2 starts after as_of for everyone -> not listed
    assert ("2024-04", 2) not in got and got[("2024-04", 1)][:3] == (0, 1, False)


def test_by_gives_one_matrix_per_segment(hand) -> None:
    m = retention_matrix(hand, kind="on", by="category", min_cell=1)
    assert m.columns == list(MATRIX_COLUMNS)
    a = cells(m.filter(pl.col("segment") == "a"), "retained", "n")
    b = cells(m.filter(pl.col("segment") == "b"), "retained", "n")
    assert a[("2024-01", 1)] == (1, 2) and b[("2024-01", 2)] == (2, 2)  # a = u1, u2; b = u3, u4
    assert a[("mean", 0)] == (3, 3) and b[("mean", 0)] == (3, 3)  # Jan + Feb complete cells
    two = retention_matrix(hand, kind="on", by=["category", "platform"], min_cell=1)
    assert set(two["segment"].unique()) == {"a · x", "a · y", "b · x", "b · y"}


def test_small_cells_suppressed_not_dropped(hand) -> None:
    full = retention_matrix(hand, kind="on", min_cell=1)
    m = retention_matrix(hand, kind="on", min_cell=3)
    assert m.height == full.height  # nothing dropped
    small = m.filter(pl.col("n").is_between(1, 2))
    assert small.height > 0 and small["suppressed"].all()
    assert (
        small.select(pl.col("value", "ci_low", "ci_high", "retained").is_null().all()).row(0)
        == (True,) * 4
    )
    # a cell of n >= 3 is hidden exactly when its retained users, or those not retained,
    # number 1 or 2 (worked from the unsuppressed counts)
    counts = cells(full, "retained", "n")
    flags = dict(zip(zip(m["cohort"], m["period"], strict=True), m["suppressed"], strict=True))
    for key, (retained, n, *_) in counts.items():
        if n >= 3 or n == 0:
            assert flags[key] == (1 <= retained <= 2 or 1 <= n - retained <= 2), key
    assert any(n >= 3 and flags[k] for k, (_, n, *_) in counts.items())  # the new rule bites
    assert m.filter(pl.col("n") == 0)["value"].is_null().all()  # empty mean cells: no rate
    # the mean row pools the small complete cells too: k1 = (1 + 1) / 6, itself 2 users: hidden
    assert cells(full, "retained", "n")[("mean", 1)] == (2, 6)
    assert cells(m, "retained", "n")[("mean", 1)] == (None, 6)


def orders_frames() -> dict[str, pl.DataFrame]:
    """u1 orders Jan 5 and Feb 20 (+46); u2 Jan 20, Jan 25 and a refunded Mar 1; u5 Feb 10."""
    src = hand_frames()
    rows = [
        (1, d(2024, 1, 5), False),
        (1, d(2024, 2, 20), False),
        (2, d(2024, 1, 20), False),
        (2, d(2024, 1, 25), False),
        (2, d(2024, 3, 1), True),
        (5, d(2024, 2, 10), False),
    ]
    src["orders"] = pl.DataFrame(
        {
            "order_id": list(range(len(rows))),
            "user_id": [r[0] for r in rows],
            "ordered_at": [r[1] for r in rows],
            "amount": [10.0] * len(rows),
            "refunded": [r[2] for r in rows],
        }
    )
    return src


def test_first_order_and_recurring_cohorts(make_dataset) -> None:
    ds = make_dataset(orders_frames(), as_of="2024-04-30")
    first = retention_matrix(ds, kind="on", activity="order", origin="first_order", min_cell=1)
    got = cells(first, "retained", "n")
    # Jan first orders: u1 (Jan 5), u2 (Jan 20); u1 again on day 46 -> k1; u2's Mar 1 order is refunded
    assert got[("2024-01", 0)] == (2, 2) and got[("2024-01", 1)] == (1, 2)
    assert got[("2024-01", 2)] == (0, 2) and got[("2024-02", 0)] == (1, 1)
    # recurring: u1 enters Jan (Jan 5) and Feb (Feb 20); u5 enters Feb
    rec = retention_matrix(
        ds, kind="on", activity="order", origin="first_order", recurring=True, min_cell=1
    )
    got = cells(rec, "retained", "n")
    assert got[("2024-01", 1)] == (1, 2) and got[("2024-02", 0)] == (2, 2)
    assert got[("2024-02", 1)] == (0, 2)
    # acquisition cohorts with order returns: Jan users 1-4, of whom u1 and u2 order in month 0
    acq = retention_matrix(ds, kind="on", activity="orders", min_cell=1)
    assert cells(acq, "retained", "n")[("2024-01", 0)] == (2, 4)


def test_community_join_origin(make_dataset) -> None:
    """u1 joins Jan 5 (back Feb 9, day 35); u2 joins Feb 1 (leaves; no return); u3 never joins."""
    src = hand_frames()
    src["community"] = pl.DataFrame(
        {
            "user_id": [1, 2, 2],
            "at": [d(2024, 1, 5), d(2024, 2, 1), d(2024, 2, 3)],
            "action": ["join", "join", "leave"],
        }
    )
    ds = make_dataset(src, as_of="2024-04-30")
    m = retention_matrix(ds, kind="on", origin="community_join", min_cell=1)
    got = cells(m, "retained", "n")
    # u1's views: days 35 and 70 after Jan 1 = 31 and 66 days after the Jan 5 join -> k1, k2;
    # the join is not a return of activity="any" (its first day, Jan 1, is before the origin)
    assert [got[("2024-01", k)] for k in range(3)] == [(0, 1), (1, 1), (1, 1)]
    # u2 joins Feb 1 and is not active after it; u5 (first seen Feb 1) never joins
    assert [got[("2024-02", k)] for k in range(2)] == [(0, 1), (0, 1)]
    assert set(m["cohort"]) == {"2024-01", "2024-02", "mean"}
    # with community events as returns, each join day is a return in period 0
    joins = retention_matrix(
        ds, kind="on", origin="community_join", activity=["views", "community"], min_cell=1
    )
    assert cells(joins, "retained")[("2024-01", 0)] == (1,)
    assert cells(joins, "retained")[("2024-02", 0)] == (1,)


def test_period_keeps_only_its_entries(hand) -> None:
    m = retention_matrix(hand, kind="on", cohort_unit="quarter", period="2024Q1", min_cell=1)
    assert set(m["cohort"]) == {"2024Q1", "mean"}
    assert cells(m, "n")[("2024Q1", 0)] == (6,)
    half = retention_matrix(
        hand, kind="on", cohort_unit="month", period=("2024-01-01", "2024-01-15"), min_cell=1
    )
    # bucket cut at Jan 15: complete while 14 + 30k + 29 <= 120 -> k <= 2 (u1 and u2 only)
    got = cells(half, "n", "complete")
    assert got[("2024-01", 2)] == (2, True) and got[("2024-01", 3)] == (2, False)
    # starts from Jan 20 on: nobody in the Jan cohort can reach period 4 ((120 - 19) // 30 = 3)
    late = retention_matrix(hand, kind="on", period=("2024-01-20", "2024-02-29"), min_cell=1)
    jan = late.filter(pl.col("cohort") == "2024-01")
    assert jan["period"].to_list() == [0, 1, 2, 3] and jan["n"].unique().to_list() == [2]


def test_bad_input_messages(hand) -> None:
    with pytest.raises(ValueError, match="kind='weekly'"):
        retention_matrix(hand, kind="weekly")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="by=\\['nope'\\]"):
        retention_matrix(hand, by="nope")
    with pytest.raises(ValueError, match="recurring=True"):
        retention_matrix(hand, recurring=True)
    with pytest.raises(ValueError, match="brackets"):
        retention_matrix(hand, kind="bracket")
    with pytest.raises(ValueError, match="brackets"):
        retention_matrix(hand, kind="on", brackets=[(1, 7)])
    with pytest.raises(ValueError, match="activity"):
        retention_matrix(hand, activity="clicks")
    with pytest.raises(ValueError, match="origin"):
        retention_matrix(hand, origin="first_join")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="horizon"):
        retention_matrix(hand, horizon=0)
    with pytest.raises(ValueError, match="week_start='friday'"):
        retention_matrix(hand, week_start="friday")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="windows='hourly'"):
        retention_matrix(hand, windows="hourly")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no cohort entries"):
        retention_matrix(hand.with_as_of("2023-06-30"))
    from insights.data.dataset import MissingTableError

    with pytest.raises(MissingTableError, match="orders"):
        retention_matrix(hand, activity="order")


def random_frames(seed: int = 3, n: int = 300) -> dict[str, pl.DataFrame]:
    """Users first seen in 2024Q1, each active on a few random days within 200 days, then gone."""
    rng = np.random.default_rng(seed)
    first = [JAN1 + dt.timedelta(days=int(x)) for x in rng.integers(0, 90, n)]
    users = pl.DataFrame({"user_id": np.arange(n), "first_seen_at": first})
    uid, when = [], []
    for u in range(n):
        for k in rng.integers(0, 200, rng.integers(0, 6)):
            uid.append(u)
            when.append(first[u] + dt.timedelta(days=int(k), hours=2))
    views = pl.DataFrame({"user_id": uid, "started_at": when, "watch_seconds": [30.0] * len(uid)})
    return {"users": users, "views": views}


def test_unbounded_without_censoring_equals_empirical_survival(make_dataset) -> None:
    src = random_frames()
    ds = make_dataset(src, as_of="2025-12-31")  # everyone observed long after their last visit
    m = retention_matrix(
        ds, kind="unbounded", cohort_unit="quarter", unit="day", horizon=220, min_cell=1
    )
    body = m.filter(pl.col("cohort") == "2024Q1").sort("period")
    assert body["complete"].all() and body["n"].unique().to_list() == [300]
    # independent: last active day index per user from the raw rows (day 0 = first_seen)
    u, v = src["users"], src["views"]
    last = (
        u.join(v, on="user_id", how="left")
        .with_columns(
            ((pl.col("started_at").dt.date() - pl.col("first_seen_at").dt.date()).dt.total_days())
            .fill_null(0)
            .alias("k")
        )
        .group_by("user_id")
        .agg(pl.col("k").max())["k"]
        .to_numpy()
    )
    empirical = np.array([(last >= k).mean() for k in range(220)])
    np.testing.assert_allclose(body["value"].to_numpy(), empirical, rtol=0, atol=1e-12)
    # lifelines on the same lifetimes (all observed): S(N) = P(T > N) with T = last + 1
    kmf = KaplanMeierFitter().fit(last + 1, np.ones_like(last))
    km_lifelines = kmf.survival_function_at_times(list(range(220))).to_numpy()
    np.testing.assert_allclose(body["value"].to_numpy(), km_lifelines, atol=1e-12)
    # and our survival machinery: a churn gap longer than any gap -> L = last day, no censoring
    counts = survival_counts(ds, churn_gap=250)
    assert counts.filter(pl.col("event") == 0).is_empty()
    ours = survival_at(kaplan_meier(counts), t=list(range(220)))["survival"].to_numpy()
    np.testing.assert_allclose(body["value"].to_numpy(), ours, atol=1e-12)


def test_simulated_data_runs_on_both_engines(sim_dir) -> None:
    import duckdb

    from insights.data import load_dataset

    ds = load_dataset(sim_dir)
    kw = dict(kind="on", period="2024", horizon=6)
    a = retention_matrix(ds, **kw)
    con = duckdb.connect()
    tables = {n: con.from_arrow(pl.scan_parquet(sim_dir / f"{n}.parquet").collect().to_arrow())
              for n in ("users", "views", "interactions", "orders")}  # fmt: skip
    ds_duck = load_dataset(**tables, as_of=ds.as_of)
    b = retention_matrix(ds_duck, **kw)
    assert a.equals(b)
    assert a.filter(pl.col("period") == 0)["value"].drop_nulls().min() == 1.0  # day 0 counts


FINAL_CASES = [
    dict(kind="on"),
    dict(kind="on", windows="calendar"),
    dict(kind="on", windows="24h", cohort_unit="week", unit="week", week_start="sunday"),
    dict(kind="unbounded", horizon=3),
    dict(kind="unbounded", horizon=4, windows="calendar"),
    dict(kind="unbounded"),  # no horizon: provisional everywhere
    dict(kind="bracket", brackets=[(1, 7), (8, 30), (31, 90)]),
    dict(kind="unbounded", brackets=[(1, 7), (8, 30), (31, 90)]),
    dict(kind="bracket", brackets=[(1, 1), (2, 3), (4, 7)], windows="calendar", unit="week",
         cohort_unit="week", week_start="sunday"),
]  # fmt: skip


def test_complete_cells_are_final_on_simulated_data(sim_dir) -> None:
    """Complete means final: every cell (and mean cell) flagged complete with as_of
    2023-06-30 equals the same cell computed with all the data (to 2024-12-31), for every
    kind, on the simulator's 2023H1 cohorts (20k users, seed 7)."""
    from insights.data import load_dataset

    ds = load_dataset(sim_dir)
    early = ds.with_as_of("2023-06-30")
    keys = ["segment", "cohort", "period"]
    for case in FINAL_CASES:
        kw = dict(period=("2023-01-01", "2023-06-30"), min_cell=1, **case)
        a = retention_matrix(early, **kw)  # type: ignore[arg-type]
        b = retention_matrix(ds, **kw)  # type: ignore[arg-type]
        done = a.filter("complete").join(b, on=keys, how="left", suffix="_all")
        assert done["n_all"].null_count() == 0, case
        assert done["retained"].to_list() == done["retained_all"].to_list(), case
        assert done["n"].to_list() == done["n_all"].to_list(), case
        if case != {"kind": "unbounded"}:  # the test has teeth: some cells are final early
            assert done.height > 0, case
    # the defect this guards against: "on or after" counted up to as_of grows with later data
    # (2023-03, period 2: 53.6% at 2023-06-30, 65.6% with all data), so it is never complete
    kw = dict(kind="unbounded", period=("2023-01-01", "2023-06-30"), min_cell=1)
    a, b = retention_matrix(early, **kw), retention_matrix(ds, **kw)  # type: ignore[arg-type]
    cell = (pl.col("cohort") == "2023-03") & (pl.col("period") == 2)
    assert a.filter(cell)["retained"].item() < b.filter(cell)["retained"].item()
    assert not a["complete"].any() and not b["complete"].any()
