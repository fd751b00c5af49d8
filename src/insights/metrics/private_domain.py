"""Private-domain (私域) headlines: conversion into the community, members vs never-joined, exits.

All need the ``community`` table (``MissingTableError`` naming it otherwise).
Heavy work stays in the engine; each function collects one small aggregate.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import narwhals as nw
import polars as pl

from insights.data._backend import collect, epoch_day
from insights.data._cache import remembered
from insights.data.dataset import Dataset
from insights.metrics._common import headline as _headline
from insights.metrics._common import in_period as _in_period
from insights.metrics._common import paid_orders as _paid_orders
from insights.metrics._common import wilson as _wilson
from insights.metrics._periods import PeriodLike, parse_period
from insights.metrics._segments import Where, users_frame
from insights.stats.km import kaplan_meier, survival_at
from insights.stats.ratio import cluster_sums, ratio_ci, ratio_frame

__all__ = [
    "public_to_private_conversion",
    "repurchase_frequency_ratio",
    "private_aov_uplift",
    "community_exit_rate",
]

_EPOCH = dt.date(1970, 1, 1)


def _joins(dataset: Dataset) -> nw.LazyFrame[Any]:
    community = dataset.table("community", needed_for="private-domain metrics")
    return community.filter(nw.col("action") == "join")


@remembered
def public_to_private_conversion(
    dataset: Dataset,
    *,
    period: PeriodLike,
    window: int = 30,
    by: str | None = None,
    where: Where = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Share of viewers in ``period`` who join the community within ``window`` days after a view.

    Denominator: users with a view started in the period. Numerator: those with a
    community ``join`` on day j such that some view in the period is on day v with
    ``0 <= j - v <= window`` (calendar days; any join counts, re-joins included).
    Joins after ``as_of`` are not seen, so views in the last ``window`` days before
    ``as_of`` have a shorter chance to convert. Wilson interval; ``n`` = viewers.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from insights.data import frames_dataset
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [dt.datetime(2024, 1, 1)] * 2})
    >>> views = pl.DataFrame({"user_id": [1, 2], "started_at": [dt.datetime(2024, 1, 5)] * 2, "watch_seconds": [60.0] * 2})
    >>> community = pl.DataFrame({"user_id": [1], "at": [dt.datetime(2024, 1, 20)], "action": ["join"]})
    >>> ds = frames_dataset(users=users, views=views, community=community, as_of="2024-03-31")
    >>> public_to_private_conversion(ds, period="2024Q1").select("value", "n").row(0)
    (0.5, 2)
    """
    p = parse_period(period)
    joins = _joins(dataset).select("user_id", epoch_day("at").alias("_j")).unique()
    view_days = (
        dataset.table("views", needed_for="public-to-private conversion")
        .filter(_in_period("started_at", p))
        .select("user_id", epoch_day("started_at").alias("_v"))
        .unique()
    )
    converted = (
        view_days.join(joins, on="user_id")
        .filter((nw.col("_j") - nw.col("_v")).is_between(0, window, closed="both"))
        .select("user_id")
        .unique()
        .with_columns(nw.lit(1).alias("_hit"))
    )
    viewers = (
        view_days.select("user_id")
        .unique()
        .join(users_frame(dataset, by=by, where=where).select("user_id", "segment"), on="user_id")
        .join(converted, on="user_id", how="left")
    )
    agg = viewers.group_by("segment").agg(
        nw.len().alias("n"), nw.col("_hit").fill_null(0).cast(nw.Int64).sum().alias("converted")
    )
    df = _wilson(collect(agg), successes="converted", n="n", alpha=alpha)
    return _headline(df, f"public_to_private_conversion_{window}d", p.label)


def _max(column: nw.Expr, value: int) -> nw.Expr:
    return nw.when(column > value).then(column).otherwise(nw.lit(value))


def _two_arm_ratio(
    sums: pl.DataFrame, *, arm1: str, arm2: str, alpha: float
) -> tuple[dict[str, Any], dict[str, Any], tuple[float, float, float]]:
    """Per-arm ratio estimates (``ratio_frame``) and the log-scale CI of arm1 / arm2."""
    est = ratio_frame(sums, alpha=alpha)
    rows = {r["segment"]: r for r in est.iter_rows(named=True)}
    empty = {"value": None, "se": None, "sum_x": 0.0, "n_clusters": 0}
    a, b = rows.get(arm1, empty), rows.get(arm2, empty)
    if None in (a["value"], a["se"], b["value"], b["se"]):
        ratio = a["value"] / b["value"] if a["value"] is not None and b["value"] else None
        return a, b, (ratio, None, None)  # type: ignore[return-value]
    r = ratio_ci(a["value"], a["se"], b["value"], b["se"], alpha=alpha)
    return a, b, (r.estimate, r.ci_low, r.ci_high)


def repurchase_frequency_ratio(
    dataset: Dataset,
    *,
    period: PeriodLike,
    where: Where = None,
    include_refunded: bool = False,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Orders per buyer-month of community members relative to never-joined users.

    Members: first ``join`` day <= period end; never-joined: no join as of ``as_of``
    (users who first join after the period are in neither group). Exposure per user
    runs from max(period start, first join day) [members] or max(period start,
    first_seen day) [never-joined] to min(period end, as_of day), both days included,
    in months of 30 days. Buyers: users with >= 1 order in their exposure.
    Frequency per group = Σ orders in exposure / Σ exposure months over buyers
    (ratio estimator, users as clusters); ``value`` = member / never-joined with a
    log-scale delta-method CI. ``n`` = buyers in both groups; extra columns
    ``frequency_members``, ``frequency_never_joined``, ``n_members``,
    ``n_never_joined`` (buyers).
    """
    p = parse_period(period)
    as_of_day = (dataset.as_of.date() - _EPOCH).days
    end = min(p.end_day, as_of_day)
    first_join = _joins(dataset).group_by("user_id").agg(epoch_day("at").min().alias("_fj"))
    fj = nw.col("_fj")
    users = (
        users_frame(dataset, where=where)
        .join(first_join, on="user_id", how="left")
        .with_columns(
            nw.when(fj.is_null())
            .then(nw.lit("never_joined"))
            .otherwise(
                nw.when(fj <= p.end_day)
                .then(nw.lit("member"))
                .otherwise(nw.lit(None, dtype=nw.String))
            )
            .alias("segment"),
            nw.when(fj.is_null())
            .then(_max(nw.col("first_seen_day"), p.start_day))
            .otherwise(_max(fj, p.start_day))
            .alias("_start"),
        )
        .filter(~nw.col("segment").is_null() & (nw.col("_start") <= end))
        .select(
            "user_id", "segment", "_start", ((end - nw.col("_start") + 1) / 30.0).alias("_months")
        )
    )
    orders = (
        _paid_orders(dataset, include_refunded)
        .select("user_id", epoch_day("ordered_at").alias("_d"))
        .join(users, on="user_id")
        .filter(nw.col("_d").is_between(nw.col("_start"), end, closed="both"))
        .group_by("segment", "user_id")
        .agg(nw.len().alias("_orders"), nw.col("_months").max().alias("_months"))
    )
    sums = collect(cluster_sums(orders, y="_orders", x="_months"))
    a, b, (ratio, lo, hi) = _two_arm_ratio(sums, arm1="member", arm2="never_joined", alpha=alpha)
    df = pl.DataFrame(
        {
            "segment": ["members vs never_joined"],
            "value": [ratio],
            "ci_low": [lo],
            "ci_high": [hi],
            "n": [int(a["n_clusters"]) + int(b["n_clusters"])],
            "frequency_members": [a["value"]],
            "frequency_never_joined": [b["value"]],
            "n_members": [int(a["n_clusters"])],
            "n_never_joined": [int(b["n_clusters"])],
        },
        schema_overrides={
            c: pl.Float64
            for c in ("value", "ci_low", "ci_high", "frequency_members", "frequency_never_joined")
        },
    )
    return _headline(df, "repurchase_frequency_ratio", p.label)


def private_aov_uplift(
    dataset: Dataset,
    *,
    period: PeriodLike,
    where: Where = None,
    include_refunded: bool = False,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """AOV of members' orders after their first join relative to never-joined users' orders, minus 1.

    Orders with ``ordered_at`` in the period: "private" = orders of users placed at or
    after their first ``join`` (timestamp); "public" = orders of users with no join
    as of ``as_of``. (Orders of members before they joined are in neither arm.)
    AOV per arm = GMV / orders with users as clusters; ``value`` = AOV_private /
    AOV_public - 1 with a log-scale delta-method CI (minus 1). ``n`` = orders in both
    arms; extra columns ``aov_private``, ``aov_public``, ``n_private``, ``n_public``
    (orders).
    """
    p = parse_period(period)
    first_join = _joins(dataset).group_by("user_id").agg(nw.col("at").min().alias("_fj"))
    fj = nw.col("_fj")
    orders = (
        _paid_orders(dataset, include_refunded)
        .filter(_in_period("ordered_at", p))
        .join(users_frame(dataset, where=where).select("user_id"), on="user_id")
        .join(first_join, on="user_id", how="left")
        .with_columns(
            nw.when(fj.is_null())
            .then(nw.lit("public"))
            .otherwise(
                nw.when(nw.col("ordered_at") >= fj)
                .then(nw.lit("private"))
                .otherwise(nw.lit(None, dtype=nw.String))
            )
            .alias("segment")
        )
        .filter(~nw.col("segment").is_null())
    )
    sums = collect(cluster_sums(orders, y="amount"))
    a, b, (ratio, lo, hi) = _two_arm_ratio(sums, arm1="private", arm2="public", alpha=alpha)
    minus1 = [None if v is None else v - 1.0 for v in (ratio, lo, hi)]
    df = pl.DataFrame(
        {
            "segment": ["private vs public"],
            "value": [minus1[0]],
            "ci_low": [minus1[1]],
            "ci_high": [minus1[2]],
            "n": [round(a["sum_x"]) + round(b["sum_x"])],
            "aov_private": [a["value"]],
            "aov_public": [b["value"]],
            "n_private": [round(a["sum_x"])],
            "n_public": [round(b["sum_x"])],
        },
        schema_overrides={
            c: pl.Float64 for c in ("value", "ci_low", "ci_high", "aov_private", "aov_public")
        },
    )
    return _headline(df, "aov_uplift", p.label)


def community_exit_rate(
    dataset: Dataset,
    *,
    period: PeriodLike,
    window: int = 90,
    by: str | None = None,
    where: Where = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Share of community joiners who leave within ``window`` days (Kaplan–Meier).

    Units: each user's first ``join`` in the period. T = days from that join to the
    user's next ``leave`` (at or after the join); without one, censored at ``as_of``.
    Counts per segment x T x event are built in the engine and fitted with
    :func:`insights.stats.km.kaplan_meier`; ``value`` = 1 - S(window) with S(t) =
    P(T > t) (a leave on day ``window`` counts), CI = 1 minus the KM log-log CI
    (bounds swapped). Null when no joiner is followed for ``window`` days and the
    curve has not reached 0. ``n`` = joiners; extra column ``at_risk`` (joiners still
    in the community and observed at day ``window``).
    """
    p = parse_period(period)
    as_of_day = (dataset.as_of.date() - _EPOCH).days
    joins = (
        _joins(dataset)
        .filter(_in_period("at", p))
        .group_by("user_id")
        .agg(nw.col("at").min().alias("_jat"))
    )
    leaves = (
        dataset.table("community")
        .filter(nw.col("action") == "leave")
        .select("user_id", nw.col("at").alias("_lat"))
    )
    next_leave = (
        joins.join(leaves, on="user_id")
        .filter(nw.col("_lat") >= nw.col("_jat"))
        .group_by("user_id")
        .agg(nw.col("_lat").min().alias("_lat"))
    )
    left = ~nw.col("_lat").is_null()
    counts = (
        joins.join(next_leave, on="user_id", how="left")
        .join(users_frame(dataset, by=by, where=where).select("user_id", "segment"), on="user_id")
        .with_columns(
            left.cast(nw.Int64).alias("event"),
            (
                nw.when(left).then(epoch_day("_lat")).otherwise(nw.lit(as_of_day))
                - epoch_day("_jat")
            ).alias("duration"),
        )
        .group_by("segment", "duration", "event")
        .agg(nw.len().alias("count"))
    )
    c = collect(counts).with_columns(
        pl.col("duration").cast(pl.Int64), pl.col("count").cast(pl.Int64)
    )
    n = c.group_by("segment").agg(pl.col("count").sum().alias("n"))
    if c.is_empty():  # no joins in the period: no curve to read
        empty = {"segment": pl.String, "value": pl.Float64, "n": pl.Int64, "at_risk": pl.Int64}
        return _headline(pl.DataFrame(schema=empty), f"community_exit_rate_{window}d", p.label)
    km = kaplan_meier(
        c, duration="duration", event="event", weight="count", group="segment", alpha=alpha
    )
    s = survival_at(km, window)
    defined = (pl.col("at_risk") > 0) | (pl.col("survival") <= 0)
    df = s.join(n, on="segment").select(
        "segment",
        pl.when(defined).then(1 - pl.col("survival")).alias("value"),
        pl.when(defined).then(1 - pl.col("ci_high")).alias("ci_low"),
        pl.when(defined).then(1 - pl.col("ci_low")).alias("ci_high"),
        "n",
        pl.col("at_risk").cast(pl.Int64),
    )
    return _headline(df, f"community_exit_rate_{window}d", p.label)
