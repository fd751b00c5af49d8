"""The number-at-risk table drawn under a survival plot (survminer's risk table).

The table is a child axes of the plot (``ax.child_axes``, gid ``"risk-table"``)
sharing its x axis, placed a fixed number of inches under the axes bottom, so the
counts stay centred under the x ticks whatever the figure size. Row labels are
the group names in the group colours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from matplotlib.axes import Axes
from matplotlib.transforms import Affine2DBase, ScaledTranslation, blended_transform_factory

from insights.viz._common import format_count

__all__ = ["ROW_INCHES", "draw_risk_table", "risk_table_inches"]

#: Height of one table row.
ROW_INCHES = 0.24


def _offset_inches(ax: Axes) -> float:
    """Distance from the axes bottom to the table top: tick labels + x label + gap."""
    tick = ax.xaxis.get_major_ticks()[0] if ax.xaxis.get_major_ticks() else None
    tick_size = float(tick.label1.get_fontsize()) if tick is not None else 10.0
    label_size = float(ax.xaxis.label.get_fontsize())
    points = 3.5 + 3.5 + 1.3 * tick_size + ax.xaxis.labelpad + 1.3 * label_size + 6 + 14
    return points / 72


def risk_table_inches(n_rows: int) -> float:
    """Figure height the table needs below the axes, including the x label."""
    return 0.8 + ROW_INCHES * max(n_rows, 1)


def draw_risk_table(
    ax: Axes,
    groups: Sequence[tuple[str, str, str, Sequence[float]]],
    *,
    ticks: Sequence[float],
    min_cell: int,
    title: str,
) -> Axes:
    """Draw the table under ``ax`` and return its axes.

    Parameters
    ----------
    ax
        The survival plot.
    groups
        ``(group, display label, colour, number at risk at each tick)`` per row, top first.
    ticks
        x positions of the counts (the plot's major ticks).
    min_cell
        Counts in ``1 .. min_cell - 1`` are printed as ``"<min_cell"``.
    title
        Printed above the table, left-aligned with the axes.
    """
    fig = ax.get_figure(root=True)
    assert fig is not None, "the axes must belong to a figure"
    n_rows = max(len(groups), 1)
    top = _offset_inches(ax)
    height = ROW_INCHES * n_rows
    axes_corner = ScaledTranslation(0, 0, cast(Affine2DBase, ax.transAxes))
    inches_below_axes = fig.dpi_scale_trans + axes_corner
    where = blended_transform_factory(ax.transAxes, inches_below_axes)
    table = ax.inset_axes((0.0, -top - height, 1.0, height), transform=where, sharex=ax)
    table.set_gid("risk-table")
    table.set_ylim(n_rows - 0.5, -0.5)
    table.set_yticks([])
    table.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
    for spine in table.spines.values():
        spine.set_visible(False)
    table.patch.set_visible(False)
    table.set_title(title, loc="left", fontsize="small", pad=4)
    counts = [values for _g, _d, _c, values in groups]
    first = [format_count(c[0], min_cell) for c in counts if c]
    left = ticks[0] <= ax.get_xlim()[0] if ticks else False
    gap_points = 6 + (0.62 * 8.5 * max(map(len, first), default=0) / 2 if left else 0)
    label_at = blended_transform_factory(table.transAxes, table.transData) + ScaledTranslation(
        -gap_points / 72,
        0,
        fig.dpi_scale_trans,
    )
    for row, ((group, display, colour, _rows), values) in enumerate(
        zip(groups, counts, strict=True)
    ):
        table.text(
            0.0,
            row,
            display,
            transform=label_at,
            ha="right",
            va="center",
            color=colour,
            fontsize="small",
            fontweight="bold",
            gid=f"risk-label:{group}",
        )
        for tick, count in zip(ticks, values, strict=True):
            table.text(
                tick,
                row,
                format_count(count, min_cell),
                ha="center",
                va="center",
                fontsize="small",
                gid=f"risk-count:{group}",
            )
    return table
