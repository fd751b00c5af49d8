"""The ``Dataset``: contract-shaped lazy tables plus what is known about them."""

from __future__ import annotations

import datetime as dt
import html
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import narwhals as nw
import polars as pl

from insights.data._backend import datetime_lit, to_lazy
from insights.data.quality import QualityLog

if TYPE_CHECKING:
    from insights.metrics._segments import Where

__all__ = [
    "DEFAULT_CHURN_GAP",
    "Dataset",
    "EmptyPeriodWarning",
    "MissingTableError",
    "TIME_COLUMNS",
    "churn_gap_of",
    "warn_empty",
]

#: The timestamp column of each table that ``as_of`` cuts on.
TIME_COLUMNS: dict[str, str] = {
    "users": "first_seen_at",
    "orders": "ordered_at",
    "views": "started_at",
    "interactions": "at",
    "community": "at",
    "experiments": "assigned_at",
    "spend": "period_start",
}


class MissingTableError(LookupError):
    """An analysis needs a table the dataset does not have.

    ``reason`` says why a table that was loaded is not available (a restricted
    dataset leaves out the tables it cannot restrict); without it the message asks
    for the file.
    """

    def __init__(
        self, table: str, needed_for: str | None = None, reason: str | None = None
    ) -> None:
        self.table = table
        self.needed_for = needed_for
        self.reason = reason
        what = f" (needed for {needed_for})" if needed_for else ""
        fix = reason or f"add {table}.parquet or {table}.csv"
        super().__init__(f"table '{table}' is not in this dataset{what}; {fix}")


class EmptyPeriodWarning(UserWarning):
    """A period (or filter) leaves no users in scope: the result is empty.

    Raised as a warning, not an error, because an empty quarter is sometimes
    expected (a comparison quarter before the data starts); the warning names the
    metric and the period so a typo in ``period=`` or ``where=`` is not silent.
    ``warnings.simplefilter("error", ins.EmptyPeriodWarning)`` makes it an error.
    Issued by :func:`warn_empty` from the places every metric's rows pass through.
    """


def warn_empty(what: str, periods: Sequence[str]) -> None:
    """Warn that ``what`` has no users in scope in ``periods`` (:class:`EmptyPeriodWarning`).

    The warning points at the first caller outside ``insights`` (the user's line).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_empty("retention_d30", ["2019Q1"])
    >>> print(caught[0].message)
    retention_d30: no users in scope in 2019Q1, so the result is empty; check period= (the data cover up to as_of) and where=
    """
    if not periods:
        return
    level, frame = 1, sys._getframe(1)
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith("insights."):
        level, frame = level + 1, frame.f_back  # type: ignore[assignment]
    listed = ", ".join(str(p) for p in periods)
    warnings.warn(
        f"{what}: no users in scope in {listed}, so the result is empty; check period= "
        "(the data cover up to as_of) and where=",
        EmptyPeriodWarning,
        stacklevel=level + 1,
    )


@dataclass(frozen=True)
class Dataset:
    """Contract-shaped tables as lazy frames, with the observation window and a quality log.

    Tables hold canonical column names (:data:`insights.data.contract.CONTRACT`) and naive local
    timestamps. Build one with :func:`insights.load_dataset`; analyses read tables
    through :meth:`table`, which applies ``as_of``.

    Parameters
    ----------
    tables
        Table name -> native lazy frame (Polars ``LazyFrame``, DuckDB relation or
        PySpark ``DataFrame``).
    as_of
        Observation end (inclusive): rows after it are left out of every analysis.
    timezone, currency
        From ``dataset.yaml`` (defaults ``Asia/Shanghai`` and ``CNY``).
    quality
        What loading and validation found (counts, never silent drops).
    source
        Where the data came from, for reports.
    meta
        What loading knew and did (``config``, ``derived``, ``activity``, ``simulated``,
        ... see :func:`insights.load_dataset`).
    churn_gap
        Days without activity that make a churn for analyses that do not set their own
        ``churn_gap=`` (``dataset.yaml`` ``churn_gap``); ``None``: 30 days
        (:func:`churn_gap_of`). Kept by :meth:`restrict` and :meth:`with_as_of`.

    In Jupyter a dataset introduces itself (``_repr_html_``): its tables with row counts,
    columns and time span, ``as_of``, time zone, currency, source and quality notes. The
    counts cost one aggregate query per table; ``repr()`` reads no data.
    """

    tables: Mapping[str, Any]
    as_of: dt.datetime
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    quality: QualityLog = field(default_factory=QualityLog)
    source: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    churn_gap: int | None = None

    def has(self, name: str) -> bool:
        """Whether the dataset has table ``name``."""
        return name in self.tables

    @property
    def names(self) -> list[str]:
        """Names of the tables present."""
        return list(self.tables)

    def table(self, name: str, *, needed_for: str | None = None) -> nw.LazyFrame[Any]:
        """Table ``name`` as a narwhals LazyFrame, cut at ``as_of`` (inclusive).

        Raises
        ------
        MissingTableError
            When the dataset has no such table; the message names the table.
        """
        if name not in self.tables:
            raise MissingTableError(name, needed_for, self._left_out(name))
        frame = to_lazy(self.tables[name])
        column = TIME_COLUMNS.get(name)
        if column is None:
            return frame
        return frame.filter(nw.col(column) <= datetime_lit(self.as_of, frame))

    def raw(self, name: str) -> nw.LazyFrame[Any]:
        """Table ``name`` without the ``as_of`` cut (for validation and quality counts)."""
        if name not in self.tables:
            raise MissingTableError(name, reason=self._left_out(name))
        return to_lazy(self.tables[name])

    def restrict(self, where: Where) -> Dataset:
        """The same data with every table restricted to the users matching ``where`` (lazy).

        ``where`` takes the forms metrics accept: ``{column: value or [values]}`` on
        users columns (several columns: all must match) or a narwhals expression;
        ``None`` (or ``{}``) returns the dataset itself. Nothing is computed: the users
        table is filtered, and every table with a ``user_id`` keeps only the rows of
        those users (a semi-join, the same on Polars, DuckDB and Spark). A table
        without ``user_id`` (``spend``) is filtered on the ``where`` columns it has;
        when it lacks one of them its rows cannot be attributed to the users in
        scope, so it is left out, and reading it raises :class:`MissingTableError`
        saying why. Restrictions compose: ``ds.restrict(a).restrict(b)`` keeps the
        users matching both. Every analysis of the result is about those users only,
        and the results cache (``insights.data._cache``) keys on the restriction, so a
        restricted dataset never returns a result of the whole one.

        Raises
        ------
        ValueError
            A ``where`` column is not a users column.

        Examples
        --------
        >>> import datetime as dt, polars as pl
        >>> import insights as ins
        >>> t0 = dt.datetime(2024, 1, 1)
        >>> ds = ins.frames_dataset(
        ...     users=pl.DataFrame({"user_id": [1, 2, 3], "first_seen_at": [t0] * 3,
        ...                         "platform": ["douyin", "kuaishou", "douyin"]}),
        ...     orders=pl.DataFrame({"order_id": [10, 11, 12], "user_id": [1, 2, 3],
        ...                          "ordered_at": [t0] * 3, "amount": [5.0, 7.0, 9.0]}),
        ... )
        >>> douyin = ds.restrict({"platform": "douyin"})
        >>> douyin.table("orders").collect().to_native()["amount"].sort().to_list()
        [5.0, 9.0]
        """
        from insights.metrics._segments import where_expr

        cond = where_expr(where)
        if cond is None:
            return self
        users = self.raw("users")
        columns = users.collect_schema().names()
        if isinstance(where, Mapping):
            unknown = [c for c in where if c not in columns]
            if unknown:
                raise ValueError(
                    f"where: {unknown} are not users columns; users columns are {columns}"
                )
        users = users.filter(cond)
        ids = users.select("user_id")
        tables: dict[str, Any] = {}
        left_out: dict[str, str] = dict(self.meta.get("left_out") or {})
        for name, native in self.tables.items():
            frame = to_lazy(native)
            names = frame.collect_schema().names()
            if name == "users":
                tables[name] = users.to_native()
            elif "user_id" in names:
                tables[name] = frame.join(ids, on="user_id", how="semi").to_native()
            elif isinstance(where, Mapping) and all(c in names for c in where):
                tables[name] = frame.filter(cond).to_native()
            else:
                left_out[name] = _why_left_out(where, names)
        restriction = (*tuple(self.meta.get("restriction") or ()), _key(where))
        meta = {**self.meta, "restriction": restriction, "left_out": left_out}
        return replace(self, tables=tables, meta=meta)

    def _left_out(self, name: str) -> str | None:
        return (self.meta.get("left_out") or {}).get(name)

    def with_as_of(self, as_of: dt.datetime | dt.date | str) -> Dataset:
        """The same data observed up to another moment (a date means the end of that day)."""
        return replace(self, as_of=parse_as_of(as_of))

    def _overview(self) -> list[dict[str, Any]]:
        """One row per table: ``table, rows, columns, time_column, first, last``.

        ``rows``, ``first`` and ``last`` are what the analyses see (rows up to ``as_of``):
        one aggregate query per table in its engine (a count and the min and max of its
        timestamp column, :data:`TIME_COLUMNS`), never a collect of the rows. Cheap on big
        data, but not free: it reads every table once.

        Examples
        --------
        >>> import datetime as dt, polars as pl
        >>> import insights as ins
        >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [dt.datetime(2024, 1, 1), dt.datetime(2024, 3, 1)]})
        >>> [(r["table"], r["rows"], str(r["first"]), str(r["last"])) for r in ins.frames_dataset(users=users)._overview()]
        [('users', 2, '2024-01-01 00:00:00', '2024-03-01 00:00:00')]
        """
        from insights.data._backend import collect

        rows = []
        for name in self.names:
            frame = self.table(name)
            columns = frame.collect_schema().names()
            column = TIME_COLUMNS.get(name)
            span = column if column in columns else None
            aggs = [nw.len().alias("rows")]
            if span is not None:
                aggs += [nw.col(span).min().alias("first"), nw.col(span).max().alias("last")]
            stats = collect(frame.select(*aggs)).row(0, named=True)
            rows.append(
                {
                    "table": name,
                    "rows": int(stats["rows"] or 0),
                    "columns": columns,
                    "time_column": span,
                    "first": stats.get("first"),
                    "last": stats.get("last"),
                }
            )
        return rows

    def __repr__(self) -> str:
        """Tables, observation end, zone, currency, source and the number of findings (no data read)."""
        findings = len(self.quality.entries)
        return (
            f"Dataset(tables={self.names}, as_of={self.as_of:%Y-%m-%d %H:%M:%S}, "
            f"timezone={self.timezone!r}, currency={self.currency!r}, source={self.source!r}, "
            f"quality={findings} finding{'s' if findings != 1 else ''})"
        )

    def _repr_html_(self) -> str:
        """The dataset in Jupyter: tables, row counts, columns, time spans, ``as_of``, zone, currency, source, quality notes.

        Counts and spans come from :meth:`_overview` (one aggregate query per table, no
        rows collected). Every value from the data is HTML-escaped.
        """
        return _overview_html(self, self._overview())


def _when(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    return str(value)


def _overview_html(dataset: Dataset, tables: list[dict[str, Any]]) -> str:
    """The HTML of :meth:`Dataset._repr_html_` (every value escaped)."""
    e = html.escape
    facts = [
        ("as_of", _when(dataset.as_of)),
        ("timezone", dataset.timezone),
        ("currency", dataset.currency),
        ("source", dataset.source or "in memory"),
    ]
    if dataset.churn_gap is not None:
        facts.append(("churn_gap", f"{dataset.churn_gap} days"))
    if dataset.meta.get("notes"):  # the notes of dataset.yaml
        facts.append(("notes", str(dataset.meta["notes"])))
    head = "".join(
        f"<tr><th style='text-align:left'>{k}</th><td>{e(str(v))}</td></tr>" for k, v in facts
    )
    body = "".join(
        "<tr>"
        f"<td>{e(t['table'])}</td><td style='text-align:right'>{t['rows']:,}</td>"
        f"<td>{e(_when(t['first']))}</td><td>{e(_when(t['last']))}</td>"
        f"<td>{e(t['time_column'] or '')}</td><td>{e(', '.join(t['columns']))}</td>"
        "</tr>"
        for t in tables
    )
    left_out = (dataset.meta.get("left_out") or {}).items()
    notes = [
        (q.severity, q.table, q.column or "", q.rule, f"{q.rows:,}", q.message)
        for q in dataset.quality.entries
    ] + [("info", name, "", "left_out", "", why) for name, why in left_out]
    note_rows = "".join(
        "<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in note) + "</tr>" for note in notes
    )
    quality = (
        "<p>Quality notes:</p><table><thead><tr><th>severity</th><th>table</th><th>column</th>"
        f"<th>rule</th><th>rows</th><th>message</th></tr></thead><tbody>{note_rows}</tbody></table>"
        if notes
        else "<p>Quality notes: none.</p>"
    )
    return (
        "<div class='insights-dataset'><strong>Dataset</strong>"
        f"<table>{head}</table>"
        "<table><thead><tr><th>table</th><th>rows (up to as_of)</th><th>first</th><th>last</th>"
        f"<th>time column</th><th>columns</th></tr></thead><tbody>{body}</tbody></table>"
        f"{quality}</div>"
    )


def _why_left_out(where: Any, names: list[str]) -> str:
    if isinstance(where, Mapping):
        missing = ", ".join(c for c in where if c not in names)
        return (
            f"it has neither user_id nor {missing}, so its rows cannot be restricted to "
            f"where={dict(where)!r} and a restricted dataset leaves it out"
        )
    return (
        "it has no user_id, so its rows cannot be restricted to the users of a where= "
        "expression and a restricted dataset leaves it out (a {column: value} filter on a "
        "column it has keeps it)"
    )


def _key(where: Any) -> Any:
    """The restriction as plain data for the results cache (an expression stays itself: never cached)."""
    if not isinstance(where, Mapping):
        return where
    return {
        str(c): (list(v) if isinstance(v, list | tuple) else v) for c, v in sorted(where.items())
    }


#: The churn gap, in days, of an analysis when neither the call nor the dataset sets one.
DEFAULT_CHURN_GAP = 30


def churn_gap_of(dataset: Dataset, churn_gap: int | None = None) -> int:
    """The churn gap an analysis uses: its own ``churn_gap``, else the dataset's, else 30.

    Examples
    --------
    >>> import datetime as dt
    >>> ds = Dataset(tables={}, as_of=dt.datetime(2024, 1, 1), churn_gap=90)
    >>> churn_gap_of(ds), churn_gap_of(ds, 7), churn_gap_of(Dataset(tables={}, as_of=ds.as_of))
    (90, 7, 30)
    """
    if churn_gap is not None:
        return churn_gap
    own = getattr(dataset, "churn_gap", None)
    return DEFAULT_CHURN_GAP if own is None else own


def parse_as_of(value: dt.datetime | dt.date | str) -> dt.datetime:
    """A datetime for ``as_of``; a date (or ``YYYY-MM-DD``) means the end of that day."""
    if isinstance(value, str):
        value = (
            dt.datetime.fromisoformat(value)
            if ("T" in value or " " in value)
            else dt.date.fromisoformat(value)
        )
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return dt.datetime.combine(value, dt.time(23, 59, 59, 999999))


def frames_dataset(*, as_of: dt.datetime | dt.date | str | None = None, **tables: Any) -> Dataset:
    """A ``Dataset`` straight from in-memory frames, without validation (tests and examples).

    ``as_of`` defaults to the end of the day of the users table's last ``first_seen_at``
    or of any event, whichever is latest. pandas DataFrames are converted to Polars
    as :func:`insights.load_dataset` does (``insights.data._read.engine_frame``).
    """
    from insights.data._read import engine_frame

    tables = {name: engine_frame(frame, name) for name, frame in tables.items()}
    if as_of is None:
        latest: dt.datetime | None = None
        for name, frame in tables.items():
            column = TIME_COLUMNS.get(name)
            if column is None:
                continue
            value = to_lazy(frame).select(nw.col(column).max()).collect("polars").item()
            if value is not None:
                value = (
                    value
                    if isinstance(value, dt.datetime)
                    else dt.datetime.combine(value, dt.time())
                )
                latest = value if latest is None else max(latest, value)
        as_of = (latest or dt.datetime.now()).date()
    return Dataset(
        tables={k: v.lazy() if isinstance(v, pl.DataFrame) else v for k, v in tables.items()},
        as_of=parse_as_of(as_of),
    )
