"""Funnels as tidy frames: interaction → purchase → repurchase, and public → private.

Each funnel is computed per user in the engine (0/1 flags per stage), summed per
segment and collected once; ``_funnel_frame`` turns the stage counts into one row
per stage with the step rate (Wilson CI), the share of the entry stage reached and
the drop-off. :func:`insights.viz.funnel.plot_funnel` draws the result.
"""

from __future__ import annotations

from collections.abc import Sequence

import narwhals as nw
import polars as pl

from insights.data._backend import collect, epoch_day, reuse
from insights.data.dataset import Dataset
from insights.metrics._common import (
    headline,
    paid_orders,
    period_rows,
    period_viewers,
    wilson,
)
from insights.metrics._periods import PeriodLike, parse_period
from insights.metrics._segments import Where, users_frame
from insights.metrics.activity_days import as_of_day

__all__ = ["interaction_funnel", "private_funnel"]


def _funnel_frame(
    counts: pl.DataFrame,
    stages: Sequence[tuple[str, str, str]],
    *,
    metric: str,
    period: str,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Stage counts (one row per segment) to a tidy funnel frame.

    ``stages`` lists ``(stage, users_column, denominator_column)``; the first stage's
    denominator is itself. Per stage: ``value`` = users / denominator (Wilson CI; the
    entry stage is 1 with no CI), ``n`` = denominator, extra columns ``step`` (1..),
    ``stage``, ``users``, ``overall`` = users / entry users, ``drop_off`` = 1 - value
    (null on the entry stage).

    Examples
    --------
    >>> c = pl.DataFrame({"segment": ["all"], "a": [10], "b": [4]})
    >>> _funnel_frame(c, [("seen", "a", "a"), ("bought", "b", "a")], metric="f", period="p")["value"].to_list()
    [1.0, 0.4]
    """
    entry = stages[0][1]
    parts = []
    for step, (stage, users, denom) in enumerate(stages, start=1):
        part = counts.select(
            "segment",
            pl.col(users).cast(pl.Int64).alias("users"),
            pl.col(denom).cast(pl.Int64).alias("n"),
            pl.col(entry).cast(pl.Int64).alias("_entry"),
        )
        part = wilson(part, successes="users", n="n", alpha=alpha)
        if step == 1:
            part = part.with_columns(
                pl.lit(None, dtype=pl.Float64).alias(c) for c in ("ci_low", "ci_high")
            )
        parts.append(
            part.with_columns(
                step=pl.lit(step, dtype=pl.Int64),
                stage=pl.lit(stage, dtype=pl.String),
                overall=pl.when(pl.col("_entry") > 0).then(pl.col("users") / pl.col("_entry")),
                drop_off=None if step == 1 else 1.0 - pl.col("value"),
            )
            .with_columns(pl.col("drop_off").cast(pl.Float64))
            .drop("_entry")
        )
    df = pl.concat(parts).select(
        "segment",
        "value",
        "ci_low",
        "ci_high",
        "n",
        "step",
        "stage",
        "users",
        "overall",
        "drop_off",
    )
    return headline(df, metric, period, order=("segment", "step"))


def interaction_funnel(
    dataset: Dataset,
    *,
    period: PeriodLike,
    order_window: int = 7,
    repurchase_window: int = 60,
    by: str | None = None,
    where: Where = None,
    include_refunded: bool = False,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Viewers → interacted → ordered within ``order_window`` days → repurchased within ``repurchase_window``.

    Stages (users, per segment):

    1. ``viewers``: a view started in ``period``;
    2. ``interacted``: of those, an interaction in ``period``;
    3. ``ordered``: of those with an interaction whose ``order_window`` days are observed
       (interaction day + window <= ``as_of`` day; these users are the stage's ``n``,
       one complete-window rule with every windowed metric), a paid order at or after
       one of those interactions and at most ``order_window`` calendar days after its
       day; the first such order is the *trigger order*;
    4. ``repurchased``: of the stage-3 users whose trigger order is observable for
       ``repurchase_window`` days (trigger day + window <= ``as_of`` day), another paid
       order on a later day within the window (as in ``repurchase_rate``). Its ``n`` is
       those observable users, so the step rate is unbiased by censoring; ``overall``
       is repurchasers / viewers.

    Returns one row per segment x stage (metric ``"interaction_funnel"``). Needs ``views``,
    ``interactions`` and ``orders``.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> t = dt.datetime(2024, 1, 5)
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [t] * 2})
    >>> views = pl.DataFrame({"user_id": [1, 2], "started_at": [t] * 2, "watch_seconds": [60.0] * 2})
    >>> inter = pl.DataFrame({"user_id": [1], "at": [t], "kind": ["like"]})
    >>> orders = pl.DataFrame({"order_id": [1], "user_id": [1], "ordered_at": [t + dt.timedelta(days=2)], "amount": [9.0]})
    >>> ds = ins.frames_dataset(users=users, views=views, interactions=inter, orders=orders, as_of="2024-06-30")
    >>> ins.interaction_funnel(ds, period="2024Q1").select("stage", "users").rows()
    [('viewers', 2), ('interacted', 1), ('ordered', 1), ('repurchased', 0)]
    """
    p = parse_period(period)
    last = as_of_day(dataset)
    viewers = period_viewers(dataset, p, by=by, where=where, needed_for="interaction funnel")
    acts = (
        dataset.table("interactions", needed_for="interaction funnel")
        .pipe(period_rows, "at", p)
        .select("user_id", "at")
    )
    # interactions whose order window is observed: only they can trigger (complete windows)
    followed = acts.filter(epoch_day("at") + order_window <= last)
    orders = paid_orders(dataset, include_refunded).select(
        "user_id", "ordered_at", epoch_day("ordered_at").cast(nw.Int64).alias("_od")
    )
    gap = nw.col("_od") - epoch_day("at")
    trigger = (
        followed.join(orders, on="user_id")
        .filter((nw.col("ordered_at") >= nw.col("at")) & (gap <= order_window))
        .group_by("user_id")
        .agg(nw.col("_od").min().alias("_t"))
    )
    rel = nw.col("_od") - nw.col("_t")
    repeat = (
        trigger.join(orders, on="user_id")
        .filter((rel >= 1) & (rel <= repurchase_window))
        .select("user_id")
        .unique()
        .with_columns(nw.lit(1).alias("_rep"))
    )
    observable = nw.col("_t") + repurchase_window <= last
    flags = (
        viewers.join(
            acts.select("user_id").unique().with_columns(nw.lit(1).alias("_i")),
            on="user_id",
            how="left",
        )
        .join(
            followed.select("user_id").unique().with_columns(nw.lit(1).alias("_f")),
            on="user_id",
            how="left",
        )
        .join(trigger, on="user_id", how="left")
        .join(repeat, on="user_id", how="left")
        .with_columns(
            nw.col("_i").fill_null(0).cast(nw.Int64).alias("interacted"),
            nw.col("_f").fill_null(0).cast(nw.Int64).alias("followed"),
            (~nw.col("_t").is_null()).cast(nw.Int64).alias("ordered"),
            (~nw.col("_t").is_null() & observable)
            .fill_null(False)
            .cast(nw.Int64)
            .alias("observable"),
            (nw.col("_rep").fill_null(0) * observable.fill_null(False).cast(nw.Int64)).alias(
                "repurchased"
            ),
        )
    )
    agg = flags.group_by("segment").agg(
        nw.len().alias("viewers"),
        *(
            nw.col(c).sum()
            for c in ("interacted", "followed", "ordered", "observable", "repurchased")
        ),
    )
    stages = [
        ("viewers", "viewers", "viewers"),
        ("interacted", "interacted", "viewers"),
        ("ordered", "ordered", "followed"),
        ("repurchased", "repurchased", "observable"),
    ]
    return _funnel_frame(
        collect(agg), stages, metric="interaction_funnel", period=p.label, alpha=alpha
    )


def private_funnel(
    dataset: Dataset,
    *,
    period: PeriodLike,
    window: int = 30,
    stay_days: int = 30,
    by: str | None = None,
    where: Where = None,
    include_refunded: bool = False,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Public → private funnel: viewers → joined → stayed → ordered after joining.

    Stages (users, per segment):

    1. ``viewers``: a view started in ``period`` (the public domain);
    2. ``joined``: a community ``join`` within ``window`` days after one of those views
       (as in ``public_to_private_conversion``); the first such join is *the join*;
    3. ``stayed``: of the joiners observable for ``stay_days`` days after the join
       (join day + stay_days <= ``as_of`` day; this is the stage's ``n``), no
       ``leave`` within ``stay_days`` days of the join;
    4. ``ordered``: of those who stayed, a paid order after the join, within
       ``stay_days`` days of it.

    Returns one row per segment x stage (metric ``"private_funnel"``). Needs ``views``,
    ``community`` and ``orders``.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> t = dt.datetime(2024, 1, 5)
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [t] * 2})
    >>> views = pl.DataFrame({"user_id": [1, 2], "started_at": [t] * 2, "watch_seconds": [60.0] * 2})
    >>> com = pl.DataFrame({"user_id": [1], "at": [t + dt.timedelta(days=3)], "action": ["join"]})
    >>> orders = pl.DataFrame({"order_id": [1], "user_id": [1], "ordered_at": [t + dt.timedelta(days=9)], "amount": [9.0]})
    >>> ds = ins.frames_dataset(users=users, views=views, community=com, orders=orders, as_of="2024-06-30")
    >>> ins.private_funnel(ds, period="2024Q1").select("stage", "users").rows()
    [('viewers', 2), ('joined', 1), ('stayed', 1), ('ordered', 1)]
    """
    p = parse_period(period)
    last = as_of_day(dataset)
    community = dataset.table("community", needed_for="private-domain funnel")
    joins = community.filter(nw.col("action") == "join").select(
        "user_id", nw.col("at").alias("_jat"), epoch_day("at").cast(nw.Int64).alias("_j")
    )
    # one pass over the period's views: every viewer with its first join within
    # ``window`` days after a view day (null if none), materialised once (``reuse``)
    # for the four readers below (building the view days per reader was 4 passes)
    ok = (nw.col("_j") - nw.col("_v")).is_between(0, window, closed="both")
    views = dataset.table("views", needed_for="private-domain funnel").pipe(
        period_rows, "started_at", p
    )
    per_viewer = reuse(
        views.select("user_id", epoch_day("started_at", like=views).cast(nw.Int64).alias("_v"))
        .unique()
        .join(joins, on="user_id", how="left")
        .with_columns(
            nw.when(ok).then(nw.col("_jat")).alias("_jat"),
            nw.when(ok).then(nw.col("_j")).alias("_j"),
        )
        .group_by("user_id")
        .agg(nw.col("_jat").min(), nw.col("_j").min())
    )
    viewers = per_viewer.join(
        users_frame(dataset, by=by, where=where).select("user_id", "segment"), on="user_id"
    )
    first_join = per_viewer.filter(~nw.col("_j").is_null())
    leaves = community.filter(nw.col("action") == "leave").select(
        "user_id", nw.col("at").alias("_lat")
    )
    left = (
        first_join.join(leaves, on="user_id")
        .filter(
            (nw.col("_lat") >= nw.col("_jat")) & (epoch_day("_lat") - nw.col("_j") <= stay_days)
        )
        .select("user_id")
        .unique()
        .with_columns(nw.lit(1).alias("_left"))
    )
    bought = (
        first_join.join(
            paid_orders(dataset, include_refunded).select("user_id", "ordered_at"), on="user_id"
        )
        .filter(
            (nw.col("ordered_at") >= nw.col("_jat"))
            & (epoch_day("ordered_at") - nw.col("_j") <= stay_days)
        )
        .select("user_id")
        .unique()
        .with_columns(nw.lit(1).alias("_buy"))
    )
    observable = (~nw.col("_j").is_null() & (nw.col("_j") + stay_days <= last)).fill_null(False)
    stayed = observable & nw.col("_left").is_null()
    flags = (
        viewers.join(left, on="user_id", how="left")
        .join(bought, on="user_id", how="left")
        .with_columns(
            (~nw.col("_j").is_null()).cast(nw.Int64).alias("joined"),
            observable.cast(nw.Int64).alias("observable"),
            stayed.cast(nw.Int64).alias("stayed"),
            (stayed & ~nw.col("_buy").is_null()).cast(nw.Int64).alias("ordered"),
        )
    )
    agg = flags.group_by("segment").agg(
        nw.len().alias("viewers"),
        *(nw.col(c).sum() for c in ("joined", "observable", "stayed", "ordered")),
    )
    stages = [
        ("viewers", "viewers", "viewers"),
        ("joined", "joined", "viewers"),
        ("stayed", "stayed", "observable"),
        ("ordered", "ordered", "stayed"),
    ]
    return _funnel_frame(collect(agg), stages, metric="private_funnel", period=p.label, alpha=alpha)
