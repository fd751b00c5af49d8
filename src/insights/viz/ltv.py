"""Cohort LTV curves with bootstrap bands (:func:`insights.metrics.ltv.cohort_ltv`).

:func:`plot_ltv` only draws: one line per cohort (and group), its CI band, points
that are not yet observed for the whole cohort dashed, and cells with fewer than
``min_cell`` users left out (a note says how many).
"""

from __future__ import annotations

import polars as pl
from matplotlib.axes import Axes

from insights.viz._common import check_min_cell, new_axes
from insights.viz._fonts import apply_fonts, font_context
from insights.viz._labels import check_lang, label
from insights.viz._palette import PaletteLike, group_palette

__all__ = ["plot_ltv"]

#: Texts specific to this figure (to move into the label catalog).
_TEXT = {
    "en": {"x": "Days since acquisition", "y": "Cumulative GMV per acquired user"},
    "zh": {"x": "获客后天数", "y": "人均累计GMV"},
}
_NEEDED = ("cohort", "t", "ltv", "n")


def plot_ltv(
    ltv_frame: pl.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "en",
    min_cell: int = 10,
    palette: PaletteLike = None,
    ci: bool = True,
    title: str | None = None,
) -> Axes:
    """Plot cumulative LTV by day since acquisition, one curve per cohort (x group).

    Parameters
    ----------
    ltv_frame
        The output of :func:`insights.metrics.ltv.cohort_ltv`: ``cohort, t, ltv, n``
        and optionally ``group``, ``ci_low``/``ci_high``, ``complete``.
    ax
        Axes to draw on (a new figure when None).
    lang
        ``"en"`` or ``"zh"`` (Chinese labels and a CJK font).
    min_cell
        Points with fewer than ``min_cell`` users are not drawn; a curve with no
        point left is hidden and counted in a note.
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
    >>> f = pl.DataFrame({"cohort": ["2024-01"] * 3, "t": [0, 7, 30], "ltv": [1.0, 3.0, 5.0],
    ...                   "ci_low": [0.8, 2.5, 4.0], "ci_high": [1.2, 3.5, 6.0], "n": [50] * 3,
    ...                   "complete": [True, True, False]})
    >>> ax = plot_ltv(f)
    >>> sorted(a.get_gid() for a in ax.lines)
    ['curve:2024-01', 'incomplete:2024-01']
    """
    lang = check_lang(lang)
    check_min_cell(min_cell)
    missing = [c for c in _NEEDED if c not in ltv_frame.columns]
    if missing:
        raise ValueError(f"ltv_frame lacks columns {missing}; pass the output of cohort_ltv")
    data = ltv_frame
    if "group" not in data.columns:
        data = data.with_columns(group=pl.lit("all"))
    if "complete" not in data.columns:
        data = data.with_columns(complete=pl.lit(True))
    several = data["group"].n_unique() > 1
    data = data.with_columns(
        (pl.concat_str(["group", "cohort"], separator=" · ") if several else pl.col("cohort"))
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
        target.set_xlabel(_TEXT[lang]["x"])
        target.set_ylabel(_TEXT[lang]["y"])
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
    y = part["ltv"].cast(pl.Float64).to_numpy()
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
