"""The appendix's generated parts: parameters, metric definitions, method notes.

And the users columns the chapters split by (:func:`segment_columns`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from insights._options import Lang, resolve_min_cell
from insights._registry import METRICS
from insights.narrative.catalog import catalog, check_lang, text_message, text_metric

__all__ = [
    "DEFAULT_SEGMENTS",
    "segment_columns",
    "table_parameters",
    "table_definitions",
    "describe_methods",
]

#: Segment columns the chapters split by when ``segment_by`` is not given (report.md §2).
DEFAULT_SEGMENTS: tuple[str, ...] = ("generation", "city_tier", "category", "channel", "platform")


def segment_columns(*, by: str | Sequence[str] | None = None, where: Any = None) -> list[str]:
    """The users columns a chapter splits its segments by.

    Parameters
    ----------
    by
        A users column or a list of them (default: generation, city tier, category,
        channel and platform).
    where
        The report's user filter: a column it fixes to given values is no split, so
        it is left out (unless nothing would be left).

    Examples
    --------
    >>> import insights as ins
    >>> ins.segment_columns()
    ['generation', 'city_tier', 'category', 'channel', 'platform']
    >>> ins.segment_columns(by=["platform", "channel"], where={"platform": "douyin"})
    ['channel']
    """
    columns = [by] if isinstance(by, str) else list(by or DEFAULT_SEGMENTS)
    fixed = set(where) if isinstance(where, Mapping) else set()
    return [c for c in columns if c not in fixed] or columns


def table_parameters(data: Mapping[str, Any], *, lang: Lang | None = None) -> pl.DataFrame:
    """``parameter, setting`` rows of the parameters a report was rendered with (values as text).

    Examples
    --------
    >>> import insights as ins
    >>> ins.table_parameters({"quarter": "2024Q4", "filters": None}).rows()
    [('quarter', '2024Q4'), ('filters', '–')]
    """
    check_lang(lang)
    rows = [(k, "–" if v is None else str(v)) for k, v in data.items()]
    return pl.DataFrame(rows, schema={"parameter": pl.String, "setting": pl.String}, orient="row")


def table_definitions(*, lang: Lang | None = None) -> pl.DataFrame:
    """``metric, definition``: every metric definition of the catalog (``definition.*``), in ``lang``.

    Examples
    --------
    >>> import insights as ins
    >>> import polars as pl
    >>> ins.table_definitions(lang="en").filter(pl.col("metric") == "AOV")["definition"][0][:13]
    'GMV / orders '
    """
    lang = check_lang(lang)
    messages = catalog(lang)
    rows = []
    for key, text in messages.items():
        if not key.startswith("definition."):
            continue
        metric = key.split(".", 1)[1]
        info = METRICS.get(metric)
        if info is not None and info.fields:  # a family: "DN retention"
            name = messages[f"metric.{metric}"].format(**dict.fromkeys(info.fields, "N"))
        else:
            name = text_metric(metric, lang=lang)
        rows.append((name, text))
    return pl.DataFrame(rows, schema={"metric": pl.String, "definition": pl.String}, orient="row")


def describe_methods(*, lang: Lang | None = None, min_cell: int | None = None) -> list[str]:
    """The method notes (censoring, CIs, change test, multiple testing, small cells) as sentences.

    ``lang`` and ``min_cell`` (named in the small-cell note) default to the values set
    with ``ins.options``.

    Examples
    --------
    >>> import insights as ins
    >>> len(ins.describe_methods(lang="en"))
    5
    """
    lang, min_cell = check_lang(lang), resolve_min_cell(min_cell)
    keys = ("censoring", "ci", "change_test", "multiple", "small_cells")
    return [text_message(f"method.{k}", lang=lang, min_cell=min_cell) for k in keys]
