"""Lifecycle layers (new / active / silent / churned) at one or many dates, and reactivation.

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
from insights.data._cache import remembered
from insights.data.dataset import Dataset
from insights.metrics._common import headline, wilson
from insights.metrics._periods import PeriodLike, parse_period
from insights.metrics._segments import Where, users_frame
from insights.metrics.activity_days import active_user_days, as_of_day

__all__ = [
    "LAYERS",
    "lifecycle_layers",
    "silent_reactivation",
]

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
        active_user_days(dataset, users=users, distinct=False)  # max / unique: repeats are fine
        .filter(nw.col("day") <= day)
        .group_by("user_id")
        .agg(nw.col("day").max().alias("_last"))
    )
    return users.join(last, on="user_id", how="left")


@remembered
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
    ``by``/``where``: users column giving ``segment`` and a filter on users columns.

    Raises
    ------
    ValueError
        When ``as_of`` is before d + ``window`` (the window is not fully observed).

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [dt.datetime(2024, 1, 1)] * 2})
    >>> views = pl.DataFrame({"user_id": [1], "started_at": [dt.datetime(2024, 4, 10)], "watch_seconds": [60.0]})
    >>> ds = ins.frames_dataset(users=users, views=views, as_of="2024-04-30")
    >>> ins.silent_reactivation(ds, at="2024-03-31").select("value", "n").row(0)
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
        active_user_days(dataset, users=users, distinct=False)  # max / unique: repeats are fine
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
    df = wilson(collect(agg), successes="reactivated", n="n", alpha=alpha)
    return headline(df, f"silent_reactivation_{window}d", label)


def _check_windows(new_days: int, active_days: int, silent_days: int) -> None:
    if new_days < 0 or active_days <= 0 or silent_days < active_days:
        raise ValueError(
            "windows must satisfy new_days >= 0 and 0 < active_days <= silent_days, got "
            f"new_days={new_days}, active_days={active_days}, silent_days={silent_days}"
        )


def at_list(at: AtLike | list[AtLike]) -> list[AtLike]:
    """``at`` as a list of dates (a tuple is one ``(start, end)`` period, not a list)."""
    return list(at) if isinstance(at, list) else [at]


def _checked_days(dataset: Dataset, dates: list[AtLike]) -> tuple[list[int], list[str]]:
    """Epoch days and labels of ``dates``, each on or before ``as_of``."""
    if not dates:
        raise ValueError("at must name at least one date or period")
    resolved = [_resolve_at(d) for d in dates]
    last = as_of_day(dataset)
    for day, label in resolved:
        if day > last:
            raise ValueError(
                f"lifecycle layers at {label} need data up to that day; as_of is {dataset.as_of:%Y-%m-%d}"
            )
    return [d for d, _ in resolved], [lb for _, lb in resolved]


def wide_layers(
    dataset: Dataset,
    users: nw.LazyFrame[Any],
    days: list[int],
    *,
    new_days: int = 30,
    active_days: int = 30,
    silent_days: int = 90,
) -> nw.LazyFrame[Any]:
    """Per user, the layer at each of ``days``: ``user_id, segment, _layer_0, _layer_1, ...`` (lazy).

    One pass over the active days (one group-by with a conditional max per date); a
    user not yet first seen at ``days[j]`` has a null ``_layer_j``. Users first seen
    after the last of ``days`` are dropped.
    """
    _check_windows(new_days, active_days, silent_days)
    people = users.filter(nw.col("first_seen_day") <= max(days))
    lasts = (
        active_user_days(dataset, users=people, distinct=False)  # max per date: repeats are fine
        .group_by("user_id")
        .agg(
            *(
                nw.when(nw.col("day") <= d)
                .then(nw.col("day"))
                .otherwise(None)
                .max()
                .alias(f"_last_{j}")
                for j, d in enumerate(days)
            )
        )
    )
    joined = people.join(lasts, on="user_id", how="left")

    def layer(j: int, d: int) -> nw.Expr:
        age = d - nw.col("first_seen_day")
        gap = d - nw.col(f"_last_{j}")
        return (
            nw.when(age < 0)
            .then(nw.lit(None, dtype=nw.String))
            .otherwise(
                nw.when(age < new_days)
                .then(nw.lit("new"))
                .otherwise(
                    nw.when(gap < active_days)
                    .then(nw.lit("active"))
                    .otherwise(
                        nw.when(gap <= silent_days)
                        .then(nw.lit("silent"))
                        .otherwise(nw.lit("churned"))
                    )
                )
            )
            .alias(f"_layer_{j}")
        )

    return joined.select("user_id", "segment", *(layer(j, d) for j, d in enumerate(days)))


def user_layers(
    dataset: Dataset,
    *,
    at: AtLike,
    new_days: int = 30,
    active_days: int = 30,
    silent_days: int = 90,
    by: str | None = None,
    where: Where = None,
) -> nw.LazyFrame[Any]:
    """Each user's lifecycle layer at date d: ``user_id, segment, layer`` (lazy, not collected).

    Users first seen after d are left out; the rules are those of :func:`lifecycle_layers`.
    This is a per-user frame: collect it only when you need the rows.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> from insights.data._backend import collect
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [dt.datetime(2024, 1, 1), dt.datetime(2024, 3, 20)]})
    >>> ds = ins.frames_dataset(users=users, as_of="2024-03-31")
    >>> collect(user_layers(ds, at="2024-03-31")).sort("user_id")["layer"].to_list()
    ['silent', 'new']
    """
    days, _labels = _checked_days(dataset, [at])
    people = users_frame(dataset, by=by, where=where)
    windows = {"new_days": new_days, "active_days": active_days, "silent_days": silent_days}
    wide = wide_layers(dataset, people, days, **windows)
    return wide.select("user_id", "segment", nw.col("_layer_0").alias("layer"))


@remembered
def lifecycle_layers(
    dataset: Dataset,
    *,
    at: AtLike | list[AtLike],
    new_days: int = 30,
    active_days: int = 30,
    silent_days: int = 90,
    by: str | None = None,
    where: Where = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Sizes and shares of the lifecycle layers at one date d, or at each of a list of dates.

    d is ``at`` (a date, or the last day of a period such as ``"2024Q3"``). Population:
    users with ``first_seen`` on or before d. With ``age = d - first_seen_day``
    and ``gap = d - last activity day on or before d``, each user is exactly one of

    - **new**: ``age < new_days`` (first seen within the last ``new_days`` days, d included);
    - **active**: not new, ``gap < active_days``;
    - **silent**: ``active_days <= gap <= silent_days``;
    - **churned**: ``gap > silent_days``.

    ``at`` may be a list of dates/periods (a tuple is one ``(start, end)`` period): the
    layers at each, from one pass over the activity days and one collect, rows in the
    order given, labelled in ``period``. The layers at every quarter end are
    ``at=["2024Q1", "2024Q2", ...]`` (``period`` = the quarter labels).

    One row per date x segment x layer (layers in the order new, active, silent, churned):
    metric ``"lifecycle_layer_share"``, ``value`` = share of the segment's users, Wilson
    interval, ``n`` = users in the segment; extra columns ``layer`` and ``users``
    (the layer's size). A segment with no user yet at a date has no rows for it.

    Raises
    ------
    ValueError
        When d is after the dataset's ``as_of``, or the windows are inconsistent.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [dt.datetime(2024, 1, 1), dt.datetime(2024, 6, 20)]})
    >>> ds = ins.frames_dataset(users=users, as_of="2024-06-30")
    >>> ins.lifecycle_layers(ds, at="2024Q1").select("layer", "users").rows()
    [('new', 0), ('active', 0), ('silent', 1), ('churned', 0)]
    >>> both = ins.lifecycle_layers(ds, at=["2024Q1", "2024Q2"]).filter(pl.col("users") > 0)
    >>> both.select("period", "layer", "users").rows()
    [('2024Q1', 'silent', 1), ('2024Q2', 'new', 1), ('2024Q2', 'churned', 1)]
    """
    days, labels = _checked_days(dataset, at_list(at))
    windows = {"new_days": new_days, "active_days": active_days, "silent_days": silent_days}
    wide = wide_layers(dataset, users_frame(dataset, by=by, where=where), days, **windows)
    sums = [
        (nw.col(f"_layer_{j}") == name)
        .fill_null(value=False)
        .cast(nw.Int64)
        .sum()
        .alias(f"{j}|{name}")
        for j in range(len(days))
        for name in LAYERS
    ]
    wide_counts = collect(wide.group_by("segment").agg(*sums))
    counts = (
        wide_counts.unpivot(index="segment", variable_name="_key", value_name="users")
        .with_columns(pl.col("_key").str.split_exact("|", 1).struct.rename_fields(["_at", "layer"]))
        .unnest("_key")
        .with_columns(pl.col("_at").cast(pl.Int64), pl.col("users").cast(pl.Int64))
    )
    layer_order = pl.DataFrame({"layer": list(LAYERS), "_order": list(range(len(LAYERS)))})
    periods = pl.DataFrame({"_at": list(range(len(days))), "period": labels})
    df = (
        counts.join(layer_order, on="layer")
        .join(periods.with_columns(pl.col("_at").cast(pl.Int64)), on="_at")
        .with_columns(n=pl.col("users").sum().over("_at", "segment"))
        .filter(pl.col("n") > 0)
    )
    df = wilson(df, successes="users", n="n", alpha=alpha)
    out = headline(df, "lifecycle_layer_share", labels[0], order=("_at", "segment", "_order"))
    return out.select(*out.columns[:7], "layer", "users")
