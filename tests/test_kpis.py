"""The KPI scorecard agrees with the metric functions and suppresses small cells."""

from __future__ import annotations

import polars as pl
import pytest

from insights.data.load import load_dataset
from insights.kpis import kpi_scorecard
from insights.metrics import aov, retention_rates


def test_scorecard_matches_metric_functions(sim_dir) -> None:
    ds = load_dataset(sim_dir)
    frame, notes = kpi_scorecard(ds, quarter="2024Q4")
    assert set(frame["quarter"]) == {"2024Q3", "2024Q4"}
    d30 = frame.filter((pl.col("metric") == "retention_d30") & (pl.col("quarter") == "2024Q3")).row(0, named=True)
    q3 = ds.with_as_of("2024-09-30")
    ref = retention_rates(q3, period="2024Q3", timeline=(30,)).row(0, named=True)
    assert d30["value"] == ref["value"] and d30["n"] == ref["n"]
    a = frame.filter((pl.col("metric") == "aov_yuan") & (pl.col("quarter") == "2024Q4")).row(0, named=True)
    assert a["value"] == pytest.approx(aov(ds, period="2024Q4")["value"][0], rel=1e-12)
    assert {"metric", "segment", "quarter", "value", "ci_low", "ci_high", "n", "suppressed"} <= set(frame.columns)


def test_small_segments_are_suppressed(sim_dir) -> None:
    ds = load_dataset(sim_dir)
    frame, _ = kpi_scorecard(ds, quarter="2024Q4", by="platform", min_cell=400)
    small = frame.filter(pl.col("suppressed"))
    assert small.height > 0
    assert small["value"].null_count() == small.height and small["n"].null_count() == small.height
    assert frame.filter(~pl.col("suppressed"))["n"].min() >= 400
