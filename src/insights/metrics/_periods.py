"""Calendar periods: the one module for years, quarters, months and explicit day ranges.

Every ``period=`` of the package is parsed here (:func:`parse_period`, or
:func:`parse_periods` for a label or a list of labels), and the quarter arithmetic
of reports and growth tables lives here too: the quarter holding a day
(:func:`quarter_of`), the quarter before or a year before (:func:`previous_quarter`),
a report's comparison quarter (:func:`comparison_period`), the trailing quarters of a
date (:func:`default_quarters`) and the quarters ending between two dates
(:func:`quarter_ends`). Calendar weeks are bucketed here too (:func:`week_index`,
:func:`week_first_day`): ISO weeks starting on Monday by default, or weeks starting
on Sunday (``week_start="sunday"``, PostHog's default).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "Period",
    "PeriodLike",
    "parse_period",
    "parse_periods",
    "quarter_of",
    "previous_quarter",
    "comparison_period",
    "default_quarters",
    "quarter_ends",
    "WeekStart",
    "WEEK_STARTS",
    "check_week_start",
    "week_index",
    "week_first_day",
]

_QUARTER = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_EPOCH = dt.date(1970, 1, 1)

#: The first day of a calendar week: ``"monday"`` (ISO 8601, the default everywhere) or ``"sunday"``.
WeekStart = Literal["monday", "sunday"]
WEEK_STARTS: tuple[str, ...] = ("monday", "sunday")
#: 1970-01-01 (epoch day 0) was a Thursday: Monday weeks start on days 7w - 3, Sunday weeks on 7w - 4.
_WEEK_SHIFT = {"monday": 3, "sunday": 4}


@dataclass(frozen=True)
class Period:
    """An inclusive range of calendar days with a label (``"2024"``, ``"2024Q4"``, ``"2024-11"``)."""

    start: dt.date
    end: dt.date
    label: str

    @property
    def start_day(self) -> int:
        """``start`` as whole days since 1970-01-01 (see ``insights.data._backend.epoch_day``)."""
        return (self.start - _EPOCH).days

    @property
    def end_day(self) -> int:
        """``end`` as whole days since 1970-01-01."""
        return (self.end - _EPOCH).days

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time())

    @property
    def end_at(self) -> dt.datetime:
        """The last moment of the period (end of its last day)."""
        return dt.datetime.combine(self.end, dt.time(23, 59, 59, 999999))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


PeriodLike = Period | int | str | tuple[dt.date | str, dt.date | str]


def _month(year: int, month: int) -> Period:
    if not 1 <= month <= 12:
        raise ValueError(f"period month {month} is not between 1 and 12")
    start = dt.date(year, month, 1)
    end = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
    return Period(start, end - dt.timedelta(days=1), f"{year}-{month:02d}")


def parse_period(period: PeriodLike) -> Period:
    """A :class:`Period` from ``2024``, ``"2024"``, ``"2024Q4"``, ``"2024-11"`` or ``(start, end)``.

    A ``(start, end)`` pair of dates (or ISO date strings) is an inclusive range of days.
    The period's ``start``, ``end`` (dates), ``end_at`` (its last moment) and ``label``
    are what a chapter reads.

    Examples
    --------
    >>> import insights as ins
    >>> ins.parse_period("2024Q4")
    Period(start=datetime.date(2024, 10, 1), end=datetime.date(2024, 12, 31), label='2024Q4')
    >>> ins.parse_period(2021).days
    365
    >>> ins.parse_period("2024-02").end
    datetime.date(2024, 2, 29)
    """
    if isinstance(period, Period):
        return period
    if isinstance(period, bool):
        raise ValueError(
            f"period {period!r} is not a year, a quarter, a month or a (start, end) pair"
        )
    if isinstance(period, int):
        return Period(dt.date(period, 1, 1), dt.date(period, 12, 31), str(period))
    if isinstance(period, tuple):
        try:
            if len(period) != 2:
                raise ValueError
            start, end = (dt.date.fromisoformat(v) if isinstance(v, str) else v for v in period)
            if not (isinstance(start, dt.date) and isinstance(end, dt.date)):
                raise ValueError
        except ValueError:
            raise ValueError(
                f"a tuple period is one (start, end) pair of dates, got {period!r}; "
                "pass several periods as a list, e.g. ['2024Q1', '2024Q2']"
            ) from None
        if end < start:
            raise ValueError(f"period end {end} is before its start {start}")
        return Period(start, end, f"{start}..{end}")
    text = str(period).strip()
    if m := _YEAR.match(text):
        return parse_period(int(m.group(1)))
    if m := _QUARTER.match(text):
        year, q = int(m.group(1)), int(m.group(2))
        start = dt.date(year, 3 * q - 2, 1)
        end = dt.date(year + 1, 1, 1) if q == 4 else dt.date(year, 3 * q + 1, 1)
        return Period(start, end - dt.timedelta(days=1), f"{year}Q{q}")
    if m := _MONTH.match(text):
        return _month(int(m.group(1)), int(m.group(2)))
    raise ValueError(
        f"period {period!r} is not a year (2024), a quarter (2024Q4), a month (2024-11) "
        "or a (start, end) pair"
    )


def parse_periods(value: PeriodLike | Sequence[PeriodLike]) -> list[Period]:
    """One period or a list of them, as a list (a tuple is one ``(start, end)`` period).

    Examples
    --------
    >>> [p.label for p in parse_periods(["2024Q1", 2023])]
    ['2024Q1', '2023']
    >>> [p.label for p in parse_periods("2024Q1")]
    ['2024Q1']
    """
    if isinstance(value, list):
        if not value:
            raise ValueError("period is an empty list: name at least one period")
        return [parse_period(v) for v in value]
    return [parse_period(value)]  # type: ignore[arg-type]


def quarter_of(day: dt.date) -> Period:
    """The calendar quarter containing ``day``."""
    return parse_period(f"{day.year}Q{(day.month - 1) // 3 + 1}")


def previous_quarter(period: Period, *, years: int = 0) -> Period:
    """The quarter before ``period`` (``years=1``: the same quarter a year earlier)."""
    if years:
        return parse_period(f"{period.start.year - years}Q{(period.start.month - 1) // 3 + 1}")
    return quarter_of(period.start - dt.timedelta(days=1))


def comparison_period(period: PeriodLike, *, compare_to: str = "previous") -> Period:
    """The quarter a report compares ``period`` with.

    Parameters
    ----------
    period
        The report's quarter (a label such as ``"2024Q1"`` or a :class:`Period`).
    compare_to
        ``"previous"`` (the quarter before), ``"year_ago"`` (the same quarter a year
        earlier) or an explicit label.

    Examples
    --------
    >>> import insights as ins
    >>> [ins.comparison_period("2024Q1", compare_to=c).label for c in ("previous", "year_ago", "2022Q3")]
    ['2023Q4', '2023Q1', '2022Q3']
    """
    period = parse_period(period)
    if compare_to == "previous":
        return previous_quarter(period)
    if compare_to == "year_ago":
        return previous_quarter(period, years=1)
    return parse_period(compare_to)


def default_quarters(at: dt.datetime | dt.date, *, count: int = 5) -> list[str]:
    """Labels of the ``count`` quarters ending with the one containing the date ``at``.

    The quarters a trend shows by default (growth tables, quarterly series).

    Examples
    --------
    >>> import datetime as dt
    >>> import insights as ins
    >>> ins.default_quarters(dt.date(2024, 11, 5))
    ['2023Q4', '2024Q1', '2024Q2', '2024Q3', '2024Q4']
    """
    day = at.date() if isinstance(at, dt.datetime) else at
    out = [quarter_of(day)]
    for _ in range(count - 1):
        out.insert(0, quarter_of(out[0].start - dt.timedelta(days=1)))
    return [q.label for q in out]


def quarter_ends(first: dt.date, last: dt.date) -> list[Period]:
    """The quarters from the one holding ``first`` whose last day is on or before ``last``.

    Examples
    --------
    >>> [p.label for p in quarter_ends(dt.date(2024, 2, 1), dt.date(2024, 9, 30))]
    ['2024Q1', '2024Q2', '2024Q3']
    >>> quarter_ends(dt.date(2024, 2, 1), dt.date(2024, 3, 30))
    []
    """
    out: list[Period] = []
    q = quarter_of(first)
    while q.end <= last:
        out.append(q)
        q = quarter_of(q.end + dt.timedelta(days=1))
    return out


def check_week_start(week_start: str) -> None:
    """Raise ``ValueError`` unless ``week_start`` is ``"monday"`` or ``"sunday"``."""
    if week_start not in _WEEK_SHIFT:
        raise ValueError(
            f"week_start={week_start!r} is not supported; choose one of {list(WEEK_STARTS)}"
        )


def week_index(day: Any, week_start: str = "monday") -> Any:
    """The calendar week of an epoch day (whole days since 1970-01-01) as an integer.

    Works on ints and on Polars or narwhals integer expressions alike. Week ``w``
    runs from :func:`week_first_day` ``(w)`` for seven days; ``week_start`` is the
    first day of a week (``"monday"``, ISO, or ``"sunday"``, PostHog's default).

    Examples
    --------
    >>> import datetime as dt
    >>> sun, mon = (dt.date(2020, 6, d) - dt.date(1970, 1, 1) for d in (7, 8))
    >>> week_index(sun.days) == week_index(mon.days)  # Monday weeks: Sunday ends a week
    False
    >>> week_index(sun.days, "sunday") == week_index(mon.days, "sunday")
    True
    """
    return (day + _WEEK_SHIFT[week_start]) // 7


def week_first_day(index: Any, week_start: str = "monday") -> Any:
    """The epoch day on which week ``index`` (see :func:`week_index`) starts.

    Examples
    --------
    >>> import datetime as dt
    >>> day = (dt.date(2020, 6, 10) - dt.date(1970, 1, 1)).days  # a Wednesday
    >>> [dt.date(1970, 1, 1) + dt.timedelta(days=week_first_day(week_index(day, s), s))
    ...  for s in ("monday", "sunday")]
    [datetime.date(2020, 6, 8), datetime.date(2020, 6, 7)]
    """
    return 7 * index - _WEEK_SHIFT[week_start]
