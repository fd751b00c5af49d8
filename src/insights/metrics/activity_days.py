"""Active days of each user: the activity signal every retention metric starts from.

A user is *active* on a calendar day with any activity event (by default a view,
an interaction or an order) and on the day of acquisition (day 0). Day indices
count whole calendar days since ``first_seen_at`` (``epoch_day`` arithmetic); an
event before the first day (clock skew, at most one day by the data contract)
counts as day 0. Everything here is lazy: nothing is collected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import narwhals as nw

from insights.data._backend import epoch_day
from insights.data.dataset import TIME_COLUMNS, Dataset
from insights.metrics._segments import users_frame

__all__ = ["DEFAULT_SOURCES", "ACTIVITY_SOURCES", "activity_days", "active_user_days", "as_of_day"]

#: Tables whose events count as activity by default.
DEFAULT_SOURCES: tuple[str, ...] = ("views", "interactions", "orders")
#: Every table that may be named as an activity source.
ACTIVITY_SOURCES: tuple[str, ...] = ("views", "interactions", "orders", "community")

_EPOCH = dt.date(1970, 1, 1)


def as_of_day(dataset: Dataset) -> int:
    """The calendar day of ``dataset.as_of`` in whole days since 1970-01-01.

    Examples
    --------
    >>> import polars as pl
    >>> from insights.data import frames_dataset
    >>> as_of_day(frames_dataset(users=pl.DataFrame({"user_id": [1]}), as_of="2024-01-01"))
    19723
    """
    return (dataset.as_of.date() - _EPOCH).days


def _check_sources(sources: Sequence[str]) -> list[str]:
    unknown = [s for s in sources if s not in ACTIVITY_SOURCES]
    if unknown:
        raise ValueError(
            f"unknown activity sources {unknown}; choose from {list(ACTIVITY_SOURCES)}"
        )
    return list(dict.fromkeys(sources))


def active_user_days(
    dataset: Dataset,
    *,
    sources: Sequence[str] = DEFAULT_SOURCES,
    users: nw.LazyFrame[Any] | None = None,
    distinct: bool = True,
    carry: Sequence[str] = (),
) -> nw.LazyFrame[Any]:
    """Distinct active calendar days per user: ``user_id, first_seen_day, day`` (lazy).

    Parameters
    ----------
    dataset
        The data; its ``as_of`` cut applies to every table.
    sources
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
    >>> from insights.data import frames_dataset
    >>> from insights.data._backend import collect
    >>> ds = frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1], "first_seen_at": [dt.datetime(1970, 1, 2, 9)]}),
    ...     views=pl.DataFrame({"user_id": [1, 1], "started_at": [dt.datetime(1970, 1, 1, 23),
    ...                                                           dt.datetime(1970, 1, 5)],
    ...                         "watch_seconds": [60.0, 60.0]}),
    ... )
    >>> collect(active_user_days(ds)).sort("day")["day"].to_list()
    [1, 4]
    """
    chosen = _check_sources(sources)
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
    sources: Sequence[str] = DEFAULT_SOURCES,
    users: nw.LazyFrame[Any] | None = None,
) -> nw.LazyFrame[Any]:
    """Distinct active day indices per user: ``user_id, day`` (lazy).

    ``day`` = epoch_day(event) - epoch_day(first_seen_at), clipped at 0 (Int64),
    over the events of ``sources`` plus day 0 for every user (acquisition counts
    as activity). Parameters as :func:`active_user_days`. Not collected.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from insights.data import frames_dataset
    >>> from insights.data._backend import collect
    >>> ds = frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1], "first_seen_at": [dt.datetime(2024, 1, 1, 20)]}),
    ...     orders=pl.DataFrame({"order_id": [7], "user_id": [1],
    ...                          "ordered_at": [dt.datetime(2024, 1, 3, 1)], "amount": [9.0]}),
    ... )
    >>> collect(activity_days(ds)).sort("day")["day"].to_list()
    [0, 2]
    """
    days = active_user_days(dataset, sources=sources, users=users)
    return days.select("user_id", (nw.col("day") - nw.col("first_seen_day")).alias("day"))
