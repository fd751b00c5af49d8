"""Per-unit survival durations for each origin (what starts the clock), built lazily in the data engine.

A *unit* is what a survival curve follows: a user (``first_seen``, ``first_order``,
``community_join``) or a user's experiment assignment (``experiment``). Each builder
takes the units as a lazy frame and returns it with two more columns, ``duration``
(Int64 days, the Kaplan–Meier time) and ``event`` (Int64: 1 observed, 0 censored at
``as_of``); every other column is carried through. Nothing is collected here: the
caller aggregates counts and collects once.

Origins (S(t) = P(T > t) in every case):

- ``first_seen``: churn lifetime from acquisition (:mod:`insights.metrics.lifetimes`:
  duration = L + 1 for churned users; censored users at as_of_day − first_seen_day −
  churn_gap + 1, the last day a churn could have been confirmed).
- ``first_order``: T = days from the user's first paid order day to the next distinct
  paid order day (same-day orders are one purchase, as in ``repurchase_cycle``);
  without a second order, censored at as_of_day − first order day. Users without a
  paid order are not units. Refunded orders are left out.
- ``community_join``: T = days from the user's first community ``join`` to the first
  ``leave`` at or after it; still a member: censored at as_of_day − join day. Users
  who never joined are not units.
- ``experiment``: one unit per experiments row (user x experiment); the churn
  lifetime counted from the assignment day instead of first_seen (the assignment
  day counts as active, activity before it is ignored), censored as for
  ``first_seen``. Carries the experiments columns (``experiment``, ``arm``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

import narwhals as nw

from insights.data._backend import epoch_day
from insights.data.dataset import Dataset
from insights.metrics._segments import Where, acquired
from insights.metrics.activity_days import DEFAULT_ACTIVITY, as_of_day
from insights.metrics.lifetimes import lifetimes_of
from insights.metrics.purchase import order_days

__all__ = [
    "Origin",
    "ORIGINS",
    "RESERVED",
    "check_origin",
    "units_of",
    "unit_columns",
    "by_columns",
    "check_columns",
    "durations_of",
    "first_seen_durations",
    "first_order_durations",
    "community_durations",
    "experiment_durations",
]

Origin = Literal["first_seen", "first_order", "community_join", "experiment"]
#: What can start a unit's clock in a survival curve.
ORIGINS: tuple[str, ...] = get_args(Origin)

_EXPERIMENT_TIME = "assigned_at"
#: Origins counted from a user's acquisition: their units are users acquired in the data.
_ACQUISITION = ("first_seen", "first_order")
#: Column names of the survival counts frame, which by-columns must not take.
RESERVED = ("segment", "entry", "duration", "event", "count", "t")


def check_origin(origin: str) -> None:
    """Raise a ``ValueError`` naming the allowed values unless ``origin`` is one."""
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {list(ORIGINS)}, got {origin!r}")


def unit_columns(dataset: Dataset, *, origin: Origin = "first_seen") -> list[str]:
    """Columns a unit of ``origin`` carries (usable in ``by``, ``where``, ``entry``, ``weights``).

    The users columns, plus for ``experiment`` the experiments columns other than
    ``user_id`` and ``assigned_at``. Reads schemas only (no data).
    """
    check_origin(origin)
    cols = list(dataset.table("users").collect_schema().names())
    if origin == "experiment":
        exp = (
            dataset.table("experiments", needed_for='origin="experiment"').collect_schema().names()
        )
        cols += [c for c in exp if c not in ("user_id", _EXPERIMENT_TIME) and c not in cols]
    return cols


def by_columns(by: str | Sequence[str] | None) -> tuple[str, ...]:
    """``by`` as a tuple of column names (``()`` for None), checked for repeats and clashes.

    Examples
    --------
    >>> by_columns("platform"), by_columns(None)
    (('platform',), ())
    """
    if by is None:
        return ()
    cols = (by,) if isinstance(by, str) else tuple(by)
    if not cols or not all(isinstance(c, str) and c for c in cols):
        raise ValueError(f"by must be None, a column name or a list of column names, got {by!r}")
    if len(set(cols)) < len(cols):
        raise ValueError(f"by names a column twice: {list(cols)}")
    reserved = [c for c in cols if c in RESERVED]
    if reserved:
        raise ValueError(
            f"by columns {reserved} clash with result columns {list(RESERVED)}; rename them"
        )
    return cols


class MissingColumnError(ValueError):
    """A column an argument names (``by=``, ``where=``, ...) is not in the data; ``.column`` names it."""

    def __init__(self, message: str, *, column: str) -> None:
        super().__init__(message)
        self.column = column


def check_columns(
    available: Sequence[str],
    *,
    by: Sequence[str] = (),
    entry: str | None = None,
    weights: str | None = None,
    where: Where = None,
) -> None:
    """Raise a :class:`MissingColumnError` (a ``ValueError``) naming the argument when a column it names is not in ``available``.

    ``where`` is checked when it is a mapping (expressions are left to the engine).
    """
    named: list[tuple[str, str]] = [("by", c) for c in by]
    named += [("entry", entry)] if entry else []
    named += [("weights", weights)] if weights else []
    if isinstance(where, Mapping):
        named += [("where", str(c)) for c in where]
    for argument, column in named:
        if column not in available:
            raise MissingColumnError(
                f"{argument}: column {column!r} is not available; choose from {available}",
                column=column,
            )


def units_of(dataset: Dataset, *, origin: Origin = "first_seen") -> nw.LazyFrame[Any]:
    """The units of ``origin`` with every column they carry, plus ``first_seen_day`` (lazy).

    Users (one row each) or, for ``experiment``, users joined with their
    experiments rows (one row per assignment, ``assigned_day`` added). For
    ``first_seen`` and ``first_order`` (acquisition cohorts) only users acquired in
    the data: those with ``acquired_in_data`` false (first seen before
    ``export_start``) have no observed first day or first order
    (``insights.metrics._segments``).
    """
    check_origin(origin)
    users = dataset.table("users").with_columns(
        epoch_day("first_seen_at").cast(nw.Int64).alias("first_seen_day")
    )
    if origin in _ACQUISITION and "acquired_in_data" in users.collect_schema().names():
        users = users.filter(acquired())
    if origin != "experiment":
        return users
    exp = dataset.table("experiments", needed_for='origin="experiment"')
    names = exp.collect_schema().names()
    user_cols = set(users.collect_schema().names())
    keep = [c for c in names if c not in user_cols or c == "user_id"]
    exp = exp.select(*keep).with_columns(
        epoch_day(_EXPERIMENT_TIME).cast(nw.Int64).alias("assigned_day")
    )
    return users.join(exp.drop(_EXPERIMENT_TIME), on="user_id", how="inner")


def first_seen_durations(
    dataset: Dataset,
    units: nw.LazyFrame[Any],
    *,
    churn_gap: int = 30,
    activity: str | Sequence[str] = DEFAULT_ACTIVITY,
) -> nw.LazyFrame[Any]:
    """Churn lifetimes from acquisition: ``units`` (``user_id, first_seen_day``, ...) + duration, event."""
    out = lifetimes_of(dataset, units, churn_gap=churn_gap, activity=activity)
    return out.drop("last_active_day", "L")


def experiment_durations(
    dataset: Dataset,
    units: nw.LazyFrame[Any],
    *,
    churn_gap: int = 30,
    activity: str | Sequence[str] = DEFAULT_ACTIVITY,
) -> nw.LazyFrame[Any]:
    """Churn lifetimes from the assignment day: ``units`` need ``assigned_day`` (see :func:`units_of`).

    The origin is max(assigned_day, first_seen_day) (an assignment logged before
    acquisition starts at acquisition).
    """
    origin = nw.max_horizontal(nw.col("assigned_day"), nw.col("__acq_day"))
    shifted = units.rename({"first_seen_day": "__acq_day"}).with_columns(
        origin.cast(nw.Int64).alias("first_seen_day")
    )
    out = lifetimes_of(dataset, shifted, churn_gap=churn_gap, activity=activity)
    return out.drop("last_active_day", "L", "first_seen_day").rename(
        {"__acq_day": "first_seen_day"}
    )


def first_order_durations(
    dataset: Dataset, units: nw.LazyFrame[Any], *, include_refunded: bool = False
) -> nw.LazyFrame[Any]:
    """Days from the first paid order day to the next distinct paid order day (buyers only).

    Adds ``first_order_day`` (days since 1970-01-01) besides ``duration, event``.
    """
    days = order_days(dataset, include_refunded=include_refunded).select("user_id", "day").unique()
    first = days.group_by("user_id").agg(nw.col("day").min().alias("first_order_day"))
    second = (
        days.join(first, on="user_id", how="inner")
        .filter(nw.col("day") > nw.col("first_order_day"))
        .group_by("user_id")
        .agg(nw.col("day").min().alias("__second"))
    )
    bought_again = ~nw.col("__second").is_null()
    end = nw.when(bought_again).then(nw.col("__second")).otherwise(nw.lit(as_of_day(dataset)))
    return (
        units.join(first, on="user_id", how="inner")
        .join(second, on="user_id", how="left")
        .with_columns(
            (end - nw.col("first_order_day")).cast(nw.Int64).alias("duration"),
            bought_again.cast(nw.Int64).alias("event"),
        )
        .drop("__second")
    )


def community_durations(dataset: Dataset, units: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """Days from the first community ``join`` to the first ``leave`` at or after it (joiners only).

    Adds ``join_day`` (days since 1970-01-01) besides ``duration, event``.
    """
    community = dataset.table("community", needed_for='origin="community_join"')
    joins = (
        community.filter(nw.col("action") == "join")
        .group_by("user_id")
        .agg(nw.col("at").min().alias("__join_at"))
    )
    leaves = community.filter(nw.col("action") == "leave").select(
        "user_id", nw.col("at").alias("__leave_at")
    )
    first_leave = (
        joins.join(leaves, on="user_id", how="inner")
        .filter(nw.col("__leave_at") >= nw.col("__join_at"))
        .group_by("user_id")
        .agg(nw.col("__leave_at").min().alias("__leave_at"))
    )
    left = ~nw.col("__leave_at").is_null()
    end = nw.when(left).then(epoch_day("__leave_at")).otherwise(nw.lit(as_of_day(dataset)))
    return (
        units.join(joins, on="user_id", how="inner")
        .join(first_leave, on="user_id", how="left")
        .with_columns(epoch_day("__join_at").cast(nw.Int64).alias("join_day"))
        .with_columns(
            (end - nw.col("join_day")).cast(nw.Int64).alias("duration"),
            left.cast(nw.Int64).alias("event"),
        )
        .drop("__join_at", "__leave_at")
    )


def durations_of(
    dataset: Dataset,
    units: nw.LazyFrame[Any],
    *,
    origin: Origin = "first_seen",
    churn_gap: int = 30,
    activity: str | Sequence[str] = DEFAULT_ACTIVITY,
) -> nw.LazyFrame[Any]:
    """``units`` (from :func:`units_of`, maybe filtered) with ``duration, event`` for ``origin`` (lazy).

    Parameters
    ----------
    dataset
        The data (``as_of`` = observation end, censoring time).
    units
        Units of ``origin`` (``user_id, first_seen_day``; ``assigned_day`` for
        ``experiment``) with any columns to carry.
    origin
        ``"first_seen"``, ``"first_order"``, ``"community_join"`` or ``"experiment"``
        (module docstring).
    churn_gap, activity
        Churn definition for ``first_seen`` and ``experiment`` (ignored otherwise).

    Returns
    -------
    narwhals.LazyFrame
        The units that have the origin event, with ``duration`` (Int64 days) and
        ``event`` (Int64 0/1). Not collected.

    Examples
    --------
    A buyer ordering on days 0 and 12: T = 12, observed.

    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> from insights.data._backend import collect
    >>> t0 = dt.datetime(2024, 1, 1)
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1], "first_seen_at": [t0]}),
    ...     orders=pl.DataFrame({"order_id": [1, 2], "user_id": [1, 1], "amount": [5.0, 5.0],
    ...                          "ordered_at": [t0, t0 + dt.timedelta(days=12)]}),
    ... )
    >>> out = durations_of(ds, units_of(ds), origin="first_order")
    >>> collect(out).select("duration", "event").row(0)
    (12, 1)
    """
    check_origin(origin)
    if origin == "first_seen":
        return first_seen_durations(dataset, units, churn_gap=churn_gap, activity=activity)
    if origin == "experiment":
        return experiment_durations(dataset, units, churn_gap=churn_gap, activity=activity)
    if origin == "first_order":
        return first_order_durations(dataset, units)
    return community_durations(dataset, units)
