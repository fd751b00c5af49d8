"""RFM: recency, frequency and monetary quintile scores at a date, and named segments.

Buyers at date d are users with at least one paid order in the ``window`` days up to
and including d. Per buyer, in the engine:

- **recency** ``recency_days`` = d - day of the last order in the window (0 = ordered on d);
- **frequency** = orders in the window; **monetary** = their summed ``amount`` (GMV).

**Scores (1-5)** are quintiles of each measure over all buyers in scope (after
``where``; ``by`` segments only split the report), computed with a rank in the
engine: ``score = floor(5 * (rank - 1) / n) + 1`` with ``rank`` the *minimum* rank of
the value (ascending frequency and monetary; descending recency_days, so recent
buyers score high). Ties are deterministic: equal values always share a score, the
lowest one their block reaches; so when many buyers share a value (e.g. one order)
the quintiles are unequal rather than split at random.

**Named segments** (``RFM_SEGMENTS``, first matching row wins; ``fm`` = (F + M) / 2):

==================  =======  ===========  ==========================================
segment             R        F / fm       reading
==================  =======  ===========  ==========================================
champions           4-5      fm >= 4      bought recently, often, much
loyal               3-5      fm >= 3      regular, valuable buyers
new                 4-5      F = 1        recent first purchases
promising           4-5      (rest)       recent, not yet frequent
need_attention      3        (rest)       middling recency, low value
at_risk             1-2      fm >= 3      were valuable, slipping away
hibernating         1-2      (rest)       long gone, low value
==================  =======  ===========  ==========================================

The table covers every (R, F, M) combination.
"""

from __future__ import annotations

from typing import Any

import narwhals as nw
import polars as pl

from insights.data._backend import collect, epoch_day
from insights.data.dataset import Dataset
from insights.metrics._common import headline, paid_orders, wilson
from insights.metrics._segments import Where, users_frame
from insights.metrics.activity_days import as_of_day
from insights.metrics.lifecycle import AtLike, _resolve_at

__all__ = ["RFM_SEGMENTS", "rfm_scores", "rfm_segments"]

#: ``(name, r_min, r_max, f_min, f_max, fm_min)``, first match wins (see the module docstring).
RFM_SEGMENTS: tuple[tuple[str, int, int, int, int, float], ...] = (
    ("champions", 4, 5, 1, 5, 4.0),
    ("loyal", 3, 5, 1, 5, 3.0),
    ("new", 4, 5, 1, 1, 0.0),
    ("promising", 4, 5, 1, 5, 0.0),
    ("need_attention", 3, 3, 1, 5, 0.0),
    ("at_risk", 1, 2, 1, 5, 3.0),
    ("hibernating", 1, 2, 1, 5, 0.0),
)


def _score(column: str, *, descending: bool) -> nw.Expr:
    """Quintile score 1..5 from the minimum rank of ``column`` among all rows."""
    rank = nw.col(column).rank(method="min", descending=descending)
    return (((rank - 1) * 5) // nw.col("_n") + 1).cast(nw.Int64)


def _segment_name() -> nw.Expr:
    fm = (nw.col("f") + nw.col("m")) / 2
    expr: Any = nw.lit(None, dtype=nw.String)
    for name, r0, r1, f0, f1, fm0 in reversed(RFM_SEGMENTS):
        cond = nw.col("r").is_between(r0, r1) & nw.col("f").is_between(f0, f1) & (fm >= fm0)
        expr = nw.when(cond).then(nw.lit(name)).otherwise(expr)
    return expr


def rfm_scores(
    dataset: Dataset,
    *,
    at: AtLike,
    window: int | None = 365,
    by: str | None = None,
    where: Where = None,
    include_refunded: bool = False,
) -> nw.LazyFrame[Any]:
    """Per-buyer RFM values, scores and segment name at date d: a LAZY frame (not collected).

    This is the per-user frame, left in the data engine on purpose (it has one row per
    buyer); collect it yourself (``.collect()``) only when you need the rows, or use
    :func:`rfm_segments` for the small summary.

    Parameters
    ----------
    at
        The date d (a date, ISO string, or a period whose last day is used).
    window
        Look-back in days (orders on d - window + 1 .. d); ``None`` = all history.
    by, where
        Segment column (``segment``) and user filter; scores use every buyer in scope.
    include_refunded
        Count refunded orders too.

    Returns
    -------
    narwhals.LazyFrame
        ``user_id, segment, recency_days, frequency, monetary, r, f, m, rfm_segment``
        (scores and rules in the module docstring).

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [dt.datetime(2024, 1, 1)] * 2})
    >>> orders = pl.DataFrame({"order_id": [1, 2, 3], "user_id": [1, 1, 2], "amount": [5.0, 5.0, 3.0],
    ...     "ordered_at": [dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 30), dt.datetime(2024, 1, 5)]})
    >>> ds = ins.frames_dataset(users=users, orders=orders, as_of="2024-03-31")
    >>> ins.rfm_scores(ds, at="2024Q1").collect().sort("user_id").select("r", "f", "m").rows()
    [(3, 3, 3), (1, 1, 1)]
    """
    if window is not None and window < 1:
        raise ValueError(f"window must be a positive number of days or None, got {window!r}")
    day, label = _resolve_at(at)
    if day > as_of_day(dataset):
        raise ValueError(
            f"RFM at {label} needs data up to that day; as_of is {dataset.as_of:%Y-%m-%d}"
        )
    orders = paid_orders(dataset, include_refunded).select(
        "user_id", "amount", epoch_day("ordered_at").alias("_day")
    )
    keep = nw.col("_day") <= day
    if window is not None:
        keep = keep & (nw.col("_day") > day - window)
    per_buyer = (
        orders.filter(keep)
        .join(users_frame(dataset, by=by, where=where).select("user_id", "segment"), on="user_id")
        .group_by("user_id", "segment")
        .agg(
            (day - nw.col("_day").max()).cast(nw.Int64).alias("recency_days"),
            nw.len().cast(nw.Int64).alias("frequency"),
            nw.col("amount").sum().cast(nw.Float64).alias("monetary"),
        )
    )
    sizes = per_buyer.select(nw.len().alias("_n"))
    scored = per_buyer.join(sizes, how="cross").with_columns(
        _score("recency_days", descending=True).alias("r"),
        _score("frequency", descending=False).alias("f"),
        _score("monetary", descending=False).alias("m"),
    )
    return scored.select(
        "user_id",
        "segment",
        "recency_days",
        "frequency",
        "monetary",
        "r",
        "f",
        "m",
        _segment_name().alias("rfm_segment"),
    )


def rfm_segments(
    dataset: Dataset,
    *,
    at: AtLike,
    window: int | None = 365,
    by: str | None = None,
    where: Where = None,
    include_refunded: bool = False,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Buyers and GMV per named RFM segment at date d (see the module docstring for the rules).

    Returns
    -------
    polars.DataFrame
        One row per ``segment`` (the ``by`` value) x RFM segment, in ``RFM_SEGMENTS``
        order (empty ones included): metric ``"rfm_segment_share"``, ``value`` = share
        of the segment's buyers, Wilson interval, ``n`` = buyers; extra columns
        ``rfm_segment``, ``users``, ``gmv``, ``gmv_share`` (of the segment's GMV in the
        window), ``mean_recency_days``, ``mean_frequency``, ``mean_monetary``.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [dt.datetime(2024, 1, 1)] * 2})
    >>> orders = pl.DataFrame({"order_id": [1, 2, 3], "user_id": [1, 1, 2], "amount": [5.0, 5.0, 3.0],
    ...     "ordered_at": [dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 30), dt.datetime(2024, 1, 5)]})
    >>> ds = ins.frames_dataset(users=users, orders=orders, as_of="2024-03-31")
    >>> ins.rfm_segments(ds, at="2024Q1").filter(pl.col("users") > 0).select("rfm_segment", "users", "gmv_share").rows()
    [('loyal', 1, 0.7692307692307693), ('hibernating', 1, 0.23076923076923078)]
    """
    scores = rfm_scores(
        dataset, at=at, window=window, by=by, where=where, include_refunded=include_refunded
    )
    agg = scores.group_by("segment", "rfm_segment").agg(
        nw.len().alias("users"),
        nw.col("monetary").sum().alias("gmv"),
        nw.col("recency_days").mean().alias("mean_recency_days"),
        nw.col("frequency").mean().alias("mean_frequency"),
        nw.col("monetary").mean().alias("mean_monetary"),
    )
    counts = collect(agg).with_columns(
        pl.col("users").cast(pl.Int64),
        pl.col("gmv", "mean_recency_days", "mean_frequency", "mean_monetary").cast(pl.Float64),
    )
    names = pl.DataFrame(
        {"rfm_segment": [s[0] for s in RFM_SEGMENTS], "_order": range(len(RFM_SEGMENTS))}
    )
    grid = counts.select("segment").unique().join(names, how="cross")
    df = (
        grid.join(counts, on=["segment", "rfm_segment"], how="left")
        .with_columns(pl.col("users").fill_null(0), pl.col("gmv").fill_null(0.0))
        .with_columns(
            n=pl.col("users").sum().over("segment"),
            gmv_share=pl.col("gmv") / pl.col("gmv").sum().over("segment"),
        )
    )
    df = wilson(df, successes="users", n="n", alpha=alpha)
    df = df.with_columns(pl.when(pl.col("gmv").sum().over("segment") > 0).then(pl.col("gmv_share")))
    out = headline(df, "rfm_segment_share", _resolve_at(at)[1], order=("segment", "_order"))
    extras = ["rfm_segment", "users", "gmv", "gmv_share"]
    means = ["mean_recency_days", "mean_frequency", "mean_monetary"]
    return out.select(*out.columns[:7], *extras, *means)
