"""Reading a ``SurvivalCurves`` (or its table) into what :func:`plot_survival` draws.

Duck-typed so the plot works on the result object, on its bare table, and on the
``segment``-keyed Kaplan–Meier frame of ``ins.kaplan_meier``.
Everything here is selection on small frames: no estimate is recomputed except
the median when no ``summary`` is given (first t with S(t) <= 0.5, the KM median).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from insights.viz._labels import value_label
from insights.viz._palette import PaletteLike, group_palette

__all__ = ["CurveGroup", "CurvesData", "curve_groups", "read_curves", "risk_counts"]

_NEEDED = ("t", "survival", "ci_low", "ci_high", "at_risk", "censored")
_SEP = " · "


@dataclass(frozen=True)
class CurvesData:
    """The frames a plot needs: KM table keyed by ``segment``, optional summary/counts.

    ``at`` is the result's exact evaluator (``curves.at(times)``: at-risk counts
    from the counts frame, right with left truncation), when it has one.
    """

    table: pl.DataFrame
    summary: pl.DataFrame | None
    counts: pl.DataFrame | None
    by: tuple[str, ...]
    at: Callable[[Sequence[float]], pl.DataFrame] | None = None


@dataclass(frozen=True)
class CurveGroup:
    """One curve to draw: rows kept after small-cell rules, colour and label."""

    segment: str
    display: str
    colour: str
    rows: pl.DataFrame
    median: float | None
    last_t: float
    n: float


def read_curves(curves: Any) -> CurvesData:
    """Normalise a curves object or table; raises ``ValueError`` on a bad input."""
    at = None
    if isinstance(curves, pl.DataFrame):
        table, summary, counts, by = curves, None, None, ()
    elif isinstance(getattr(curves, "table", None), pl.DataFrame):
        # the full fit (every time) draws the steps; ``table`` may be on a coarse timeline
        full = getattr(curves, "km", None)
        table = full if isinstance(full, pl.DataFrame) and full.height else curves.table
        at = getattr(curves, "at", None)
        at = at if callable(at) else None
        summary = getattr(curves, "summary", None)
        summary = summary if isinstance(summary, pl.DataFrame) else None
        counts = getattr(curves, "counts", None)
        counts = counts if isinstance(counts, pl.DataFrame) else None
        by = tuple(getattr(curves, "by", None) or ())
    else:
        raise ValueError(
            "data must be a SurvivalCurves result (with a .table polars DataFrame) or "
            f"its table as a polars DataFrame, got {type(curves).__name__}"
        )
    missing = [c for c in _NEEDED if c not in table.columns]
    if missing:
        raise ValueError(
            f"curves table lacks column(s) {missing}; expected segment, t, survival, ci_low, "
            "ci_high, at_risk, events, censored"
        )
    if table.height == 0:
        raise ValueError("curves table has no rows: nothing to plot")
    label_expr = pl.col("segment").cast(pl.String) if "segment" in table.columns else pl.lit("all")
    table = table.with_columns(label_expr.alias("segment")).sort("segment", "t")
    return CurvesData(table=table, summary=summary, counts=counts, by=by, at=at)


def _panel_map(data: CurvesData, col: str | None) -> pl.DataFrame:
    """``segment, panel, hue`` for every segment of the table."""
    groups = data.table.select("segment").unique()
    if col is None:
        return groups.with_columns(pl.lit("").alias("panel"), pl.col("segment").alias("hue"))
    others = [b for b in data.by if b != col]
    for source in (data.table, data.counts):
        if source is not None and col in source.columns and "segment" in source.columns:
            have = [o for o in others if o in source.columns]
            hue = pl.concat_str([pl.col(o).cast(pl.String) for o in have], separator=_SEP)
            mapping = source.select(
                pl.col("segment").cast(pl.String),
                pl.col(col).cast(pl.String).alias("panel"),
                (hue if have else pl.col("segment").cast(pl.String)).alias("hue"),
            ).unique()
            return groups.join(mapping, on="segment", how="left")
    if col in data.by:
        idx = data.by.index(col)
        parts = pl.col("segment").str.split(_SEP)
        hue = pl.concat_str(
            [parts.list.get(j, null_on_oob=True) for j in range(len(data.by)) if j != idx],
            separator=_SEP,
        )
        return groups.with_columns(
            parts.list.get(idx, null_on_oob=True).alias("panel"),
            (hue if len(data.by) > 1 else pl.col("segment")).alias("hue"),
        )
    available = sorted(
        {*data.by, *(c for c in (data.counts.columns if data.counts is not None else []))}
    )
    raise ValueError(
        f"col={col!r} is not a by-column of these curves; available: {available or 'none'} "
        "(facet on a column you passed as by= to retention_curves)"
    )


def risk_counts(
    data: CurvesData, groups: Sequence[str], ticks: Sequence[float]
) -> dict[str, list[float]]:
    """Number at risk per segment at each tick: ``curves.at`` when available, else the table.

    From the table the count at a tick is ``at_risk`` of the first row at or after it
    (0 past the last row), exact when the table holds every distinct time.
    """
    if data.at is not None and ticks:
        evaluated = data.at(list(ticks))
        if {"segment", "t", "at_risk"} <= set(evaluated.columns):
            frame = evaluated.with_columns(pl.col("segment").cast(pl.String)).sort("segment", "t")
            out = {
                g: frame.filter(pl.col("segment") == g)["at_risk"].cast(pl.Float64).to_list()
                for g in groups
            }
            if all(len(v) == len(set(ticks)) for v in out.values()) and len(set(ticks)) == len(
                ticks
            ):
                return out
    out = {}
    for g in groups:
        rows = data.table.filter(pl.col("segment") == g)
        t = rows["t"].cast(pl.Float64).to_numpy()
        padded = np.append(rows["at_risk"].cast(pl.Float64).to_numpy(), 0.0)
        out[g] = padded[np.searchsorted(t, np.asarray(ticks, dtype=float), side="left")].tolist()
    return out


def _group_stats(data: CurvesData) -> pl.DataFrame:
    """``segment, n, median`` from the summary when given, else from the table."""
    first = data.table.group_by("segment").agg(pl.col("at_risk").max().cast(pl.Float64).alias("n"))
    km_median = (
        data.table.filter(pl.col("survival") <= 0.5)
        .group_by("segment")
        .agg(pl.col("t").min().cast(pl.Float64).alias("median"))
    )
    stats = first.join(km_median, on="segment", how="left")
    summary = data.summary
    if summary is not None and "segment" in summary.columns:
        cols = [c for c in ("n", "median") if c in summary.columns]
        if cols:
            given = summary.select(
                pl.col("segment").cast(pl.String), *[pl.col(c).cast(pl.Float64) for c in cols]
            )
            stats = stats.drop(cols).join(given, on="segment", how="left")
    return stats


def curve_groups(
    data: CurvesData, *, col: str | None, palette: PaletteLike, min_cell: int, lang: str
) -> dict[str, tuple[list[CurveGroup], int]]:
    """Per panel (sorted): the segments to draw (sorted) and how many were hidden."""
    mapping = _panel_map(data, col).join(_group_stats(data), on="segment", how="left")
    if mapping["panel"].null_count():
        bad = mapping.filter(pl.col("panel").is_null())["segment"].to_list()
        raise ValueError(f"col={col!r}: no value found for segment(s) {bad}")
    colours = group_palette(mapping["hue"].to_list(), palette)
    panels: dict[str, tuple[list[CurveGroup], int]] = {}
    for panel in sorted(mapping["panel"].unique().to_list()):
        sub = mapping.filter(pl.col("panel") == panel).sort("hue", "segment")
        shown: list[CurveGroup] = []
        for segment, hue, n, median in sub.select("segment", "hue", "n", "median").iter_rows():
            all_rows = data.table.filter(pl.col("segment") == segment)
            rows = all_rows.filter(pl.col("at_risk") >= min_cell)
            if n is None or n < min_cell or rows.height == 0:
                continue
            shown.append(
                CurveGroup(
                    segment=segment,
                    display=value_label(hue, lang),
                    colour=colours[hue],
                    rows=rows,
                    median=median if median is not None and median == median else None,
                    last_t=float(rows["t"].max()),  # type: ignore[arg-type]
                    n=float(n),
                )
            )
        panels[panel] = (shown, sub.height - len(shown))
    return panels
