"""The KPI scorecard: headline metrics of a quarter, next to a comparison quarter."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from insights import metrics as m
from insights.data._cache import memo
from insights.data.dataset import Dataset, MissingTableError
from insights.metrics._periods import Period, parse_period, previous_quarter

__all__ = ["kpi_scorecard", "KPIS", "comparison_quarter"]

#: KPI id -> the metric call for one quarter: ``call(dataset, quarter_label, by)``
KPIS: dict[str, Callable[..., pl.DataFrame]] = {
    "retention_d7": lambda ds, q, by: _retention(ds, q, by).filter(pl.col("day") == 7),
    "retention_d30": lambda ds, q, by: _retention(ds, q, by).filter(pl.col("day") == 30),
    "retention_d60": lambda ds, q, by: _retention(ds, q, by).filter(pl.col("day") == 60),
    "repurchase_60d": lambda ds, q, by: m.repurchase_rate(ds, period=q, by=by),
    "active_90d": lambda ds, q, by: m.activity_90d(ds, period=q, by=by),
    "first_purchase_30d": lambda ds, q, by: m.first_purchase_conversion(ds, period=q, by=by),
    "aov_yuan": lambda ds, q, by: m.aov(ds, period=q, by=by),
    "interaction_rate": lambda ds, q, by: m.interaction_rate(ds, period=q, by=by),
    "public_to_private_conversion_30d": lambda ds, q, by: m.public_to_private_conversion(ds, period=q, by=by),
    "community_exit_rate_90d": lambda ds, q, by: m.community_exit_rate(ds, period=q, by=by),
    "cac_yuan": lambda ds, q, by: m.cac(ds, period=q),
    "repurchase_cycle_median_days": lambda ds, q, by: m.repurchase_cycle(ds, period=q, by=by),
}


_RETENTION_CACHE: dict[tuple[int, str, str | None], pl.DataFrame] = {}


def _retention(ds: Dataset, quarter: str, by: str | None) -> pl.DataFrame:
    """D7/D30/D60 from one Kaplan–Meier fit (the lifetimes are the costly part).

    Cached for the duration of one :func:`kpi_scorecard` call (it clears the cache).
    """
    key = (id(ds), quarter, by)
    if key not in _RETENTION_CACHE:
        _RETENTION_CACHE[key] = m.retention_rates(ds, period=quarter, days=(7, 30, 60), by=by)
    return _RETENTION_CACHE[key]


def comparison_quarter(quarter: Period, compare_to: str) -> Period:
    """``previous``, ``year_ago`` or an explicit quarter such as ``2023Q4``."""
    if compare_to == "previous":
        return previous_quarter(quarter)
    if compare_to == "year_ago":
        return previous_quarter(quarter, years=1)
    return parse_period(compare_to)


def _one_quarter(dataset: Dataset, quarter: Period, by: str | None, notes: list[str]) -> list[pl.DataFrame]:
    # a quarter is observed as of its last day, so every quarter is measured the same way
    ds = dataset.with_as_of(quarter.end) if quarter.end_at < dataset.as_of else dataset
    frames = []
    for kpi, call in KPIS.items():
        try:
            out = call(ds, quarter.label, by)
        except MissingTableError as exc:
            notes.append(f"{kpi}: skipped, {exc}")
            continue
        except ValueError as exc:
            notes.append(f"{kpi} {quarter.label}: not computable ({exc})")
            continue
        if out.height == 0:
            continue
        frames.append(
            out.select(
                pl.lit(kpi).alias("metric"),
                pl.col("segment").cast(pl.String),
                pl.lit(quarter.label).alias("quarter"),
                pl.col("value").cast(pl.Float64),
                pl.col("ci_low").cast(pl.Float64),
                pl.col("ci_high").cast(pl.Float64),
                pl.col("n").cast(pl.Int64),
            )
        )
    return frames


def kpi_scorecard(
    dataset: Dataset,
    *,
    quarter: str,
    compare_to: str = "previous",
    by: str | None = None,
    min_cell: int = 10,
) -> tuple[pl.DataFrame, list[str]]:
    """Headline KPIs of ``quarter`` and the comparison quarter, with 95% CI and n.

    Each quarter is measured as of its own last day (``as_of`` = quarter end, or the
    data's ``as_of`` when earlier), so both columns use the same observation rules.
    Rates are fractions. Rows whose ``n`` is below ``min_cell`` are suppressed
    (value and CI set to null, ``suppressed`` true) so small groups are never shown.

    Returns
    -------
    (polars.DataFrame, list[str])
        ``metric, segment, quarter, value, ci_low, ci_high, n, suppressed`` and notes
        on KPIs that were skipped (missing tables, windows not yet observable).
        Remembered per data files and arguments (``insights.data._cache.memo``).
    """
    params = {"quarter": quarter, "compare_to": compare_to, "by": by, "min_cell": min_cell}
    return memo(dataset, "kpi_scorecard", params, lambda: _scorecard(dataset, quarter, compare_to, by, min_cell))


def _scorecard(
    dataset: Dataset, quarter: str, compare_to: str, by: str | None, min_cell: int
) -> tuple[pl.DataFrame, list[str]]:
    q = parse_period(quarter)
    other = comparison_quarter(q, compare_to)
    notes: list[str] = []
    try:
        frames = _one_quarter(dataset, q, by, notes) + _one_quarter(dataset, other, by, notes)
    finally:
        _RETENTION_CACHE.clear()
    if not frames:
        return pl.DataFrame(schema={"metric": pl.String, "segment": pl.String, "quarter": pl.String, "value": pl.Float64,
                                    "ci_low": pl.Float64, "ci_high": pl.Float64, "n": pl.Int64, "suppressed": pl.Boolean}), notes
    out = pl.concat(frames)
    small = pl.col("n").is_null() | (pl.col("n") < min_cell)
    out = out.with_columns(
        *(pl.when(small).then(None).otherwise(pl.col(c)).alias(c) for c in ("value", "ci_low", "ci_high")),
        pl.when(small).then(None).otherwise(pl.col("n")).alias("n"),
        small.alias("suppressed"),
    )
    order = {k: i for i, k in enumerate(KPIS)}
    out = out.with_columns(pl.col("metric").replace_strict(order, default=99).alias("_o")).sort("_o", "segment", "quarter").drop("_o")
    return out, notes
