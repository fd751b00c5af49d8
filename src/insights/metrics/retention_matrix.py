"""Product-style cohort retention matrices with Wilson intervals and completeness flags.

Cohorts x periods since the cohort's start event, as in PostHog, Amplitude and
Mixpanel, but with n, a 95% Wilson interval per cell, an explicit flag on cells
that are not yet fully observable, an n-weighted mean row over complete cells and
small-cell suppression. ``docs/retention-definitions.md`` maps every product
definition onto the arguments and onto the Kaplan–Meier view of
:mod:`insights.metrics.retention`.

Days are calendar days (``epoch_day``). Everything heavy runs in the data engine
(narwhals); one collect brings back counts per group x cohort x period.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import narwhals as nw
import polars as pl

from insights.data._cache import remembered
from insights.data.dataset import Dataset
from insights.metrics._periods import PeriodLike, parse_period
from insights.metrics._retention_cells import (
    DAYS,
    START_TABLES,
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
PeriodUnit = Literal["day", "week", "month"]
Windows = Literal["rolling", "calendar"]
CohortEvent = Literal[
    "first_seen", "first_order", "first_view", "first_interaction", "first_join", "first_event"
]

#: Columns of a retention matrix (``group`` first when ``by`` is given).
MATRIX_COLUMNS = (
    "cohort", "cohort_start", "period", "rate", "ci_low", "ci_high", "retained", "n",
    "complete", "suppressed", "day_from", "day_to",
)  # fmt: skip


@remembered
def retention_matrix(
    dataset: Dataset,
    *,
    cohort: CohortUnit = "month",
    period: PeriodUnit = "month",
    kind: Kind = "unbounded",
    brackets: Sequence[tuple[int, int]] | None = None,
    event: str | Sequence[str] = "any",
    cohort_event: CohortEvent = "first_seen",
    recurring: bool = False,
    windows: Windows = "rolling",
    by: str | Sequence[str] | None = None,
    where: Where = None,
    cohort_period: PeriodLike | None = None,
    periods: int | None = None,
    alpha: float = 0.05,
    min_cell: int = 10,
) -> pl.DataFrame:
    """Cohort x period retention with Wilson intervals, completeness flags and a mean row.

    Each user enters a cohort at a *start* (``cohort_event``); a cell (cohort c,
    period k) counts the entries of c that did the *return* ``event`` in period k.

    =========================  ====================================  ===============================
    Product definition         insights arguments                    note
    =========================  ====================================  ===============================
    PostHog "on"               ``kind="on", windows="calendar"``     calendar intervals
    PostHog "on or after"      ``kind="unbounded"`` (calendar)       PostHog's cumulative option
    PostHog 24-hour windows    ``windows="rolling"``                 days are calendar days
    PostHog/Amplitude brackets ``kind="bracket", brackets=[...]``    days since the start
    PostHog first occurrence   ``cohort_event="first_event"``        or ``"first_order"`` etc.
    PostHog recurring          ``recurring=True``                    entry in every bucket
    Amplitude Return On        ``kind="on"`` (rolling)               week 7 days, month 30 days
    Amplitude On or After      ``kind="unbounded"`` (rolling)
    Mixpanel First Time        ``recurring=False`` (default)         birth = ``cohort_event``
    Mixpanel Recurring         ``recurring=True``                    API: ``compounded``
    Mixpanel On / On or After  ``kind="on"`` / ``"unbounded"``       On or After is the default
    =========================  ====================================  ===============================

    Link to survival: ``kind="unbounded"`` at period N is the share whose *last*
    return is at period >= N, i.e. the empirical survival S(N) = P(T >= N) of T =
    last return time. With no censoring (every entry observed to the end of its
    activity) this equals the Kaplan–Meier S(N) of :func:`insights.metrics.retention_curve`
    when churn = "never returns" (a churn gap longer than any observed gap); with
    censoring only Kaplan–Meier is unbiased: the unbounded cells of young cohorts
    are low because later returns have not happened yet (hence ``complete``).

    Parameters
    ----------
    dataset
        The data (``as_of`` = observation end; nothing after it is used).
    cohort
        Cohort bucket of the start day: ``"day"``, ``"week"`` (ISO, Monday), ``"month"``, ``"quarter"``.
    period
        Period unit: ``"day"``, ``"week"``, ``"month"``. ``windows="rolling"``: 1, 7, 30
        days counted from each entry's start day (Amplitude, Mixpanel); ``"calendar"``:
        calendar periods after the start's period (PostHog).
    kind
        ``"on"``: returned in period k exactly; ``"unbounded"``: in period k or any
        later observed period ("on or after"); ``"bracket"``: returned on a day
        ``lo <= day - start <= hi`` of bracket k.
    brackets
        For ``kind="bracket"``: inclusive day ranges, e.g. ``[(1, 7), (8, 30), (31, 90)]``.
    event
        Return event: ``"any"`` (activity: views, interactions, orders, and the first
        day), ``"order"`` (refunded orders left out), or table name(s) among
        ``views, interactions, orders, community``.
    cohort_event
        Start: ``"first_seen"`` (acquisition), first order / view / interaction /
        community join, or ``"first_event"`` (first return event).
    recurring
        False: one entry per user at the first start event. True: an entry for every
        cohort bucket with a start event (from the first such day in the bucket);
        entries of one user are then not independent (the mean row's CI is optimistic).
    by, where
        Users column(s) to split by (one matrix per ``group``; several columns are
        joined with " · ") and a filter on users columns.
    cohort_period
        Keep entries whose start day falls in this period (``2024``, ``"2024Q4"``, ...).
    periods
        Number of periods 0 .. periods-1 to report (default: all observable).
    alpha, min_cell
        1 - confidence level of the Wilson interval; cells with n < ``min_cell``
        keep ``n`` and the flags but have ``rate``, CI and ``retained`` set to null
        and ``suppressed = True`` (never dropped silently).

    Returns
    -------
    polars.DataFrame
        ``[group,] cohort, cohort_start, period, rate, ci_low, ci_high, retained, n,
        complete, suppressed, day_from, day_to``: one row per group x cohort x period
        that anyone in the cohort could have reached by ``as_of``. ``n`` = entries in
        the cohort; ``complete`` = period k is fully observed for every possible entry
        of the cohort (the bucket's last day + the period's last day <= as_of);
        ``day_from``/``day_to`` = the period's days after the start (null for
        calendar windows). Then per group the rows ``cohort = "mean"`` (null
        cohort_start): retained and n summed over the *complete* cells of each
        period, i.e. the n-weighted mean rate, with its Wilson interval. One collect.

    Raises
    ------
    ValueError
        For an unknown option, a missing ``by`` column, bad brackets, or when no
        user has the start event on or before ``as_of``.

    Examples
    --------
    Users 1, 2 first seen 2024-01-01 (user 1 back on day 35), user 3 first seen 2024-02-01.

    >>> import datetime as dt, polars as pl
    >>> from insights.data import frames_dataset
    >>> d = dt.datetime
    >>> ds = frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2, 3],
    ...         "first_seen_at": [d(2024, 1, 1), d(2024, 1, 1), d(2024, 2, 1)]}),
    ...     views=pl.DataFrame({"user_id": [1], "started_at": [d(2024, 2, 5)], "watch_seconds": [60.0]}),
    ...     as_of="2024-03-31",
    ... )
    >>> m = retention_matrix(ds, kind="on", min_cell=1)
    >>> m.select("cohort", "period", "rate", "n", "complete").rows()[:3]
    [('2024-01', 0, 1.0, 2, True), ('2024-01', 1, 0.5, 2, True), ('2024-01', 2, 0.0, 2, False)]
    """
    check_option("cohort", cohort, ["day", "week", "month", "quarter"])
    check_option("period", period, list(DAYS))
    check_option("kind", kind, ["unbounded", "on", "bracket"])
    check_option("windows", windows, ["rolling", "calendar"])
    check_option("cohort_event", cohort_event, ["first_seen", "first_event", *START_TABLES])
    z_value(alpha)
    if min_cell < 0:
        raise ValueError(f"min_cell must be >= 0, got {min_cell}")
    if periods is not None and periods < 1:
        raise ValueError(f"periods must be >= 1 (number of period columns), got {periods}")
    if recurring and cohort_event == "first_seen":
        raise ValueError(
            "recurring=True needs an event start: cohort_event='first_order', 'first_event', ..."
        )
    spans = parse_brackets(kind, brackets, windows)  # None unless kind='bracket'

    by_cols = [] if by is None else [by] if isinstance(by, str) else list(by)
    people = matrix_people(dataset, by_cols, where)
    returns = return_days(dataset, event, people)
    entries = cohort_entries(dataset, people, returns, cohort_event, recurring, cohort)
    span = None
    if cohort_period is not None:
        p = parse_period(cohort_period)
        span = (p.start_day, p.end_day)
        entries = entries.filter((nw.col("start") >= p.start_day) & (nw.col("start") <= p.end_day))
    units = entry_units(entries, people)
    counts = matrix_counts(dataset, event, units, kind, period, windows, spans or [])
    sizes = counts.filter(pl.col("period") == -1).select("group", "key", pl.col("count").alias("n"))
    if sizes.is_empty():
        raise ValueError(
            f"retention_matrix found no cohort entries: no user in scope has cohort_event="
            f"{cohort_event!r} on or before as_of {dataset.as_of:%Y-%m-%d}"
            + (f" within cohort_period {cohort_period!r}" if cohort_period is not None else "")
        )
    today = as_of_day(dataset)
    grid = matrix_grid(sizes, cohort=cohort, period=period, windows=windows, brackets=spans,
                 periods=periods, today=today, span=span)  # fmt: skip
    cells = matrix_cells(grid, counts, kind, cohort)
    out = finish_cells(with_mean_row(cells), alpha, min_cell)
    return out.select(*(["group"] if by_cols else []), *MATRIX_COLUMNS)
