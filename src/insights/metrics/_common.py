"""Private helpers shared by the headline metric modules (growth, interaction, private domain, purchase).

Not part of the public API: the headline frame layout, the Wilson columns, period
filters on timestamp or day columns, and the paid-orders table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw
import polars as pl

from insights.data._backend import epoch_day
from insights.data.dataset import Dataset
from insights.metrics._periods import Period
from insights.metrics._segments import Where, users_frame
from insights.stats.proportions import wilson_frame

__all__ = [
    "HEAD",
    "headline",
    "wilson",
    "in_period",
    "days_in_period",
    "paid_orders",
    "period_viewers",
]

HEAD = ["metric", "segment", "period", "value", "ci_low", "ci_high", "n"]


def headline(
    df: pl.DataFrame, metric: str, period: str, *, order: Sequence[str] = ("segment",)
) -> pl.DataFrame:
    """Columns in the agreed order and types (``HEAD`` then extras), rows sorted by ``order``.

    ``metric``/``period`` fill those columns only when ``df`` lacks them; missing
    ``value``/``ci_low``/``ci_high`` become null floats.

    Examples
    --------
    >>> headline(pl.DataFrame({"segment": ["a"], "n": [3]}), "m", "2024Q1").columns[:4]
    ['metric', 'segment', 'period', 'value']
    """
    out = df
    if "metric" not in out.columns:
        out = out.with_columns(metric=pl.lit(metric))
    if "period" not in out.columns:
        out = out.with_columns(period=pl.lit(period))
    for c in ("value", "ci_low", "ci_high"):
        if c not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.Float64).alias(c))
    extras = [c for c in out.columns if c not in HEAD]
    return out.sort(list(order)).select(
        pl.col("metric").cast(pl.String),
        pl.col("segment").cast(pl.String),
        pl.col("period").cast(pl.String),
        *(pl.col(c).cast(pl.Float64) for c in ("value", "ci_low", "ci_high")),
        pl.col("n").cast(pl.Int64),
        *extras,
    )


def wilson(df: pl.DataFrame, *, successes: str, n: str, alpha: float) -> pl.DataFrame:
    """Add ``value, ci_low, ci_high`` (Wilson score interval) to a small count frame.

    Examples
    --------
    >>> wilson(pl.DataFrame({"k": [1], "n": [2]}), successes="k", n="n", alpha=0.05)["value"][0]
    0.5
    """
    df = df.with_columns(pl.col(successes, n).cast(pl.Int64))  # DuckDB sums come back as decimals
    share = pl.when(pl.col(n) > 0).then(pl.col(successes) / pl.col(n)).otherwise(None)
    return wilson_frame(
        df.with_columns(share.alias("value")), successes=successes, n=n, alpha=alpha
    )


def in_period(column: str, p: Period) -> nw.Expr:
    """Timestamp ``column`` falls on a calendar day of ``p`` (both ends included)."""
    return epoch_day(column).is_between(p.start_day, p.end_day, closed="both")


def days_in_period(column: str, p: Period) -> nw.Expr:
    """Day-number ``column`` (days since 1970-01-01) lies in ``p`` (both ends included)."""
    return nw.col(column).is_between(p.start_day, p.end_day, closed="both")


def paid_orders(dataset: Dataset, include_refunded: bool) -> nw.LazyFrame[Any]:
    """The ``orders`` table without refunded orders (all of them with ``include_refunded``)."""
    orders = dataset.table("orders")
    if include_refunded or "refunded" not in orders.collect_schema().names():
        return orders
    return orders.filter(~nw.col("refunded").fill_null(value=False))


def period_viewers(
    dataset: Dataset, p: Period, *, by: str | None, where: Where, needed_for: str
) -> nw.LazyFrame[Any]:
    """Users with a view started in ``p``: ``user_id, segment`` (lazy, one row per user)."""
    return (
        dataset.table("views", needed_for=needed_for)
        .filter(in_period("started_at", p))
        .select("user_id")
        .unique()
        .join(users_frame(dataset, by=by, where=where).select("user_id", "segment"), on="user_id")
    )
