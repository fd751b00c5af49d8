"""Small helpers shared by the ``plot_*`` functions (argument checks, axes, text)."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.ticker import PercentFormatter

__all__ = [
    "StepPercentFormatter",
    "check_choice",
    "check_min_cell",
    "format_count",
    "hidden_note",
    "new_axes",
    "percent_axis",
    "percent_decimals",
    "small_text",
    "text_colour_on",
]


def check_min_cell(min_cell: int) -> int:
    """Validate ``min_cell`` (a non-negative integer)."""
    if isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 0:
        raise ValueError(f"min_cell must be a non-negative integer, got {min_cell!r}")
    return min_cell


def check_choice(name: str, value: object, allowed: tuple[object, ...]) -> None:
    """Raise a ``ValueError`` naming ``name`` when ``value`` is not in ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax`` itself, or the axes of a new figure of ``figsize`` inches."""
    if ax is not None:
        return ax
    _fig, new = plt.subplots(figsize=figsize, layout=None)
    return new


class StepPercentFormatter(PercentFormatter):
    """Percentages of 1 with as many decimals as the tick step needs.

    Ticks 0, 2.5%, 5%, 7.5% print as ``"2.5%"`` (never rounded to duplicates such as
    ``"2%"``/``"2%"``), ticks 0, 10%, 20% as ``"10%"``: the decimals are the fewest
    (at most 3) that write every tick exactly, read from the ticks being labelled.
    """

    def __init__(self) -> None:
        super().__init__(xmax=1.0, decimals=0)

    def set_locs(self, locs: object) -> None:
        super().set_locs(locs)  # type: ignore[arg-type]
        self.decimals = percent_decimals(self.locs)

    def __call__(self, x: float, pos: int | None = None) -> str:
        if pos is None:  # a lone value (the cursor): decimals from the current ticks
            self.decimals = percent_decimals(self.locs)
        return str(super().__call__(x, pos))


def percent_decimals(locs: object, *, most: int = 3) -> int:
    """The fewest decimals (up to ``most``) that write every share in ``locs`` as a percent.

    Examples
    --------
    >>> percent_decimals([0, 0.025, 0.05]), percent_decimals([0, 0.1, 0.2]), percent_decimals([])
    (1, 0, 0)
    """
    values = [100 * float(v) for v in locs]  # type: ignore[attr-defined]
    for decimals in range(most + 1):
        if all(abs(round(v, decimals) - v) < 1e-6 for v in values):
            return decimals
    return most


def percent_axis(axis: object, *, decimals: int | None = None) -> None:
    """Format an x or y axis (``ax.xaxis``/``ax.yaxis``) as percentages of 1.

    By default the decimals follow the tick step (:class:`StepPercentFormatter`: a
    2.5% step prints ``"2.5%"``, a 10% step ``"10%"``); an integer fixes them.
    """
    formatter = (
        StepPercentFormatter()
        if decimals is None
        else PercentFormatter(xmax=1.0, decimals=decimals)
    )
    axis.set_major_formatter(formatter)  # type: ignore[attr-defined]


def small_text(min_cell: int) -> str:
    """What a suppressed count shows: ``"<10"`` for ``min_cell=10``."""
    return f"<{min_cell}"


def format_count(value: float, min_cell: int) -> str:
    """A count as printed, ``"<min_cell"`` when 0 < value < min_cell.

    Zero is printed (it reveals no individual); counts are rounded to integers.

    Examples
    --------
    >>> [format_count(v, 10) for v in (0, 3, 10, 1234)]
    ['0', '<10', '10', '1,234']
    """
    v = round(float(value))
    if 0 < v < min_cell:
        return small_text(min_cell)
    return f"{v:,}"


def text_colour_on(colour: object) -> str:
    """Black or white, whichever reads better on ``colour`` (relative luminance)."""
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(colour))  # type: ignore[arg-type]
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "black" if luminance > 0.3 else "white"


def hidden_note(ax: Axes, hidden: int, *, lang: str, min_cell: int, corner: str = "top") -> None:
    """Say in a corner of ``ax`` how many groups were hidden for being under ``min_cell``."""
    from insights.viz._labels import label

    if not hidden:
        return
    ax.text(
        0.99,
        0.99 if corner == "top" else 0.01,
        label("hidden_cells", lang, k=hidden, m=min_cell),
        transform=ax.transAxes,
        ha="right",
        va=corner,
        fontsize="small",
        gid="hidden-note",
    )
