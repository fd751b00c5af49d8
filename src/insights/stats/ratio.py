"""Ratio estimators with clustered units (delta method), and ratios of two estimates.

A ratio metric such as AOV = sum(amount) / count(orders) has orders as rows but
users as independent units: with y_i, x_i the totals of cluster (user) i, the
estimator R = Σy_i / Σx_i has delta-method variance (Cochran 1977, §6.3)

    Var(R) ≈ n / (n - 1) · Σ_i (y_i - R x_i)² / (Σ_i x_i)²,

and Σ(y_i - R x_i)² = Σy_i² - 2R Σx_i y_i + R² Σx_i², so five sums over clusters
(computable in the data engine by :func:`cluster_sums`) are all it needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import narwhals as nw
import polars as pl

from insights.stats.proportions import z_value

__all__ = ["RatioEstimate", "cluster_sums", "ratio_of_means_ci", "ratio_frame", "ratio_ci"]

#: Columns :func:`cluster_sums` produces and :func:`ratio_frame` reads.
SUM_COLUMNS = ("sum_y", "sum_x", "sum_y2", "sum_x2", "sum_xy", "n_clusters")


class RatioEstimate(NamedTuple):
    """An estimate with its standard error and ``1 - alpha`` confidence interval."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float


def cluster_sums(
    data: nw.LazyFrame[Any],
    *,
    y: str | nw.Expr,
    x: str | nw.Expr | None = None,
    cluster: str = "user_id",
    by: Sequence[str] = ("segment",),
) -> nw.LazyFrame[Any]:
    """Per-group sums over clusters that :func:`ratio_frame` needs (lazy, in-engine).

    Rows of ``data`` are first summed per ``by + cluster`` (y_i = Σ y, x_i = Σ x;
    ``x=None`` counts rows), then per ``by``: ``sum_y, sum_x, sum_y2, sum_x2, sum_xy,
    n_clusters``. Nothing is collected.
    """
    y_expr = nw.col(y) if isinstance(y, str) else y
    x_expr = nw.lit(1) if x is None else (nw.col(x) if isinstance(x, str) else x)
    keys = [*by, cluster]
    per_cluster = (
        data.with_columns(
            y_expr.cast(nw.Float64).alias("__y"), x_expr.cast(nw.Float64).alias("__x")
        )
        .group_by(keys)
        .agg(nw.col("__y").sum().alias("__yi"), nw.col("__x").sum().alias("__xi"))
        .with_columns(
            (nw.col("__yi") * nw.col("__yi")).alias("__y2"),
            (nw.col("__xi") * nw.col("__xi")).alias("__x2"),
            (nw.col("__xi") * nw.col("__yi")).alias("__xy"),
        )
    )
    return per_cluster.group_by(list(by)).agg(
        nw.col("__yi").sum().alias("sum_y"),
        nw.col("__xi").sum().alias("sum_x"),
        nw.col("__y2").sum().alias("sum_y2"),
        nw.col("__x2").sum().alias("sum_x2"),
        nw.col("__xy").sum().alias("sum_xy"),
        nw.len().alias("n_clusters"),
    )


def ratio_of_means_ci(
    sum_y: float,
    sum_x: float,
    sum_y2: float,
    sum_x2: float,
    sum_xy: float,
    n_clusters: int,
    *,
    alpha: float = 0.05,
) -> RatioEstimate:
    """Delta-method CI for R = Σy / Σx with clusters as the independent units.

    Parameters
    ----------
    sum_y, sum_x
        Σ over clusters of the cluster totals y_i and x_i.
    sum_y2, sum_x2, sum_xy
        Σ y_i², Σ x_i², Σ x_i y_i over clusters.
    n_clusters
        Number of clusters n.

    Returns
    -------
    RatioEstimate
        R, se = sqrt(n/(n-1) · (Σy² - 2RΣxy + R²Σx²)) / Σx, and R ± z·se.
        se and CI are nan when n < 2; everything is nan when Σx = 0.

    Examples
    --------
    Two users: 2 orders worth 10 + 30, and 1 order worth 20; R = 60/3 = 20,
    residuals d = 40 - 20·2 = 0 and 20 - 20·1 = 0, so se = 0.

    >>> ratio_of_means_ci(60, 3, 40**2 + 20**2, 2**2 + 1, 2 * 40 + 20, 2)
    RatioEstimate(estimate=20.0, se=0.0, ci_low=20.0, ci_high=20.0)
    """
    if sum_x == 0:
        return RatioEstimate(math.nan, math.nan, math.nan, math.nan)
    r = sum_y / sum_x
    if n_clusters < 2:
        return RatioEstimate(r, math.nan, math.nan, math.nan)
    ss = max(sum_y2 - 2 * r * sum_xy + r * r * sum_x2, 0.0)
    se = math.sqrt(n_clusters / (n_clusters - 1) * ss) / abs(sum_x)
    z = z_value(alpha)
    return RatioEstimate(r, se, r - z * se, r + z * se)


def ratio_frame(data: pl.DataFrame, *, alpha: float = 0.05) -> pl.DataFrame:
    """Add ``value, se, ci_low, ci_high`` from the :data:`SUM_COLUMNS` of each row.

    Vectorised :func:`ratio_of_means_ci` (nulls where undefined); returns a new frame.
    """
    z = z_value(alpha)
    n = pl.col("n_clusters").cast(pl.Float64)
    r = pl.col("sum_y") / pl.col("sum_x")
    ss = (pl.col("sum_y2") - 2 * r * pl.col("sum_xy") + r * r * pl.col("sum_x2")).clip(
        lower_bound=0.0
    )
    se = (n / (n - 1) * ss).sqrt() / pl.col("sum_x").abs()
    out = data.with_columns(
        pl.when(pl.col("sum_x") != 0).then(r).otherwise(None).alias("value"),
        pl.when((pl.col("sum_x") != 0) & (n >= 2)).then(se).otherwise(None).alias("se"),
    )
    return out.with_columns(
        (pl.col("value") - z * pl.col("se")).alias("ci_low"),
        (pl.col("value") + z * pl.col("se")).alias("ci_high"),
    )


def ratio_ci(
    est1: float, se1: float, est2: float, se2: float, *, alpha: float = 0.05
) -> RatioEstimate:
    """CI for est1 / est2 of two independent positive estimates, on the log scale.

    se(log ratio) = sqrt((se1/est1)² + (se2/est2)²) (delta method); the CI is
    exp(log(est1/est2) ± z·se). The returned ``se`` is that of the log ratio.

    Examples
    --------
    >>> r = ratio_ci(120.0, 6.0, 100.0, 5.0)
    >>> round(r.estimate, 3), round(r.se, 5), round(r.ci_low, 4), round(r.ci_high, 4)
    (1.2, 0.07071, 1.0447, 1.3784)
    """
    if est1 <= 0 or est2 <= 0:
        ratio = est1 / est2 if est2 != 0 else math.nan
        return RatioEstimate(ratio, math.nan, math.nan, math.nan)
    log_r = math.log(est1) - math.log(est2)
    se = math.sqrt((se1 / est1) ** 2 + (se2 / est2) ** 2)
    z = z_value(alpha)
    return RatioEstimate(math.exp(log_r), se, math.exp(log_r - z * se), math.exp(log_r + z * se))
