"""The executive summary's building blocks: scorecard with targets, alerts, key findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from insights.narrative.catalog import check_lang, message, metric_label
from insights.narrative.compare import compare_quarters
from insights.narrative.documents import seed_figures
from insights.narrative.numbers import fmt_diff, fmt_range, fmt_value, is_missing
from insights.narrative.registry import metric_info
from insights.narrative.sentences import describe_change, is_suppressed

__all__ = [
    "Target",
    "AlertRule",
    "default_targets",
    "default_alert_rules",
    "scorecard_summary",
    "scorecard_table",
    "alerts",
    "key_findings",
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

    Examples
    --------
    >>> [(t.metric, t.value) for t in default_targets()][:2]
    [('retention_d30', 0.6), ('retention_d7', 0.5)]
    """
    out = []
    for metric, (seed_metric, segment) in {
        "retention_d30": ("retention_30d", "partner_platforms"),
        "retention_d7": ("retention_7d", "new_users"),
        "silent_reactivation_30d": ("reactivation_30d", "silent_users"),
        "repurchase_90d": ("repurchase_90d", "churned_users"),
    }.items():
        seed, value = _seed_value(seed_metric, segment, "1.3")
        out.append(Target(metric, value / 100, seed, "1.3"))
    seed, value = _seed_value("cac_reduction", "partner_platforms", "1.3")
    out.append(Target("cac_yuan", -value / 100, seed, "1.3", relative_to="year_ago"))
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
    """D7 retention below 45% (000 §5.2); CAC above AOV is built into :func:`alerts`."""
    seed, value = _seed_value("retention_7d_alert_threshold", "new_users", "5.2")
    return [AlertRule("retention_d7", value / 100, True, seed, "5.2")]


def significance_marker(p: float | None) -> str:
    """``***`` p < 0.001, ``**`` p < 0.01, ``*`` p < 0.05, else empty."""
    if is_missing(p):
        return ""
    assert p is not None
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def scorecard_summary(
    scorecard: pl.DataFrame,
    year_ago: pl.DataFrame | None = None,
    *,
    quarter: str,
    targets: Sequence[Target] | None = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """One row per KPI (and segment): this quarter, comparison, year ago, changes, target.

    Parameters
    ----------
    scorecard
        :func:`insights.kpis.kpi_scorecard` output for ``quarter`` and its comparison.
    year_ago
        The same for ``compare_to="year_ago"`` (optional).
    quarter
        The report quarter (e.g. ``"2024Q4"``).
    targets
        Targets (default :func:`default_targets`); relative ones resolve against the year-ago value.

    Returns
    -------
    polars.DataFrame
        ``metric, segment, quarter, value, ci_low, ci_high, n, previous_quarter, previous,
        change_previous, p_previous, year_ago_quarter, year_ago, change_year_ago,
        p_year_ago, target, target_met`` (changes are differences in the metric's unit).
    """
    others = scorecard.filter(pl.col("quarter") != quarter)["quarter"].unique().to_list()
    if len(others) != 1:
        raise ValueError(
            f"scorecard must hold {quarter} and one comparison quarter, got {sorted(others)}"
        )
    prev = compare_quarters(scorecard, quarter=quarter, other=others[0], alpha=alpha)
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
    if year_ago is not None:
        yq = year_ago.filter(pl.col("quarter") != quarter)["quarter"].unique().to_list()
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
    better = {m: metric_info(m).higher_is_better for m in out["metric"].unique().to_list()}
    up = pl.col("metric").replace_strict(
        {m: b is not False for m, b in better.items()}, return_dtype=pl.Boolean
    )
    return out.with_columns(target.alias("target")).with_columns(
        pl.when(pl.col("target").is_null() | pl.col("value").is_null())
        .then(None)
        .when(up)
        .then(pl.col("value") >= pl.col("target"))
        .otherwise(pl.col("value") <= pl.col("target"))
        .alias("target_met")
    )


def _change_text(diff: float | None, p: float | None, kind: str, lang: str) -> str:
    if is_missing(diff):
        return "–"
    return f"{fmt_diff(diff, kind, lang=lang)} {significance_marker(p)}".strip()  # type: ignore[arg-type]


def scorecard_table(summary: pl.DataFrame, *, lang: str, min_cell: int = 10) -> pl.DataFrame:
    """:func:`scorecard_summary` as a display frame (metric names, units, CIs, markers).

    Changes show the difference in the metric's unit (rates in points) with
    :func:`significance_marker`; rows below ``min_cell`` show "<min_cell". Render it
    with :func:`insights.tables.format_table` (its headers are already localized).
    """
    check_lang(lang)
    rows = []
    hidden = message("table.suppressed", lang=lang, min_cell=min_cell)
    for r in summary.iter_rows(named=True):  # one row per KPI
        kind = metric_info(r["metric"]).kind
        name = metric_label(r["metric"], lang=lang)
        if r["segment"] not in (None, "all"):
            name = message("sentence.in_segment", lang=lang, metric=name, segment=r["segment"])
        if is_suppressed(r, min_cell=min_cell) or is_missing(r["value"]):
            now = hidden if is_suppressed(r, min_cell=min_cell) else "–"
            rows.append([name, now, "–", "–", "–", "–", "–", "–"])
            continue
        ci = fmt_range(r["ci_low"], r["ci_high"], kind, lang=lang)
        target = "–" if is_missing(r["target"]) else fmt_value(r["target"], kind, lang=lang)
        if r["target_met"] is not None and not is_missing(r["target"]):
            target += " ✓" if r["target_met"] else " ✗"
        rows.append(
            [
                name,
                fmt_value(r["value"], kind, lang=lang),
                ci,
                fmt_value(r["previous"], kind, lang=lang),
                _change_text(r["change_previous"], r["p_previous"], kind, lang),
                fmt_value(r["year_ago"], kind, lang=lang),
                _change_text(r["change_year_ago"], r["p_year_ago"], kind, lang),
                target,
            ]
        )
    prev_q = summary["previous_quarter"].drop_nulls()
    year_q = summary["year_ago_quarter"].drop_nulls()
    heads = [
        message("column.metric", lang=lang),
        summary["quarter"][0] if summary.height else message("column.now", lang=lang),
        message("column.ci", lang=lang),
        prev_q[0] if prev_q.len() else message("column.previous", lang=lang),
        message("column.change_previous", lang=lang),
        year_q[0]
        if year_q.len() and year_q[0] not in prev_q.to_list()
        else message("column.year_ago", lang=lang),
        message("column.change_year_ago", lang=lang),
        message("column.target", lang=lang),
    ]
    return pl.DataFrame(rows, schema={h: pl.String for h in heads}, orient="row")


def alerts(
    scorecard: pl.DataFrame,
    rules: Sequence[AlertRule] | None = None,
    *,
    quarter: str,
    lang: str,
    min_cell: int = 10,
) -> list[str]:
    """Alert sentences for ``quarter``: thresholds crossed (D7 < 45%, 000 §5.2) and CAC above AOV (000 §2.1).

    Rows below ``min_cell`` never raise an alert (their numbers are not shown).
    Returns ``[message("alert.none")]`` when nothing fires.
    """
    check_lang(lang)
    rules = default_alert_rules() if rules is None else list(rules)
    now = {
        (r["metric"]): r
        for r in scorecard.filter(
            (pl.col("quarter") == quarter) & (pl.col("segment") == "all")
        ).iter_rows(named=True)
        if not is_suppressed(r, min_cell=min_cell) and not is_missing(r["value"])
    }
    out = []
    for rule in rules:
        row = now.get(rule.metric)
        if row is None:
            continue
        kind = metric_info(rule.metric).kind
        crossed = row["value"] < rule.threshold if rule.below else row["value"] > rule.threshold
        if crossed and rule.metric == "retention_d7":
            out.append(
                message(
                    "alert.d7_low",
                    lang=lang,
                    value=fmt_value(row["value"], kind, lang=lang),
                    threshold=fmt_value(rule.threshold, kind, lang=lang),
                    doc=rule.seed,
                    section=rule.section,
                )
            )
        elif crossed:
            out.append(
                message(
                    "alert.target_missed",
                    lang=lang,
                    metric=metric_label(rule.metric, lang=lang),
                    value=fmt_value(row["value"], kind, lang=lang),
                    target=fmt_value(rule.threshold, kind, lang=lang),
                    doc=rule.seed,
                    section=rule.section,
                )
            )
    cac = now.get("cac_yuan")
    aov = now.get("aov_yuan") or now.get("aov")
    if cac is not None and aov is not None and cac["value"] > aov["value"]:
        seed, _ = _seed_value("cac_yuan", "smb_merchants", "2.1")
        out.append(
            message(
                "alert.cac_above_aov",
                lang=lang,
                cac=fmt_value(cac["value"], "yuan", lang=lang),
                aov=fmt_value(aov["value"], "yuan", lang=lang),
                doc=seed,
                section="2.1",
            )
        )
    return out or [message("alert.none", lang=lang)]


def key_findings(
    scorecard: pl.DataFrame,
    *,
    quarter: str,
    lang: str,
    alpha: float = 0.05,
    min_cell: int = 10,
    max_findings: int = 5,
    min_findings: int = 3,
) -> list[str]:
    """The largest significant changes of ``quarter`` vs the comparison quarter, as sentences.

    Changes with ``p < alpha`` are ranked by the size of the relative change
    (|diff / previous|), so rates and money compare on one scale; at most
    ``max_findings`` are kept. When fewer than ``min_findings`` are significant the
    list is topped up with the largest non-significant changes (their sentences say
    "not significant"), after a first sentence saying nothing changed significantly
    when that is so. Rows below ``min_cell`` are never used.
    """
    check_lang(lang)
    others = scorecard.filter(pl.col("quarter") != quarter)["quarter"].unique().to_list()
    if len(others) != 1:
        raise ValueError(
            f"scorecard must hold {quarter} and one comparison quarter, got {sorted(others)}"
        )
    cmp = compare_quarters(scorecard, quarter=quarter, other=others[0], alpha=alpha)
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
        else [message("finding.none", lang=lang, prev_label=others[0], label=quarter)]
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
        out.append(describe_change(now, prev, lang=lang, alpha=alpha, min_cell=min_cell))
    return out
