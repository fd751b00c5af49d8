"""plot_survival, tested through its artists against raw per-user rows and lifelines."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from functools import cache
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import pytest
from lifelines import KaplanMeierFitter
from matplotlib.axes import Axes
from matplotlib.colors import to_hex

from insights.stats.km import kaplan_meier
from insights.viz._palette import group_palette
from insights.viz.survival import plot_survival

# Raw per-user rows: group sizes 40, 30 and 5 (the last one is below min_cell = 10).
SIZES = {"a": 40, "b": 30, "c": 5}


def raw_rows() -> pl.DataFrame:
    rng = np.random.default_rng(11)
    parts = []
    for (group, n), scale in zip(SIZES.items(), (25, 45, 30), strict=True):
        life = np.ceil(rng.exponential(scale, n)).astype(int)
        cens = rng.integers(5, 80, n)
        parts.append(
            pl.DataFrame(
                {
                    "segment": [group] * n,
                    "T": np.minimum(life, cens),
                    "E": (life <= cens).astype(int),
                }
            )
        )
    return pl.concat(parts)


RAW = raw_rows()


@cache
def km_table() -> pl.DataFrame:
    """The Kaplan–Meier table of RAW (computed once; plots never modify it)."""
    counts = RAW.group_by("segment", "T", "E").agg(pl.len().alias("count"))
    return kaplan_meier(counts, duration="T", event="E")


@dataclass(frozen=True)
class FakeCurves:
    """Stand-in for SurvivalCurves (duck-typed: table, summary, counts, by)."""

    table: pl.DataFrame
    summary: pl.DataFrame
    counts: pl.DataFrame | None = None
    by: tuple[str, ...] = ()


def gid_artists(ax: Axes, prefix: str) -> dict[str, Any]:
    out = {}
    for artist in [*ax.lines, *ax.collections, *ax.texts]:
        gid = artist.get_gid() or ""
        if gid.startswith(prefix + ":"):
            out[gid.split(":", 1)[1]] = artist
    return out


def risk_table(ax: Axes) -> Axes:
    (table,) = [c for c in ax.child_axes if c.get_gid() == "risk-table"]
    return table


@cache
def lifelines_fit(group: str) -> KaplanMeierFitter:
    sub = RAW.filter(pl.col("segment") == group)
    return KaplanMeierFitter().fit(sub["T"].to_numpy(), sub["E"].to_numpy())


def test_one_step_curve_and_one_band_per_shown_group():
    ax = plot_survival(km_table())
    curves = gid_artists(ax, "curve")
    assert sorted(curves) == ["a", "b"]  # "c" has 5 users < 10
    assert all(line.get_drawstyle() == "steps-post" for line in curves.values())
    bands = gid_artists(ax, "ci")
    assert sorted(bands) == ["a", "b"]
    # the curve starts at (0, 100%) and follows lifelines' S(t) at each drawn time
    x, y = curves["a"].get_data()
    assert (x[0], y[0]) == (0.0, 1.0)
    expected = lifelines_fit("a").survival_function_at_times(x[1:]).to_numpy()
    np.testing.assert_allclose(y[1:], expected, atol=1e-12)
    assert not gid_artists(plot_survival(km_table(), ci=False), "ci")


def test_censor_marks_at_censored_times():
    ax = plot_survival(km_table())
    marks = gid_artists(ax, "censor")["b"]
    assert marks.get_marker() == "+" and marks.get_linestyle() == "None"
    sub = RAW.filter(pl.col("segment") == "b")
    t = sub["T"].to_numpy()
    last_kept = max(u for u in np.unique(np.append(t, 0)) if (t >= u).sum() >= 10)
    expected = sorted(
        {int(u) for u in sub.filter(pl.col("E") == 0)["T"].to_list() if 0 < u <= last_kept}
    )
    x, y = marks.get_data()
    assert list(x) == expected
    np.testing.assert_allclose(y, lifelines_fit("b").survival_function_at_times(x).to_numpy())
    assert len(gid_artists(plot_survival(km_table(), censor_marks=False), "censor")) == 0


def test_curves_stop_where_fewer_than_min_cell_remain_at_risk():
    ax = plot_survival(km_table())
    for group, line in gid_artists(ax, "curve").items():
        t = RAW.filter(pl.col("segment") == group)["T"].to_numpy()
        last_kept = max(u for u in np.unique(np.append(t, 0)) if (t >= u).sum() >= 10)
        assert line.get_xdata().max() == last_kept


def test_risk_table_counts_equal_raw_number_at_risk_at_ticks():
    ax = plot_survival(km_table(), ticks=[0, 10, 20, 25, 40, 60])
    assert list(ax.get_xticks()) == [0, 10, 20, 25, 40, 60]
    table = risk_table(ax)
    for group in ("a", "b"):
        texts = [t for t in table.texts if t.get_gid() == f"risk-count:{group}"]
        assert [t.get_position()[0] for t in texts] == [0, 10, 20, 25, 40, 60]
        t = RAW.filter(pl.col("segment") == group)["T"].to_numpy()
        at_risk = [int((t >= tick).sum()) for tick in (0, 10, 20, 25, 40, 60)]
        expected = [f"<{10}" if 0 < v < 10 else f"{v:,}" for v in at_risk]
        assert [x.get_text() for x in texts] == expected
    assert "<10" in [x.get_text() for x in table.texts]  # the tail is suppressed
    labels = {t.get_gid(): t for t in table.texts if t.get_gid().startswith("risk-label")}
    assert sorted(labels) == ["risk-label:a", "risk-label:b"]
    palette = group_palette(SIZES)  # built from all groups, hidden ones included
    assert to_hex(labels["risk-label:a"].get_color()) == palette["a"]


def test_risk_table_aligned_under_ticks_without_overlap():
    ax = plot_survival(km_table())
    fig = ax.get_figure()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    table = risk_table(ax)
    tick_labels = [t for t in ax.get_xticklabels() if t.get_text()]
    counts = [t for t in table.texts if t.get_gid() == "risk-count:a"]
    assert len(tick_labels) == len(counts) >= 3
    for tick, count in zip(tick_labels, counts, strict=True):
        a, b = tick.get_window_extent(renderer), count.get_window_extent(renderer)
        assert abs((a.x0 + a.x1) / 2 - (b.x0 + b.x1) / 2) < 1.0  # centred under the tick
    xlabel = ax.xaxis.label.get_window_extent(renderer)
    top_of_table = max(t.get_window_extent(renderer).y1 for t in [*table.texts, table.title])
    assert top_of_table < xlabel.y0  # the table starts below the x label
    rows = {}
    for text in table.texts:
        rows.setdefault(round(text.get_window_extent(renderer).y0), []).append(text)
    for row in rows.values():  # within a row no text overlaps another
        boxes = sorted((t.get_window_extent(renderer) for t in row), key=lambda b: b.x0)
        assert all(left.x1 < right.x0 for left, right in zip(boxes, boxes[1:], strict=False))
    figure_box = fig.bbox
    for text in table.texts:
        box = text.get_window_extent(renderer)
        assert figure_box.x0 <= box.x0 and box.y0 >= figure_box.y0  # nothing cut off


def test_median_lines_at_the_km_median():
    table = km_table()
    ax = plot_survival(table)
    medians = gid_artists(ax, "median")
    for group, line in medians.items():
        x, y = line.get_data()
        expected = lifelines_fit(group).median_survival_time_
        assert x[1] == x[2] == expected
        assert list(y) == [0.5, 0.5, 0.0]
    # with a summary, its median (Brookmeyer–Crowley result object) is the one drawn
    summary = pl.DataFrame(
        {"segment": ["a", "b", "c"], "n": [40, 30, 5], "median": [17.0, None, 9.0]}
    )
    ax = plot_survival(FakeCurves(table=table, summary=summary))
    medians = gid_artists(ax, "median")
    assert sorted(medians) == ["a"]  # b: not reached; c: hidden
    assert medians["a"].get_xdata()[1] == 17.0
    assert not gid_artists(plot_survival(table, median_lines=False), "median")


@dataclass(frozen=True)
class FakeComparison:
    overall: Any


@pytest.mark.parametrize(
    ("overall", "text"),
    [
        ({"test": "logrank", "p_value": 0.0031}, "Log-rank p = 0.003"),
        ({"test": "logrank", "p_value": 0.0002}, "Log-rank p < 0.001"),
        ({"test": "fleming-harrington", "p_value": 0.42}, "fleming-harrington p = 0.42"),
        (pl.DataFrame({"test": ["logrank"], "p_value": [0.0312]}), "Log-rank p = 0.031"),
    ],
)
def test_p_value_annotation(overall, text):
    ax = plot_survival(km_table(), comparison=FakeComparison(overall))
    (ptext,) = [t for t in ax.texts if t.get_gid() == "pvalue"]
    assert ptext.get_text() == text


def test_p_value_in_chinese_and_bare_float():
    ax = plot_survival(km_table(), comparison=0.0004, lang="zh")
    assert [t.get_text() for t in ax.texts if t.get_gid() == "pvalue"] == ["对数秩检验 p < 0.001"]


def test_small_groups_hidden_everywhere_with_a_note():
    ax = plot_survival(km_table())
    legend = ax.get_legend()
    assert "1 group(s) hidden (< 10 users, or to protect one)" in legend.get_title().get_text()
    assert [t.get_text() for t in legend.get_texts()] == ["a", "b"]
    table = risk_table(ax)
    assert not [t for t in table.texts if t.get_gid().endswith(":c")]
    every_text = [t.get_text() for t in ax.get_figure().findobj(plt.Text)]
    assert "c" not in every_text
    # min_cell=3 shows c; min_cell=50 hides all and says so
    assert "c" in gid_artists(plot_survival(km_table(), min_cell=3), "curve")
    ax = plot_survival(km_table(), min_cell=50)
    assert not gid_artists(ax, "curve")
    (note,) = [t for t in ax.texts if t.get_gid() == "hidden-note"]
    assert "3 group(s) hidden (< 50 users, or to protect one)" in note.get_text()


def test_hiding_a_group_does_not_change_the_other_colours():
    shown = gid_artists(plot_survival(km_table(), min_cell=3), "curve")
    hidden = gid_artists(plot_survival(km_table(), min_cell=10), "curve")
    for group in ("a", "b"):
        assert shown[group].get_color() == hidden[group].get_color()
    custom = gid_artists(plot_survival(km_table(), palette={"a": "red"}), "curve")
    assert to_hex(custom["a"].get_color()) == "#ff0000"


def test_chinese_labels_render_without_missing_glyphs():
    ax = plot_survival(km_table(), lang="zh", title="留存曲线")
    assert ax.get_ylabel() == "留存率" and ax.get_xlabel() == "天数"
    assert risk_table(ax).get_title(loc="left") == "风险人数"
    assert "个分组未显示（少于 10 人" in ax.get_legend().get_title().get_text()
    # pytest turns matplotlib's "Glyph ... missing" warning into an error
    ax.get_figure().savefig(io.BytesIO(), format="png")


def test_english_plot_with_chinese_group_names_renders():
    ax = plot_survival(km_table().with_columns(pl.col("segment").replace({"a": "抖音"})))
    assert "抖音" in [t.get_text() for t in ax.get_legend().get_texts()]
    ax.get_figure().savefig(io.BytesIO(), format="png")


@cache
def facet_curves() -> FakeCurves:
    raw = RAW.filter(pl.col("segment") != "c").with_columns(
        pl.when(pl.col("T") % 2 == 0)
        .then(pl.lit("douyin"))
        .otherwise(pl.lit("kuaishou"))
        .alias("platform"),
        pl.col("segment").alias("channel"),
    )
    raw = raw.with_columns(pl.concat_str("platform", "channel", separator=" · ").alias("segment"))
    counts = raw.group_by("segment", "platform", "channel", "T", "E").agg(pl.len().alias("count"))
    table = kaplan_meier(counts, duration="T", event="E")
    summary = table.group_by("segment").agg(pl.col("at_risk").max().alias("n"))
    return FakeCurves(table=table, summary=summary, counts=counts, by=("platform", "channel"))


def panels(ax):
    return [a for a in ax.get_figure().axes if str(a.get_gid()).startswith("panel:")]


def test_facets_one_panel_per_value_with_consistent_colours(catalog_text):
    ax = plot_survival(facet_curves(), col="platform", title="by platform")
    axes = panels(ax)
    assert isinstance(ax, Axes) and axes[0] is ax and len(axes) == 2
    platform = catalog_text("en", "dimension.platform").capitalize()
    assert [a.get_title() for a in axes] == [
        f"{platform} = {catalog_text('en', f'value.{v}')}" for v in ("douyin", "kuaishou")
    ]
    colours = {}
    for panel in axes:
        curves = gid_artists(panel, "curve")
        value = panel.get_gid().removeprefix("panel:")
        assert curves and all(g.startswith(value) for g in curves)
        for group, line in curves.items():
            colours.setdefault(group.split(" · ")[1], set()).add(line.get_color())
        assert risk_table(panel) is not None
    assert all(len(c) == 1 for c in colours.values()) and len(colours) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    assert (
        ax.get_legend().get_title().get_text()
        == catalog_text("en", "dimension.channel").capitalize()
    )
    assert ax.get_figure()._suptitle.get_text() == "by platform"


def test_facets_split_the_ax_given():
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    ax = plot_survival(facet_curves(), col="platform", ax=right, at_risk_table=False)
    assert ax is right
    axes = panels(ax)
    assert len(axes) == 2 and axes[0] is right
    assert left not in axes and not left.lines  # the other subplot is untouched
    assert axes[1].get_position().x0 > right.get_position().x0


def test_does_not_mutate_its_inputs():
    table = km_table.__wrapped__()
    before = table.clone()
    curves = facet_curves.__wrapped__()
    copies = (curves.table.clone(), curves.summary.clone(), curves.counts.clone())
    plot_survival(table, comparison=0.01)
    plot_survival(curves, col="platform")
    assert table.equals(before)
    assert all(
        a.equals(b)
        for a, b in zip(copies, (curves.table, curves.summary, curves.counts), strict=True)
    )


def test_bad_arguments_name_the_argument():
    table = km_table()
    _fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="ax must be a subplot"):
        plot_survival(facet_curves(), col="platform", ax=ax.get_figure().add_axes((0, 0, 1, 1)))
    with pytest.raises(ValueError, match="col='city'"):
        plot_survival(facet_curves(), col="city")
    with pytest.raises(ValueError, match="lacks column"):
        plot_survival(table.drop("at_risk"))
    with pytest.raises(ValueError, match="lang must be one of"):
        plot_survival(table, lang="fr")
    with pytest.raises(ValueError, match="min_cell"):
        plot_survival(table, min_cell=-1)
    with pytest.raises(ValueError, match="data must be"):
        plot_survival({"table": table})
    with pytest.raises(ValueError, match=r"ticks must be numbers in \[0, xmax=30\]"):
        plot_survival(table, xmax=30, ticks=[0, 40])
    with pytest.raises(ValueError, match="xmax must be a positive number"):
        plot_survival(table, xmax=0)
    with pytest.raises(ValueError, match="p-value"):
        plot_survival(table, comparison=1.5)


def test_draws_on_a_given_axes():
    _fig, ax = plt.subplots(layout="constrained")
    assert plot_survival(km_table(), ax=ax) is ax


def test_with_a_real_survival_curves_result():
    retention = pytest.importorskip("insights.metrics.retention")
    if not hasattr(retention, "retention_curves"):
        pytest.skip("retention_curves not available")
    from insights.data.dataset import frames_dataset

    rng = np.random.default_rng(5)
    n = 60
    t0 = dt.datetime(2024, 1, 1, 9)
    users = pl.DataFrame(
        {
            "user_id": np.arange(n),
            "first_seen_at": [t0 + dt.timedelta(days=int(d)) for d in rng.integers(0, 30, n)],
            "platform": np.where(np.arange(n) < 40, "douyin", "kuaishou"),
        }
    )
    days = [(u, int(d)) for u in range(n) for d in np.cumsum(rng.integers(1, 25, 4))]
    views = pl.DataFrame(
        {
            "user_id": [u for u, _ in days],
            "started_at": [users["first_seen_at"][u] + dt.timedelta(days=d) for u, d in days],
            "watch_seconds": [60.0] * len(days),
        }
    )
    orders = pl.DataFrame({"order_id": [1], "user_id": [0], "ordered_at": [t0], "amount": [9.0]})
    inter = pl.DataFrame({"user_id": [0], "at": [t0], "kind": ["like"]})
    ds = frames_dataset(
        as_of="2024-04-15",
        users=users.lazy(),
        views=views.lazy(),
        orders=orders.lazy(),
        interactions=inter.lazy(),
    )
    curves = retention.retention_curves(ds, by="platform")
    ax = plot_survival(curves, ticks=[0, 20, 40, 60])
    assert sorted(gid_artists(ax, "curve")) == ["douyin", "kuaishou"]
    expected = curves.at([0, 20, 40, 60])
    table = risk_table(ax)
    for group in ("douyin", "kuaishou"):
        shown = [t.get_text() for t in table.texts if t.get_gid() == f"risk-count:{group}"]
        at_risk = expected.filter(pl.col("segment") == group)["at_risk"].to_list()
        assert shown == ["<10" if 0 < v < 10 else f"{int(v):,}" for v in at_risk]
    for group, line in gid_artists(ax, "median").items():
        median = curves.summary.filter(pl.col("segment") == group)["median"].item()
        assert line.get_xdata()[1] == median
