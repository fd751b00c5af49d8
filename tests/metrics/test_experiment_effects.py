"""experiment_effects: hand-worked outcomes on both engines, simulator truth, Holm, SRM."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from insights.data import load_dataset
from insights.data.dataset import MissingTableError
from insights.metrics.experiments import experiment_effects
from insights.stats.proportions import newcombe_diff_interval

T0 = dt.datetime(2024, 1, 1, 9)


@pytest.fixture(autouse=True)
def _show_small_arms():
    """These hand-worked examples have 4-unit arms: show them (suppression: tests/report/test_small_groups.py)."""
    import insights as ins

    with ins.options(min_cell=1):
        yield


def _at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2024, 1, 1, hour) + dt.timedelta(days=day)


def frames(allocation: bool = False) -> dict[str, pl.DataFrame]:
    """8 users seen on day 0, assigned on day 1 (a = 1); control = even ids."""
    ids = list(range(8))
    exps = pl.DataFrame(
        {
            "user_id": ids,
            "experiment": "plan",
            "arm": ["control", "treatment"] * 4,
            "assigned_at": [_at(1, 10)] * 8,
        }
    )
    if allocation:
        exps = exps.with_columns(
            allocation=pl.when(pl.col("arm") == "control").then(0.25).otherwise(0.75)
        )
    other = pl.DataFrame(
        {"user_id": [0], "experiment": "other", "arm": ["x"], "assigned_at": [_at(1)]}
    )
    orders = pl.DataFrame(
        {
            "order_id": list(range(1, 11)),
            "user_id": [0, 0, 1, 1, 3, 5, 5, 4, 7, 6],
            "ordered_at": [_at(d) for d in (0, 5, 3, 10, 40, 2, 2, 31, 1, 3)],
            "amount": [99.0, 20.0, 10.0, 50.0, 30.0, 10.0, 30.0, 40.0, 20.0, 70.0],
            "refunded": [False] * 9 + [True],
        }
    )
    views = pl.DataFrame(
        {"user_id": [0, 1, 2, 3], "started_at": [_at(2)] * 4, "watch_seconds": [60.0] * 4}
    )
    inter = pl.DataFrame({"user_id": [1, 0], "at": [_at(2, 13), _at(50)], "kind": ["comment"] * 2})
    community = pl.DataFrame(
        {"user_id": [2, 3, 1], "at": [_at(10), _at(40), _at(0)], "action": "join", "kind": "wecom"}
    )
    return {
        "users": pl.DataFrame({"user_id": ids, "first_seen_at": [T0] * 8}),
        "experiments": pl.concat([exps, other], how="diagonal"),
        "orders": orders,
        "views": views,
        "interactions": inter,
        "community": community,
    }


OUTCOMES = [
    "order_30d",
    "first_purchase_30d",
    "repurchase_60d",
    "join_30d",
    "interaction_rate",
    "aov",
]
# (treatment x, n, control x, n) worked out by hand from frames()
EXPECTED = {
    # 30-day windows are days a .. a + 29 (= days 1 .. 30), as in the KPIs (metrics._windows)
    "order_30d": (3, 4, 1, 4),  # T: 1, 5, 7 (day 1 = a counts); C: 0 (day 5); 4 (day 31) is late
    "first_purchase_30d": (3, 4, 0, 3),  # user 0 bought before a: not a new buyer; 4 too late
    "repurchase_60d": (1, 4, 0, 2),  # user 1: days 3 and 10; user 5's two orders are one day
    "join_30d": (0, 4, 1, 4),  # user 1 joined before a, user 3 after a + 30
    "interaction_rate": (1, 2, 0, 2),  # viewers 1, 3 vs 0, 2; user 0 interacts on day 50
}


def test_hand_worked_outcomes(make_dataset) -> None:
    ds = make_dataset(frames(), as_of="2024-06-30")
    res = experiment_effects(ds, experiment="plan", outcomes=OUTCOMES, survival=False)
    s = res.summary
    assert s["outcome"].to_list() == OUTCOMES
    assert res.control == "control" and s["arm"].unique().to_list() == ["treatment"]
    for name, (x1, n1, x0, n0) in EXPECTED.items():
        row = s.filter(pl.col("outcome") == name).row(0, named=True)
        assert (row["n_arm"], row["n_control"]) == (n1, n0), name
        assert row["value_arm"] == pytest.approx(x1 / n1) and row["value_control"] == pytest.approx(
            x0 / n0
        ), name
        lo, hi = newcombe_diff_interval(x1, n1, x0, n0)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi)), name
    # AOV on paid orders in days a..a+59: T (10+50+30+10+30+20)/6 = 25, C (20+40)/2 = 30
    aov = s.filter(pl.col("outcome") == "aov").row(0, named=True)
    assert (aov["value_arm"], aov["value_control"]) == pytest.approx((25.0, 30.0))
    # delta-method SE with users as clusters, by hand: T users (y, x) = (60,2), (30,1), (40,2), (20,1)
    y, x = np.array([60.0, 30.0, 40.0, 20.0]), np.array([2.0, 1.0, 2.0, 1.0])
    se_t = np.sqrt(4 / 3 * ((y - 25 * x) ** 2).sum()) / x.sum()
    se_c = np.sqrt(2 / 1 * ((np.array([20.0, 40.0]) - 30 * np.ones(2)) ** 2).sum()) / 2
    half = 1.959964 * np.hypot(se_t, se_c)
    assert (aov["ci_low"], aov["ci_high"]) == pytest.approx((-5 - half, -5 + half), rel=1e-5)
    # Holm over the outcomes, by hand; MDE line at 80% power
    p = s["p_value"].to_numpy()
    ok = ~np.isnan(p)
    q, m = np.sort(p[ok]), ok.sum()
    holm_sorted = np.maximum.accumulate(np.minimum(1, (m - np.arange(m)) * q))
    got = s["p_adjusted"].to_numpy()[ok][np.argsort(p[ok], kind="stable")]
    np.testing.assert_allclose(got, holm_sorted)
    assert (s["significant"] == (s["p_adjusted"] <= 0.05)).all()
    row = s.filter(pl.col("outcome") == "order_30d").row(0, named=True)
    # control share 1/4: SE of the difference sqrt(2 * 0.25 * 0.75 / 4)
    assert row["mde"] == pytest.approx(2.801585 * np.sqrt(0.1875 * 0.5), rel=1e-6)


# One definition per metric id (issue 15, point 6): 8 users acquired and assigned on
# 2024-01-10 (a = the acquisition day); group = arm, so the KPIs can split by it.
#   user (arm)  paid order days since acquisition        first_purchase_30d  repurchase_60d
#   1 (T)       29                                        yes (day 29)        buyer, no
#   2 (C)       30                                        no (day 30)         buyer, no
#   3 (T)       0 (23:00, same day)                       yes                 buyer, no
#   4 (C)       -1 (clock skew, 23:00 the day before)     yes (day 0)         buyer, no
#   5 (T)       -                                         no                  -
#   6 (C)       29, 45                                    yes                 yes (16 days later)
#   7 (T)       2, 62                                     yes                 yes (60 days later)
#   8 (C)       31, 40                                    no                  yes
# first_purchase_30d: T 3/4, C 2/4; repurchase_60d: T 1/3, C 2/4 (users 4, 6, 8 and 2).
WINDOW_DAYS = {1: [29], 2: [30], 3: [0], 4: [-1], 6: [29, 45], 7: [2, 62], 8: [31, 40]}


def window_frames() -> dict[str, pl.DataFrame]:
    t0 = dt.datetime(2024, 1, 10, 20)
    ids = list(range(1, 9))
    arm = ["treatment" if u % 2 else "control" for u in ids]
    at = [t0 + dt.timedelta(days=d, hours=3) for days in WINDOW_DAYS.values() for d in days]
    buyers = [u for u, days in WINDOW_DAYS.items() for _ in days]
    return {
        "users": pl.DataFrame({"user_id": ids, "first_seen_at": [t0] * 8, "group": arm}),
        "experiments": pl.DataFrame(
            {
                "user_id": ids,
                "experiment": "same_day",
                "arm": arm,
                "assigned_at": [t0 + dt.timedelta(minutes=5)] * 8,
            }
        ),
        "orders": pl.DataFrame(
            {
                "order_id": list(range(len(buyers))),
                "user_id": buyers,
                "ordered_at": at,
                "amount": [10.0] * len(buyers),
            }
        ),
    }


def test_window_days_match_the_kpis(make_dataset) -> None:
    """Day 29 counts in the KPI and in the experiment, day 30 in neither; same rates."""
    from insights.metrics.purchase import first_purchase_conversion, repurchase_rate

    ds = make_dataset(window_frames(), as_of="2024-06-30")
    kpi = first_purchase_conversion(ds, period="2024Q1", by="group")
    rep = repurchase_rate(ds, period="2024Q1", by="group")
    got = experiment_effects(
        ds, experiment="same_day", outcomes=["first_purchase_30d", "repurchase_60d"],
        survival=False,
    ).summary  # fmt: skip
    hand = {"first_purchase_30d": (3 / 4, 2 / 4, 4, 4), "repurchase_60d": (1 / 3, 2 / 4, 3, 4)}
    for outcome, table in [("first_purchase_30d", kpi), ("repurchase_60d", rep)]:
        row = got.filter(pl.col("outcome") == outcome).row(0, named=True)
        want = dict(table.select("segment", "value").iter_rows())
        assert (row["value_arm"], row["value_control"]) == pytest.approx(hand[outcome][:2])
        assert (want["treatment"], want["control"]) == pytest.approx(hand[outcome][:2])
        assert (row["n_arm"], row["n_control"]) == hand[outcome][2:]
        assert set(table["metric"]) == {outcome}
    # users 1 (day 29) and 2 (day 30) alone: 1/1 and 0/1 in both
    two = make_dataset(
        {k: v.filter(pl.col("user_id").is_in([1, 2])) for k, v in window_frames().items()},
        as_of="2024-06-30",
    )
    row = experiment_effects(
        two, experiment="same_day", outcomes=["first_purchase_30d", "order_30d"], survival=False
    ).summary
    assert row["value_arm"].to_list() == [1.0, 1.0] and row["value_control"].to_list() == [0, 0]
    kpi2 = first_purchase_conversion(two, period="2024Q1", by="group")
    assert dict(kpi2.select("segment", "value").iter_rows()) == {"control": 0.0, "treatment": 1.0}


def test_window_observability(make_dataset) -> None:
    """A unit counts for an N-day outcome only when a + N <= as_of day, as in the KPI."""
    from insights.metrics.purchase import first_purchase_conversion

    # a = 2024-01-10: a + 30 = 2024-02-09. as_of 2024-02-09: observable; 2024-02-08: not
    for as_of, n in [("2024-02-09", 4), ("2024-02-08", 0)]:
        ds = make_dataset(window_frames(), as_of=as_of)
        row = experiment_effects(
            ds, experiment="same_day", outcomes=["first_purchase_30d"], survival=False
        ).summary.row(0, named=True)
        assert (row["n_arm"], row["n_control"]) == (n, n)
        if n:
            kpi = first_purchase_conversion(ds, period="2024Q1", by="group")
            assert kpi["n"].to_list() == [n, n]


def test_refunds_srm_and_allocation(make_dataset) -> None:
    ds = make_dataset(frames(allocation=True), as_of="2024-06-30")
    res = experiment_effects(
        ds, experiment="plan", outcomes=["order_30d"], survival=False, include_refunded=True
    )
    assert res.summary["value_control"].item() == pytest.approx(
        2 / 4
    )  # user 6's refunded order counts (and user 0's); user 4's on day 31 = a + 30 does not
    assert res.split_source.startswith("recorded")
    assert res.srm.expected == pytest.approx((2.0, 6.0))
    assert res.srm.chi2 == pytest.approx(2**2 / 2 + 2**2 / 6)
    assert res.arms["n"].to_list() == [4, 4]
    equal = experiment_effects(
        make_dataset(frames(), as_of="2024-06-30"),
        experiment="plan",
        outcomes=["order_30d"],
        survival=False,
    )
    assert equal.srm.chi2 == pytest.approx(0.0) and equal.split_source == "equal"


def test_where_keeps_some_units(make_dataset) -> None:
    # users 0..3: control 0, 2 and treatment 1, 3; 30-day orders: 0 (day 5) and 1 (day 3) -> 1/2 each
    ds = make_dataset(frames(), as_of="2024-06-30")
    res = experiment_effects(
        ds, experiment="plan", outcomes=["order_30d"], survival=False,
        where={"user_id": [0, 1, 2, 3]},
    )  # fmt: skip
    assert res.arms["n"].to_list() == [2, 2]
    row = res.summary.row(0, named=True)
    assert (row["segment"], row["n_arm"], row["n_control"]) == ("all", 2, 2)
    assert (row["value_arm"], row["value_control"]) == pytest.approx((0.5, 0.5))
    curves = experiment_effects(
        ds, experiment="plan", outcomes=["retention_d7"], where={"user_id": [0, 1, 2, 3]}
    ).curves
    assert curves is not None and curves.summary["n"].to_list() == [2, 2]


def test_bad_input(make_dataset) -> None:
    ds = make_dataset(frames(), as_of="2024-06-30")
    with pytest.raises(ValueError, match="not in the experiments table.*plan"):
        experiment_effects(ds, experiment="nope")
    with pytest.raises(ValueError, match="outcomes: unknown outcome 'd7'"):
        experiment_effects(ds, experiment="plan", outcomes=["d7"])
    with pytest.raises(ValueError, match="control must be one of"):
        experiment_effects(
            ds, experiment="plan", outcomes=["order_30d"], control="placebo", survival=False
        )
    no_comm = make_dataset(
        {k: v for k, v in frames().items() if k != "community"}, as_of="2024-06-30"
    )
    with pytest.raises(MissingTableError, match="community"):
        experiment_effects(no_comm, experiment="plan", outcomes=["join_30d"], survival=False)


# primary outcome of each simulated experiment and the manifest key holding its truth
PRIMARY = {
    "newcomer_7day_plan": ("retention_d30", "true_d30"),
    "comment_vs_danmaku_lottery": ("retention_d30", "true_d30"),
    "return_benefit_pack": ("order_90d", "repurchase_90d"),
    "private_domain_invite": ("join_30d", "join_30d"),
}


@pytest.fixture(scope="module")
def sim(sim_dir):
    return load_dataset(sim_dir), json.loads((sim_dir / "manifest.json").read_text())["experiments"]


def test_simulator_truth_covered(sim) -> None:
    """Each experiment's primary effect: the CI covers the manifest's true difference.

    The fixture is one fixed draw: five 95% intervals all cover only ~77% of the time,
    and with seed 7 the return-pack 95% interval misses (its realised control share is
    30/257 against a true 0.15; z = 2.2). So this test uses 99% intervals; the 95%
    coverage over repeated simulations is measured in
    ``benchmarks/bench_experiment_coverage.py``.
    """
    ds, manifest = sim
    for name, (outcome, key) in PRIMARY.items():
        truth = manifest[name]["true_effect"][key]
        res = experiment_effects(
            ds,
            experiment=name,
            outcomes=[outcome],
            alpha=0.01,
            include_refunded=True,
            survival=False,
        )
        assert res.summary.height == len(truth) - 1
        for row in res.summary.iter_rows(named=True):
            true = truth[row["arm"]] - truth[row["control"]]
            assert row["ci_low"] <= true <= row["ci_high"], (name, row["arm"], true, row)
        assert res.srm.p_value > 0.001


def test_simulator_newcomer_hazard_ratio_and_95(sim) -> None:
    """Newcomer plan at 95%: D30 difference and the Cox HR over days 0-30 (true 0.8)."""
    ds, manifest = sim
    truth = manifest["newcomer_7day_plan"]["true_effect"]
    res = experiment_effects(
        ds, experiment="newcomer_7day_plan", outcomes=["retention_d30"], hr_horizon=30
    )
    row = res.summary.row(0, named=True)
    assert (
        row["ci_low"]
        <= truth["true_d30"]["treatment"] - truth["true_d30"]["control"]
        <= row["ci_high"]
    )
    hr = res.survival.row(0, named=True)
    assert hr["hr_ci_low"] <= 0.8 <= hr["hr_ci_high"] and hr["hr_horizon"] == 30
    assert hr["rmst_ci_low"] < hr["rmst_difference"] < hr["rmst_ci_high"]
    assert "SRM chi2" in res._repr_html_()


def test_simulator_return_pack_matches_raw_rows(sim_dir, sim) -> None:
    """The 90-day order share per arm (days a .. a + 89) equals a direct count on the raw rows."""
    ds, _ = sim
    res = experiment_effects(
        ds,
        experiment="return_benefit_pack",
        outcomes=["order_90d"],
        include_refunded=True,
        survival=False,
    )
    exp = pl.read_parquet(sim_dir / "experiments.parquet").filter(
        pl.col("experiment") == "return_benefit_pack"
    )
    orders = pl.read_parquet(sim_dir / "orders.parquet")
    day = pl.col("ordered_at").dt.date()
    a = pl.col("assigned_at").dt.date()
    hits = exp.join(orders, on="user_id").filter((day >= a) & (day <= a + pl.duration(days=89)))
    per_arm = (
        exp.group_by("arm")
        .len()
        .join(hits.group_by("arm").agg(pl.col("user_id").n_unique().alias("x")), on="arm")
    )
    want = {r["arm"]: r["x"] / r["len"] for r in per_arm.iter_rows(named=True)}
    row = res.summary.row(0, named=True)
    assert (row["value_arm"], row["value_control"]) == pytest.approx(
        (want["treatment"], want["control"])
    )
