"""Survival retention: Kaplan–Meier curves by segment and their headline points.

:func:`retention_curves` is the one survival path (any origin, several by-columns,
left truncation, case weights; medians and RMST); :func:`retention_rates` reads the
DN points of the acquisition cohort's curve, as the KPI scorecard reports them.

Population: users acquired in the period (``first_seen_at`` in it), observed up to
the dataset's ``as_of``. Lifetimes as in :mod:`insights.metrics.lifetimes` (churn =
``churn_gap`` days without activity; young users censored, never counted as
churned). S(t) = P(L >= t) is estimated by Kaplan–Meier on ``duration = L + event``
(lifelines' S(t) = P(T > t)), with Greenwood variance and log-log CI. DN retention
is S(N).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import narwhals as nw
import polars as pl

from insights.data._backend import collect
from insights.data._cache import remembered
from insights.data.dataset import Dataset, churn_gap_of
from insights.metrics._common import mark_observed
from insights.metrics._periods import PeriodLike, parse_period
from insights.metrics._segments import Where, where_expr
from insights.metrics.activity_days import DEFAULT_ACTIVITY
from insights.metrics.durations import (
    Origin,
    by_columns,
    check_columns,
    check_origin,
    durations_of,
    unit_columns,
    units_of,
)
from insights.metrics.lifetimes import _survival_counts
from insights.stats.curves import SurvivalCurves, survival_curves
from insights.stats.km import kaplan_meier, survival_at

__all__ = ["retention_rates", "retention_curves"]


class NoEventsError(ValueError):
    """Every unit is censored: no event is observed by ``as_of``, so every curve stays at 1.

    A ``ValueError``; a chapter section (``insights.report.context.Section``) shows it as
    a sentence instead of failing.
    """


_CHURN_ORIGINS = ("first_seen", "experiment")
_WHAT_ENDS = {
    "first_seen": "churn",
    "experiment": "churn",
    "first_order": "second order",
    "community_join": "community leave",
}


def retention_rates(
    dataset: Dataset,
    *,
    period: PeriodLike,
    timeline: Sequence[int] = (7, 30, 60),
    by: str | None = None,
    where: Where = None,
    churn_gap: int | None = None,
    alpha: float = 0.05,
    activity: str | Sequence[str] = DEFAULT_ACTIVITY,
) -> pl.DataFrame:
    """DN retention S(N) of users acquired in ``period`` for each day N of ``timeline``.

    The points of :func:`retention_curves` (``origin="first_seen"``) for the users
    acquired in ``period``, as headline rows.

    Parameters
    ----------
    dataset
        The data (``as_of`` = observation end).
    period
        Acquisition period (``2024``, ``"2024Q4"``, ``"2024-11"``, ``(start, end)``).
    timeline
        The days N (default 7, 30, 60).
    by, where
        Users column giving ``segment`` (``"all"`` when None) and a filter on users
        columns.
    churn_gap
        Days without activity that make a churn (default: ``dataset.churn_gap``, else 30).
    alpha
        1 - confidence level of the pointwise log-log CI.
    activity
        Activity tables (default views, interactions, orders; day 0 always counts).

    Returns
    -------
    polars.DataFrame
        ``metric`` (``"retention_d{N}"``), ``segment``, ``period`` (label),
        ``value`` = Kaplan–Meier S(N) = P(L >= N) (fraction), ``ci_low``/``ci_high``
        (log-log, Greenwood), ``n`` = users in the cohort, then ``day`` = N and
        ``at_risk`` = users still observed and retained at day N (0 means S(N) is
        carried from the last observed time). One row per N x segment, sorted by
        N then segment, then ``status``: ``"not_observed"`` when nobody is at risk
        at day N and some user of the segment was censored before N (no user was
        observed through day N, so S(N) would only be carried from the last observed
        time): ``value`` and the CI are then null. When every user's churn is observed
        before N, S(N) = 0 is known and kept (``"observed"``). One collect (the counts).

    Examples
    --------
    Three users acquired 2024-01-01, observed to 2024-03-31: user 1 active on days
    0 and 10 (churned after day 10: L = 10), user 2 active on day 0 only (L = 0),
    user 3 active on days 0, 20, 45 and 70 (L = 70, censored since 90 - 70 < 30).
    D7 = S(7) = 2/3 (only user 2 has L < 7); D30 = 1/3.

    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> t0 = dt.datetime(2024, 1, 1, 12)
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2, 3], "first_seen_at": [t0] * 3}),
    ...     views=pl.DataFrame({"user_id": [1, 3, 3, 3], "watch_seconds": [60.0] * 4,
    ...                         "started_at": [t0 + dt.timedelta(days=d) for d in (10, 20, 45, 70)]}),
    ...     as_of="2024-03-31",
    ... )
    >>> r = ins.retention_rates(ds, period="2024Q1", timeline=(7, 30))
    >>> r.select("metric", "value", "n").rows()
    [('retention_d7', 0.6666666666666666, 3), ('retention_d30', 0.3333333333333333, 3)]

    Nobody is followed to day 80 (user 3 is censored at T = 61):

    >>> ins.retention_rates(ds, period="2024Q1", timeline=(80,)).select("value", "at_risk", "status").row(0)
    (None, 0, 'not_observed')
    """
    if not timeline:
        raise ValueError("timeline must name at least one day, e.g. timeline=(7, 30, 60)")
    label = parse_period(period).label
    counts = _survival_counts(
        dataset, period=period, by=by, where=where, churn_gap=churn_gap_of(dataset, churn_gap),
        activity=activity,
    )  # fmt: skip
    km = kaplan_meier(counts, alpha=alpha)
    points = survival_at(km, t=[int(d) for d in timeline])
    sizes = counts.group_by("segment").agg(pl.col("count").sum().cast(pl.Int64).alias("n"))
    out = points.join(sizes, on="segment", how="left")
    out = _with_early_censored(out, counts).select(
        pl.format("retention_d{}", pl.col("t")).alias("metric"),
        pl.col("segment").cast(pl.String),
        pl.lit(label, dtype=pl.String).alias("period"),
        pl.col("survival").cast(pl.Float64).alias("value"),
        pl.col("ci_low").cast(pl.Float64),
        pl.col("ci_high").cast(pl.Float64),
        pl.col("n").cast(pl.Int64),
        pl.col("t").cast(pl.Int64).alias("day"),
        pl.col("at_risk").cast(pl.Int64),
        pl.col("censored_before"),
    )
    return mark_observed(out, _observed_through()).drop("censored_before").sort("day", "segment")


def _with_early_censored(points: pl.DataFrame, counts: pl.DataFrame) -> pl.DataFrame:
    """``points`` (``segment, t, ...``) with ``censored_before``: units censored before t."""
    censored = counts.filter(pl.col("event") == 0).select("segment", "duration", "count")
    early = (
        points.select("segment", "t")
        .join(censored, on="segment", how="inner")
        .filter(pl.col("duration") < pl.col("t"))
        .group_by("segment", "t")
        .agg(pl.col("count").sum().alias("censored_before"))
    )
    return points.join(early, on=["segment", "t"], how="left")


def _observed_through() -> pl.Expr:
    """Some unit of the segment is observed through day ``t``.

    True when units are still at risk at t, or when no unit was censored before t
    (then every unit's churn is seen before t and S(t) is known, possibly 0).
    """
    return (pl.col("at_risk") > 0) | (pl.col("censored_before").fill_null(0.0) <= 0)


@remembered
def retention_curves(
    dataset: Dataset,
    *,
    by: str | Sequence[str] | None = None,
    churn_gap: int | None = None,
    as_of: dt.datetime | dt.date | str | None = None,
    origin: Origin = "first_seen",
    alpha: float = 0.05,
    timeline: Sequence[float] | None = None,
    tau: float | None = None,
    where: Where = None,
    period: PeriodLike | None = None,
    entry: str | None = None,
    weights: str | None = None,
    activity: str | Sequence[str] = DEFAULT_ACTIVITY,
) -> SurvivalCurves:
    """Kaplan–Meier survival curves by segment, with medians and RMST, in one call.

    Per-unit durations are built lazily in the data engine
    (:mod:`insights.metrics.durations`), aggregated there to one row per segment x
    entry x duration x event, and only those counts are collected (once) and
    fitted with weights, which gives exactly the fit on the per-unit rows: 10M
    users cost what the number of distinct durations costs. This is the one survival
    path of the package: every retention curve, median and RMST comes from here.

    Parameters
    ----------
    dataset
        The data.
    by
        None (one curve, segment ``"all"``), a column or a list of columns of the
        users table (for ``origin="experiment"`` also of the experiments table, e.g.
        ``["experiment", "arm"]``). Values are compared as strings, nulls become
        ``"unknown"``; several columns give segments labelled ``"a · b"``.
    churn_gap
        Days without activity that make a churn (``first_seen``, ``experiment``;
        not used by the other origins). Default: ``dataset.churn_gap``, else 30.
    as_of
        Observation end; overrides ``dataset.as_of`` (a date means the end of the day).
    origin
        What starts the clock, and so what T measures (S(t) = P(T > t) throughout):
        ``"first_seen"`` churn lifetime from acquisition (default; censoring as in
        :mod:`insights.metrics.lifetimes`), ``"first_order"`` days from the first paid
        order to the second (buyers only), ``"community_join"`` days from the first
        community join to leaving (joiners only), ``"experiment"`` churn lifetime from
        the assignment day (one unit per experiments row).
    alpha
        1 - confidence level (pointwise log-log CI, median CI, RMST CI).
    timeline
        Times at which ``table`` is reported (default every time of the fit).
    tau
        RMST horizon in days. Default: min(90, the largest t at which every segment
        still has at least 10 units at risk), so the area is never extrapolated past
        a thin tail (``docs/metrics.md``'s 90 days when the data allow).
    where
        Filter on unit columns (users; for ``experiment`` also experiments columns),
        as ``{column: value | [values]}`` or a narwhals expression.
    period
        Keep users acquired in this period (``first_seen_at`` in it).
    entry
        Column of left-truncation times (integer days on the T scale; null = 0): a
        unit with entry e is at risk at t when e < t <= T (R's ``Surv(start, stop)``,
        one risk set for S, ``at_risk``, Greenwood, RMST, log-rank and Cox); entry 0
        means followed from the origin, day 0 included. A unit entering and ending on
        the same day (0 < entry = T) is refused.
    weights
        Column of non-negative frequency weights (numbers of units; null = 0), summed
        into ``count``: rescaling them changes the intervals. For sampling weights,
        compare curves with ``weights_kind="sampling"`` (:func:`insights.stats.logrank_test`,
        :func:`insights.stats.cox_hazard_ratios`).
    activity
        Activity tables for the churn definition (default views, interactions, orders).

    Returns
    -------
    SurvivalCurves
        ``table`` (``segment, <by>, t, survival, ci_low, ci_high, at_risk, events,
        censored``), ``summary`` (n, events, censored, Brookmeyer–Crowley median with
        CI, ``tau``, RMST with Greenwood-type SE and CI), ``counts`` (``segment, <by>,
        entry, duration, event, count``), and the settings used. One collect (the
        counts).

    Raises
    ------
    ValueError
        With the argument to change: unknown ``by``/``entry``/``weights`` column or
        ``origin``, ``churn_gap`` < 1, no units in scope (e.g. ``as_of`` before all
        data), all units censored, entry after duration, negative weights.

    Examples
    --------
    Three users first seen 2024-01-01, observed to 2024-03-31 (churn_gap 30): user 1
    churns after day 10 (T = 11), user 2 after day 0 (T = 1), user 3 is censored
    (T = 90 - 30 + 1 = 61). S(7) = 2/3, S(30) = 1/3.

    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> t0 = dt.datetime(2024, 1, 1, 12)
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2, 3], "first_seen_at": [t0] * 3}),
    ...     views=pl.DataFrame({"user_id": [1, 3, 3, 3], "watch_seconds": [60.0] * 4,
    ...                         "started_at": [t0 + dt.timedelta(days=d) for d in (10, 20, 45, 70)]}),
    ...     as_of="2024-03-31",
    ... )
    >>> curves = ins.retention_curves(ds)
    >>> curves.at([7, 30]).select("t", "survival").rows()
    [(7, 0.6666666666666666), (30, 0.3333333333333333)]
    >>> curves.summary.select("n", "events", "median").row(0)
    (3, 2, 11.0)
    """
    check_origin(origin)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1 (0.05 for 95% intervals), got {alpha!r}")
    churn = origin in _CHURN_ORIGINS
    churn_gap = churn_gap_of(dataset, churn_gap)
    if churn and (
        isinstance(churn_gap, bool) or not isinstance(churn_gap, int | float) or churn_gap < 1
        or churn_gap != int(churn_gap)
    ):  # fmt: skip
        raise ValueError(
            f"churn_gap must be a whole number of days >= 1 (default 30), got {churn_gap!r}"
        )
    ds = dataset if as_of is None else dataset.with_as_of(as_of)
    by_cols = by_columns(by)
    available = unit_columns(ds, origin=origin)
    check_columns(available, by=by_cols, entry=entry, weights=weights, where=where)

    units = units_of(ds, origin=origin)
    cond = where_expr(where)
    if cond is not None:
        units = units.filter(cond)
    if period is not None:
        p = parse_period(period)
        units = units.filter(
            (nw.col("first_seen_day") >= p.start_day) & (nw.col("first_seen_day") <= p.end_day)
        )
    schema = units.collect_schema()
    if entry is not None and not schema[entry].is_integer():
        raise ValueError(
            f"entry column {entry!r} must hold whole days (an integer type), got {schema[entry]}"
        )
    keep = ["user_id", "first_seen_day"] + (["assigned_day"] if origin == "experiment" else [])
    units = units.select(
        *keep,
        *[nw.col(c).cast(nw.String).fill_null("unknown").alias(c) for c in by_cols],
        (nw.col(entry).cast(nw.Int64).fill_null(0) if entry else nw.lit(0, nw.Int64)).alias(
            "entry"
        ),
        (nw.col(weights).cast(nw.Float64).fill_null(0.0) if weights else nw.lit(1.0)).alias("__w"),
    )
    lives = durations_of(
        ds, units, origin=origin, churn_gap=int(churn_gap) if churn else 30, activity=activity
    )
    agg = nw.col("__w").sum() if weights else nw.len()
    counts = collect(lives.group_by(*by_cols, "entry", "duration", "event").agg(agg.alias("count")))
    counts = _tidy_counts(counts, by_cols)
    _check_counts(counts, ds, origin=origin, churn=churn, entry=entry, weights=weights)
    return survival_curves(
        counts,
        by=by_cols,
        alpha=alpha,
        timeline=timeline,
        tau=tau,
        origin=origin,
        churn_gap=int(churn_gap) if churn else None,
        as_of=ds.as_of,
    )


def _tidy_counts(counts: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    segment = (
        pl.lit("all", dtype=pl.String)
        if not by
        else pl.concat_str([pl.col(c) for c in by], separator=" · ")
    )
    return counts.select(
        segment.alias("segment"),
        *[pl.col(c).cast(pl.String) for c in by],
        pl.col("entry").cast(pl.Int64),
        pl.col("duration").cast(pl.Int64),
        pl.col("event").cast(pl.Int64),
        pl.col("count").cast(pl.Float64),
    ).sort("segment", "entry", "duration", "event")


def _check_counts(
    counts: pl.DataFrame,
    ds: Dataset,
    *,
    origin: str,
    churn: bool,
    entry: str | None,
    weights: str | None,
) -> None:
    when = f"{ds.as_of:%Y-%m-%d}"
    if weights is not None and (counts["count"] < 0).any():
        raise ValueError(
            f"weights column {weights!r} has negative values; case weights must be >= 0"
        )
    if counts.is_empty() or counts["count"].sum() <= 0:
        first: Any = collect(ds.raw("users").select(nw.col("first_seen_at").min())).item()
        if first is not None and first > ds.as_of:
            raise ValueError(
                f"as_of {when} is before the first user is seen ({first:%Y-%m-%d}); choose a later as_of"
            )
        raise ValueError(
            f"no units to follow from origin={origin!r} up to as_of {when}: check where=, period=, "
            "as_of= (and weights=) or choose another origin"
        )
    totals = counts.group_by("segment").agg(pl.col("count").sum())
    empty = totals.filter(pl.col("count") <= 0)["segment"].to_list()
    if empty:
        raise ValueError(f"segments {sorted(empty)} have zero total weight; drop them with where=")
    late = counts.filter(pl.col("entry") > pl.col("duration"))
    if late.height:
        raise ValueError(
            f"entry: {late['count'].sum():g} units enter after their duration ends (entry > T); "
            f"they are never at risk: fix column {entry!r} or filter them out with where="
        )
    same = counts.filter((pl.col("entry") > 0) & (pl.col("entry") == pl.col("duration")))
    if same.height:
        raise ValueError(
            f"entry: {same['count'].sum():g} units enter on the day their duration ends "
            f"(0 < entry = T); at risk on (entry, T] they are never at risk: fix column "
            f"{entry!r} (e.g. entry - 1 if they were seen that day) or filter them out with where="
        )
    if (counts["event"] * counts["count"]).sum() <= 0:
        fix = "a later as_of= or a smaller churn_gap=" if churn else "a later as_of="
        raise NoEventsError(
            f"all {counts['count'].sum():g} units are censored: no {_WHAT_ENDS[origin]} is observed "
            f"by as_of {when}, so every curve stays at 1; choose {fix}"
        )
