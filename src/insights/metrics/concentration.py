"""High-value concentration: the GMV share of the top buyers and the Pareto curve.

One "top" rule for both: buyers are ranked by their GMV in the period (largest first)
and the top share p is the first ``ceil(p * n)`` of them (``_outside_top``), so the
Pareto curve's point at p = 0.2 is :func:`gmv_share_top_buyers` with ``top=0.2``. In the engine each buyer is put in the grid bucket of
the smallest p whose top set includes it; only the per-bucket sums are collected and
accumulated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw
import polars as pl

from insights.data._backend import collect
from insights.data.dataset import Dataset
from insights.metrics._common import headline, paid_orders, period_rows
from insights.metrics._periods import Period, PeriodLike, parse_period
from insights.metrics._segments import Where, users_frame

__all__ = ["gmv_share_top_buyers", "pareto_curve"]

# Guards "rank <= ceil(p * n)" against float noise such as 0.7 * 10 = 7.000000000000001.
_EPS = 1e-9


def _buyer_gmv(
    dataset: Dataset, p: Period, *, by: str | None, where: Where, include_refunded: bool
) -> nw.LazyFrame[Any]:
    """GMV in period ``p`` per buyer (``segment, user_id, _gmv``), lazy: what both rules rank."""
    return (
        paid_orders(dataset, include_refunded)
        .pipe(period_rows, "ordered_at", p)
        .join(users_frame(dataset, by=by, where=where).select("user_id", "segment"), on="user_id")
        .group_by("segment", "user_id")
        .agg(nw.col("amount").sum().alias("_gmv"))
    )


def _buyer_rank() -> nw.Expr:
    """Rank of a buyer's GMV within its segment, largest first (1 = top buyer)."""
    return nw.col("_gmv").rank(method="ordinal", descending=True).over("segment")


def _outside_top(rank: nw.Expr, share: float) -> nw.Expr:
    """True when a buyer of this ``rank`` is not among the top ``ceil(share * n)``."""
    return (rank - 1) >= nw.col("n") * share - _EPS


def _grid(points: int | Sequence[float], top: float) -> list[float]:
    if isinstance(points, bool):
        raise ValueError(f"points must be a positive integer or a list of shares, got {points}")
    if isinstance(points, int):
        if points < 1:
            raise ValueError(f"points must be a positive integer or a list of shares, got {points}")
        shares = [k / points for k in range(1, points + 1)]
    else:
        shares = [float(p) for p in points]
        if not shares or any(not (0 < p <= 1) for p in shares):
            raise ValueError(f"points must be shares in (0, 1], got {list(points)}")
    if not 0 < top <= 1:
        raise ValueError(f"top must be in (0, 1], got {top}")
    return sorted({*shares, top, 1.0})


def pareto_curve(
    dataset: Dataset,
    *,
    period: PeriodLike,
    points: int | Sequence[float] = 100,
    top: float = 0.2,
    by: str | None = None,
    where: Where = None,
    include_refunded: bool = False,
) -> pl.DataFrame:
    """Cumulative GMV share against cumulative buyer share (largest buyers first).

    Parameters
    ----------
    period
        The period whose orders count (``2024``, ``"2024Q3"``, ``(start, end)``).
    points
        ``k`` for the grid 1/k, 2/k, ..., 1, or an explicit list of buyer shares in (0, 1].
        ``top`` and 1 are always added.
    top
        The headline share of buyers (default 0.2): its row has ``is_top = True`` and
        equals ``gmv_share_top_buyers(top=top)``.
    by, where, include_refunded
        As in :func:`gmv_share_top_buyers`.

    Returns
    -------
    polars.DataFrame
        Per segment, a row at ``buyer_share`` 0 and at each grid share: metric
        ``"pareto_gmv_share"``, ``value`` = cumulative GMV share, no CI, ``n`` = buyers;
        extra columns ``buyer_share`` (the grid p), ``buyers`` (= ceil(p * n)),
        ``gmv_cum``, ``gmv_total``, ``is_top``.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> orders = pl.DataFrame({"order_id": range(5), "user_id": range(5),
    ...     "amount": [80.0, 5.0, 5.0, 5.0, 5.0], "ordered_at": [dt.datetime(2024, 2, 1)] * 5})
    >>> users = pl.DataFrame({"user_id": range(5), "first_seen_at": [dt.datetime(2024, 1, 1)] * 5})
    >>> ds = ins.frames_dataset(users=users, orders=orders)
    >>> ins.pareto_curve(ds, period="2024Q1", points=5).select("buyer_share", "value").rows()[:3]
    [(0.0, 0.0), (0.2, 0.8), (0.4, 0.85)]
    """
    grid = _grid(points, top)
    p = parse_period(period)
    per_buyer = _buyer_gmv(dataset, p, by=by, where=where, include_refunded=include_refunded)
    sizes = per_buyer.group_by("segment").agg(nw.len().alias("n"))
    rank = _buyer_rank()
    # bucket = index of the smallest share whose top set holds this buyer
    outside = [_outside_top(nw.col("_r"), s).cast(nw.Int64) for s in grid]
    bucket = nw.sum_horizontal(*outside)
    agg = (
        per_buyer.join(sizes, on="segment")
        .with_columns(rank.alias("_r"))
        .with_columns(bucket.alias("_bucket"))
        .group_by("segment", "_bucket")
        .agg(nw.col("_gmv").sum().alias("_gmv"), nw.col("n").max().alias("n"))
    )
    counts = collect(agg).with_columns(
        pl.col("_bucket", "n").cast(pl.Int64), pl.col("_gmv").cast(pl.Float64)
    )
    shares = pl.DataFrame({"_bucket": range(len(grid) + 1), "buyer_share": [0.0, *grid]})
    shares = shares.with_columns(pl.col("_bucket").cast(pl.Int64))
    seg_n = counts.group_by("segment").agg(pl.col("n").max())
    # bucket b holds the buyers entering at grid[b]; the row for grid[b] accumulates 0..b
    rows = (
        seg_n.join(shares, how="cross")
        .join(
            counts.select("segment", pl.col("_bucket") + 1, "_gmv"),
            on=["segment", "_bucket"],
            how="left",
        )
        .sort("segment", "_bucket")
        .with_columns(gmv_cum=pl.col("_gmv").fill_null(0.0).cum_sum().over("segment"))
        .with_columns(gmv_total=pl.col("gmv_cum").max().over("segment"))
    )
    ceil_n = (pl.col("buyer_share") * pl.col("n") - _EPS).ceil().clip(lower_bound=0)
    df = rows.with_columns(
        value=pl.when(pl.col("gmv_total") > 0).then(pl.col("gmv_cum") / pl.col("gmv_total")),
        buyers=ceil_n.cast(pl.Int64),
        is_top=(pl.col("buyer_share") - top).abs() < _EPS,
    ).select(
        "segment",
        "value",
        "n",
        "buyer_share",
        "buyers",
        "gmv_cum",
        "gmv_total",
        "is_top",
        "_bucket",
    )
    out = headline(df, "pareto_gmv_share", p.label, order=("segment", "_bucket"))
    return out.drop("_bucket")


def gmv_share_top_buyers(
    dataset: Dataset,
    *,
    period: PeriodLike,
    top: float = 0.2,
    by: str | None = None,
    where: Where = None,
    include_refunded: bool = False,
) -> pl.DataFrame:
    """Share of GMV in ``period`` that comes from the top ``top`` share of buyers.

    Buyers: users with >= 1 (non-refunded) order in the period; GMV per buyer in the
    period; the top ``ceil(top * n)`` buyers by GMV (ties do not change the sum).
    ``value`` = their GMV / total GMV; no CI; ``n`` = buyers; extra columns
    ``n_top``, ``gmv_top``, ``gmv_total``. Metric ``gmv_share_top{100*top}pct_buyers``.
    """
    if not 0 < top <= 1:
        raise ValueError(f"top must be in (0, 1], got {top}")
    p = parse_period(period)
    per_buyer = _buyer_gmv(dataset, p, by=by, where=where, include_refunded=include_refunded)
    sizes = per_buyer.group_by("segment").agg(
        nw.len().alias("n"), nw.col("_gmv").sum().alias("gmv_total")
    )
    in_top = ~_outside_top(_buyer_rank(), top)
    agg = (
        per_buyer.join(sizes, on="segment")
        .with_columns(in_top.alias("_top"))
        .group_by("segment")
        .agg(
            nw.col("n").max().alias("n"),
            nw.col("gmv_total").max().alias("gmv_total"),
            nw.col("_top").cast(nw.Int64).sum().alias("n_top"),
            nw.when(nw.col("_top")).then(nw.col("_gmv")).otherwise(0.0).sum().alias("gmv_top"),
        )
    )
    df = collect(agg).with_columns(
        value=pl.when(pl.col("gmv_total") > 0)
        .then(pl.col("gmv_top") / pl.col("gmv_total"))
        .otherwise(None)
    )
    df = df.select("segment", "value", "n", pl.col("n_top").cast(pl.Int64), "gmv_top", "gmv_total")
    return headline(df, f"gmv_share_top{round(top * 100)}pct_buyers", p.label)
