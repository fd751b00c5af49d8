"""Dose–response: an outcome with its CI across ordered dose bins.

:func:`plot_dose_response` draws a frame such as
``insights.metrics.interaction_outcomes.interaction_dose_response`` (one row per
intensity decile) or ``interaction_fatigue`` (one row per interactions-per-day bin):
points with CI bars joined by a line in dose order, the first bin (no exposure)
as a dashed reference line. It only draws; every number comes from the frame
(matplotlib, not seaborn, for the reason given in :mod:`insights.viz.segment_rates`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.axes import Axes

from insights._options import Lang, resolve_lang, resolve_min_cell
from insights.viz._common import format_count, hidden_note, percent_axis
from insights.viz._fonts import apply_fonts, font_context
from insights.viz._labels import figure_texts, label, metric_label, value_label
from insights.viz._palette import PaletteLike, group_palette

__all__ = ["plot_dose_response"]


def plot_dose_response(
    data: pl.DataFrame,
    *,
    ax: Axes | None = None,
    dose: str = "decile",
    lang: Lang | None = None,
    min_cell: int | None = None,
    palette: PaletteLike = None,
    percent: bool | None = None,
    reference: bool = True,
    show_n: bool = True,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> Axes:
    """Plot an outcome (value with CI) against ordered dose bins.

    Parameters
    ----------
    data
        Tidy frame with ``segment`` (bin label), ``dose`` (numeric order of the bins),
        ``value, ci_low, ci_high, n`` and optionally ``metric`` (one metric only).
    ax
        Axes to draw on (a new figure when ``None``).
    dose
        Column giving the bin order (``"decile"`` for dose–response, ``"interactions"``
        for the fatigue curve).
    lang
        ``"en"`` or ``"zh"`` texts. Default from ``ins.options`` (``"en"`` unless set).
    min_cell
        Bins with ``n < min_cell`` are not drawn (a note says how many).
        Default from ``ins.options`` (10 unless set).
    palette
        Colour of the curve (see :func:`insights.viz.group_palette`, keyed by metric).
    percent
        Percent value axis; ``None``: when every value and CI bound lies in [0, 1].
    reference
        Dashed horizontal line at the lowest-dose bin's value (no interaction).
    show_n
        Add ``(n=...)`` under each bin label.
    xlabel, ylabel, title
        Override the default texts.

    Returns
    -------
    matplotlib.axes.Axes
        The error bars are one ``ErrorbarContainer`` (data line gid ``point:dose``,
        interval lines gid ``ci:dose``); the reference line has gid ``reference``.

    Examples
    --------
    >>> f = pl.DataFrame({"metric": "order_rate", "segment": ["d00", "d01", "d02"], "decile": [0, 1, 2],
    ...     "value": [0.1, 0.2, 0.3], "ci_low": [0.08, 0.17, 0.26], "ci_high": [0.12, 0.23, 0.34], "n": [900, 400, 400]})
    >>> import insights as ins
    >>> ax = ins.plot_dose_response(f)
    >>> [t.get_text().split("\\n")[0] for t in ax.get_xticklabels()]
    ['d00', 'd01', 'd02']
    """
    frame = data
    lang = resolve_lang(lang)
    min_cell = resolve_min_cell(min_cell)
    rows, metric = _prepare(frame, dose)
    visible = rows.filter(pl.col("n") >= min_cell)
    hidden = rows.height - visible.height
    if percent is None:
        vals = rows.select(pl.concat_list("value", "ci_low", "ci_high").explode().drop_nulls())
        s = vals.to_series()
        percent = bool(s.len() > 0 and s.min() >= 0 and s.max() <= 1)  # type: ignore[operator]
    colour = group_palette([metric or "value"], palette)[metric or "value"]
    with font_context(lang) as families:
        if ax is None:
            _fig, ax = plt.subplots(
                figsize=(max(5.0, 0.65 * rows.height + 2), 4.2), layout="constrained"
            )
        pos = np.arange(rows.height, dtype=float)
        where = dict(zip(rows["segment"].to_list(), pos, strict=True))
        if visible.height:
            x = np.array([where[s] for s in visible["segment"].to_list()])
            v = visible["value"].to_numpy()
            err = np.vstack(
                [
                    v - visible["ci_low"].fill_null(np.nan).to_numpy(),
                    visible["ci_high"].fill_null(np.nan).to_numpy() - v,
                ]
            )
            err = np.where(np.isfinite(err), np.clip(err, 0, None), 0.0)
            container = ax.errorbar(x, v, yerr=err, fmt="o-", color=colour, ms=6, capsize=3, lw=1.4)
            data_line, _caps, bar_lines = container.lines
            data_line.set_gid("point:dose")
            for lines in bar_lines:
                lines.set_gid("ci:dose")
            first = visible.row(0, named=True)
            if reference and first["value"] is not None:
                ax.axhline(first["value"], color="#777777", ls="--", lw=1, gid="reference")
        names = [value_label(s, lang) for s in rows["segment"].to_list()]
        if show_n:
            names = [
                f"{s}\n({label('n', lang)}={format_count(n, min_cell)})"
                for s, n in zip(names, rows["n"].to_list(), strict=True)
            ]
        ax.set_xticks(pos, names)
        ax.set_xlim(-0.6, rows.height - 0.4)
        if percent:
            percent_axis(ax.yaxis)
        default_x = figure_texts("dose_response", lang).get(dose, dose)
        ax.set_xlabel(xlabel if xlabel is not None else default_x)
        default_y = metric_label(metric, lang) if metric else label("value", lang)
        ax.set_ylabel(ylabel if ylabel is not None else default_y)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        hidden_note(ax, hidden, lang=lang, min_cell=min_cell, corner="top")
        if title is not None:
            ax.set_title(title)
        apply_fonts(ax, families)
    return ax


def _prepare(frame: pl.DataFrame, dose: str) -> tuple[pl.DataFrame, str | None]:
    """Validate; rows sorted by ``dose`` with float value columns."""
    if not isinstance(frame, pl.DataFrame):
        raise ValueError(f"data must be a polars DataFrame, got {type(frame).__name__}")
    needed = ["segment", dose, "value", "ci_low", "ci_high", "n"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"data lacks column(s) {missing}; expected {needed} (dose={dose!r})")
    metric = None
    if "metric" in frame.columns:
        names = sorted(frame["metric"].cast(pl.String).unique().drop_nulls().to_list())
        if len(names) > 1:
            raise ValueError(f"data holds several metrics {names}; filter it to one")
        metric = names[0] if names else None
    if frame.height == 0:
        raise ValueError("data has no rows to plot")
    rows = frame.sort(dose).select(
        pl.col("segment").cast(pl.String),
        pl.col("value", "ci_low", "ci_high").cast(pl.Float64),
        pl.col("n").cast(pl.Float64),
    )
    return rows, metric
