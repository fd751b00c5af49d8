"""Survival retention of new users: the Kaplan–Meier curve and its headline points.

Population: users acquired in the period (``first_seen_at`` in it), observed up to
the dataset's ``as_of``. Lifetimes as in :mod:`insights.metrics.lifetimes` (churn =
``churn_gap`` days without activity; young users censored, never counted as
churned). S(t) = P(L >= t) is estimated by Kaplan–Meier on ``duration = L + event``
(lifelines' S(t) = P(T > t)), with Greenwood variance and log-log CI. DN retention
is S(N).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from insights.data.dataset import Dataset
from insights.metrics._periods import PeriodLike, parse_period
from insights.metrics._segments import Where
from insights.metrics.activity_days import DEFAULT_SOURCES
from insights.metrics.lifetimes import survival_counts
from insights.stats.km import kaplan_meier, survival_at

__all__ = ["retention_rates", "retention_curve"]


def retention_curve(
    dataset: Dataset,
    *,
    period: PeriodLike,
    by: str | None = None,
    where: Where = None,
    churn_gap: int = 30,
    alpha: float = 0.05,
    sources: Sequence[str] = DEFAULT_SOURCES,
) -> pl.DataFrame:
    """Kaplan–Meier retention curve of users acquired in ``period``, per segment.

    Parameters
    ----------
    dataset
        The data (``as_of`` = observation end).
    period
        Acquisition period (``2024``, ``"2024Q4"``, ``(start, end)``).
    by, where
        Segment column and filter on users columns.
    churn_gap
        Days without activity that make a churn (default 30).
    alpha
        1 - confidence level of the pointwise log-log CI.
    sources
        Activity tables (default views, interactions, orders; day 0 always counts).

    Returns
    -------
    polars.DataFrame
        ``segment, t, survival, ci_low, ci_high, at_risk, events, censored`` (see
        :func:`insights.stats.kaplan_meier`): ``survival`` at t is the share of the
        cohort still retained on day t, S(t) = P(L >= t). One collect (the counts).
    """
    counts = survival_counts(
        dataset, period=period, by=by, where=where, churn_gap=churn_gap, sources=sources
    )
    return kaplan_meier(counts, alpha=alpha)


def retention_rates(
    dataset: Dataset,
    *,
    period: PeriodLike,
    days: Sequence[int] = (7, 30, 60),
    by: str | None = None,
    where: Where = None,
    churn_gap: int = 30,
    alpha: float = 0.05,
    sources: Sequence[str] = DEFAULT_SOURCES,
) -> pl.DataFrame:
    """DN retention S(N) of users acquired in ``period`` for each N in ``days``.

    Parameters
    ----------
    dataset, period, by, where, churn_gap, alpha, sources
        As :func:`retention_curve`.
    days
        The days N (default 7, 30, 60).

    Returns
    -------
    polars.DataFrame
        ``metric`` (``"retention_d{N}"``), ``segment``, ``period`` (label),
        ``value`` = Kaplan–Meier S(N) = P(L >= N) (fraction), ``ci_low``/``ci_high``
        (log-log, Greenwood), ``n`` = users in the cohort, then ``day`` = N and
        ``at_risk`` = users still observed and retained at day N (0 means S(N) is
        carried from the last observed time). One row per N x segment, sorted by
        N then segment. One collect (the counts).

    Examples
    --------
    Three users acquired 2024-01-01, observed to 2024-03-31: user 1 active on days
    0 and 10 (churned after day 10: L = 10), user 2 active on day 0 only (L = 0),
    user 3 active on days 0, 20, 45 and 70 (L = 70, censored since 90 - 70 < 30).
    D7 = S(7) = 2/3 (only user 2 has L < 7); D30 = 1/3.

    >>> import datetime as dt, polars as pl
    >>> from insights.data import frames_dataset
    >>> t0 = dt.datetime(2024, 1, 1, 12)
    >>> ds = frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2, 3], "first_seen_at": [t0] * 3}),
    ...     views=pl.DataFrame({"user_id": [1, 3, 3, 3], "watch_seconds": [60.0] * 4,
    ...                         "started_at": [t0 + dt.timedelta(days=d) for d in (10, 20, 45, 70)]}),
    ...     as_of="2024-03-31",
    ... )
    >>> r = retention_rates(ds, period="2024Q1", days=(7, 30))
    >>> r.select("metric", "value", "n").rows()
    [('retention_d7', 0.6666666666666666, 3), ('retention_d30', 0.3333333333333333, 3)]
    """
    if not days:
        raise ValueError("days must name at least one day, e.g. days=(7, 30, 60)")
    label = parse_period(period).label
    counts = survival_counts(
        dataset, period=period, by=by, where=where, churn_gap=churn_gap, sources=sources
    )
    km = kaplan_meier(counts, alpha=alpha)
    points = survival_at(km, [int(d) for d in days])
    sizes = counts.group_by("segment").agg(pl.col("count").sum().cast(pl.Int64).alias("n"))
    out = points.join(sizes, on="segment", how="left")
    return out.select(
        pl.format("retention_d{}", pl.col("t")).alias("metric"),
        pl.col("segment").cast(pl.String),
        pl.lit(label, dtype=pl.String).alias("period"),
        pl.col("survival").cast(pl.Float64).alias("value"),
        pl.col("ci_low").cast(pl.Float64),
        pl.col("ci_high").cast(pl.Float64),
        pl.col("n").cast(pl.Int64),
        pl.col("t").cast(pl.Int64).alias("day"),
        pl.col("at_risk").cast(pl.Int64),
    ).sort("day", "segment")
