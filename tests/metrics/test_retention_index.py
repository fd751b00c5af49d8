"""The retention index of 000 §2.2: hand-worked components and changes on every engine."""

from __future__ import annotations

import datetime as dt
import math
import warnings

import polars as pl
import pytest
from lifelines import KaplanMeierFitter
from scipy.stats import norm

from insights.data.dataset import EmptyPeriodWarning
from insights.metrics.retention_index import COMPONENTS, retention_index
from insights.stats.proportions import newcombe_diff_interval, wilson_interval

d = dt.datetime
Z = 1.959963984540054


def index_frames() -> dict[str, pl.DataFrame]:
    """as_of 2024-12-31, churn_gap 30, everyone observed long after their last activity.

    2023 cohort (views on day indices): a1 0, 10, 40 (L = 40); a2 0 (L = 0); a3 0, 5 (L = 5);
        a4 0, 20, 45 (L = 45) -> D30 = 2/4. Greenwood at 30: 1/(4*3) + 1/(3*2) = 1/4.
    2024 cohort: b1 0, 31 (gap 31 > 30: L = 0); b2 0, 15, 35 (L = 35); b3 0 (L = 0);
        b4 0, 29 (L = 29); b5 0, 30, 60 (L = 60) -> D30 = 2/5. Greenwood: 2/(5*3) + 1/(3*2).
    Orders (on active days): a1 days 0, 40 (repeat within 60); a4 day 20 -> 2023: 1/2.
        b2 days 0, 35; b5 days 0, 60 (exactly 60: counts); b4 day 29 -> 2024: 2/3.
    90-day activity (base = active in September, months from Oct 1): users first seen
        2022-06-01: c1 active in Sep and each month of both years -> yes, yes; c2 Sep + Oct 2023,
        Sep 2024 -> no, no; c3 2024 Sep, Oct, early Nov only -> no. 2023: 1/2, 2024: 1/3.
    """
    firsts = {
        "a1": d(2023, 1, 1), "a2": d(2023, 2, 1), "a3": d(2023, 3, 1), "a4": d(2023, 4, 1),
        "b1": d(2024, 1, 1), "b2": d(2024, 2, 1), "b3": d(2024, 3, 1), "b4": d(2024, 4, 1),
        "b5": d(2024, 5, 1), "c1": d(2022, 6, 1), "c2": d(2022, 6, 1), "c3": d(2022, 6, 1),
    }  # fmt: skip
    rel = {"a1": [10, 40], "a3": [5], "a4": [20, 45], "b1": [31], "b2": [15, 35]}
    rel |= {"b4": [29], "b5": [30, 60]}
    views = [(u, firsts[u] + dt.timedelta(days=k)) for u, ks in rel.items() for k in ks]
    dates = {
        "c1": ["2023-09-15", "2023-10-05", "2023-11-10", "2023-12-05"]
        + ["2024-09-02", "2024-10-02", "2024-11-02", "2024-12-02"],
        "c2": ["2023-09-20", "2023-10-10", "2024-09-04"],
        "c3": ["2024-09-03", "2024-10-03", "2024-11-03"],
    }
    views += [(u, d.fromisoformat(x)) for u, xs in dates.items() for x in xs]
    orders = [("a1", 0), ("a1", 40), ("a4", 20), ("b2", 0), ("b2", 35), ("b5", 0), ("b5", 60)]
    orders += [("b4", 29)]
    users = pl.DataFrame(
        {
            "user_id": list(firsts),
            "first_seen_at": list(firsts.values()),
            "tier": ["x" if u in ("a1", "a2", "b1", "b2", "c1") else "y" for u in firsts],
        }
    )
    return {
        "users": users,
        "views": pl.DataFrame(
            {
                "user_id": [u for u, _ in views],
                "started_at": [t + dt.timedelta(hours=3) for _, t in views],
                "watch_seconds": [60.0] * len(views),
            }
        ),
        "orders": pl.DataFrame(
            {
                "order_id": list(range(len(orders))),
                "user_id": [u for u, _ in orders],
                "ordered_at": [firsts[u] + dt.timedelta(days=k, hours=5) for u, k in orders],
                "amount": [10.0] * len(orders),
            }
        ),
    }


def quietly(func, *args, **kwargs):
    """``func(*args, **kwargs)`` and the messages of the EmptyPeriodWarnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EmptyPeriodWarning)
        out = func(*args, **kwargs)
    assert all(issubclass(w.category, EmptyPeriodWarning) for w in caught)
    return out, [str(w.message) for w in caught]


@pytest.fixture
def ds(make_dataset):
    src = index_frames()
    before = {k: v.clone() for k, v in src.items()}
    yield make_dataset(src, as_of="2024-12-31")
    assert all(src[k].equals(before[k]) for k in src)


def test_components_hand_worked(ds) -> None:
    ri = retention_index(ds, period=2024, baseline=2023)
    comp = ri.components
    assert comp.columns[:7] == ["metric", "segment", "period", "value", "ci_low", "ci_high", "n"]
    got = {(r["metric"], r["year"]): (r["value"], r["n"]) for r in comp.iter_rows(named=True)}
    assert got == {
        ("retention_d30", 2023): (0.5, 4),
        ("retention_d30", 2024): (0.4, 5),
        ("repurchase_60d", 2023): (0.5, 2),
        ("repurchase_60d", 2024): (pytest.approx(2 / 3), 3),
        ("active_90d", 2023): (0.5, 2),
        ("active_90d", 2024): (pytest.approx(1 / 3), 3),
    }
    assert comp["metric"].unique(maintain_order=True).to_list() == list(COMPONENTS)
    # D30 against lifelines on the hand lifetimes (T = L + 1, all observed)
    kmf = KaplanMeierFitter().fit([41, 1, 6, 46], [1, 1, 1, 1])
    row = comp.filter((pl.col("metric") == "retention_d30") & (pl.col("year") == 2023))
    lo, hi = kmf.confidence_interval_survival_function_.asof(30.0).to_list()  # step at t = 6
    assert row.select("ci_low", "ci_high").row(0) == pytest.approx((lo, hi))
    rep = comp.filter((pl.col("metric") == "repurchase_60d") & (pl.col("year") == 2024))
    assert rep.select("ci_low", "ci_high").row(0) == pytest.approx(wilson_interval(2, 3))
    assert comp.filter(pl.col("metric") == "active_90d")["period"].to_list() == ["2023Q4", "2024Q4"]


def test_changes_hand_worked(ds) -> None:
    ch = retention_index(ds, period=2024, baseline=2023).changes
    rows = {r["metric"]: r for r in ch.iter_rows(named=True)}
    # D30: Greenwood variances by hand: 0.5² · 1/4 and 0.4² · (2/15 + 1/6)
    se = math.sqrt(0.25 * 0.25 + 0.16 * (2 / 15 + 1 / 6))
    r = rows["retention_d30"]
    assert r["difference"] == pytest.approx(-0.1)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((-0.1 - Z * se, -0.1 + Z * se))
    assert r["p_value"] == pytest.approx(2 * norm.sf(0.1 / se))
    assert r["index"] == pytest.approx(80.0) and (r["n_base"], r["n_compare"]) == (4, 5)
    # repurchase: 1/2 -> 2/3, Newcombe interval, pooled z-test by hand
    r = rows["repurchase_60d"]
    assert r["difference"] == pytest.approx(1 / 6)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(newcombe_diff_interval(2, 3, 1, 2))
    pooled = 3 / 5
    assert r["p_value"] == pytest.approx(
        2 * norm.sf((1 / 6) / math.sqrt(pooled * (1 - pooled) * (1 / 2 + 1 / 3)))
    )
    assert r["index"] == pytest.approx(100 * (2 / 3) / 0.5)
    r = rows["active_90d"]
    assert r["difference"] == pytest.approx(1 / 3 - 1 / 2)
    summary = retention_index(ds, period=2024, baseline=2023).summary
    assert summary.columns[:4] == ["metric", "segment", "2023", "2024"]
    assert summary.filter(pl.col("metric") == "retention_d30")["change_pp"].item() == pytest.approx(
        -10
    )


def test_by_segment(ds) -> None:
    ri = retention_index(ds, period=2024, baseline=2023, by="tier")
    got = {
        (r["metric"], r["segment"], r["year"]): (r["value"], r["n"])
        for r in ri.components.iter_rows(named=True)
    }
    # tier x: a1, a2 (2023: D30 1/2), b1, b2 (2024: 1/2); buyers a1 (1/1), b2 (1/1); c1 active
    assert got[("retention_d30", "x", 2023)] == (0.5, 2)
    assert got[("retention_d30", "y", 2024)] == (pytest.approx(1 / 3), 3)  # b3, b4, b5: b5
    assert got[("repurchase_60d", "y", 2024)] == (0.5, 2)  # b4 no, b5 yes
    assert got[("active_90d", "x", 2024)] == (1.0, 1)
    assert set(ri.changes["segment"]) == {"x", "y"}
    assert ri.changes.height == 6


def test_activity_window_not_observed_is_reported_not_raised(ds) -> None:
    early = ds.with_as_of("2024-12-15")  # 2024Q4 window ends 2024-12-29
    ri = retention_index(early, period=2024, baseline=2023)  # not observed: said, not warned
    act = ri.components.filter((pl.col("metric") == "active_90d") & (pl.col("year") == 2024))
    assert act.select("value", "n").row(0) == (None, 0)
    assert "not observed" in act["population"].item()
    change = ri.changes.filter(pl.col("metric") == "active_90d").row(0, named=True)
    assert change["value_base"] == 0.5 and change["difference"] is None
    # another quarter is observable; nobody was active in June 2023: an explicit n = 0 row
    with pytest.warns(EmptyPeriodWarning, match="active_90d: no users in scope in 2023Q3"):
        q3 = retention_index(early, period=2024, baseline=2023, activity_quarter=3)
    act = q3.components.filter(pl.col("metric") == "active_90d")
    # June 2024 base: b5 only (active Jun 30), not active afterwards -> 0/1
    assert act.select("year", "value", "n").rows() == [(2023, None, 0), (2024, 0.0, 1)]
    assert act["population"][0].startswith("no users active")


def test_default_years(ds) -> None:
    """as_of 2024-12-31: period 2024 and baseline the year before; as_of 2024-12-30: 2023 vs 2022."""
    assert retention_index(ds).years == (2023, 2024)
    ri, said = quietly(retention_index, ds, baseline=2021)
    assert ri.years == (2021, 2024)
    assert any(m.startswith("retention: no users in scope in 2021") for m in said)
    assert retention_index(ds, period="2024").years == (2023, 2024)
    ri, said = quietly(retention_index, ds.with_as_of("2024-12-30"))
    assert ri.years == (2022, 2023)
    assert any(m.startswith("repurchase_60d: no users in scope in 2022") for m in said)


def test_bad_input(ds) -> None:
    with pytest.raises(ValueError, match="period must be a calendar year"):
        retention_index(ds, period="2024Q4")
    with pytest.raises(ValueError, match="baseline must be a calendar year"):
        retention_index(ds, period=2024, baseline=(2021, 2022))
    with pytest.raises(ValueError, match="activity_quarter"):
        retention_index(ds, activity_quarter=5)
    with pytest.raises(ValueError, match="by='nope'"):
        retention_index(ds, by="nope")


def test_simulated_years_match_the_standalone_metrics(sim_dir) -> None:
    from insights.data import load_dataset
    from insights.metrics.activity import activity_90d
    from insights.metrics.purchase import repurchase_rate
    from insights.metrics.retention import retention_rates

    ds = load_dataset(sim_dir)
    ri = retention_index(ds, period=2024, baseline=2021)
    comp = {(r["metric"], r["year"]): r["value"] for r in ri.components.iter_rows(named=True)}
    assert (
        comp[("retention_d30", 2024)]
        == retention_rates(ds, period=2024, timeline=(30,))["value"].item()
    )
    assert comp[("repurchase_60d", 2021)] == repurchase_rate(ds, period=2021)["value"].item()
    assert comp[("active_90d", 2024)] == activity_90d(ds, period="2024Q4")["value"].item()
    # the simulated world declines on all three dimensions from 2021 to 2024, as 000 §2.2 says
    assert (ri.changes["ci_high"] < 0).all()
