"""Cohort LTV curves with bootstrap bands (``ins.cohort_ltv``).

:func:`plot_ltv` only draws: one line per cohort (and segment), its CI band, points
that are not yet observed for the whole cohort dashed, and cells with fewer than
``min_cell`` users left out (a note says how many).
"""

from __future__ import annotations

import polars as pl
from matplotlib.axes import Axes

from insights._options import Lang, resolve_lang, resolve_min_cell
from insights.viz._common import new_axes
from insights.viz._fonts import apply_fonts, font_context
from insights.viz._labels import label
from insights.viz._palette import PaletteLike, group_palette

__all__ = ["plot_ltv"]

_NEEDED = ("cohort", "t", "value", "n")


def plot_ltv(
    data: pl.DataFrame,
    *,
    ax: Axes | None = None,
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
        and optionally ``segment``, ``ci_low``/``ci_high``, ``complete``.
    ax
        Axes to draw on (a new figure when None).
    lang
        ``"en"`` or ``"zh"`` (Chinese labels and a CJK font).
        Default from ``ins.options`` (``"en"`` unless set).
    min_cell
        Points with fewer than ``min_cell`` users are not drawn; a curve with no
        point left is hidden and counted in a note.
        Default from ``ins.options`` (10 unless set).
    palette
        Colours, as :func:`insights.viz.group_palette`.
    ci
        Draw the CI band (when ``ci_low``/``ci_high`` are present).
    title
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        Artists carry gids ``curve:<label>``, ``ci:<label>``, ``incomplete:<label>``.

    Examples
    --------
    >>> f = pl.DataFrame({"cohort": ["2024-01"] * 3, "t": [0, 7, 30], "value": [1.0, 3.0, 5.0],
    ...                   "ci_low": [0.8, 2.5, 4.0], "ci_high": [1.2, 3.5, 6.0], "n": [50] * 3,
    ...                   "complete": [True, True, False]})
    >>> import insights as ins
    >>> ax = ins.plot_ltv(f)
    >>> sorted(a.get_gid() for a in ax.lines)
    ['curve:2024-01', 'incomplete:2024-01']
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
    several = data["segment"].n_unique() > 1
    data = data.with_columns(
        (pl.concat_str(["segment", "cohort"], separator=" · ") if several else pl.col("cohort"))
        .cast(pl.String)
        .alias("_label")
    ).sort("_label", "t")
    labels = data["_label"].unique(maintain_order=True).to_list()
    shown = data.filter(pl.col("n") >= min_cell)
    hidden = len(labels) - shown["_label"].n_unique()
    colours = group_palette(labels, palette)
    target = new_axes(ax, (7.0, 4.2))
    with font_context(lang) as families:
        for name, part in shown.group_by("_label", maintain_order=True):
            key = str(name[0])
            _draw(target, part, key, colours[key], ci=ci)
        target.set_xlabel(label("ltv.x", lang))
        target.set_ylabel(label("ltv.y", lang))
        target.set_xlim(left=0)
        target.set_ylim(bottom=0)
        if title:
            target.set_title(title)
        if shown.height and (len(labels) - hidden > 1 or several):
            target.legend(title=label("cohort", lang), fontsize="small", frameon=False)
        if hidden:
            target.text(0.99, 0.01, label("hidden_groups", lang, k=hidden, m=min_cell),
                        transform=target.transAxes, ha="right", va="bottom", fontsize="small",
                        color="#666666", gid="hidden-note")  # fmt: skip
        apply_fonts(target, families)
    return target


def _draw(ax: Axes, part: pl.DataFrame, key: str, colour: str, *, ci: bool) -> None:
    t = part["t"].cast(pl.Float64).to_numpy()
    y = part["value"].cast(pl.Float64).to_numpy()
    done = part["complete"].fill_null(False).to_numpy()
    last = int(done.nonzero()[0].max()) if done.any() else 0
    ax.plot(t[: last + 1], y[: last + 1], color=colour, marker="o", ms=3, label=key,
            gid=f"curve:{key}")  # fmt: skip
    if last + 1 < t.size:
        ax.plot(t[last:], y[last:], color=colour, ls="--", marker="o", ms=3, mfc="white",
                gid=f"incomplete:{key}")  # fmt: skip
    if ci and {"ci_low", "ci_high"} <= set(part.columns):
        low = part["ci_low"].cast(pl.Float64).to_numpy()
        high = part["ci_high"].cast(pl.Float64).to_numpy()
        ax.fill_between(t, low, high, color=colour, alpha=0.15, lw=0, gid=f"ci:{key}")
