"""Product-style cohort retention matrices with Wilson intervals and completeness flags.

Cohorts x periods since each entry's origin, as in PostHog, Amplitude and
Mixpanel, but with n, a 95% Wilson interval per cell, a ``complete`` flag on the
cells that are final (they keep their value when later data arrive), an n-weighted
mean row over final cells and small-cell suppression. ``docs/retention-definitions.md`` maps every product
definition onto the arguments and onto the Kaplan–Meier view of
``ins.retention_curves``.

Days are calendar days (``epoch_day``). Everything heavy runs in the data engine
(narwhals); one collect brings back counts per segment x cohort x period.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import narwhals as nw
import polars as pl

from insights._options import resolve_min_cell
from insights.data._cache import remembered
from insights.data.dataset import Dataset
from insights.metrics._periods import PeriodLike, WeekStart, check_week_start, parse_period
from insights.metrics._retention_cells import (
    DAYS,
    ORIGIN_TABLES,
    check_option,
    cohort_entries,
    entry_units,
    finish_cells,
    matrix_cells,
    matrix_counts,
    matrix_grid,
    matrix_people,
    parse_brackets,
    return_days,
    with_mean_row,
)
from insights.metrics._segments import Where
from insights.metrics.activity_days import as_of_day
from insights.stats.proportions import z_value

__all__ = ["retention_matrix", "MATRIX_COLUMNS"]

Kind = Literal["unbounded", "on", "bracket"]
CohortUnit = Literal["day", "week", "month", "quarter"]
Unit = Literal["day", "week", "month"]
Windows = Literal["rolling", "calendar", "24h"]
MatrixOrigin = Literal[
    "first_seen", "first_order", "first_view", "first_interaction", "community_join", "first_event"
]

#: Columns of a retention matrix (``segment`` is ``"all"`` when ``by`` is None).
MATRIX_COLUMNS = (
    "segment", "cohort", "cohort_start", "period", "value", "ci_low", "ci_high", "retained", "n",
    "complete", "suppressed", "day_from", "day_to",
)  # fmt: skip


def retention_matrix(
    dataset: Dataset,
    *,
    cohort_unit: CohortUnit = "month",
    unit: Unit = "month",
    kind: Kind = "unbounded",
    brackets: Sequence[tuple[int, int]] | None = None,
    activity: str | Sequence[str] = "any",
    origin: MatrixOrigin = "first_seen",
    recurring: bool = False,
    windows: Windows = "rolling",
    week_start: WeekStart = "monday",
    by: str | Sequence[str] | None = None,
    where: Where = None,
    period: PeriodLike | None = None,
    horizon: int | None = None,
    alpha: float = 0.05,
    min_cell: int | None = None,
) -> pl.DataFrame:
    """Cohort x period retention with Wilson intervals, completeness flags and a mean row.

    Each user enters a cohort at an *origin* (``origin``); a cell (cohort c, period
    k, counted in ``unit``s) counts the entries of c that *returned* (an event of
    ``activity``) in period k.

    ==========================  ===========================================  ==========================
    Product definition          insights arguments                           note
    ==========================  ===========================================  ==========================
    PostHog "on"                ``kind="on", windows="calendar"``            + ``week_start="sunday"``
    PostHog "on or after"       ``kind="unbounded", windows="calendar"``     PostHog's cumulative
    PostHog 24-hour windows     ``windows="24h"``                            one entry per person
    PostHog custom brackets     ``kind="bracket", brackets=[(1, 1), ...]``   calendar or 24h units
    PostHog first occurrence    ``recurring=False``, ``origin=...``          first ever, kept if in
                                                                             ``period``
    PostHog recurring           ``recurring=True`` with an event ``origin``  entry in every bucket
    Amplitude Return On         ``kind="on"`` (rolling)                      week 7 days, month 30
    Amplitude On or After       ``kind="unbounded"`` (rolling)
    Mixpanel First Time         ``recurring=False`` (default)                birth = ``origin``
    Mixpanel Recurring          ``recurring=True``                           API: ``compounded``
    Mixpanel On / On or After   ``kind="on"`` / ``"unbounded"``              On or After: default
    ==========================  ===========================================  ==========================

    ``docs/retention-definitions.md`` lists every condition for reproducing PostHog
    (``period`` = its date range, ``as_of`` = the end of its last interval, the data
    in the team's time zone, ``week_start``).

    Link to survival: ``kind="unbounded"`` at period N is the share whose *last*
    return is at period >= N, i.e. the empirical survival S(N) = P(T >= N) of T =
    last return time. With no censoring (every entry observed to the end of its
    activity) this equals the Kaplan–Meier S(N) of ``ins.retention_curves``
    when churn = "never returns" (a churn gap longer than any observed gap); with
    censoring only Kaplan–Meier is unbiased: the unbounded cells of young cohorts
    are low because later returns have not happened yet (hence ``complete``).

    Final cells. An "on or after" cell counts returns up to the matrix's last column:
    period ``horizon - 1`` (or the last bracket). It is ``complete`` (final) once that
    column has ended for every possible entry of the cohort. Without ``horizon`` the
    cells count returns up to ``as_of`` and are all provisional (``complete=False``):
    they grow as data arrive.

    Parameters
    ----------
    dataset
        The data (``as_of`` = observation end; nothing after it is used).
    cohort_unit
        Cohort bucket of the origin day: ``"day"``, ``"week"`` (see ``week_start``),
        ``"month"``, ``"quarter"``.
    unit
        Time unit of the columns: ``"day"``, ``"week"``, ``"month"``. ``windows="rolling"``:
        1, 7, 30 days counted from each entry's origin day (Amplitude, Mixpanel);
        ``"calendar"``: calendar units after the origin's unit (PostHog);
        ``"24h"``: PostHog's 24-hour windows.
    kind
        ``"on"``: returned in period k exactly; ``"unbounded"``: in period k or any
        later period up to the last column, ``horizon - 1`` ("on or after"; without
        ``horizon`` up to ``as_of``, and then provisional); ``"bracket"``: returned in
        bracket k.
    brackets
        Inclusive ranges ``(lo, hi)``, e.g. ``[(1, 7), (8, 30), (31, 90)]``: days since
        the origin with ``windows="rolling"``; whole ``unit``s (calendar units, or
        24-hour windows) with ``"calendar"`` and ``"24h"``. With ``kind="bracket"`` a
        cell counts returns in bracket k; with ``kind="unbounded"`` in bracket k or a
        later one (PostHog's cumulative brackets).
    activity
        What counts as a return: ``"any"`` (views, interactions, orders, and the first
        day), ``"order"`` (refunded orders left out), or table name(s) among
        ``views, interactions, orders, community``.
    origin
        What starts the clock: ``"first_seen"`` (acquisition), ``"first_order"``,
        ``"first_view"``, ``"first_interaction"``, ``"community_join"`` (first join) or
        ``"first_event"`` (the first return).
    recurring
        False: one entry per user at the first origin event. True: an entry for every
        cohort bucket with an origin event (from the first such day in the bucket);
        entries of one user are then not independent (the mean row's CI is optimistic).
        With ``windows="24h"`` every user enters once (PostHog's rule): True takes the
        first origin event inside ``period``, False the first one ever.
    windows
        ``"rolling"`` (periods of 1, 7, 30 days from each origin), ``"calendar"``
        (calendar days, weeks, months) or ``"24h"`` (PostHog's 24-hour windows:
        event times in whole hours; period k of a day column holds the hours
        ``24k .. 24k + 23`` after the origin hour, of a week or month column the
        calendar days ``7k .. 7k + 6`` or ``30k .. 30k + 29`` after the origin day).
    week_start
        First day of a calendar week: ``"monday"`` (ISO, the default) or ``"sunday"``
        (PostHog's default). Used wherever weeks are calendar buckets: weekly cohorts
        and ``windows="calendar"`` week columns.
    by, where
        Users column(s) to split by (one matrix per ``segment``; several columns are
        joined with " · ") and a filter on users columns.
    period
        Keep entries whose origin day falls in this calendar window (``2024``,
        ``"2024Q4"``, ``"2024-11"``, ``(start, end)``).
    horizon
        Number of columns 0 .. horizon-1 (in ``unit``s) to report (default: all
        observable). For ``kind="unbounded"`` also the end of "on or after": returns
        after column ``horizon - 1`` are not counted, which makes the cells final.
    alpha, min_cell
        1 - confidence level of the Wilson interval; cells with n < ``min_cell``, or
        whose retained users or those not retained number ``1 .. min_cell - 1`` (the
        rate would tell who they are), keep ``n`` and the flags but have ``value``, CI
        and ``retained`` set to null
        and ``suppressed = True`` (never dropped silently). ``min_cell`` defaults to
        ``ins.options`` (10 unless set).

    Returns
    -------
    polars.DataFrame
        ``segment, cohort, cohort_start, period, value, ci_low, ci_high, retained, n,
        complete, suppressed, day_from, day_to``: one row per segment x cohort x
        period k (``unit``s since the origin) that anyone in the cohort could have
        reached by ``as_of``; ``segment`` is ``"all"`` when ``by`` is None. ``value``
        = retained / n; ``n`` = entries in the cohort; ``complete`` = the cell is
        final: it will not change when ``as_of`` moves later (``"on"`` and brackets:
        period k has ended for every possible entry of the cohort, the bucket's last
        day + the period's last day <= as_of; ``"unbounded"``: the same for the last
        column ``horizon - 1`` or the last bracket, never without ``horizon``);
        ``day_from``/``day_to`` = the period's days after the origin (null for calendar
        and 24-hour units and unit brackets). Then per segment the rows ``cohort =
        "mean"`` (null cohort_start): retained and n summed over the *complete* cells
        of each period, i.e. the n-weighted mean, with its Wilson interval; a mean cell
        is complete when every cohort's cell of its period is. One collect.

    Raises
    ------
    ValueError
        For an unknown option, a missing ``by`` column, bad brackets, or when no
        user has the origin event on or before ``as_of``.

    Examples
    --------
    Users 1, 2 first seen 2024-01-01 (user 1 back on day 35), user 3 first seen 2024-02-01.

    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> d = dt.datetime
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2, 3],
    ...         "first_seen_at": [d(2024, 1, 1), d(2024, 1, 1), d(2024, 2, 1)]}),
    ...     views=pl.DataFrame({"user_id": [1], "started_at": [d(2024, 2, 5)], "watch_seconds": [60.0]}),
    ...     as_of="2024-03-31",
    ... )
    >>> m = ins.retention_matrix(ds, kind="on", min_cell=1)
    >>> m.select("cohort", "period", "value", "n", "complete").rows()[:3]
    [('2024-01', 0, 1.0, 2, True), ('2024-01', 1, 0.5, 2, True), ('2024-01', 2, 0.0, 2, False)]
    >>> m["segment"].unique().to_list()
    ['all']

    "On or after" up to a stated horizon (here 2 columns) is final once the last column
    has ended for the cohort's last user (Jan 31 + 59 days <= Mar 31):

    >>> u = ins.retention_matrix(ds, kind="unbounded", horizon=2, min_cell=1)
    >>> u.filter(pl.col("cohort") == "2024-01").select("period", "retained", "complete").rows()
    [(0, 2, True), (1, 1, True)]
    """
    check_option("cohort_unit", cohort_unit, ["day", "week", "month", "quarter"])
    check_option("unit", unit, list(DAYS))
    check_option("kind", kind, ["unbounded", "on", "bracket"])
    check_option("windows", windows, ["rolling", "calendar", "24h"])
    check_week_start(week_start)
    check_option("origin", origin, ["first_seen", "first_event", *ORIGIN_TABLES])
    z_value(alpha)
    min_cell = resolve_min_cell(min_cell)  # resolved before the cache: the key holds the value
    if horizon is not None and horizon < 1:
        raise ValueError(f"horizon must be >= 1 (number of {unit} columns), got {horizon}")
    if recurring and origin == "first_seen":
        raise ValueError(
            "recurring=True needs an event origin: origin='first_order', 'first_event', ..."
        )
    parse_brackets(kind, brackets, windows)  # checked here, at the user's call
    return _retention_matrix(
        dataset,
        cohort_unit=cohort_unit,
        unit=unit,
        kind=kind,
        brackets=brackets,
        activity=activity,
        origin=origin,
        recurring=recurring,
        windows=windows,
        week_start=week_start,
        by=by,
        where=where,
        period=period,
        horizon=horizon,
        alpha=alpha,
        min_cell=min_cell,
    )


@remembered
def _retention_matrix(
    dataset: Dataset,
    *,
    cohort_unit: CohortUnit,
    unit: Unit,
    kind: Kind,
    brackets: Sequence[tuple[int, int]] | None,
    activity: str | Sequence[str],
    origin: MatrixOrigin,
    recurring: bool,
    windows: Windows,
    week_start: WeekStart,
    by: str | Sequence[str] | None,
    where: Where,
    period: PeriodLike | None,
    horizon: int | None,
    alpha: float,
    min_cell: int,
) -> pl.DataFrame:
    """:func:`retention_matrix` once its arguments are checked (remembered: the cache key
    holds every argument, ``min_cell`` already resolved from ``ins.options``)."""
    spans = parse_brackets(kind, brackets, windows)  # None without brackets

    by_cols = [] if by is None else [by] if isinstance(by, str) else list(by)
    hourly = windows == "24h"
    span = None
    if period is not None:
        p = parse_period(period)
        span = (p.start_day, p.end_day)
    people = matrix_people(dataset, by_cols, where, hourly=hourly)
    returns = return_days(dataset, activity, people, hourly=hourly)
    entries = cohort_entries(dataset, people, returns, origin, recurring, cohort_unit,
                             windows=windows, span=span, week_start=week_start)  # fmt: skip
    if span is not None:
        entries = entries.filter((nw.col("start") >= span[0]) & (nw.col("start") <= span[1]))
    units = entry_units(entries, people)
    counts = matrix_counts(dataset, activity, units, kind, unit, windows, spans or [],
                           horizon=horizon, week_start=week_start)  # fmt: skip
    sizes = counts.filter(pl.col("period") == -1).select(
        "segment", "key", pl.col("count").alias("n")
    )
    if sizes.is_empty():
        raise ValueError(
            f"retention_matrix found no cohort entries: no user in scope has origin="
            f"{origin!r} on or before as_of {dataset.as_of:%Y-%m-%d}"
            + (f" within period {period!r}" if period is not None else "")
        )
    today = as_of_day(dataset)
    grid = matrix_grid(sizes, cohort_unit=cohort_unit, unit=unit, windows=windows,
                       brackets=spans, horizon=horizon, today=today, span=span, kind=kind,
                       week_start=week_start)  # fmt: skip
    cells = matrix_cells(grid, counts, kind, cohort_unit, week_start)
    out = finish_cells(with_mean_row(cells), alpha, min_cell)
    return out.select(*MATRIX_COLUMNS)
