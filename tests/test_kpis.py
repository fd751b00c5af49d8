"""The KPI scorecard agrees with the metric functions and suppresses small cells."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from insights.data.load import load_dataset
from insights.kpis import kpi_scorecard
from insights.metrics import aov, retention_rates


def test_scorecard_matches_metric_functions(sim_dir) -> None:
    ds = load_dataset(sim_dir)
    frame, notes = kpi_scorecard(ds, quarter="2024Q4")
    assert set(frame["quarter"]) == {"2024Q3", "2024Q4"}
    d30 = frame.filter((pl.col("metric") == "retention_d30") & (pl.col("quarter") == "2024Q3")).row(
        0, named=True
    )
    # the comparison quarter is observed with all the data, like the reported one
    ref = retention_rates(ds, period="2024Q3", timeline=(30,)).row(0, named=True)
    assert d30["value"] == ref["value"] and d30["n"] == ref["n"] and d30["complete"]
    a = frame.filter((pl.col("metric") == "aov") & (pl.col("quarter") == "2024Q4")).row(
        0, named=True
    )
    assert a["value"] == pytest.approx(aov(ds, period="2024Q4")["value"][0], rel=1e-12)
    assert {"metric", "segment", "quarter", "value", "ci_low", "ci_high", "n", "suppressed"} <= set(
        frame.columns
    )


def test_small_segments_are_suppressed(sim_dir) -> None:
    ds = load_dataset(sim_dir)
    frame, _ = kpi_scorecard(ds, quarter="2024Q4", by="platform", min_cell=400)
    small = frame.filter(pl.col("suppressed"))
    assert small.height > 0
    assert small["value"].null_count() == small.height and small["n"].null_count() == small.height
    # shown rows have n >= min_cell, except a window nobody was followed through (n = 0, no value)
    shown = frame.filter(~pl.col("suppressed"))
    assert shown.filter(pl.col("n") > 0)["n"].min() >= 400
    assert shown.filter(pl.col("n") == 0)["value"].null_count() == shown.filter(pl.col("n") == 0).height


def test_progress_bar_counts_kpis_by_quarter_and_changes_nothing(
    small_sim_frames, capsys, monkeypatch
) -> None:
    from insights.data.dataset import frames_dataset
    from insights.kpis import KPIS

    ds = frames_dataset(**small_sim_frames, as_of="2024-12-31")  # in memory: nothing remembered
    total = 2 * len(KPIS)  # every KPI in the quarter and in the comparison quarter
    assert total == 24  # twelve KPIs (retention D7/D30/D60, repurchase, active 90d, first purchase,
    # AOV, interaction rate, public-to-private, community exit, CAC, repurchase cycle)
    shown = kpi_scorecard(ds, quarter="2024Q4", progress=True)
    err = capsys.readouterr().err
    assert "kpi_scorecard" in err and f"{total}/{total}" in err
    silent = kpi_scorecard(ds, quarter="2024Q4", progress=False)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("CI", "true")
    auto = kpi_scorecard(ds, quarter="2024Q4")
    assert capsys.readouterr().err == ""
    # aov's mean may differ in the last bit between two identical calls (the engine's
    # summation order), so floats are compared to 1e-12; everything else exactly
    for other in (silent, auto):
        assert_frame_equal(shown[0], other[0], rel_tol=1e-12, abs_tol=0.0)
        assert (
            shown[0]
            .drop("value", "ci_low", "ci_high")
            .equals(other[0].drop("value", "ci_low", "ci_high"))
        )
    assert shown[1] == silent[1] == auto[1]
