"""Lift chart: relative treatment-vs-control difference with CI per outcome.

:func:`plot_effects` draws an :class:`~insights.metrics.experiments.ExperimentEffects`
result (or its ``summary`` frame): one row per outcome, the relative difference
(treatment / control − 1) as a point with its CI, one colour per treatment arm
(dodged), a zero line, and significance after the multiple-testing adjustment
(filled point and ``*`` when ``p_adjusted <= alpha``, hollow otherwise). Rows where
either arm has fewer than ``min_cell`` units, or a rate of either arm rests on fewer
than ``min_cell`` users (its numerator or complement), are not drawn.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.axes import Axes

from insights._options import Lang, resolve_lang, resolve_min_cell
from insights.tables._suppress import few_in_rate, is_rate_metric
from insights.viz._common import percent_axis
from insights.viz._fonts import apply_fonts, font_context
from insights.viz._labels import figure_texts, label, metric_label, value_label
from insights.viz._palette import PaletteLike, group_palette

__all__ = ["plot_effects"]

_NEEDED = (
    "outcome",
    "arm",
    "n_arm",
    "n_control",
    "relative",
    "relative_ci_low",
    "relative_ci_high",
    "p_adjusted",
)


def _frame(result: Any) -> tuple[pl.DataFrame, str, float, str]:
    summary = getattr(result, "summary", result)
    if not isinstance(summary, pl.DataFrame):
        raise ValueError(
            f"data must be an ExperimentEffects or its summary frame, got {type(result).__name__}"
        )
    missing = [c for c in _NEEDED if c not in summary.columns]
    if missing:
        raise ValueError(f"result summary lacks column(s) {missing}; expected {list(_NEEDED)}")
    control = getattr(result, "control", None) or (
        summary["control"][0] if "control" in summary.columns and summary.height else "control"
    )
    return (
        summary,
        str(control),
        float(getattr(result, "alpha", 0.05)),
        str(getattr(result, "adjust", "holm")),
    )


def plot_effects(
    data: Any,
    *,
    ax: Axes | None = None,
    lang: Lang | None = None,
    min_cell: int | None = None,
    palette: PaletteLike = None,
    title: str | None = None,
) -> Axes:
    """Lift chart of an experiment's outcomes: relative difference with CI.

    Parameters
    ----------
    data
        :func:`insights.metrics.experiments.experiment_effects` output, or its
        ``summary`` frame (``outcome, arm, n_arm, n_control, relative,
        relative_ci_low, relative_ci_high, p_adjusted``).
    ax
        Axes to draw on (a new figure when ``None``).
    lang
        ``"en"`` or ``"zh"`` labels. Default from ``ins.options`` (``"en"`` unless set).
    min_cell
        Rows with ``n_arm`` or ``n_control`` below it are not drawn (a note says how many).
        Default from ``ins.options`` (10 unless set).
    palette
        Colours per arm (:func:`insights.viz.group_palette`).
    title
        Optional title.

    Returns
    -------
    matplotlib.axes.Axes
        Outcomes, arms and the control are named as in the catalog (``retention_d7``
        -> "D7 retention"; names it does not know print as they are). Intervals are ``ErrorbarContainer`` s; points have gid ``point:<arm>:<outcome>``,
        the zero line ``zero``, significance stars ``sig:<arm>:<outcome>``.

    Examples
    --------
    >>> s = pl.DataFrame({"outcome": ["retention_d7", "aov"], "arm": "treatment",
    ...     "control": "control", "n_arm": [500, 200], "n_control": [500, 5],
    ...     "relative": [0.1, 0.02], "relative_ci_low": [0.03, -0.1],
    ...     "relative_ci_high": [0.17, 0.14], "p_adjusted": [0.01, 0.7]})
    >>> import insights as ins
    >>> ax = ins.plot_effects(s)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['D7 retention']
    """
    result = data
    lang = resolve_lang(lang)
    min_cell = resolve_min_cell(min_cell)
    summary, control, alpha, adjust = _frame(result)
    text = figure_texts("effects", lang)
    frame = summary.with_columns(pl.col(pl.Float64).fill_nan(None))
    ok = (
        (pl.col("n_arm") >= min_cell)
        & (pl.col("n_control") >= min_cell)
        & pl.col("relative").is_not_null()
    )
    rate = pl.Series([is_rate_metric(o) for o in frame["outcome"].to_list()], dtype=pl.Boolean)
    for value, n in (("value_arm", "n_arm"), ("value_control", "n_control")):
        if value in frame.columns:  # a rate of either arm resting on fewer than min_cell users
            ok = ok & ~(pl.lit(rate) & few_in_rate(value, n, min_cell=min_cell))
    visible = frame.filter(ok)
    hidden = frame.height - visible.height
    outcomes = list(dict.fromkeys(visible["outcome"].to_list()))
    arms = sorted(dict.fromkeys(frame["arm"].cast(pl.String).to_list()))
    colours = group_palette(arms, palette)
    with font_context(lang) as families:
        if ax is None:
            _fig, ax = plt.subplots(
                figsize=(6.4, max(2.8, (0.25 + 0.22 * len(arms)) * max(len(outcomes), 1) + 1.6)),
                layout="constrained",
            )
        ax.axvline(0.0, color="#555555", lw=1, ls="--", gid="zero")
        width = 0.7 / max(len(arms), 1)
        pos_of = {o: i for i, o in enumerate(outcomes)}
        for j, arm in enumerate(arms):
            sub = visible.filter(pl.col("arm") == arm)
            if sub.height == 0:
                continue
            offset = (j - (len(arms) - 1) / 2) * width
            colour = colours[arm]
            for row in sub.iter_rows(named=True):
                y = pos_of[row["outcome"]] + offset
                v = float(row["relative"])
                lo = row["relative_ci_low"]
                hi = row["relative_ci_high"]
                err = np.array(
                    [[v - lo if lo is not None else 0.0], [hi - v if hi is not None else 0.0]]
                )
                sig = row["p_adjusted"] is not None and row["p_adjusted"] <= alpha
                cont = ax.errorbar(
                    [v], [y], xerr=np.clip(err, 0, None), fmt="o", color=colour, ms=7, capsize=3, lw=1.4,
                    mfc=colour if sig else "white", mec=colour,
                )  # fmt: skip
                line = cont.lines[0]
                if line is not None:
                    line.set_gid(f"point:{arm}:{row['outcome']}")
                if sig:
                    ax.annotate(
                        "*", (hi if hi is not None else v, y), xytext=(4, -2), textcoords="offset points",
                        ha="left", va="center", fontsize="large", color=colour, gid=f"sig:{arm}:{row['outcome']}",
                    )  # fmt: skip
            ax.plot([], [], "o", color=colour, label=value_label(arm, lang))
        ax.set_yticks(range(len(outcomes)), [metric_label(o, lang) for o in outcomes])
        ax.set_ylim(len(outcomes) - 0.5, -0.5)
        percent_axis(ax.xaxis)
        ax.set_xlabel(text["x"].format(control=value_label(control, lang)))
        ax.set_ylabel(text["outcome"])
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        notes = [
            text["sig"].format(adjust=adjust.capitalize() if adjust != "bh" else "BH", alpha=alpha)
        ]
        if hidden:
            notes.append(label("hidden_cells", lang, k=hidden, m=min_cell))
        ax.annotate(
            "\n".join(notes), (0.0, 0.0), xycoords="axes fraction", xytext=(0, -36),
            textcoords="offset points", ha="left", va="top", fontsize="small", gid="notes",
        )  # fmt: skip
        if len(arms) > 1 and visible.height:
            ax.legend(title=text["arm"], frameon=False, fontsize="small", title_fontsize="small")
        if title is not None:
            ax.set_title(title)
        apply_fonts(ax, families)
    return ax
