"""PostHog parity: cases of PostHog's own retention tests, transcribed, through the mapping
of ``docs/retention-definitions.md``.

Each case keeps PostHog's people, events and expected count arrays (PostHog's
``posthog/hogql_queries/insights/test/test_retention_query_runner.py`` and
``.../retention/test/test_retention_data_warehouse_24h_window.py``; the helper
``_date(day, hour=5, month=0)`` is 2020-06-(10 + day) 05:00 shifted by ``month``). A
PostHog result row i is the cohort of interval i; value j is the number of its people
counted in interval j after it, value 0 being the cohort size. The conditions of the
mapping: ``period`` = PostHog's date range (its first to its last interval), ``as_of``
= the end of its last interval, event times in the team's time zone (wall clock), and
``week_start="sunday"`` unless the team starts weeks on Monday. PostHog's period 0 is
our ``n``. Events are views (``$pageview``); a distinct start event is an order.
The last cases are hand-built in the same style for what PostHog's suite has no
count matrix for (24-hour day windows across midnight, brackets, cumulative brackets).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import insights as ins
from insights.metrics.retention_matrix import retention_matrix

_EPOCH = dt.date(1970, 1, 1)


def _date(day: int, hour: int = 5, month: int = 0) -> dt.datetime:
    """PostHog's test helper: datetime(2020, 6 + month, 10 + day, hour) with day overflow."""
    first = dt.datetime(2020, 6 + month, 1, hour)
    return first + dt.timedelta(days=9 + day)


def frames(pageviews: list[tuple[str, dt.datetime]],
           starts: list[tuple[str, dt.datetime]] | None = None) -> dict[str, pl.DataFrame]:  # fmt: skip
    """Users (first seen at their first event), views and optional start events (orders)."""
    everything = pageviews + (starts or [])
    people = sorted({p for p, _ in everything})
    ids = {p: i + 1 for i, p in enumerate(people)}
    first = {p: min(t for q, t in everything if q == p) for p in people}
    out = {
        "users": pl.DataFrame(
            {"user_id": [ids[p] for p in people], "first_seen_at": [first[p] for p in people]}
        ),  # fmt: skip
        "views": pl.DataFrame(
            {
                "user_id": [ids[p] for p, _ in pageviews],
                "started_at": [t for _, t in pageviews],
                "watch_seconds": [1.0] * len(pageviews),
            }
        ),  # fmt: skip
    }
    if starts:
        out["orders"] = pl.DataFrame({"order_id": list(range(len(starts))),
                                      "user_id": [ids[p] for p, _ in starts],
                                      "ordered_at": [t for _, t in starts],
                                      "amount": [1.0] * len(starts)})  # fmt: skip
    return out


def dataset(src: dict[str, pl.DataFrame], as_of: str) -> ins.Dataset:
    return ins.frames_dataset(as_of=as_of, **src)


def triangle(m: pl.DataFrame, first: dt.date, intervals: list[dt.date], width: int | None = None
             ) -> list[list[int]]:  # fmt: skip
    """Our matrix as PostHog's rows: row i = cohort starting on intervals[i], value 0 = n,
    value j = retained in period j (0 where we list no cell); ``width`` columns in all
    (default: PostHog's triangle, len(intervals) - i values)."""
    body = m.filter(pl.col("cohort") != "mean")
    cell = {(r["cohort_start"], r["period"]): r for r in body.iter_rows(named=True)}
    rows = []
    for i, start in enumerate(intervals):
        size = len(intervals) - i if width is None else width
        row = []
        for j in range(size):
            r = cell.get((start, 0 if j == 0 else j))
            row.append(0 if r is None else (r["n"] if j == 0 else r["retained"]))
        rows.append(row)
    return rows


def days(start: dt.date, count: int, step: int = 1) -> list[dt.date]:
    return [start + dt.timedelta(days=step * k) for k in range(count)]


def months(year: int, first: int, count: int) -> list[dt.date]:
    return [
        dt.date(year + (first - 1 + k) // 12, (first - 1 + k) % 12 + 1, 1) for k in range(count)
    ]


DEFAULT_EVENTS = [
    ("person1", _date(0)), ("person1", _date(1)), ("person1", _date(2)), ("person1", _date(5)),
    ("person1", _date(5, 9)),  # alias1: the same person
    ("person1", _date(6)), ("person2", _date(1)), ("person2", _date(2)), ("person2", _date(3)),
    ("person2", _date(6)),
]  # fmt: skip

#: PostHog's default retention: recurring, calendar intervals, "on".
RECURRING = dict(kind="on", windows="calendar", recurring=True, origin="first_view",
                 activity="views", min_cell=1)  # fmt: skip


def test_day_interval() -> None:
    """PostHog ``test_day_interval``: 11 daily intervals ending 2020-06-20."""
    ds = dataset(frames(DEFAULT_EVENTS), as_of="2020-06-20")
    m = retention_matrix(ds, cohort_unit="day", unit="day", period=("2020-06-10", "2020-06-20"),
                         **RECURRING)  # fmt: skip
    assert triangle(m, dt.date(2020, 6, 10), days(dt.date(2020, 6, 10), 11)) == [
        [1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0],
        [2, 2, 1, 0, 1, 2, 0, 0, 0, 0],
        [2, 1, 0, 1, 2, 0, 0, 0, 0],
        [1, 0, 0, 1, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0],
        [2, 0, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0],
        [0, 0],
        [0],
    ]


WEEK_EVENTS = [
    ("person1", _date(0)), ("person2", _date(0)), ("person1", _date(1)), ("person2", _date(1)),
    ("person1", _date(7)), ("person2", _date(7)), ("person1", _date(14)),
    ("person1", _date(month=1, day=-6)), ("person2", _date(month=1, day=-6)),
    ("person2", _date(month=1, day=1)), ("person1", _date(month=1, day=1)),
    ("person2", _date(month=1, day=15)),
]  # fmt: skip
WEEK_EXPECTED = [
    [2, 2, 1, 2, 2, 0, 1],
    [2, 1, 2, 2, 0, 1],
    [1, 1, 1, 0, 0],
    [2, 2, 0, 1],
    [2, 0, 1],
    [0, 0],
    [1],
]


@pytest.mark.parametrize(
    ("week_start", "first", "last"),
    [("sunday", dt.date(2020, 6, 7), dt.date(2020, 7, 25)),  # PostHog's default week
     ("monday", dt.date(2020, 6, 8), dt.date(2020, 7, 26))],  # team.week_start_day = 1
)  # fmt: skip
def test_week_interval(week_start: str, first: dt.date, last: dt.date) -> None:
    """PostHog ``test_week_interval`` (both week starts) and ``test_interval_rounding``:
    7 weekly intervals, date_to 2020-07-20 (or 07-24): the last interval runs to its end."""
    ds = dataset(frames(WEEK_EVENTS), as_of=last.isoformat())
    m = retention_matrix(ds, cohort_unit="week", unit="week", week_start=week_start,  # type: ignore[arg-type]
                         period=(first.isoformat(), last.isoformat()), **RECURRING)  # fmt: skip
    starts = days(first, 7, step=7)
    assert triangle(m, first, starts) == WEEK_EXPECTED
    # PostHog's dates column: the weeks' first days (nobody starts in week 5)
    assert sorted(m.filter(pl.col("cohort") != "mean")["cohort_start"].unique()) == [
        *starts[:5],
        starts[6],
    ]


def test_month_interval() -> None:
    """PostHog ``test_month_interval``: 11 monthly intervals, date_to 2020-11-25."""
    events = [
        ("person1", _date(day=0, month=-5)), ("person2", _date(day=0, month=-5)),
        ("person1", _date(day=0, month=-4)), ("person2", _date(day=0, month=-4)),
        ("person1", _date(day=0, month=-3)), ("person2", _date(day=0, month=-3)),
        ("person1", _date(day=0, month=-1)), ("person1", _date(day=0, month=0)),
        ("person2", _date(day=0, month=0)), ("person2", _date(day=0, month=1)),
        ("person1", _date(day=0, month=3)), ("person2", _date(day=0, month=5)),
    ]  # fmt: skip
    ds = dataset(frames(events), as_of="2020-11-30")
    m = retention_matrix(ds, cohort_unit="month", unit="month", period=("2020-01-01", "2020-11-30"),
                         **RECURRING)  # fmt: skip
    assert triangle(m, dt.date(2020, 1, 1), months(2020, 1, 11)) == [
        [2, 2, 2, 0, 1, 2, 1, 0, 1, 0, 1],
        [2, 2, 0, 1, 2, 1, 0, 1, 0, 1],
        [2, 0, 1, 2, 1, 0, 1, 0, 1],
        [0, 0, 0, 0, 0, 0, 0, 0],
        [1, 1, 0, 0, 1, 0, 0],
        [2, 1, 0, 1, 0, 1],
        [1, 0, 0, 0, 1],
        [0, 0, 0, 0],
        [1, 0, 0],
        [0, 0],
        [1],
    ]


ROLLING_EVENTS = [
    ("person1", _date(0)), ("person1", _date(3)), ("person1", _date(4)),
    ("person2", _date(0)), ("person2", _date(1)),
    ("person3", _date(1)), ("person3", _date(2)), ("person3", _date(3)),
    ("person4", _date(3)), ("person4", _date(4)), ("person5", _date(4)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        # test_rolling_retention: 5 intervals, _date(0) is before the range and ignored
        (1, [[2, 1, 1, 0, 0], [1, 1, 0, 0], [3, 2, 0], [3, 0], [0]]),
        # test_rolling_retention_doesnt_double_count_same_user: 6 intervals
        (0, [[2, 2, 1, 1, 1, 0], [2, 1, 1, 0, 0], [1, 1, 0, 0], [3, 2, 0], [3, 0], [0]]),
    ],
)
def test_cumulative(first: int, expected: list[list[int]]) -> None:
    """PostHog ``cumulative: True`` ("on or after", up to the end of the range): our
    ``kind="unbounded"`` without a horizon, whose cells are then provisional."""
    ds = dataset(frames(ROLLING_EVENTS), as_of="2020-06-15")
    start = dt.date(2020, 6, 10 + first)
    m = retention_matrix(ds, cohort_unit="day", unit="day", period=(start.isoformat(), "2020-06-15"),
                         **{**RECURRING, "kind": "unbounded"})  # fmt: skip
    assert triangle(m, start, days(start, 6 - first)) == expected
    assert not m["complete"].any()  # counted up to as_of: not final


FIRST_TIME_SIGNUPS = [
    ("shouldnt_include", _date(-5)), ("shouldnt_include", _date(-1)), ("person1", _date(-1)),
    ("person1", _date(1)), ("person1", _date(2)), ("person1", _date(3)), ("person1", _date(4)),
    ("person2", _date(-1)), ("person3", _date(0)), ("person4", _date(2)),
]  # fmt: skip
FIRST_TIME_VIEWS = [
    *DEFAULT_EVENTS,
    ("person3", _date(1)), ("person3", _date(3)), ("person3", _date(4)), ("person3", _date(5)),
    ("person4", _date(3)), ("person4", _date(5)),
]  # fmt: skip


def test_first_time_retention() -> None:
    """PostHog ``test_first_time_retention``: a person enters at the first-ever
    ``$user_signed_up`` (here an order), kept only when it falls in the range; returns
    are ``$pageview`` (views). 7 daily intervals ending 2020-06-15."""
    ds = dataset(frames(FIRST_TIME_VIEWS, FIRST_TIME_SIGNUPS), as_of="2020-06-15")
    m = retention_matrix(ds, cohort_unit="day", unit="day", kind="on", windows="calendar",
                         origin="first_order", activity="views", period=("2020-06-09", "2020-06-15"),
                         min_cell=1)  # fmt: skip
    assert triangle(m, dt.date(2020, 6, 9), days(dt.date(2020, 6, 9), 7)) == [
        [2, 1, 2, 2, 1, 0, 1],
        [1, 1, 0, 1, 1, 1],
        [0, 0, 0, 0, 0],
        [1, 1, 0, 1],
        [0, 0, 0],
        [0, 0],
        [0],
    ]


def test_all_events_target_first_time() -> None:
    """PostHog ``test_all_events_target_first_time``: first time of event2 (orders),
    returns of all events; 4 daily intervals ending 2020-06-12."""
    event1 = [("person1", _date(0)), ("person1", _date(1)), ("person1", _date(2))]
    event2 = [("person1", _date(2)), ("person1", _date(3))]
    ds = dataset(frames(event1, event2), as_of="2020-06-12")
    m = retention_matrix(ds, cohort_unit="day", unit="day", kind="on", windows="calendar",
                         origin="first_order", activity=["views", "orders"],
                         period=("2020-06-09", "2020-06-12"), min_cell=1)  # fmt: skip
    assert triangle(m, dt.date(2020, 6, 9), days(dt.date(2020, 6, 9), 4)) == [
        [0, 0, 0, 0], [0, 0, 0], [0, 0], [1],
    ]  # fmt: skip


def test_timezones() -> None:
    """PostHog ``test_timezones``: the same events in UTC and in US/Pacific. Loading the
    events in the team's time zone (wall clock) is what makes the matrices agree."""
    utc = [("person1", _date(-1, 1)), ("person1", _date(0, 1)), ("person1", _date(1, 1)),
           ("person2", _date(6, 1)), ("person2", _date(6, 9))]  # fmt: skip
    src = frames(utc)
    kw = dict(cohort_unit="day", unit="day", period=("2020-06-10", "2020-06-20"), **RECURRING)
    m = retention_matrix(dataset(src, "2020-06-20"), **kw)  # type: ignore[arg-type]
    intervals = days(dt.date(2020, 6, 10), 11)
    expected_utc = [[1, 1] + [0] * 9, [1] + [0] * 9] + [[0] * (9 - i) for i in range(4)]
    expected_utc += [[1, 0, 0, 0, 0], [0] * 4, [0] * 3, [0] * 2, [0]]
    assert triangle(m, intervals[0], intervals) == expected_utc
    local = {
        name: f.with_columns(
            pl.col(c).dt.replace_time_zone("UTC").dt.convert_time_zone("US/Pacific")
            .dt.replace_time_zone(None)
            for c in ("first_seen_at", "started_at") if c in f.columns
        )
        for name, f in src.items()
    }  # fmt: skip
    pacific = retention_matrix(dataset(local, "2020-06-20"), **kw)  # type: ignore[arg-type]
    expected_pacific = [[1] + [0] * 10] + [[0] * (10 - i) for i in range(4)]
    expected_pacific += [[1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0] * 4, [0] * 3, [0] * 2, [0]]
    assert triangle(pacific, intervals[0], intervals) == expected_pacific


# --- 24-hour windows: one entry per person at the first start event ------------------


def test_24h_windows_posthog_case(make_dataset) -> None:
    """PostHog ``test_same_table_dwh_start_and_return_24h_window``: start event signed_up
    (here: first seen), return event renewed (here: an order); Day, 4 intervals from
    2025-01-01, 24-hour windows. user-4 never renews but is in its cohort (value 0)."""
    at = dt.datetime
    users = pl.DataFrame({"user_id": [1, 2, 3, 4],
                          "first_seen_at": [at(2025, 1, 1, 9), at(2025, 1, 1, 10),
                                            at(2025, 1, 2, 9), at(2025, 1, 2, 10)]})  # fmt: skip
    orders = pl.DataFrame({"order_id": [5, 6, 7], "user_id": [1, 2, 3], "amount": [1.0] * 3,
                           "ordered_at": [at(2025, 1, 2, 12), at(2025, 1, 3, 12),
                                          at(2025, 1, 3, 13)]})  # fmt: skip
    ds = make_dataset({"users": users, "orders": orders}, as_of="2025-01-04")
    m = retention_matrix(ds, cohort_unit="day", unit="day", kind="on", windows="24h",
                         activity="order", period=("2025-01-01", "2025-01-04"), min_cell=1)  # fmt: skip
    got = triangle(m, dt.date(2025, 1, 1), days(dt.date(2025, 1, 1), 4), width=4)
    assert got[0] == [2, 1, 1, 0]  # +27 h -> interval 1, +50 h -> interval 2
    assert got[1][:3] == [2, 1, 0]  # +28 h -> interval 1


def hours_frames() -> dict[str, pl.DataFrame]:
    """Hand-built, PostHog style. Start event = an order, return = a view.

    p1: orders 06-10 22:00 (t_0) and 06-12 08:00; views 06-11 08:00 (+10 h: window 0),
        06-11 23:00 (+25 h: window 1), 06-13 21:00 (+71 h: window 2).
    p2: views 06-09 12:00 (before the range), orders 06-10 01:00 (t_0) and 06-11 03:00;
        views 06-11 00:30 (+23 h: window 0), 06-12 02:00 (+49 h: window 2).
    p3: order 06-09 23:00 (before the range) and 06-11 10:00 (first in range); view
        06-12 09:00 (+71 h from the first order ever, +23 h from 06-11 10:00).
    """
    at = dt.datetime
    orders = [("p1", at(2020, 6, 10, 22)), ("p1", at(2020, 6, 12, 8)), ("p2", at(2020, 6, 10, 1)),
              ("p2", at(2020, 6, 11, 3)), ("p3", at(2020, 6, 9, 23)), ("p3", at(2020, 6, 11, 10))]  # fmt: skip
    views = [("p1", at(2020, 6, 11, 8)), ("p1", at(2020, 6, 11, 23)), ("p1", at(2020, 6, 13, 21)),
             ("p2", at(2020, 6, 9, 12)), ("p2", at(2020, 6, 11, 0, 30)), ("p2", at(2020, 6, 12, 2)),
             ("p3", at(2020, 6, 12, 9))]  # fmt: skip
    return frames(views, orders)


def test_24h_windows_cross_midnight_and_one_entry_per_person() -> None:
    """Daily 24-hour windows (hours since t_0 // 24) differ from calendar days, and every
    person enters once. Range 2020-06-10 .. 06-14 (5 daily intervals)."""
    ds = dataset(hours_frames(), as_of="2020-06-14")
    kw = dict(
        cohort_unit="day",
        unit="day",
        kind="on",
        windows="24h",
        origin="first_order",
        activity="views",
        period=("2020-06-10", "2020-06-14"),
        min_cell=1,
    )
    # recurring (PostHog's default type): t_0 = first order inside the range
    rec = retention_matrix(ds, recurring=True, **kw)  # type: ignore[arg-type]
    intervals = days(dt.date(2020, 6, 10), 5)
    assert triangle(rec, intervals[0], intervals, width=4) == [
        [2, 1, 2, 0],  # p1 (windows 0, 1, 2) + p2 (windows 0, 2); one entry each
        [1, 0, 0, 0],  # p3, t_0 06-11 10:00: its view at +23 h is window 0
        [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0],
    ]  # fmt: skip
    assert cells_of(rec)[("2020-06-11", 0)] == 1  # period 0 (returned in window 0)
    # first time: t_0 = first order ever; p3's is 06-09, outside the range: not counted
    first = retention_matrix(ds, recurring=False, **kw)  # type: ignore[arg-type]
    assert triangle(first, intervals[0], intervals, width=4)[:2] == [[2, 1, 2, 0], [0, 0, 0, 0]]
    # start = first seen, any activity (first day, views, orders), in hours: p2 (t_0 06-09
    # 12:00) orders +13 h, views +36 h, orders +39 h, views +62 h; p3 (06-09 23:00) +35 h,
    # +58 h; p1 (06-10 22:00) +10 h, +25 h, +34 h, +71 h
    acq = retention_matrix(ds, cohort_unit="day", unit="day", kind="on", windows="24h",
                           period=("2020-06-09", "2020-06-14"), min_cell=1)  # fmt: skip
    got = cells_of(acq)
    assert [got[("2020-06-09", k)] for k in range(4)] == [2, 2, 2, 0]
    assert [got[("2020-06-10", k)] for k in range(4)] == [1, 1, 1, 0]
    # the same data by calendar days: p1's 06-11 08:00 view is day 1, not window 0
    cal = retention_matrix(ds, recurring=True, **{**kw, "windows": "calendar"})  # type: ignore[arg-type]
    assert triangle(cal, intervals[0], intervals, width=4)[0] == [2, 2, 1, 1]


def cells_of(m: pl.DataFrame) -> dict[tuple[str, int], int]:
    return {(r["cohort"], r["period"]): r["retained"] for r in m.iter_rows(named=True)}


# --- brackets: PostHog's retentionCustomBrackets, plain and cumulative ----------------


def test_calendar_brackets_and_cumulative_brackets() -> None:
    """PostHog ``retentionCustomBrackets: [1, 2, 4]`` with Week: brackets of weeks 1, 2-3,
    4-7 after the start week, i.e. ``brackets=[(1, 1), (2, 3), (4, 7)]`` in calendar
    weeks; with ``cumulative`` a bracket counts returns in it or a later bracket.

    Sunday weeks from 2020-06-07. p1 (week 0) back in weeks 2 and 6; p2 (week 0) back in
    week 1; p3 (week 0) never back; p4 (week 1) back in week 2 (its bracket 0)."""
    week0 = dt.datetime(2020, 6, 8, 12)  # a Monday: week 0 of Sunday weeks starting 06-07
    views = [("p1", week0), ("p1", week0 + dt.timedelta(weeks=2)), ("p1", week0 + dt.timedelta(weeks=6)),
             ("p2", week0), ("p2", week0 + dt.timedelta(weeks=1)), ("p3", week0),
             ("p4", week0 + dt.timedelta(weeks=1)), ("p4", week0 + dt.timedelta(weeks=2))]  # fmt: skip
    ds = dataset(frames(views), as_of="2020-08-29")  # the end of Sunday week 11
    kw = dict(
        cohort_unit="week",
        unit="week",
        windows="calendar",
        week_start="sunday",
        brackets=[(1, 1), (2, 3), (4, 7)],
        recurring=False,
        origin="first_view",
        activity="views",
        period=("2020-06-07", "2020-06-20"),
        min_cell=1,
    )
    plain = cells_of(retention_matrix(ds, kind="bracket", **kw))  # type: ignore[arg-type]
    assert [plain[("2020-06-07", b)] for b in range(3)] == [1, 1, 1]  # p2 | p1 | p1
    assert [plain[("2020-06-14", b)] for b in range(3)] == [1, 0, 0]  # p4
    cum = retention_matrix(ds, kind="unbounded", **kw)  # type: ignore[arg-type]
    got = cells_of(cum)
    assert [got[("2020-06-07", b)] for b in range(3)] == [2, 1, 1]  # p1 + p2 | p1 | p1
    assert [got[("2020-06-14", b)] for b in range(3)] == [1, 0, 0]
    # final: the last bracket (week 7 after week 1 = the week of 08-02) ended by 08-29
    assert cum.filter(pl.col("cohort") != "mean")["complete"].all()
    early = retention_matrix(ds.with_as_of("2020-07-25"), kind="unbounded", **kw)  # type: ignore[arg-type]
    assert not early["complete"].any()  # week 7 of cohort 06-07 ends 08-01: still open
