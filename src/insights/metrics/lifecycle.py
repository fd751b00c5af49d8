"""Lifecycle layers (new / active / silent / churned) at a date, and reactivation of silent users.

Activity is :func:`insights.metrics.activity_days.active_user_days` (distinct user x
calendar day over views, interactions and orders, plus each user's first day), so a user who
never did anything after acquisition was last active on their first day.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import narwhals as nw
import polars as pl

from insights.data._backend import collect
from insights.data.dataset import Dataset
from insights.metrics._periods import PeriodLike, parse_period
from insights.metrics._segments import Where, users_frame
from insights.metrics.activity_days import active_user_days, as_of_day
from insights.metrics.growth import _headline, _wilson

__all__ = ["silent_reactivation", "lifecycle_layers", "LAYERS"]

#: The layers, in reporting order.
LAYERS = ("new", "active", "silent", "churned")
_EPOCH = dt.date(1970, 1, 1)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

AtLike = dt.date | dt.datetime | PeriodLike


def _resolve_at(at: AtLike) -> tuple[int, str]:
    """``(epoch day, label)`` of ``at``: a date (or ISO date string) or a period, whose end is used."""
    if isinstance(at, dt.datetime):
        at = at.date()
    if isinstance(at, str) and _ISO_DATE.match(at.strip()):
        at = dt.date.fromisoformat(at.strip())
    if isinstance(at, dt.date):
        return (at - _EPOCH).days, at.isoformat()
    p = parse_period(at)
    return p.end_day, p.label


def _last_active(dataset: Dataset, users: nw.LazyFrame[Any], day: int) -> nw.LazyFrame[Any]:
    """``users`` with ``_last``: each user's last activity day (epoch) on or before ``day``."""
    last = (
        active_user_days(dataset, users=users)
        .filter(nw.col("day") <= day)
        .group_by("user_id")
        .agg(nw.col("day").max().alias("_last"))
    )
    return users.join(last, on="user_id", how="left")


def silent_reactivation(
    dataset: Dataset,
    *,
    at: AtLike,
    window: int = 30,
    silent_from: int = 30,
    silent_to: int = 90,
    by: str | None = None,
    where: Where = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Share of silent users at date d who are active again within ``window`` days.

    d is ``at`` (a date) or the last day of ``at`` (a period such as ``"2024Q3"``).
    Base: users with ``first_seen`` on or before d whose last activity on or before d
    was ``silent_from``..``silent_to`` days before d (inclusive). Numerator: those with
    any activity on days d+1..d+``window``. Wilson interval; ``n`` = silent users.

    Raises
    ------
    ValueError
        When ``as_of`` is before d + ``window`` (the window is not fully observed).

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from insights.data import frames_dataset
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [dt.datetime(2024, 1, 1)] * 2})
    >>> views = pl.DataFrame({"user_id": [1], "started_at": [dt.datetime(2024, 4, 10)], "watch_seconds": [60.0]})
    >>> ds = frames_dataset(users=users, views=views, as_of="2024-04-30")
    >>> silent_reactivation(ds, at="2024-03-31").select("value", "n").row(0)
    (0.5, 2)
    """
    day, label = _resolve_at(at)
    if as_of_day(dataset) < day + window:
        end = _EPOCH + dt.timedelta(days=day + window)
        raise ValueError(
            f"reactivation within {window} days of {label} needs data up to {end}; as_of is {dataset.as_of:%Y-%m-%d}"
        )
    users = users_frame(dataset, by=by, where=where).filter(nw.col("first_seen_day") <= day)
    after = (
        active_user_days(dataset, users=users)
        .filter(nw.col("day").is_between(day + 1, day + window, closed="both"))
        .select("user_id")
        .unique()
        .with_columns(nw.lit(1).alias("_back"))
    )
    gap = day - nw.col("_last")
    base = (
        _last_active(dataset, users, day)
        .filter(gap.is_between(silent_from, silent_to, closed="both"))
        .join(after, on="user_id", how="left")
    )
    agg = base.group_by("segment").agg(
        nw.len().alias("n"), nw.col("_back").fill_null(0).cast(nw.Int64).sum().alias("reactivated")
    )
    df = _wilson(collect(agg), successes="reactivated", n="n", alpha=alpha)
    return _headline(df, f"silent_reactivation_{window}d", label)


def lifecycle_layers(
    dataset: Dataset,
    *,
    at: AtLike,
    new_days: int = 30,
    active_days: int = 30,
    silent_days: int = 90,
    by: str | None = None,
    where: Where = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Sizes and shares of the lifecycle layers at date d (``at`` or the end of period ``at``).

    Population: users with ``first_seen`` on or before d. With ``age = d - first_seen_day``
    and ``gap = d - last activity day on or before d``, each user is exactly one of

    - **new**: ``age < new_days`` (first seen within the last ``new_days`` days, d included);
    - **active**: not new, ``gap < active_days``;
    - **silent**: ``active_days <= gap <= silent_days``;
    - **churned**: ``gap > silent_days``.

    One row per segment x layer (layers in the order new, active, silent, churned):
    metric ``"lifecycle_layer_share"``, ``value`` = share of the segment's users, Wilson
    interval, ``n`` = users in the segment; extra columns ``layer`` and ``users``
    (the layer's size).

    Raises
    ------
    ValueError
        When d is after the dataset's ``as_of``.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from insights.data import frames_dataset
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [dt.datetime(2024, 1, 1), dt.datetime(2024, 3, 20)]})
    >>> ds = frames_dataset(users=users, as_of="2024-03-31")
    >>> lifecycle_layers(ds, at="2024Q1").select("layer", "users").rows()
    [('new', 1), ('active', 0), ('silent', 1), ('churned', 0)]
    """
    day, label = _resolve_at(at)
    if day > as_of_day(dataset):
        raise ValueError(
            f"lifecycle layers at {label} need data up to that day; as_of is {dataset.as_of:%Y-%m-%d}"
        )
    age = day - nw.col("first_seen_day")
    gap = day - nw.col("_last")
    layer = (
        nw.when(age < new_days)
        .then(nw.lit("new"))
        .otherwise(
            nw.when(gap < active_days)
            .then(nw.lit("active"))
            .otherwise(
                nw.when(gap <= silent_days).then(nw.lit("silent")).otherwise(nw.lit("churned"))
            )
        )
    )
    users = users_frame(dataset, by=by, where=where).filter(nw.col("first_seen_day") <= day)
    agg = (
        _last_active(dataset, users, day)
        .with_columns(layer.alias("layer"))
        .group_by("segment", "layer")
        .agg(nw.len().alias("users"))
    )
    counts = collect(agg)
    grid = (
        counts.select("segment")
        .unique()
        .join(
            pl.DataFrame({"layer": list(LAYERS), "_order": list(range(len(LAYERS)))}), how="cross"
        )
    )
    df = (
        grid.join(counts, on=["segment", "layer"], how="left")
        .with_columns(pl.col("users").fill_null(0).cast(pl.Int64))
        .with_columns(n=pl.col("users").sum().over("segment"))
    )
    df = _wilson(df, successes="users", n="n", alpha=alpha)
    out = _headline(df, "lifecycle_layer_share", label, order=("segment", "_order"))
    return out.select(*out.columns[:7], "layer", "users")
