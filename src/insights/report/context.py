"""The shared set-up of a chapter notebook: one call, ``ctx = ins.chapter(data, quarter=...)``.

Every chapter starts from its parameters cell (``data``, ``quarter``, ``compare_to``,
``segment_by``, ``filters``, ``lang``, ``min_cell``) and needs the same things: the
dataset restricted to the report's users and observed to the quarter's last day, the
quarter and its comparison, the year, the segment columns, and the presentation options
set once. :func:`chapter` does that and returns them as one object.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from insights._display import Markdown, NotAvailable
from insights._options import Lang, options

if TYPE_CHECKING:
    from insights.data.dataset import Dataset
    from insights.metrics._periods import Period

__all__ = ["ChapterContext", "NotEnoughDataError", "Section", "chapter"]


@dataclass(frozen=True)
class ChapterContext:
    """What every chapter reads; built by :func:`chapter`.

    Attributes
    ----------
    ds
        The dataset, restricted to the users of ``where`` (the report's scope by
        construction) and observed to the quarter's last moment (or its own ``as_of``
        when earlier).
    period
        The report's quarter (:class:`~insights.metrics._periods.Period`).
    previous
        The label of the comparison quarter (``compare_to``; ``"previous"`` by default).
    year
        The quarter's year, as a label (``"2024"``).
    dims
        The users columns the chapter splits its segments by (``ins.segment_columns``).
    where
        ``None``: the scope is in ``ds``; a call with a filter of its own passes it.
    quarter, compare_to, lang, min_cell
        The parameters as given (``compare_to`` resolved to ``"previous"`` when ``None``).
    activity
        ``"orders"`` when orders are the only activity the data hold (no views, no
        interactions): chapters then show purchase-based views (time to the next order,
        repeat-purchase curves, purchase cohorts) instead of activity retention;
        ``"none"`` without any activity table; ``"all"`` otherwise.
    simulated
        Whether the data come from the simulator (its ``manifest.json``): only then do
        chapters compare with the simulator's truth and calibrate against the documents.
    compare_documents
        Whether chapters compare this data's figures with the industry documents'
        (``dataset.yaml`` ``report: {compare_documents: false}`` switches it off).
    segment_need
        What a section that splits by segments needs when none of the requested users
        columns is present (for :meth:`section`).
    new_users
        Users first seen in the quarter (within the report's scope).
    first_full_year
        The first calendar year the data cover whole (a baseline taken from the data,
        never a fixed year); ``None`` when no year before the report's is complete.
    users_from_orders
        The users table was derived from orders (``first_seen_at`` = first order): a
        first-purchase conversion would be 100% by construction and is not shown.
    """

    ds: Dataset
    period: Period
    previous: str
    year: str
    dims: list[str]
    where: Any
    quarter: str
    compare_to: str
    lang: Lang
    min_cell: int
    activity: str = "all"
    simulated: bool = False
    compare_documents: bool = True
    users_from_orders: bool = False
    segment_need: str = ""
    first_full_year: int | None = None
    new_users: int = 0

    def section(self, *needs: str) -> Section:
        """A :class:`Section` of this chapter that needs the tables / ``table.column`` s ``needs``."""
        return Section(self.ds, needs=needs, lang=self.lang)

    def has(self, need: str) -> bool:
        """Whether the dataset has the table or ``table.column`` ``need``."""
        return _present(self.ds, need)


def chapter(
    data: str | Path | Dataset,
    *,
    quarter: str,
    compare_to: str | None = None,
    by: str | Sequence[str] | None = None,
    where: dict[str, Any] | None = None,
    lang: Lang = "zh",
    min_cell: int = 10,
    churn_gap: int | None = None,
    compare_documents: bool | None = None,
) -> ChapterContext:
    """The set-up of a chapter notebook from its parameters, in one call.

    Sets ``ins.options(lang=, min_cell=, currency=, compare_documents=)`` for the session (every sentence,
    table and figure of the chapter follows them), loads ``data`` (a dataset directory or
    an :class:`~insights.Dataset`), keeps only the users of ``where`` (``Dataset.restrict``:
    every number of the chapter is about them) and observes it to the end of ``quarter``.

    Parameters
    ----------
    data
        Dataset directory (or a loaded :class:`~insights.Dataset`).
    quarter
        The report's quarter, like ``"2024Q4"``.
    compare_to
        ``"previous"`` (``None``), ``"year_ago"`` or a quarter label.
    by
        The users column(s) segments are split by (default: the report's dimensions).
    where
        The report's users filter, e.g. ``{"platform": "douyin"}``.
    lang, min_cell
        Presentation, set once for the session.
    churn_gap
        Days without activity that make a churn, for every retention of the chapter
        (default: the dataset's, ``dataset.yaml`` ``churn_gap``, else 30).
    compare_documents
        Compare with the industry documents' figures (default: ``dataset.yaml``
        ``report: {compare_documents: ...}``, else ``True``).

    Examples
    --------
    >>> import insights as ins
    >>> ctx = ins.chapter("data/demo", quarter="2024Q4", lang="en")  # doctest: +SKIP
    >>> ctx.period.label, ctx.previous, ctx.year  # doctest: +SKIP
    ('2024Q4', '2024Q3', '2024')
    """
    from insights.data.dataset import Dataset
    from insights.data.load import load_dataset
    from insights.metrics._periods import comparison_period, parse_period
    from insights.narrative.appendix import is_simulated, segment_columns

    options(lang=lang, min_cell=min_cell)  # before loading: messages of the load in this language
    period = parse_period(quarter)
    ds = data if isinstance(data, Dataset) else load_dataset(data)
    ds = ds.restrict(where).with_as_of(min(period.end_at, ds.as_of))
    if churn_gap is not None:
        ds = replace(ds, churn_gap=int(churn_gap))
    compare = compare_to or "previous"
    users = ds.raw("users").collect_schema().names() if ds.has("users") else []
    wanted = segment_columns(by=by, where=where)
    dims = [d for d in wanted if d in users]
    activity = (
        "all"
        if ds.has("views") or ds.has("interactions")
        else "orders"
        if ds.has("orders")
        else "none"
    )
    config = ds.meta.get("config") or {}
    report = config.get("report")
    report = report if isinstance(report, dict) else {}
    documents = (
        report.get("compare_documents", True) if compare_documents is None else compare_documents
    )
    options(lang=lang, min_cell=min_cell, currency=ds.currency, compare_documents=bool(documents))
    derived = {str(d.get("key")) for d in ds.meta.get("derivations") or () if isinstance(d, dict)}
    return ChapterContext(
        ds=ds,
        period=period,
        previous=comparison_period(period, compare_to=compare).label,
        year=period.label[:4],
        dims=dims,
        where=None,
        quarter=quarter,
        compare_to=compare,
        lang=lang,
        min_cell=min_cell,
        activity=activity,
        simulated=is_simulated(ds),
        compare_documents=bool(documents),
        users_from_orders="users_from_orders" in derived,
        segment_need="" if dims else "|".join(f"users.{d}" for d in wanted),
        first_full_year=_first_full_year(ds, before=period.start.year),
        new_users=_new_users(ds, period),
    )


class NotEnoughDataError(ValueError):
    """The data are there but too few or too short for a section (raised by :meth:`Section.require`)."""


class Section:
    """One section of a chapter: available, or one sentence saying what would enable it.

    Built by :meth:`ChapterContext.section` with the tables and columns the section needs
    (``"views"``, ``"users.city_tier"``). Used in three places of a chapter:

    * the compute cell runs inside ``with section:``; a missing table
      (:class:`~insights.MissingTableError`), a missing column or too little data
      (:meth:`require`) ends the block and marks the section unavailable, with the
      reason, instead of failing the chapter;
    * the heading cell shows ``ins.show(ins.text_heading(key), <bullets>) if section
      else section.heading(key)``: the heading with the one "not available" sentence
      (once per section, however many calls needed the missing input);
    * figure and table cells draw ``... if section else None`` (no output: the renderer
      leaves the cell out), or show ``section.note`` in their place when the section is
      that one figure or table.

    Why by hand: a notebook section spans cells, and no notebook library skips a run of
    cells on a condition known only at run time.

    Examples
    --------
    >>> import polars as pl, insights as ins
    >>> ds = ins.load_dataset(users=pl.DataFrame({"user_id": [1], "first_seen_at": ["2024-01-01"]}))
    >>> sec = Section(ds, needs=("views", "users.city_tier"), lang="en")
    >>> bool(sec)
    False
    >>> print(sec.note)
    Not available: needs the views table (views.csv / views.parquet) and the city_tier column of the users table.
    >>> ok = Section(ds, needs=("users",), lang="en")
    >>> with ok:
    ...     ok.require(False, "no users were acquired in 2024Q4")
    >>> print(ok.note)
    Not available: no users were acquired in 2024Q4.
    """

    def __init__(self, ds: Dataset, *, needs: Sequence[str] = (), lang: Lang = "zh") -> None:
        self.lang: Lang = lang
        self._missing: list[str] = [n for n in needs if not _present(ds, n)]
        self._why: str | None = None
        self._silent = False  # an earlier section already said why

    def __bool__(self) -> bool:
        return not self._missing and self._why is None

    def __enter__(self) -> Section:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> bool:
        if exc is None:
            return False
        from insights.data.dataset import MissingTableError

        if isinstance(exc, MissingTableError):
            if exc.reason:  # a loaded table left out by the report's filter
                self._why = self._why or exc.reason
            elif exc.table not in self._missing:
                self._missing.append(exc.table)
            return True
        column = _missing_column(exc)
        if column is not None:
            if column not in self._missing:
                self._missing.append(column)
            return True
        if isinstance(exc, NotEnoughDataError):
            self._why = self._why or str(exc)
            return True
        from insights.metrics.retention import NoEventsError

        if isinstance(exc, NoEventsError):  # e.g. nobody has a second order yet
            from insights.narrative.catalog import text_message

            self._why = self._why or text_message("unavailable.no_events", lang=self.lang)
            return True
        # its inputs were missing before the block ran: whatever failed, failed for that
        return bool(self._missing) and isinstance(exc, Exception)

    def require(self, condition: object, why: str = "", **fields: object) -> None:
        """End the section with a reason unless ``condition`` holds.

        ``why`` is a reason key (``no_new_users``, ``one_segment``, ``short_history``,
        ``no_rows``, ``by_construction``, ``orders_activity``, ``simulated_only``,
        ``documents_off``) filled with ``fields`` in the chapter's language, or a sentence.
        A :class:`Section` as ``condition`` ends this one silently when that one is not
        available (it already says why); so does a condition without ``why`` (a section
        that is not for this data, such as the purchase views of data with views).
        """
        if isinstance(condition, Section) and not condition:
            self._silent = True  # the earlier section says why, once
            raise NotEnoughDataError("")
        if not condition and not why:
            self._silent = True  # not for this data: nothing to say
            raise NotEnoughDataError("")
        if not condition:
            from insights.narrative.catalog import text_message

            key = f"unavailable.{why}"
            try:
                text = text_message(key, lang=self.lang, **{k: str(v) for k, v in fields.items()})
            except KeyError:
                text = why  # a sentence of the caller's
            raise NotEnoughDataError(text)

    @property
    def note(self) -> NotAvailable | None:
        """``None`` when available or silent; else the one "not available" sentence."""
        if self or self._silent:
            return None
        from insights.narrative.catalog import text_message

        lang = self.lang
        if self._missing:
            parts = [_describe_need(n, lang=lang) for n in self._missing]
            glue, last = (
                text_message("unavailable.list", lang=lang),
                text_message("unavailable.and", lang=lang),
            )
            joined = parts[0] if len(parts) == 1 else glue.join(parts[:-1]) + last + parts[-1]
            text = text_message("unavailable.needs", lang=lang, needs=joined)
        else:
            text = text_message("unavailable.why", lang=lang, why=str(self._why).rstrip(".。"))
        return NotAvailable(text)

    def heading(self, key: str) -> Markdown | None:
        """What an unavailable section shows: its heading and the "not available" sentence.

        ``None`` when the section is available (the chapter shows its own content) or
        silent. The heading cell of a section reads
        ``ins.show(ins.text_heading(key), <bullets>) if section else section.heading(key)``.
        """
        note = self.note
        if note is None:
            return None
        from insights._display import show
        from insights.narrative.catalog import text_heading

        return show(text_heading(key, lang=self.lang), note)

    def __repr__(self) -> str:
        return "Section(available)" if self else f"Section({self.note})"


def _first_full_year(ds: Dataset, *, before: int) -> int | None:
    """The first calendar year whole inside the data (first user seen .. ``as_of``), before ``before``."""
    import narwhals as nw

    from insights.data._backend import collect

    if not ds.has("users"):
        return None
    first = collect(ds.table("users").select(nw.col("first_seen_at").min())).item()
    if first is None:
        return None
    year = first.year if (first.month, first.day) == (1, 1) else first.year + 1
    return year if year < before and year < ds.as_of.year else None


def _new_users(ds: Dataset, period: Period) -> int:
    """Users first seen in ``period``."""
    import narwhals as nw

    from insights.data._backend import collect, datetime_lit

    if not ds.has("users"):
        return 0
    users = ds.table("users")
    seen = nw.col("first_seen_at")
    start, end = datetime_lit(period.start_at, users), datetime_lit(period.end_at, users)
    return int(
        collect(users.select(((seen >= start) & (seen <= end)).cast(nw.Int64).sum())).item() or 0
    )


def _present(ds: Dataset, need: str) -> bool:
    if not need:
        return True
    if "|" in need:  # alternatives: any one of them
        return any(_present(ds, n) for n in need.split("|"))
    table, _, column = need.partition(".")
    if not ds.has(table):
        return False
    if not column:
        return True
    return column in ds.raw(table).collect_schema().names()


def _describe_need(need: str, *, lang: Lang) -> str:
    from insights.narrative.catalog import text_message

    if "|" in need:
        return text_message("unavailable.or", lang=lang).join(
            _describe_need(n, lang=lang) for n in need.split("|")
        )
    table, _, column = need.partition(".")
    if column:
        return text_message("unavailable.column", lang=lang, table=table, column=column)
    if table not in _TABLES:
        return text_message("unavailable.bare_column", lang=lang, column=table)
    return text_message("unavailable.table", lang=lang, table=table)


_TABLES = ("users", "orders", "views", "interactions", "community", "experiments", "spend")
_COLUMN = re.compile(r'(?:unable to find column|column[s]? not found:?)\s*"?([^"\s;]+)"?', re.I)


def _missing_column(exc: BaseException) -> str | None:
    """The column a missing-column error of Polars or narwhals names (``None`` for other errors)."""
    import narwhals as nw
    import polars as pl

    from insights.metrics.durations import MissingColumnError

    if isinstance(exc, MissingColumnError):  # a by= or where= column: one of the users'
        return f"users.{exc.column}"
    if not isinstance(exc, pl.exceptions.ColumnNotFoundError | nw.exceptions.ColumnNotFoundError):
        return None
    found = _COLUMN.search(str(exc))
    if not found:
        return "?"
    column = found.group(1)
    from insights.data.contract import CONTRACT

    # the engine does not say which table: the contract's, users first (by= columns are theirs)
    owners = [t for t in ("users", *CONTRACT) if column in CONTRACT[t].names]
    return f"{owners[0]}.{column}" if owners else column
