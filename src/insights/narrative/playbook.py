"""The documents' playbook: which strategy addresses which gap, with the document's effect.

Each :class:`Play` links a gap (measured by one of our metrics) to a strategy and to
the ``seed_figures.csv`` row where a document states that strategy's effect or
target. A gap is *open* when this data's value is worse than the metric's target
(:func:`~insights.narrative.summary.default_targets`), worse than what a document
observed for the same metric, or significantly worse than the comparison quarter.
At the front door: ``ins.describe_playbook`` (the open gaps as lines) and
``ins.table_playbook`` (every play as a display table). The playbook is the documents'
own: with ``ins.options(compare_documents=False)`` it is not shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from insights._options import Lang, resolve_compare_documents, resolve_min_cell
from insights._registry import metric_info
from insights.narrative.catalog import check_lang, text_message, text_metric, text_segment
from insights.narrative.documents import (
    comparable,
    document_figures,
    document_section,
    document_title,
    documents_off,
    seed_figures,
)
from insights.narrative.numbers import fmt_change, fmt_diff, fmt_value, is_missing
from insights.narrative.sentences import is_suppressed
from insights.narrative.summary import Target, default_targets

__all__ = ["Play", "PLAYBOOK", "play_effect", "open_gaps", "describe_playbook", "table_playbook"]


@dataclass(frozen=True)
class Play:
    """Strategy ``strategy`` addresses gap ``gap`` (measured by ``metric``) for users in ``layer``.

    The document's statement is the ``seed_figures.csv`` row ``seed_metric`` /
    ``seed_segment`` in ``section`` of document ``seed`` (a file-name prefix).
    """

    strategy: str
    gap: str
    metric: str
    layer: str
    seed: str
    section: str
    seed_metric: str
    seed_segment: str


PLAYBOOK: tuple[Play, ...] = (
    Play(
        "newcomer_7day_plan",
        "week1_churn",
        "retention_d7",
        "new",
        "000",
        "1.3",
        "retention_7d",
        "new_users",
    ),
    Play(
        "comment_lottery",
        "month1_churn",
        "retention_d30",
        "new",
        "003",
        "5.KP1.3",
        "retention_rate_uplift",
        "all",
    ),
    Play(
        "interaction_tasks",
        "low_interaction",
        "interaction_rate",
        "new",
        "001",
        "3.3.3",
        "interaction_rate",
        "new_users",
    ),
    Play(
        "membership_tiers",
        "low_interaction",
        "interaction_rate",
        "active",
        "000",
        "1.3",
        "monthly_interaction_rate",
        "active_users",
    ),
    Play(
        "content_wakeup",
        "silent_users",
        "silent_reactivation_30d",
        "silent",
        "000",
        "1.3",
        "reactivation_30d",
        "silent_users",
    ),
    Play(
        "return_benefit_pack",
        "churned_users",
        "repurchase_90d",
        "churned",
        "000",
        "1.3",
        "repurchase_90d",
        "churned_users",
    ),
    Play(
        "frictionless_join",
        "private_domain_conversion",
        "public_to_private_conversion_30d",
        "active",
        "003",
        "2.KP1.3",
        "public_to_private_conversion_rate",
        "live_viewers",
    ),
    Play(
        "community_operation",
        "repurchase",
        "repurchase_60d",
        "active",
        "003",
        "5.body.\u4e00.3",  # the document's own section number (its Chinese numeral one)
        "repurchase_rate_diff_vs_non_member",
        "member",
    ),
    Play(
        "community_operation",
        "community_exit",
        "community_exit_rate_90d",
        "active",
        "003",
        "2.KP3.2",
        "repurchase_rate",
        "private_domain",
    ),
    Play(
        "private_domain_shift",
        "rising_cac",
        "cac",
        "new",
        "002",
        "1.3",
        "operating_cost_ratio_private_vs_public",
        "private_domain",
    ),
)


def play_effect(play: Play) -> dict[str, str | float]:
    """The document row of ``play``: ``seed`` (file name), ``section``, ``value``, ``unit``, ``kind``, ``note``."""
    rows = seed_figures().filter(
        pl.col("seed").str.starts_with(play.seed)
        & (pl.col("section") == play.section)
        & (pl.col("metric") == play.seed_metric)
        & (pl.col("segment") == play.seed_segment)
    )
    if rows.is_empty():
        raise LookupError(f"seed_figures.csv has no row for {play}")
    return rows.row(0, named=True)


def _comparable(play: Play) -> bool:
    """The play's document statement is the same kind of quantity as its metric (a level with a level)."""
    doc = play_effect(play)
    return comparable(play.metric, str(doc["metric"]), str(doc["unit"]))


def _doc_value(play: Play) -> float:
    """The play's document figure in the unit of its metric (percentages as fractions)."""
    doc = play_effect(play)
    return float(doc["value"]) / (100.0 if doc["unit"] == "pct" else 1.0)


def _effect_text(play: Play, *, lang: Lang | None = None) -> str:
    row = play_effect(play)
    unit = str(row["unit"])
    value = float(row["value"])
    if unit == "pct":
        shown = fmt_value(value / 100, "rate", lang=lang)
    elif unit == "ratio":
        shown = fmt_value(value, "ratio", lang=lang)
    else:
        shown = f"{value:g}"
    return text_message(f"effect.{play.strategy}.{play.gap}", lang=lang, value=shown)


def _rows(frame: pl.DataFrame, min_cell: int) -> dict[str, dict[str, Any]]:
    keep = frame.filter(pl.col("segment") == "all") if "segment" in frame.columns else frame
    out: dict[str, dict[str, Any]] = {}
    for r in keep.iter_rows(named=True):  # one row per metric
        if not is_suppressed(r, min_cell=min_cell) and not is_missing(r.get("value")):
            out.setdefault(r["metric"], r)
    return out


def open_gaps(
    data: pl.DataFrame,
    *,
    targets: Sequence[Target] | None = None,
    period: str | None = None,
    alpha: float = 0.05,
    min_cell: int | None = None,
) -> pl.DataFrame:
    """Every play whose metric is measured in ``data``, with the gap test.

    Parameters
    ----------
    data
        Metric rows (``metric, segment, value, n`` ...; segment ``all`` is used), e.g.
        :func:`~insights.narrative.summary.kpi_summary` output, which also
        carries ``change_previous`` / ``p_previous`` and ``target``.

    Returns
    -------
    polars.DataFrame
        ``strategy, gap, metric, layer, value, benchmark, benchmark_source, worse,
        declined, change, previous_quarter, open``: ``worse`` (than the benchmark) or
        ``declined`` (significantly, vs the comparison quarter) make a gap ``open``
        where ``benchmark`` is what the metric is compared with: the configured
        target, else the play's own document target (a rate), else the
        documents' observed value of the metric.
    """
    targets = default_targets() if targets is None else list(targets)
    target_of = {t.metric: t for t in targets if t.relative_to is None}
    rows = _rows(data, resolve_min_cell(min_cell))
    out = []
    for play in PLAYBOOK:  # a fixed handful of plays
        row = rows.get(play.metric)
        if row is None:
            continue
        better_up = metric_info(play.metric).better != "lower"
        value = float(row["value"])
        benchmark, source = None, None
        doc = play_effect(play)
        if row.get("target") is not None and not is_missing(row.get("target")):
            benchmark, source = float(row["target"]), "target"
        elif play.metric in target_of:
            benchmark, source = target_of[play.metric].value, "target"
        elif doc["kind"] == "target" and _comparable(play):
            benchmark, source = _doc_value(play), str(doc["seed"])
        else:
            docs = document_figures(play.metric, period=period, statements=("observed",))
            if docs.height:
                benchmark, source = float(docs["value"][0]), str(docs["seed"][0])
        worse = benchmark is not None and (value < benchmark if better_up else value > benchmark)
        diff, p = row.get("change_previous"), row.get("p_previous")
        declined = False
        if diff is not None and p is not None and not is_missing(diff) and not is_missing(p):
            declined = p < alpha and (diff < 0 if better_up else diff > 0)
        out.append(
            {
                "strategy": play.strategy,
                "gap": play.gap,
                "metric": play.metric,
                "layer": play.layer,
                "value": value,
                "benchmark": benchmark,
                "benchmark_source": source,
                "worse": bool(worse),
                "declined": bool(declined),
                "change": None if is_missing(diff) else float(diff),  # type: ignore[arg-type]
                "previous_quarter": row.get("previous_quarter"),
                "open": bool(worse or declined),
            }
        )
    return pl.DataFrame(
        out,
        schema={
            "strategy": pl.String,
            "gap": pl.String,
            "metric": pl.String,
            "layer": pl.String,
            "value": pl.Float64,
            "benchmark": pl.Float64,
            "benchmark_source": pl.String,
            "worse": pl.Boolean,
            "declined": pl.Boolean,
            "change": pl.Float64,
            "previous_quarter": pl.String,
            "open": pl.Boolean,
        },
    )


def _data_text(gap: dict[str, Any], play: Play, lang: Lang) -> str:
    kind = metric_info(play.metric).unit
    text = f"{text_metric(play.metric, lang=lang)} {fmt_value(gap['value'], kind, lang=lang)}"
    if gap["declined"] and not gap["worse"]:
        key = "playbook.fell" if (gap["change"] or 0) < 0 else "playbook.rose"
        text += text_message(
            key,
            lang=lang,
            change=fmt_change(gap["change"], kind, lang=lang),
            previous=gap["previous_quarter"] or "",
        )
    return text


def describe_playbook(
    data: pl.DataFrame,
    *,
    period: str | None = None,
    targets: Sequence[Target] | None = None,
    alpha: float = 0.05,
    only_open: bool = True,
    lang: Lang | None = None,
    min_cell: int | None = None,
) -> list[str]:
    """ "**High week-1 churn** → newcomer 7-day growth plan (000_….txt §1.3): the document sets … ; this data: 55.7%."

    Parameters
    ----------
    data
        Metric rows (segment ``all`` is used), best :func:`~insights.narrative.summary.kpi_summary`
        output, which carries the change vs the comparison quarter and the targets.
    period
        The report's period (the documents' figures of its year are preferred).
    targets
        Targets (default :func:`~insights.narrative.summary.default_targets`).
    alpha
        A significant decline (``p < alpha``) vs the comparison quarter opens a gap.
    only_open
        Only the plays whose gap is open (else every measured play).
    lang, min_cell
        Default: the values set with ``ins.options``.

    Returns
    -------
    list of str
        One line per play, or the one sentence saying no gap is open (or that
        document comparisons are switched off).
    """
    lang, min_cell = check_lang(lang), resolve_min_cell(min_cell)
    if not resolve_compare_documents():
        return [documents_off(lang=lang)]
    gaps = open_gaps(data, targets=targets, period=period, alpha=alpha, min_cell=min_cell)
    if only_open:
        gaps = gaps.filter(pl.col("open"))
    by_key = {(p.strategy, p.gap): p for p in PLAYBOOK}
    out = []
    for g in gaps.iter_rows(named=True):
        play = by_key[(g["strategy"], g["gap"])]
        doc = play_effect(play)
        out.append(
            text_message(
                "playbook.line",
                lang=lang,
                gap=text_message(f"gap.{play.gap}", lang=lang),
                strategy=text_message(f"strategy.{play.strategy}", lang=lang),
                doc=document_title(str(doc["seed"]), lang=lang),
                section=document_section(play.section, lang=lang),
                effect=_effect_text(play, lang=lang),
                value=_data_text(g, play, lang),
            )
        )
    return out or [text_message("playbook.none", lang=lang)]


def table_playbook(
    data: pl.DataFrame,
    *,
    period: str | None = None,
    targets: Sequence[Target] | None = None,
    lang: Lang | None = None,
    min_cell: int | None = None,
) -> pl.DataFrame:
    """Which layer each documented strategy targets, the document's statement and this data's baseline.

    A display frame (localized headers and text) for :func:`insights.tables.format_table`:
    layer, strategy, document (title, §), the document's effect or target, the metric,
    this data's value, and its difference from the document's figure when that figure
    is the same kind of quantity (a level with a level: a target rate, never an
    uplift), else "–". ``data``, ``period`` and ``targets`` are those of
    :func:`describe_playbook`; ``lang`` and ``min_cell`` default to the values set with
    ``ins.options``. No rows when document comparisons are switched off.
    """
    lang, min_cell = check_lang(lang), resolve_min_cell(min_cell)
    heads = [
        text_message(f"column.{c}", lang=lang)
        for c in ("layer", "strategy", "document", "effect", "metric", "data_value", "difference")
    ]
    if not resolve_compare_documents():
        return pl.DataFrame(schema={h: pl.String for h in heads})
    gaps = {
        (g["strategy"], g["gap"]): g
        for g in open_gaps(data, targets=targets, period=period, min_cell=min_cell).iter_rows(
            named=True
        )
    }
    rows = []
    for play in PLAYBOOK:
        doc = play_effect(play)
        g = gaps.get((play.strategy, play.gap))
        kind = metric_info(play.metric).unit
        shown = "–" if g is None else fmt_value(g["value"], kind, lang=lang)
        diff = (
            "–"
            if g is None or not _comparable(play)
            else fmt_diff(g["value"] - _doc_value(play), kind, lang=lang)
        )
        rows.append(
            [
                text_segment(play.layer, lang=lang),
                text_message(f"strategy.{play.strategy}", lang=lang),
                f"{document_title(str(doc['seed']), lang=lang)} §{document_section(play.section, lang=lang)}",
                _effect_text(play, lang=lang),
                text_metric(play.metric, lang=lang),
                shown,
                diff,
            ]
        )
    return pl.DataFrame(rows, schema={h: pl.String for h in heads}, orient="row")
