"""Delta-method ratio estimator (users as clusters) and log-scale ratio of two estimates."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from insights.data._backend import collect, to_lazy
from insights.stats.ratio import cluster_sums, ratio_ci, ratio_frame, ratio_of_means_ci

Z = 1.959963984540054


def _sums(y: np.ndarray, x: np.ndarray) -> dict[str, float]:
    return {
        "sum_y": y.sum(),
        "sum_x": x.sum(),
        "sum_y2": (y * y).sum(),
        "sum_x2": (x * x).sum(),
        "sum_xy": (x * y).sum(),
        "n_clusters": len(y),
    }


def test_ratio_of_means_hand_worked() -> None:
    # clusters (y, x) = (10, 1), (50, 2), (30, 3): R = 90 / 6 = 15
    # residuals d = y - R x = -5, 20, -15; sum d^2 = 25 + 400 + 225 = 650
    # Var = n/(n-1) * sum d^2 / X^2 = 3/2 * 650 / 36 = 27.083333; se = 5.204165
    y, x = np.array([10.0, 50.0, 30.0]), np.array([1.0, 2.0, 3.0])
    est = ratio_of_means_ci(**_sums(y, x))
    assert est.estimate == pytest.approx(15.0)
    assert est.se == pytest.approx(math.sqrt(27.0833333333), rel=1e-9)
    assert est.ci_low == pytest.approx(15 - Z * est.se, rel=1e-12)
    assert est.ci_high == pytest.approx(15 + Z * est.se, rel=1e-12)


def test_ratio_of_means_equals_textbook_linearisation() -> None:
    # Var(R) = 1/(n xbar^2) * s_d^2 with s_d^2 the sample variance of d_i = y_i - R x_i
    rng = np.random.default_rng(7)
    x = rng.integers(1, 6, 200).astype(float)
    y = x * rng.gamma(2.0, 50.0, 200)
    est = ratio_of_means_ci(**_sums(y, x))
    r = y.sum() / x.sum()
    d = y - r * x
    se = math.sqrt(d.var(ddof=1) / (len(x) * x.mean() ** 2))
    assert est.se == pytest.approx(se, rel=1e-9)


def test_ratio_of_means_degenerate() -> None:
    assert math.isnan(ratio_of_means_ci(1, 0, 1, 0, 0, 3).estimate)
    one = ratio_of_means_ci(10, 2, 100, 4, 20, 1)
    assert one.estimate == 5.0 and math.isnan(one.se)


def test_ratio_frame_matches_scalar_and_does_not_mutate() -> None:
    rng = np.random.default_rng(1)
    rows = []
    for seg in ("a", "b"):
        x = rng.integers(1, 4, 30).astype(float)
        y = rng.gamma(2.0, 10.0, 30) * x
        rows.append({"segment": seg, **_sums(y, x)})
    rows.append(
        {
            "segment": "c",
            "sum_y": 5.0,
            "sum_x": 1.0,
            "sum_y2": 25.0,
            "sum_x2": 1.0,
            "sum_xy": 5.0,
            "n_clusters": 1,
        }
    )
    frame = pl.DataFrame(rows)
    before = frame.clone()
    out = ratio_frame(frame, alpha=0.1)
    assert frame.equals(before)
    for row in out.to_dicts():
        args = {k: row[k] for k in ("sum_y", "sum_x", "sum_y2", "sum_x2", "sum_xy", "n_clusters")}
        est = ratio_of_means_ci(**args, alpha=0.1)
        assert row["value"] == pytest.approx(est.estimate)
        if row["segment"] == "c":
            assert row["se"] is None and row["ci_low"] is None
        else:
            assert row["se"] == pytest.approx(est.se, rel=1e-12)
            assert row["ci_low"] == pytest.approx(est.ci_low, rel=1e-12)


def test_cluster_sums_in_engine(backend: str) -> None:
    # orders: user 1 -> 10, 30 (segment a); user 2 -> 20 (a); user 3 -> 5, 5, 5 (b)
    orders = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 3, 3, 3],
            "segment": ["a", "a", "a", "b", "b", "b"],
            "amount": [10.0, 30.0, 20.0, 5.0, 5.0, 5.0],
        }
    )
    before = orders.clone()
    if backend == "duckdb":
        import duckdb

        con = duckdb.connect()
        native = con.from_arrow(orders.to_arrow())
    else:
        native = orders.lazy()
    out = collect(cluster_sums(to_lazy(native), y="amount")).sort("segment")
    assert orders.equals(before)
    a, b = out.to_dicts()
    # a: y_i = 40, 20; x_i = 2, 1 -> sums 60, 3, 1600+400, 4+1, 80+20, 2 clusters
    assert (a["sum_y"], a["sum_x"], a["sum_y2"], a["sum_x2"], a["sum_xy"], a["n_clusters"]) == (
        60.0,
        3.0,
        2000.0,
        5.0,
        100.0,
        2,
    )
    # b: one cluster y = 15, x = 3
    assert (b["sum_y"], b["sum_x"], b["sum_y2"], b["sum_x2"], b["sum_xy"], b["n_clusters"]) == (
        15.0,
        3.0,
        225.0,
        9.0,
        45.0,
        1,
    )


def test_ratio_ci_hand_worked() -> None:
    # log r = log(120/100) = 0.182322; se_log = sqrt(0.05^2 + 0.05^2) = 0.070711
    # CI = exp(0.182322 -/+ 1.959964 * 0.070711) = exp(0.043730), exp(0.320914) = 1.04470, 1.37839
    est = ratio_ci(120.0, 6.0, 100.0, 5.0)
    assert est.estimate == pytest.approx(1.2)
    assert est.se == pytest.approx(math.sqrt(0.005), rel=1e-12)
    assert est.ci_low == pytest.approx(math.exp(math.log(1.2) - Z * math.sqrt(0.005)), rel=1e-12)
    assert est.ci_high == pytest.approx(math.exp(math.log(1.2) + Z * math.sqrt(0.005)), rel=1e-12)
    assert round(est.ci_low, 4) == 1.0447 and round(est.ci_high, 4) == 1.3784
    assert math.isnan(ratio_ci(0.0, 1.0, 2.0, 1.0).ci_low)
