"""compare_survival: one call assembling tests, differences and hazard ratios; checked
against the building blocks, lifelines on per-user rows, and on Polars and DuckDB data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from lifelines.statistics import multivariate_logrank_test

from insights.data._backend import collect
from insights.metrics.lifetimes import user_lifetimes
from insights.metrics.retention import retention_curves
from insights.stats.comparison import SurvivalComparison, compare_survival
from insights.stats.cox import cox_hazard_ratios
from insights.stats.curves import survival_curves
from insights.stats.km import kaplan_meier
from insights.stats.logrank import logrank_test, pairwise_logrank
from insights.stats.milestone import milestone_difference, rmst_difference


def _counts(seed: int = 1, n: int = 900) -> pl.DataFrame:
    """A survival counts frame as in contracts.md: segment = tier · channel, by-columns, entry."""
    rng = np.random.default_rng(seed)
    tier = rng.choice(["tier1", "tier2", "tier3"], n)
    channel = rng.choice(["app", "web"], n)
    scale = np.select([tier == "tier1", tier == "tier2"], [40.0, 30.0], 22.0)
    t = np.ceil(rng.exponential(scale)).astype(int)
    c = rng.integers(10, 80, n)
    raw = pl.DataFrame(
        {
            "tier": tier,
            "channel": channel,
            "duration": np.minimum(t, c),
            "event": (t <= c).astype(int),
        }
    )
    return (
        raw.group_by("tier", "channel", "duration", "event")
        .agg(pl.len().cast(pl.Float64).alias("count"))
        .with_columns(
            pl.lit(0, dtype=pl.Int64).alias("entry"),
            pl.col("tier").alias("segment"),
        )
        .select("segment", "tier", "channel", "entry", "duration", "event", "count")
        .sort("segment", "entry", "duration", "event")
    )


def test_assembles_the_building_blocks() -> None:
    counts = _counts()
    before = counts.clone()
    res = compare_survival(
        counts, milestones=[7, 30], tau=30, cox=["tier", "channel"], reference="tier1"
    )
    assert isinstance(res, SurvivalComparison)
    direct = logrank_test(counts)
    assert res.overall["test"] == "logrank"
    assert res.overall["statistic"] == pytest.approx(direct.statistic)
    assert (res.overall["df"], res.overall["p_value"]) == (2, pytest.approx(direct.p_value))
    assert isinstance(res.overall["p_value"], float)
    assert res.pairwise is not None and res.pairwise.equals(
        pairwise_logrank(counts, reference="tier1")
    )
    assert res.pairwise.select("segment_a", "segment_b").rows() == [
        ("tier2", "tier1"),
        ("tier3", "tier1"),
    ]
    km = kaplan_meier(counts, entry="entry")
    assert res.milestones is not None
    assert res.milestones.equals(milestone_difference(km, milestones=[7, 30], reference="tier1"))
    assert res.rmst_difference is not None
    assert res.rmst_difference.equals(rmst_difference(km, tau=30, reference="tier1"))
    assert res.hazard_ratios is not None
    assert res.hazard_ratios.equals(
        cox_hazard_ratios(counts, by=["tier", "channel"], reference="tier1")
    )
    assert res.segments.equals(direct.segments)
    assert counts.equals(before)


def test_summary_and_html() -> None:
    res = compare_survival(_counts(), milestones=[30], tau=30, cox=True)
    summary = res.summary
    assert summary.columns == [
        "measure",
        "segment_a",
        "segment_b",
        "estimate",
        "ci_low",
        "ci_high",
        "statistic",
        "p_value",
        "p_adjusted",
    ]
    assert summary["measure"].to_list() == (
        ["logrank"] + ["pairwise logrank"] * 3 + ["S(30) difference"] * 3 + ["RMST(30) difference"] * 3
        + ["hazard ratio"] * 2
    )  # fmt: skip
    hr = summary.filter(pl.col("measure") == "hazard ratio")
    assert hr.select("segment_a", "segment_b").rows() == [
        ("segment=tier2", "segment=tier1"),
        ("segment=tier3", "segment=tier1"),
    ]
    assert (hr["ci_low"] < hr["estimate"]).all() and (hr["estimate"] < hr["ci_high"]).all()
    html = res._repr_html_()
    assert "Survival comparison" in html and "χ² =" in html and "hazard ratio" in html
    assert "adjusted by holm" in html
    with pytest.raises(TypeError):
        res.overall["p_value"] = 0.5  # type: ignore[index]


def test_options_reach_the_tests() -> None:
    counts = _counts(2).with_columns(pl.col("channel").alias("stratum"))
    fh = compare_survival(
        counts, test="fleming-harrington", rho=1, gamma=0.5, pairwise=False, adjust="bh"
    )
    assert fh.overall["test"] == "Fleming-Harrington G(1, 0.5)"
    assert fh.overall["statistic"] == pytest.approx(
        logrank_test(counts, test="fleming-harrington", rho=1, gamma=0.5).statistic
    )
    assert fh.pairwise is None and fh.milestones is None and fh.hazard_ratios is None
    strat = compare_survival(counts, strata="stratum", cox=True)
    assert strat.overall["test"] == "stratified logrank" and strat.overall["strata"] == "stratum"
    assert strat.overall["statistic"] == pytest.approx(
        logrank_test(counts, strata="stratum").statistic
    )
    assert strat.hazard_ratios is not None
    assert strat.hazard_ratios["coef"].to_list() == pytest.approx(
        cox_hazard_ratios(counts, strata="stratum")["coef"].to_list()
    )
    assert "stratified by stratum" in strat._repr_html_()


def test_accepts_survival_curves_and_uses_their_km_and_tau() -> None:
    counts = (
        _counts(3)
        .group_by("segment", "tier", "entry", "duration", "event")
        .agg(pl.col("count").sum())
        .sort("segment", "entry", "duration", "event")
    )
    curves = survival_curves(counts, by=("tier",), timeline=[0, 30, 60], tau=25)
    res = compare_survival(curves, milestones=[15])
    assert res.rmst_difference is not None and res.rmst_difference["tau"].unique().to_list() == [
        25.0
    ]
    from_counts = compare_survival(counts, milestones=[15], tau=25)
    assert res.overall["statistic"] == pytest.approx(from_counts.overall["statistic"])
    assert res.milestones is not None and from_counts.milestones is not None
    # the curves' coarse reporting timeline is not used: same values as from the counts
    assert res.milestones["se"].to_list() == pytest.approx(from_counts.milestones["se"].to_list())
    assert res.rmst_difference["se"].to_list() == pytest.approx(
        from_counts.rmst_difference["se"].to_list()
    )


def _activity_frames(seed: int = 5, n: int = 240) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    t0 = dt.datetime(2024, 1, 1, 9)
    firsts = [t0 + dt.timedelta(days=int(d)) for d in rng.integers(0, 60, n)]
    category = rng.choice(["beauty", "food", "home"], n)
    rows_user, rows_time = [], []
    for uid, (first, cat) in enumerate(zip(firsts, category, strict=True)):  # building fixture rows
        day, stay = 0, {"beauty": 0.9, "food": 0.8, "home": 0.7}[cat]
        while rng.random() < stay:
            day += int(rng.integers(1, 25))
            rows_user.append(uid)
            rows_time.append(first + dt.timedelta(days=day))
    return {
        "users": pl.DataFrame(
            {"user_id": list(range(n)), "first_seen_at": firsts, "category": category}
        ),
        "views": pl.DataFrame(
            {
                "user_id": rows_user,
                "started_at": rows_time,
                "watch_seconds": [60.0] * len(rows_user),
            }
        ),
    }


def test_end_to_end_on_each_backend_matches_lifelines_on_user_rows(make_dataset) -> None:
    frames = _activity_frames()
    ds = make_dataset(frames, as_of="2024-06-30")
    res = compare_survival(retention_curves(ds, by="category"), milestones=[30], cox=True)
    users = collect(user_lifetimes(ds)).join(
        frames["users"].select("user_id", "category"), on="user_id"
    )
    ref = multivariate_logrank_test(
        users["duration"].to_numpy(), users["category"].to_numpy(), users["event"].to_numpy()
    )
    assert res.overall["statistic"] == pytest.approx(ref.test_statistic, rel=1e-9)
    assert res.overall["p_value"] == pytest.approx(ref.p_value, rel=1e-8)
    assert res.milestones is not None and res.milestones.height == 3


def test_bad_input_messages() -> None:
    counts = _counts()
    with pytest.raises(ValueError, match="SurvivalCurves result"):
        compare_survival(counts.to_pandas())
    with pytest.raises(ValueError, match="no segment column 'group'"):
        compare_survival(counts, by="group")
    with pytest.raises(ValueError, match="reference='tier9'"):
        compare_survival(counts, reference="tier9")
    with pytest.raises(ValueError, match="adjust|method must be one of"):
        compare_survival(counts, adjust="fdr")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least two segments"):
        compare_survival(counts.filter(pl.col("segment") == "tier1"))


def test_sampling_weights_pass_through_and_are_scale_free() -> None:
    rng = np.random.default_rng(51)
    n = 600
    seg = rng.choice(["a", "b", "c"], n)
    t = np.ceil(rng.exponential(np.where(seg == "a", 12.0, 16.0)))
    c = rng.integers(5, 40, n)
    unit = pl.DataFrame(
        {
            "segment": seg,
            "entry": 0,
            "duration": np.minimum(t, c).astype(int),
            "event": (t <= c).astype(int),
            "count": rng.choice([0.4, 1.0, 3.0], n),
        }
    )
    res = compare_survival(unit, weights_kind="sampling", cox=True)
    direct = logrank_test(unit, weights_kind="sampling")
    assert res.overall["p_value"] == pytest.approx(direct.p_value)
    assert res.overall["weights_kind"] == "sampling"
    assert res.rmst_difference is None and res.milestones is None
    assert res.hazard_ratios is not None
    small = compare_survival(
        unit.with_columns(pl.col("count") * 0.01), weights_kind="sampling", cox=True
    )
    assert small.overall["p_value"] == pytest.approx(res.overall["p_value"], rel=1e-9)
    assert small.hazard_ratios is not None
    np.testing.assert_allclose(
        small.hazard_ratios["p_value"].to_numpy(),
        res.hazard_ratios["p_value"].to_numpy(),
        rtol=1e-7,
    )
    with pytest.raises(ValueError, match="not available with weights_kind='sampling'"):
        compare_survival(unit, weights_kind="sampling", milestones=[7])
