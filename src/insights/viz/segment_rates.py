"""Estimates with confidence intervals per segment, from any tidy metric frame.

:func:`plot_segment_rates` draws ``value`` with its ``ci_low``–``ci_high`` interval
for each category of a column (points with error bars, or bars), optionally split
by a second column (``hue``, dodged), sorted by value, with a percent axis for
rates. Segments with fewer than ``min_cell`` users are not drawn.

Drawn with matplotlib, not seaborn's ``pointplot``: the frame already holds each
estimate with its own interval (Wilson, delta-method, Kaplan–Meier), while seaborn
aggregates raw rows and recomputes a bootstrap or normal interval; it cannot draw
given intervals without passing it one-row groups and a look-up as ``errorbar``.
"""

from __future__ import annotations

from typing import Literal

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.axes import Axes

from insights._options import Lang, resolve_lang, resolve_min_cell
from insights.tables._suppress import hide_small_numerators
from insights.viz._common import check_choice, format_count, percent_axis
from insights.viz._fonts import apply_fonts, font_context
from insights.viz._labels import column_label, label, metric_label, value_label
from insights.viz._palette import PaletteLike, group_palette

__all__ = ["plot_segment_rates"]


def plot_segment_rates(
    data: pl.DataFrame,
    *,
    ax: Axes | None = None,
    x: str = "segment",
    hue: str | None = None,
    metric: str | None = None,
    lang: Lang | None = None,
    min_cell: int | None = None,
    kind: Literal["point", "bar"] = "point",
    orient: Literal["v", "h"] = "v",
    sort: bool = True,
    percent: bool | None = None,
    palette: PaletteLike = None,
    show_n: bool = True,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> Axes:
    """Plot one estimate with its CI per category (e.g. D30 retention per platform).

    Parameters
    ----------
    data
        A tidy metric frame: columns ``x`` (and ``hue``), ``value, ci_low, ci_high, n``
        and optionally ``metric``. One row per category (x hue) after picking ``metric``.
    ax
        Axes to draw on (a new figure when ``None``).
    x, hue
        Category column (one position each) and optional second column (dodged
        within a position, one colour per level with a legend).
    metric
        Which metric to draw when the frame holds several (required then).
    lang
        ``"en"`` or ``"zh"`` labels. Default from ``ins.options`` (``"en"`` unless set).
    min_cell
        Rows with ``n < min_cell`` are not drawn; a note says how many were hidden.
        Default from ``ins.options`` (10 unless set).
    kind
        ``"point"`` (dot + error bar, the default) or ``"bar"`` (bar from 0 + error bar).
    orient
        ``"v"``: categories along the x axis; ``"h"``: along the y axis (long labels).
    sort
        Order categories by value (largest first; mean over ``hue``); else as given.
    percent
        Percent value axis; ``None``: when every value and CI bound lies in [0, 1].
    palette
        Colours: per ``hue`` level, or per category without ``hue``; see
        :func:`insights.viz.group_palette` (the same segment gets the same colour
        as in :func:`insights.viz.plot_survival`).
    show_n
        Add ``(n=...)`` under each category label (without ``hue``).
    xlabel, ylabel, title
        Override the default texts (``xlabel``/``ylabel`` name the figure's axes).
        By default every text is the catalog's, in ``lang``: category and ``hue``
        values by their names (``gen_x`` -> "Gen X"; values the catalog does not
        know print as they are), the value axis by the metric's name
        (``retention_d30`` -> "D30 retention"), the category axis by the column's
        name (or the frame's one ``dimension``, e.g. "Generation").

    Returns
    -------
    matplotlib.axes.Axes
        Error bars are ``ErrorbarContainer`` s in ``ax.containers``; their interval
        lines (LineCollections) have gid ``ci:<level>``, the points ``point:<level>``,
        bars ``bar:<level>`` (level = the category, or the hue level with ``hue``).

    Examples
    --------
    >>> r = pl.DataFrame({"metric": "d30_retention", "segment": ["a", "b"],
    ...     "value": [0.3, 0.4], "ci_low": [0.25, 0.33], "ci_high": [0.35, 0.47], "n": [300, 200]})
    >>> import insights as ins
    >>> ax = ins.plot_segment_rates(r)
    >>> [t.get_text().split("\\n")[0] for t in ax.get_xticklabels()]
    ['b', 'a']
    """
    rates = data
    lang = resolve_lang(lang)
    min_cell = resolve_min_cell(min_cell)
    # 5 users of 1,625 are a small group, and so is 100% minus the other shares
    rates = hide_small_numerators(rates, min_cell=min_cell, part=x, by=[hue] if hue else [])
    check_choice("kind", kind, ("point", "bar"))
    check_choice("orient", orient, ("v", "h"))
    frame, metric_name = _prepare(rates, x=x, hue=hue, metric=metric)
    hue_levels = sorted(frame["__hue"].unique().to_list())
    colours = group_palette(frame["__hue" if hue else "__x"].to_list(), palette)
    visible = frame.filter(pl.col("n") >= min_cell)
    hidden = frame.height - visible.height
    order = _order(visible, sort)
    if percent is None:
        bounds = frame.select(
            pl.min_horizontal("value", "ci_low", "ci_high").min().alias("lo"),
            pl.max_horizontal("value", "ci_low", "ci_high").max().alias("hi"),
        )
        lo, hi = bounds.row(0)
        percent = lo is not None and hi is not None and lo >= 0 and hi <= 1
    with font_context(lang) as families:
        if ax is None:
            chars = max((_text_width(value_label(c, lang)) for c in order), default=4)
            per = max(0.9, 0.08 * chars + 0.25)  # inches per category, wide enough for its name
            size = (
                (max(4.5, per * len(order) + 1.5), 4.2)
                if orient == "v"
                else (6.4, max(3.0, 0.45 * len(order) + 1.3))
            )
            _fig, ax = plt.subplots(figsize=size, layout="constrained")
        width = 0.8 / max(len(hue_levels), 1) if hue else 0.6
        position = {c: i for i, c in enumerate(order)}
        for j, level in enumerate(hue_levels if hue else order):
            sub = visible.filter(pl.col("__hue" if hue else "__x") == level)
            if sub.height == 0:
                continue
            offset = (j - (len(hue_levels) - 1) / 2) * width if hue else 0.0
            pos = np.array([position[c] for c in sub["__x"].to_list()], dtype=float) + offset
            v = sub["value"].cast(pl.Float64).to_numpy()
            err = np.vstack(
                [
                    v - sub["ci_low"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                    sub["ci_high"].cast(pl.Float64).fill_null(np.nan).to_numpy() - v,
                ]
            )
            err = np.where(np.isfinite(err), np.clip(err, 0, None), 0.0)
            colour = colours[str(level)]
            name = value_label(level, lang)
            if kind == "bar":
                bar = ax.bar if orient == "v" else ax.barh
                bar(
                    pos,
                    v,
                    width * 0.9,
                    color=colour,
                    label=name if hue else None,
                    gid=f"bar:{level}",
                )
            px, py = (pos, v) if orient == "v" else (v, pos)
            container = ax.errorbar(
                px,
                py,
                yerr=err if orient == "v" else None,
                xerr=err if orient == "h" else None,
                fmt="o" if kind == "point" else "none",
                color=colour if kind == "point" else "#333333",
                ms=6,
                capsize=3,
                lw=1.4,
                label=name if hue and kind == "point" else None,
            )
            data_line, _caps, bar_lines = container.lines
            if data_line is not None:
                data_line.set_gid(f"point:{level}")
            for lines in bar_lines:
                lines.set_gid(f"ci:{level}")
        _axes_text(
            ax,
            visible,
            order,
            orient=orient,
            show_n=show_n and not hue,
            lang=lang,
            min_cell=min_cell,
        )
        value_axis = ax.yaxis if orient == "v" else ax.xaxis
        if percent:
            percent_axis(value_axis)
        if kind == "bar" and orient == "v":
            ax.set_ylim(bottom=0)
        elif kind == "bar":
            ax.set_xlim(left=0)
        value_name = metric_label(metric_name, lang) if metric_name else label("value", lang)
        cat_name = _category_name(rates, x, lang)
        v_label, c_label = (ylabel, xlabel) if orient == "v" else (xlabel, ylabel)
        (ax.set_ylabel if orient == "v" else ax.set_xlabel)(
            v_label if v_label is not None else value_name
        )
        (ax.set_xlabel if orient == "v" else ax.set_ylabel)(
            c_label if c_label is not None else cat_name
        )
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        kind_of_note = "hidden_cells" if hue else "hidden_segments"
        note = label(kind_of_note, lang, k=hidden, m=min_cell) if hidden else None
        if hue and visible.height:
            ax.legend(
                title="\n".join(t for t in (column_label(hue, lang), note) if t),
                frameon=False,
                fontsize="small",
                title_fontsize="small",
            )
        elif note:
            ax.text(
                0.99,
                0.99,
                note,
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize="small",
                gid="hidden-note",
            )
        if title is not None:
            ax.set_title(title)
        apply_fonts(ax, families)
    return ax


def _prepare(
    rates: pl.DataFrame, *, x: str, hue: str | None, metric: str | None
) -> tuple[pl.DataFrame, str | None]:
    """Validate and reduce to ``__x, __hue, value, ci_low, ci_high, n``."""
    if not isinstance(rates, pl.DataFrame):
        raise ValueError(f"data must be a polars DataFrame, got {type(rates).__name__}")
    needed = [x, "value", "ci_low", "ci_high", "n", *([hue] if hue else [])]
    missing = [c for c in needed if c not in rates.columns]
    if missing:
        raise ValueError(
            f"data lacks column(s) {missing}; expected a tidy metric frame with "
            f"{x!r}{f', {hue!r}' if hue else ''}, value, ci_low, ci_high, n"
        )
    frame = rates
    metric_name = metric
    if "metric" in rates.columns:
        names = sorted(rates["metric"].cast(pl.String).unique().drop_nulls().to_list())
        if metric is None and len(names) > 1:
            raise ValueError(f"data holds several metrics {names}; pass metric= one of them")
        if metric is not None and metric not in names:
            raise ValueError(f"metric={metric!r} not in data; available: {names}")
        metric_name = metric if metric is not None else (names[0] if names else None)
        frame = rates.filter(pl.col("metric").cast(pl.String) == metric_name) if names else rates
    elif metric is not None:
        raise ValueError(f"metric={metric!r} given but data has no 'metric' column")
    out = frame.select(
        pl.col(x).cast(pl.String).alias("__x"),
        (pl.col(hue).cast(pl.String) if hue else pl.lit("")).alias("__hue"),
        pl.col("value").cast(pl.Float64),
        pl.col("ci_low").cast(pl.Float64),
        pl.col("ci_high").cast(pl.Float64),
        pl.col("n").cast(pl.Float64),
    )
    if out.height == 0:
        raise ValueError("data has no rows to plot")
    if out.select(pl.struct("__x", "__hue").is_duplicated().any()).item():
        key = f"({x!r}, {hue!r})" if hue else repr(x)
        raise ValueError(
            f"data has several rows per {key}; filter it (e.g. one period) or pass hue="
        )
    return out, metric_name


def _category_name(rates: pl.DataFrame, x: str, lang: str) -> str:
    """The category axis title: the column's name, or for ``segment`` the one
    ``dimension`` of the frame when it says which (e.g. ``"Generation"``)."""
    if x != "segment":
        return column_label(x, lang)
    if "dimension" in rates.columns:
        dims = rates["dimension"].cast(pl.String).unique().drop_nulls().to_list()
        if len(dims) == 1:
            return column_label(dims[0], lang)
    return label("segment", lang)


def _text_width(text: str) -> int:
    """Width of ``text`` in Latin-character units (a CJK character counts two)."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _order(visible: pl.DataFrame, sort: bool) -> list[str]:
    """Category order: by mean value, largest first, or first appearance."""
    if not sort:
        return visible["__x"].unique(maintain_order=True).to_list()
    means = visible.group_by("__x").agg(pl.col("value").mean().alias("m"))
    return means.sort(["m", "__x"], descending=[True, False], nulls_last=True)["__x"].to_list()


def _axes_text(
    ax: Axes,
    visible: pl.DataFrame,
    order: list[str],
    *,
    orient: str,
    show_n: bool,
    lang: str,
    min_cell: int,
) -> None:
    """Category tick labels, with ``(n=...)`` when asked."""
    n_of = dict(zip(visible["__x"].to_list(), visible["n"].to_list(), strict=True))
    names = [value_label(c, lang) for c in order]
    if show_n:
        names = [
            f"{s}\n({label('n', lang)}={format_count(n_of[c], min_cell)})"
            for s, c in zip(names, order, strict=True)
        ]
    positions = list(range(len(order)))
    if orient == "v":
        ax.set_xticks(positions, names)
        ax.set_xlim(-0.6, len(order) - 0.4)
    else:
        ax.set_yticks(positions, names)
        ax.set_ylim(len(order) - 0.4, -0.6)
