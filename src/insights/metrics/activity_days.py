"""Active days of each user: the activity signal every retention metric starts from.

A user is *active* on a calendar day with any event of the ``activity`` tables (by
default a view, an interaction or an order) and on the day of acquisition (day 0).
Day indices count whole calendar days since ``first_seen_at`` (``epoch_day``
arithmetic); an event before the first day (clock skew, at most one day by the data
contract) counts as day 0. Everything here is lazy: nothing is collected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import narwhals as nw

from insights.data._backend import epoch_day
from insights.data.dataset import TIME_COLUMNS, Dataset
from insights.metrics._segments import Where, users_frame

__all__ = [
    "DEFAULT_ACTIVITY",
    "ACTIVITY_TABLES",
    "activity_days",
    "active_user_days",
    "as_of_day",
    "check_activity",
]

#: Tables whose events count as activity by default.
DEFAULT_ACTIVITY: tuple[str, ...] = ("views", "interactions", "orders")
#: Every table that may be named in ``activity``.
ACTIVITY_TABLES: tuple[str, ...] = ("views", "interactions", "orders", "community")

_EPOCH = dt.date(1970, 1, 1)


def as_of_day(dataset: Dataset) -> int:
    """The calendar day of ``dataset.as_of`` in whole days since 1970-01-01.

    Examples
    --------
    >>> import polars as pl
    >>> import insights as ins
    >>> as_of_day(ins.frames_dataset(users=pl.DataFrame({"user_id": [1]}), as_of="2024-01-01"))
    19723
    """
    return (dataset.as_of.date() - _EPOCH).days


def check_activity(activity: str | Sequence[str]) -> list[str]:
    """The activity tables named by ``activity`` (one name or a list), without repeats.

    Examples
    --------
    >>> check_activity(["views", "orders", "views"])
    ['views', 'orders']
    """
    names = [activity] if isinstance(activity, str) else list(activity)
    unknown = [s for s in names if s not in ACTIVITY_TABLES]
    if unknown or not names:
        raise ValueError(
            f"activity names unknown tables {unknown}; choose from {list(ACTIVITY_TABLES)}"
            if unknown
            else f"activity names no table; choose from {list(ACTIVITY_TABLES)}"
        )
    return list(dict.fromkeys(names))


def active_user_days(
    dataset: Dataset,
    *,
    activity: str | Sequence[str] = DEFAULT_ACTIVITY,
    users: nw.LazyFrame[Any] | None = None,
    distinct: bool = True,
    carry: Sequence[str] = (),
) -> nw.LazyFrame[Any]:
    """Distinct active calendar days per user: ``user_id, first_seen_day, day`` (lazy).

    The internal builder behind every retention metric (:func:`activity_days` is the
    per-user view for users).

    Parameters
    ----------
    dataset
        The data; its ``as_of`` cut applies to every table.
    activity
        Tables whose events count as activity (those absent from the dataset are
        skipped): ``views.started_at``, ``interactions.at``, ``orders.ordered_at``,
        ``community.at``.
    users
        Users to consider (a lazy frame with ``user_id`` and ``first_seen_day``, as
        from ``users_frame``); default every user of the dataset.
    distinct
        One row per distinct day (default). ``False`` keeps one row per event
        (plus the first day), for consumers that tolerate repeated days and would
        rather skip the costly distinct pass (see ``lifetimes_of``).
    carry
        Further columns of ``users`` to carry onto every row (e.g. a unit index).

    Returns
    -------
    narwhals.LazyFrame
        ``user_id, first_seen_day, day`` with ``day`` in whole days since 1970-01-01
        (Int64), never before ``first_seen_day`` (earlier events count on the first
        day), one row per distinct active day, always including ``first_seen_day``.
        Events of users not in ``users`` are ignored. Not collected.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> from insights.data._backend import collect
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1], "first_seen_at": [dt.datetime(1970, 1, 2, 9)]}),
    ...     views=pl.DataFrame({"user_id": [1, 1], "started_at": [dt.datetime(1970, 1, 1, 23),
    ...                                                           dt.datetime(1970, 1, 5)],
    ...                         "watch_seconds": [60.0, 60.0]}),
    ... )
    >>> collect(active_user_days(ds)).sort("day")["day"].to_list()
    [1, 4]
    """
    chosen = check_activity(activity)
    people = users_frame(dataset) if users is None else users
    people = people.select("user_id", nw.col("first_seen_day").cast(nw.Int64), *carry)
    parts = [people.select("user_id", nw.col("first_seen_day").alias("day"))]
    for name in chosen:
        if not dataset.has(name):
            continue
        table = dataset.table(name)
        day = epoch_day(TIME_COLUMNS[name], like=table).cast(nw.Int64)
        events = table.select("user_id", day.alias("day"))
        parts.append(events)
    # Join first, so that only the events of the users in scope are made distinct (a
    # quarter's cohort is a small part of all events); one distinct pass only: events
    # before the first day would count on day 0, which is active anyway (the first
    # part), so dropping them equals clipping + unique.
    events_all = nw.concat(parts, how="vertical")
    joined = events_all.join(people, on="user_id", how="inner")
    out = joined.filter(nw.col("day") >= nw.col("first_seen_day")).select(
        "user_id", "first_seen_day", *carry, "day"
    )
    return out.unique() if distinct else out


def activity_days(
    dataset: Dataset,
    *,
    activity: str | Sequence[str] = DEFAULT_ACTIVITY,
    by: str | None = None,
    where: Where = None,
) -> nw.LazyFrame[Any]:
    """Distinct active day indices per user: ``user_id, segment, day`` (lazy).

    ``day`` = epoch_day(event) - epoch_day(first_seen_at), clipped at 0 (Int64),
    over the events of the ``activity`` tables plus day 0 for every user
    (acquisition counts as activity).

    Parameters
    ----------
    dataset
        The data; its ``as_of`` cut applies to every table.
    activity
        Tables whose events count (default views, interactions, orders; also
        ``community``).
    by, where
        Users column giving ``segment`` (``"all"`` when None) and a filter on users
        columns.

    Returns
    -------
    narwhals.LazyFrame
        One row per user x distinct active day index. Not collected.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> from insights.data._backend import collect
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1], "first_seen_at": [dt.datetime(2024, 1, 1, 20)]}),
    ...     orders=pl.DataFrame({"order_id": [7], "user_id": [1],
    ...                          "ordered_at": [dt.datetime(2024, 1, 3, 1)], "amount": [9.0]}),
    ... )
    >>> collect(activity_days(ds)).sort("day").select("segment", "day").rows()
    [('all', 0), ('all', 2)]
    """
    people = users_frame(dataset, by=by, where=where)
    days = active_user_days(dataset, activity=activity, users=people, carry=["segment"])
    return days.select(
        "user_id", "segment", (nw.col("day") - nw.col("first_seen_day")).alias("day")
    )
