"""Counting and cell building of :func:`insights.metrics.retention_matrix.retention_matrix`.

Engine side (narwhals, lazy): who is in scope (:func:`matrix_people`), their return
days (:func:`return_days`), cohort entries (:func:`cohort_entries`) and one collect of
counts per segment x cohort x period for each ``kind`` (:func:`matrix_counts`). Polars
side (small frames): the grid of observable periods with ``complete`` flags
(:func:`matrix_grid`), the retained counts per cell (:func:`matrix_cells`), the mean
row (:func:`with_mean_row`) and Wilson intervals with small-cell suppression
(:func:`finish_cells`). Days are calendar days (``epoch_day``); with
``windows="24h"`` (PostHog's 24-hour windows) event times are whole hours
(``epoch_day * 24 + hour``) up to the offsets, and days again after them.

``complete`` means *final*: a cell flagged complete keeps its value when ``as_of``
moves later. For ``kind="on"`` and brackets that is "the period has ended for every
possible entry of the cohort"; an ``"unbounded"`` ("on or after") cell counts returns
up to the last column (``horizon``), so it is final once that column has ended, and
without a horizon it runs up to ``as_of`` and is never final.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw
import polars as pl

from insights.data._backend import (
    _DAY_SPAN,
    backend_name,
    collect,
    epoch_day,
    key_periods,
    materialize_parts,
    reuse,
    row_index,
    sorted_distinct,
    with_month_index,
)
from insights.data.dataset import TIME_COLUMNS, Dataset
from insights.metrics._periods import week_first_day, week_index
from insights.metrics._segments import Where, acquired, where_expr
from insights.metrics.activity_days import (
    ACTIVITY_TABLES,
    DEFAULT_ACTIVITY,
    active_user_days,
    sorted_day_offsets,
)
from insights.metrics.purchase import order_days
from insights.stats.proportions import wilson_frame

__all__ = [
    "DAYS",
    "ORIGIN_TABLES",
    "check_option",
    "cohort_entries",
    "entry_units",
    "finish_cells",
    "matrix_cells",
    "matrix_counts",
    "matrix_grid",
    "matrix_people",
    "parse_brackets",
    "return_days",
    "with_mean_row",
]

DAYS = {"day": 1, "week": 7, "month": 30}
#: Origins read from the first event of a table (``first_seen`` and ``first_event`` aside).
ORIGIN_TABLES = {
    "first_order": "orders",
    "first_view": "views",
    "first_interaction": "interactions",
    "community_join": "community",
}
_ALIASES = {"order": "orders", "view": "views", "interaction": "interactions"}


def check_option(name: str, value: Any, allowed: Sequence[Any]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not supported; choose one of {list(allowed)}")


def _with_index(
    frame: nw.LazyFrame[Any], day: str, unit: str, out: str, week_start: str = "monday"
) -> nw.LazyFrame[Any]:
    """Add ``out``: the calendar bucket of epoch day ``day`` (day, week, month, quarter)."""
    if unit == "day":
        return frame.with_columns(nw.col(day).alias(out))
    if unit == "week":
        return frame.with_columns(week_index(nw.col(day), week_start).alias(out))
    framed = with_month_index(frame, day, out)
    return framed.with_columns((nw.col(out) // 3).alias(out)) if unit == "quarter" else framed


def _epoch_hour(column: str, frame: nw.LazyFrame[Any]) -> nw.Expr:
    """Whole hours since 1970-01-01 00:00 of a datetime column (wall clock of its zone)."""
    day = epoch_day(column, like=frame).cast(nw.Int64)
    return day * 24 + nw.col(column).dt.hour().cast(nw.Int64)


def matrix_people(
    dataset: Dataset, by: Sequence[str], where: Where, *, hourly: bool = False
) -> nw.LazyFrame[Any]:
    """``user_id, first_seen_day, segment`` of the users in scope (``first_seen_day`` in
    hours since the epoch when ``hourly``)."""
    users = dataset.table("users")
    names = users.collect_schema().names()
    missing = [b for b in by if b not in names]
    if missing:
        raise ValueError(f"by={missing} names no users column; available: {sorted(names)}")
    if "acquired_in_data" in names:  # a cohort holds only users acquired in the data
        users = users.filter(acquired())
    cond = where_expr(where)
    if cond is not None:
        users = users.filter(cond)
    parts = [nw.col(b).cast(nw.String).fill_null("unknown") for b in by]
    segment = nw.concat_str(parts, separator=" · ") if len(parts) > 1 else nw.lit("all")
    segment = parts[0] if len(parts) == 1 else segment
    first = (
        _epoch_hour("first_seen_at", users) if hourly else epoch_day("first_seen_at", like=users)
    )
    return users.select(
        "user_id", first.cast(nw.Int64).alias("first_seen_day"), segment.alias("segment")
    )


def _table_days(
    dataset: Dataset,
    table: str,
    people: nw.LazyFrame[Any],
    *,
    joins_only: bool = False,
    carry: Sequence[str] = (),
    hourly: bool = False,
    refunded: bool = False,
) -> nw.LazyFrame[Any]:
    """Distinct ``user_id, day, *carry`` of a table's events, never before the user's first day.

    ``hourly``: ``day`` holds whole hours since the epoch (and so must ``people``'s
    ``first_seen_day``). Refunded orders are left out unless ``refunded``.
    """
    if table == "orders" and not hourly and not refunded:  # as in every purchase metric
        events = order_days(dataset).select("user_id", "day")
    else:
        raw = dataset.table(table, needed_for="retention_matrix")
        if joins_only:
            raw = raw.filter(nw.col("action") == "join")
        if table == "orders" and not refunded and "refunded" in raw.collect_schema().names():
            raw = raw.filter(~nw.col("refunded").fill_null(False))
        column = TIME_COLUMNS[table]
        day = _epoch_hour(column, raw) if hourly else epoch_day(column, like=raw).cast(nw.Int64)
        events = raw.select("user_id", day.alias("day"))
    joined = events.join(
        people.select("user_id", "first_seen_day", *carry), on="user_id", how="inner"
    )
    return joined.select(
        "user_id", nw.max_horizontal(nw.col("day"), nw.col("first_seen_day")).alias("day"), *carry
    ).unique()


def return_days(
    dataset: Dataset,
    activity: str | Sequence[str],
    people: nw.LazyFrame[Any],
    *,
    carry: Sequence[str] = (),
    hourly: bool = False,
) -> nw.LazyFrame[Any]:
    """``user_id, day, *carry``: return days of ``people`` (``user_id, first_seen_day, *carry``).

    A return is an event of the ``activity`` tables (``"any"``: views, interactions,
    orders and the first day). The ``carry`` columns of ``people`` ride along on
    every row, so that a consumer needs no second join of the events (see
    :func:`matrix_counts`). ``hourly``: ``day`` (and ``people.first_seen_day``) in
    whole hours since the epoch.
    """
    if activity == "any" and hourly:  # the same events as active_user_days, in hours
        first = people.select("user_id", nw.col("first_seen_day").alias("day"), *carry)
        parts = [first] + [
            _table_days(dataset, t, people, carry=carry, hourly=True, refunded=True)
            for t in DEFAULT_ACTIVITY
            if dataset.has(t)
        ]
        return nw.concat(parts, how="vertical")
    if activity == "any":  # days may repeat: every consumer reduces them (max, or a distinct pass)
        days = active_user_days(dataset, users=people, distinct=False, carry=carry)
        return days.select("user_id", "day", *carry)
    names = [activity] if isinstance(activity, str) else list(activity)
    tables = [_ALIASES.get(n, n) for n in names]
    for t in tables:
        check_option("activity", t, ["any (alone)", *_ALIASES, *ACTIVITY_TABLES])
    parts = [
        _table_days(dataset, t, people, carry=carry, hourly=hourly) for t in dict.fromkeys(tables)
    ]
    return nw.concat(parts, how="vertical").unique() if len(parts) > 1 else parts[0]


def cohort_entries(
    dataset: Dataset,
    people: nw.LazyFrame[Any],
    returns: nw.LazyFrame[Any],
    origin: str,
    recurring: bool,
    cohort_unit: str,
    *,
    windows: str = "rolling",
    span: tuple[int, int] | None = None,
    week_start: str = "monday",
) -> nw.LazyFrame[Any]:
    """``user_id, segment, start, key``: one row per cohort entry (user x cohort bucket).

    ``start`` is the entry's origin day (epoch day), ``key`` its cohort bucket (first-seen
    cohorts also keep ``first_seen_day``, which :func:`entry_units` then reads). With
    ``windows="24h"`` (``people`` and ``returns`` in hours) every user enters once, at
    the first origin event (PostHog's 24-hour-window rule): the first one ever
    (``recurring=False``) or the first one inside ``span`` (``recurring=True``); the
    entry then also has ``start_h``, its origin hour.
    """
    hourly = windows == "24h"
    if origin == "first_seen":
        starts = people.select("user_id", nw.col("first_seen_day").alias("day"))
    elif origin == "first_event":
        starts = returns
    else:
        table = ORIGIN_TABLES[origin]
        starts = _table_days(dataset, table, people, joins_only=table == "community", hourly=hourly)
    if hourly:
        if recurring and span is not None:
            lo, hi = span
            starts = starts.filter((nw.col("day") >= lo * 24) & (nw.col("day") < (hi + 1) * 24))
        first = starts.group_by("user_id").agg(nw.col("day").min().alias("start_h"))
        first = first.with_columns((nw.col("start_h") // 24).alias("start"))
        entries = _with_index(first, "start", cohort_unit, "key", week_start)
    elif recurring:
        keyed = _with_index(starts, "day", cohort_unit, "key", week_start)
        entries = keyed.group_by("user_id", "key").agg(nw.col("day").min().alias("start"))
    elif origin == "first_seen":  # one entry per row of people, at its first-seen day: no
        # group-by and join back (with first_seen_day kept, entry_units needs no join either)
        start = nw.col("first_seen_day").alias("start")
        entries = people.select("user_id", "segment", "first_seen_day", start)
        return _with_index(entries, "start", cohort_unit, "key", week_start)
    else:
        first = starts.group_by("user_id").agg(nw.col("day").min().alias("start"))
        entries = _with_index(first, "start", cohort_unit, "key", week_start)
    return entries.join(people.select("user_id", "segment"), on="user_id", how="inner")


def _offset(
    frame: nw.LazyFrame[Any], day: str, unit: str, windows: str, week_start: str = "monday"
) -> nw.LazyFrame[Any]:
    """Add ``off``: whole ``unit``s from the entry's origin to ``day`` (null before the origin).

    ``"rolling"``: days since ``start`` // 1, 7, 30. ``"calendar"``: calendar units
    between the two days. ``"24h"`` (``day`` in hours, origin hour ``start_h``):
    PostHog's 24-hour windows, hours // 24 for days, calendar days // 7 or 30 for
    weeks and months.
    """
    if windows == "rolling":
        off = (nw.col(day) - nw.col("start")) // DAYS[unit]
        framed = frame.with_columns(off.alias("off"))
        after = nw.col(day) >= nw.col("start")
    elif windows == "24h":
        if unit == "day":
            off = (nw.col(day) - nw.col("start_h")) // 24
        else:
            off = (nw.col(day) // 24 - nw.col("start_h") // 24) // DAYS[unit]
        framed = frame.with_columns(off.alias("off"))
        after = nw.col(day) >= nw.col("start_h")
    else:
        framed = _with_index(frame, day, unit, "__i1", week_start)
        framed = _with_index(framed, "start", unit, "__i0", week_start)
        framed = framed.with_columns((nw.col("__i1") - nw.col("__i0")).alias("off")).drop(
            "__i1", "__i0"
        )
        after = nw.col(day) >= nw.col("start")
    keep = nw.when(after).then(nw.col("off"))
    return framed.with_columns(keep.cast(nw.Int64).alias("off"))


def entry_units(entries: nw.LazyFrame[Any], people: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """``entries`` with a dense Int64 entry index ``__e`` and the user's ``first_seen_day``.

    Made cheap to re-read with ``reuse`` (collected on Polars, one row per entry):
    the return events are then joined once, to a small in-memory frame, carrying
    ``__e`` and ``start``. Measured at 10M users and 369M events on Polars streaming:
    joining the events to the lazy entry plan (a group-by and a join of the users)
    peaked at 12–15 GB, to the collected frame at 4.5 GB, with identical counts.
    """
    indexed = row_index(entries, "__e", order_by=["user_id", "key"])
    if "first_seen_day" in indexed.collect_schema().names():  # first-seen cohorts carry it
        return reuse(indexed)
    first = people.select("user_id", "first_seen_day")
    return reuse(indexed.join(first, on="user_id", how="inner"))


#: Periods are packed below this factor next to the entry index (see ``matrix_counts``).
_SPAN = 1 << 16


def matrix_counts(
    dataset: Dataset,
    activity: str | Sequence[str],
    units: nw.LazyFrame[Any],
    kind: str,
    unit: str,
    windows: str,
    brackets: list[tuple[int, int]],
    *,
    horizon: int | None = None,
    week_start: str = "monday",
) -> pl.DataFrame:
    """Collected ``segment, key, period, count``; ``period = -1`` rows hold the cohort sizes.

    ``units`` are the entries from :func:`entry_units`; their return days come from
    one join of the events with them (:func:`return_days` carrying ``__e, start``).
    ``"unbounded"`` counts, per entry, the last period (or bracket) with a return,
    returns after column ``horizon - 1`` (or after the last bracket) left out;
    :func:`matrix_cells` turns them into "on or after" counts.
    """
    hourly = windows == "24h"
    sizes = units.group_by("segment", "key").agg(nw.len().alias("count"))
    sizes = sizes.with_columns(nw.lit(-1).cast(nw.Int64).alias("period"))
    carry = ["__e", "start", "start_h"] if hourly else ["__e", "start"]
    days = return_days(dataset, activity, units, carry=carry, hourly=hourly)
    names = units.select("__e", "segment", "key")
    if brackets:
        # position of a return: days since the origin (rolling) or whole units (calendar, 24h)
        pos = nw.col("day") - nw.col("start") if windows == "rolling" else nw.col("off")
        framed = days if windows == "rolling" else _offset(days, "day", unit, windows, week_start)
        flags = [
            ((pos >= lo) & (pos <= hi)).cast(nw.Int64).fill_null(0).alias(f"b{i}")
            for i, (lo, hi) in enumerate(brackets)
        ]
        cols = [f"b{i}" for i in range(len(brackets))]
        flagged = framed.with_columns(*flags)
        if kind == "unbounded":  # the last bracket with a return: i + 1 where flagged, else 0
            hit = nw.max_horizontal(*[nw.col(b) * (i + 1) for i, b in enumerate(cols)]) - 1
            per = flagged.with_columns(hit.alias("off")).group_by("__e").agg(nw.col("off").max())
            hits = per.filter(nw.col("off") >= 0).join(names, on="__e", how="inner")
            long = hits.group_by("segment", "key", "off").agg(nw.len().alias("count"))
            long = long.rename({"off": "period"})
        else:
            per = flagged.group_by("__e").agg(*[nw.col(b).max() for b in cols])
            named = per.join(names, on="__e", how="inner")
            wide = collect(named.group_by("segment", "key").agg(*[nw.col(b).sum() for b in cols]))
            long_pl = wide.unpivot(index=["segment", "key"], variable_name="b", value_name="count")
            long_pl = long_pl.with_columns(pl.col("b").str.slice(1).cast(pl.Int64).alias("period"))
            out = pl.concat([collect(sizes), long_pl.drop("b")], how="diagonal_relaxed")
            return out.with_columns(pl.col("period", "count", "key").cast(pl.Int64))
    elif kind == "unbounded":  # retained in k = last return (up to the horizon) at period >= k
        pairs = _offset(days, "day", unit, windows, week_start).filter(~nw.col("off").is_null())
        if horizon is not None:
            pairs = pairs.filter(nw.col("off") <= horizon - 1)
        last = pairs.group_by("__e").agg(nw.col("off").max())
        grouped = last.join(names, on="__e", how="inner").group_by("segment", "key", "off")
        long = grouped.agg(nw.len().alias("count")).rename({"off": "period"})
    elif (fast := _presorted_counts(dataset, activity, units, unit, windows)) is not None:
        long = fast.rename({"off": "period"})
        # period 0 holds the origin: every entry is retained there (the cohort size)
        first = sizes.with_columns(nw.lit(0).cast(nw.Int64).alias("period"))
        cols = ["segment", "key", "period", "count"]
        long = nw.concat([first.select(cols), long.select(cols)], how="vertical")
    else:
        # The distinct (entry, period) pass over every return event is the costly step:
        # it runs on one packed integer (entry index x 2**16 + period) through
        # ``sorted_distinct`` (a hash set of them held ~100 bytes a pair); the segment is
        # joined after, to the distinct pairs only.
        pairs = _offset(days, "day", unit, windows, week_start)
        packed = pairs.filter(~nw.col("off").is_null()).select(
            (nw.col("__e") * _SPAN + nw.col("off")).alias("__p")
        )
        distinct = sorted_distinct(packed, "__p").select(
            (nw.col("__p") // _SPAN).alias("__e"), (nw.col("__p") % _SPAN).alias("off")
        )
        named = distinct.join(names, on="__e", how="inner")
        long = named.group_by("segment", "key", "off").agg(nw.len().alias("count"))
        long = long.rename({"off": "period"})
    cols = ["segment", "key", "period", "count"]
    both = nw.concat([sizes.select(cols), long.select(cols)], how="vertical")
    return collect(both).with_columns(pl.col("key", "period", "count").cast(pl.Int64))


def _presorted_counts(
    dataset: Dataset,
    activity: str | Sequence[str],
    units: nw.LazyFrame[Any],
    unit: str,
    windows: str,
) -> nw.LazyFrame[Any] | None:
    """``segment, key, off, count``: entries with a return in rolling period ``off > 0``,
    from the shared days, or None.

    Applies on Polars and DuckDB to ``activity="any"`` with rolling windows when every
    user has one entry that starts on the first day (acquisition cohorts): on Polars the
    shared days come sorted by user and day (:func:`~insights.metrics.activity_days.sorted_day_offsets`),
    so the packed (user, period) keys are already in order and the distinct pass
    needs no sort. The offsets come in parts of whole users (DuckDB: user-id ranges),
    so each part's distinct periods are counted by segment and cohort on their own
    and the counts added up (only the counts are kept between parts). Period 0 (the
    origin, active by definition) is left to the caller: every entry is retained
    there. With it, the same counts as the general path (tests/metrics/test_shared_days.py,
    tests/metrics/test_day_offsets.py).
    """
    engine = backend_name(units)
    if activity != "any" or windows != "rolling" or engine not in ("polars", "duckdb"):
        return None
    if engine == "polars":  # collected once: read by the checks, the offsets and the join
        units = reuse(units.select("user_id", "start", "first_seen_day", "segment", "key"))
    c = nw.col
    check = collect(  # one aggregate: only its row leaves the engine
        units.select(
            nw.len().alias("n"),
            c("user_id").n_unique().alias("distinct"),
            (c("start") == c("first_seen_day")).fill_null(False).all().alias("same"),
        )
    )
    n, distinct, same = check.row(0)
    if n == 0 or distinct != n or not same:
        return None
    width = DAYS[unit]
    origins = units.select("user_id", "first_seen_day")
    # period 0 (days 0 .. width - 1) holds the origin: counted already, its days left out
    fast = sorted_day_offsets(dataset, origins, span=_DAY_SPAN, after=width - 1)
    if fast is None:
        return None
    parts, lo = fast
    names = units.select((c("user_id").cast(nw.Int64) - lo).alias("__i"), "segment", "key")
    counts = []
    for packed in parts:
        pairs = key_periods(packed, width=width, presorted=True)
        named = pairs.join(names, on="__i", how="inner")
        counts.append(named.group_by("segment", "key", "off").agg(nw.len().alias("count")))
    if len(counts) == 1:
        return counts[0]
    summed = c("count").sum().cast(nw.Int64)
    return materialize_parts(counts).group_by("segment", "key", "off").agg(summed)


def _bucket_bounds(key: pl.Expr, unit: str, week_start: str = "monday") -> tuple[pl.Expr, pl.Expr]:
    """First and last epoch day of calendar bucket ``key`` (as built by ``_with_index``)."""
    if unit == "day":
        return key, key
    if unit == "week":
        first = week_first_day(key, week_start)
        return first, first + 6
    months = 3 if unit == "quarter" else 1
    m = key * months
    start = pl.date(m // 12, m % 12 + 1, 1)
    end = start.dt.offset_by(f"{months}mo").dt.offset_by("-1d")
    return start.cast(pl.Int32).cast(pl.Int64), end.cast(pl.Int32).cast(pl.Int64)


def _index_of_day(day: pl.Expr, unit: str, week_start: str = "monday") -> pl.Expr:
    if unit == "day":
        return day
    if unit == "week":
        return week_index(day, week_start)
    date = day.cast(pl.Int32).cast(pl.Date)
    return date.dt.year().cast(pl.Int64) * 12 + date.dt.month().cast(pl.Int64) - 1


def _labels(cohort_unit: str, week_start: str = "monday") -> pl.Expr:
    """Cohort labels: ``2024-01-31``, ISO ``2024-W05`` (Sunday weeks: their first day), ``2024-01``, ``2024Q1``."""
    start = pl.col("first_day").cast(pl.Int32).cast(pl.Date)
    if cohort_unit == "quarter":
        q = (start.dt.month() - 1) // 3 + 1
        return pl.format("{}Q{}", start.dt.year(), q)
    week = "%G-W%V" if week_start == "monday" else "%Y-%m-%d"
    fmt = {"day": "%Y-%m-%d", "week": week, "month": "%Y-%m"}[cohort_unit]
    return start.dt.strftime(fmt)


def _period_first(
    reach: pl.Expr, k: pl.Expr | int, unit: str, windows: str, week_start: str
) -> pl.Expr:
    """First epoch day of period ``k`` for an entry whose origin is on day ``reach``."""
    if windows == "calendar":
        bucket = _index_of_day(reach, unit, week_start) + k
        return _bucket_bounds(bucket, unit, week_start)[0]
    return reach + k * DAYS[unit]


def _period_last(
    last: pl.Expr, k: pl.Expr | int, unit: str, windows: str, week_start: str
) -> pl.Expr:
    """Last epoch day of period ``k`` for an entry whose origin is on day ``last``.

    A 24-hour day window starting at 23:00 ends on the next calendar day, hence the + 1.
    """
    if windows == "calendar":
        bucket = _index_of_day(last, unit, week_start) + k
        return _bucket_bounds(bucket, unit, week_start)[1]
    length = DAYS[unit]
    end = last + k * length + (length - 1)
    return end + 1 if windows == "24h" and unit == "day" else end


def matrix_grid(
    sizes: pl.DataFrame,
    *,
    cohort_unit: str,
    unit: str,
    windows: str,
    brackets: list[tuple[int, int]] | None,
    horizon: int | None,
    today: int,
    span: tuple[int, int] | None,
    kind: str = "on",
    week_start: str = "monday",
) -> pl.DataFrame:
    """One row per segment x cohort x observable period with ``complete`` and day ranges.

    ``reach`` (the earliest possible start) bounds the periods listed, ``last_day`` (the
    latest possible start) decides ``complete``; ``span`` (the ``period`` of the
    matrix's entries) narrows both. ``complete`` means final: for ``kind="unbounded"``
    a cell is final once the last column (``horizon - 1``, or the last bracket) has
    ended for every possible entry, and never without a horizon (returns up to
    ``as_of`` keep arriving).
    """
    first, last = _bucket_bounds(pl.col("key"), cohort_unit, week_start)
    frame = sizes.with_columns(first.alias("first_day"), last.alias("last_day"))
    frame = frame.with_columns(pl.col("first_day").alias("reach"))
    if span is not None:
        frame = frame.with_columns(
            pl.max_horizontal("first_day", pl.lit(span[0])).alias("reach"),
            pl.min_horizontal("last_day", pl.lit(span[1])).alias("last_day"),
        )
    reach, last_day = pl.col("reach"), pl.col("last_day")
    if brackets is not None:
        rows = [(k, lo, hi) for k, (lo, hi) in enumerate(brackets)]
        table = pl.DataFrame(rows, schema=["period", "lo", "hi"], orient="row")
        grid = frame.join(table, how="cross")
        if windows == "rolling":  # brackets in days since the origin
            opens, ends = reach + pl.col("lo"), last_day + pl.col("hi")
            grid = grid.with_columns(pl.col("lo").alias("day_from"), pl.col("hi").alias("day_to"))
            final_end = last_day + brackets[-1][1]
        else:  # brackets in whole units (calendar units, or 24-hour windows)
            opens = _period_first(reach, pl.col("lo"), unit, windows, week_start)
            ends = _period_last(last_day, pl.col("hi"), unit, windows, week_start)
            final_end = _period_last(last_day, brackets[-1][1], unit, windows, week_start)
            grid = grid.with_columns(
                pl.lit(None, pl.Int64).alias("day_from"), pl.lit(None, pl.Int64).alias("day_to")
            )
        done = final_end <= today if kind == "unbounded" else ends <= today
        return grid.filter(opens <= today).with_columns(done.alias("complete")).drop("lo", "hi")
    if windows == "calendar":
        top = _index_of_day(pl.lit(today), unit, week_start) - _index_of_day(
            reach, unit, week_start
        )
    else:
        top = (today - reach) // DAYS[unit]
    if horizon is not None:
        top = pl.min_horizontal(top, pl.lit(horizon - 1))
    grid = frame.with_columns(pl.int_ranges(0, top + 1, dtype=pl.Int64).alias("period")).explode(
        "period"
    )
    grid = grid.filter(pl.col("period").is_not_null())
    k = pl.col("period")
    if windows == "rolling":
        length = DAYS[unit]
        grid = grid.with_columns(
            (k * length).alias("day_from"), (k * length + length - 1).alias("day_to")
        )
    else:
        grid = grid.with_columns(
            pl.lit(None, pl.Int64).alias("day_from"), pl.lit(None, pl.Int64).alias("day_to")
        )
    if kind == "unbounded":
        if horizon is None:
            done = pl.lit(False)
        else:
            done = _period_last(last_day, horizon - 1, unit, windows, week_start) <= today
    else:
        done = _period_last(last_day, k, unit, windows, week_start) <= today
    return grid.with_columns(done.alias("complete"))


def parse_brackets(
    kind: str, brackets: Sequence[tuple[int, int]] | None, windows: str
) -> list[tuple[int, int]] | None:
    """The brackets as ``(lo, hi)`` int pairs (``None`` without brackets), checked.

    ``kind="bracket"`` needs them (a return in bracket k); ``kind="unbounded"`` takes
    them optionally (a return in bracket k or a later one); ``kind="on"`` refuses them.
    """
    if brackets is None and kind != "bracket":
        return None
    if kind not in ("bracket", "unbounded"):
        raise ValueError(
            f"brackets are used with kind='bracket' (returned in bracket k) or kind='unbounded' "
            f"(in bracket k or a later one), got kind={kind!r}"
        )
    spans = [(int(lo), int(hi)) for lo, hi in (brackets or [])]
    unit = "days" if windows == "rolling" else "units"
    if not spans or any(lo < 0 or hi < lo for lo, hi in spans):
        raise ValueError(
            f"brackets must be a non-empty list of (lo, hi) {unit} with 0 <= lo <= hi, "
            f"e.g. [(1, 7), (8, 30), (31, 90)]; got {brackets!r}"
        )
    return spans


def matrix_cells(
    grid: pl.DataFrame,
    counts: pl.DataFrame,
    kind: str,
    cohort_unit: str,
    week_start: str = "monday",
) -> pl.DataFrame:
    """The grid with ``retained``, ``cohort`` label and ``cohort_start``."""
    hits = counts.filter(pl.col("period") >= 0).rename({"count": "hits"})
    if kind == "unbounded":  # hits(m): last return in period m; retained(k) = sum over m >= k
        suffix = pl.col("hits").reverse().cum_sum().reverse().over("segment", "key")
        hits = hits.sort("segment", "key", "period").with_columns(suffix)
        on = {"on": "period", "by": ["segment", "key"], "strategy": "forward"}
        cells = grid.sort("period").join_asof(hits.sort("period"), check_sortedness=False, **on)  # type: ignore[arg-type]
    else:
        cells = grid.join(hits, on=["segment", "key", "period"], how="left")
    return cells.with_columns(
        pl.col("hits").fill_null(0).cast(pl.Int64).alias("retained"),
        _labels(cohort_unit, week_start).alias("cohort"),
        pl.col("first_day").cast(pl.Int32).cast(pl.Date).alias("cohort_start"),
    )


def with_mean_row(cells: pl.DataFrame) -> pl.DataFrame:
    """Append per segment the ``cohort = "mean"`` rows: sums over the complete cells.

    A mean cell pools the final (complete) cells of its period only; it is itself
    flagged complete when every cohort's cell of that period is final (so it is
    final too), not while some cohort's cell is provisional or not yet observable.
    """
    keys = ["segment", "period", "day_from", "day_to"]
    sums = cells.filter("complete").group_by(keys).agg(pl.col("retained", "n").sum())
    cohorts = cells.group_by("segment").agg(pl.col("key").n_unique().alias("__c"))
    every = cells.group_by(keys).agg(pl.col("complete").sum().alias("__done"))
    every = every.join(cohorts, on="segment").select(
        *keys, (pl.col("__done") == pl.col("__c")).alias("__all")
    )
    mean = cells.select(keys).unique().join(sums, on=keys, how="left", nulls_equal=True)
    mean = mean.join(every, on=keys, how="left", nulls_equal=True)
    mean = mean.with_columns(
        pl.lit("mean").alias("cohort"),
        pl.lit(None, pl.Date).alias("cohort_start"),
        pl.col("retained", "n").fill_null(0),
        ((pl.col("n").fill_null(0) > 0) & pl.col("__all")).alias("complete"),
    )
    cols = ["segment", "cohort", "cohort_start", *keys[1:], "retained", "n", "complete"]
    both = pl.concat([cells.select(cols), mean.select(cols)], how="vertical_relaxed")
    order = (pl.col("cohort") == "mean").alias("__mean")
    both = (
        both.with_columns(order).sort("segment", "__mean", "cohort_start", "period").drop("__mean")
    )
    return both.with_columns(pl.col("period", "day_from", "day_to", "retained", "n").cast(pl.Int64))


def finish_cells(cells: pl.DataFrame, alpha: float, min_cell: int) -> pl.DataFrame:
    out = wilson_frame(cells, successes="retained", n="n", alpha=alpha)
    # a cell describes fewer than min_cell users when its cohort does, or when its retained
    # users or those not retained do (3 of 40 retained: the rate tells who the 3 are)
    few = [(c > 0) & (c < min_cell) for c in (pl.col("retained"), pl.col("n") - pl.col("retained"))]
    small = ((pl.col("n") > 0) & (pl.col("n") < min_cell)) | few[0] | few[1]
    rate = pl.when(pl.col("n") > 0).then(pl.col("retained") / pl.col("n"))
    shown = [rate.alias("value"), *[pl.col(c) for c in ("ci_low", "ci_high", "retained")]]
    hide = [pl.when(~small).then(e) for e in shown]  # small cells: null, flagged, kept
    return out.with_columns(*hide, small.alias("suppressed"))
