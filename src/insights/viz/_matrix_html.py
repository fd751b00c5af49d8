"""The retention matrix as an HTML table: colour scale, n and CI on hover.

Plain HTML with inline styles (no dependency; great_tables is not installed), every
text escaped. Each shown cell has a ``title`` attribute (the browser tooltip) with n,
retained and the 95% CI; a suppressed cell shows only ``"<10"``, with no title and no
number; incomplete cells are hatched with a CSS gradient and say so on hover.
"""

from __future__ import annotations

from html import escape

import numpy as np
import polars as pl
from matplotlib import colormaps
from matplotlib.colors import Colormap, Normalize, to_hex

from insights._options import Lang, resolve_lang, resolve_min_cell
from insights.viz._common import format_count, small_text, text_colour_on
from insights.viz._labels import label
from insights.viz._matrix_grid import MatrixGrid, MatrixValue, matrix_grid

__all__ = ["RetentionMatrixHTML", "retention_matrix_html"]

_HATCH = "repeating-linear-gradient(45deg,rgba(0,0,0,.22) 0 1px,transparent 1px 6px)"
_CELL = "padding:3px 7px;text-align:right;font-variant-numeric:tabular-nums;"


class RetentionMatrixHTML(str):
    """An HTML string that JupyterLab renders as a table."""

    def _repr_html_(self) -> str:
        return str(self)


def retention_matrix_html(
    data: pl.DataFrame,
    *,
    column: MatrixValue = "value",
    lang: Lang | None = None,
    min_cell: int | None = None,
    segment: str | None = None,
    cmap: str = "YlGnBu",
    title: str | None = None,
) -> RetentionMatrixHTML:
    """A retention matrix as an HTML table with a colour scale and hover details.

    Parameters
    ----------
    data
        The frame of ``ins.retention_matrix`` (see ``ins.plot_retention_matrix``).
    column
        ``"value"`` (the retention rate, in percent) or ``"retained"`` (counts) in
        the cells.
    lang
        ``"en"`` or ``"zh"`` for headers and tooltips.
        Default from ``ins.options`` (``"en"`` unless set).
    min_cell
        Same rule as the heatmap: cells of cohorts with ``n < min_cell``, and cells
        whose retained users or those not retained number ``1 .. min_cell - 1``, print ``"<10"``
        with no colour, no tooltip and no number anywhere in the table.
        Default from ``ins.options`` (10 unless set).
    segment
        Which segment when the matrix was split ``by`` (required then).
    cmap
        Matplotlib colormap for the cell backgrounds (same scale as the heatmap).
    title
        Optional caption of the table.

    Returns
    -------
    RetentionMatrixHTML
        A ``str`` (with ``_repr_html_``): ``<table class="insights-retention">...``.

    Examples
    --------
    >>> m = pl.DataFrame({"cohort": ["2024-01", "2024-01"], "period": [0, 1],
    ...     "value": [1.0, 0.4], "ci_low": [0.93, 0.27], "ci_high": [1.0, 0.54],
    ...     "n": [50, 50], "retained": [50, 20], "complete": [True, True]})
    >>> 'title="n = 50' in retention_matrix_html(m)
    True
    """
    lang = resolve_lang(lang)
    min_cell = resolve_min_cell(min_cell)
    g = matrix_grid(data, column=column, min_cell=min_cell, segment=segment)
    shown = np.where(g.present & ~g.suppressed, g.value, np.nan)
    later = shown[:, 1:] if shown.shape[1] > 1 and g.periods[0] == 0 else shown
    top = float(np.nanmax(later)) if np.isfinite(later).any() else 1.0
    norm = Normalize(0.0, top if top > 0 else 1.0, clip=True)
    colours = colormaps[cmap]
    head = "".join(f'<th style="{_CELL}">{escape(str(p))}</th>' for p in g.periods)
    parts = [
        '<table class="insights-retention" style="border-collapse:collapse;font-size:13px">',
    ]
    if title is not None:
        parts.append(f"<caption>{escape(title)}</caption>")
    parts.append(
        f'<thead><tr><th style="{_CELL}text-align:left">{escape(label("cohort", lang))}</th>'
        f'<th style="{_CELL}">{escape(label("n", lang))}</th>{head}</tr></thead><tbody>'
    )
    for r, cohort in enumerate(g.cohorts):
        is_mean = g.has_mean and r == len(g.cohorts) - 1
        name = label("mean", lang) if is_mean else cohort
        row_style = "border-top:2px solid #333;font-weight:bold;" if is_mean else ""
        n_text = (
            "" if is_mean or not np.isfinite(g.row_n[r]) else format_count(g.row_n[r], min_cell)
        )
        cells = [
            f'<th style="{_CELL}text-align:left">{escape(name)}</th>',
            f'<td style="{_CELL}color:#555">{escape(n_text)}</td>',
        ]
        for c in range(len(g.periods)):
            cells.append(_cell(g, r, c, column, lang, min_cell, norm, colours))
        parts.append(f'<tr style="{row_style}">{"".join(cells)}</tr>')
    parts.append("</tbody></table>")
    return RetentionMatrixHTML("".join(parts))


def _cell(
    g: MatrixGrid,
    r: int,
    c: int,
    column: str,
    lang: str,
    min_cell: int,
    norm: Normalize,
    colours: Colormap,
) -> str:
    """One ``<td>``: empty, suppressed, or coloured with a tooltip."""
    if not g.present[r, c]:
        return f'<td style="{_CELL}"></td>'
    if g.suppressed[r, c]:
        return (
            f'<td class="suppressed" style="{_CELL}background:#eeeeee;color:#777">'
            f"{escape(small_text(min_cell))}</td>"
        )
    v = g.value[r, c]
    if not np.isfinite(v):
        return f'<td style="{_CELL}"></td>'
    colour = colours(norm(v))
    text = f"{v:.1%}" if column == "value" else format_count(v, min_cell)
    tip = [f"{label('n', lang)} = {format_count(g.n[r, c], min_cell)}"]
    if np.isfinite(g.retained[r, c]):
        tip.append(f"{label('retained_users', lang)} = {format_count(g.retained[r, c], min_cell)}")
    if column == "value" and np.isfinite(g.ci_low[r, c]) and np.isfinite(g.ci_high[r, c]):
        tip.append(f"{label('ci', lang)} {g.ci_low[r, c]:.1%}–{g.ci_high[r, c]:.1%}")
    style = f"{_CELL}background-color:{to_hex(colour)};color:{text_colour_on(colour)};"
    klass = "complete"
    if not g.complete[r, c]:
        tip.append(label("incomplete", lang))
        style += f"background-image:{_HATCH};"
        klass = "incomplete"
    title = escape(" · ".join(tip), quote=True)
    return f'<td class="{klass}" style="{style}" title="{title}">{escape(text)}</td>'
