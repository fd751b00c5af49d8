"""Sentences about one metric row: its value with CI, and its change with significance.

At the front door: ``ins.describe_value``, ``ins.describe_change``,
``ins.describe_spread``, and ``ins.format_bullets`` / ``ins.format_paragraph`` to
lay sentences out. ``lang`` and ``min_cell`` default to the values set with
``ins.options``; an argument wins for its call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from insights._display import Markdown
from insights._options import Lang, resolve_min_cell
from insights._registry import metric_info
from insights.narrative.catalog import (
    catalog,
    check_lang,
    text_message,
    text_metric,
    text_segment,
)
from insights.narrative.compare import as_row, change_test
from insights.narrative.numbers import fmt_change, fmt_ci, fmt_p, fmt_value, is_missing
from insights.tables._escape import LABEL_LIMIT, markdown_text
from insights.tables._suppress import few_in_rate, is_rate_metric, publishable

__all__ = [
    "NOT_OBSERVED",
    "significance",
    "is_suppressed",
    "not_observed",
    "is_partial",
    "subject",
    "describe_value",
    "describe_change",
    "describe_spread",
    "format_bullets",
    "format_paragraph",
]


def significance(p: float | None, *, lang: Lang | None = None, alpha: float = 0.05) -> str:
    """ "significant (p < 0.001)" / "not significant (p = 0.34)", following ``p`` and ``alpha``.

    Examples
    --------
    >>> significance(0.0002, lang="en"), significance(0.2, lang="en")
    ('significant (p < 0.001)', 'not significant (p = 0.20)')
    """
    lang = check_lang(lang)
    if is_missing(p):
        return text_message("sig.untested", lang=lang)
    key = "sig.significant" if p < alpha else "sig.not_significant"  # type: ignore[operator]
    return text_message(key, lang=lang, p=fmt_p(p))


#: ``status`` of a metric row whose window nobody has been observed through (its value is null)
NOT_OBSERVED = "not_observed"


def not_observed(row: Mapping[str, Any], column: str = "status") -> bool:
    """Whether the row's ``column`` (default ``status``) says nobody was followed through its window.

    Examples
    --------
    >>> not_observed({"status": "not_observed"}), not_observed({"value": 0.4})
    (True, False)
    """
    return row.get(column) == NOT_OBSERVED


def is_partial(row: Mapping[str, Any]) -> bool:
    """Whether the row's period is only partly covered by the data (``partial`` is True).

    Examples
    --------
    >>> is_partial({"period": "2018Q1", "partial": True}), is_partial({"period": "2018Q1"})
    (True, False)
    """
    return row.get("partial") is True


def _window_day(row: Mapping[str, Any]) -> int | None:
    """The day N a not-observed row is about: its ``day``, else the number ending its id."""
    day = row.get("day")
    if day is not None and not is_missing(day):
        return int(day)
    found = re.search(r"(\d+)d?$", str(row.get("metric", "")))
    return int(found.group(1)) if found else None


def _not_observed_sentence(row: Mapping[str, Any], what: str, lang: Lang) -> str:
    day = _window_day(row)
    if day is None:
        return text_message("sentence.not_observed_window", lang=lang, metric=what)
    return text_message("sentence.not_observed", lang=lang, metric=what, day=day)


def is_suppressed(row: Mapping[str, Any], *, min_cell: int | None = None) -> bool:
    """Whether a metric row must not be shown.

    True when flagged ``suppressed``, when ``n`` is missing or below ``min_cell``, when
    the row carries ``at_risk`` (a Kaplan–Meier point) below ``min_cell`` (a survival
    value carried past the last user still observed rests on too few users), or when
    the row's rate ``value`` of ``n`` has a numerator or complement of fewer than
    ``min_cell`` users (:func:`insights.tables._suppress.few_in_rate`: 3 of 40).
    ``min_cell`` defaults to the value set with ``ins.options``.

    Examples
    --------
    >>> is_suppressed({"metric": "retention_d30", "value": 3 / 40, "n": 40}, min_cell=10)
    True
    >>> is_suppressed({"metric": "retention_d30", "value": 0.25, "n": 40}, min_cell=10)
    False
    """
    min_cell = resolve_min_cell(min_cell)
    if row.get("suppressed"):
        return True
    n = row.get("n")
    if is_missing(n) or int(n) < min_cell:  # type: ignore[arg-type]
        return True
    at_risk = row.get("at_risk")
    if at_risk is not None and not is_missing(at_risk) and int(at_risk) < min_cell:
        return True
    return _few_in_rate(row, min_cell)


def _few_in_rate(row: Mapping[str, Any], min_cell: int) -> bool:
    """A rate metric's ``value`` of ``n`` resting on fewer than ``min_cell`` users."""
    value, metric = row.get("value"), row.get("metric")
    if metric is None or not isinstance(value, int | float) or is_missing(value):
        return False
    if not is_rate_metric(metric):
        return False
    frame = pl.DataFrame({"value": [float(value)], "n": [float(row["n"])]})
    return bool(frame.select(few_in_rate("value", "n", min_cell=min_cell)).item())


def subject(row: Mapping[str, Any], *, lang: Lang | None = None) -> str:
    """The metric's display name, with its segment when it is not ``all``."""
    lang = check_lang(lang)
    name = text_metric(str(row["metric"]), lang=lang)
    segment = row.get("segment")
    if segment is None or segment == "all":
        return name
    return text_message(
        "sentence.in_segment", lang=lang, metric=name, segment=text_segment(segment, lang=lang)
    )


def describe_value(
    data: Mapping[str, Any] | pl.DataFrame,
    *,
    lang: Lang | None = None,
    min_cell: int | None = None,
) -> str:
    """ "D30 retention was 35.2% (95% CI 34.8–35.6%; n = 1,673)."

    Parameters
    ----------
    data
        One row of a tidy metric frame (a dict or a one-row frame): ``metric,
        segment, value, ci_low, ci_high, n``. An empty frame (nobody in scope) gives ``""``;
        a row whose ``status`` is ``"not_observed"`` says it is not yet observable
        (nobody followed to its day N).
    lang
        ``"zh"`` or ``"en"`` (default: the language set with ``ins.options``).
    min_cell
        Rows with ``n < min_cell`` give the suppression sentence instead of numbers
        (default: the value set with ``ins.options``).

    Examples
    --------
    >>> import insights as ins
    >>> ins.describe_value({"metric": "retention_d30", "segment": "all", "value": 0.352,
    ...                     "ci_low": 0.348, "ci_high": 0.356, "n": 1673}, lang="en")
    'D30 retention was 35.2% (95% CI 34.8–35.6%; n = 1,673).'

    A row nobody has been followed through (``status`` ``"not_observed"``) has no number:

    >>> ins.describe_value({"metric": "retention_d60", "segment": "all", "value": None,
    ...                     "n": 53, "status": "not_observed"}, lang="en")
    'D60 retention: not yet observable (nobody followed to day 60).'
    """
    if isinstance(data, pl.DataFrame) and data.height == 0:
        return ""  # nobody in scope (e.g. no new users this quarter): nothing to say
    r = as_row(data)
    lang, min_cell = check_lang(lang), resolve_min_cell(min_cell)
    what = subject(r, lang=lang)
    if not_observed(r):
        return _not_observed_sentence(r, what, lang)
    if is_suppressed(r, min_cell=min_cell):
        return text_message("sentence.suppressed", lang=lang, metric=what, min_cell=min_cell)
    kind = metric_info(str(r["metric"])).unit
    value = fmt_value(r["value"], kind, lang=lang)
    ci = fmt_ci(r.get("ci_low"), r.get("ci_high"), kind, lang=lang)
    key = "sentence.value" if ci else "sentence.value_no_ci"
    return text_message(key, lang=lang, metric=what, value=value, ci=ci, n=f"{int(r['n']):,}")


def _label(row: Mapping[str, Any]) -> str:
    for col in ("quarter", "period"):
        if row.get(col) is not None:
            return str(row[col])
    return "?"


def describe_change(
    data: Mapping[str, Any] | pl.DataFrame,
    *,
    previous: Mapping[str, Any] | pl.DataFrame,
    previous_label: str | None = None,
    alpha: float = 0.05,
    lang: Lang | None = None,
    min_cell: int | None = None,
) -> str:
    """ "D30 retention was 35.2% (95% CI 34.8–35.6%), up 1.3 points on 2024Q3 (33.9%), significant (p < 0.001)."

    Rates change in percentage points, other metrics by a relative %. The test is
    Wald's, from the two CIs (:func:`insights.narrative.compare.change_test`).
    Either row below ``min_cell`` gives the suppression sentence. At the edges of
    the data: a later row nobody has been followed through (``status``
    ``"not_observed"``) gives :func:`describe_value`'s "not yet observable"
    sentence, a not-observed ``previous`` gives the later value alone, and when
    either row's period is ``partial`` (only partly covered by the data) the
    sentence gives the value and says the quarter is partial, without a change.

    Parameters
    ----------
    data
        The row of the later period (a dict or a one-row frame): ``metric, segment,
        value, ci_low, ci_high, n`` and its ``quarter`` or ``period``.
    previous
        The row of the same metric and segment the change is measured from. An empty
        frame (the comparison period is not in the data) gives :func:`describe_value`'s
        sentence, without a comparison; an empty ``data`` gives ``""``.
    previous_label
        How to name ``previous`` (default: its ``quarter`` or ``period`` value).
    alpha
        Changes with ``p < alpha`` are called significant.
    lang, min_cell
        Default: the values set with ``ins.options``.

    Examples
    --------
    >>> import insights as ins
    >>> now = {"metric": "retention_d30", "segment": "all", "quarter": "2024Q4",
    ...        "value": 0.352, "ci_low": 0.348, "ci_high": 0.356, "n": 50000}
    >>> prev = {**now, "quarter": "2024Q3", "value": 0.339, "ci_low": 0.335, "ci_high": 0.343}
    >>> ins.describe_change(now, previous=prev, lang="en")
    'D30 retention was 35.2% (95% CI 34.8–35.6%), up 1.3 points on 2024Q3 (33.9%), significant (p < 0.001).'

    One day of 2018Q1 is not a quarter: no growth figure.

    >>> q1 = {"metric": "new_users", "segment": "all", "period": "2018Q1", "value": 37.0,
    ...       "n": 37, "partial": True}
    >>> q4 = {**q1, "period": "2017Q4", "value": 1120.0, "n": 1120, "partial": False}
    >>> ins.describe_change(q1, previous=q4, lang="en")
    'New users, 2018Q1: 37; not compared, as the data cover only part of 2018Q1.'
    """
    if isinstance(data, pl.DataFrame) and data.height == 0:
        return ""  # nobody in scope this period: nothing to say
    if isinstance(previous, pl.DataFrame) and previous.height == 0:
        return describe_value(
            data, lang=lang, min_cell=min_cell
        )  # no comparison period in the data
    a, b = as_row(data), as_row(previous)
    lang, min_cell = check_lang(lang), resolve_min_cell(min_cell)
    if a.get("metric") != b.get("metric"):
        raise ValueError(
            f"data and previous must be the same metric, got {a.get('metric')!r} and {b.get('metric')!r}"
        )
    what = subject(a, lang=lang)
    if not_observed(a):
        return _not_observed_sentence(a, what, lang)
    if not_observed(b):  # the later value stands alone: there is nothing to compare it with
        return describe_value(a, lang=lang, min_cell=min_cell)
    if is_partial(a) or is_partial(b):  # a part of a quarter is not comparable with a whole one
        return _partial_sentence(a, b, what, previous_label, lang, min_cell)
    if is_suppressed(a, min_cell=min_cell) or is_suppressed(b, min_cell=min_cell):
        return text_message("sentence.suppressed", lang=lang, metric=what, min_cell=min_cell)
    if is_missing(a.get("value")) or is_missing(b.get("value")):
        return text_message(
            "sentence.missing",
            lang=lang,
            metric=what,
            period=_label(a if is_missing(a.get("value")) else b),
        )
    kind = metric_info(str(a["metric"])).unit
    change = change_test(a, b, alpha=alpha)
    size = fmt_change(change.diff, kind, lang=lang, previous=b["value"])
    flat = not any(ch.isdigit() and ch != "0" for ch in size)
    key = (
        "sentence.change_flat"
        if flat
        else ("sentence.change_up" if change.diff > 0 else "sentence.change_down")
    )
    ci = fmt_ci(a.get("ci_low"), a.get("ci_high"), kind, lang=lang)
    if not ci and kind != "count":
        ci = f"n = {int(a['n']):,}"
    return text_message(
        key,
        lang=lang,
        metric=what,
        value=fmt_value(a["value"], kind, lang=lang),
        ci_part=text_message("meta.paren", lang=lang, x=ci) if ci else "",
        change=size,
        prev_label=previous_label or _label(b),
        prev_value=fmt_value(b["value"], kind, lang=lang),
        sig=significance(change.p, lang=lang, alpha=alpha),
    )


def _partial_sentence(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    what: str,
    previous_label: str | None,
    lang: Lang,
    min_cell: int,
) -> str:
    """ "New users, 2018Q1: 37; not compared, as the data cover only part of 2018Q1." """
    if is_suppressed(a, min_cell=min_cell):
        return text_message("sentence.suppressed", lang=lang, metric=what, min_cell=min_cell)
    labels = [_label(a)] if is_partial(a) else []
    labels += [previous_label or _label(b)] if is_partial(b) else []
    partial = text_message("meta.list_sep", lang=lang).join(labels)
    if is_missing(a.get("value")):
        return text_message("sentence.partial_no_value", lang=lang, metric=what, partial=partial)
    kind = metric_info(str(a["metric"])).unit
    return text_message(
        "sentence.partial",
        lang=lang,
        metric=what,
        value=fmt_value(a["value"], kind, lang=lang),
        period=_label(a),
        partial=partial,
    )


def describe_spread(
    data: pl.DataFrame,
    *,
    by: str,
    lang: Lang | None = None,
    min_cell: int | None = None,
) -> str | None:
    """ "D30 retention ranges from 28.3% (Gen X) to 40.7% (Gen Z) across generation."

    Parameters
    ----------
    data
        One metric by segment (``metric, segment, value, n``), e.g. a metric called
        with ``by=``; segments below ``min_cell`` are left out.
    by
        The users column the segments are values of (named in the sentence).
    lang, min_cell
        Default: the values set with ``ins.options``.

    Returns
    -------
    str or None
        ``None`` when fewer than two segments remain.

    Examples
    --------
    >>> import insights as ins
    >>> import polars as pl
    >>> frame = pl.DataFrame({"metric": ["retention_d30"] * 2, "segment": ["gen_x", "gen_z"],
    ...                       "value": [0.283, 0.407], "n": [400, 500]})
    >>> ins.describe_spread(frame, by="generation", lang="en")
    'D30 retention ranges from 28.3% (Gen X) to 40.7% (Gen Z) across generation.'
    """
    lang, min_cell = check_lang(lang), resolve_min_cell(min_cell)
    if data.is_empty():
        return None
    metrics = data["metric"].unique().to_list()
    if len(metrics) != 1:
        raise ValueError(f"data must hold one metric, got {sorted(metrics)}")
    keep = publishable(data, min_cell=min_cell).filter(pl.col("value").is_not_null())
    if keep.height < 2:
        return None
    keep = keep.sort("value")
    low, high = keep.row(0, named=True), keep.row(-1, named=True)
    kind = metric_info(str(metrics[0])).unit
    return text_message(
        "sentence.segment_spread",
        lang=lang,
        metric=text_metric(str(metrics[0]), lang=lang),
        low=fmt_value(low["value"], kind, lang=lang),
        low_segment=text_segment(low["segment"], lang=lang),
        high=fmt_value(high["value"], kind, lang=lang),
        high_segment=text_segment(high["segment"], lang=lang),
        dimension=catalog(lang).get(f"dimension.{by}") or markdown_text(by, limit=LABEL_LIMIT),
    )


def format_bullets(data: Iterable[str]) -> Markdown:
    """A Markdown bullet list of the sentences in ``data`` (empty ones skipped; "" when none).

    Examples
    --------
    >>> import insights as ins
    >>> print(ins.format_bullets(["One.", "", "Two."]))
    - One.
    - Two.
    """
    return Markdown("\n".join(f"- {line}" for line in data if line))


def format_paragraph(data: Iterable[str], *, lang: Lang | None = None) -> Markdown:
    """The sentences in ``data`` as one paragraph (a space between them in English, none in Chinese).

    Examples
    --------
    >>> import insights as ins
    >>> ins.format_paragraph(["One.", "Two."], lang="en")
    'One. Two.'
    """
    return Markdown(text_message("meta.sentence_sep", lang=lang).join(s for s in data if s))
