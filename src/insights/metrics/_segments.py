"""Which users an analysis looks at, and the segment each belongs to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import narwhals as nw

from insights.data._backend import epoch_day
from insights.data.dataset import Dataset

__all__ = ["Where", "users_frame", "where_expr", "ALL"]

ALL = "all"
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
    """Users in scope: ``user_id, first_seen_at, first_seen_day, segment`` (lazy).

    ``segment`` is the value of column ``by`` as a string (null values become
    ``"unknown"``), or ``"all"`` when ``by`` is None. ``first_seen_day`` is whole days
    since 1970-01-01, the origin of every user's day count (day 0 = first day).
    """
    users = dataset.table("users")
    cond = where_expr(where)
    if cond is not None:
        users = users.filter(cond)
    segment = nw.lit(ALL) if by is None else nw.col(by).cast(nw.String).fill_null("unknown")
    return users.select(
        "user_id",
        "first_seen_at",
        epoch_day("first_seen_at", like=users).alias("first_seen_day"),
        segment.alias("segment"),
    )
