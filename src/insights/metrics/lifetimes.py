"""User lifetimes (churn after a gap of inactivity) and the survival counts built from them.

Definition (``docs/metrics.md``, agreed extension): with a user's sorted active day
indices d1 < ... < dk (day 0 included), the user churns after d_j when the next
``churn_gap`` days have no activity, i.e. d_{j+1} - d_j > churn_gap; then the
lifetime is L = d_j (the first such j) and ``event = 1``. Without such a gap,
L = d_k with ``event = 1`` when as_of_day - d_k >= churn_gap (the gap is fully
observed), otherwise the user is right-censored at L = d_k (``event = 0``).

For Kaplan–Meier the fitted time is ``duration = L + 1`` for events, so that
lifelines' S(t) = P(T > t) equals P(L >= t): the share still retained on day t.

Censoring time. A churn on day j is only confirmed once days j+1 .. j+churn_gap
have been observed, i.e. for j <= C = as_of_day - first_seen_day - churn_gap.
Every censored user has d_k > C, so we know L > C, and the censored
``duration = C + 1`` (never negative). Censoring at the last active day d_k
instead (the literal reading of ``docs/metrics.md``) is *informative*: the users who
churned during the last ``churn_gap`` days before as_of are exactly those censored
at their churn day, so Kaplan–Meier never sees an event in that window and S(t) is
biased upwards (measured on the simulator: D30 of the 2024 cohort +2.8 pp against
the known truth). Censoring at C + 1 uses only information that can be confirmed.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import narwhals as nw
import polars as pl

from insights.data._backend import (
    _DAY_SPAN,
    backend_name,
    collect,
    gap_summary,
    materialize_parts,
    reuse,
    row_index,
)
from insights.data.dataset import Dataset, churn_gap_of, warn_empty
from insights.metrics._periods import PeriodLike, parse_period
from insights.metrics._segments import Where, acquired_users
from insights.metrics.activity_days import (
    DEFAULT_ACTIVITY,
    active_user_days,
    as_of_day,
    sorted_day_offsets,
)

__all__ = [
    "user_lifetimes",
]


def lifetimes_of(
    dataset: Dataset,
    users: nw.LazyFrame[Any],
    *,
    churn_gap: int | None = None,
    activity: str | Sequence[str] = DEFAULT_ACTIVITY,
) -> nw.LazyFrame[Any]:
    """Lifetimes of the given users (lazy); ``users`` needs ``user_id, first_seen_day``.

    Every other column of ``users`` (e.g. ``segment``) is carried through. Output
    columns: those of ``users`` plus ``last_active_day, L, event, duration`` (see
    :func:`user_lifetimes`); ``first_seen_day`` comes back as Int64.

    A unit is a pair ``(user_id, first_seen_day)``: ``first_seen_day`` may be any
    origin day (e.g. an experiment assignment, see ``insights.metrics.durations``),
    and one user may appear with several origins; day indices, gaps and censoring
    are then counted from each origin, and activity before it counts on day 0.
    ``churn_gap=None`` takes the dataset's (``Dataset.churn_gap``), else 30 days.
    """
    churn_gap = churn_gap_of(dataset, churn_gap)
    if (
        isinstance(churn_gap, bool)
        or not isinstance(churn_gap, numbers.Real)
        or churn_gap != int(churn_gap)
        or churn_gap < 1
    ):
        raise ValueError(f"churn_gap must be a whole number of days >= 1, got {churn_gap!r}")
    churn_gap = int(churn_gap)
    users = users.with_columns(nw.col("first_seen_day").cast(nw.Int64))
    keys = ["user_id", "first_seen_day"]
    fast = None
    if backend_name(users) in ("polars", "duckdb"):
        if backend_name(users) == "polars":  # collected once: read by the offsets and the join
            users = reuse(users)
        fast = sorted_day_offsets(dataset, users.select(*keys), activity=activity, span=_DAY_SPAN)
    if fast is not None:  # the shared days after each origin (Polars: in user x day order)
        parts, lo = fast
        summaries = [  # every unit's days are in one part: a summary per part
            gap_summary(packed, unit="__i", day=None, gap=churn_gap, presorted=True, origin=True)
            for packed in parts
        ]
        summary = materialize_parts(summaries) if len(summaries) > 1 else summaries[0]
        at = (nw.col("user_id").cast(nw.Int64) - lo).alias("__i")
        # a user without a later day has no summary row: active on day 0 only
        joined = (
            users.with_columns(at)
            .join(summary, on="__i", how="left")
            .drop("__i")
            .with_columns(nw.col("__last").fill_null(0))
        )
    else:
        # A dense integer per unit lets the engine sort one packed key (see gap_summary).
        # read three times below (the days, their summary, the users): computed once (reuse)
        units = reuse(row_index(users.select(*keys).unique(), "__unit", order_by=keys))
        days = active_user_days(
            dataset, activity=activity, users=units, distinct=False, carry=["__unit"]
        ).select("__unit", (nw.col("day") - nw.col("first_seen_day")).alias("day"))
        per_user = gap_summary(days, unit="__unit", day="day", gap=churn_gap).join(
            units, on="__unit", how="inner"
        )
        joined = users.join(per_user.drop("__unit"), on=keys, how="inner")
    horizon = nw.lit(as_of_day(dataset)) - nw.col("first_seen_day") - nw.col("__last")
    out = joined.with_columns(
        nw.when(~nw.col("__churn").is_null())
        .then(nw.lit(1))
        .when(horizon >= churn_gap)
        .then(nw.lit(1))
        .otherwise(nw.lit(0))
        .cast(nw.Int64)
        .alias("event"),
        nw.when(~nw.col("__churn").is_null())
        .then(nw.col("__churn"))
        .otherwise(nw.col("__last"))
        .cast(nw.Int64)
        .alias("L"),
        (nw.col("first_seen_day") + nw.col("__last")).cast(nw.Int64).alias("last_active_day"),
    ).with_columns(
        nw.when(nw.col("event") == 1)
        .then(nw.col("L") + 1)
        .otherwise(
            nw.max_horizontal(
                nw.lit(as_of_day(dataset)) - nw.col("first_seen_day") - churn_gap + 1, nw.lit(0)
            )
        )
        .cast(nw.Int64)
        .alias("duration")
    )
    return out.drop("__churn", "__last")


def user_lifetimes(
    dataset: Dataset,
    *,
    period: PeriodLike | None = None,
    by: str | None = None,
    where: Where = None,
    churn_gap: int | None = None,
    activity: str | Sequence[str] = DEFAULT_ACTIVITY,
) -> nw.LazyFrame[Any]:
    """One row per user: ``user_id, segment, first_seen_day, last_active_day, L, event, duration`` (lazy).

    Parameters
    ----------
    dataset
        The data (``as_of`` is the observation end).
    period
        Keep users acquired in this period (``first_seen_at`` in it); None = all users.
        Users not acquired in the data (``acquired_in_data`` false: first seen before
        ``export_start``) are never in: their first day in the data is not their
        acquisition.
    by, where
        Users column giving ``segment`` (``"all"`` when None) and a filter on users
        columns.
    churn_gap
        Days without activity that make a churn (default: the dataset's
        ``churn_gap``, else 30).
    activity
        Activity tables (default views, interactions, orders; day 0 always counts).

    Returns
    -------
    narwhals.LazyFrame
        ``first_seen_day`` and ``last_active_day`` in days since 1970-01-01 (the
        latter = first_seen_day + d_k, the last activity on or before ``as_of``);
        ``L`` = lifetime in day indices (see the module docstring), ``event`` = 1
        when churn is observed, 0 when censored; ``duration`` = L + 1 for churned
        users and as_of_day - first_seen_day - churn_gap + 1 (>= 0) for censored
        ones (the Kaplan–Meier time; see the module docstring). Not collected.

    Examples
    --------
    Active on days 0, 3 and 40 (gap 37 > 30 after day 3): L = 3, churned.

    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> t0 = dt.datetime(2024, 1, 1)
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1], "first_seen_at": [t0]}),
    ...     views=pl.DataFrame({"user_id": [1, 1], "watch_seconds": [9.0, 9.0],
    ...                         "started_at": [t0 + dt.timedelta(days=3), t0 + dt.timedelta(days=40)]}),
    ... )
    >>> ins.user_lifetimes(ds).collect().select("segment", "L", "event", "duration").row(0)
    ('all', 3, 1, 4)
    """
    people = _people(dataset, period=period, by=by, where=where)
    lt = lifetimes_of(dataset, people, churn_gap=churn_gap, activity=activity)
    return lt.select(
        "user_id",
        "segment",
        nw.col("first_seen_day").cast(nw.Int64),
        "last_active_day",
        "L",
        "event",
        "duration",
    )


def _people(
    dataset: Dataset, *, period: PeriodLike | None, by: str | None, where: Where
) -> nw.LazyFrame[Any]:
    """``user_id, first_seen_day, segment`` of the users in scope, acquired in the data (lazy)."""
    people = acquired_users(dataset, by=by, where=where)
    if period is not None:
        p = parse_period(period)
        people = people.filter(
            (nw.col("first_seen_day") >= p.start_day) & (nw.col("first_seen_day") <= p.end_day)
        )
    return people.select("user_id", "first_seen_day", "segment")


def _survival_counts(
    dataset: Dataset,
    *,
    period: PeriodLike | None = None,
    by: str | None = None,
    where: Where = None,
    churn_gap: int | None = None,
    activity: str | Sequence[str] = DEFAULT_ACTIVITY,
) -> pl.DataFrame:
    """Aggregated lifetimes ``segment, duration, event, count`` ready for Kaplan–Meier (internal).

    The counts builder behind :func:`insights.metrics.retention.retention_rates`;
    users call ``ins.retention_curves``, whose ``counts`` hold the same numbers.

    Parameters
    ----------
    dataset
        The data.
    period, by, where, churn_gap, activity
        As :func:`user_lifetimes`.

    Returns
    -------
    polars.DataFrame
        One row per segment x duration x event with the number of users, sorted.
        This function collects once (only these counts leave the engine).
    """
    people = _people(dataset, period=period, by=by, where=where)
    lt = lifetimes_of(dataset, people, churn_gap=churn_gap, activity=activity)
    counts = lt.group_by("segment", "duration", "event").agg(nw.len().alias("count"))
    out = (
        collect(counts)
        .with_columns(
            pl.col("segment").cast(pl.String),
            pl.col("duration").cast(pl.Int64),
            pl.col("event").cast(pl.Int64),
            pl.col("count").cast(pl.Int64),
        )
        .sort("segment", "duration", "event")
    )
    if out.height == 0 and period is not None:  # the survival metrics' one population builder
        warn_empty("retention", [parse_period(period).label])
    return out
