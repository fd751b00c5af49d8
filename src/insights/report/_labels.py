"""Words on the cover, in the header and in the HTML page: the catalogs' ``report.*`` entries.

Text from data or from ``dataset.yaml`` (a title, a ``--by`` column and value, the
dataset's name) is one line of inert text (:func:`insights.tables._escape.plain_text`);
a segment's column and value, and the dataset's name, are cut at 40 characters. The
typst template prints these strings as text and pandoc's HTML metadata escapes them.
"""

from __future__ import annotations

from insights._options import Lang
from insights.narrative.catalog import catalog, text_message
from insights.tables._escape import LABEL_LIMIT, plain_text

__all__ = ["cover_details", "report_subtitle", "report_title", "short_title", "toc_title"]


def report_title(lang: Lang, title: str | None = None) -> str:
    """The report's title: ``title`` as written when given, else the catalog's.

    >>> report_title("en")
    'Live-Commerce Growth and Retention: Quarterly Report'
    >>> report_title("zh", "Shop A: 2024 review")
    'Shop A: 2024 review'
    """
    return plain_text(title) if title else text_message("report.title", lang=lang)


def short_title(lang: Lang, title: str | None = None) -> str:
    """The title in the running header: ``title`` when given, else the catalog's short one."""
    return plain_text(title, limit=60) if title else text_message("report.short_title", lang=lang)


def toc_title(lang: Lang) -> str:
    """The heading of the table of contents."""
    return text_message("report.toc", lang=lang)


def report_subtitle(
    quarter: str,
    lang: Lang,
    segment: tuple[str, str] | None = None,
    *,
    subtitle: str | None = None,
) -> str:
    """``"Fourth quarter 2024"`` (or ``subtitle`` as written), with the segment when there is one.

    >>> report_subtitle("2024Q4", "en", ("platform", "douyin"))
    'Fourth quarter 2024 · platform: douyin'
    >>> report_subtitle("2024Q4", "en", subtitle="Online shop, all regions")
    'Online shop, all regions'
    """
    if subtitle:
        text = plain_text(subtitle)
    else:
        year, q = quarter[:4], quarter[-1]
        name = text_message(f"report.quarter.{q}", lang=lang)
        text = text_message("report.subtitle", lang=lang, year=year, quarter=name)
    if segment is not None:
        text = text_message(
            "report.subtitle_segment", lang=lang, subtitle=text,
            column=plain_text(segment[0], limit=LABEL_LIMIT),
            value=plain_text(segment[1], limit=LABEL_LIMIT),
        )  # fmt: skip
    return text


def cover_details(
    *,
    lang: Lang,
    data: str,
    compare_to: str,
    min_cell: int,
    as_of: str | None,
    segment: tuple[str, str] | None,
) -> list[tuple[str, str]]:
    """``(label, value)`` rows printed on the cover: the parameters the report was made with."""

    def word(key: str) -> str:
        return text_message(f"report.detail.{key}", lang=lang)

    rows = [(word("data"), plain_text(data, limit=LABEL_LIMIT))]
    if as_of:
        rows.append((word("as_of"), as_of))
    rows.append((word("compare"), catalog(lang).get(f"report.compare.{compare_to}", compare_to)))
    if segment is not None:
        column, value = (plain_text(v, limit=LABEL_LIMIT) for v in segment)
        rows.append((word("segment"), f"{column} = {value}"))
    rows.append((word("min_cell"), str(min_cell)))
    return rows
