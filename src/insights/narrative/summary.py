"""The executive summary's building blocks: scorecard with targets, alerts, key findings.

At the front door: ``ins.kpi_summary`` (the scorecard next to its comparison
quarters and targets), ``ins.table_scorecard`` (that summary as a display table),
``ins.describe_findings`` and ``ins.describe_alerts``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from insights._options import Lang, resolve_compare_documents, resolve_min_cell
from insights._registry import Kind, metric_info
from insights.narrative.catalog import check_lang, text_message, text_metric, text_segment
from insights.narrative.compare import compare_quarters
from insights.narrative.documents import document_title, seed_figures
from insights.narrative.numbers import fmt_diff, fmt_range, fmt_value, is_missing
from insights.narrative.sentences import (
    NOT_OBSERVED,
    describe_change,
    describe_value,
    is_suppressed,
    not_observed,
)

__all__ = [
    "Target",
    "AlertRule",
    "default_targets",
    "default_alert_rules",
    "kpi_summary",
    "table_scorecard",
    "describe_alerts",
    "describe_findings",
    "describe_provisional",
    "significance_marker",
]


@dataclass(frozen=True)
class Target:
    """A configured target for a metric: an absolute value, or a change vs the year-ago quarter."""

    metric: str
    value: float
    seed: str
    section: str
    relative_to: Literal["year_ago"] | None = None


def _seed_value(metric: str, segment: str, section: str) -> tuple[str, float]:
    rows = seed_figures().filter(
        (pl.col("metric") == metric)
        & (pl.col("segment") == segment)
        & (pl.col("section") == section)
    )
    if rows.is_empty():
        raise LookupError(f"seed_figures.csv has no row {metric}/{segment} in §{section}")
    return str(rows["seed"][0]), float(rows["value"][0])


def default_targets() -> list[Target]:
    """The targets of 000 §1.3, read from ``seed_figures.csv``.

    D30 retention 60%, D7 retention 50%, silent-user 30-day reactivation 40%,
    90-day repurchase of returning churned users 30%, CAC −20% vs a year earlier.
    None when document comparisons are switched off
    (``ins.options(compare_documents=False)``): the targets are the documents'.

    Examples
    --------
    >>> [(t.metric, t.value) for t in default_targets()][:2]
    [('retention_d30', 0.6), ('retention_d7', 0.5)]
    """
    out: list[Target] = []
    if not resolve_compare_documents():
        return out
    for metric, (seed_metric, segment) in {
        "retention_d30": ("retention_30d", "partner_platforms"),
        "retention_d7": ("retention_7d", "new_users"),
        "silent_reactivation_30d": ("reactivation_30d", "silent_users"),
        "repurchase_90d": ("repurchase_90d", "churned_users"),
    }.items():
        seed, value = _seed_value(seed_metric, segment, "1.3")
        out.append(Target(metric, value / 100, seed, "1.3"))
    seed, value = _seed_value("cac_reduction", "partner_platforms", "1.3")
    out.append(Target("cac", -value / 100, seed, "1.3", relative_to="year_ago"))
    return out


@dataclass(frozen=True)
class AlertRule:
    """``metric`` below (or above) ``threshold`` raises an alert (threshold from a document)."""

    metric: str
    threshold: float
    below: bool
    seed: str
    section: str


def default_alert_rules() -> list[AlertRule]:
    """D7 retention below 45% (000 §5.2); CAC above AOV is built into :func:`describe_alerts`.

    None when document comparisons are switched off (the alert line is a document's).
    """
    if not resolve_compare_documents():
        return []
    seed, value = _seed_value("retention_7d_alert_threshold", "new_users", "5.2")
    return [AlertRule("retention_d7", value / 100, True, seed, "5.2")]


def significance_marker(p: float | None) -> str:
    """``***`` p < 0.001, ``**`` p < 0.01, ``*`` p < 0.05, else empty."""
    if is_missing(p):
        return ""
    assert p is not None
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def kpi_summary(
    data: pl.DataFrame,
    *,
    quarter: str,
    year_ago: pl.DataFrame | None = None,
    targets: Sequence[Target] | None = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """One row per KPI (and segment): this quarter, comparison, year ago, changes, target.

    Parameters
    ----------
    data
        The first frame of :func:`insights.kpis.kpi_scorecard`: the KPIs of ``quarter``
        and of its comparison quarter.
    quarter
        The report quarter (e.g. ``"2024Q4"``).
    year_ago
        The same for ``compare_to="year_ago"`` (optional).
    targets
        Targets (default :func:`default_targets`); relative ones resolve against the year-ago value.
    alpha
        1 − the confidence level of the change tests.

    Returns
    -------
    polars.DataFrame
        ``metric, segment, quarter, value, ci_low, ci_high, n, previous_quarter, previous,
        change_previous, p_previous, year_ago_quarter, year_ago, change_year_ago,
        p_year_ago, target, target_met, status, previous_status, complete, observed_to,
        previous_complete`` (changes are differences in the metric's unit; the statuses
        are those of ``data``'s rows, ``"not_observed"`` when nobody was followed through
        the KPI's window, null when ``data`` has no ``status``; ``complete`` false marks
        a provisional number, see :func:`insights.kpis.kpi_scorecard`).

    Examples
    --------
    >>> import insights as ins
    >>> import polars as pl
    >>> scorecard = pl.DataFrame({"metric": ["retention_d30"] * 2, "segment": ["all"] * 2,
    ...     "quarter": ["2024Q4", "2024Q3"], "value": [0.36, 0.34], "ci_low": [0.35, 0.33],
    ...     "ci_high": [0.37, 0.35], "n": [8000, 8000]})
    >>> ins.kpi_summary(scorecard, quarter="2024Q4").select("previous", "target", "target_met").row(0)
    (0.34, 0.6, False)
    """
    others = data.filter(pl.col("quarter") != quarter)["quarter"].unique().to_list()
    if len(others) > 1:
        raise ValueError(
            f"data must hold {quarter} and one comparison quarter, got {sorted(others)}"
        )
    if not others:  # the comparison quarter is not in the data: its columns stay empty
        data = pl.concat(
            [
                data,
                data.with_columns(
                    pl.lit("").alias("quarter"), pl.lit(None, pl.Float64).alias("value")
                ),
            ],
            how="diagonal_relaxed",
        )
        others = [""]
    prev = compare_quarters(data, quarter=quarter, other=others[0], alpha=alpha)
    out = prev.select(
        "metric",
        "segment",
        pl.lit(quarter).alias("quarter"),
        "value",
        "ci_low",
        "ci_high",
        "n",
        pl.lit(others[0]).alias("previous_quarter"),
        pl.col("prev_value").alias("previous"),
        pl.col("diff").alias("change_previous"),
        pl.col("p").alias("p_previous"),
    )
    if others == [""]:
        out = out.with_columns(pl.lit(None, pl.String).alias("previous_quarter"))
    if year_ago is not None:
        yq = year_ago.filter(pl.col("quarter") != quarter)["quarter"].unique().to_list()
        if not yq:  # no year-ago quarter in the data: the year-ago columns stay empty
            return kpi_summary(data, quarter=quarter, year_ago=None, targets=targets, alpha=alpha)
        if len(yq) != 1:
            raise ValueError(
                f"year_ago must hold {quarter} and one comparison quarter, got {sorted(yq)}"
            )
        ya = compare_quarters(year_ago, quarter=quarter, other=yq[0], alpha=alpha).select(
            "metric",
            "segment",
            pl.lit(yq[0]).alias("year_ago_quarter"),
            pl.col("prev_value").alias("year_ago"),
            pl.col("diff").alias("change_year_ago"),
            pl.col("p").alias("p_year_ago"),
        )
        out = out.join(ya, on=["metric", "segment"], how="left", maintain_order="left")
    else:
        out = out.with_columns(
            pl.lit(None, pl.String).alias("year_ago_quarter"),
            *(
                pl.lit(None, pl.Float64).alias(c)
                for c in ("year_ago", "change_year_ago", "p_year_ago")
            ),
        )
    targets = default_targets() if targets is None else list(targets)
    absolute = {t.metric: t.value for t in targets if t.relative_to is None}
    relative = {t.metric: t.value for t in targets if t.relative_to == "year_ago"}
    target = (
        pl.col("metric")
        .replace_strict(absolute, default=None, return_dtype=pl.Float64)
        .fill_null(
            pl.col("year_ago")
            * (1 + pl.col("metric").replace_strict(relative, default=None, return_dtype=pl.Float64))
        )
    )
    better = {m: metric_info(m).better for m in out["metric"].unique().to_list()}
    up = pl.col("metric").replace_strict(
        {m: b != "lower" for m, b in better.items()}, return_dtype=pl.Boolean
    )
    out = out.join(
        _row_flags(data, quarter, "").join(
            _row_flags(data, others[0], "previous_").drop("previous_observed_to"),
            on=["metric", "segment"],
            how="full",
            coalesce=True,
        ),
        on=["metric", "segment"],
        how="left",
        maintain_order="left",
    )
    return out.with_columns(target.alias("target")).with_columns(
        pl.when(pl.col("target").is_null() | pl.col("value").is_null())
        .then(None)
        .when(up)
        .then(pl.col("value") >= pl.col("target"))
        .otherwise(pl.col("value") <= pl.col("target"))
        .alias("target_met")
    )


def _row_flags(data: pl.DataFrame, quarter: str, prefix: str) -> pl.DataFrame:
    """``metric, segment`` and ``<prefix>status, <prefix>complete, <prefix>observed_to`` of ``quarter``.

    A scorecard built by hand may lack these columns: they are then null (a null
    ``complete`` is taken as final).
    """
    kinds = {"status": pl.String, "complete": pl.Boolean, "observed_to": pl.Date}
    return (
        data.filter(pl.col("quarter") == quarter)
        .select(
            "metric",
            "segment",
            *(
                (pl.col(c).cast(t) if c in data.columns else pl.lit(None, t)).alias(prefix + c)
                for c, t in kinds.items()
            ),
        )
        .unique(["metric", "segment"], keep="first", maintain_order=True)
    )


def is_provisional(row: Mapping[str, Any], prefix: str = "") -> bool:
    """Whether a scorecard/summary row's number is provisional (``complete`` false)."""
    return row.get(f"{prefix}complete") is False


def describe_provisional(
    data: pl.DataFrame, *, lang: Lang | None = None, min_cell: int | None = None
) -> list[str]:
    """One footnote per provisional KPI of :func:`kpi_summary`: how its open window is handled.

    The scorecard (:func:`insights.kpis.kpi_scorecard`) marks a row ``complete`` false
    when some cohort member's window is not yet observed by ``as_of``;
    :func:`table_scorecard` shows its value with "†", and these sentences say what the
    number is: only the members whose window is complete (with ``n``), a Kaplan–Meier
    estimate with the others censored, a quarter not yet over, or repurchase gaps still
    open. Rows not shown (suppressed, not observed) get none.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> row = {"metric": "repurchase_60d", "segment": "all", "quarter": "2024Q4", "value": 0.3,
    ...        "n": 363, "complete": False, "observed_to": dt.date(2024, 11, 1)}
    >>> ins.describe_provisional(pl.DataFrame([row]), lang="en")[0][:58]
    '† 60-day repurchase rate (2024Q4): provisional; counts onl'
    """
    from insights.kpis import WINDOWS  # the KPIs' windows are defined with the KPIs

    lang, min_cell = check_lang(lang), resolve_min_cell(min_cell)
    out = []
    for r in data.iter_rows(named=True):
        if not is_provisional(r) or not_observed(r) or is_suppressed(r, min_cell=min_cell):
            continue
        if is_missing(r.get("value")):
            continue
        days, how = WINDOWS.get(r["metric"], (0, ""))
        if not how:
            how = "cycle" if r["metric"] == "repurchase_cycle_median_days" else "open"
        name = text_metric(r["metric"], lang=lang)
        if r["segment"] not in (None, "all"):
            segment = text_segment(r["segment"], lang=lang)  # a value from data: escaped
            name = text_message("sentence.in_segment", lang=lang, metric=name, segment=segment)
        out.append(
            text_message(
                f"provisional.{how}",
                lang=lang,
                metric=name,
                label=r["quarter"],
                date=r.get("observed_to"),
                days=days,
                n=fmt_value(r.get("n"), "count", lang=lang),
            )
        )
    return out


def _change_text(diff: float | None, p: float | None, kind: str, lang: Lang) -> str:
    if is_missing(diff):
        return "–"
    return f"{fmt_diff(diff, kind, lang=lang)} {significance_marker(p)}".strip()  # type: ignore[arg-type]


def table_scorecard(
    data: pl.DataFrame, *, lang: Lang | None = None, min_cell: int | None = None
) -> pl.DataFrame:
    """:func:`kpi_summary` as a display frame (metric names, units, CIs, markers).

    Changes show the difference in the metric's unit (rates in points) with
    :func:`significance_marker`; rows below ``min_cell`` show "<min_cell"; a KPI
    nobody has been followed through yet (``status`` ``"not_observed"``) shows "not
    yet observable" and no change or target mark; a provisional value (``complete``
    false: its window is still open for part of the quarter's users) carries "†",
    explained by :func:`describe_provisional`. The columns of a comparison quarter the
    data do not hold are left out, and a KPI with nobody in scope shows "–". Render it
    with :func:`insights.tables.format_table` (its headers are already localized).
    ``lang`` and ``min_cell`` default to the values set with ``ins.options``.
    """
    lang, min_cell = check_lang(lang), resolve_min_cell(min_cell)
    rows = []
    hidden = text_message("table.suppressed", lang=lang, min_cell=min_cell)
    unseen = text_message("table.not_observable", lang=lang)
    for r in data.iter_rows(named=True):  # one row per KPI
        kind = metric_info(r["metric"]).unit
        name = text_metric(r["metric"], lang=lang)
        if r["segment"] not in (None, "all"):
            segment = text_segment(r["segment"], lang=lang)  # a value from data: escaped
            name = text_message("sentence.in_segment", lang=lang, metric=name, segment=segment)
        if not_observed(r):  # nobody followed through the window yet: no number, no "<10"
            before = (
                unseen if not_observed(r, "previous_status") else _shown(r, "previous", kind, lang)
            )
            rows.append(
                [name, unseen, "–", before, "–", _shown(r, "year_ago", kind, lang), "–", "–"]
            )
            continue
        if is_suppressed(r, min_cell=min_cell) or is_missing(r["value"]):
            n = r.get("n")  # nobody in scope (n 0, or no row at all): nothing to hide
            nobody = is_missing(r["value"]) if is_missing(n) else int(n or 0) == 0
            now = hidden if is_suppressed(r, min_cell=min_cell) and not nobody else "–"
            rows.append([name, now, "–", "–", "–", "–", "–", "–"])
            continue
        ci = fmt_range(r["ci_low"], r["ci_high"], kind, lang=lang)
        target = "–" if is_missing(r["target"]) else fmt_value(r["target"], kind, lang=lang)
        if r["target_met"] is not None and not is_missing(r["target"]):
            target += " ✓" if r["target_met"] else " ✗"
        previous = (
            unseen
            if not_observed(r, "previous_status")
            else _marked(fmt_value(r["previous"], kind, lang=lang), r, "previous_", lang)
        )
        rows.append(
            [
                name,
                _marked(fmt_value(r["value"], kind, lang=lang), r, "", lang),
                ci,
                previous,
                _change_text(r["change_previous"], r["p_previous"], kind, lang),
                fmt_value(r["year_ago"], kind, lang=lang),
                _change_text(r["change_year_ago"], r["p_year_ago"], kind, lang),
                target,
            ]
        )
    prev_q = data["previous_quarter"].drop_nulls()
    year_q = data["year_ago_quarter"].drop_nulls()
    heads = [
        text_message("column.metric", lang=lang),
        data["quarter"][0] if data.height else text_message("column.now", lang=lang),
        text_message("column.ci", lang=lang),
        prev_q[0] if prev_q.len() else text_message("column.previous", lang=lang),
        text_message("column.change_previous", lang=lang),
        year_q[0]
        if year_q.len() and year_q[0] not in prev_q.to_list()
        else text_message("column.year_ago", lang=lang),
        text_message("column.change_year_ago", lang=lang),
        text_message("column.target", lang=lang),
    ]
    table = pl.DataFrame(rows, schema={h: pl.String for h in heads}, orient="row")
    # a comparison quarter the data do not hold: its columns are left out (the chapter says so)
    gone = [heads[3], heads[4]] if not prev_q.len() else []
    gone += [heads[5], heads[6]] if not year_q.len() else []
    return table.drop(gone)


def _marked(text: str, row: Mapping[str, Any], prefix: str, lang: Lang) -> str:
    """``text`` with the provisional mark "†" when the row's number is not final."""
    if text == "–" or not is_provisional(row, prefix):
        return text
    return text_message("table.provisional_mark", lang=lang, value=text)


def _shown(row: Mapping[str, Any], column: str, kind: Kind, lang: Lang) -> str:
    value = row.get(column)
    return "–" if is_missing(value) else fmt_value(value, kind, lang=lang)


def describe_alerts(
    data: pl.DataFrame,
    *,
    quarter: str,
    rules: Sequence[AlertRule] | None = None,
    lang: Lang | None = None,
    min_cell: int | None = None,
) -> list[str]:
    """Alert sentences for ``quarter``: thresholds crossed (D7 < 45%, 000 §5.2) and CAC above AOV (000 §2.1).

    Parameters
    ----------
    data
        The first frame of :func:`insights.kpis.kpi_scorecard` (its ``all`` rows of
        ``quarter`` are read).
    quarter
        The report quarter.
    rules
        Alert rules (default :func:`default_alert_rules`).
    lang, min_cell
        Default: the values set with ``ins.options``. Rows below ``min_cell`` never
        raise an alert (their numbers are not shown).

    Returns
    -------
    list of str
        The alerts, or the one sentence saying none fired.
    """
    lang, min_cell = check_lang(lang), resolve_min_cell(min_cell)
    rules = default_alert_rules() if rules is None else list(rules)
    now = {
        (r["metric"]): r
        for r in data.filter(
            (pl.col("quarter") == quarter) & (pl.col("segment") == "all")
        ).iter_rows(named=True)
        if not is_suppressed(r, min_cell=min_cell)
        and not is_missing(r["value"])
        and not not_observed(r)
    }
    out = []
    for rule in rules:
        row = now.get(rule.metric)
        if row is None:
            continue
        kind = metric_info(rule.metric).unit
        crossed = row["value"] < rule.threshold if rule.below else row["value"] > rule.threshold
        if crossed and rule.metric == "retention_d7":
            out.append(
                text_message(
                    "alert.d7_low",
                    lang=lang,
                    value=fmt_value(row["value"], kind, lang=lang),
                    threshold=fmt_value(rule.threshold, kind, lang=lang),
                    doc=document_title(rule.seed, lang=lang),
                    section=rule.section,
                )
            )
        elif crossed:
            out.append(
                text_message(
                    "alert.target_missed",
                    lang=lang,
                    metric=text_metric(rule.metric, lang=lang),
                    value=fmt_value(row["value"], kind, lang=lang),
                    target=fmt_value(rule.threshold, kind, lang=lang),
                    doc=document_title(rule.seed, lang=lang),
                    section=rule.section,
                )
            )
    cac = now.get("cac") or now.get("cac_yuan")
    aov = now.get("aov") or now.get("aov_yuan")
    if cac is not None and aov is not None and cac["value"] > aov["value"]:
        amounts = {
            "cac": fmt_value(cac["value"], "money", lang=lang),
            "aov": fmt_value(aov["value"], "money", lang=lang),
        }
        if resolve_compare_documents():
            seed, _ = _seed_value("cac_yuan", "smb_merchants", "2.1")
            text = text_message(
                "alert.cac_above_aov",
                lang=lang,
                doc=document_title(seed, lang=lang),
                section="2.1",
                **amounts,
            )
        else:
            text = text_message("alert.cac_above_aov_plain", lang=lang, **amounts)
        out.append(text)
    return out or [text_message("alert.none", lang=lang)]


def describe_findings(
    data: pl.DataFrame,
    *,
    quarter: str,
    alpha: float = 0.05,
    max_findings: int = 5,
    min_findings: int = 3,
    lang: Lang | None = None,
    min_cell: int | None = None,
) -> list[str]:
    """The largest significant changes of ``quarter`` vs the comparison quarter, as sentences.

    Changes with ``p < alpha`` are ranked by the size of the relative change
    (|diff / previous|), so rates and money compare on one scale; at most
    ``max_findings`` are kept. When fewer than ``min_findings`` are significant the
    list is topped up with the largest non-significant changes (their sentences say
    "not significant"), after a first sentence saying nothing changed significantly
    when that is so. Rows below ``min_cell`` are never used. A KPI whose number is
    provisional in either quarter (``complete`` false: its window is still open for part
    of the cohort) is not ranked; one last sentence names those of ``quarter``.

    Parameters
    ----------
    data
        The first frame of :func:`insights.kpis.kpi_scorecard`: the KPIs of ``quarter``
        and of its comparison quarter.
    quarter
        The report quarter.
    lang, min_cell
        Default: the values set with ``ins.options``.
    """
    lang, min_cell = check_lang(lang), resolve_min_cell(min_cell)
    if "status" in data.columns:  # a window nobody was followed through is never a finding
        data = data.filter((pl.col("status") != NOT_OBSERVED).fill_null(True))
    held: list[str] = []
    if "complete" in data.columns:  # a provisional number is never ranked against a final one
        open_ = data.filter(pl.col("complete").eq(False))
        held = list(dict.fromkeys(open_.filter(pl.col("quarter") == quarter)["metric"].to_list()))
        data = data.filter(~pl.col("metric").is_in(open_["metric"].unique().to_list()))
    out = _findings(data, quarter, alpha, max_findings, min_findings, lang, min_cell)
    if held:
        names = [text_metric(m, lang=lang) for m in held]
        out.append(
            text_message(
                "finding.provisional",
                lang=lang,
                label=quarter,
                metrics=("、" if lang == "zh" else ", ").join(names),
            )
        )
    return out


def _findings(
    data: pl.DataFrame,
    quarter: str,
    alpha: float,
    max_findings: int,
    min_findings: int,
    lang: Lang,
    min_cell: int,
) -> list[str]:
    others = data.filter(pl.col("quarter") != quarter)["quarter"].unique().to_list()
    if not others:  # no comparison quarter in the data: the quarter's own values, no changes
        rows = data.filter(
            (pl.col("quarter") == quarter)
            & pl.col("value").is_not_null()
            & (pl.col("n") >= min_cell)
        )
        return [
            describe_value(r, lang=lang, min_cell=min_cell)
            for r in rows.head(max_findings).iter_rows(named=True)
        ]
    if len(others) != 1:
        raise ValueError(
            f"data must hold {quarter} and one comparison quarter, got {sorted(others)}"
        )
    cmp = compare_quarters(data, quarter=quarter, other=others[0], alpha=alpha)
    cmp = cmp.filter(
        pl.col("value").is_not_null()
        & pl.col("prev_value").is_not_null()
        & (pl.col("n") >= min_cell)
        & (pl.col("prev_n") >= min_cell)
    ).with_columns(
        pl.col("relative").abs().alias("_size"),
        (pl.col("p") < alpha).fill_null(False).alias("_sig"),
    )
    sig = (
        cmp.filter(pl.col("_sig"))
        .sort("_size", descending=True, nulls_last=True)
        .head(max_findings)
    )
    out = (
        []
        if sig.height
        else [text_message("finding.none", lang=lang, prev_label=others[0], label=quarter)]
    )
    if sig.height < min_findings:
        rest = cmp.filter(~pl.col("_sig")).sort("_size", descending=True, nulls_last=True)
        sig = pl.concat([sig, rest.head(min_findings - sig.height)])
    for r in sig.iter_rows(named=True):  # at most max_findings rows
        now = {
            "metric": r["metric"],
            "segment": r["segment"],
            "quarter": quarter,
            "value": r["value"],
            "ci_low": r["ci_low"],
            "ci_high": r["ci_high"],
            "n": r["n"],
        }
        prev = {
            "metric": r["metric"],
            "segment": r["segment"],
            "quarter": others[0],
            "value": r["prev_value"],
            "ci_low": r["prev_ci_low"],
            "ci_high": r["prev_ci_high"],
            "n": r["prev_n"],
        }
        out.append(describe_change(now, previous=prev, lang=lang, alpha=alpha, min_cell=min_cell))
    return out
