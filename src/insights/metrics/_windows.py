"""The day range of every windowed outcome, defined once.

A windowed outcome ("first purchase within 30 days", "repurchase within 60 days")
counts events on a range of whole calendar days counted from an *origin* day: the
acquisition day for the KPIs and cohort metrics, the assignment day for
``experiment_effects`` (``docs/metrics.md``, "Day t"). Each metric id names one
range, whoever computes it:

- **from the origin** (:data:`FROM_ORIGIN`): days 0 .. N − 1, the origin day
  included: ``first_purchase_{N}d``, ``order_{N}d``, ``join_{N}d``,
  ``interaction_rate_{N}d``, ``gmv_{N}d``, ``aov_{N}d``;
- **after an event** (:data:`AFTER_EVENT`): days 1 .. N after the event that
  opens the window (the first order for ``repurchase_{N}d``), the event day
  excluded.

Either way the window holds N days, and a unit counts only when it is *observable*
for it: origin + N <= as_of day (the one rule of ``docs/metrics.md``).

Order days before the acquisition day (the data contract's one-day clock skew) count
as the acquisition day: :func:`acquisition_clipped`.

Examples
--------
>>> outcome_window("first_purchase", 30)
Window(days=30, first=0)
>>> outcome_window("first_purchase", 30).describe(), outcome_window("repurchase", 60).describe()
('days 0 .. 29', 'days 1 .. 60')
"""

from __future__ import annotations

from dataclasses import dataclass

import narwhals as nw

__all__ = [
    "AFTER_EVENT",
    "FROM_ORIGIN",
    "Window",
    "acquisition_clipped",
    "outcome_window",
]

#: Outcome kinds counted from the origin day itself: days 0 .. N − 1.
FROM_ORIGIN: tuple[str, ...] = (
    "first_purchase",
    "order",
    "join",
    "interaction_rate",
    "gmv",
    "aov",
)
#: Outcome kinds counted after the event that opens the window: days 1 .. N.
AFTER_EVENT: tuple[str, ...] = ("repurchase",)


def _column(x: str | nw.Expr) -> nw.Expr:
    return nw.col(x) if isinstance(x, str) else x


@dataclass(frozen=True)
class Window:
    """An N-day window: day offsets ``first`` .. ``first + days - 1`` from an origin day.

    Attributes
    ----------
    days
        N, the number of days (the ``N`` of the metric id).
    first
        The first offset: 0 (the origin day counts) or 1 (the day after the event).
    """

    days: int
    first: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.days, bool) or not isinstance(self.days, int) or self.days < 1:
            raise ValueError(f"a window must hold at least 1 whole day, got {self.days!r}")
        if self.first not in (0, 1):
            raise ValueError(f"a window starts on offset 0 or 1, got {self.first!r}")

    @property
    def last(self) -> int:
        """The last offset (included): ``first + days - 1``."""
        return self.first + self.days - 1

    def contains(self, day: str | nw.Expr, origin: str | nw.Expr) -> nw.Expr:
        """True where day-number ``day`` lies in the window opened on day-number ``origin``.

        Examples
        --------
        >>> import polars as pl
        >>> f = nw.from_native(pl.DataFrame({"o": [10, 10, 10, 10], "d": [9, 10, 39, 40]}))
        >>> f.select(Window(30).contains("d", "o"))["d"].to_list()
        [False, True, True, False]
        >>> f.select(Window(30, first=1).contains("d", "o"))["d"].to_list()
        [False, False, True, True]
        """
        offset = _column(day) - _column(origin)
        return (offset >= self.first) & (offset <= self.last)

    def observable(self, origin: str | nw.Expr, as_of_day: int) -> nw.Expr:
        """True where a window opened on ``origin`` is observed by ``as_of_day``: origin + N <= as_of day.

        Examples
        --------
        >>> import polars as pl
        >>> f = nw.from_native(pl.DataFrame({"o": [0, 1]}))
        >>> f.select(Window(30).observable("o", 30))["o"].to_list()
        [True, False]
        """
        return _column(origin) + self.days <= as_of_day

    def describe(self) -> str:
        """The range in words: ``"days 0 .. 29"``."""
        return f"days {self.first} .. {self.last}"


def outcome_window(kind: str, days: int) -> Window:
    """The window of outcome ``kind`` (``"first_purchase"``, ``"repurchase"`` ...) over ``days`` days.

    Raises ``ValueError`` for a kind that is not windowed here (``retention`` is a
    Kaplan–Meier milestone, not a count over a window).

    Examples
    --------
    >>> outcome_window("order", 90).last, outcome_window("repurchase", 60).last
    (89, 60)
    """
    if kind in FROM_ORIGIN:
        return Window(days, first=0)
    if kind in AFTER_EVENT:
        return Window(days, first=1)
    raise ValueError(
        f"no window is defined for outcome {kind!r}; known: {FROM_ORIGIN + AFTER_EVENT}"
    )


def acquisition_clipped(day: str | nw.Expr, first_seen_day: str | nw.Expr) -> nw.Expr:
    """An event's day, days before the acquisition day counted as the acquisition day.

    The data contract lets events precede ``first_seen_at`` by one day (clock skew); a
    new user's order then counts on day 0.

    Examples
    --------
    >>> import polars as pl
    >>> f = nw.from_native(pl.DataFrame({"d": [9, 10, 12], "fs": [10, 10, 10]}))
    >>> f.select(acquisition_clipped("d", "fs").alias("d"))["d"].to_list()
    [10, 10, 12]
    """
    return nw.max_horizontal(_column(day), _column(first_seen_day))
