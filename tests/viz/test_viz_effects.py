"""plot_effects, tested through its points, intervals, markers and texts."""

from __future__ import annotations

import polars as pl
import pytest
from matplotlib.ticker import PercentFormatter

from insights.stats.effects import proportion_effect
from insights.viz.effects import plot_effects

# (outcome, arm, treatment x/n, control x/n); "tiny" has a control arm below min_cell
CELLS = [
    ("retention_d7", "comment", (300, 500), (240, 500)),
    ("retention_d7", "danmaku", (255, 500), (240, 500)),
    ("join_30d", "comment", (60, 500), (50, 500)),
    ("join_30d", "danmaku", (52, 500), (50, 500)),
    ("tiny", "comment", (3, 20), (1, 6)),
]


def summary() -> pl.DataFrame:
    rows = []
    for outcome, arm, (x1, n1), (x0, n0) in CELLS:
        e = proportion_effect(x1, n1, x0, n0)
        rows.append(
            {"outcome": outcome, "arm": arm, "control": "control", "n_arm": n1, "n_control": n0,
             "relative": e.relative, "relative_ci_low": e.relative_ci_low,
             "relative_ci_high": e.relative_ci_high, "p_adjusted": min(1.0, e.p_value * 4)}
        )  # fmt: skip
    return pl.DataFrame(rows)


def point(ax, gid):
    (line,) = [ln for ln in ax.lines if ln.get_gid() == gid]
    return line


def test_points_intervals_and_significance(catalog_text) -> None:
    s = summary()
    ax = plot_effects(s)
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        catalog_text("en", "metric.retention_d{day}").format(day=7),
        catalog_text("en", "metric.join_{window}d").format(window=30),
    ]
    comment = s.row(0, named=True)
    line = point(ax, "point:comment:retention_d7")
    assert line.get_xdata()[0] == pytest.approx(comment["relative"])  # 300/240 - 1 = 0.25
    assert comment["relative"] == pytest.approx(0.25)
    # the interval drawn is the relative CI
    bars = [c for c in ax.containers if c.lines[0] is line][0].lines[2][0]
    (seg,) = bars.get_segments()
    assert (seg[0][0], seg[1][0]) == pytest.approx(
        (comment["relative_ci_low"], comment["relative_ci_high"])
    )
    # significant after adjustment: filled + star; not significant: hollow, no star
    stars = {t.get_gid() for t in ax.texts if (t.get_gid() or "").startswith("sig:")}
    assert stars == {"sig:comment:retention_d7"}
    assert point(ax, "point:danmaku:join_30d").get_markerfacecolor() == "white"
    zero = [ln for ln in ax.lines if ln.get_gid() == "zero"]
    assert zero and tuple(zero[0].get_xdata()) == (0.0, 0.0)
    assert isinstance(ax.xaxis.get_major_formatter(), PercentFormatter)
    notes = [t for t in ax.texts if t.get_gid() == "notes"][0].get_text()
    assert "Holm" in notes and "1 estimate(s) hidden (< 10 users, or to protect one)" in notes
    control = catalog_text("en", "value.control")
    assert ax.get_xlabel() == catalog_text("en", "figure.effects.x").format(control=control)


def test_chinese_labels_and_bad_input() -> None:
    ax = plot_effects(summary(), lang="zh", min_cell=0)
    assert "tiny" in [t.get_text() for t in ax.get_yticklabels()]
    assert "相对" in ax.get_xlabel()
    with pytest.raises(ValueError, match="lacks column"):
        plot_effects(pl.DataFrame({"outcome": ["a"]}))
    with pytest.raises(ValueError, match="min_cell"):
        plot_effects(summary(), min_cell=-1)
    with pytest.raises(ValueError, match="lang"):
        plot_effects(summary(), lang="fr")
