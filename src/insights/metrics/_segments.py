"""Which users an analysis looks at, and the segment each belongs to.

Acquisition cohorts hold only users acquired in the data. With ``export_start``
(``dataset.yaml`` or ``load_dataset``), users first seen before the export began (or,
for users derived from orders, within ``derive.warmup_days`` of its start) have
``acquired_in_data = False``: they may have been customers before, so their first
day in the data is not their acquisition. Every metric that counts or follows users
from their acquisition (new users, new-user shares, CAC, retention and lifetimes from
``first_seen`` or ``first_order``, projected LTV) keeps only :func:`acquired` users
(:func:`acquired_users`); metrics of everyone active (active users, lifecycle layers,
purchases in a period) keep them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import narwhals as nw

from insights.data._backend import epoch_day
from insights.data.dataset import Dataset

__all__ = ["Where", "users_frame", "acquired_users", "acquired", "where_expr", "ALL"]

ALL = "all"
_FLAG = "acquired_in_data"
#: A filter on users columns: a narwhals expression, or ``{column: value | [values]}``.
Where = nw.Expr | Mapping[str, Any] | None


def where_expr(where: Where) -> nw.Expr | None:
    """A narwhals filter expression from ``where`` (``None`` keeps everyone).

    Examples
    --------
    >>> where_expr(None) is None
    True
    >>> isinstance(where_expr({"city_tier": ["tier1", "tier2"], "gender": "f"}), nw.Expr)
    True
    """
    if where is None or isinstance(where, nw.Expr):
        return where
    parts: list[nw.Expr] = []
    for column, value in where.items():
        if isinstance(value, str) or not isinstance(value, Sequence):
            parts.append(nw.col(column) == value)
        else:
            parts.append(nw.col(column).is_in(list(value)))
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out & p
    return out


def users_frame(
    dataset: Dataset, *, by: str | None = None, where: Where = None
) -> nw.LazyFrame[Any]:
    """Users in scope: ``user_id, first_seen_at, first_seen_day, segment, acquired_in_data`` (lazy).

    ``segment`` is the value of column ``by`` as a string (null values become
    ``"unknown"``), or ``"all"`` when ``by`` is None. ``first_seen_day`` is whole days
    since 1970-01-01, the origin of every user's day count (day 0 = first day).
    ``acquired_in_data`` is the users column of that name (set by ``export_start``),
    True when the dataset has none; filter with :func:`acquired` for an acquisition
    cohort, or call :func:`acquired_users`.
    """
    users = dataset.table("users")
    cond = where_expr(where)
    if cond is not None:
        users = users.filter(cond)
    segment = nw.lit(ALL) if by is None else nw.col(by).cast(nw.String).fill_null("unknown")
    names = users.collect_schema().names()
    flag = nw.col(_FLAG) if _FLAG in names else nw.lit(value=True, dtype=nw.Boolean)
    return users.select(
        "user_id",
        "first_seen_at",
        epoch_day("first_seen_at", like=users).alias("first_seen_day"),
        segment.alias("segment"),
        flag.alias(_FLAG),
    )


def acquired() -> nw.Expr:
    """True for users acquired in the data (column ``acquired_in_data``; unknown counts as True).

    Examples
    --------
    >>> import polars as pl
    >>> frame = nw.from_native(pl.DataFrame({"acquired_in_data": [True, False, None]}))
    >>> frame.filter(acquired())["acquired_in_data"].to_list()
    [True, None]
    """
    return nw.col(_FLAG).fill_null(value=True)


def acquired_users(
    dataset: Dataset, *, by: str | None = None, where: Where = None
) -> nw.LazyFrame[Any]:
    """:func:`users_frame` restricted to users acquired in the data: an acquisition cohort's people.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from insights.data.load import load_dataset
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [dt.datetime(2023, 12, 20), dt.datetime(2024, 1, 5)]})
    >>> ds = load_dataset(users=users, export_start="2024-01-01", as_of="2024-03-31")
    >>> acquired_users(ds).collect()["user_id"].to_list()
    [2]
    """
    return users_frame(dataset, by=by, where=where).filter(acquired())
