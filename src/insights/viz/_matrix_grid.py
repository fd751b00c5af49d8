"""A retention-matrix frame laid out as cohort x period arrays, with small cells marked.

Shared by the heatmap and the HTML table, so both apply the same suppression rule:
a cell is suppressed when its ``n`` (users in the cohort, the denominator) is below
``min_cell`` or the frame flags it (``suppressed`` column of ``retention_matrix``);
also when its retained users or those not retained are in ``1 .. min_cell - 1`` (the
rate, like the count, tells who those few users are).
Cells with ``n = 0`` (a mean-row period no complete cohort reaches) are left blank.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from insights.viz._common import check_choice, check_min_cell

__all__ = ["MatrixGrid", "MatrixValue", "matrix_grid"]

#: Which column of the matrix the cells show: the retention rate or the retained count.
MatrixValue = Literal["value", "retained"]
_NEEDED = ("cohort", "period", "value", "n", "complete")


@dataclass(frozen=True)
class MatrixGrid:
    """Arrays of shape (rows, periods); the mean row, when present, is the last row."""

    cohorts: list[str]
    periods: list[int]
    has_mean: bool
    value: np.ndarray
    n: np.ndarray
    retained: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    present: np.ndarray
    complete: np.ndarray
    suppressed: np.ndarray
    row_n: np.ndarray


def _select_segment(matrix: pl.DataFrame, segment: str | None) -> pl.DataFrame:
    if "segment" not in matrix.columns:
        if segment is not None:
            raise ValueError(f"segment={segment!r} given but the matrix has no 'segment' column")
        return matrix
    values = sorted(matrix["segment"].cast(pl.String).unique().drop_nulls().to_list())
    if segment is None:
        if len(values) > 1:
            raise ValueError(
                f"the matrix holds several segments {values}; pass segment= one of them "
                "(one figure per segment)"
            )
        return matrix
    if segment not in values:
        raise ValueError(f"segment={segment!r} not in the matrix; available: {values}")
    return matrix.filter(pl.col("segment").cast(pl.String) == segment)


def matrix_grid(
    matrix: pl.DataFrame, *, column: str, min_cell: int, segment: str | None = None
) -> MatrixGrid:
    """Lay out a retention-matrix frame (see the module docstring for the rules)."""
    check_choice("column", column, ("value", "retained"))
    check_min_cell(min_cell)
    if not isinstance(matrix, pl.DataFrame):
        raise ValueError(f"data must be a polars DataFrame, got {type(matrix).__name__}")
    needed = (*_NEEDED, "retained") if column == "retained" else _NEEDED
    missing = [c for c in needed if c not in matrix.columns]
    if missing:
        raise ValueError(
            f"the matrix lacks column(s) {missing}; expected cohort, period, value, ci_low, "
            "ci_high, retained, n, complete (from retention_matrix)"
        )
    frame = _select_segment(matrix, segment)
    if frame.height == 0:
        raise ValueError("the matrix has no rows: nothing to plot")
    is_mean = pl.col("cohort").cast(pl.String) == "mean"
    order = "cohort_start" if "cohort_start" in frame.columns else "cohort"
    cohorts = (
        frame.filter(~is_mean)
        .group_by("cohort")
        .agg(pl.col(order).min().alias("__o"))
        .sort("__o", "cohort")["cohort"]
        .cast(pl.String)
        .to_list()
    )
    has_mean = frame.filter(is_mean).height > 0
    rows = cohorts + (["mean"] if has_mean else [])
    periods = sorted(int(p) for p in frame["period"].unique().drop_nulls().to_list())
    cells = frame.select(
        pl.col("cohort")
        .cast(pl.String)
        .replace_strict({c: i for i, c in enumerate(rows)}, return_dtype=pl.Int64)
        .alias("r"),
        pl.col("period")
        .cast(pl.Int64)
        .replace_strict({p: j for j, p in enumerate(periods)}, return_dtype=pl.Int64)
        .alias("c"),
        pl.col(column).cast(pl.Float64).alias("v"),
        pl.col("n").cast(pl.Float64),
        *[
            (pl.col(c).cast(pl.Float64) if c in frame.columns else pl.lit(None, pl.Float64)).alias(
                c
            )
            for c in ("retained", "ci_low", "ci_high")
        ],
        pl.col("complete").cast(pl.Boolean).fill_null(False),
        (
            pl.col("suppressed").cast(pl.Boolean).fill_null(False)
            if "suppressed" in frame.columns
            else pl.lit(False)
        ).alias("flagged"),
    )
    shape = (len(rows), len(periods))
    if cells.select(pl.struct("r", "c").is_duplicated().any()).item():
        raise ValueError("the matrix has several rows for one cohort and period; filter it first")
    r, c = cells["r"].to_numpy(), cells["c"].to_numpy()

    def grid(column: str, fill: float | bool = np.nan) -> np.ndarray:
        out = np.full(shape, fill, dtype=bool if isinstance(fill, bool) else float)
        out[r, c] = (
            cells[column].fill_null(np.nan).to_numpy()
            if not isinstance(fill, bool)
            else cells[column].to_numpy()
        )
        return out

    n, retained = grid("n"), grid("retained")
    present = np.zeros(shape, dtype=bool)
    present[r, c] = True
    present &= n != 0  # e.g. a mean-row period no complete cohort reaches yet: blank
    suppressed = present & (~(n >= min_cell) | grid("flagged", False))
    # a cell resting on fewer than min_cell users: its retained users or those not retained
    # (the rate and the count both tell who they are)
    for few in (retained, n - retained):
        suppressed |= present & (few > 0) & (few < min_cell)
    row_n = np.fmax.reduce(n, axis=1)
    return MatrixGrid(
        cohorts=rows,
        periods=periods,
        has_mean=has_mean,
        value=grid("v"),
        n=n,
        retained=retained,
        ci_low=grid("ci_low"),
        ci_high=grid("ci_high"),
        present=present,
        complete=grid("complete", False),
        suppressed=suppressed,
        row_n=row_n,
    )
