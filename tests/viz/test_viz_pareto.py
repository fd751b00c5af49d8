"""plot_pareto draws what pareto_curve returns, with the 20/80 reference lines."""

from __future__ import annotations

import datetime as dt
import io

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import pytest

from insights.data import frames_dataset
from insights.metrics.concentration import pareto_curve
from insights.viz.pareto import plot_pareto


def _curve() -> pl.DataFrame:
    # 12 buyers in tier "h" (one big spender), 4 in tier "l" (hidden at min_cell=10)
    amounts = [100.0] + [10.0] * 11 + [5.0] * 4
    users = pl.DataFrame(
        {"user_id": list(range(16)), "first_seen_at": [dt.datetime(2024, 1, 1)] * 16,
         "tier": ["h"] * 12 + ["l"] * 4}
    )  # fmt: skip
    orders = pl.DataFrame(
        {"order_id": list(range(16)), "user_id": list(range(16)), "amount": amounts,
         "ordered_at": [dt.datetime(2024, 2, 1)] * 16}
    )  # fmt: skip
    ds = frames_dataset(users=users, orders=orders, as_of="2024-03-31")
    return pareto_curve(ds, period="2024Q1", points=20, by="tier")


def test_plot_pareto_draws_curve_and_reference_lines():
    frame = _curve()
    ax = plot_pareto(frame.filter(pl.col("segment") == "h"))
    gids = {line.get_gid() for line in ax.lines}
    assert {"curve:h", "top:h", "equality", "reference-x", "reference-y"} <= gids
    curve = next(line for line in ax.lines if line.get_gid() == "curve:h")
    h = frame.filter(pl.col("segment") == "h")
    assert np.allclose(curve.get_xdata(), h["buyer_share"].to_numpy())
    assert np.allclose(curve.get_ydata(), h["value"].to_numpy())
    # top 20% of 12 buyers = ceil(2.4) = 3: 100 + 10 + 10 of 210
    top = next(line for line in ax.lines if line.get_gid() == "top:h")
    assert top.get_xdata()[0] == pytest.approx(0.2) and top.get_ydata()[0] == pytest.approx(
        120 / 210
    )
    vx = next(line for line in ax.lines if line.get_gid() == "reference-x")
    vy = next(line for line in ax.lines if line.get_gid() == "reference-y")
    assert vx.get_xdata()[0] == pytest.approx(0.2) and vy.get_ydata()[0] == pytest.approx(0.8)
    assert any("20%" in t.get_text() and "57%" in t.get_text() for t in ax.texts)


def test_plot_pareto_hides_small_segments():
    ax = plot_pareto(_curve(), min_cell=10)
    gids = {line.get_gid() for line in ax.lines}
    assert "curve:h" in gids and "curve:l" not in gids
    assert "1 segment(s) hidden (< 10 users, or to protect one)" in ax.get_legend().get_title().get_text()
    both = plot_pareto(_curve(), min_cell=4)
    assert {"curve:h", "curve:l"} <= {line.get_gid() for line in both.lines}


def test_plot_pareto_zh_and_errors():
    frame = _curve()
    _fig, ax = plt.subplots()
    assert plot_pareto(frame, ax=ax, lang="zh", min_cell=0, title="高价值集中度") is ax
    assert ax.get_ylabel() == "累计 GMV 占比"
    ax.get_figure().savefig(io.BytesIO(), format="png")
    with pytest.raises(ValueError, match="missing columns"):
        plot_pareto(frame.drop("buyer_share"))
    with pytest.raises(ValueError, match="reference"):
        plot_pareto(frame, reference=(0.2, 1.5))
    with pytest.raises(ValueError, match="min_cell"):
        plot_pareto(frame, min_cell=-1)
