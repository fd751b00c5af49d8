"""plot_ltv marks points not observed for the whole cohort: dashed, hollow, and said in the legend."""

from __future__ import annotations

import matplotlib.pyplot as plt
import polars as pl

from insights.viz.ltv import plot_ltv


def _frame(complete: list[bool]) -> pl.DataFrame:
    k = len(complete)
    return pl.DataFrame(
        {
            "cohort": ["2024-01"] * k,
            "t": [0, 30, 90][:k],
            "value": [8.0, 30.0, None][:k],
            "n": [20, 12, 0][:k],
            "complete": complete,
        }
    )


def test_incomplete_points_are_dashed_and_named_in_the_legend():
    ax = plot_ltv(_frame([True, False, False]), min_cell=0)
    lines = {a.get_gid(): a for a in ax.lines}
    tail = lines["incomplete:2024-01"]
    assert tail.get_linestyle() == "--" and tail.get_markerfacecolor() == "white"
    assert list(tail.get_xdata()) == [0.0, 30.0]  # the unreached t = 90 (no value) is not drawn
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["2024-01", "Not yet fully observable"]
    plt.close(ax.figure)


def test_complete_curve_has_no_incomplete_note():
    ax = plot_ltv(_frame([True, True]))
    assert ax.get_legend() is None  # one complete curve: nothing to explain
    assert [a.get_gid() for a in ax.lines] == ["curve:2024-01"]
    plt.close(ax.figure)


def test_incomplete_note_in_chinese():
    ax = plot_ltv(_frame([True, False]), lang="zh")
    assert ax.get_legend().get_texts()[-1].get_text() == "尚未完整观察"
    plt.close(ax.figure)
