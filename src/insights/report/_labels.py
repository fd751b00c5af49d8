"""Words on the cover, in the header and in the HTML page, in Chinese and English."""

from __future__ import annotations

__all__ = ["cover_details", "report_subtitle", "report_title", "short_title", "toc_title"]

_TITLE = {
    "zh": "直播电商用户增长与留存季度报告",
    "en": "Live-Commerce Growth and Retention: Quarterly Report",
}
_SHORT = {"zh": "直播电商季度洞察", "en": "Live-commerce quarterly insights"}
_TOC = {"zh": "目录", "en": "Contents"}
_QUARTER_ZH = {"1": "第一", "2": "第二", "3": "第三", "4": "第四"}
_QUARTER_EN = {"1": "First", "2": "Second", "3": "Third", "4": "Fourth"}
_COMPARE = {
    "zh": {"previous": "上一季度", "year_ago": "去年同季度"},
    "en": {"previous": "previous quarter", "year_ago": "same quarter last year"},
}
_DETAIL = {
    "zh": {
        "data": "数据",
        "compare": "对比",
        "segment": "分组",
        "min_cell": "最小单元格",
        "as_of": "数据截止",
    },
    "en": {
        "data": "Data",
        "compare": "Compared with",
        "segment": "Segment",
        "min_cell": "Minimum cell",
        "as_of": "Data as of",
    },
}


def report_title(lang: str) -> str:
    """The report's title.

    >>> report_title("en")
    'Live-Commerce Growth and Retention: Quarterly Report'
    """
    return _TITLE[lang]


def short_title(lang: str) -> str:
    return _SHORT[lang]


def toc_title(lang: str) -> str:
    return _TOC[lang]


def report_subtitle(quarter: str, lang: str, segment: tuple[str, str] | None = None) -> str:
    """``"2024 年第四季度"`` / ``"Fourth quarter 2024"``, with the segment when there is one.

    >>> report_subtitle("2024Q4", "zh", ("platform", "douyin"))
    '2024 年第四季度 · platform：douyin'
    """
    year, q = quarter[:4], quarter[-1]
    text = f"{year} 年{_QUARTER_ZH[q]}季度" if lang == "zh" else f"{_QUARTER_EN[q]} quarter {year}"
    if segment is not None:
        sep = "：" if lang == "zh" else ": "
        text += f" · {segment[0]}{sep}{segment[1]}"
    return text


def cover_details(
    *,
    lang: str,
    data: str,
    compare_to: str,
    min_cell: int,
    as_of: str | None,
    segment: tuple[str, str] | None,
) -> list[tuple[str, str]]:
    """``(label, value)`` rows printed on the cover: the parameters the report was made with."""
    words = _DETAIL[lang]
    rows = [(words["data"], data)]
    if as_of:
        rows.append((words["as_of"], as_of))
    rows.append((words["compare"], _COMPARE[lang].get(compare_to, compare_to)))
    if segment is not None:
        rows.append((words["segment"], f"{segment[0]} = {segment[1]}"))
    rows.append((words["min_cell"], str(min_cell)))
    return rows
