"""plot_dose_response, tested through its error bars, ticks and reference line."""

from __future__ import annotations

import io

import numpy as np
import polars as pl
import pytest

from insights.stats.proportions import wilson_interval
from insights.viz.dose_response import plot_dose_response

K = [50, 60, 80, 110, 2]
N = [1000, 500, 500, 500, 5]


def frame() -> pl.DataFrame:
    lo, hi = np.array([wilson_interval(k, n) for k, n in zip(K, N, strict=True)]).T
    return pl.DataFrame(
        {
            "metric": "order_rate",
            "segment": ["d02", "d00", "d01", "d03", "d04"],
            "decile": [2, 0, 1, 3, 4],
            "value": np.array(K) / np.array(N),
            "ci_low": lo,
            "ci_high": hi,
            "n": N,
        }
    )


def test_points_follow_dose_order_with_wilson_bars():
    ax = plot_dose_response(frame())
    ticks = [t.get_text().split("\n")[0] for t in ax.get_xticklabels()]
    assert ticks == ["d00", "d01", "d02", "d03", "d04"]
    (point,) = [ln for ln in ax.lines if ln.get_gid() == "point:dose"]
    # d04 (n=5) hidden; visible in dose order: d00 60/500, d01 80/500, d02 50/1000, d03 110/500
    assert list(point.get_ydata()) == pytest.approx([0.12, 0.16, 0.05, 0.22])
    (bars,) = [c for c in ax.collections if c.get_gid() == "ci:dose"]
    seg = bars.get_segments()[2]
    assert (seg[0][1], seg[1][1]) == pytest.approx(wilson_interval(50, 1000))
    (ref,) = [ln for ln in ax.lines if ln.get_gid() == "reference"]
    assert ref.get_ydata()[0] == pytest.approx(0.12)
    assert any(t.get_gid() == "hidden-note" for t in ax.texts)


def test_fatigue_frame_and_chinese():
    f = frame().rename({"decile": "interactions"})
    ax = plot_dose_response(f, dose="interactions", lang="zh", title="疲劳曲线")
    assert ax.get_xlabel() == "每日互动次数"
    ax.get_figure().savefig(io.BytesIO(), format="png")


def test_bad_input():
    with pytest.raises(ValueError, match="lacks column"):
        plot_dose_response(frame().drop("decile"))
    with pytest.raises(ValueError, match="several metrics"):
        plot_dose_response(frame().with_columns(metric=pl.Series(["a", "b", "a", "a", "a"])))
