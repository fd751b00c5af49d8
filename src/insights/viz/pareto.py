"""Pareto curve of GMV concentration, with the 20/80 reference lines.

:func:`plot_pareto` draws the frame of ``pareto_curve``: cumulative GMV share against
cumulative buyer share (largest buyers first), one curve per segment, the equality
diagonal, a vertical line at the ``top`` buyer share and a horizontal one at 80% of
GMV (the "80/20 rule"), and the observed top share marked on each curve. It only draws.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.axes import Axes

from insights._options import Lang, resolve_lang, resolve_min_cell
from insights.viz._common import percent_axis
from insights.viz._fonts import apply_fonts, font_context
from insights.viz._labels import figure_texts, label, value_label
from insights.viz._palette import PaletteLike, group_palette

__all__ = ["plot_pareto"]


def plot_pareto(
    data: pl.DataFrame,
    *,
    ax: Axes | None = None,
    top: float | None = None,
    reference: tuple[float, float] = (0.2, 0.8),
    palette: PaletteLike = None,
    lang: Lang | None = None,
    min_cell: int | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> Axes:
    """Plot cumulative GMV share against cumulative buyer share, with 20/80 reference lines.

    Parameters
    ----------
    data
        The frame of ``pareto_curve``: ``buyer_share, value, n`` (``segment`` and
        ``is_top`` used when present).
    ax
        Axes to draw on (a new figure when ``None``).
    top
        Buyer share whose GMV share is marked on each curve (default: the rows
        flagged ``is_top``, else ``reference[0]``).
    reference
        ``(buyer share, GMV share)`` of the dotted reference lines (the 80/20 rule).
    palette
        As :func:`insights.viz.group_palette` (colours follow the sorted segments).
    lang
        ``"en"`` or ``"zh"``. Default from ``ins.options`` (``"en"`` unless set).
    min_cell
        Segments with fewer than ``min_cell`` buyers (``n``) are not drawn; a note says
        how many were hidden. Default from ``ins.options`` (10 unless set).
    xlabel, ylabel, title
        Override the default texts.

    Returns
    -------
    matplotlib.axes.Axes
        Gids: ``curve:<segment>``, ``top:<segment>``, ``reference-x``, ``reference-y``,
        ``equality``, ``hidden-note``.

    Examples
    --------
    >>> f = pl.DataFrame({"segment": ["all"] * 3, "buyer_share": [0.0, 0.2, 1.0],
    ...     "value": [0.0, 0.7, 1.0], "n": [50] * 3, "is_top": [False, True, False]})
    >>> import insights as ins
    >>> ax = ins.plot_pareto(f)
    >>> sorted(line.get_gid() for line in ax.lines)
    ['curve:all', 'equality', 'reference-x', 'reference-y', 'top:all']
    """
    frame = data
    lang = resolve_lang(lang)
    min_cell = resolve_min_cell(min_cell)
    if not isinstance(frame, pl.DataFrame):
        raise ValueError(f"data must be a polars DataFrame, got {type(frame).__name__}")
    missing = [c for c in ("buyer_share", "value", "n") if c not in frame.columns]
    if missing:
        raise ValueError(f"data is missing columns {missing} (expected pareto_curve output)")
    rx, ry = reference
    if not (0 < rx < 1 and 0 < ry < 1):
        raise ValueError(f"reference must be two shares in (0, 1), got {reference!r}")
    if top is not None and not 0 < top <= 1:
        raise ValueError(f"top must be in (0, 1], got {top!r}")
    data = frame if "segment" in frame.columns else frame.with_columns(segment=pl.lit("all"))
    colours = group_palette(data["segment"].unique(), palette)
    sizes = data.group_by("segment", maintain_order=True).agg(pl.col("n").max())
    shown = sorted(sizes.filter(pl.col("n") >= min_cell)["segment"].to_list())
    hidden = sizes.height - len(shown)
    text = figure_texts("pareto", lang)
    with font_context(lang) as families:
        if ax is None:
            _fig, ax = plt.subplots(figsize=(6.0, 5.0), layout="constrained")
        ax.plot(
            [0, 1], [0, 1], color="#999999", lw=0.8, ls="--", gid="equality", label=text["equal"]
        )
        ax.axvline(rx, color="#777777", lw=0.8, ls=":", gid="reference-x")
        ax.axhline(ry, color="#777777", lw=0.8, ls=":", gid="reference-y")
        for seg in shown:
            rows = data.filter(pl.col("segment") == seg).sort("buyer_share")
            x, y = rows["buyer_share"].to_numpy(), rows["value"].to_numpy().astype(float)
            name = value_label(seg, lang)
            ax.plot(x, y, color=colours[seg], lw=1.8, gid=f"curve:{seg}", label=name)
            if top is not None:
                mark = rows.filter((pl.col("buyer_share") - top).abs() < 1e-9)
            elif "is_top" in rows.columns and rows["is_top"].any():
                mark = rows.filter(pl.col("is_top"))
            else:
                mark = rows.filter((pl.col("buyer_share") - rx).abs() < 1e-9)
            if mark.height and mark["value"][0] is not None:
                p, v = float(mark["buyer_share"][0]), float(mark["value"][0])
                ax.plot([p], [v], "o", color=colours[seg], ms=6, gid=f"top:{seg}")
                if len(shown) == 1:
                    ax.annotate(
                        text["top"].format(p=p, v=v),
                        (p, v),
                        xytext=(10, -14),
                        textcoords="offset points",
                        fontsize="small",
                    )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xticks(np.linspace(0, 1, 6))
        percent_axis(ax.xaxis)
        percent_axis(ax.yaxis)
        ax.set_xlabel(xlabel if xlabel is not None else text["x"])
        ax.set_ylabel(ylabel if ylabel is not None else text["y"])
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        note = label("hidden_segments", lang, k=hidden, m=min_cell) if hidden else None
        ax.legend(
            loc="lower right", frameon=False, fontsize="small", title=note, title_fontsize="small"
        )
        if note:
            ax.get_legend().get_title().set_gid("hidden-note")  # type: ignore[union-attr]
        if title is not None:
            ax.set_title(title)
        apply_fonts(ax, families)
        _label_fonts(ax, families)
    return ax


def _label_fonts(ax: Axes, families: list[str] | None) -> None:
    """Axis labels and title of an ``ax`` made outside the font context use ``families`` too."""
    if families is None:
        return
    for text in (ax.xaxis.label, ax.yaxis.label, ax.title):
        text.set_fontfamily(families)
