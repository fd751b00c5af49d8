"""plot_retention_matrix and retention_matrix_html, tested through artists and markup."""

from __future__ import annotations

import datetime as dt
import io
import re

import numpy as np
import polars as pl
import pytest
from matplotlib.collections import QuadMesh

from insights.viz._matrix_html import retention_matrix_html
from insights.viz.retention_matrix import plot_retention_matrix

# cohort -> size; cohort "2024-03" (n = 7) is below min_cell = 10
SIZES = {"2024-01": 200, "2024-02": 150, "2024-03": 7, "2024-04": 120}
# hand-written retained counts per period; the last observed period of each cohort is incomplete
RETAINED = {
    "2024-01": [200, 90, 70, 61],
    "2024-02": [150, 60, 51],
    "2024-03": [7, 2],
    "2024-04": [120, 44],
}
INCOMPLETE = {("2024-01", 3), ("2024-02", 2), ("2024-03", 1), ("2024-04", 1)}


def wilson(k: float, n: float, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def matrix() -> pl.DataFrame:
    rows = []
    for i, (cohort, retained) in enumerate(RETAINED.items()):
        n = SIZES[cohort]
        for period, k in enumerate(retained):
            lo, hi = wilson(k, n)
            rows.append(
                {
                    "cohort": cohort,
                    "cohort_start": dt.date(2024, i + 1, 1),
                    "period": period,
                    "value": k / n,
                    "ci_low": lo,
                    "ci_high": hi,
                    "retained": k,
                    "n": n,
                    "complete": (cohort, period) not in INCOMPLETE,
                }
            )
    # mean row over complete cells of cohorts with n >= 10 (hand-computed)
    mean = {0: (470, 470), 1: (150, 350), 2: (70, 200)}
    for period, (k, n) in mean.items():
        lo, hi = wilson(k, n)
        rows.append(
            {
                "cohort": "mean",
                "cohort_start": None,
                "period": period,
                "value": k / n,
                "ci_low": lo,
                "ci_high": hi,
                "retained": k,
                "n": n,
                "complete": True,
            }
        )
    # rows out of order, as an engine might return them
    return pl.DataFrame(rows).sample(fraction=1.0, shuffle=True, seed=3)


def by_gid(ax, gid):
    return [p for p in [*ax.patches, *ax.collections, *ax.texts] if p.get_gid() == gid]


def test_incomplete_cells_hatched_small_cells_masked():
    ax = plot_retention_matrix(matrix())
    hatched = by_gid(ax, "incomplete")
    assert len(hatched) == 3  # the incomplete cell of the small cohort is suppressed instead
    assert all(p.get_hatch() == "//" for p in hatched)
    # hatched positions: (column, row top) of each incomplete cell of a shown cohort
    rows = {"2024-01": 0, "2024-02": 1, "2024-04": 3}
    expected = sorted((period, rows[c]) for c, period in INCOMPLETE if c in rows)
    assert sorted((int(p.get_x()), int(p.get_y())) for p in hatched) == expected
    suppressed = by_gid(ax, "suppressed")
    assert len(suppressed) == 2 and {int(p.get_y()) for p in suppressed} == {2}


def test_cell_texts_and_row_labels_never_show_a_small_cell():
    ax = plot_retention_matrix(matrix())
    texts = [t.get_text() for t in by_gid(ax, "cell-text")]
    assert texts.count("<10") == 2
    assert "28.6%" not in texts and "2" not in texts  # 2 of 7 retained is never shown
    assert "45.0%" in texts and "36.7%" in texts  # 90/200 and 44/120
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [
        "2024-01  (n=200)",
        "2024-02  (n=150)",
        "2024-03  (n<10)",
        "2024-04  (n=120)",
        "Mean",
    ]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2", "3"]


def test_cell_colours_follow_the_rates_and_mean_row_is_set_apart():
    ax = plot_retention_matrix(matrix(), annotate=False)
    assert not by_gid(ax, "cell-text")
    (cells,) = [c for c in ax.collections if c.get_gid() == "cells"]  # seaborn's heatmap mesh
    assert isinstance(cells, QuadMesh)
    values = cells.get_array()
    assert values.shape == (5, 4)  # 4 cohorts, then the mean row
    assert values[0, 1] == pytest.approx(90 / 200) and values.mask[2].all()  # small cohort masked
    assert values.mask[3, 2:].all()  # not observed at all: blank, not zero
    # the mean row is the last row, set apart from the cohorts by a line
    assert values[4, 1] == pytest.approx(150 / 350)
    (gap,) = [line for line in ax.lines if line.get_gid() == "mean-gap"]
    assert list(gap.get_ydata()) == [4.0, 4.0]
    # the colour scale tops out at the largest rate after period 0
    assert cells.norm.vmax == pytest.approx(90 / 200)


def test_retained_counts_suppress_small_counts():
    frame = matrix().with_columns(
        pl.when((pl.col("cohort") == "2024-04") & (pl.col("period") == 1))
        .then(4)
        .otherwise(pl.col("retained"))
        .alias("retained")
    )
    ax = plot_retention_matrix(frame, column="retained")
    texts = [t.get_text() for t in by_gid(ax, "cell-text")]
    assert "90" in texts and "4" not in texts
    assert texts.count("<10") == 3


def test_html_titles_colours_and_no_small_numbers():
    html = retention_matrix_html(matrix())
    assert html.startswith('<table class="insights-retention"')
    assert html._repr_html_() == str(html)
    titles = re.findall(r'title="([^"]*)"', html)
    lo, hi = wilson(90, 200)
    assert f"n = 200 · Retained users = 90 · 95% CI {lo:.1%}–{hi:.1%}" in titles
    assert sum("Not yet fully observable" in t for t in titles) == 3
    assert html.count('class="incomplete"') == 3
    assert html.count('class="suppressed"') == 2
    suppressed_row = re.search(r"<tr[^>]*><th[^>]*>2024-03</th>(.*?)</tr>", html).group(1)
    assert "title=" not in suppressed_row
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", suppressed_row)
    assert cells == ["&lt;10", "&lt;10", "&lt;10", "", ""]  # n column, periods 0-1, blanks
    assert re.search(r"background-color:#[0-9a-f]{6}", html)
    assert "border-top:2px solid" in html and ">Mean<" in html


def test_html_escapes_text():
    frame = matrix().with_columns(pl.col("cohort").replace({"2024-01": '<b onclick="x">'}))
    html = retention_matrix_html(frame, title="A & B")
    assert '<b onclick="x">' not in html and "&lt;b onclick=&quot;x&quot;&gt;" in html
    assert "<caption>A &amp; B</caption>" in html


def test_chinese_labels_render_without_missing_glyphs():
    ax = plot_retention_matrix(matrix(), lang="zh", title="月留存")
    assert ax.get_ylabel() == "同期群"
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "均值"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["尚未完整观察", "少于 10 人，不显示"]
    ax.get_figure().savefig(io.BytesIO(), format="png")
    assert "留存人数 = 90" in retention_matrix_html(matrix(), lang="zh")


def test_segments_must_be_chosen():
    two = pl.concat([matrix().with_columns(segment=pl.lit(g)) for g in ("douyin", "kuaishou")])
    with pytest.raises(ValueError, match="several segments"):
        plot_retention_matrix(two)
    ax = plot_retention_matrix(two, segment="kuaishou")
    assert len(by_gid(ax, "incomplete")) == 3
    with pytest.raises(ValueError, match="segment='x' not in the matrix"):
        plot_retention_matrix(two, segment="x")
    one = matrix().with_columns(segment=pl.lit("all"))  # by=None: one segment, no choice needed
    assert len(by_gid(plot_retention_matrix(one), "suppressed")) == 2


def test_does_not_mutate_its_input():
    frame = matrix()
    before = frame.clone()
    plot_retention_matrix(frame)
    retention_matrix_html(frame)
    assert frame.equals(before)


def test_bad_arguments():
    with pytest.raises(ValueError, match="column must be one of"):
        plot_retention_matrix(matrix(), column="share")
    with pytest.raises(ValueError, match="lacks column"):
        plot_retention_matrix(matrix().drop("complete"))
    with pytest.raises(ValueError, match="several rows for one cohort and period"):
        plot_retention_matrix(pl.concat([matrix(), matrix()]))
    with pytest.raises(ValueError, match="lang must be one of"):
        retention_matrix_html(matrix(), lang="de")


def test_cells_flagged_by_the_engine_are_suppressed_and_empty_mean_cells_blank():
    frame = matrix().with_columns(
        ((pl.col("cohort") == "2024-02") & (pl.col("period") == 2)).alias("suppressed")
    )
    empty_mean = {
        "cohort": "mean",
        "period": 3,
        "value": None,
        "n": 0,
        "retained": 0,
        "complete": False,
    }
    frame = pl.concat([frame, pl.DataFrame([empty_mean])], how="diagonal_relaxed")
    ax = plot_retention_matrix(frame)
    suppressed = sorted((int(p.get_x()), int(p.get_y())) for p in by_gid(ax, "suppressed"))
    assert suppressed == [(0, 2), (1, 2), (2, 1)]  # small cohort + the flagged cell
    (cells,) = [c for c in ax.collections if c.get_gid() == "cells"]
    assert cells.get_array().mask[4, 3]  # the mean row's empty cell: blank, not "<10"
    texts = [t.get_text() for t in by_gid(ax, "cell-text")]
    assert len(texts) == 11 + 3 and texts.count("<10") == 3  # 11 cohort cells, 3 mean cells
    assert "34.0%" not in texts  # the flagged cell (51 / 150)


def test_seaborn_has_one_door():
    """Only the heatmap imports seaborn, and only when it draws (it pulls in pandas)."""
    import subprocess
    import sys
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src" / "insights"
    importers = sorted(
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if re.search(r"^\s*(import seaborn|from seaborn)", p.read_text(encoding="utf-8"), re.M)
    )
    assert importers == ["viz/retention_matrix.py"]
    code = "import sys, insights.viz; print('seaborn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
