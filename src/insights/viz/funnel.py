"""Funnels: one bar per stage with the step rate, its CI and the drop-off.

:func:`plot_funnel` draws a funnel frame (``insights.metrics.funnel``: one row per
stage with ``step, stage, users, value, ci_low, ci_high, n, overall, drop_off``).
Bars are the share of the entry stage reached (``overall``); each bar is labelled
with its users and the step rate with its CI, and the drop-off between stages is
written beside the gap. It only draws; every number comes from the frame.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.axes import Axes

from insights._options import Lang, resolve_lang, resolve_min_cell
from insights.viz._common import format_count, hidden_note, percent_axis
from insights.viz._fonts import apply_fonts, font_context
from insights.viz._labels import figure_texts, value_label
from insights.viz._palette import PaletteLike, group_palette

__all__ = ["plot_funnel"]

_NEEDED = ("step", "stage", "users", "value", "ci_low", "ci_high", "n", "overall", "drop_off")


def _pct(x: float | None) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{100 * x:.1f}%"


def plot_funnel(
    data: pl.DataFrame,
    *,
    ax: Axes | None = None,
    segment: str | None = None,
    lang: Lang | None = None,
    min_cell: int | None = None,
    palette: PaletteLike = None,
    stage_labels: dict[str, str] | None = None,
    title: str | None = None,
    xlabel: str | None = None,
) -> Axes:
    """Plot a funnel: stage bars (share of entry), step rates with CIs, drop-off labels.

    Parameters
    ----------
    data
        A funnel frame (``interaction_funnel``, ``private_funnel`` or
        ``funnel_frame``): columns ``step, stage, users, value, ci_low, ci_high, n,
        overall, drop_off`` and optionally ``segment``.
    ax
        Axes to draw on (a new figure when ``None``).
    segment
        Which segment to draw when the frame holds several (required then).
    lang
        ``"en"`` or ``"zh"`` texts. Default from ``ins.options`` (``"en"`` unless set).
    min_cell
        Stages with fewer than ``min_cell`` users or a denominator ``n`` below it are
        not drawn (a note says how many); counts below it print as ``"<min_cell"``.
        Default from ``ins.options`` (10 unless set).
    palette
        Colour of the bars: see :func:`insights.viz.group_palette` (keyed by segment).
    stage_labels
        Display names per stage (e.g. ``{"viewers": "Viewers"}``); default the catalog's
        name of the stage in ``lang`` (a stage it does not know prints as its id).
    title, xlabel
        Override the default texts.

    Returns
    -------
    matplotlib.axes.Axes
        Bars have gid ``bar:<stage>``; the step-rate interval (drawn relative to the
        previous stage: previous overall × [ci_low, ci_high]) ``ci:<stage>``; texts
        ``rate:<stage>`` and ``dropoff:<stage>``.

    Examples
    --------
    >>> f = pl.DataFrame({"step": [1, 2], "stage": ["viewers", "ordered"], "users": [200, 50],
    ...     "value": [1.0, 0.25], "ci_low": [None, 0.195], "ci_high": [None, 0.314],
    ...     "n": [200, 200], "overall": [1.0, 0.25], "drop_off": [None, 0.75]})
    >>> import insights as ins
    >>> ax = ins.plot_funnel(f)
    >>> [t.get_gid() for t in ax.texts if t.get_gid()]
    ['rate:viewers', 'rate:ordered', 'dropoff:ordered']
    """
    frame = data
    lang = resolve_lang(lang)
    min_cell = resolve_min_cell(min_cell)
    rows = _prepare(frame, segment)
    text = figure_texts("funnel", lang)
    names = stage_labels or {}
    seg = str(rows["segment"][0]) if "segment" in rows.columns else "all"
    colour = group_palette([seg], palette)[seg]
    visible = rows.filter((pl.col("users") >= min_cell) & (pl.col("n") >= min_cell))
    hidden = rows.height - visible.height
    with font_context(lang) as families:
        if ax is None:
            _fig, ax = plt.subplots(figsize=(7.0, 0.8 * rows.height + 1.4), layout="constrained")
        prev_overall = 1.0
        for i, r in enumerate(rows.iter_rows(named=True)):
            stage = str(r["stage"])
            shown = r["users"] >= min_cell and r["n"] >= min_cell
            if shown:
                ax.barh(i, r["overall"], 0.6, color=colour, gid=f"bar:{stage}")
                if r["ci_low"] is not None and r["ci_high"] is not None:
                    lo, hi = prev_overall * r["ci_low"], prev_overall * r["ci_high"]
                    (line,) = ax.plot([lo, hi], [i, i], color="#333333", lw=1.4)
                    line.set_gid(f"ci:{stage}")
                ci = (
                    f" [{_pct(r['ci_low'])}, {_pct(r['ci_high'])}]"
                    if r["ci_low"] is not None
                    else ""
                )
                words = f"{format_count(r['users'], min_cell)}"
                if r["step"] > 1:
                    words += f" · {text['rate']} {_pct(r['value'])}{ci}"
                ax.text(
                    max(r["overall"], r["ci_high"] * prev_overall if r["ci_high"] else 0) + 0.02,
                    i,
                    words,
                    va="center",
                    fontsize="small",
                    gid=f"rate:{stage}",
                )
                if r["drop_off"] is not None:
                    ax.text(
                        0.0,
                        i - 0.5,
                        f" ↓ {text['drop']} {_pct(r['drop_off'])}",
                        va="center",
                        ha="left",
                        fontsize="x-small",
                        color="#a33",
                        gid=f"dropoff:{stage}",
                    )
            prev_overall = r["overall"] if r["overall"] is not None else prev_overall
        stages = [str(s) for s in rows["stage"].to_list()]
        ax.set_yticks(
            range(rows.height),
            [names.get(s) or text.get(f"stages.{s}") or value_label(s, lang) for s in stages],
        )
        ax.set_ylim(rows.height - 0.5, -0.7)
        ax.set_xlim(0, 1.45)
        percent_axis(ax.xaxis)
        ax.set_xlabel(xlabel if xlabel is not None else text["overall"])
        ax.set_ylabel(text["stage"])
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        hidden_note(ax, hidden, lang=lang, min_cell=min_cell, corner="bottom")
        if title is not None:
            ax.set_title(title)
        apply_fonts(ax, families)
    return ax


def _prepare(frame: pl.DataFrame, segment: str | None) -> pl.DataFrame:
    """Validate; one segment's stages sorted by step."""
    if not isinstance(frame, pl.DataFrame):
        raise ValueError(f"data must be a polars DataFrame, got {type(frame).__name__}")
    missing = [c for c in _NEEDED if c not in frame.columns]
    if missing:
        raise ValueError(f"data lacks column(s) {missing}; expected a funnel frame with {_NEEDED}")
    rows = frame
    if "segment" in frame.columns:
        segs = sorted(frame["segment"].cast(pl.String).unique().to_list())
        if segment is None and len(segs) > 1:
            raise ValueError(f"data holds several segments {segs}; pass segment= one of them")
        if segment is not None and segment not in segs:
            raise ValueError(f"segment={segment!r} not in data; available: {segs}")
        if segment is not None:
            rows = frame.filter(pl.col("segment").cast(pl.String) == segment)
    elif segment is not None:
        raise ValueError(f"segment={segment!r} given but data has no 'segment' column")
    if rows.height == 0:
        raise ValueError("data has no rows to plot")
    return rows.sort("step")
