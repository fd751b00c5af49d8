"""Sentences about one metric row: its value with CI, and its change with significance."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from insights.narrative.catalog import catalog, check_lang, message, metric_label, value_label
from insights.narrative.compare import as_row, change_test
from insights.narrative.numbers import fmt_change, fmt_ci, fmt_p, fmt_value, is_missing
from insights.narrative.registry import metric_info

__all__ = [
    "significance",
    "is_suppressed",
    "subject",
    "describe_value",
    "describe_change",
    "describe_spread",
    "bullets",
    "paragraph",
]


def significance(p: float | None, *, lang: str, alpha: float = 0.05) -> str:
    """ "significant (p < 0.001)" / "not significant (p = 0.34)", following ``p`` and ``alpha``.

    Examples
    --------
    >>> significance(0.0002, lang="en"), significance(0.2, lang="zh")
    ('significant (p < 0.001)', '差异不显著（p = 0.20）')
    """
    check_lang(lang)
    if is_missing(p):
        return message("sig.untested", lang=lang)
    key = "sig.significant" if p < alpha else "sig.not_significant"  # type: ignore[operator]
    return message(key, lang=lang, p=fmt_p(p))


def is_suppressed(row: Mapping[str, Any], *, min_cell: int = 10) -> bool:
    """Whether a metric row must not be shown.

    True when flagged ``suppressed``, when ``n`` is missing or below ``min_cell``, or
    when the row carries ``at_risk`` (a Kaplan–Meier point) below ``min_cell``: a
    survival value carried past the last user still observed rests on too few users.
    """
    if row.get("suppressed"):
        return True
    n = row.get("n")
    if is_missing(n) or int(n) < min_cell:  # type: ignore[arg-type]
        return True
    at_risk = row.get("at_risk")
    return at_risk is not None and not is_missing(at_risk) and int(at_risk) < min_cell


def subject(row: Mapping[str, Any], *, lang: str) -> str:
    """The metric's display name, with its segment when it is not ``all``."""
    name = metric_label(str(row["metric"]), lang=lang)
    segment = row.get("segment")
    if segment is None or segment == "all":
        return name
    return message(
        "sentence.in_segment", lang=lang, metric=name, segment=value_label(segment, lang=lang)
    )


def describe_value(row: Mapping[str, Any] | pl.DataFrame, *, lang: str, min_cell: int = 10) -> str:
    """ "D30 retention was 35.2% (95% CI 34.8–35.6%; n = 1,673)."

    Parameters
    ----------
    row
        One row of a tidy metric frame: ``metric, segment, value, ci_low, ci_high, n``.
    lang
        ``zh`` or ``en``.
    min_cell
        Rows with ``n < min_cell`` give the suppression sentence instead of numbers.

    Examples
    --------
    >>> describe_value({"metric": "retention_d30", "segment": "all", "value": 0.352,
    ...                 "ci_low": 0.348, "ci_high": 0.356, "n": 1673}, lang="en")
    'D30 retention was 35.2% (95% CI 34.8–35.6%; n = 1,673).'
    """
    r = as_row(row)
    check_lang(lang)
    what = subject(r, lang=lang)
    if is_suppressed(r, min_cell=min_cell):
        return message("sentence.suppressed", lang=lang, metric=what, min_cell=min_cell)
    kind = metric_info(str(r["metric"])).kind
    value = fmt_value(r["value"], kind, lang=lang)
    ci = fmt_ci(r.get("ci_low"), r.get("ci_high"), kind, lang=lang)
    key = "sentence.value" if ci else "sentence.value_no_ci"
    return message(key, lang=lang, metric=what, value=value, ci=ci, n=f"{int(r['n']):,}")


def _label(row: Mapping[str, Any]) -> str:
    for col in ("quarter", "period"):
        if row.get(col) is not None:
            return str(row[col])
    return "?"


def describe_change(
    now: Mapping[str, Any] | pl.DataFrame,
    previous: Mapping[str, Any] | pl.DataFrame,
    *,
    lang: str,
    alpha: float = 0.05,
    min_cell: int = 10,
    previous_label: str | None = None,
) -> str:
    """ "D30 retention was 35.2% (95% CI 34.8–35.6%), up 1.3 points on 2024Q3 (33.9%), significant (p < 0.001)."

    Rates change in percentage points, other metrics by a relative %. The test is
    :func:`insights.narrative.compare.change_test` (Wald, from the two CIs).
    Either row below ``min_cell`` gives the suppression sentence.

    Parameters
    ----------
    now, previous
        Rows of the same metric and segment for two periods.
    previous_label
        How to name the reference (default: its ``quarter`` or ``period`` value).

    Examples
    --------
    >>> now = {"metric": "retention_d30", "segment": "all", "quarter": "2024Q4",
    ...        "value": 0.352, "ci_low": 0.348, "ci_high": 0.356, "n": 50000}
    >>> prev = {**now, "quarter": "2024Q3", "value": 0.339, "ci_low": 0.335, "ci_high": 0.343}
    >>> describe_change(now, prev, lang="en")
    'D30 retention was 35.2% (95% CI 34.8–35.6%), up 1.3 points on 2024Q3 (33.9%), significant (p < 0.001).'
    """
    a, b = as_row(now), as_row(previous)
    check_lang(lang)
    if a.get("metric") != b.get("metric"):
        raise ValueError(
            f"now and previous must be the same metric, got {a.get('metric')!r} and {b.get('metric')!r}"
        )
    what = subject(a, lang=lang)
    if is_suppressed(a, min_cell=min_cell) or is_suppressed(b, min_cell=min_cell):
        return message("sentence.suppressed", lang=lang, metric=what, min_cell=min_cell)
    if is_missing(a.get("value")) or is_missing(b.get("value")):
        return message(
            "sentence.missing",
            lang=lang,
            metric=what,
            period=_label(a if is_missing(a.get("value")) else b),
        )
    kind = metric_info(str(a["metric"])).kind
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
    return message(
        key,
        lang=lang,
        metric=what,
        value=fmt_value(a["value"], kind, lang=lang),
        ci_part=message("meta.paren", lang=lang, x=ci) if ci else "",
        change=size,
        prev_label=previous_label or _label(b),
        prev_value=fmt_value(b["value"], kind, lang=lang),
        sig=significance(change.p, lang=lang, alpha=alpha),
    )


def describe_spread(
    frame: pl.DataFrame, *, lang: str, dimension: str, min_cell: int = 10
) -> str | None:
    """ "D30 retention ranges from 28.3% (Gen X) to 40.7% (Gen Z) across generation."

    ``frame`` holds one metric by segment; segments below ``min_cell`` are left out.
    Returns ``None`` when fewer than two segments remain.
    """
    check_lang(lang)
    if frame.is_empty():
        return None
    metrics = frame["metric"].unique().to_list()
    if len(metrics) != 1:
        raise ValueError(f"frame must hold one metric, got {sorted(metrics)}")
    keep = frame.filter(
        pl.col("n").is_not_null() & (pl.col("n") >= min_cell) & pl.col("value").is_not_null()
    )
    if "suppressed" in keep.columns:
        keep = keep.filter(~pl.col("suppressed").fill_null(False))
    if keep.height < 2:
        return None
    keep = keep.sort("value")
    low, high = keep.row(0, named=True), keep.row(-1, named=True)
    kind = metric_info(str(metrics[0])).kind
    return message(
        "sentence.segment_spread",
        lang=lang,
        metric=metric_label(str(metrics[0]), lang=lang),
        low=fmt_value(low["value"], kind, lang=lang),
        low_segment=value_label(low["segment"], lang=lang),
        high=fmt_value(high["value"], kind, lang=lang),
        high_segment=value_label(high["segment"], lang=lang),
        dimension=catalog(lang).get(f"dimension.{dimension}", dimension),
    )


def bullets(lines: Iterable[str]) -> str:
    """Markdown bullet list of ``lines`` (empty string when there are none)."""
    return "\n".join(f"- {line}" for line in lines if line)


def paragraph(sentences: Iterable[str], *, lang: str) -> str:
    """Sentences joined as one paragraph (a space in English, nothing in Chinese)."""
    return message("meta.sentence_sep", lang=lang).join(s for s in sentences if s)
