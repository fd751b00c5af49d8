"""The one place that knows how data engines differ.

Everything else in ``insights`` speaks narwhals. Where narwhals has no portable
spelling for an operation (measured: day differences of datetimes, casting
dates to integers), the portable replacement lives here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import narwhals as nw
import polars as pl

__all__ = [
    "epoch_day",
    "to_lazy",
    "collect",
    "backend_name",
    "with_month_index",
    "gap_summary",
    "sorted_distinct",
    "datetime_lit",
    "reuse",
    "materialize",
    "materialize_parts",
    "id_ranges",
    "row_index",
    "duckdb_settings",
    "distinct_days",
    "key_periods",
]

_DAYS_BEFORE_1970 = 1969 * 365 + 1969 // 4 - 1969 // 100 + 1969 // 400


#: Ticks of each datetime time unit in one day.
_UNITS_PER_DAY = {"ns": 86_400 * 10**9, "us": 86_400 * 10**6, "ms": 86_400 * 10**3, "s": 86_400}


def epoch_day(column: str | nw.Expr, *, like: nw.LazyFrame[Any] | None = None) -> nw.Expr:
    """Whole days since 1970-01-01 of a date or datetime column, as an integer.

    Portable spelling: built from ``dt.year`` and ``dt.ordinal_day`` (proleptic
    Gregorian arithmetic), which every narwhals backend supports, because a
    datetime difference in days is not portable across Polars, DuckDB and Spark.

    Why per engine. Pass the frame the expression will run on as ``like`` where
    many rows go through it (event tables). On Polars the day is then the date
    cast to an integer (``Int64``), which skips two calendar conversions per row
    (measured on 27M view timestamps: 0.5 s against 2.0 s for the portable
    spelling); a naive (wall-clock) datetime column named by a string needs no
    date at all: its integer timestamp floor-divided by a day of its time unit
    (the 43M event timestamps at 1M users, read and converted: 0.48–0.53 s
    against 0.58–0.65 s through the date). On DuckDB it is the date minus
    1970-01-01 (a ``DATE`` difference is whole days: 0.96 s of CPU against 1.75 s
    on 43M event timestamps). Without ``like``, or on other engines, the portable
    spelling is used; all give the same days (local wall-clock dates of time-zone
    aware columns).

    Examples
    --------
    >>> import datetime as dt, polars as pl, narwhals as nw
    >>> f = nw.from_native(pl.DataFrame({"a": [dt.datetime(2024, 1, 1, 23)]}))
    >>> f.select(d=epoch_day("a")).item(), f.select(d=epoch_day("a", like=f.lazy())).item()
    (19723, 19723)
    """
    expr = nw.col(column) if isinstance(column, str) else column
    if like is not None and backend_name(like) == "polars":
        dtype = like.collect_schema().get(column) if isinstance(column, str) else None
        per_day = _UNITS_PER_DAY.get(getattr(dtype, "time_unit", ""), 0)
        if isinstance(dtype, nw.Datetime) and dtype.time_zone is None and per_day:
            return expr.cast(nw.Int64) // per_day  # floor: days before 1970 stay exact
        return expr.dt.date().cast(nw.Int64)
    if like is not None and backend_name(like) == "duckdb":  # DATE - DATE: whole days
        return expr.dt.date() - nw.lit(dt.date(1970, 1, 1))
    y = expr.dt.year()
    yy = y - 1
    days_before_year = y * 365 + yy // 4 - yy // 100 + yy // 400 - 365
    return days_before_year - _DAYS_BEFORE_1970 + expr.dt.ordinal_day() - 1


def to_lazy(native: Any) -> nw.LazyFrame[Any]:
    """Wrap a Polars (eager or lazy), DuckDB or PySpark frame as a narwhals LazyFrame.

    Eager frames of other libraries (pandas, Arrow) are converted to Polars first
    (``insights.data._read.engine_frame``): analyses never run on the pandas backend.
    """
    if isinstance(native, nw.LazyFrame):
        return native
    if isinstance(native, pl.DataFrame):
        return nw.from_native(native.lazy())
    if isinstance(native, nw.DataFrame) and backend_name(native) == "polars":  # type: ignore[arg-type]
        return native.lazy()
    if not isinstance(native, pl.LazyFrame):
        from insights.data._read import engine_frame

        native = engine_frame(native, "a table")
        if isinstance(native, pl.DataFrame):
            return nw.from_native(native.lazy())
    return nw.from_native(native)


def backend_name(frame: nw.LazyFrame[Any]) -> str:
    """``"polars"``, ``"duckdb"``, ``"pyspark"``, ... for a narwhals frame."""
    return str(frame.implementation).split(".")[-1].lower()


def collect(frame: nw.LazyFrame[Any] | nw.DataFrame[Any]) -> pl.DataFrame:
    """Collect a (small, aggregated) narwhals frame into an eager Polars frame.

    Polars lazy frames are collected with the streaming engine so that inputs
    larger than memory work; other engines compute in place and hand back Arrow.
    """
    if isinstance(frame, nw.DataFrame):
        out = frame.to_native()
        return out if isinstance(out, pl.DataFrame) else pl.from_arrow(frame.to_arrow())  # type: ignore[return-value]
    if backend_name(frame) == "polars":
        native = frame.to_native()
        return native.collect(engine="streaming")
    return frame.collect("polars").to_native()


def reuse(frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """A lazy frame that is cheap to read more than once (a small per-user frame, say).

    Why per engine. A lazy plan read by two collects is computed twice; Polars
    has no cross-collect cache, so a Polars frame is collected here (streaming
    engine) and handed back lazy: worth it only for frames far smaller than their
    inputs (measured: per-user lifetimes of a year's cohort at 1M users, read by
    two aggregations). A DuckDB relation is computed once into a temporary table
    of its own connection (:func:`materialize`), so later queries read the table
    instead of computing the plan again. Spark frames stay lazy (``cache`` would
    pin executor memory for the session).

    Examples
    --------
    >>> f = nw.from_native(pl.DataFrame({"a": [1, 2]}).lazy()).with_columns(b=nw.col("a") * 2)
    >>> g = reuse(f)
    >>> backend_name(g), collect(g)["b"].to_list()
    ('polars', [2, 4])
    """
    if backend_name(frame) in ("polars", "duckdb"):
        return materialize(frame)
    return frame


def duckdb_settings() -> dict[str, str]:
    """The DuckDB settings ``insights`` applies before it writes a temporary table.

    ``memory_limit`` from ``ins.options(duckdb_memory_limit=...)`` (default
    ``"6GB"``, or 80% of the RAM on a machine with less than 7.5 GB; ``""`` leaves
    DuckDB's own, 80% of the RAM) and ``temp_directory``
    (where DuckDB spills what does not fit) from ``ins.options(duckdb_temp_directory=...)``,
    by default ``duckdb-tmp`` under the results cache (``$INSIGHTS_CACHE_DIR``), or
    under the system's temporary folder when the cache is off.

    Examples
    --------
    >>> sorted(duckdb_settings())
    ['memory_limit', 'temp_directory']
    """
    from insights._options import current
    from insights.data._cache import _cache_dir

    opts = current()
    out: dict[str, str] = {}
    if opts.duckdb_memory_limit:
        out["memory_limit"] = opts.duckdb_memory_limit
        ram = _physical_ram()
        if opts.duckdb_memory_limit == "6GB" and ram and 0.8 * ram < 6 * 2**30:
            out["memory_limit"] = f"{int(0.8 * ram) // 2**20}MB"  # a smaller machine: 80% of it
    folder = opts.duckdb_temp_directory
    if folder is None:
        root = _cache_dir()
        base = (
            root
            if root is not None
            else Path(tempfile.gettempdir()) / f"insights-{getattr(os, 'getuid', lambda: 'user')()}"
        )
        folder = str(base / "duckdb-tmp")
    out["temp_directory"] = folder
    return out


def _physical_ram() -> int | None:
    """Bytes of physical memory (None where the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def _configure_duckdb(relation: Any) -> None:
    """Apply :func:`duckdb_settings` to the relation's connection (best effort).

    DuckDB refuses to move its temporary directory once it holds files: the one in
    use is then kept. The ``SET`` runs on the connection itself where the relation
    exposes it (``_con``): through the relation it would bind the relation's whole
    plan first (measured at 1M users: 70 ms a statement on the shared days' plan,
    against under 1 ms on the connection).
    """
    con = getattr(relation, "_con", None)
    run = con.execute if con is not None else (lambda sql: relation.query("__insights_cfg", sql))
    for name, value in duckdb_settings().items():
        if name == "temp_directory":
            with contextlib.suppress(OSError):
                Path(value).mkdir(parents=True, exist_ok=True, mode=0o700)
        text = value.replace("'", "''")
        with contextlib.suppress(Exception):
            run(f"SET {name} = '{text}'")


def _drop_table(relation: Any, name: str) -> None:
    with contextlib.suppress(Exception):  # the connection may be closed already
        relation.query("__insights_drop", f'DROP TABLE IF EXISTS temp.main."{name}"')


def materialize(frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """``frame`` computed once and handed back lazy, on its own engine.

    Polars: collected (streaming engine) into memory. DuckDB: written to a
    ``TEMP TABLE`` (a unique name) of the relation's own connection, after
    :func:`duckdb_settings` (memory limit, spill folder) are applied to that
    connection; the table is dropped when the last relation reading it is
    garbage collected. A temporary table is private to the connection and works on
    a read-only database too. Other engines: ``frame`` unchanged (lazy).

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> f = nw.from_native(con.sql("SELECT range AS a FROM range(3)")).with_columns(b=nw.col("a") + 1)
    >>> g = materialize(f)
    >>> "__insights_" in g.to_native().sql_query(), sorted(collect(g)["b"].to_list())
    (True, [1, 2, 3])
    """
    return materialize_parts([frame])


def materialize_parts(parts: Sequence[nw.LazyFrame[Any]]) -> nw.LazyFrame[Any]:
    """The rows of every frame in ``parts`` (same columns), computed one part at a time.

    Like :func:`materialize` of their concatenation, but each part is computed
    on its own: DuckDB appends the parts to one temporary table, one statement
    each (``INSERT ... BY NAME``), so a part's hash tables and sorts are freed
    before the next part starts; Polars collects each part and puts them end to
    end, in order. Other engines: the lazy concatenation.

    Why. A distinct pass or a window over hundreds of millions of rows outgrows
    memory and spills; cut by user id into parts that each fit, the same work is
    faster (measured on DuckDB at 10M users, the distinct user-days of 432M
    events under a 6 GB memory limit: 63 s in one pass, 41–44 s in 8 parts).

    Examples
    --------
    >>> import duckdb
    >>> rel = nw.from_native(duckdb.connect().sql("SELECT range AS a FROM range(5)"))
    >>> both = materialize_parts([rel.filter(nw.col("a") < 2), rel.filter(nw.col("a") >= 3)])
    >>> sorted(collect(both)["a"].to_list())
    [0, 1, 3, 4]
    """
    engine = backend_name(parts[0])
    if engine == "polars":
        frames = [p.to_native().collect(engine="streaming") for p in parts]
        out = pl.concat(frames, rechunk=False) if len(frames) > 1 else frames[0]
        return nw.from_native(out.lazy())
    if engine != "duckdb":
        return nw.concat(list(parts), how="vertical") if len(parts) > 1 else parts[0]
    relation = parts[0].to_native()
    _configure_duckdb(relation)
    name = f"__insights_{secrets.token_hex(8)}"
    relation.query("__insights_src", f'CREATE TEMP TABLE "{name}" AS SELECT * FROM __insights_src')
    for part in parts[1:]:
        part.to_native().query(
            "__insights_src", f'INSERT INTO temp.main."{name}" BY NAME SELECT * FROM __insights_src'
        )
    table = relation.query("__insights_src", f'SELECT * FROM temp.main."{name}"')
    weakref.finalize(table, _drop_table, relation, name)
    return nw.from_native(table)


def row_index(frame: nw.LazyFrame[Any], name: str, *, order_by: Sequence[str]) -> nw.LazyFrame[Any]:
    """``frame`` with ``name``: a dense Int64 numbering ``0 .. n-1`` of its rows (lazy).

    For a join key, where any numbering serves. Why per engine. DuckDB numbers the
    rows as it reads them (``row_number() OVER ()``), without a sort: at 10M rows 0.3 s
    against 1.5 s ordered; the numbers may then differ between runs, the results
    read through them do not. Other engines number in ``order_by`` order (a lazy
    row index needs an order in narwhals).

    Examples
    --------
    >>> f = nw.from_native(pl.DataFrame({"a": [5, 3]}).lazy())
    >>> collect(row_index(f, "i", order_by=["a"])).select("a", "i").sort("a").rows()
    [(3, 0), (5, 1)]
    """
    if backend_name(frame) == "duckdb":
        quoted = '"' + name.replace('"', '""') + '"'
        sql = f"SELECT *, CAST(row_number() OVER () - 1 AS BIGINT) AS {quoted} FROM __insights_src"
        return nw.from_native(frame.to_native().query("__insights_src", sql))
    return frame.with_row_index(name, order_by=list(order_by)).with_columns(
        nw.col(name).cast(nw.Int64)
    )


def id_ranges(lo: int, hi: int, *, count: int, per: int) -> list[tuple[int, int]]:
    """``lo..hi`` cut into consecutive inclusive ranges of equal width, each holding about
    ``per`` of the ``count`` ids spread over it (at least one range).

    Sized by how many ids there are, not by the width of ``lo..hi``: sparse ids give
    few wide ranges, not many empty ones.

    Examples
    --------
    >>> id_ranges(1, 10, count=10, per=4)
    [(1, 4), (5, 8), (9, 10)]
    >>> id_ranges(0, 10**12, count=6, per=4)  # six sparse ids: two ranges
    [(0, 500000000000), (500000000001, 1000000000000)]
    """
    pieces = max(1, -(-max(count, 1) // max(per, 1)))
    width = -(-(hi - lo + 1) // pieces)
    return [(a, min(a + width - 1, hi)) for a in range(lo, hi + 1, width)]


#: Day offsets are packed below this factor in the key of ``distinct_days`` (Polars).
_DAY_BITS = 20
#: Users per id range of the Polars distinct days (see :func:`distinct_days`).
SLICE_USERS = 2_500_000
#: Users per id range of the DuckDB distinct days (see :func:`distinct_days`).
DUCKDB_SLICE_USERS = 1_250_000
#: Users per range of the DuckDB per-user passes over the shared days (gap summaries,
#: periods; see ``insights.metrics.activity_days.sorted_day_offsets``): 8 parts at 10M
#: users, one at 1M (measured there: two parts cost 1 s more than they saved).
DUCKDB_SLICE_UNITS = 1_250_000


def distinct_days(
    events: nw.LazyFrame[Any],
    *,
    last_day: int,
    user_range: tuple[int, int] | None,
    users: int | None = None,
    origins: nw.LazyFrame[Any] | None = None,
) -> nw.LazyFrame[Any]:
    """The distinct ``user_id, day`` rows of ``events`` (``day`` an Int64 epoch day), computed once.

    ``user_range`` = the smallest and largest ``user_id`` (integers) whose rows are
    wanted, ``None`` when ``user_id`` is not an integer. ``last_day`` is the latest
    ``day`` of any row (the ``as_of`` day). ``origins`` (DuckDB only): ``user_id,
    __f``, one row per user: every row then also holds ``__o = day - __f`` (null for
    a user without a row there), so that consumers counting from those origins read
    the offsets without a join.

    Why per engine. On Polars the pairs are packed into one integer
    ``(user_id - lo) * 2**20 + (day - last_day + 2**20 - 1)``, sorted and kept where
    a key differs from the previous one: measured on 43M events at 1M users, 3.5 s
    against 7.6 s for ``unique`` of the packed key and 12.7 s for ``unique`` of the
    two columns; the sort spills (streaming engine) and the result, one integer
    per pair, is held in memory, in ``user_id, day`` order (other user ids: a
    ``unique`` and a sort, same order). Rows of users outside ``user_range`` and days more
    than 2**20 - 1 days (2,870 years) before ``last_day`` are left out. DuckDB
    computes a ``SELECT DISTINCT`` per user-id range (its hash aggregate, which
    spills by design), or narwhals' ``unique`` (a window there) when one range holds
    every user (at 1M users, 3.9–4.4 s against 4.0–6.1 s for the ``DISTINCT``), into a
    temporary table (:func:`materialize_parts`); other engines stay lazy.

    Memory. The Polars sort holds every event's key twice (input and output):
    at 10M users (432M events) one sort peaked at 8.5 GB. With ``users`` (how many
    users there are) above :data:`SLICE_USERS`, the users are cut into id ranges of
    about that many and each range is sorted on its own, then the ranges are put end
    to end (still in key order): the peak is one range's sort plus the result.
    The dedupe after the sort runs in the sort's plan when one range holds every
    user (1M users: 1.46–1.77 s against 1.59–2.02 s for the two steps, the same
    peak), and after the sort's plan when there are several (10M users, four
    ranges: peak 4.2 GB against 5.9 GB in one plan, 18.5 s against 17.4 s).
    DuckDB cuts likewise by :data:`DUCKDB_SLICE_USERS` (measured at 10M users under a
    6 GB memory limit: 63 s in one pass, 41–44 s in 8 ranges, 47 s in 16, 51 s in
    32; the join to ``origins``, one range at a time, adds 6–9 s where a separate
    pass over the result took 20 s). Each range re-reads the events; files written by
    user chunks (the simulator's, most exports by user) skip the other ranges' row
    groups.

    Examples
    --------
    >>> f = nw.from_native(pl.DataFrame({"user_id": [5, 3, 5, 5], "day": [10, 9, 10, 8]}).lazy())
    >>> collect(distinct_days(f, last_day=10, user_range=(3, 5))).sort("user_id", "day").rows()
    [(3, 9), (5, 8), (5, 10)]
    """
    engine = backend_name(events)
    if origins is not None and engine != "duckdb":
        raise ValueError(f"origins are for DuckDB only, not {engine}")
    if engine == "duckdb":
        return _duckdb_distinct_days(events, user_range=user_range, users=users, origins=origins)
    fits = user_range is not None and user_range[1] - user_range[0] < (1 << (62 - _DAY_BITS))
    if engine == "polars" and not (fits and user_range is not None):
        return materialize(events.select("user_id", "day").unique().sort("user_id", "day"))
    if engine != "polars" or user_range is None:
        return materialize(events.select("user_id", "day").unique())
    lo, hi = user_range
    span = 1 << _DAY_BITS
    base = last_day - span + 1
    native = events.to_native()
    dtype = native.collect_schema()["user_id"]
    u, d, k = pl.col("user_id"), pl.col("day"), pl.col("__k")
    parts = []
    ranges = id_ranges(lo, hi, count=users or 0, per=SLICE_USERS)
    new = k.shift(1).is_null() | (k != k.shift(1))
    for a, b in ranges:
        keys = (
            native.filter(u.is_between(a, b) & (d >= base) & (d <= last_day))
            .select(((u.cast(pl.Int64) - lo) * span + (d - base)).alias("__k"))
            .sort("__k")
        )
        if len(ranges) == 1:  # one plan: faster, same memory at this size
            parts.append(keys.filter(new).collect(engine="streaming"))
        else:  # the sort streams on its own, the dedupe after it: less memory per range
            parts.append(keys.collect(engine="streaming").filter(new))
    keys = pl.concat(parts, rechunk=False) if len(parts) > 1 else parts[0]
    out = keys.lazy().select(
        ((k // span) + lo).cast(dtype).alias("user_id"), ((k % span) + base).alias("day")
    )
    return nw.from_native(out)


def _duckdb_distinct_days(
    events: nw.LazyFrame[Any],
    *,
    user_range: tuple[int, int] | None,
    users: int | None,
    origins: nw.LazyFrame[Any] | None,
) -> nw.LazyFrame[Any]:
    """:func:`distinct_days` on DuckDB: ``SELECT DISTINCT`` per user-id range, into one table."""
    pairs = events.select("user_id", "day")
    ranges: list[tuple[int, int] | None] = [None]
    if user_range is not None:
        lo, hi = user_range
        ranges = list(id_ranges(lo, hi, count=users or 0, per=DUCKDB_SLICE_USERS))
    parts = []
    for r in ranges:
        part, first = pairs, origins
        if r is not None and len(ranges) > 1:
            within = nw.col("user_id").is_between(r[0], r[1])
            part = part.filter(within)
            first = None if first is None else first.filter(within)
        # one range: narwhals' unique (a window), steadier than DISTINCT at this size
        # (1M users: 3.9-4.4 s against 4.0-6.1 s); several: DISTINCT, which spills
        part = part.unique() if len(ranges) == 1 else nw.from_native(part.to_native().distinct())
        if first is not None:
            part = part.join(first, on="user_id", how="left").select(
                "user_id", "day", (nw.col("day") - nw.col("__f")).alias("__o")
            )
        parts.append(part)
    return materialize_parts(parts)


def datetime_lit(value: dt.datetime, frame: nw.LazyFrame[Any]) -> nw.Expr:
    """A naive (wall-clock) datetime literal to compare with naive datetime columns of ``frame``.

    Why per engine. PySpark turns a Python ``datetime`` into a ``TIMESTAMP``
    (an instant) using the Python process's local time zone, and compares it
    with a ``TIMESTAMP_NTZ`` column through the Spark session time zone: when the
    two zones differ the cut moves by their offset (measured: ``TZ=America/New_York``
    with session zone UTC kept a row 4 hours after ``as_of``). Casting the ISO
    text to ``TIMESTAMP_NTZ`` involves no zone. Polars (2.x) cannot cast text to
    a datetime, so the other engines keep the plain literal.

    Examples
    --------
    >>> import datetime as dt, polars as pl, narwhals as nw
    >>> f = nw.from_native(pl.DataFrame({"a": [dt.datetime(2024, 1, 1, 12)]}).lazy())
    >>> collect(f.filter(nw.col("a") <= datetime_lit(dt.datetime(2024, 1, 1, 11), f))).height
    0
    """
    if backend_name(frame) == "pyspark":
        return nw.lit(value.isoformat(sep=" ")).cast(nw.Datetime("us"))
    return nw.lit(value)


def with_month_index(frame: nw.LazyFrame[Any], day: str, out: str) -> nw.LazyFrame[Any]:
    """Add column ``out`` = year * 12 + month - 1 of the epoch day in column ``day`` (>= 0).

    The portable month truncation (``dt.truncate("1mo")`` is not portable): integer
    civil-from-days arithmetic (H. Hinnant, "chrono-compatible low-level date
    algorithms"), one step per column so SQL engines do not inline a huge expression.

    Why per engine. Spark's optimizer inlines the step columns anyway when it
    pushes a later filter on ``out`` (or on anything derived from it) through the
    projections, and every step references the previous ones several times, so
    the pushed predicate grows to kilobytes and optimising it dominates (measured:
    35 s to optimise a calendar retention matrix of 7 users). Spark therefore uses
    its own ``year``/``month`` of ``date_from_unix_date``: a small expression.

    Examples
    --------
    >>> f = nw.from_native(pl.DataFrame({"d": [19723, 19782]}).lazy())  # 2024-01-01, 2024-02-29
    >>> collect(with_month_index(f, "d", "m"))["m"].to_list()
    [24288, 24289]
    """
    if backend_name(frame) == "pyspark":
        from pyspark.sql import functions as F

        native = frame.to_native()
        date = F.date_from_unix_date(F.col(day).cast("int"))
        month = (F.year(date) * 12 + F.month(date) - 1).cast("bigint")
        return nw.from_native(native.withColumn(out, month))
    c = nw.col
    doe, yoe = c("__doe"), c("__yoe")
    return (
        frame.with_columns((c(day) + 719468).alias("__z"))
        .with_columns((c("__z") // 146097).alias("__era"))
        .with_columns((c("__z") - c("__era") * 146097).alias("__doe"))
        .with_columns(((doe - doe // 1460 + doe // 36524 - doe // 146096) // 365).alias("__yoe"))
        .with_columns((doe - (365 * yoe + yoe // 4 - yoe // 100)).alias("__doy"))
        .with_columns(((5 * c("__doy") + 2) // 153).alias("__mp"))
        .with_columns((c("__mp") + 2 - 12 * (c("__mp") >= 10).cast(nw.Int64)).alias("__m0"))
        .with_columns(
            ((yoe + c("__era") * 400 + (c("__m0") <= 1).cast(nw.Int64)) * 12 + c("__m0"))
            .cast(nw.Int64)
            .alias(out)
        )
        .drop("__z", "__era", "__doe", "__yoe", "__doy", "__mp", "__m0")
    )


#: Day offsets are packed below this factor in the single sort key of ``gap_summary``.
_DAY_SPAN = 1 << 22


def gap_summary(
    days: nw.LazyFrame[Any],
    *,
    unit: str,
    day: str | None,
    gap: int,
    presorted: bool = False,
    origin: bool = False,
) -> nw.LazyFrame[Any]:
    """Per unit: the first ``day`` followed by more than ``gap`` empty days, and the last ``day``.

    ``days`` holds one row per (unit, active day), repeated days allowed, with
    ``unit`` a non-negative integer below 2**40 and whole day offsets
    ``0 <= day < 2**22``. Returns ``unit, __churn, __last``: ``__churn`` = the
    smallest active day whose next active day of the same unit is more than
    ``gap`` days later (null if none), ``__last`` = the largest active day. Not
    collected.

    Why per engine. The portable spelling is a window ``shift(-1)`` partitioned
    by unit and ordered by day, after a distinct pass: that hashes and sorts every
    row several times. On Polars and DuckDB one global sort of a single packed
    integer key (unit x 2**22 + day) is far cheaper (measured at 1M users and 36M
    events on Polars: 1.9 s against 18 s), and repeated days need no distinct pass
    (their gap is 0). Spark keeps the partitioned window: a global order would
    funnel every row through one task. ``presorted=True`` says the rows already come
    in ``unit, day`` order (as built from the shared days,
    ``insights.metrics.activity_days.sorted_day_offsets``): Polars then skips the sort.
    ``origin=True`` says every unit is also active on day 0 whether or not its rows
    hold it (the rows may then hold only the later days): a first row more than
    ``gap`` days after day 0 makes ``__churn`` 0. A unit without rows is absent from
    the result (its summary is ``__churn`` null, ``__last`` 0). ``day=None`` says
    ``days`` holds the packed key already: one column ``__k = unit * 2**22 + day``
    (as :func:`insights.metrics.activity_days.sorted_day_offsets` builds it), read
    as it is instead of unpacked into two columns and packed again.

    Examples
    --------
    >>> f = nw.from_native(pl.DataFrame({"u": [1, 1, 1, 1, 2], "d": [0, 3, 3, 40, 0]}).lazy())
    >>> collect(gap_summary(f, unit="u", day="d", gap=30)).sort("u").rows()
    [(1, 3, 40), (2, None, 0)]
    >>> later = nw.from_native(pl.DataFrame({"u": [1, 1, 2, 2], "d": [3, 40, 31, 32]}).lazy())
    >>> collect(gap_summary(later, unit="u", day="d", gap=30, origin=True)).sort("u").rows()
    [(1, 3, 40), (2, 0, 32)]
    >>> keys = later.select((nw.col("u") * 2**22 + nw.col("d")).alias("__k"))
    >>> collect(gap_summary(keys, unit="u", day=None, gap=30, origin=True)).sort("u").rows()
    [(1, 3, 40), (2, 0, 32)]
    """
    c = nw.col
    engine = backend_name(days)
    keyed = day is None  # the rows are packed keys
    if keyed and engine not in ("polars", "duckdb"):  # the portable paths read two columns
        k = c("__k")
        days = days.select((k // _DAY_SPAN).alias(unit), (k % _DAY_SPAN).alias("__day"))
        keyed = False
    d = day or "__day"
    if engine == "pyspark":
        nxt = c(d).shift(-1).over(unit, order_by=d)
        out = (
            days.with_columns(nw.when(nxt - c(d) > gap).then(c(d)).otherwise(None).alias("__churn"))
            .group_by(unit)
            .agg(c("__churn").min(), c(d).max().alias("__last"), c(d).min().alias("__first"))
        )
        return _with_origin(out, gap) if origin else out.drop("__first")
    if engine == "duckdb":
        return _duckdb_gap_summary(days, unit=unit, day=day, gap=gap, origin=origin)
    if keyed:
        packed = days.select("__k")
    else:
        packed = days.select((c(unit).cast(nw.Int64) * _DAY_SPAN + c(d)).alias("__k"))
    k, nk, pk = c("__k"), c("__next"), c("__prev")
    if engine == "polars":
        native = packed.to_native() if presorted else packed.to_native().sort("__k")
        native = native.with_columns(__next=pl.col("__k").shift(-1))
        if origin:
            native = native.with_columns(__prev=pl.col("__k").shift(1))
        packed = nw.from_native(native)
    else:
        packed = packed.with_columns(k.shift(-1).over(order_by="__k").alias("__next"))
        if origin:
            packed = packed.with_columns(k.shift(1).over(order_by="__k").alias("__prev"))
    last_of_unit = nk.is_null() | (nk // _DAY_SPAN != k // _DAY_SPAN)
    keep = last_of_unit | (nk - k > gap)
    if origin:  # the first row of a unit: is it more than ``gap`` days after day 0?
        keep = keep | pk.is_null() | (pk // _DAY_SPAN != k // _DAY_SPAN)
    runs = packed.filter(keep).select(
        (k // _DAY_SPAN).alias(unit),
        (k % _DAY_SPAN).alias("__d"),
        (~last_of_unit & (nk - k > gap)).alias("__gap"),
    )
    out = runs.group_by(unit).agg(
        nw.when(c("__gap")).then(c("__d")).otherwise(None).min().alias("__churn"),
        c("__d").max().alias("__last"),
        c("__d").min().alias("__first"),
    )
    return _with_origin(out, gap) if origin else out.drop("__first")


def _duckdb_gap_summary(
    days: nw.LazyFrame[Any], *, unit: str, day: str | None, gap: int, origin: bool
) -> nw.LazyFrame[Any]:
    """:func:`gap_summary` on DuckDB, in SQL.

    Why. The keys are non-negative, so unit and day come out of the packed key by a
    shift and a mask; narwhals spells ``//`` and ``%`` with Python's floor semantics
    for any sign (a nested ``CASE`` per row), which cost more than the window itself
    on 23.5M user-days. One window (``lead``, and ``lag`` when ``origin``) over the
    packed key, as in the portable path; ``day=None``: the rows are that key already.
    """
    bits = _DAY_SPAN.bit_length() - 1
    mask = _DAY_SPAN - 1

    def quoted(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    u = quoted(unit)
    key = (
        "__k"
        if day is None
        else f"CAST({u} AS BIGINT) * {_DAY_SPAN} + CAST({quoted(day)} AS BIGINT)"
    )
    prev = ", lag(k) OVER (ORDER BY k) AS pk" if origin else ""
    first = f" OR pk IS NULL OR pk >> {bits} <> k >> {bits}" if origin else ""
    churn = "min(d) FILTER (WHERE g)"
    if origin:  # day 0 implied: a first row more than ``gap`` days later churns on day 0
        churn = f"CASE WHEN min(d) > {int(gap)} THEN 0 ELSE {churn} END"
    sql = f"""
    WITH w AS (
        SELECT k, lead(k) OVER (ORDER BY k) AS nk{prev}
        FROM (SELECT {key} AS k FROM __insights_src)
    ), r AS (
        SELECT k >> {bits} AS unit, k & {mask} AS d,
               coalesce(nk >> {bits} = k >> {bits} AND nk - k > {int(gap)}, false) AS g
        FROM w
        WHERE nk IS NULL OR nk >> {bits} <> k >> {bits} OR nk - k > {int(gap)}{first}
    )
    SELECT unit AS {u}, CAST({churn} AS BIGINT) AS __churn, CAST(max(d) AS BIGINT) AS __last
    FROM r GROUP BY unit
    """
    return nw.from_native(days.to_native().query("__insights_src", sql))


def _with_origin(summary: nw.LazyFrame[Any], gap: int) -> nw.LazyFrame[Any]:
    """``gap_summary`` with day 0 implied: churn on day 0 when the first row is past ``gap``."""
    first_gap = nw.col("__first") > gap
    churn = nw.when(first_gap).then(nw.lit(0, nw.Int64)).otherwise(nw.col("__churn"))
    return summary.with_columns(churn.alias("__churn")).drop("__first")


def key_periods(
    keys: nw.LazyFrame[Any], *, width: int, presorted: bool = False
) -> nw.LazyFrame[Any]:
    """The distinct ``__i, off`` of packed day keys ``__k = __i * 2**22 + day``: ``off = day // width``.

    ``keys`` holds one column ``__k`` of non-negative integers, as built by
    ``insights.metrics.activity_days.sorted_day_offsets`` (a unit index times
    ``_DAY_SPAN`` plus a day offset); ``presorted`` as in :func:`sorted_distinct`.

    Why per engine. Polars packs the pair again (``__i * 2**16 + off``) and keeps it
    distinct with :func:`sorted_distinct`, which skips the sort when the keys come
    ordered. DuckDB takes unit and day out of the key with a shift and a mask in SQL
    (``SELECT DISTINCT``): narwhals spells ``//`` and ``%`` with Python's floor
    semantics for any sign, a nested ``CASE`` per row. Other engines: the portable
    spelling.

    Examples
    --------
    >>> f = nw.from_native(pl.DataFrame({"__k": [3, 40, 45, (1 << 22) + 2]}).lazy())
    >>> collect(key_periods(f, width=30, presorted=True)).rows()
    [(0, 0), (0, 1), (1, 0)]
    """
    engine = backend_name(keys)
    bits = _DAY_SPAN.bit_length() - 1
    if engine == "duckdb":
        sql = (
            f"SELECT DISTINCT __k >> {bits} AS __i, (__k & {_DAY_SPAN - 1}) // {int(width)} AS off "
            "FROM __insights_src"
        )
        return nw.from_native(keys.to_native().query("__insights_src", sql))
    k, p = nw.col("__k"), nw.col("__p")
    span = 1 << 16
    periods = keys.select(((k // _DAY_SPAN) * span + (k % _DAY_SPAN) // width).alias("__p"))
    return sorted_distinct(periods, "__p", presorted=presorted).select(
        (p // span).alias("__i"), (p % span).alias("off")
    )


def sorted_distinct(
    frame: nw.LazyFrame[Any], column: str, *, presorted: bool = False
) -> nw.LazyFrame[Any]:
    """The distinct values of one integer ``column`` of ``frame`` (lazy, one column).

    Why per engine. Polars' streaming distinct keeps a hash table of every distinct
    key at roughly 100 bytes a key: the distinct (entry, period) pairs of a cohort
    matrix at 10M users took 12.9 GB. Sorting the column and keeping each row that
    differs from the previous one needs the column alone (the sort spills like the
    one of ``gap_summary``). DuckDB's and Spark's distinct spill to disk by design,
    so they keep ``unique``. ``presorted=True`` says ``column`` already comes in
    ascending order: Polars then skips the sort.

    Examples
    --------
    >>> f = nw.from_native(pl.DataFrame({"k": [3, 1, 3, 2, 1]}).lazy())
    >>> collect(sorted_distinct(f, "k"))["k"].to_list()
    [1, 2, 3]
    """
    if backend_name(frame) != "polars":
        return frame.select(column).unique()
    k = pl.col(column)
    native = frame.to_native().select(column)
    native = native if presorted else native.sort(column)
    return nw.from_native(native.filter(k.shift(1).is_null() | (k != k.shift(1))))
