"""Lifecycle transition heatmap: from-layer rows x to-layer columns, row shares with counts.

:func:`plot_transitions` draws the frame of ``lifecycle_transitions`` (or one period of
``transitions_by_quarter``): each cell is coloured by its row share and prints the
share and the count; suppressed cells (flagged in the frame, or with fewer than
``min_cell`` users) are grey ``"<10"`` patches without colour or value. It only draws.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.patches import Patch, Rectangle

from insights._options import Lang, resolve_lang, resolve_min_cell
from insights.viz._common import (
    format_count,
    percent_axis,
    small_text,
    text_colour_on,
)
from insights.viz._fonts import apply_fonts, font_context
from insights.viz._labels import figure_texts, label

__all__ = ["plot_transitions"]

_SUPPRESSED_COLOUR = "#e3e3e3"
_ORDER = ("not_yet_acquired", "new", "active", "silent", "churned")


def _pick(frame: pl.DataFrame, column: str, value: str | None, name: str) -> pl.DataFrame:
    levels = frame[column].unique(maintain_order=True).to_list()
    if value is None:
        if len(levels) > 1:
            raise ValueError(f"the frame has several {column}s {levels}; choose one with {name}=")
        return frame
    if value not in levels:
        raise ValueError(f"{name} must be one of {levels}, got {value!r}")
    return frame.filter(pl.col(column) == value)


def plot_transitions(
    data: pl.DataFrame,
    *,
    ax: Axes | None = None,
    segment: str | None = None,
    period: str | None = None,
    annotate: bool = True,
    lang: Lang | None = None,
    min_cell: int | None = None,
    cmap: str = "Blues",
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> Axes:
    """Heatmap of a lifecycle transition matrix (row shares, with counts).

    Parameters
    ----------
    data
        The frame of ``lifecycle_transitions``: ``from_layer, to_layer, value, users,
        n`` (``suppressed``, ``segment``, ``period`` used when present).
    ax
        Axes to draw on (a new figure when ``None``).
    segment, period
        Which segment / period to draw when the frame holds several (required then).
    annotate
        Print the row share and the count in each cell.
    lang
        ``"en"`` or ``"zh"`` labels. Default from ``ins.options`` (``"en"`` unless set).
    min_cell
        A cell flagged ``suppressed`` or with ``0 < users < min_cell`` is a grey
        ``"<10"`` patch; a row whose total ``n`` is below ``min_cell`` is greyed whole
        (a row with no users stays blank).
        Row labels show ``n`` the same way (``"<10"``).
        Default from ``ins.options`` (10 unless set).
    cmap
        A sequential colormap; the scale runs from 0 to 100% of the row.
    xlabel, ylabel, title
        Override the default texts.

    Returns
    -------
    matplotlib.axes.Axes
        Gids: ``cells`` (the mesh), ``suppressed`` (patches), ``cell-text``.

    Examples
    --------
    >>> f = pl.DataFrame({"from_layer": ["new", "new"], "to_layer": ["active", "churned"],
    ...     "value": [0.75, 0.25], "users": [30, 10], "n": [40, 40], "suppressed": [False, False]})
    >>> import insights as ins
    >>> ax = ins.plot_transitions(f)
    >>> [t.get_text() for t in ax.texts if t.get_gid() == "cell-text"]
    ['75.0%\\n30', '25.0%\\n10']
    """
    frame = data
    lang = resolve_lang(lang)
    min_cell = resolve_min_cell(min_cell)
    if not isinstance(frame, pl.DataFrame):
        raise ValueError(f"data must be a polars DataFrame, got {type(frame).__name__}")
    missing = [
        c for c in ("from_layer", "to_layer", "value", "users", "n") if c not in frame.columns
    ]
    if missing:
        raise ValueError(
            f"data is missing columns {missing} (expected lifecycle_transitions output)"
        )
    data = frame
    if "segment" in data.columns:
        data = _pick(data, "segment", segment, "segment")
    if "period" in data.columns:
        data = _pick(data, "period", period, "period")
    if "suppressed" not in data.columns:
        data = data.with_columns(suppressed=pl.lit(value=False))
    rows = [r for r in _ORDER if r in set(data["from_layer"])]
    cols = [c for c in _ORDER[1:] if c in set(data["to_layer"])]
    share = np.full((len(rows), len(cols)), np.nan)
    count = np.full_like(share, np.nan)
    hidden = np.zeros(share.shape, dtype=bool)
    row_n = {r: 0.0 for r in rows}
    for rec in data.iter_rows(named=True):  # at most 5 x 4 cells
        if rec["from_layer"] not in rows or rec["to_layer"] not in cols:
            continue
        i, j = rows.index(rec["from_layer"]), cols.index(rec["to_layer"])
        users, n = rec["users"], rec["n"] or 0
        row_n[rec["from_layer"]] = float(n)
        small = bool(rec["suppressed"]) or (users is not None and 0 < users < min_cell)
        hidden[i, j] = small or 0 < n < min_cell
        if not hidden[i, j] and rec["value"] is not None:
            share[i, j], count[i, j] = rec["value"], users
    text = figure_texts("transitions", lang)
    norm = Normalize(vmin=0.0, vmax=1.0)
    colours = colormaps[cmap]
    with font_context(lang) as families:
        if ax is None:
            _fig, ax = plt.subplots(
                figsize=(2.4 + 1.3 * len(cols), 1.2 + 0.7 * len(rows)), layout="constrained"
            )
        mesh = ax.pcolormesh(
            np.arange(len(cols) + 1),
            np.arange(len(rows) + 1),
            np.ma.masked_invalid(share),
            cmap=colours,
            norm=norm,
        )
        mesh.set_gid("cells")
        for i, j in np.ndindex(share.shape):
            if hidden[i, j]:
                ax.add_patch(
                    Rectangle(
                        (j, i),
                        1,
                        1,
                        facecolor=_SUPPRESSED_COLOUR,
                        edgecolor="white",
                        lw=0.5,
                        gid="suppressed",
                    )  # fmt: skip
                )
                if annotate:
                    ax.text(j + 0.5, i + 0.5, small_text(min_cell), ha="center", va="center",
                            fontsize=9, color="#666666", gid="cell-text")  # fmt: skip
            elif annotate and np.isfinite(share[i, j]):
                ax.text(
                    j + 0.5,
                    i + 0.5,
                    f"{share[i, j]:.1%}\n{format_count(float(count[i, j]), min_cell)}",
                    ha="center",
                    va="center",
                    fontsize=9,
                    color=text_colour_on(colours(norm(share[i, j]))),
                    gid="cell-text",
                )
        ax.set_xlim(0, len(cols))
        ax.set_ylim(len(rows), 0)
        ax.set_xticks(np.arange(len(cols)) + 0.5, [text[c] for c in cols])
        row_labels = [
            f"{text[r]}  ({label('n', lang)}{'' if (s := format_count(row_n[r], min_cell)).startswith('<') else '='}{s})"
            for r in rows
        ]
        ax.set_yticks(np.arange(len(rows)) + 0.5, row_labels)
        ax.xaxis.tick_top()
        ax.xaxis.set_label_position("top")
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = ax.get_figure().colorbar(mesh, ax=ax, fraction=0.04, pad=0.02)  # type: ignore[union-attr]
        bar.outline.set_visible(False)  # type: ignore[operator]
        percent_axis(bar.ax.yaxis)
        bar.set_label(text["share"])
        ax.set_xlabel(xlabel if xlabel is not None else text["to"])
        ax.set_ylabel(ylabel if ylabel is not None else text["from"])
        if hidden.any():
            ax.legend(
                handles=[
                    Patch(facecolor=_SUPPRESSED_COLOUR, label=label("suppressed", lang, m=min_cell))
                ],
                loc="upper left",
                bbox_to_anchor=(0, 0),
                frameon=False,
                fontsize="small",
            )
        if title is not None:
            ax.set_title(title, pad=12)
        apply_fonts(ax, families)
        _label_fonts(ax, families)
        apply_fonts(bar.ax, families)
    return ax


def _label_fonts(ax: Axes, families: list[str] | None) -> None:
    """Axis labels and title of an ``ax`` made outside the font context use ``families`` too."""
    if families is None:
        return
    for text in (ax.xaxis.label, ax.yaxis.label, ax.title):
        text.set_fontfamily(families)
