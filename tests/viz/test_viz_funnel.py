"""plot_funnel, tested through its bars, interval lines and texts."""

from __future__ import annotations

import io

import polars as pl
import pytest

from insights.metrics.funnel import _funnel_frame
from insights.stats.proportions import wilson_interval
from insights.viz.funnel import plot_funnel

COUNTS = pl.DataFrame(
    {
        "segment": ["a", "b"],
        "viewers": [1000, 400],
        "interacted": [400, 100],
        "ordered": [100, 8],
        "observable": [90, 7],
        "repurchased": [30, 3],
    }
)
STAGES = [
    ("viewers", "viewers", "viewers"),
    ("interacted", "interacted", "viewers"),
    ("ordered", "ordered", "interacted"),
    ("repurchased", "repurchased", "observable"),
]


def frame() -> pl.DataFrame:
    return _funnel_frame(COUNTS, STAGES, metric="interaction_funnel", period="2024Q1")


def bar_width(ax, stage):
    (bar,) = [p for p in ax.patches if p.get_gid() == f"bar:{stage}"]
    return bar.get_width()


def test_bars_are_share_of_entry_and_ci_is_scaled_step_interval():
    ax = plot_funnel(frame(), segment="a")
    assert bar_width(ax, "viewers") == pytest.approx(1.0)
    assert bar_width(ax, "interacted") == pytest.approx(0.4)
    assert bar_width(ax, "ordered") == pytest.approx(0.1)
    (line,) = [ln for ln in ax.lines if ln.get_gid() == "ci:ordered"]
    lo, hi = wilson_interval(100, 400)
    assert list(line.get_xdata()) == pytest.approx([0.4 * lo, 0.4 * hi])
    texts = {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}
    assert "25.0%" in texts["rate:ordered"]
    assert "75.0%" in texts["dropoff:ordered"]  # 1 - 100/400
    assert "60.0%" in texts["dropoff:interacted"]


def test_small_stages_are_suppressed():
    ax = plot_funnel(frame(), segment="b", min_cell=10)
    gids = {p.get_gid() for p in ax.patches}
    assert "bar:ordered" not in gids and "bar:repurchased" not in gids  # 8 and 3 users
    assert "bar:interacted" in gids
    (note,) = [t for t in ax.texts if t.get_gid() == "hidden-note"]
    assert note.get_text().startswith("2 ")


def test_segment_required_when_several():
    with pytest.raises(ValueError, match="segment="):
        plot_funnel(frame())
    with pytest.raises(ValueError, match="lacks column"):
        plot_funnel(frame().drop("overall"), segment="a")


def test_chinese_labels_render():
    ax = plot_funnel(
        frame(),
        segment="a",
        lang="zh",
        stage_labels={"viewers": "观看", "ordered": "下单"},
        title="互动漏斗",
    )
    assert ax.get_xlabel() == "占入口人数比例"
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "观看"
    ax.get_figure().savefig(io.BytesIO(), format="png")
