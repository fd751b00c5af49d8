"""Cohort LTV curves with bootstrap bands (``ins.cohort_ltv``).

:func:`plot_ltv` only draws: one line per cohort (and segment), its CI band, points
that are not yet observed for the whole cohort dashed, and cells with fewer than
``min_cell`` users left out (a note says how many).

Many cohorts stay readable: when more than six curves would be drawn, only the
latest cohorts are drawn in colour with a legend entry (as many as make six curves
with the segments, at least one cohort), the others thin and grey behind them, with
one grey legend entry "Other cohorts" and no CI band; ``highlight=`` chooses the
coloured cohorts instead (a number of latest cohorts, or a list of them).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from insights._options import Lang, resolve_lang, resolve_min_cell
from insights.viz._common import new_axes
from insights.viz._fonts import apply_fonts, font_context
from insights.viz._labels import SEP, currency_label, label, value_label
from insights.viz._palette import PaletteLike, group_palette

__all__ = ["plot_ltv"]

_NEEDED = ("cohort", "t", "value", "n")
_COLOURED = 6  # at most this many curves in colour by default
_FADED = "#b5b5b5"


def plot_ltv(
    data: pl.DataFrame,
    *,
    ax: Axes | None = None,
    highlight: int | Sequence[str] | None = None,
    lang: Lang | None = None,
    min_cell: int | None = None,
    palette: PaletteLike = None,
    ci: bool = True,
    title: str | None = None,
) -> Axes:
    """Plot cumulative LTV by day since acquisition, one curve per cohort (x segment).

    Parameters
    ----------
    data
        The output of ``ins.cohort_ltv``: ``cohort, t, value, n`` (``value`` = LTV(t))
        and optionally ``segment``, ``cohort_start`` (orders the cohorts; else their
        names), ``ci_low``/``ci_high``, ``complete``.
    ax
        Axes to draw on (a new figure when None).
    highlight
        Cohorts drawn in colour, with a legend entry and CI band: a number (the latest
        ``highlight`` cohorts) or a list of cohort names. The others are thin grey lines
        under one grey legend entry. Default: every cohort when at most six curves are
        drawn, else the latest ``max(1, 6 // segments)`` cohorts.
    lang
        ``"en"`` or ``"zh"`` (Chinese labels and a CJK font).
        Default from ``ins.options`` (``"en"`` unless set).
    min_cell
        Points with fewer than ``min_cell`` users are not drawn; a curve with no
        point left is hidden and counted in a note.
        Default from ``ins.options`` (10 unless set).
    palette
        Colours, as :func:`insights.viz.group_palette` (for the coloured curves).
    ci
        Draw the CI band of the coloured curves (when ``ci_low``/``ci_high`` are present).
    title
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        Artists carry gids ``curve:<label>``, ``ci:<label>``, ``incomplete:<label>``
        (coloured) and ``faded:<label>`` (grey), ``<label>`` being the cohort, or
        ``<segment> · <cohort>`` with segments (legend: the segment's catalog name).
        Points not observed for the whole cohort (``complete`` False) are drawn
        dashed with hollow markers, and the legend says so ("Not yet fully
        observable"); points nobody has reached (null ``value``) are not drawn.

    Examples
    --------
    >>> f = pl.DataFrame({"cohort": ["2024-01"] * 3, "t": [0, 7, 30], "value": [1.0, 3.0, 5.0],
    ...                   "ci_low": [0.8, 2.5, 4.0], "ci_high": [1.2, 3.5, 6.0], "n": [50] * 3,
    ...                   "complete": [True, True, False]})
    >>> import insights as ins
    >>> ax = ins.plot_ltv(f)
    >>> sorted(a.get_gid() for a in ax.lines)
    ['curve:2024-01', 'incomplete:2024-01']
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['2024-01', 'Not yet fully observable']
    """
    ltv_frame = data
    lang = resolve_lang(lang)
    min_cell = resolve_min_cell(min_cell)
    missing = [c for c in _NEEDED if c not in ltv_frame.columns]
    if missing:
        raise ValueError(f"data lacks columns {missing}; pass the output of cohort_ltv")
    data = ltv_frame
    if "segment" not in data.columns:
        data = data.with_columns(segment=pl.lit("all"))
    if "complete" not in data.columns:
        data = data.with_columns(complete=pl.lit(True))
    data = data.with_columns(pl.col("segment", "cohort").cast(pl.String))
    several = data["segment"].n_unique() > 1
    data = data.with_columns(
        (
            pl.concat_str(["segment", "cohort"], separator=SEP) if several else pl.col("cohort")
        ).alias("_label")
    ).sort("_label", "t")
    labels = data["_label"].unique(maintain_order=True).to_list()
    shown = data.filter(pl.col("n") >= min_cell, pl.col("value").is_not_null())
    hidden = len(labels) - shown["_label"].n_unique()
    n_curves = shown["_label"].n_unique()
    coloured = _coloured_cohorts(
        shown, highlight, n_curves, data["segment"].n_unique(), data["cohort"].unique().to_list()
    )
    bright = shown.filter(pl.col("cohort").is_in(coloured))["_label"].unique().to_list()
    colours = group_palette(sorted(bright), palette)
    target = new_axes(ax, (7.0, 4.2))
    with font_context(lang) as families:
        faded = 0
        partly = False  # a coloured curve has points not observed for its whole cohort
        for name, part in shown.group_by("_label", maintain_order=True):
            key = str(name[0])
            if key in colours:
                _draw(target, part, key, colours[key], ci=ci, lang=lang)
                partly = partly or not part["complete"].fill_null(value=False).all()
            else:
                faded += 1
                t = part["t"].cast(pl.Float64).to_numpy()
                y = part["value"].cast(pl.Float64).to_numpy()
                target.plot(t, y, color=_FADED, lw=0.8, zorder=1, gid=f"faded:{key}")
        target.set_xlabel(label("ltv.x", lang))
        target.set_ylabel(label("ltv.y", lang, currency=currency_label(lang)))
        target.set_xlim(left=0)
        target.set_ylim(bottom=0)
        if title:
            target.set_title(title)
        if shown.height and (n_curves > 1 or several or partly):
            handles, _names = target.get_legend_handles_labels()
            if faded:
                handles.append(
                    Line2D([], [], color=_FADED, lw=0.8, label=label("ltv.others", lang))
                )
            if partly:
                handles.append(
                    Line2D([], [], color="#555555", ls="--", marker="o", ms=3, mfc="white",
                           label=label("incomplete", lang))
                )  # fmt: skip
            target.legend(handles=handles, title=label("cohort", lang), fontsize="small",
                          frameon=False)  # fmt: skip
        if hidden:
            target.text(0.99, 0.01, label("hidden_groups", lang, k=hidden, m=min_cell),
                        transform=target.transAxes, ha="right", va="bottom", fontsize="small",
                        color="#666666", gid="hidden-note")  # fmt: skip
        apply_fonts(target, families)
    return target


def _coloured_cohorts(
    shown: pl.DataFrame,
    highlight: int | Sequence[str] | None,
    n_curves: int,
    n_segments: int,
    known: list[str],
) -> list[str]:
    """The cohorts drawn in colour (see ``highlight`` of :func:`plot_ltv`)."""
    order = "cohort_start" if "cohort_start" in shown.columns else "cohort"
    cohorts = (
        shown.group_by("cohort").agg(pl.col(order).min().alias("__o")).sort("__o", "cohort")
    )["cohort"].to_list()
    if highlight is None:
        if n_curves <= _COLOURED:
            return cohorts
        highlight = max(1, _COLOURED // max(n_segments, 1))
    if isinstance(highlight, int):
        if isinstance(highlight, bool) or highlight < 1:
            raise ValueError(f"highlight must be a positive number or cohorts, got {highlight!r}")
        return cohorts[-highlight:]
    if isinstance(highlight, str):
        highlight = [highlight]
    chosen = [str(c) for c in highlight]
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ValueError(f"highlight names unknown cohorts {unknown}; cohorts: {sorted(known)}")
    return chosen


def _draw(ax: Axes, part: pl.DataFrame, key: str, colour: str, *, ci: bool, lang: str) -> None:
    t = part["t"].cast(pl.Float64).to_numpy()
    y = part["value"].cast(pl.Float64).to_numpy()
    done = part["complete"].fill_null(False).to_numpy()
    last = int(done.nonzero()[0].max()) if done.any() else 0
    ax.plot(t[: last + 1], y[: last + 1], color=colour, marker="o", ms=3,
            label=value_label(key, lang), gid=f"curve:{key}")  # fmt: skip
    if last + 1 < t.size:
        ax.plot(t[last:], y[last:], color=colour, ls="--", marker="o", ms=3, mfc="white",
                gid=f"incomplete:{key}")  # fmt: skip
    if ci and {"ci_low", "ci_high"} <= set(part.columns):
        low = part["ci_low"].cast(pl.Float64).to_numpy()
        high = part["ci_high"].cast(pl.Float64).to_numpy()
        ax.fill_between(t, low, high, color=colour, alpha=0.15, lw=0, gid=f"ci:{key}")
