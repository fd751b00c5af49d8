"""Kaplan–Meier retention curves as a reviewer expects them (survminer's ggsurvplot).

:func:`plot_survival` draws a ``SurvivalCurves`` result (or just its table): step
curves, pointwise CI bands, censor marks, a number-at-risk table under the axis,
median lines and the log-rank p-value, optionally faceted by one by-column. It
only draws; every number comes from the frames it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from insights._options import Lang, resolve_lang, resolve_min_cell
from insights.narrative.numbers import fmt_p
from insights.viz._common import percent_axis
from insights.viz._curves_input import CurveGroup, curve_groups, read_curves, risk_counts
from insights.viz._fonts import apply_fonts, font_context
from insights.viz._labels import column_label, label, value_label
from insights.viz._palette import PaletteLike
from insights.viz._risk_table import draw_risk_table, risk_table_inches

__all__ = ["plot_survival"]


def plot_survival(
    data: Any,
    *,
    ax: Axes | None = None,
    col: str | None = None,
    palette: PaletteLike = None,
    ci: bool = True,
    censor_marks: bool = True,
    at_risk_table: bool = True,
    median_lines: bool = True,
    comparison: Any = None,
    lang: Lang | None = None,
    min_cell: int | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    xmax: float | None = None,
    ticks: Sequence[float] | None = None,
) -> Axes:
    """Plot Kaplan–Meier retention curves with CI bands and a number-at-risk table.

    Parameters
    ----------
    data
        A ``SurvivalCurves`` result (anything with a ``table`` frame; ``summary``,
        ``counts`` and ``by`` are used when present) or the table itself:
        ``segment`` (absent = one curve), ``t, survival, ci_low,
        ci_high, at_risk, events, censored`` with every distinct time as a row.
    ax
        Axes to draw on (a new figure when ``None``). The risk table hangs below
        it as a child axes: give the figure ``layout="constrained"`` or save with
        ``bbox_inches="tight"`` so it is not cut off. With ``col`` it is split into
        the panels (it must be a subplot, e.g. from ``plt.subplots``) and stays the
        first one.
    col
        A by-column (in ``data.table`` or ``data.counts``): one panel per value,
        side by side, sharing the y axis; the curves in each panel are the other
        by-columns, coloured the same in every panel.
    palette
        ``None``, a colormap name, a list of colours or ``{segment: colour}``; see
        :func:`insights.viz.group_palette` (colours follow the sorted segment names).
    ci, censor_marks, at_risk_table, median_lines
        Draw the pointwise CI band, a ``+`` at each time with censored users, the
        number-at-risk table, and dashed median lines (to the x axis, where reached).
    comparison
        A ``SurvivalComparison`` (its ``overall["p_value"]`` and ``overall["test"]``)
        or a p-value: printed bottom left as e.g. ``"Log-rank p = 0.003"``.
    lang
        ``"en"`` or ``"zh"`` (Chinese labels and a CJK font; see
        :func:`insights.viz.cjk_font`). Default from ``ins.options`` (``"en"`` unless set).
    min_cell
        Small cells are never shown: a segment with fewer than ``min_cell`` users is
        not drawn (a note says how many were hidden); each curve stops at the last
        time with at least ``min_cell`` users at risk (Pocock et al. 2002 advise
        curtailing curves where few remain); risk-table counts below ``min_cell``
        print as ``"<10"`` (0 prints as 0). Default from ``ins.options`` (10 unless set).
    xlabel, ylabel, title
        Override the default texts.
    xmax, ticks
        Right end of the x axis (default: the last time drawn, or the largest tick)
        and x tick positions in [0, xmax] (default: multiples of 1, 3, 6 or 9 x 10^k,
        e.g. 0, 30, 60, 90 days). The risk table prints counts at exactly these ticks.

    Returns
    -------
    matplotlib.axes.Axes
        The curve axes; with ``col`` the first panel (every panel has gid
        ``panel:<value>``: ``[a for a in ax.figure.axes if str(a.get_gid()).startswith("panel:")]``).
        Legend entries, the legend title and panel titles are the catalog's names
        of the values and columns in ``lang`` (``douyin`` -> "Douyin"; values it
        does not know print as they are). Artists carry gids for inspection:
        ``curve:<g>``, ``ci:<g>``, ``censor:<g>``, ``median:<g>``, ``pvalue``;
        the table is the child axes with gid ``risk-table``.

    Examples
    --------
    >>> import polars as pl
    >>> import insights as ins
    >>> table = pl.DataFrame({"segment": ["a"] * 3 + ["b"] * 3, "t": [0, 5, 9] * 2,
    ...     "survival": [1.0, .8, .5, 1.0, .6, .3], "ci_low": [1.0, .7, .4, 1.0, .5, .2],
    ...     "ci_high": [1.0, .9, .6, 1.0, .7, .4], "at_risk": [40, 40, 20, 30, 30, 12],
    ...     "events": [0, 8, 10, 0, 12, 9], "censored": [0, 0, 10, 0, 0, 3]})
    >>> ax = ins.plot_survival(table)
    >>> sorted(line.get_gid() for line in ax.lines if line.get_gid().startswith("curve"))
    ['curve:a', 'curve:b']
    """
    lang = resolve_lang(lang)
    min_cell = resolve_min_cell(min_cell)
    frames = read_curves(data)
    panels = curve_groups(frames, col=col, palette=palette, min_cell=min_cell, lang=lang)
    kept = [g.rows for groups, _ in panels.values() for g in groups]
    last_t = max(
        (float(r["t"].cast(pl.Float64).to_numpy().max()) for r in kept if r.height), default=1.0
    )
    if xmax is not None and not (np.isfinite(xmax) and xmax > 0):
        raise ValueError(f"xmax must be a positive number, got {xmax!r}")
    x_right = float(xmax) if xmax is not None else (last_t if last_t > 0 else 1.0)
    if xmax is None and ticks:  # given ticks extend the default axis
        x_right = max(x_right, *(float(t) for t in ticks))
    tick_list = _ticks(x_right, ticks)
    n_rows = max((len(groups) for groups, _ in panels.values()), default=1)
    table_h = risk_table_inches(n_rows) if at_risk_table else 0.0
    texts = {
        "xlabel": xlabel if xlabel is not None else label("days", lang),
        "ylabel": ylabel if ylabel is not None else label("retained", lang),
        "legend": " · ".join(column_label(b, lang) for b in frames.by if col is None or b != col),
    }
    p_text = _p_text(comparison, lang)
    entries = {g.display: g.colour for groups, _ in panels.values() for g in groups}
    drawn = [g.segment for groups, _ in panels.values() for g in groups]
    show_legend = bool(entries) and (len(entries) > 1 or drawn != ["all"] or bool(texts["legend"]))
    with font_context(lang) as families:
        if col is None:
            target = ax
            if target is None:
                _fig, target = plt.subplots(figsize=(7.0, 4.6 + table_h), layout="constrained")
            axes = [target]
        else:
            axes = _panel_axes(ax, len(panels), figsize=(4.6 * len(panels) + 0.8, 4.4 + table_h))
        for i, (panel_ax, (key, (groups, hidden))) in enumerate(
            zip(axes, panels.items(), strict=True)
        ):
            _draw_panel(
                panel_ax,
                groups,
                hidden=hidden,
                x_right=x_right,
                ticks=tick_list,
                ci=ci,
                censor_marks=censor_marks,
                median_lines=median_lines,
                lang=lang,
                min_cell=min_cell,
                texts=texts,
                legend=entries if (show_legend and i == 0) else None,
            )
            if col is not None:
                panel_ax.set_title(
                    f"{column_label(col, lang)} = {value_label(key, lang)}", fontsize="medium"
                )
                panel_ax.set_gid(f"panel:{key}")
                if i > 0:
                    panel_ax.set_ylabel("")
            if p_text is not None and i == 0:
                panel_ax.text(
                    0.03,
                    0.04,
                    p_text,
                    transform=panel_ax.transAxes,
                    ha="left",
                    va="bottom",
                    gid="pvalue",
                    bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "none", "alpha": 0.85},
                )
            if at_risk_table:
                at_risk = risk_counts(frames, [g.segment for g in groups], tick_list)
                draw_risk_table(
                    panel_ax,
                    [(g.segment, g.display, g.colour, at_risk[g.segment]) for g in groups],
                    ticks=tick_list,
                    min_cell=min_cell,
                    title=label("at_risk", lang),
                )
            apply_fonts(panel_ax, families)
        if title is not None:
            if col is None:
                axes[0].set_title(title)
            else:
                axes[0].get_figure().suptitle(title)  # type: ignore[union-attr]
    return axes[0]


def _panel_axes(ax: Axes | None, n: int, *, figsize: tuple[float, float]) -> list[Axes]:
    """``n`` side-by-side panels sharing y: a new figure's, or ``ax`` split into ``n``
    (``ax`` stays the first panel; it must be a grid subplot, e.g. from ``plt.subplots``)."""
    if ax is None:
        _fig, grid = plt.subplots(
            1, n, figsize=figsize, sharey=True, layout="constrained", squeeze=False
        )
        return list(grid[0])
    spec = ax.get_subplotspec()
    if spec is None:
        raise ValueError(
            "with col, ax must be a subplot (e.g. from plt.subplots) so it can be split "
            "into one panel per value"
        )
    cells = spec.subgridspec(1, n, wspace=0.08)
    ax.set_subplotspec(cells[0])
    figure = ax.get_figure()
    rest = [figure.add_subplot(cells[i], sharey=ax) for i in range(1, n)]  # type: ignore[union-attr]
    return [ax, *rest]


def _ticks(x_right: float, ticks: Sequence[float] | None) -> list[float]:
    """The x ticks: given ones, or nice multiples (30-day friendly) in [0, x_right]."""
    if ticks is not None:
        values = [float(t) for t in ticks]
        if not values or any(not (np.isfinite(t) and 0 <= t <= x_right) for t in values):
            raise ValueError(f"ticks must be numbers in [0, xmax={x_right:g}], got {list(ticks)!r}")
        return sorted(set(values))
    locator = MaxNLocator(nbins=6, steps=[1, 3, 6, 9, 10])
    return [float(t) for t in locator.tick_values(0.0, x_right) if -1e-9 <= t <= x_right + 1e-9]


def _p_text(comparison: Any, lang: str) -> str | None:
    """``"Log-rank p = 0.003"`` from a comparison result or a bare p-value."""
    if comparison is None:
        return None
    if isinstance(comparison, int | float):
        p, test = float(comparison), "log-rank"
    else:
        overall = getattr(comparison, "overall", None)
        if overall is None:
            raise ValueError(
                "comparison must be a SurvivalComparison (with .overall) or a p-value, "
                f"got {type(comparison).__name__}"
            )
        p = _scalar(overall["p_value"])
        has_test = isinstance(overall, Mapping) or "test" in getattr(overall, "columns", [])
        test = str(_scalar(overall["test"])) if has_test and "test" in overall else "log-rank"
    name = test.lower().replace("_", "-").replace(" ", "-")
    shown = label("logrank", lang) if name in {"log-rank", "logrank"} else test
    return f"{shown} {fmt_p(float(p))}"


def _scalar(value: Any) -> Any:
    """A Python scalar from a scalar, a one-element Series or list."""
    if isinstance(value, pl.Series | list | tuple):
        if len(value) != 1:
            raise ValueError(f"comparison.overall must hold one test, got {len(value)}")
        return value[0]
    return value


def _step_arrays(
    rows: pl.DataFrame, *, x_right: float, extend: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``t, S, lower, upper`` to draw: from (0, 100%) and, when the curve goes on past
    the axis, held flat to ``x_right``."""
    t = rows["t"].cast(pl.Float64).to_numpy()
    s = rows["survival"].cast(pl.Float64).to_numpy()
    lo = rows["ci_low"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    hi = rows["ci_high"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    if rows.height == 0:
        return t, s, lo, hi
    if t[0] > 0 or s[0] < 1:  # lifelines' S(0) = P(T > 0) drops below 1 with events at 0
        t, s, lo, hi = (np.insert(a, 0, v) for a, v in ((t, 0.0), (s, 1.0), (lo, 1.0), (hi, 1.0)))
    if extend and t[-1] < x_right:
        t, s, lo, hi = (
            np.append(a, v) for a, v in ((t, x_right), (s, s[-1]), (lo, lo[-1]), (hi, hi[-1]))
        )
    return t, s, lo, hi


def _draw_panel(
    ax: Axes,
    groups: list[CurveGroup],
    *,
    hidden: int,
    x_right: float,
    ticks: list[float],
    ci: bool,
    censor_marks: bool,
    median_lines: bool,
    lang: str,
    min_cell: int,
    texts: dict[str, str],
    legend: dict[str, str] | None,
) -> None:
    """Curves, bands, marks and medians of one panel, plus axes cosmetics.

    ``legend`` maps display label -> colour for the legend (``None``: no legend; a
    hidden-groups note is then printed in the panel).
    """
    for g in groups:
        rows = g.rows.filter(pl.col("t") <= x_right)
        t, s, lo, hi = _step_arrays(rows, x_right=x_right, extend=g.last_t > x_right)
        ax.plot(
            t,
            s,
            drawstyle="steps-post",
            color=g.colour,
            lw=1.8,
            label=g.display,
            gid=f"curve:{g.segment}",
        )
        if ci and rows.height:
            ax.fill_between(
                t, lo, hi, step="post", color=g.colour, alpha=0.18, lw=0, gid=f"ci:{g.segment}"
            )
        if censor_marks:
            marks = rows.filter((pl.col("censored") > 0) & (pl.col("t") > 0))
            ax.plot(
                marks["t"].to_numpy(),
                marks["survival"].to_numpy(),
                ls="none",
                marker="+",
                ms=7,
                mew=1.1,
                color=g.colour,
                gid=f"censor:{g.segment}",
            )
        if median_lines and g.median is not None and g.median <= min(x_right, g.last_t):
            ax.plot(
                [0, g.median, g.median],
                [0.5, 0.5, 0],
                ls="--",
                lw=0.9,
                color=g.colour,
                gid=f"median:{g.segment}",
            )
    ax.set_xlim(0, x_right)
    ax.set_xticks(ticks)
    ax.set_ylim(0, 1.02)
    percent_axis(ax.yaxis)
    ax.set_xlabel(texts["xlabel"])
    ax.set_ylabel(texts["ylabel"])
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    note = label("hidden_groups", lang, k=hidden, m=min_cell) if hidden else None
    if not groups:
        empty = "\n".join(t for t in (label("no_groups", lang, m=min_cell), note) if t)
        ax.text(
            0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center", gid="hidden-note"
        )
    elif legend:
        handles = [Line2D([], [], color=c, lw=1.8, label=d) for d, c in sorted(legend.items())]
        box = ax.legend(
            handles=handles,
            loc="upper right",
            frameon=False,
            title="\n".join(t for t in (texts["legend"], note) if t) or None,
            fontsize="small",
            title_fontsize="small",
        )
        box.set_gid("legend")
    elif note:
        ax.text(
            0.98,
            0.98,
            note,
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize="small",
            gid="hidden-note",
        )
