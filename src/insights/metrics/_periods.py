"""Calendar periods (years, quarters, explicit ranges) as inclusive day ranges."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

__all__ = ["Period", "PeriodLike", "parse_period", "quarter_of", "previous_quarter"]

_QUARTER = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")
_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Period:
    """An inclusive range of calendar days with a label (``"2024"``, ``"2024Q4"``)."""

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


def parse_period(value: PeriodLike) -> Period:
    """A :class:`Period` from ``2024``, ``"2024"``, ``"2024Q4"`` or ``(start, end)`` (inclusive).

    Examples
    --------
    >>> parse_period("2024Q4")
    Period(start=datetime.date(2024, 10, 1), end=datetime.date(2024, 12, 31), label='2024Q4')
    >>> parse_period(2021).days
    365
    """
    if isinstance(value, Period):
        return value
    if isinstance(value, int):
        return Period(dt.date(value, 1, 1), dt.date(value, 12, 31), str(value))
    if isinstance(value, tuple):
        start, end = (dt.date.fromisoformat(v) if isinstance(v, str) else v for v in value)
        if end < start:
            raise ValueError(f"period end {end} is before its start {start}")
        return Period(start, end, f"{start}..{end}")
    text = str(value).strip()
    if m := _YEAR.match(text):
        return parse_period(int(m.group(1)))
    if m := _QUARTER.match(text):
        year, q = int(m.group(1)), int(m.group(2))
        start = dt.date(year, 3 * q - 2, 1)
        end = dt.date(year + 1, 1, 1) if q == 4 else dt.date(year, 3 * q + 1, 1)
        return Period(start, end - dt.timedelta(days=1), f"{year}Q{q}")
    raise ValueError(f"period {value!r} is not a year (2024), a quarter (2024Q4) or a (start, end) pair")


def quarter_of(day: dt.date) -> Period:
    """The calendar quarter containing ``day``."""
    return parse_period(f"{day.year}Q{(day.month - 1) // 3 + 1}")


def previous_quarter(period: Period, *, years: int = 0) -> Period:
    """The quarter before ``period`` (``years=1``: the same quarter a year earlier)."""
    if years:
        return parse_period(f"{period.start.year - years}Q{(period.start.month - 1) // 3 + 1}")
    return quarter_of(period.start - dt.timedelta(days=1))
