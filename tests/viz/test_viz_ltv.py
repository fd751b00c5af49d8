"""plot_ltv draws what cohort_ltv computed: curves, bands, dashed incomplete tails, small cells hidden."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from insights.data import frames_dataset
from insights.metrics.ltv import cohort_ltv
from insights.viz.ltv import plot_ltv


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "segment": "all",
            "cohort": ["2024-01"] * 3 + ["2024-02"] * 3 + ["2024-03"] * 2,
            "t": [0, 7, 30, 0, 7, 30, 0, 7],
            "value": [1.0, 3.0, 5.0, 2.0, 4.0, 6.0, 1.0, 9.0],
            "ci_low": [0.8, 2.5, 4.0, 1.5, 3.0, 5.0, 0.5, 7.0],
            "ci_high": [1.2, 3.5, 6.0, 2.5, 5.0, 7.0, 1.5, 11.0],
            "n": [50, 50, 50, 40, 40, 30, 5, 5],
            "complete": [True, True, True, True, True, False, True, True],
        }
    )


def test_curves_bands_and_incomplete():
    ax = plot_ltv(_frame())
    gids = sorted(a.get_gid() for a in ax.lines)
    assert gids == ["curve:2024-01", "curve:2024-02", "incomplete:2024-02"]
    curve = next(a for a in ax.lines if a.get_gid() == "curve:2024-01")
    np.testing.assert_allclose(curve.get_ydata(), [1.0, 3.0, 5.0])
    tail = next(a for a in ax.lines if a.get_gid() == "incomplete:2024-02")
    np.testing.assert_allclose(tail.get_xdata(), [7.0, 30.0])
    assert {c.get_gid() for c in ax.collections} == {"ci:2024-01", "ci:2024-02"}
    # 2024-03 has 5 users < min_cell 10: hidden and counted
    note = [t for t in ax.texts if t.get_gid() == "hidden-note"]
    assert note and "1 group" in note[0].get_text()


def test_min_cell_zero_and_zh():
    ax = plot_ltv(_frame(), min_cell=0, lang="zh")
    assert "curve:2024-03" in {a.get_gid() for a in ax.lines}
    assert ax.get_xlabel() == "获客后天数"


def test_from_cohort_ltv_and_bad_input():
    t0 = dt.datetime(2024, 1, 1, 12)
    ds = frames_dataset(
        users=pl.DataFrame({"user_id": range(20), "first_seen_at": [t0] * 20}),
        orders=pl.DataFrame(
            {"order_id": [1], "user_id": [1], "amount": [10.0], "ordered_at": [t0]}
        ),
        as_of="2024-03-31",
    )
    ax = plot_ltv(cohort_ltv(ds, horizon=60, bootstrap=20))
    assert [a.get_gid() for a in ax.lines] == ["curve:2024-01"]
    with pytest.raises(ValueError, match="lacks columns"):
        plot_ltv(pl.DataFrame({"t": [0]}))
    with pytest.raises(ValueError, match="lang"):
        plot_ltv(_frame(), lang="fr")
