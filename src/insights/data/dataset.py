"""The ``Dataset``: contract-shaped lazy tables plus what is known about them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import narwhals as nw
import polars as pl

from insights.data._backend import datetime_lit, to_lazy
from insights.data.quality import QualityLog

__all__ = ["Dataset", "MissingTableError", "TIME_COLUMNS"]

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
    """An analysis needs a table the dataset does not have."""

    def __init__(self, table: str, needed_for: str | None = None) -> None:
        self.table = table
        self.needed_for = needed_for
        what = f" (needed for {needed_for})" if needed_for else ""
        super().__init__(f"table '{table}' is not in this dataset{what}; add {table}.parquet or {table}.csv")


@dataclass(frozen=True)
class Dataset:
    """Contract-shaped tables as lazy frames, with the observation window and a quality log.

    Tables hold canonical column names (``data-contract.md``) and naive local
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
    """

    tables: Mapping[str, Any]
    as_of: dt.datetime
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    quality: QualityLog = field(default_factory=QualityLog)
    source: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

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
            raise MissingTableError(name, needed_for)
        frame = to_lazy(self.tables[name])
        column = TIME_COLUMNS.get(name)
        if column is None:
            return frame
        return frame.filter(nw.col(column) <= datetime_lit(self.as_of, frame))

    def raw(self, name: str) -> nw.LazyFrame[Any]:
        """Table ``name`` without the ``as_of`` cut (for validation and quality counts)."""
        if name not in self.tables:
            raise MissingTableError(name)
        return to_lazy(self.tables[name])

    def with_as_of(self, as_of: dt.datetime | dt.date | str) -> Dataset:
        """The same data observed up to another moment (a date means the end of that day)."""
        return replace(self, as_of=parse_as_of(as_of))

    def __repr__(self) -> str:
        return f"Dataset(tables={self.names}, as_of={self.as_of:%Y-%m-%d %H:%M:%S}, source={self.source!r})"


def parse_as_of(value: dt.datetime | dt.date | str) -> dt.datetime:
    """A datetime for ``as_of``; a date (or ``YYYY-MM-DD``) means the end of that day."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if ("T" in value or " " in value) else dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return dt.datetime.combine(value, dt.time(23, 59, 59, 999999))


def frames_dataset(
    *, as_of: dt.datetime | dt.date | str | None = None, **tables: Any
) -> Dataset:
    """A ``Dataset`` straight from in-memory frames, without validation (tests and examples).

    ``as_of`` defaults to the end of the day of the users table's last ``first_seen_at``
    or of any event, whichever is latest.
    """
    if as_of is None:
        latest: dt.datetime | None = None
        for name, frame in tables.items():
            column = TIME_COLUMNS.get(name)
            if column is None:
                continue
            value = to_lazy(frame).select(nw.col(column).max()).collect("polars").item()
            if value is not None:
                value = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
                latest = value if latest is None else max(latest, value)
        as_of = (latest or dt.datetime.now()).date()
    return Dataset(tables={k: v.lazy() if isinstance(v, pl.DataFrame) else v for k, v in tables.items()}, as_of=parse_as_of(as_of))
