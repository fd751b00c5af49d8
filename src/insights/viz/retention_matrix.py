"""Cohort x period retention heatmap (the product-analytics view, with honest cells).

:func:`plot_retention_matrix` draws the frame of ``retention_matrix``: one row per
acquisition cohort, one column per period since the cohort start, the weighted
mean row set apart at the bottom, cells not yet fully observable hatched (never
shown as a drop), small cells greyed out as ``"<10"``. ``html=True`` returns the
same matrix as an HTML table with n and the CI on hover
(:func:`insights.viz.retention_matrix_html`).
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import Normalize, to_rgba
from matplotlib.patches import Patch, Rectangle

from insights.viz._common import (
    check_min_cell,
    format_count,
    percent_axis,
    small_text,
    text_colour_on,
)
from insights.viz._fonts import apply_fonts, font_context
from insights.viz._labels import check_lang, label
from insights.viz._matrix_grid import MatrixGrid, MatrixValue, matrix_grid
from insights.viz._matrix_html import retention_matrix_html

__all__ = ["plot_retention_matrix"]

#: Vertical gap (in rows) between the last cohort and the mean row.
MEAN_GAP = 0.35
_SUPPRESSED_COLOUR = "#e3e3e3"


def plot_retention_matrix(
    matrix: pl.DataFrame,
    *,
    ax: Axes | None = None,
    value: MatrixValue = "rate",
    annotate: bool = True,
    lang: str = "en",
    min_cell: int = 10,
    html: bool = False,
    group: str | None = None,
    cmap: str = "YlGnBu",
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> Any:
    """Heatmap of a retention matrix: cohorts x periods, incomplete cells hatched.

    Parameters
    ----------
    matrix
        The frame of ``retention_matrix``: ``cohort, period, rate, ci_low, ci_high,
        retained, n, complete`` (``cohort_start`` orders the rows when present; a
        row with ``cohort = "mean"`` is the mean row; ``group`` when split by).
    ax
        Axes to draw on (a new figure sized to the matrix when ``None``).
    value
        ``"rate"`` (colour and text in percent) or ``"retained"`` (counts).
    annotate
        Print each cell's value in it.
    lang
        ``"en"`` or ``"zh"`` labels.
    min_cell
        A cell whose cohort has fewer than ``min_cell`` users (``n``) is drawn as a
        grey ``"<10"`` patch without colour or value; with ``value="retained"`` also a
        cell with ``0 < retained < min_cell``. Cohort labels show ``n<10`` likewise.
    html
        Return :func:`insights.viz.retention_matrix_html` (a ``str``) instead of drawing.
    group
        Which group to draw when the matrix was split ``by`` (required then).
    cmap
        A sequential matplotlib colormap. The colour scale runs from 0 to the
        largest value after period 0 (period 0 is 100% by construction and would
        flatten the rest); larger values take the top colour.
    xlabel, ylabel, title
        Override the default texts.

    Returns
    -------
    matplotlib.axes.Axes or str
        The axes (gids: ``cells``, ``mean-row``, ``incomplete``, ``suppressed``,
        ``cell-text``), or the HTML string when ``html=True``.

    Examples
    --------
    >>> m = pl.DataFrame({"cohort": ["2024-01", "2024-01", "2024-02", "2024-02"],
    ...     "period": [0, 1, 0, 1], "rate": [1.0, 0.4, 1.0, 0.35], "n": [50] * 4,
    ...     "retained": [50, 20, 50, 17], "complete": [True, True, True, False]})
    >>> ax = plot_retention_matrix(m)
    >>> sum(p.get_gid() == "incomplete" for p in ax.patches)
    1
    """
    lang = check_lang(lang)
    check_min_cell(min_cell)
    if html:
        return retention_matrix_html(
            matrix, value=value, lang=lang, min_cell=min_cell, group=group, cmap=cmap
        )
    g = matrix_grid(matrix, value=value, min_cell=min_cell, group=group)
    n_rows, n_cols = g.value.shape
    with font_context(lang) as families:
        if ax is None:
            size = (min(2.2 + 0.75 * n_cols, 16), min(1.6 + 0.36 * n_rows, 14))
            _fig, ax = plt.subplots(figsize=size, layout="constrained")
        shown = np.where(g.present & ~g.suppressed, g.value, np.nan)
        norm = _norm(shown, g, value)
        colours = colormaps[cmap]
        y_edges = _row_edges(g)
        x_edges = np.arange(n_cols + 1, dtype=float)
        k = n_rows - 1 if g.has_mean else n_rows
        masked = np.ma.masked_invalid(shown)
        mesh = ax.pcolormesh(x_edges, y_edges[: k + 1], masked[:k], cmap=colours, norm=norm)
        mesh.set_gid("cells")
        if g.has_mean:
            mean = ax.pcolormesh(x_edges, y_edges[k + 1 :], masked[k:], cmap=colours, norm=norm)
            mean.set_gid("mean-row")
        tops = np.where(np.arange(n_rows) < k, y_edges[:n_rows], y_edges[1 : n_rows + 1])
        _cell_overlays(ax, g, tops, norm, colours, annotate, value, min_cell)
        ax.set_xlim(0, n_cols)
        ax.set_ylim(y_edges[-1], 0)
        ax.set_xticks(x_edges[:-1] + 0.5, [str(p) for p in g.periods])
        ax.set_yticks(tops + 0.5, _row_labels(g, lang, min_cell))
        ax.xaxis.tick_top()
        ax.xaxis.set_label_position("top")
        ax.tick_params(length=0)
        if g.has_mean:
            ax.get_yticklabels()[-1].set_fontweight("bold")
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = ax.get_figure().colorbar(  # type: ignore[union-attr]
            mesh,
            ax=ax,
            fraction=0.035,
            pad=0.02,
            extend="max" if _clipped(shown, norm) else "neither",
        )
        bar.outline.set_visible(False)  # type: ignore[operator]
        if value == "rate":
            percent_axis(bar.ax.yaxis)
        bar.set_label(label("retention_rate" if value == "rate" else "retained_users", lang))
        ax.set_xlabel(xlabel if xlabel is not None else label("period", lang))
        ax.set_ylabel(ylabel if ylabel is not None else label("cohort", lang))
        handles = [
            Patch(
                facecolor="white", edgecolor="#777777", hatch="//", label=label("incomplete", lang)
            )
        ]
        if g.suppressed.any():
            handles.append(
                Patch(facecolor=_SUPPRESSED_COLOUR, label=label("suppressed", lang, m=min_cell))
            )
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(0, 0),
            frameon=False,
            fontsize="small",
            ncols=2,
        )
        if title is not None:
            ax.set_title(title, pad=12)
        apply_fonts(ax, families)
        apply_fonts(bar.ax, families)
    return ax


def _row_edges(g: MatrixGrid) -> np.ndarray:
    """y edges: one unit per cohort, then a gap, then the mean row."""
    k = len(g.cohorts) - (1 if g.has_mean else 0)
    edges = np.arange(k + 1, dtype=float)
    if g.has_mean:
        edges = np.append(edges, [k + MEAN_GAP, k + MEAN_GAP + 1])
    return edges


def _norm(shown: np.ndarray, g: MatrixGrid, value: str) -> Normalize:
    later = shown[:, 1:] if shown.shape[1] > 1 and g.periods[0] == 0 else shown
    top = np.nanmax(later) if np.isfinite(later).any() else (1.0 if value == "rate" else 1.0)
    if not np.isfinite(top) or top <= 0:
        top = 1.0
    return Normalize(vmin=0.0, vmax=float(top))


def _clipped(shown: np.ndarray, norm: Normalize) -> bool:
    return bool(np.isfinite(shown).any() and np.nanmax(shown) > norm.vmax)  # type: ignore[operator]


def _row_labels(g: MatrixGrid, lang: str, min_cell: int) -> list[str]:
    out = []
    for cohort, n in zip(g.cohorts, g.row_n, strict=True):
        if cohort == "mean" and g.has_mean:
            out.append(label("mean", lang))
        elif np.isfinite(n):
            shown = format_count(n, min_cell)
            out.append(
                f"{cohort}  ({label('n', lang)}{'' if shown.startswith('<') else '='}{shown})"
            )
        else:
            out.append(cohort)
    return out


def _cell_overlays(
    ax: Axes,
    g: MatrixGrid,
    tops: np.ndarray,
    norm: Normalize,
    colours: Any,
    annotate: bool,
    value: str,
    min_cell: int,
) -> None:
    """Grey patches for suppressed cells, hatching for incomplete ones, cell texts."""
    n_cols = len(g.periods)
    fontsize = max(5.5, min(9.0, 10.5 - 0.25 * n_cols))
    decimals = 1 if n_cols <= 10 else 0
    for r, c in zip(*np.nonzero(g.present), strict=True):
        y = tops[r]
        if g.suppressed[r, c]:
            ax.add_patch(
                Rectangle(
                    (c, y),
                    1,
                    1,
                    facecolor=_SUPPRESSED_COLOUR,
                    edgecolor="white",
                    lw=0.5,
                    gid="suppressed",
                )
            )
            if annotate:
                ax.text(
                    c + 0.5,
                    y + 0.5,
                    small_text(min_cell),
                    ha="center",
                    va="center",
                    fontsize=fontsize,
                    color="#666666",
                    gid="cell-text",
                )
            continue
        v = g.value[r, c]
        contrast = text_colour_on(colours(norm(v))) if np.isfinite(v) else "black"
        if not g.complete[r, c]:
            ax.add_patch(
                Rectangle(
                    (c, y),
                    1,
                    1,
                    fill=False,
                    hatch="//",
                    edgecolor=to_rgba(contrast, 0.4),
                    lw=0,
                    gid="incomplete",
                )
            )
        if annotate and np.isfinite(v):
            text = f"{v:.{decimals}%}" if value == "rate" else format_count(v, min_cell)
            ax.text(
                c + 0.5,
                y + 0.5,
                text,
                ha="center",
                va="center",
                fontsize=fontsize,
                color=contrast,
                gid="cell-text",
            )
