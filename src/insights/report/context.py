"""The shared set-up of a chapter notebook: one call, ``ctx = ins.chapter(data, quarter=...)``.

Every chapter starts from its parameters cell (``data``, ``quarter``, ``compare_to``,
``segment_by``, ``filters``, ``lang``, ``min_cell``) and needs the same things: the
dataset restricted to the report's users and observed to the quarter's last day, the
quarter and its comparison, the year, the segment columns, and the presentation options
set once. :func:`chapter` does that and returns them as one object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from insights._options import Lang, options

if TYPE_CHECKING:
    from insights.data.dataset import Dataset
    from insights.metrics._periods import Period

__all__ = ["ChapterContext", "chapter"]


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


def chapter(
    data: str | Path | Dataset,
    *,
    quarter: str,
    compare_to: str | None = None,
    by: str | Sequence[str] | None = None,
    where: dict[str, Any] | None = None,
    lang: Lang = "zh",
    min_cell: int = 10,
) -> ChapterContext:
    """The set-up of a chapter notebook from its parameters, in one call.

    Sets ``ins.options(lang=lang, min_cell=min_cell)`` for the session (every sentence,
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
    from insights.narrative.appendix import segment_columns

    options(lang=lang, min_cell=min_cell)
    period = parse_period(quarter)
    ds = data if isinstance(data, Dataset) else load_dataset(data)
    ds = ds.restrict(where).with_as_of(min(period.end_at, ds.as_of))
    compare = compare_to or "previous"
    return ChapterContext(
        ds=ds,
        period=period,
        previous=comparison_period(period, compare_to=compare).label,
        year=period.label[:4],
        dims=segment_columns(by=by, where=where),
        where=None,
        quarter=quarter,
        compare_to=compare,
        lang=lang,
        min_cell=min_cell,
    )
