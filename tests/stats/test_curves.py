"""SurvivalCurves from counts: medians, RMST, default tau, timeline, display."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from insights.stats.curves import (
    SUMMARY_COLUMNS,
    TABLE_COLUMNS,
    SurvivalCurves,
    default_tau,
    survival_curves,
)
from insights.stats.rmst import rmst


def _raw(seed: int = 11, n: int = 300) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.floor(rng.exponential(25.0, n)).astype(int) + 1
    c = rng.integers(5, 90, n)
    return pl.DataFrame(
        {
            "segment": rng.choice(["p", "q"], n),
            "duration": np.minimum(t, c),
            "event": (t <= c).astype(int),
        }
    )


def _counts(raw: pl.DataFrame) -> pl.DataFrame:
    return (
        raw.group_by("segment", "duration", "event")
        .agg(pl.len().cast(pl.Float64).alias("count"))
        .with_columns(pl.lit(0, dtype=pl.Int64).alias("entry"))
        .select("segment", "entry", "duration", "event", "count")
        .sort("segment", "entry", "duration", "event")
    )


def test_table_summary_against_lifelines() -> None:
    raw = _raw()
    counts = _counts(raw)
    before = counts.clone()
    curves = survival_curves(counts, alpha=0.1, tau=40)
    assert counts.equals(before)
    assert tuple(curves.table.columns) == TABLE_COLUMNS
    assert tuple(curves.summary.columns) == SUMMARY_COLUMNS
    assert curves.table.schema["at_risk"] == pl.Int64 and curves.summary.schema["n"] == pl.Int64
    for g in ("p", "q"):
        sub = raw.filter(pl.col("segment") == g)
        kmf = KaplanMeierFitter(alpha=0.1).fit(
            pd.Series(sub["duration"].to_numpy()), pd.Series(sub["event"].to_numpy())
        )
        ours = curves.table.filter(pl.col("segment") == g)
        np.testing.assert_allclose(
            ours["survival"].to_numpy(), kmf.survival_function_.iloc[:, 0].to_numpy()
        )
        row = curves.summary.filter(pl.col("segment") == g).row(0, named=True)
        ci = median_survival_times(kmf.confidence_interval_)
        assert row["median"] == kmf.median_survival_time_
        assert (row["median_ci_low"], row["median_ci_high"]) == tuple(ci.iloc[0])
        ref = rmst(ours, tau=40, alpha=0.1).row(0, named=True)
        assert (row["rmst"], row["rmst_se"], row["rmst_ci_low"]) == (
            ref["rmst"],
            ref["se"],
            ref["ci_low"],
        )
        assert row["n"] == sub.height and row["events"] == sub["event"].sum()
    assert curves.tau == 40 and curves.summary["tau"].unique().to_list() == [40.0]


def test_hand_worked_median_ci_and_rmst() -> None:
    """Events at 1..6, one unit each: S = 5/6, 4/6, 1/2, ... median 3 (S(3) = 1/2 exactly).

    Log-log 95% band: lower S(1) = 0.2731 <= 1/2 -> CI low 1; upper first <= 1/2 at t = 6 (S = 0,
    the band collapses) -> CI high 6. RMST(6) = 1 + 5/6 + 4/6 + 3/6 + 2/6 + 1/6 = 3.5.
    """
    counts = pl.DataFrame(
        {"segment": "all", "entry": 0, "duration": [1, 2, 3, 4, 5, 6], "event": 1, "count": 1.0}
    )
    s = survival_curves(counts, tau=6).summary.row(0, named=True)
    assert (s["median"], s["median_ci_low"], s["median_ci_high"]) == (3.0, 1.0, 6.0)
    assert s["rmst"] == pytest.approx(3.5)
    # hand SE: A_j = sum of S over [t_j, 6) pieces; d = 1, n = 7 - j
    surv = [1, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6]
    var = sum(sum(surv[j:]) ** 2 / ((7 - j) * (6 - j)) for j in range(1, 6))
    assert s["rmst_se"] == pytest.approx(np.sqrt(var))


def test_default_tau_rule() -> None:
    km = pl.DataFrame(
        {
            "segment": ["a", "a", "a", "b", "b"],
            "t": [0, 30, 60, 0, 200],
            "at_risk": [40, 15, 9, 50, 20],
        }
    )
    assert default_tau(km) == 30.0  # a has >= 10 at risk up to t = 30
    assert default_tau(km, cap=20) == 20.0
    thin = pl.DataFrame({"segment": ["a", "a", "b"], "t": [0, 7, 0], "at_risk": [5, 2, 50]})
    assert (
        default_tau(thin.vstack(pl.DataFrame({"segment": ["b"], "t": [12], "at_risk": [30]})))
        == 7.0
    )
    raw = _raw()
    curves = survival_curves(_counts(raw))
    bounds = []
    for g in ("p", "q"):
        d = raw.filter(pl.col("segment") == g)["duration"].to_numpy()
        bounds.append(max(t for t in [0, *np.unique(d)] if (d >= t).sum() >= 10))
    assert curves.tau == min(90, min(bounds)) < 90  # the thin tail, not the cap, binds here
    at_tau = curves.at(curves.tau)
    assert (at_tau["at_risk"] >= 10).all()


def test_timeline_with_entry_and_at() -> None:
    """Units (entry, T, E): (0, 3, 1), (2, 5, 0), (4, 6, 1), (0, 8, 1).

    at risk on (entry, T]: t=1 -> 2 (entries 0), t=4 -> 2 (the first left at 3; the unit
    entering at 4 is not yet at risk), t=7 -> 1.
    """
    counts = pl.DataFrame(
        {
            "segment": "g",
            "entry": [0, 0, 2, 4],
            "duration": [3, 8, 5, 6],
            "event": [1, 1, 0, 1],
            "count": 1.0,
        }
    ).sort("segment", "entry", "duration", "event")
    curves = survival_curves(counts, timeline=[1, 4, 7], tau=6)
    kmf = KaplanMeierFitter().fit([3, 8, 5, 6], [1, 1, 0, 1], entry=[0, 0, 2, 4])
    assert curves.table["at_risk"].to_list() == [2, 2, 1]
    assert curves.table["events"].to_list() == [0, 1, 1]
    assert curves.table["censored"].to_list() == [0, 0, 1]
    np.testing.assert_allclose(
        curves.table["survival"].to_numpy(), kmf.survival_function_at_times([1, 4, 7]).to_numpy()
    )
    assert curves.at(4).equals(curves.table.filter(pl.col("t") == 4))
    assert curves.km.height > curves.table.height


def test_case_weights_give_float_counts_and_display() -> None:
    counts = pl.DataFrame(
        {
            "segment": ["<b>x</b>", "<b>x</b>", "y", "y"],
            "entry": 0,
            "duration": [2, 4, 1, 5],
            "event": [1, 0, 1, 1],
            "count": [1.5, 2.0, 0.5, 3.0],
        }
    )
    curves = survival_curves(counts, tau=2, origin="first_order")
    assert curves.table.schema["at_risk"] == pl.Float64
    assert curves.summary.filter(pl.col("segment") == "y")["n"].item() == 3.5
    html = curves._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "RMST(2)" in html and "first_order" in html and html.count("<tr>") == 3
    assert "SurvivalCurves(origin='first_order'" in repr(curves)
    assert isinstance(curves, SurvivalCurves) and curves.segments == ["<b>x</b>", "y"]


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="empty"):
        survival_curves(
            pl.DataFrame(
                schema={
                    "segment": pl.String,
                    "entry": pl.Int64,
                    "duration": pl.Int64,
                    "event": pl.Int64,
                    "count": pl.Float64,
                }
            )
        )
    counts = _counts(_raw())
    with pytest.raises(ValueError, match="alpha"):
        survival_curves(counts, alpha=0)
    with pytest.raises(ValueError, match="timeline"):
        survival_curves(counts, timeline=[float("nan")])
    zero = pl.DataFrame(
        {"segment": "a", "entry": 0, "duration": [0, 0], "event": [1, 0], "count": 1.0}
    )
    assert survival_curves(zero).summary["rmst"].to_list() == [None]


def test_hand_worked_rmst_and_milestone_under_left_truncation() -> None:
    """Units (entry, T, E): (0,2,1), (0,5,0), (1,3,1), (2,4,1), (3,6,0); risk sets on
    (entry, T] of 3 at t = 2, 3, 4: S = 2/3, 4/9, 8/27.

    RMST(5) = 2 + 2/3 + 4/9 + 8/27 = 92/27; A_j = 38/27, 20/27, 8/27 and
    Var = (38² + 20² + 8²) / 27² / (3·2) = 1908/4374. Under the old entry <= t rule
    the unit entering at 2 was counted at risk at 2 (n = 4) and the SE was smaller.
    """
    from insights.stats.milestone import milestone_survival

    counts = pl.DataFrame(
        {
            "segment": "g",
            "entry": [0, 0, 1, 2, 3],
            "duration": [2, 5, 3, 4, 6],
            "event": [1, 0, 1, 1, 0],
            "count": 1,
        }
    )
    curves = survival_curves(counts, tau=5)
    row = curves.summary.row(0, named=True)
    assert row["rmst"] == pytest.approx(92 / 27, rel=1e-12)
    assert row["rmst_se"] == pytest.approx(np.sqrt(1908 / 4374), rel=1e-12)
    ms = milestone_survival(curves.km, milestones=4).row(0, named=True)
    assert ms["variance"] == pytest.approx((8 / 27) ** 2 * 0.5, rel=1e-12)
    assert curves.at([2, 4])["at_risk"].to_list() == [3, 3]
    with pytest.raises(ValueError, match="0 < entry == duration"):
        survival_curves(
            counts.head(1).with_columns(pl.col("duration").alias("entry")).vstack(counts)
        )
