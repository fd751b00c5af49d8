"""Private helpers shared by the headline metric modules (growth, interaction, private domain, purchase).

Not part of the public API: the one headline-row builder (:func:`headline`), the
Wilson columns, the one two-arm ratio (:func:`two_arm_ratio`), period filters on
timestamp or day columns, and the paid-orders table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import narwhals as nw
import polars as pl

from insights.data._backend import epoch_day
from insights.data.dataset import Dataset, warn_empty
from insights.metrics._periods import Period
from insights.metrics._segments import Where, users_frame
from insights.stats.proportions import wilson_frame
from insights.stats.ratio import ratio_ci

__all__ = [
    "HEAD",
    "headline",
    "wilson",
    "wilson_headline",
    "TwoArmRatio",
    "two_arm_ratio",
    "binomial_se",
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
    rows = out.sort(list(order)).select(
        pl.col("metric").cast(pl.String),
        pl.col("segment").cast(pl.String),
        pl.col("period").cast(pl.String),
        *(pl.col(c).cast(pl.Float64) for c in ("value", "ci_low", "ci_high")),
        pl.col("n").cast(pl.Int64),
        *extras,
    )
    _warn_if_empty(rows, metric, period)
    return rows


def _warn_if_empty(rows: pl.DataFrame, metric: str, period: str) -> None:
    """``EmptyPeriodWarning`` for each period with no users in scope (no rows, or n = 0 in all).

    Every headline metric's rows pass through :func:`headline`, so this is the one place
    an empty period is noticed (``insights.data.dataset.warn_empty``).
    """
    what = metric or ", ".join(rows["metric"].unique(maintain_order=True)) or "the result"
    if rows.height == 0:
        warn_empty(what, [period or "the period asked for"])
        return
    zero = pl.col("n").fill_null(-1).eq(0).all().alias("empty")
    empty = rows.group_by("period", maintain_order=True).agg(zero).filter("empty")
    warn_empty(what, empty["period"].to_list())


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


class TwoArmRatio(NamedTuple):
    """``estimate`` = arm 1 / arm 2 and its CI (each ``None`` when undefined)."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None


def _finite(x: float | None) -> bool:
    return x is not None and not math.isnan(x)


def two_arm_ratio(
    est1: float | None,
    se1: float | None,
    est2: float | None,
    se2: float | None,
    *,
    alpha: float,
) -> TwoArmRatio:
    """The ratio of two independent arms' estimates with its log-scale delta-method CI.

    The one two-arm ratio of the package (members / non-members, high / ordinary
    interaction, one AOV over another): ``estimate`` is est1 / est2 (``None`` when an
    estimate is missing or est2 is 0); the CI is :func:`insights.stats.ratio_ci`'s
    exp(log(est1/est2) ± z·se), ``None`` when an SE is missing or not finite, or an
    estimate is not positive.

    Examples
    --------
    >>> r = two_arm_ratio(120.0, 6.0, 100.0, 5.0, alpha=0.05)
    >>> round(r.estimate, 3), round(r.ci_low, 4), round(r.ci_high, 4)
    (1.2, 1.0447, 1.3784)
    >>> two_arm_ratio(3.0, None, 2.0, 0.1, alpha=0.05)
    TwoArmRatio(estimate=1.5, ci_low=None, ci_high=None)
    """
    if est1 is None or est2 is None or est2 == 0:
        return TwoArmRatio(None, None, None)
    ratio = est1 / est2
    if not (_finite(se1) and _finite(se2)):
        return TwoArmRatio(ratio, None, None)
    r = ratio_ci(est1, se1, est2, se2, alpha=alpha)  # type: ignore[arg-type]
    if math.isnan(r.ci_low):
        return TwoArmRatio(ratio, None, None)
    return TwoArmRatio(ratio, r.ci_low, r.ci_high)


def binomial_se(value: float | None, n: int | None) -> float | None:
    """sqrt(p (1 − p) / n) of a share, ``None`` when undefined or 0 (p = 0 or 1).

    Examples
    --------
    >>> binomial_se(0.5, 100), binomial_se(1.0, 10)
    (0.05, None)
    """
    if value is None or not n or not 0 < value < 1:
        return None
    return math.sqrt(value * (1 - value) / n)


def wilson_headline(
    counts: pl.DataFrame, metric: str, period: str, *, alpha: float
) -> pl.DataFrame:
    """Headline rows with Wilson CIs from ``segment, n, successes`` counts (``successes`` kept).

    Examples
    --------
    >>> c = pl.DataFrame({"segment": ["all"], "n": [4], "successes": [1]})
    >>> wilson_headline(c, "m", "2024Q1", alpha=0.05).select("value", "n", "successes").row(0)
    (0.25, 4, 1)
    """
    df = counts.with_columns(pl.col("segment").cast(pl.String))
    return headline(wilson(df, successes="successes", n="n", alpha=alpha), metric, period)


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
