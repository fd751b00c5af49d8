"""Private-domain community over time: monthly membership flow, time to leave, GMV share.

Membership is read from ``community`` events as *spells*: each ``join`` opens a spell
that ends at the user's next event if that is a ``leave`` (open otherwise). All
work stays in the engine; each function collects one small aggregate.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import narwhals as nw
import polars as pl

from insights.data._backend import collect, epoch_day
from insights.data.dataset import Dataset
from insights.metrics._common import headline, in_period, paid_orders, wilson
from insights.metrics._periods import PeriodLike, parse_period
from insights.metrics._segments import Where, users_frame
from insights.metrics.retention import retention_curves
from insights.stats.curves import SurvivalCurves
from insights.stats.ratio import cluster_sums, ratio_frame

__all__ = ["community_spells", "community_activity", "community_leave_curves", "private_gmv_share"]

_EPOCH = dt.date(1970, 1, 1)


def community_spells(dataset: Dataset) -> nw.LazyFrame[Any]:
    """Membership spells ``user_id, join_at, leave_at`` (lazy; ``leave_at`` null while open).

    A spell starts at each ``join``; it ends at the user's next community event when
    that event is a ``leave`` (a second ``join`` before any ``leave`` opens an
    overlapping spell, so count users, not spells).
    """
    events = dataset.table("community", needed_for="community membership").select(
        "user_id", "at", nw.col("action").cast(nw.String)
    )
    nxt = events.with_columns(
        nw.col("at").shift(-1).over("user_id", order_by="at").alias("_next_at"),
        nw.col("action").shift(-1).over("user_id", order_by="at").alias("_next_action"),
    )
    leave = nw.when(nw.col("_next_action") == "leave").then(nw.col("_next_at"))
    return nxt.filter(nw.col("action") == "join").select(
        "user_id", nw.col("at").alias("join_at"), leave.alias("leave_at")
    )


def _months(p: Any) -> list[tuple[str, int, int]]:
    out, start = [], p.start
    while start <= p.end:
        nxt = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
        end = min(nxt - dt.timedelta(days=1), p.end)
        out.append((f"{start:%Y-%m}", (start - _EPOCH).days, (end - _EPOCH).days))
        start = nxt
    return out


def community_activity(
    dataset: Dataset,
    *,
    period: PeriodLike,
    by: str | None = None,
    where: Where = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Monthly community flow: members at the start, joiners, leavers and the monthly exit rate.

    For each calendar month of ``period`` (users, per segment): ``members_start`` = in
    a spell on the month's first day (joined earlier, not left before it);
    ``joined`` / ``left`` = with a join / a leave in the month; ``n`` = members during
    the month (in a spell on any of its days). ``value`` = left / n (monthly exit
    rate, 月退群率) with a Wilson CI. ``period`` is the month (``"2024-01"``).

    Examples
    --------
    >>> import polars as pl
    >>> from insights.data import frames_dataset
    >>> t = dt.datetime
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [t(2024, 1, 1)] * 2})
    >>> com = pl.DataFrame({"user_id": [1, 2, 2], "at": [t(2024, 1, 5), t(2024, 1, 6), t(2024, 2, 3)],
    ...                     "action": ["join", "join", "leave"]})
    >>> ds = frames_dataset(users=users, community=com, as_of="2024-03-31")
    >>> community_activity(ds, period="2024Q1").select("period", "value", "n").rows()
    [('2024-01', 0.0, 2), ('2024-02', 0.5, 2), ('2024-03', 0.0, 1)]
    """
    p = parse_period(period)
    months = _months(p)
    j, lv = epoch_day("join_at"), epoch_day("leave_at")
    flags = []
    for i, (_label, ms, me) in enumerate(months):
        open_at = lv.is_null() | (lv >= ms)
        flags += [
            ((j < ms) & open_at).alias(f"s{i}"),
            ((j <= me) & open_at).alias(f"a{i}"),
            j.is_between(ms, me, closed="both").alias(f"j{i}"),
            lv.is_between(ms, me, closed="both").fill_null(False).alias(f"l{i}"),
        ]
    names = [f"{k}{i}" for i in range(len(months)) for k in "sajl"]
    per_user = (
        community_spells(dataset)
        .join(users_frame(dataset, by=by, where=where).select("user_id", "segment"), on="user_id")
        .with_columns(*flags)
        .with_columns(nw.col(c).cast(nw.Int64) for c in names)
        .group_by("user_id", "segment")
        .agg(nw.col(c).max() for c in names)
    )
    wide = collect(per_user.group_by("segment").agg(nw.col(c).sum() for c in names))
    parts = []
    for i, (label, _ms, _me) in enumerate(months):
        parts.append(
            wide.select(
                pl.col("segment").cast(pl.String),
                pl.lit(label).alias("period"),
                pl.col(f"a{i}").cast(pl.Int64).alias("n"),
                pl.col(f"l{i}").cast(pl.Int64).alias("left"),
                pl.col(f"s{i}").cast(pl.Int64).alias("members_start"),
                pl.col(f"j{i}").cast(pl.Int64).alias("joined"),
            )
        )
    df = wilson(pl.concat(parts), successes="left", n="n", alpha=alpha)
    df = df.select(
        "segment", "period", "value", "ci_low", "ci_high", "n", "members_start", "joined", "left"
    )
    return headline(df, "community_exit_rate_monthly", "", order=("segment", "period"))


def community_leave_curves(dataset: Dataset, **options: Any) -> SurvivalCurves:
    """Kaplan–Meier of time from the first community join to leaving (社群留存).

    ``retention_curves(dataset, start="community_join", **options)``: T = days from the
    first ``join`` to the first ``leave`` at or after it, censored at ``as_of``;
    ``options`` are those of :func:`insights.metrics.retention.retention_curves`
    (``by``, ``period``, ``alpha``, ``timeline``, ...).
    """
    if "start" in options:
        raise ValueError("community_leave_curves sets start='community_join'; do not pass start=")
    return retention_curves(dataset, start="community_join", **options)


def private_gmv_share(
    dataset: Dataset,
    *,
    period: PeriodLike,
    definition: Literal["membership", "source"] = "membership",
    by: str | None = None,
    where: Where = None,
    include_refunded: bool = False,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Share of the period's GMV that is private-domain (私域GMV占比).

    ``definition="membership"``: orders placed while the buyer is a community member
    (inside a spell: join at or before ``ordered_at``, no leave yet; needs
    ``community``). ``definition="source"``: orders with ``source == "private_domain"``.
    ``value`` = private GMV / all GMV of the segment's orders in the period, a ratio
    estimator with buyers as clusters (delta-method CI). ``n`` = buyers; extra columns
    ``gmv_private``, ``gmv_total``.

    Examples
    --------
    >>> import polars as pl
    >>> from insights.data import frames_dataset
    >>> t = dt.datetime(2024, 1, 5)
    >>> ds = frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2], "first_seen_at": [t] * 2}),
    ...     orders=pl.DataFrame({"order_id": [1, 2], "user_id": [1, 2], "ordered_at": [t] * 2,
    ...                          "amount": [30.0, 10.0], "source": ["private_domain", "live"]}))
    >>> private_gmv_share(ds, period="2024Q1", definition="source")["value"].to_list()
    [0.75]
    """
    if definition not in ("membership", "source"):
        raise ValueError(f"definition must be 'membership' or 'source', got {definition!r}")
    p = parse_period(period)
    orders = paid_orders(dataset, include_refunded).filter(in_period("ordered_at", p))
    if definition == "source":
        if "source" not in orders.collect_schema().names():
            raise ValueError("definition='source' needs the orders column 'source'")
        flagged = orders.with_columns(
            (nw.col("source") == "private_domain").fill_null(False).cast(nw.Int64).alias("_priv")
        )
    else:
        rows = orders.select(nw.col("order_id").alias("_row"), "user_id", "ordered_at", "amount")
        inside = (
            rows.join(community_spells(dataset), on="user_id")
            .filter(
                (nw.col("join_at") <= nw.col("ordered_at"))
                & (nw.col("leave_at").is_null() | (nw.col("leave_at") > nw.col("ordered_at")))
            )
            .select("_row")
            .unique()
            .with_columns(nw.lit(1).alias("_priv"))
        )
        flagged = rows.join(inside, on="_row", how="left").with_columns(
            nw.col("_priv").fill_null(0).cast(nw.Int64)
        )
    scoped = flagged.join(
        users_frame(dataset, by=by, where=where).select("user_id", "segment"), on="user_id"
    ).with_columns((nw.col("amount") * nw.col("_priv")).alias("_pa"))
    est = ratio_frame(collect(cluster_sums(scoped, y="_pa", x="amount")), alpha=alpha)
    df = est.select(
        "segment", "value", "ci_low", "ci_high",
        pl.col("n_clusters").alias("n"),
        pl.col("sum_y").alias("gmv_private"),
        pl.col("sum_x").alias("gmv_total"),
    )  # fmt: skip
    return headline(df, f"private_gmv_share_{definition}", p.label)
