"""Tidy frames as publishable tables: localized headers, units, CIs, small cells hidden."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, Literal

import polars as pl

from insights._display import Table
from insights._options import LANGS, Lang, resolve_lang, resolve_min_cell
from insights._registry import Kind, MetricInfo, metric_info
from insights.narrative.catalog import catalog, text_message, text_metric
from insights.narrative.numbers import (
    MINUS,
    fmt_change,
    fmt_diff,
    fmt_diff_range,
    fmt_p,
    fmt_range,
    fmt_value,
    is_missing,
)
from insights.tables._escape import LABEL_LIMIT, markdown_text, plain_text
from insights.tables._suppress import HIDE_VALUE, few_in_rate, is_rate_metric, suppress_table

__all__ = [
    "format_table",
    "table_frame",
    "PRIVATE_COLUMNS",
    "EDGE_COLUMNS",
    "PERIOD_COLUMNS",
    "KIND_COLUMNS",
    "BASE_COLUMNS",
    "LABEL_COLUMNS",
    "METRIC_COLUMNS",
    "DIFF_COLUMNS",
    "P_COLUMNS",
]

#: Columns never shown in a published table.
PRIVATE_COLUMNS = ("user_id",)
#: Columns that mark the edges of the data instead of being shown: ``status``
#: (``"not_observed"``: nobody followed through the window, "– (not yet observed)"),
#: ``partial`` (the period is only partly covered by the data: "2018Q1 (partial)", and
#: a null growth rate reads "not comparable: partial quarter"), ``complete``
#: (False: "¥12.0 (incomplete)") and ``complete_through`` (the cells ``d{t}`` of
#: :func:`insights.ltv_matrix` with t beyond it are marked incomplete).
EDGE_COLUMNS = ("status", "partial", "complete", "complete_through")
#: Columns naming the row's period, marked when the row is ``partial``.
PERIOD_COLUMNS = ("period", "quarter", "cohort")
#: Columns formatted in the unit of the row's ``metric`` (when there is a metric column).
KIND_COLUMNS = (
    "value",
    "ci_low",
    "ci_high",
    "previous",
    "year_ago",
    "target",
    "prev_value",
    "doc_value",
    "data_value",
    "control",
    "treatment",
    "value_arm",
    "value_control",
)
#: Columns naming the row's metric (shown by name; its unit formats the other columns).
METRIC_COLUMNS = ("metric", "outcome")
#: Columns holding a difference (signed) or a detectable difference (unsigned) in the
#: unit of the row's metric, rates in percentage points. When a table has a
#: ``difference`` but no ``value`` column, its ``ci_low``/``ci_high`` are the CI of
#: the difference and are written the same way.
DIFF_COLUMNS = ("difference", "mde")
#: p-value columns, written by :func:`insights.narrative.numbers.fmt_p` ("<0.001", "0.012", "0.34").
P_COLUMNS = ("p", "p_value", "p_adjusted")
#: Columns holding the two group values behind a relative metric (formatted in its ``base`` kind).
BASE_COLUMNS = (
    "value_high",
    "value_ordinary",
    "aov_private",
    "aov_public",
    "frequency_members",
    "frequency_never_joined",
    "value_in",
    "value_rest",
)
#: Columns whose values are category codes shown with their catalog names.
LABEL_COLUMNS = (
    "segment",
    "layer",
    "arm",
    "channel",
    "platform",
    "city_tier",
    "generation",
    "category",
    "from",
    "to",
    "segment_a",
    "segment_b",
    "experiment",
)


def _info(metric: Any) -> MetricInfo | None:
    try:
        return metric_info(str(metric))
    except ValueError:
        return None


def _plain(value: Any, *, digits: int) -> str:
    if is_missing(value):
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        text = f"{abs(value):,.{digits}f}"
        return (MINUS + text) if value < 0 and text.strip("0.,") else text
    return str(value)


_MEASURES = [
    (re.compile(r"^S\((\d+(?:\.\d+)?)\) difference$"), "measure.s_diff"),
    (re.compile(r"^RMST\((\d+(?:\.\d+)?)\) difference$"), "measure.rmst_diff"),
    (re.compile(r"^hazard ratio$"), "measure.hazard_ratio"),
    (re.compile(r"^pairwise logrank$"), "measure.pairwise_logrank"),
    (re.compile(r"^logrank$"), "measure.logrank"),
]


_LEVEL = re.compile(r"^[A-Za-z_]\w*=")  # "column=level" (not any text holding "=")


def _label(column: str, value: str, lang: Lang) -> str:
    if column == "dimension":
        return catalog(lang).get(f"dimension.{value}", value)
    if column == "measure":
        for pattern, key in _MEASURES:
            match = pattern.match(value)
            if match:
                t = match.group(1) if match.groups() else ""
                return text_message(key, lang=lang, t=f"{float(t):g}" if t else "")
        return value
    if _LEVEL.match(value):  # "segment=treatment" in model summaries: the level is what matters
        value = value.partition("=")[2]
    return _name(value, lang)


def _name(value: str, lang: Lang) -> str:
    """A category code's catalog name, else the value from data as text, cut at LABEL_LIMIT."""
    named = catalog(lang).get(f"value.{value}")
    return named if named is not None else plain_text(value, limit=LABEL_LIMIT)


def table_frame(
    data: pl.DataFrame,
    *,
    lang: Lang | None = None,
    percent_cols: Sequence[str] = (),
    min_cell: int | None = None,
    n_cols: Sequence[str] = ("n",),
    kinds: Mapping[str, Kind] | None = None,
    ci: bool = True,
    digits: int = 1,
    labels: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """The table as a frame of display strings (what :func:`format_table` renders).

    Steps: drop :data:`PRIVATE_COLUMNS` and ``suppressed``; for rows whose any
    ``n_cols`` value is below ``min_cell`` (or flagged ``suppressed``) show the count as
    "<min_cell" and every other number as "–"; merge ``ci_low``/``ci_high`` into a
    ``ci`` column; format ``percent_cols`` as %, :data:`KIND_COLUMNS` in the unit of
    the row's ``metric``, ``kinds`` columns in the given unit, other numbers plainly;
    show metric ids and category codes with their catalog names; headers from the
    catalog's ``column.*`` (or ``labels``). ``lang`` and ``min_cell`` default to
    ``ins.options`` (see :func:`format_table`). Values from data (category values the
    catalog does not name, unnamed column headers) are plain one-line text
    (:func:`insights.tables._escape.plain_text`), cut at 40 characters with "…".
    """
    lang = resolve_lang(lang)
    min_cell = resolve_min_cell(min_cell)
    # a hidden part must not be recoverable as total minus the parts shown (tables/_suppress.py)
    frame = suppress_table(data, n_cols=n_cols, min_cell=min_cell)
    hide = (*PRIVATE_COLUMNS, *EDGE_COLUMNS, "suppressed", HIDE_VALUE)
    cols = [c for c in frame.columns if c not in hide]
    if (
        "ci_low" in cols
        and "ci_high" in cols
        and frame["ci_low"].is_null().all()
        and frame["ci_high"].is_null().all()
    ):
        cols = [c for c in cols if c not in ("ci_low", "ci_high")]
    unseen = _unseen(frame)
    small = pl.lit(False)
    for c in n_cols:
        if c in frame.columns:  # nobody left to follow (0, not observed) hides nobody
            zero = unseen & (pl.col(c) == 0)
            small = small | (pl.col(c).is_not_null() & (pl.col(c) < min_cell) & ~zero)
    if "n" in n_cols and "n" in frame.columns:
        small = small | pl.col("n").is_null()
    if "suppressed" in frame.columns:
        small = small | pl.col("suppressed").fill_null(False)
    flags = frame.with_columns(small.alias("_small"))["_small"].to_list()
    kinds = dict(kinds or {})
    thin = _thin_rows(frame, percent_cols=percent_cols, kinds=kinds, min_cell=min_cell)
    edges = _edges(frame)
    records = frame.select(cols).to_dicts()  # a display table: a few dozen aggregate rows
    hidden = text_message("table.suppressed", lang=lang, min_cell=min_cell)
    rows: list[dict[str, str]] = []
    merge_ci = ci and "ci_low" in cols and "ci_high" in cols
    name_col = next((c for c in METRIC_COLUMNS if c in frame.columns), None)
    diff_ci = "difference" in cols and "value" not in cols
    for row, is_small, is_thin, edge in zip(records, flags, thin, edges, strict=True):
        info = _info(row[name_col]) if name_col else None
        row_kind = info.unit if info else None
        base_kind = info.base if info else None
        out: dict[str, str] = {}
        for c in cols:
            v = row[c]
            if merge_ci and c == "ci_high":
                continue
            kind: Kind | None = kinds.get(c) or ("rate" if c in percent_cols else None)
            if kind is None and c in KIND_COLUMNS:
                kind = row_kind
            if kind is None and c in BASE_COLUMNS:
                kind = base_kind
            if c in n_cols and is_small:  # a count hidden only to protect another: "–"
                big = isinstance(v, int | float) and not is_missing(v) and v >= min_cell
                out[c] = "–" if big else hidden
                continue
            numeric = isinstance(v, int | float) and not isinstance(v, bool)
            if (is_small or (is_thin and c not in n_cols)) and numeric:
                out["ci" if (merge_ci and c == "ci_low") else c] = "–"
                continue
            if merge_ci and c == "ci_low":
                lo, hi = row["ci_low"], row["ci_high"]
                if is_missing(lo) or is_missing(hi):
                    out["ci"] = "–"
                elif diff_ci and row_kind is not None and "ci_low" not in kinds:
                    out["ci"] = fmt_diff_range(lo, hi, row_kind, lang=lang)
                elif kind is not None:
                    out["ci"] = fmt_range(lo, hi, kind, lang=lang)
                else:
                    out["ci"] = f"{_plain(lo, digits=digits)} – {_plain(hi, digits=digits)}"
                continue
            if c in METRIC_COLUMNS and v is not None:
                out[c] = text_metric(str(v), lang=lang)
            elif c in DIFF_COLUMNS and c not in kinds and row_kind and isinstance(v, int | float):
                out[c] = _difference(v, row_kind, signed=c == "difference", lang=lang)
            elif c in P_COLUMNS and c not in kinds and isinstance(v, float) and not is_missing(v):
                out[c] = fmt_p(v, prefix=False)
            elif (c in LABEL_COLUMNS or c in ("dimension", "measure")) and isinstance(v, str):
                out[c] = _label(c, v, lang)
            elif isinstance(v, bool):
                out[c] = text_message("table.yes" if v else "table.no", lang=lang)
            elif kind is not None and isinstance(v, int | float):
                out[c] = fmt_value(v, kind, lang=lang)
            else:
                out[c] = _plain(v, digits=digits)
        rows.append(_mark(out, edge, is_small, cols, lang))
    names = [
        ("ci" if (merge_ci and c == "ci_low") else c)
        for c in cols
        if not (merge_ci and c == "ci_high")
    ]
    messages = catalog(lang)
    header = {
        c: (labels or {}).get(c) or messages.get(f"column.{c}") or plain_text(c, limit=LABEL_LIMIT)
        for c in names
    }
    clash = sorted({h for h in header.values() if list(header.values()).count(h) > 1})
    if clash:  # two columns under one header would silently drop one of them
        raise ValueError(
            f"columns {[c for c in names if header[c] in clash]} share the header(s) {clash}; "
            "pass labels={column: text} to tell them apart"
        )
    if not rows:
        return pl.DataFrame(
            {header[c]: [] for c in names}, schema={header[c]: pl.String for c in names}
        )
    return pl.DataFrame(
        [{header[c]: r.get(c, "") for c in names} for r in rows],
        schema={header[c]: pl.String for c in names},
    )


#: A rate column and the users it is a proportion of (the row's metric must be a rate).
_RATE_PAIRS = (("value", "n"), ("value_arm", "n_arm"), ("value_control", "n_control"))


def _thin_rows(
    frame: pl.DataFrame, *, percent_cols: Sequence[str], kinds: Mapping[str, Kind], min_cell: int
) -> list[bool]:
    """Per row: a rate in it rests on fewer than ``min_cell`` users (numerator or complement).

    Such a row keeps its counts and shows every other number as "–" (see
    :func:`insights.tables._suppress.few_in_rate`): 3 of 40 retained is a group of 3.
    """
    name_col = next((c for c in METRIC_COLUMNS if c in frame.columns), None)
    if name_col is not None:
        is_rate = pl.Series(
            [is_rate_metric(m) for m in frame[name_col].to_list()], dtype=pl.Boolean
        )
    else:
        is_rate = pl.Series([False] * frame.height, dtype=pl.Boolean)
    thin = pl.lit(False)
    for value, n in _RATE_PAIRS:
        if value in frame.columns and n in frame.columns and frame[value].dtype.is_numeric():
            thin = thin | (pl.col("__rate") & few_in_rate(value, n, min_cell=min_cell))
    fractions = {*percent_cols, *(c for c, k in kinds.items() if k == "rate")}
    for c in sorted(fractions):
        if c in frame.columns and "n" in frame.columns and frame[c].dtype.is_numeric():
            thin = thin | few_in_rate(c, "n", min_cell=min_cell)
    if HIDE_VALUE in frame.columns:  # a share hidden to protect another share of its whole
        thin = thin | pl.col(HIDE_VALUE).fill_null(False)
    flagged = frame.with_columns(is_rate.alias("__rate")).with_columns(thin.alias("__thin"))
    return [bool(x) for x in flagged["__thin"].to_list()]


def _unseen(frame: pl.DataFrame) -> pl.Expr:
    """Rows whose ``status`` says nobody was followed through the window."""
    if "status" not in frame.columns:
        return pl.lit(value=False)
    return (pl.col("status") == "not_observed").fill_null(value=False)


_DAY_COLUMN = re.compile(r"^d(\d+)$")


def _edges(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Per row: ``unseen``, ``partial``, ``growth`` (a rate against a base period), ``incomplete``
    (the row is not complete) and ``beyond`` (its ``d{t}`` columns past ``complete_through``)."""
    days = {c: int(m.group(1)) for c in frame.columns if (m := _DAY_COLUMN.match(c))}
    unseen = frame.with_columns(_unseen(frame).alias("__unseen"))["__unseen"].to_list()
    out = []
    marks = frame.select(c for c in frame.columns if c in (*EDGE_COLUMNS, "base_period"))
    rows = marks.to_dicts() if marks.width else [{} for _ in range(frame.height)]
    for i, row in enumerate(rows):
        through = row.get("complete_through")
        beyond = (
            [c for c, t in days.items() if through is None or t > through]
            if "complete_through" in frame.columns
            else []
        )
        out.append(
            {
                "unseen": unseen[i],
                "partial": row.get("partial") is True,
                "growth": row.get("base_period") is not None,
                # a partial period is marked on its label; ``complete`` marks the value otherwise
                "incomplete": row.get("complete") is False and row.get("partial") is not True,
                "beyond": beyond,
            }
        )
    return out


def _mark(
    out: dict[str, str], edge: dict[str, Any], is_small: bool, cols: Sequence[str], lang: Lang
) -> dict[str, str]:
    """The display row with the edges of the data marked (see :data:`EDGE_COLUMNS`)."""
    value_cols = ["value"] if "value" in out else []
    if edge["unseen"]:
        for c in value_cols[:1]:
            out[c] = text_message("table.not_observed", lang=lang)
    if edge["partial"]:
        if edge["growth"]:  # a rate against a base quarter, one of them partial
            for c in value_cols[:1]:
                if out[c] == "–":
                    out[c] = text_message("table.not_comparable", lang=lang)
        else:
            for c in PERIOD_COLUMNS:
                if c in out and out[c] not in ("", "–"):
                    out[c] = text_message("table.partial", lang=lang, label=out[c])
                    break
    if is_small:
        return out
    marked = value_cols[:1] if edge["incomplete"] else []
    for c in [*marked, *(c for c in edge["beyond"] if c in cols)]:
        if out.get(c) not in (None, "", "–"):
            out[c] = text_message("table.incomplete", lang=lang, value=out[c])
    return out


def _difference(value: float, kind: Kind, *, signed: bool, lang: Lang) -> str:
    if is_missing(value):
        return "–"
    return fmt_diff(value, kind, lang=lang) if signed else fmt_change(value, kind, lang=lang)


_NUMBER_CHARS = set("0123456789,.%+-\u2212\u2013<>¥$€£× ")


@cache
def _unit_words() -> tuple[str, ...]:
    """The words around a number in every catalog's ``unit.*`` messages ("points", "days" ...)."""
    words = {
        text.replace("{x}", "").strip()
        for lang in LANGS
        for key, text in catalog(resolve_lang(lang)).items()
        if key.startswith(("unit.", "money."))
    }
    words |= {"day", "✓", "✗", "*"}
    words |= {  # "(incomplete)" around a number
        part.strip()
        for lang in LANGS
        for part in catalog(resolve_lang(lang))["table.incomplete"].split("{value}")
    }
    return tuple(sorted(words - {""}, key=len, reverse=True))  # "days" before "day"


@cache
def _blank_words() -> frozenset[str]:
    """Cells that stand for a missing number ("–", "– (not yet observed)", "not comparable ...")."""
    keys = ("table.not_observed", "table.not_comparable", "table.not_observable")
    return frozenset({"", "–"} | {catalog(resolve_lang(lang))[k] for lang in LANGS for k in keys})


def _looks_numeric(text: str) -> bool:
    for word in _unit_words():
        text = text.replace(word, "")
    return bool(text.strip()) and set(text) <= _NUMBER_CHARS


def _numeric(column: pl.Series) -> bool:
    """A display column of numbers (right-aligned): most of its cells read as numbers."""
    cells = [v for v in column.to_list() if v is not None and v not in _blank_words()]
    return bool(cells) and sum(_looks_numeric(v) for v in cells) * 2 > len(cells)


def _width(column: pl.Series, *, numeric: bool) -> int:
    """Dashes of a column's rule: pandoc sizes the columns of a table wider than the page in
    proportion to them. A column of numbers gets room for its longest cell (numbers do not
    wrap); a column of text for its longest word (a word that does not fit runs into the
    next column in the PDF) and up to 12 characters of its longest cell; each gets two
    more for the cell's padding, and numbers 40% more, as they cannot wrap."""
    cells = [str(v) for v in column.to_list() if v is not None]
    head = max((_cells(w) for w in column.name.split()), default=1)
    if numeric:  # weighted up: a number cannot wrap, text can
        return round((max(head, *(_cells(t) for t in cells), 1) + 2) * 1.4)
    word = max((_cells(w) for t in cells for w in t.split()), default=1)
    return max(head, word, min(max((_cells(t) for t in cells), default=1), 12)) + 2


def _cells(text: str) -> int:
    """Printed width of ``text``: a wide (CJK) character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _markdown(display: pl.DataFrame) -> str:
    def cell(text: str) -> str:  # every cell and header is text, never Markdown syntax
        return markdown_text(text, line_start=False)

    head = "| " + " | ".join(cell(c) for c in display.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in display.iter_rows()]
    numeric = [_numeric(display[c]) for c in display.columns]
    # a table wider than pandoc's 72 columns takes the page width, its columns sized in
    # proportion to the rule's dashes; a narrower one is sized to its content
    if max(len(line) for line in [head, *body]) > 72:
        widths = [
            _width(display[c], numeric=r) - 1 for c, r in zip(display.columns, numeric, strict=True)
        ]
    else:
        widths = [3] * len(numeric)
    rule = (
        "|"
        + "|".join(
            "-" * w + ":" if right else ":" + "-" * w
            for w, right in zip(widths, numeric, strict=True)
        )
        + "|"
    )
    return "\n".join([head, rule, *body])


def _html(display: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in display.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
        for row in display.iter_rows()
    )
    return (
        f'<table class="insights-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def format_table(
    data: pl.DataFrame,
    *,
    lang: Lang | None = None,
    percent_cols: Sequence[str] = (),
    min_cell: int | None = None,
    n_cols: Sequence[str] = ("n",),
    kinds: Mapping[str, Kind] | None = None,
    ci: bool = True,
    digits: int = 1,
    labels: Mapping[str, str] | None = None,
    to: Literal["markdown", "html"] = "markdown",
) -> str:
    """A tidy frame as a Markdown (pipe) or HTML table.

    Every cell and header is text: in Markdown each is escaped
    (:func:`insights.tables._escape.markdown_text`), so a value from data such as
    ``<script>``, ``![x](file)`` or ``*x*`` shows as typed, never as HTML, an image or
    emphasis; in HTML it is HTML-escaped.

    The Markdown table is a :class:`~insights._display.Table`: a ``str`` that renders as
    a table when it is the last expression of a notebook cell (JupyterLab, Quarto and
    the built-in report read its ``text/markdown`` output).

    Parameters
    ----------
    data
        Any small frame (metric frames: ``metric, segment, value, ci_low, ci_high, n``).
    lang
        ``zh`` or ``en``: headers (catalog ``column.*``), metric and category names.
        Default from ``ins.options`` (``"en"`` unless set).
    percent_cols
        Columns holding fractions to show as percentages.
    min_cell
        Rows with a count in ``n_cols`` below it are suppressed ("<10", numbers "–").
        Default from ``ins.options`` (10 unless set).
    n_cols
        The count columns that decide suppression (default ``n``).
    kinds
        Unit kind per column (``"money"``, ``"days"`` ...), overriding the defaults;
        amounts are written in the currency set with ``ins.options(currency=...)``.
    ci
        Merge ``ci_low``/``ci_high`` into one "95% CI" column.
    digits
        Decimals of other floats.
    labels
        Header overrides ``{column: text}``.
    to
        ``"markdown"`` or ``"html"``.

    Examples
    --------
    A 4-user segment is hidden, and so is the next smallest one: with the total shown
    (here or in another table) it could otherwise be recovered by subtraction. A rate
    resting on fewer than ``min_cell`` users (Gen X: 8% of 25 is 2 users) is hidden too.

    >>> import polars as pl
    >>> f = pl.DataFrame({"metric": "retention_d30", "segment": ["gen_z", "millennial", "silver", "gen_x"],
    ...                   "value": [0.41, 0.38, 0.5, 0.08], "ci_low": [0.36, 0.33, 0.1, 0.02],
    ...                   "ci_high": [0.46, 0.43, 0.9, 0.25], "n": [741, 612, 4, 25], "user_id": 1})
    >>> import insights as ins
    >>> print(ins.format_table(f, lang="en"))
    | Metric | Segment | Value | 95% CI | n |
    |:---|:---|---:|---:|---:|
    | D30 retention | Gen Z | 41.0% | 36.0–46.0% | 741 |
    | D30 retention | Millennials | 38.0% | 33.0–43.0% | 612 |
    | D30 retention | Silver (50+) | – | – | <10 |
    | D30 retention | Gen X | – | – | – |
    >>> with ins.options(min_cell=3):
    ...     print(ins.format_table(f.select("segment", "n")))
    | Segment | n |
    |:---|---:|
    | Gen Z | 741 |
    | Millennials | 612 |
    | Silver (50+) | 4 |
    | Gen X | 25 |
    """
    if to not in ("markdown", "html"):
        raise ValueError(f"to must be 'markdown' or 'html', got {to!r}")
    display = table_frame(
        data,
        lang=lang,
        percent_cols=percent_cols,
        min_cell=min_cell,
        n_cols=n_cols,
        kinds=kinds,
        ci=ci,
        digits=digits,
        labels=labels,
    )
    return Table(_markdown(display)) if to == "markdown" else _html(display)
