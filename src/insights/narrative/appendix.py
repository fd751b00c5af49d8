"""The appendix's generated parts: parameters, metric definitions, method notes, benchmarks.

And the users columns the chapters split by (:func:`segment_columns`). The benchmarks
(the calibration against the documents' figures) are shown for simulated data only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from insights._display import NotAvailable, Table
from insights._options import Lang, resolve_compare_documents, resolve_min_cell
from insights._registry import METRICS, Kind
from insights.narrative.catalog import catalog, check_lang, text_message, text_metric
from insights.tables._escape import plain_text

__all__ = [
    "DEFAULT_SEGMENTS",
    "segment_columns",
    "table_parameters",
    "table_definitions",
    "describe_methods",
    "format_benchmarks",
    "is_simulated",
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


#: Most characters of one setting in the parameters table.
SETTING_LIMIT = 80


def table_parameters(data: Mapping[str, Any], *, lang: Lang | None = None) -> pl.DataFrame:
    """``parameter, setting`` rows of the parameters a report was rendered with (values as text).

    Examples
    --------
    >>> import insights as ins
    >>> ins.table_parameters({"quarter": "2024Q4", "filters": None}).rows()
    [('quarter', '2024Q4'), ('filters', '–')]

    The dataset is named by its directory, never by an absolute path (reports leave the machine):

    >>> ins.table_parameters({"data": "/home/ana/shop/data/demo"}).rows()
    [('data', 'demo')]

    Settings are one line of text, cut at :data:`SETTING_LIMIT` characters with "…" (a
    filter with a long list of values must not stretch the table over pages):

    >>> setting = ins.table_parameters({"filters": {"city": ["x" * 30] * 4}}).rows()[0][1]
    >>> len(setting), setting[-1]
    (80, '…')
    """
    check_lang(lang)
    rows = [
        (k, "–" if v is None else Path(str(v)).name if k == "data" else str(v))
        for k, v in data.items()
    ]
    rows = [(k, plain_text(v, limit=SETTING_LIMIT)) for k, v in rows]
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


def is_simulated(dataset: Any) -> bool:
    """True when the data was written by the simulator (``Dataset.meta["simulated"]``, else its ``manifest.json``).

    Simulator-only content (calibration against the documents' figures, the
    simulator's truth) is shown for such data only.

    Examples
    --------
    >>> is_simulated(object())
    False
    """
    meta = getattr(dataset, "meta", None) or {}
    if "simulated" in meta:
        return bool(meta["simulated"])
    source = getattr(dataset, "source", None)
    return source is not None and (Path(str(source)) / "manifest.json").is_file()


def format_benchmarks(
    dataset: Any, *, lang: Lang | None = None, min_cell: int | None = None
) -> Table | NotAvailable:
    """The calibration table of a simulated dataset: each document figure next to this data's value.

    One row per calibration target (:func:`insights.calibrate`): the document's value,
    its source by document title and section, this data's value with its 95% CI, the
    difference, the unit and ``n``. Simulator-only content: for data that is not
    simulated (``Dataset.meta["simulated"]``, or no simulator ``manifest.json``), or
    when document comparisons are switched off (``ins.options(compare_documents=False)``),
    the sentence saying so is returned instead (a
    :class:`~insights._display.NotAvailable`, set in place of the table).

    Parameters
    ----------
    dataset
        A loaded :class:`~insights.Dataset`.
    lang, min_cell
        Default: the values set with ``ins.options``.

    Examples
    --------
    >>> import insights as ins
    >>> ds = ins.load_dataset("data/demo")  # doctest: +SKIP
    >>> ins.format_benchmarks(ds, lang="en")  # doctest: +SKIP
    """
    from insights.calibration import calibrate
    from insights.narrative.catalog import text_unit
    from insights.narrative.documents import document_source
    from insights.tables.format import format_table

    lang = check_lang(lang)
    if not resolve_compare_documents():
        return NotAvailable(text_message("doc.switched_off", lang=lang))
    if not is_simulated(dataset):
        return NotAvailable(text_message("doc.simulated_only", lang=lang))
    bench = calibrate(dataset)
    units = {u: text_unit(u, lang=lang) for u in bench["unit"].unique().drop_nulls().to_list()}
    sources = {
        s: document_source(s, lang=lang) for s in bench["source"].unique().drop_nulls().to_list()
    }
    bench = bench.with_columns(
        (pl.col("value") - pl.col("target")).alias("difference"),
        pl.col("unit").replace(units),
        pl.col("source").replace(sources),
    )
    plain: dict[str, Kind] = {
        c: "index" for c in ("target", "value", "ci_low", "ci_high", "difference")
    }
    table = format_table(
        bench.select(
            "id",
            "metric",
            "segment",
            "period",
            "target",
            "value",
            "ci_low",
            "ci_high",
            "difference",
            "unit",
            "n",
            "source",
        ),  # fmt: skip
        lang=lang,
        min_cell=min_cell,
        kinds=plain,
        labels={"target": text_message("column.doc_value", lang=lang)},
    )
    return Table(table)
