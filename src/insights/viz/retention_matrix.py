"""Cohort x period retention heatmap (the product-analytics view, with honest cells).

:func:`plot_retention_matrix` draws the frame of ``retention_matrix`` with seaborn's
``heatmap``: one row per acquisition cohort, one column per period since the cohort
start, the weighted mean row set apart at the bottom, cells not yet fully observable
hatched (never shown as a drop), small cells masked out of the colour scale and
greyed out as ``"<10"``. ``ins.table_retention_matrix`` gives the same matrix as an HTML
table with n and the CI on hover.

seaborn is imported here only, when a heatmap is drawn (it pulls in pandas); the
other figures take estimates with their own confidence intervals, which seaborn's
``pointplot``/``barplot`` would recompute from raw rows, so they draw with matplotlib.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.colors import Normalize, to_rgba
from matplotlib.patches import Patch, Rectangle

from insights._options import Lang, resolve_lang, resolve_min_cell
from insights.viz._common import (
    format_count,
    percent_axis,
    small_text,
    text_colour_on,
)
from insights.viz._fonts import apply_fonts, font_context
from insights.viz._labels import label
from insights.viz._matrix_grid import MatrixGrid, MatrixValue, matrix_grid

__all__ = ["plot_retention_matrix"]

_SUPPRESSED_COLOUR = "#e3e3e3"


def plot_retention_matrix(
    data: pl.DataFrame,
    *,
    ax: Axes | None = None,
    column: MatrixValue = "value",
    annotate: bool = True,
    lang: Lang | None = None,
    min_cell: int | None = None,
    segment: str | None = None,
    cmap: str = "YlGnBu",
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> Any:
    """Heatmap of a retention matrix: cohorts x periods, incomplete cells hatched.

    Parameters
    ----------
    data
        The frame of ``ins.retention_matrix``: ``segment, cohort, period, value,
        ci_low, ci_high, retained, n, complete`` (``cohort_start`` orders the rows
        when present; a row with ``cohort = "mean"`` is the mean row; ``segment`` and
        ``suppressed`` are optional).
    ax
        Axes to draw on (a new figure sized to the matrix when ``None``).
    column
        ``"value"`` (the retention rate: colour and text in percent) or
        ``"retained"`` (counts).
    annotate
        Print each cell's value in it.
    lang
        ``"en"`` or ``"zh"`` labels. Default from ``ins.options`` (``"en"`` unless set).
    min_cell
        A cell whose cohort has fewer than ``min_cell`` users (``n``), or that the
        frame flags ``suppressed``, is masked out of the heatmap and drawn as a grey
        ``"<10"`` patch without colour or value; so is a cell whose retained users, or
        those not retained, number ``1 .. min_cell - 1``. Cohort labels show ``n<10``
        likewise.
        Default from ``ins.options`` (10 unless set).
    segment
        Which segment to draw when the matrix was split ``by`` (required then).
    cmap
        A sequential matplotlib colormap. The colour scale runs from 0 to the
        largest value after period 0 (period 0 is 100% by construction and would
        flatten the rest); larger values take the top colour.
    xlabel, ylabel, title
        Override the default texts.

    Returns
    -------
    matplotlib.axes.Axes or str
        The axes (gids: ``cells`` for seaborn's mesh, the mean row being its last row,
        ``mean-gap`` for the line setting it apart, ``incomplete``, ``suppressed``,
        ``cell-text``).

    Examples
    --------
    >>> import insights as ins
    >>> m = pl.DataFrame({"cohort": ["2024-01", "2024-01", "2024-02", "2024-02"],
    ...     "period": [0, 1, 0, 1], "value": [1.0, 0.4, 1.0, 0.35], "n": [50] * 4,
    ...     "retained": [50, 20, 50, 17], "complete": [True, True, True, False]})
    >>> ax = ins.plot_retention_matrix(m)
    >>> sum(p.get_gid() == "incomplete" for p in ax.patches)
    1
    """
    lang = resolve_lang(lang)
    min_cell = resolve_min_cell(min_cell)
    import seaborn as sns  # the one door to seaborn; loaded only to draw a heatmap

    g = matrix_grid(data, column=column, min_cell=min_cell, segment=segment)
    n_rows, n_cols = g.value.shape
    shown = np.where(g.present & ~g.suppressed, g.value, np.nan)
    hidden = ~np.isfinite(shown)  # suppressed, blank and never-observed cells: no colour
    norm = _norm(shown, g)
    fontsize = max(5.5, min(9.0, 10.5 - 0.25 * n_cols))
    with font_context(lang) as families:
        if ax is None:
            size = (min(2.2 + 0.75 * n_cols, 16), min(1.6 + 0.36 * n_rows, 14))
            _fig, ax = plt.subplots(figsize=size, layout="constrained")
        before = len(ax.texts)
        apply_fonts(ax, families)  # seaborn draws the figure once to check its tick labels
        sns.heatmap(
            shown,
            mask=hidden,
            vmin=norm.vmin,
            vmax=norm.vmax,
            cmap=cmap,
            annot=_cell_texts(g, shown, column, min_cell) if annotate else False,
            fmt="",
            annot_kws={"fontsize": fontsize},
            cbar_kws={
                "fraction": 0.035,
                "pad": 0.02,
                "extend": "max" if _clipped(shown, norm) else "neither",
            },
            xticklabels=[str(p) for p in g.periods],
            yticklabels=_row_labels(g, lang, min_cell),
            ax=ax,
        )
        mesh = ax.collections[-1]
        mesh.set_gid("cells")
        for text in ax.texts[before:]:
            text.set_gid("cell-text")
        _cell_overlays(ax, g, mesh.cmap, norm, annotate, min_cell, fontsize)
        if g.has_mean:
            ax.axhline(n_rows - 1, color="white", lw=3.5, gid="mean-gap")
            ax.get_yticklabels()[-1].set_fontweight("bold")
        ax.xaxis.tick_top()
        ax.xaxis.set_label_position("top")
        ax.tick_params(length=0)
        ax.tick_params(axis="x", labelrotation=0)
        ax.tick_params(axis="y", labelrotation=0)
        bar = mesh.colorbar
        bar.outline.set_visible(False)  # type: ignore[union-attr]
        if column == "value":
            percent_axis(bar.ax.yaxis)  # type: ignore[union-attr]
        bar.set_label(label("retention_rate" if column == "value" else "retained_users", lang))  # type: ignore[union-attr]
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
        apply_fonts(bar.ax, families)  # type: ignore[union-attr]
    return ax


def _cell_texts(g: MatrixGrid, shown: np.ndarray, column: str, min_cell: int) -> np.ndarray:
    """The text of every shown cell (seaborn prints those; masked cells print nothing)."""
    decimals = 1 if len(g.periods) <= 10 else 0
    out = np.full(shown.shape, "", dtype=object)
    for r, c in zip(*np.nonzero(np.isfinite(shown)), strict=True):
        v = shown[r, c]
        out[r, c] = f"{v:.{decimals}%}" if column == "value" else format_count(v, min_cell)
    return out


def _norm(shown: np.ndarray, g: MatrixGrid) -> Normalize:
    """0 to the largest shown value after period 0 (period 0 is 100% by construction)."""
    later = shown[:, 1:] if shown.shape[1] > 1 and g.periods[0] == 0 else shown
    top = np.nanmax(later) if np.isfinite(later).any() else 1.0
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
    colours: Any,
    norm: Normalize,
    annotate: bool,
    min_cell: int,
    fontsize: float,
) -> None:
    """Grey ``"<10"`` patches over suppressed cells (masked out of seaborn's mesh, so
    no colour or value of theirs is drawn) and hatching over incomplete ones."""
    for r, c in zip(*np.nonzero(g.present), strict=True):
        if g.suppressed[r, c]:
            ax.add_patch(
                Rectangle(
                    (c, r),
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
                    r + 0.5,
                    small_text(min_cell),
                    ha="center",
                    va="center",
                    fontsize=fontsize,
                    color="#666666",
                    gid="cell-text",
                )
            continue
        v = g.value[r, c]
        if not g.complete[r, c]:
            contrast = text_colour_on(colours(norm(v))) if np.isfinite(v) else "black"
            ax.add_patch(
                Rectangle(
                    (c, r),
                    1,
                    1,
                    fill=False,
                    hatch="//",
                    edgecolor=to_rgba(contrast, 0.4),
                    lw=0,
                    gid="incomplete",
                )
            )
