"""Active days of each user: the activity signal every retention metric starts from.

A user is *active* on a calendar day with any event of the ``activity`` tables (by
default a view, an interaction or an order) and on the day of acquisition (day 0).
Day indices count whole calendar days since ``first_seen_at`` (``epoch_day``
arithmetic); an event before the first day (clock skew, at most one day by the data
contract) counts as day 0. Everything here is lazy: nothing is collected.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np
import polars as pl

from insights.data import _backend
from insights.data._backend import (
    backend_name,
    collect,
    distinct_days,
    epoch_day,
    id_ranges,
    materialize,
    to_lazy,
)
from insights.data.dataset import TIME_COLUMNS, Dataset
from insights.metrics._segments import Where, users_frame

__all__ = [
    "DEFAULT_ACTIVITY",
    "ACTIVITY_TABLES",
    "activity_days",
    "active_user_days",
    "shared_days",
    "sorted_day_offsets",
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


#: Shared days kept in memory (the most recently used last): the days, the native tables
#: they come from (held, so their ids are not reused) and, on DuckDB, the users'
#: first-seen days their ``__o`` counts from (None elsewhere).
_SHARED: OrderedDict[
    tuple[Any, ...], tuple[nw.LazyFrame[Any], tuple[Any, ...], nw.LazyFrame[Any] | None]
] = OrderedDict()
_SHARED_SIZE = 2
#: Engines whose shared days are computed once (Spark keeps one lazy plan per call).
_SHARING_ENGINES = ("polars", "duckdb")


def _user_range(users: nw.LazyFrame[Any]) -> tuple[tuple[int, int] | None, int]:
    """Smallest and largest integer ``user_id`` of ``users`` (None: not integers, or no
    user), and the number of users."""
    if not users.collect_schema()["user_id"].is_integer():  # no packed keys: the count is unused
        return None, 0
    row = collect(
        users.select(
            nw.col("user_id").min().alias("lo"), nw.col("user_id").max().alias("hi"), nw.len()
        )
    )
    lo, hi, n = row.row(0)
    return (None if lo is None else (int(lo), int(hi))), int(n)


def _build_shared(
    dataset: Dataset, chosen: list[str]
) -> tuple[nw.LazyFrame[Any], nw.LazyFrame[Any] | None]:
    """The shared days and, on DuckDB, the per-user origins their ``__o`` counts from."""
    users = dataset.table("users")
    parts = []
    for name in chosen:
        if dataset.has(name):
            table = dataset.table(name)
            day = epoch_day(TIME_COLUMNS[name], like=table).cast(nw.Int64)
            parts.append(table.select("user_id", day.alias("day")))
    if not parts:  # no activity table: no event day
        parts = [users.select("user_id", nw.lit(0, nw.Int64).alias("day")).head(0)]
    events = nw.concat(parts, how="vertical")
    user_range, n = _user_range(users)
    origins = None
    if backend_name(users) == "duckdb" and user_range is not None:
        # every user's first-seen day, once per user (``__n`` rows of the user in ``users``)
        first = epoch_day("first_seen_at", like=users).cast(nw.Int64).alias("__f")
        origins = materialize(
            users.select("user_id", first)
            .group_by("user_id")
            .agg(nw.col("__f").min(), nw.len().alias("__n"))
        )
    days = distinct_days(
        events, last_day=as_of_day(dataset), user_range=user_range, users=n, origins=origins
    )
    return days, origins


def shared_days(
    dataset: Dataset, *, activity: str | Sequence[str] = DEFAULT_ACTIVITY
) -> nw.LazyFrame[Any] | None:
    """The distinct ``user_id, day`` (Int64 epoch day) of the ``activity`` events, shared.

    One row per user and calendar day with an event of the ``activity`` tables (as
    cut at ``as_of``). Neither clipped at the first day nor holding it: every
    consumer counts from its own origin (:func:`active_user_days` adds it and drops
    the earlier days), which need not be the first-seen day.
    Computed once per dataset, ``as_of``, activity tables and engine and remembered
    (module docstring); ``None`` when sharing is off (``ins.options(share_days=False)``)
    or the engine computes it per call (Spark).

    The in-memory key is the identity of the dataset's native tables (held by the
    entry, so an identity is never reused while it lives): a dataset with other
    frames, another ``as_of`` or other activity tables never reads another's days.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1], "first_seen_at": [dt.datetime(1970, 1, 2, 9)]}),
    ...     views=pl.DataFrame({"user_id": [1, 1, 1], "watch_seconds": [1.0] * 3,
    ...                         "started_at": [dt.datetime(1970, 1, 5, h) for h in (1, 2, 3)]}),
    ...     as_of="1970-01-31",
    ... )
    >>> collect(shared_days(ds)).rows()
    [(1, 4)]
    >>> shared_days(ds) is shared_days(ds)  # computed once
    True
    """
    from insights._options import current

    chosen = check_activity(activity)
    if not current().share_days:
        return None
    users = to_lazy(dataset.tables["users"])
    engine = backend_name(users)
    if engine not in _SHARING_ENGINES:
        return None
    names = ["users", *[n for n in chosen if dataset.has(n)]]
    natives = tuple(dataset.tables[n] for n in names)
    key = (engine, dataset.as_of, tuple(chosen), tuple(names), tuple(id(x) for x in natives))
    hit = _SHARED.get(key)
    if hit is not None:
        _SHARED.move_to_end(key)
        return hit[0]
    days, origins = _from_disk(dataset, chosen, engine), None
    if days is None:
        days, origins = _build_shared(dataset, chosen)
        _to_disk(dataset, chosen, engine, days)
    _SHARED[key] = (days, natives, origins)
    while len(_SHARED) > _SHARED_SIZE:
        _SHARED.popitem(last=False)
    return days


def sorted_day_offsets(
    dataset: Dataset,
    units: nw.LazyFrame[Any],
    *,
    activity: str | Sequence[str] = DEFAULT_ACTIVITY,
    span: int,
    after: int = 0,
) -> tuple[list[nw.LazyFrame[Any]], int] | None:
    """Each unit's later active day offsets as one packed key, from the shared days (Polars, DuckDB).

    ``units`` holds ``user_id, first_seen_day`` (the origin), one row per user. Returns
    ``(parts, lo)``: each part has one column ``__k = (user_id - lo) * span + offset``,
    ``offset = day - first_seen_day``, for every shared day of each unit more than
    ``after`` days after its origin (offset > after; a consumer that counts periods of
    ``after + 1`` days leaves out the first period, which holds the origin anyway), in
    ascending order (what :func:`insights.data._backend.gap_summary`
    reads with ``presorted=True, origin=True``); every unit's keys are in one part
    (one part on Polars; on DuckDB one per user-id range of about
    :data:`~insights.data._backend.DUCKDB_SLICE_UNITS` units), so a per-unit pass
    runs part by part. The origin itself (offset 0, active by definition) is
    implied, not a row: with it, the same days as :func:`active_user_days` with
    ``distinct=True``. ``None`` when this does not apply: not Polars or DuckDB,
    sharing off, ``user_id`` not integers or repeated, a null origin, or ids too
    sparse for a lookup table (more than four slots per unit beyond a million); on
    DuckDB also when an origin is not the user's first-seen day or the ids span
    2**40 or more (the packed keys would not fit).

    Why. The shared days come sorted by ``user_id, day``; a lookup table from user id
    to origin keeps that order (a hash join would not), so no sort is needed
    (measured at 1M users: 0.7 s of CPU for the per-user gap summary against 1.7 s
    with the join and the sort). The origins are left implied because merging them
    in (``merge_sorted``) cost more than the rest of the pass (0.26 s of 0.41 s of
    CPU on 23.5M shared days); consumers add them (a unit without later days has
    no row).

    DuckDB: the keys come in no particular order, from the offsets the shared days
    carry from each user's first-seen day (``__o``, joined while the shared days are
    built, one user-id range at a time; see
    :func:`insights.data._backend.distinct_days`), read by every consumer whose
    origins are the first-seen days (curves and matrix of acquisition cohorts), so
    no join is repeated per call (measured at 10M users: the join adds 6–9 s to the
    shared days, where a separate table of the offsets took 20 s). The parts are
    user-id ranges of the shared table, which was written range by range, so each
    part reads only its own row groups; a window or distinct pass per part
    outgrows memory less (measured at 10M users, 200M user-days under a 6 GB memory
    limit, the gap summaries: 29 s in one window, 20.7 s in 8 parts, 18.5 s in 16;
    the distinct periods and their counts: 19.5 s at once, 14.6 s in 8 parts; at 1M
    users one part, as two cost more than they saved).

    Examples
    --------
    >>> import datetime as dt
    >>> import insights as ins
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2], "first_seen_at": [dt.datetime(1970, 1, 2)] * 2}),
    ...     views=pl.DataFrame({"user_id": [2, 1, 2], "watch_seconds": [1.0] * 3,
    ...                         "started_at": [dt.datetime(1970, 1, d) for d in (9, 5, 1)]}),
    ...     as_of="1970-01-31",
    ... )
    >>> parts, lo = sorted_day_offsets(ds, users_frame(ds), span=100)
    >>> lo, [collect(p)["__k"].to_list() for p in parts]  # user 1: (0), 3; user 2: (0), 7
    (1, [[3, 107]])
    >>> parts, lo = sorted_day_offsets(ds, users_frame(ds), span=100, after=5)
    >>> [collect(p)["__k"].to_list() for p in parts]  # offsets 0 .. 5 left out
    [[107]]
    """
    if backend_name(units) == "duckdb":
        return _duckdb_offsets(dataset, units, activity=activity, span=span, after=after)
    if backend_name(units) != "polars":
        return None
    shared = shared_days(dataset, activity=activity)
    if shared is None or backend_name(shared) != "polars":
        return None
    u = collect(units.select("user_id", nw.col("first_seen_day").cast(nw.Int64)))
    if (
        u.is_empty()
        or not u.schema["user_id"].is_integer()
        or u["first_seen_day"].null_count() > 0
        or u["user_id"].null_count() > 0
        or u["user_id"].n_unique() != u.height
    ):
        return None
    lo, hi = int(u["user_id"].min()), int(u["user_id"].max())  # type: ignore[arg-type]
    size = hi - lo + 1
    if size > 4 * u.height + (1 << 20):
        return None
    index = (u["user_id"].cast(pl.Int64) - lo).to_numpy()
    origin = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)  # not a unit: no day is later
    origin[index] = u["first_seen_day"].to_numpy()
    at = pl.col("user_id").cast(pl.Int64) - lo
    first = pl.lit(pl.Series("__f", origin)).gather(at)
    later = (
        shared.to_native()
        .filter(at.is_between(0, size - 1))
        .with_columns(first.alias("__f"))
        .filter(pl.col("day") - pl.col("__f") > after)
        .select((at * span + pl.col("day") - pl.col("__f")).alias("__k"))
    )
    return [nw.from_native(later)], lo


def _duckdb_offsets(
    dataset: Dataset,
    units: nw.LazyFrame[Any],
    *,
    activity: str | Sequence[str],
    span: int,
    after: int,
) -> tuple[list[nw.LazyFrame[Any]], int] | None:
    """:func:`sorted_day_offsets` on DuckDB (unordered keys), or None (see there).

    The shared days carry each day's offset from the user's first-seen day
    (``__o``, see :func:`_build_shared`); one aggregate query checks that the units
    are distinct users whose origins are those days.
    """
    shared = shared_days(dataset, activity=activity)
    if shared is None or backend_name(shared) != "duckdb":
        return None
    origins = next((e[2] for e in _SHARED.values() if e[0] is shared), None)
    if origins is None:
        return None
    if not units.collect_schema()["user_id"].is_integer():
        return None
    c = nw.col
    same = (c("first_seen_day") == c("__f")) & (c("__n") == 1)
    check = collect(
        units.select("user_id", c("first_seen_day").cast(nw.Int64))
        .join(origins, on="user_id", how="left")
        .select(
            nw.len().alias("n"),
            c("user_id").n_unique().alias("distinct"),
            c("user_id").null_count().alias("nulls"),
            c("user_id").cast(nw.Int64).min().alias("lo"),
            c("user_id").cast(nw.Int64).max().alias("hi"),
            same.fill_null(False).all().alias("same"),
        )
    )
    n, distinct, nulls, lo, hi, ok = check.row(0)
    if n == 0 or nulls or distinct != n or not ok or hi - lo >= 1 << 40:  # keys fit in 63 bits
        return None
    some = n != collect(origins.select(nw.len())).item()  # some users only: join them
    at = c("user_id").cast(nw.Int64) - lo
    parts = []
    for a, b in id_ranges(int(lo), int(hi), count=n, per=_backend.DUCKDB_SLICE_UNITS):
        rows = shared.filter(c("user_id").is_between(a, b) & (c("__o") > after))
        if some:
            rows = rows.join(units.select("user_id"), on="user_id", how="inner")
        parts.append(rows.select((at * span + c("__o")).alias("__k")))
    return parts, int(lo)


def _disk_params(dataset: Dataset, chosen: list[str], engine: str) -> dict[str, Any]:
    return {"activity": chosen, "engine": engine}


def _from_disk(dataset: Dataset, chosen: list[str], engine: str) -> nw.LazyFrame[Any] | None:
    if engine != "polars":
        return None
    from insights.data._cache import load_intermediate

    native = load_intermediate(dataset, "shared_days", _disk_params(dataset, chosen, engine))
    return None if native is None else nw.from_native(native)


def _to_disk(dataset: Dataset, chosen: list[str], engine: str, days: nw.LazyFrame[Any]) -> None:
    if engine != "polars":
        return
    from insights.data._cache import store_intermediate

    store_intermediate(
        dataset, "shared_days", _disk_params(dataset, chosen, engine), days.to_native()
    )


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
        Events of users not in ``users`` are ignored. Not collected, but built on
        :func:`shared_days`, which the first call for a dataset computes (on Polars
        and DuckDB; ``ins.options(share_days=False)`` reads the events per call).

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
    shared = shared_days(dataset, activity=chosen)
    if shared is not None:
        # The shared days hold every user's event days, not clipped: the origins
        # (rows of ``people``) and the shared days after them give the same rows as
        # the events clipped at the origin plus the origin.
        firsts = people.select(
            "user_id", "first_seen_day", *carry, nw.col("first_seen_day").alias("day")
        )
        later = shared.join(people, on="user_id", how="inner")
        after = nw.col("day") > nw.col("first_seen_day")
        later = later.filter(after).select("user_id", "first_seen_day", *carry, "day")
        out = nw.concat([firsts, later], how="vertical")
        # already distinct when ``people`` has one row per user (``users_frame``)
        return out.unique() if distinct and users is not None else out
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
