"""Interaction headlines: participation, intensity, repurchase after interaction.

Purchase outcomes reuse :mod:`insights.metrics.purchase` (``repurchase_rate`` over a
given set of users), so their definitions live in one place. What high interaction
goes with (AOV, repurchase and retention of high- vs ordinary-interaction viewers)
is :func:`insights.metrics.interaction_outcomes.high_vs_ordinary`.
"""

from __future__ import annotations

import math
from typing import Any

import narwhals as nw
import polars as pl

from insights.data._backend import collect
from insights.data._cache import remembered
from insights.data.dataset import Dataset
from insights.metrics._common import headline as _headline
from insights.metrics._common import paid_orders as _paid_orders
from insights.metrics._common import period_rows, period_viewers
from insights.metrics._common import wilson as _wilson
from insights.metrics._periods import PeriodLike, parse_period
from insights.metrics._segments import Where, users_frame
from insights.metrics.purchase import _check_by, repurchase_of

__all__ = [
    "interaction_rate",
    "interaction_intensity",
    "repurchase_after_interaction",
]

HIGH, ORDINARY = "high", "ordinary"
# Guards "rank <= ceil(top * n)" against float noise such as 0.7 * 10 = 7.000000000000001.
_EPS = 1e-9


@remembered
def interaction_rate(
    dataset: Dataset,
    *,
    period: PeriodLike,
    by: str | None = None,
    where: Where = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Share of viewers in ``period`` with at least one interaction in ``period``.

    Denominator: users with a view started in the period; numerator: those with an
    interaction (any kind) whose ``at`` is in the period. Wilson interval; ``n`` =
    viewers. Needs ``views`` and ``interactions``.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [dt.datetime(2024, 1, 1)] * 2})
    >>> views = pl.DataFrame({"user_id": [1, 2], "started_at": [dt.datetime(2024, 1, 5)] * 2, "watch_seconds": [60.0] * 2})
    >>> inter = pl.DataFrame({"user_id": [1], "at": [dt.datetime(2024, 1, 5)], "kind": ["like"]})
    >>> ds = ins.frames_dataset(users=users, views=views, interactions=inter)
    >>> ins.interaction_rate(ds, period="2024Q1").select("value", "n").row(0)
    (0.5, 2)
    """
    p = parse_period(period)
    viewers = period_viewers(dataset, p, by=by, where=where, needed_for="interaction rate")
    interacted = (
        dataset.table("interactions", needed_for="interaction rate")
        .pipe(period_rows, "at", p)
        .select("user_id")
        .unique()
        .with_columns(nw.lit(1).alias("_hit"))
    )
    agg = (
        viewers.join(interacted, on="user_id", how="left")
        .group_by("segment")
        .agg(
            nw.len().alias("n"),
            nw.col("_hit").fill_null(0).cast(nw.Int64).sum().alias("interacted"),
        )
    )
    df = _wilson(collect(agg), successes="interacted", n="n", alpha=alpha)
    return _headline(df, "interaction_rate", p.label)


def interaction_intensity(
    dataset: Dataset,
    *,
    period: PeriodLike,
    top: float = 0.2,
    where: Where = None,
) -> nw.LazyFrame[Any]:
    """Per viewer in ``period``: interactions per watch-hour and the high/ordinary class (lazy).

    Returns a narwhals LazyFrame (nothing collected) with ``user_id, interactions,
    watch_hours, intensity, segment``: ``interactions`` in the period, ``watch_hours``
    = Σ watch_seconds / 3600 of views started in the period, ``intensity`` =
    interactions / watch_hours (+inf when watch time is 0 but there are
    interactions; 0 when both are 0). ``segment`` is ``"high"`` for the top
    ``top`` share of viewers by intensity, i.e. users with fewer than
    ``ceil(top * n)`` viewers strictly more intense (ties at the cut are all high)
    and at least one interaction; everyone else is ``"ordinary"``: the classes of
    :func:`insights.metrics.interaction_outcomes.high_vs_ordinary`.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> t = dt.datetime(2024, 1, 5)
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2], "first_seen_at": [t] * 2}),
    ...     views=pl.DataFrame({"user_id": [1, 2], "started_at": [t] * 2, "watch_seconds": [3600.0] * 2}),
    ...     interactions=pl.DataFrame({"user_id": [1, 1], "at": [t] * 2, "kind": ["like"] * 2}))
    >>> v = ins.interaction_intensity(ds, period="2024Q1", top=0.5).collect().sort("user_id")
    >>> v.select("user_id", "intensity", "segment").rows()
    [(1, 2.0, 'high'), (2, 0.0, 'ordinary')]
    """
    if not 0 < top < 1:
        raise ValueError(f"top must be in (0, 1), got {top}")
    p = parse_period(period)
    watch = (
        dataset.table("views", needed_for="interaction intensity")
        .pipe(period_rows, "started_at", p)
        .group_by("user_id")
        .agg((nw.col("watch_seconds").sum() / 3600.0).alias("watch_hours"))
        .join(users_frame(dataset, where=where).select("user_id"), on="user_id")
    )
    counts = (
        dataset.table("interactions", needed_for="interaction intensity")
        .pipe(period_rows, "at", p)
        .group_by("user_id")
        .agg(nw.len().alias("_k"))
    )
    k, h = nw.col("interactions"), nw.col("watch_hours")
    intensity = (
        nw.when(h > 0)
        .then(k / h)
        .otherwise(nw.when(k > 0).then(nw.lit(math.inf)).otherwise(nw.lit(0.0)))
    )
    viewers = (
        watch.join(counts, on="user_id", how="left")
        .with_columns(nw.col("_k").fill_null(0).cast(nw.Int64).alias("interactions"))
        .with_columns(intensity.cast(nw.Float64).alias("intensity"))
    )
    total = viewers.select(nw.len().alias("_n"))
    rank = nw.col("intensity").rank(method="min", descending=True)
    high = ((rank - 1) < nw.col("_n") * top - _EPS) & (k > 0)
    return viewers.join(total, how="cross").select(
        "user_id",
        "interactions",
        "watch_hours",
        "intensity",
        nw.when(high).then(nw.lit(HIGH)).otherwise(nw.lit(ORDINARY)).alias("segment"),
    )


def repurchase_after_interaction(
    dataset: Dataset,
    *,
    period: PeriodLike,
    window: int = 60,
    by: str | None = None,
    where: Where = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """``window``-day repurchase of buyers who interacted at or before their first order.

    :func:`insights.metrics.purchase.repurchase_rate` (``by``, ``where`` as there)
    restricted to users with an interaction whose ``at`` <= the timestamp of their
    first (non-refunded) order ever. Metric ``"repurchase_{window}d"``.

    Examples
    --------
    Buyer 1 liked a stream before their first order and ordered again 20 days later;
    buyer 2 interacted only after their first order; buyer 3 never did.

    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> d = dt.datetime
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2, 3], "first_seen_at": [d(2024, 1, 1)] * 3}),
    ...     orders=pl.DataFrame({"order_id": [1, 2, 3, 4], "user_id": [1, 1, 2, 3],
    ...         "ordered_at": [d(2024, 1, 5), d(2024, 1, 25), d(2024, 1, 6), d(2024, 1, 7)],
    ...         "amount": [10.0] * 4}),
    ...     interactions=pl.DataFrame({"user_id": [1, 2], "at": [d(2024, 1, 4), d(2024, 1, 9)],
    ...                                "kind": ["like", "like"]}),
    ...     as_of="2024-06-30",
    ... )
    >>> ins.repurchase_after_interaction(ds, period="2024Q1").select("segment", "value", "n").row(0)
    ('all', 1.0, 1)
    """
    _check_by(dataset, by)
    p = parse_period(period)
    first = (
        _paid_orders(dataset, include_refunded=False)
        .group_by("user_id")
        .agg(nw.col("ordered_at").min().alias("_first"))
    )
    interacted = (
        dataset.table("interactions", needed_for="repurchase after interaction")
        .select("user_id", "at")
        .join(first, on="user_id")
        .filter(nw.col("at") <= nw.col("_first"))
        .select("user_id")
        .unique()
    )
    users = users_frame(dataset, by=by, where=where).select("user_id", "segment")
    return repurchase_of(
        dataset, users.join(interacted, on="user_id"), period=p, window=window, alpha=alpha
    )
