"""The appendix's generated parts: parameters, metric definitions, method notes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from insights.narrative.catalog import catalog, check_lang, message, metric_label

__all__ = ["DEFAULT_SEGMENTS", "parameters_table", "definitions_table", "method_notes"]

#: Segment columns the chapters split by when ``segment_by`` is not given (report.md §2).
DEFAULT_SEGMENTS: tuple[str, ...] = ("generation", "city_tier", "category", "channel", "platform")


def parameters_table(parameters: Mapping[str, Any], *, lang: str) -> pl.DataFrame:
    """``parameter, setting`` rows of the parameters a report was rendered with (values as text)."""
    check_lang(lang)
    rows = [(k, "–" if v is None else str(v)) for k, v in parameters.items()]
    return pl.DataFrame(rows, schema={"parameter": pl.String, "setting": pl.String}, orient="row")


def definitions_table(*, lang: str) -> pl.DataFrame:
    """``metric, definition``: every metric definition of the catalog (``definition.*``), in ``lang``.

    Examples
    --------
    >>> definitions_table(lang="en").filter(pl.col("metric") == "AOV")["definition"][0][:13]
    'GMV / orders '
    """
    check_lang(lang)
    messages = catalog(lang)
    rows = []
    for key, text in messages.items():
        if not key.startswith("definition."):
            continue
        metric = key.split(".", 1)[1]
        name = (
            metric_label("retention_d7", lang=lang).replace("7", "N")
            if metric == "retention_dN"
            else metric_label(metric, lang=lang)
        )
        rows.append((name, text))
    return pl.DataFrame(rows, schema={"metric": pl.String, "definition": pl.String}, orient="row")


def method_notes(*, lang: str, min_cell: int = 10) -> list[str]:
    """The method notes (censoring, CIs, change test, multiple testing, small cells) as sentences."""
    check_lang(lang)
    keys = ("censoring", "ci", "change_test", "multiple", "small_cells")
    return [message(f"method.{k}", lang=lang, min_cell=min_cell) for k in keys]
