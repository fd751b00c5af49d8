"""plot_segment_rates, tested through its error bars, ticks and labels."""

from __future__ import annotations

import io

import numpy as np
import polars as pl
import pytest
from matplotlib.colors import to_hex
from matplotlib.ticker import PercentFormatter

from insights.stats.proportions import wilson_interval
from insights.viz._palette import group_palette
from insights.viz.segment_rates import plot_segment_rates

# retained / n per segment; "tiny" has n = 6 < min_cell
# tiny (6 users) is hidden, and so is other, the next smallest: with the total of 6,746
# users known, hiding tiny alone would give its 6 back as the total minus the rest
COUNTS = {
    "douyin": (1240, 4000),
    "kuaishou": (756, 2100),
    "wechat": (312, 600),
    "other": (20, 40),
    "tiny": (3, 6),
}


def rates() -> pl.DataFrame:
    seg = list(COUNTS)
    k = np.array([COUNTS[s][0] for s in seg], dtype=float)
    n = np.array([COUNTS[s][1] for s in seg], dtype=float)
    lo, hi = np.array([wilson_interval(a, b) for a, b in zip(k, n, strict=True)]).T
    return pl.DataFrame(
        {
            "metric": "d30_retention",
            "segment": seg,
            "value": k / n,
            "ci_low": lo,
            "ci_high": hi,
            "n": n,
        }
    )


def ci_segments(ax, level):
    (lines,) = [c for c in ax.collections if c.get_gid() == f"ci:{level}"]
    return lines.get_segments()


def test_one_error_bar_per_shown_segment_sorted_by_value(catalog_text):
    frame = rates()
    ax = plot_segment_rates(frame)
    assert len(ax.containers) == 3  # tiny (n = 6) is not drawn, nor other (40) that protects it
    labels = [t.get_text() for t in ax.get_xticklabels()]
    kuaishou, douyin = (catalog_text("en", f"value.{v}") for v in ("kuaishou", "douyin"))
    assert labels == ["wechat\n(n=600)", f"{kuaishou}\n(n=2,100)", f"{douyin}\n(n=4,000)"]
    for position, segment in enumerate(("wechat", "kuaishou", "douyin")):
        k, n = COUNTS[segment]
        (segment_line,) = ci_segments(ax, segment)
        lo, hi = wilson_interval(k, n)
        np.testing.assert_allclose(segment_line, [[position, lo], [position, hi]])
        (point,) = [line for line in ax.lines if line.get_gid() == f"point:{segment}"]
        assert point.get_xydata().tolist() == [[position, k / n]]
        assert to_hex(point.get_color()) == group_palette(COUNTS)[segment]
    assert isinstance(ax.yaxis.get_major_formatter(), PercentFormatter)
    assert ax.get_ylabel() == "d30_retention" and ax.get_xlabel() == "Segment"


def test_small_segments_hidden_with_a_note():
    ax = plot_segment_rates(rates())
    (note,) = [t for t in ax.texts if t.get_gid() == "hidden-note"]
    assert note.get_text() == "2 segment(s) hidden (< 10 users, or to protect one)"
    assert not [c for c in ax.collections if c.get_gid() in ("ci:tiny", "ci:other")]
    # at min_cell 5 tiny still rests on 3 retained users: hidden, with other
    assert len(plot_segment_rates(rates(), min_cell=5).containers) == 3
    assert len(plot_segment_rates(rates(), min_cell=3).containers) == 5


def test_hue_dodges_and_colours_by_level():
    frame = pl.concat(
        [
            rates().with_columns(period=pl.lit("2024Q3")),
            rates().with_columns(period=pl.lit("2024Q4"), value=pl.col("value") * 0.9),
        ]
    )
    ax = plot_segment_rates(frame, hue="period", kind="bar")
    bars = [p for p in ax.patches if (p.get_gid() or "").startswith("bar:")]
    assert len(bars) == 6
    q3 = sorted(p.get_x() + p.get_width() / 2 for p in bars if p.get_gid() == "bar:2024Q3")
    q4 = sorted(p.get_x() + p.get_width() / 2 for p in bars if p.get_gid() == "bar:2024Q4")
    np.testing.assert_allclose(np.array(q4) - np.array(q3), 0.4)  # dodged within each position
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["2024Q3", "2024Q4"]
    # tiny and other, in each period
    assert "4 estimate(s) hidden (< 10 users, or to protect one)" in legend.get_title().get_text()
    assert ax.get_ylim()[0] == 0  # bars start at zero


def test_horizontal_and_not_percent_for_amounts():
    aov = pl.DataFrame(
        {
            "segment": ["a", "b"],
            "value": [88.0, 120.5],
            "ci_low": [80.0, 110.0],
            "ci_high": [96.0, 131.0],
            "n": [50, 40],
        }
    )
    ax = plot_segment_rates(aov, orient="h", show_n=False, sort=False)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert not isinstance(ax.xaxis.get_major_formatter(), PercentFormatter)
    (segment_line,) = ci_segments(ax, "b")
    np.testing.assert_allclose(segment_line, [[110.0, 1], [131.0, 1]])


def test_chinese_labels_render_without_missing_glyphs():
    frame = rates().with_columns(pl.col("segment").replace({"douyin": "抖音"}))
    ax = plot_segment_rates(frame, lang="zh", title="30日留存")
    assert ax.get_xlabel() == "分群"
    assert any(t.get_text().startswith("抖音\n(人数=") for t in ax.get_xticklabels())
    ax.get_figure().savefig(io.BytesIO(), format="png")


def test_does_not_mutate_its_input():
    frame = rates()
    before = frame.clone()
    plot_segment_rates(frame)
    assert frame.equals(before)


def test_bad_arguments():
    two = pl.concat([rates(), rates().with_columns(metric=pl.lit("d7_retention"))])
    with pytest.raises(ValueError, match="several metrics"):
        plot_segment_rates(two)
    assert len(plot_segment_rates(two, metric="d7_retention").containers) == 3
    with pytest.raises(ValueError, match="several rows per 'segment'"):
        plot_segment_rates(pl.concat([rates(), rates()]))
    with pytest.raises(ValueError, match="lacks column"):
        plot_segment_rates(rates().drop("n"))
    with pytest.raises(ValueError, match="kind must be one of"):
        plot_segment_rates(rates(), kind="line")


def test_long_category_names_do_not_overlap():
    frame = rates().with_columns(
        pl.col("segment").replace({"douyin": "wechat_channels", "kuaishou": "xiaohongshu_live"})
    )
    ax = plot_segment_rates(frame)
    fig = ax.get_figure()
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.get_xticklabels()]
    assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:], strict=False))
