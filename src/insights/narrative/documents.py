"""What the seed documents say about a metric, next to what this data says.

The documents' figures are ``seed_figures.csv`` (a copy of the shared benchmark
file, shipped in this package: seed file, section, metric, segment, period, value,
unit, kind). :data:`DOC_MAP` says which of those rows quote the same quantity as
one of our metrics (``retention_d30`` ↔ the documents' ``retention_30d``), for which
of our segments. At the front door, ``ins.describe_documents`` writes those
comparisons for the rows of a metric frame.

Only like is compared with like: a level (a rate, a number of days, an amount) with a
level, a change (an uplift, a ratio, a gap between two groups) with a change, in the
same unit; the documents' amounts are in yuan, so they are compared only with data in
CNY. With ``ins.options(compare_documents=False)`` (``dataset.yaml``:
``report: {compare_documents: false}``) nothing is compared and no document is cited.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import polars as pl

from insights._options import Lang, resolve_compare_documents, resolve_currency, resolve_min_cell
from insights._registry import Kind, metric_info
from insights.narrative.catalog import check_lang, text_message, text_metric
from insights.narrative.numbers import fmt_ci, fmt_diff, fmt_value, is_missing

__all__ = [
    "DocRef",
    "DOC_MAP",
    "DocKind",
    "comparable",
    "document_source",
    "document_title",
    "documents_off",
    "seed_figures",
    "seed_figures_path",
    "document_figures",
    "document_vs_data",
    "describe_documents",
]

DocKind = Literal["observed", "target", "projection", "case"]


def seed_figures_path() -> Path:
    """The packaged ``seed_figures.csv``."""
    return Path(__file__).parent / "seed_figures.csv"


@cache
def seed_figures() -> pl.DataFrame:
    """Every figure the five seed documents state (read once).

    Columns ``seed, section, metric, segment, period, value, unit, kind, note``
    (``period`` and ``section`` as strings, ``value`` as float).
    """
    return pl.read_csv(
        seed_figures_path(), schema_overrides={"section": pl.String, "period": pl.String}
    )


@cache
def _documents() -> dict[str, dict[str, str]]:
    """The packaged ``documents.csv``: seed file name -> its titles (zh/en, full and short)."""
    frame = pl.read_csv(Path(__file__).parent / "documents.csv")
    return {row["seed"]: row for row in frame.iter_rows(named=True)}


def document_title(seed: str, *, lang: Lang) -> str:
    """The short title a reader sees for the document behind ``seed``.

    ``seed`` is a document's file name in ``seed_figures.csv`` or its three-digit prefix
    (``"000"``); what a reader sees is the document's title, never the file name.

    >>> document_title("000_4a2f2b99f1c1976d.txt", lang="en")
    'Growth & Retention Strategy Report'
    >>> document_title("003", lang="en")
    'Live × Private-Domain Linkage'
    """
    docs = _documents()
    number = seed.split("_")[0]  # the documents are numbered 000 ... 004
    row = docs.get(seed) or next((r for k, r in docs.items() if k.split("_")[0] == number), None)
    if row is None:
        raise KeyError(f"no document {seed!r} in documents.csv; known: {sorted(docs)}")
    return str(row["short_zh"] if check_lang(lang) == "zh" else row["short_en"])


_NUMERALS = str.maketrans(
    {"\u4e00": "1", "\u4e8c": "2", "\u4e09": "3", "\u56db": "4", "\u4e94": "5",
     "\u516d": "6", "\u4e03": "7", "\u516b": "8", "\u4e5d": "9", "\u5341": "10"}
)  # fmt: skip


def document_section(section: str, *, lang: Lang) -> str:
    """A document's section number as a reader of ``lang`` reads it.

    Some documents number parts with Chinese numerals (``5.body.<one>.3``); an English
    text shows them as digits.

    >>> document_section("5.body.\u4e00.3", lang="en")
    '5.body.1.3'
    >>> document_section("2.1", lang="en")
    '2.1'
    """
    return section if check_lang(lang) == "zh" else section.translate(_NUMERALS)


def document_source(source: str, *, lang: Lang | None = None) -> str:
    """A source note such as ``"000 §2.2 (week-1 churn 45%)"`` with each document named by its title.

    >>> document_source("000 §2.2 (week-1 churn 45%)", lang="en")
    'Growth & Retention Strategy Report §2.2 (week-1 churn 45%)'
    >>> document_source("000 §1.3, §2.2", lang="en")
    'Growth & Retention Strategy Report §1.3, §2.2'
    """
    lang = check_lang(lang)

    def title(found: re.Match[str]) -> str:
        try:
            return document_title(found[1], lang=lang) + " "
        except KeyError:
            return found[0]

    named = re.sub(r"\b(\d{3})(?:_[0-9a-f]+\.txt)? (?=§)", title, source)
    return document_section(named, lang=lang)


def documents_off(*, lang: Lang | None = None) -> str:
    """The sentence a section of document comparisons shows when they are switched off."""
    return text_message("doc.switched_off", lang=lang)


#: Words of a documents' metric name that make its figure a change, not a level.
_CHANGE = re.compile(
    r"uplift|increase|reduction|decrease|growth|diff|gap|premium|ratio|_vs_|change|lift|multiple"
)
#: Our unit kinds -> the documents' units stating the same kind of quantity.
_UNITS: dict[str, tuple[str, ...]] = {
    "rate": ("pct",),
    "uplift": ("pct",),
    "days": ("days",),
    "minutes": ("minutes",),
    "ratio": ("ratio", "multiple"),
    "count": ("count",),
    "index": ("ratio", "multiple"),
    "money": ("yuan",),
}
#: The currency of the documents' amounts.
_DOCUMENT_CURRENCY = "CNY"


def comparable(metric: str, doc_metric: str, doc_unit: str, *, currency: str | None = None) -> bool:
    """Whether a document's figure (its metric name and unit) states the same kind of quantity as ``metric``.

    A level goes with a level and a change (uplift, ratio, gap between groups) with a
    change, in the same unit; the documents' amounts (yuan) only go with data in CNY.

    Examples
    --------
    >>> comparable("retention_d30", "retention_30d", "pct")
    True
    >>> comparable("retention_d30", "retention_rate_uplift", "pct")  # a level vs an uplift
    False
    >>> comparable("aov", "aov_yuan", "yuan", currency="USD")  # yuan vs dollars
    False
    """
    kind: Kind = metric_info(metric).unit
    if doc_unit not in _UNITS.get(kind, ()):
        return False
    if kind == "money" and resolve_currency(currency) != _DOCUMENT_CURRENCY:
        return False
    ours_change = kind in ("uplift", "ratio", "index")
    return ours_change == bool(_CHANGE.search(doc_metric))


@dataclass(frozen=True)
class DocRef:
    """A documents' metric (and segment) that quotes one of our metrics.

    ``transform="complement"`` reads a churn figure as retention (100 - x);
    ``high_metric`` names the row holding the upper end of a quoted range.
    """

    metric: str
    segment: str
    transform: Literal["same", "complement"] = "same"
    high_metric: str | None = None


def _refs(**segments: list[DocRef]) -> dict[str, list[DocRef]]:
    return {k.replace("__", "+"): v for k, v in segments.items()}


R = DocRef
#: our metric id -> our segment value ("*" = any) -> the documents' rows quoting it
#: (``aov_yuan`` and ``cac_yuan`` are the documents' own names of their amounts in yuan)
DOC_MAP: dict[str, dict[str, list[DocRef]]] = {
    "retention_d30": _refs(
        all=[R("retention_30d", "all"), R("retention_30d", "partner_platforms")],
        gen_z=[R("retention_30d", "gen_z")],
        new_middle_class=[R("retention_30d", "new_middle_class")],
        tier12=[R("retention_30d", "tier12_city")],
        lower_tier=[R("retention_30d", "lower_tier")],
        beauty=[R("retention_30d", "beauty")],
        apparel=[R("retention_30d", "apparel")],
        home=[R("retention_30d", "home")],
        digital=[R("retention_30d", "digital")],
    ),
    "retention_d7": _refs(
        all=[R("churn_week1", "new_users", "complement"), R("retention_7d", "new_users")]
    ),
    "churn_week1": _refs(all=[R("churn_week1", "new_users")]),
    "churn_month1": _refs(all=[R("churn_month1", "new_users")]),
    "repurchase_60d": _refs(
        all=[R("repurchase_60d", "all")],
        gen_z=[R("repurchase_60d", "gen_z")],
        new_middle_class=[R("repurchase_60d", "new_middle_class")],
        lower_tier=[R("repurchase_60d", "lower_tier")],
        tier12=[R("repurchase_60d", "tier12_city")],
    ),
    "active_90d": _refs(
        all=[R("active_90d", "all")], new_middle_class=[R("active_90d", "new_middle_class")]
    ),
    "first_purchase_30d": _refs(all=[R("new_user_conversion_rate", "new_users")]),
    "aov": _refs(all=[R("aov_yuan", "smb_merchants")]),
    "aov_yuan": _refs(all=[R("aov_yuan", "smb_merchants")]),
    "interaction_rate": _refs(
        all=[R("interaction_rate", "all")],
        tier1=[R("interaction_rate", "tier1_city")],
        douyin=[R("interaction_rate", "douyin")],
        kuaishou=[R("interaction_rate", "kuaishou")],
        silver=[R("interaction_rate", "age_50_plus")],
    ),
    "public_to_private_conversion_30d": _refs(
        all=[
            R(
                "private_domain_conversion_rate_benchmark_low",
                "ecommerce_industry_avg",
                high_metric="private_domain_conversion_rate_benchmark_high",
            ),
            R("public_to_private_conversion_rate", "live_viewers"),
        ]
    ),
    "community_exit_rate_90d": _refs(all=[R("community_exit_rate", "private_domain")]),
    "cac": _refs(all=[R("cac_yuan", "all")]),
    "cac_yuan": _refs(all=[R("cac_yuan", "all")]),
    "repurchase_cycle": _refs(
        beauty__apparel=[R("repurchase_cycle", "beauty_apparel")],
        home__digital=[R("repurchase_cycle", "home_digital")],
    ),
    "silent_reactivation_30d": _refs(all=[R("reactivation_30d", "silent_users")]),
    "repurchase_frequency_ratio": {"*": [R("repurchase_frequency_ratio", "private_domain")]},
    "aov_uplift": {
        "private vs public": [R("aov_premium_vs_public", "private_domain")],
        "high vs ordinary": [R("aov_uplift", "high_interaction")],
    },
    "repurchase_uplift": {"high vs ordinary": [R("repurchase_uplift", "high_interaction")]},
    "gmv_share_top20pct_buyers": _refs(all=[R("gmv_share", "high_value_users")]),
    "watch_minutes_per_session_mean": _refs(all=[R("watch_time_per_session", "all")]),
    "bounce_rate": _refs(all=[R("bounce_rate", "all")]),
    "new_user_share": _refs(
        organic=[R("traffic_share", "organic")], paid=[R("traffic_share", "paid")]
    ),
    "user_share": _refs(
        gen_z=[R("user_share", "gen_z")],
        lower_tier=[R("user_share", "lower_tier")],
        new_middle_class=[R("user_share", "new_middle_class")],
    ),
}
DOC_MAP["repurchase_cycle_median_days"] = DOC_MAP["repurchase_cycle"]


def _year(period: str | None) -> str | None:
    return period[:4] if period and period[:4].isdigit() else None


def _pick(rows: pl.DataFrame, year: str | None) -> pl.DataFrame:
    """One row per (seed, kind): the period matching ``year``, else the latest year, else undated."""
    numeric = pl.col("period").str.contains(r"^\d{4}$")
    rank = (
        pl.when(pl.col("period") == (year or ""))
        .then(0)
        .when(numeric)
        .then(10_000 - pl.col("period").str.slice(0, 4).cast(pl.Int32, strict=False))
        .otherwise(20_000)
    )
    return (
        rows.with_columns(_rank=rank, _order=pl.int_range(pl.len()))
        .sort("_rank", "_order")
        .unique(subset=["seed", "kind"], keep="first", maintain_order=True)
        .drop("_rank", "_order")
    )


def document_figures(
    metric: str,
    *,
    segment: str = "all",
    period: str | None = None,
    statements: Sequence[DocKind] = ("observed", "target"),
) -> pl.DataFrame:
    """The documents' figures for ``metric`` in ``segment``, in the metric's own unit.

    Only figures stating the same kind of quantity (:func:`comparable`) are returned.

    Parameters
    ----------
    metric, segment
        Our metric id and segment value (see :data:`DOC_MAP`).
    period
        The data's period (``2024Q4``, ``2024``): a document row of the same year is
        preferred, otherwise the latest dated one, otherwise an undated one.
    statements
        Which kinds of document statement to return (``observed``, ``target``,
        ``projection``, ``case``).

    Returns
    -------
    polars.DataFrame
        ``seed, section, doc_metric, doc_period, kind, raw_value, raw_unit, value``
        (``value`` converted: percentages to fractions, ``complement`` applied) and
        ``high`` (upper end of a quoted range, else null). Empty when no document
        quotes the metric.

    Examples
    --------
    >>> document_figures("retention_d30", period="2024Q4").select("seed", "section", "kind", "value").rows()
    [('000_4a2f2b99f1c1976d.txt', '2.2', 'observed', 0.35), ('000_4a2f2b99f1c1976d.txt', '1.3', 'target', 0.6)]
    """
    refs = DOC_MAP.get(metric, {})
    chosen = refs.get(segment, refs.get("*", []))
    kind = metric_info(metric).unit
    seeds = seed_figures()
    frames = []
    for ref in chosen:
        rows = seeds.filter(
            (pl.col("metric") == ref.metric)
            & (pl.col("segment") == ref.segment)
            & pl.col("kind").is_in(list(statements))
        )
        rows = rows.filter(
            pl.Series(
                [comparable(metric, ref.metric, str(u)) for u in rows["unit"]], dtype=pl.Boolean
            )
        )
        if rows.is_empty():
            continue
        picked = _pick(rows, _year(period))
        scale = 100.0 if kind in ("rate", "uplift") else 1.0
        raw = pl.col("value").cast(pl.Float64)
        value = (100.0 - raw) if ref.transform == "complement" else raw
        high = None
        if ref.high_metric:
            hi = seeds.filter(
                (pl.col("metric") == ref.high_metric) & (pl.col("segment") == ref.segment)
            )
            high = float(hi["value"][0]) / scale if hi.height else None
        frames.append(
            picked.select(
                "seed",
                "section",
                pl.col("metric").alias("doc_metric"),
                pl.col("period").alias("doc_period"),
                "kind",
                raw.alias("raw_value"),
                pl.col("unit").alias("raw_unit"),
                (value / scale).alias("value"),
                pl.lit(high, dtype=pl.Float64).alias("high"),
                pl.lit(ref.transform).alias("transform"),
            )
        )
    if not frames:
        return pl.DataFrame(
            schema={
                "seed": pl.String,
                "section": pl.String,
                "doc_metric": pl.String,
                "doc_period": pl.String,
                "kind": pl.String,
                "raw_value": pl.Float64,
                "raw_unit": pl.String,
                "value": pl.Float64,
                "high": pl.Float64,
                "transform": pl.String,
            }
        )
    return pl.concat(frames).sort(
        pl.col("kind").replace_strict(
            {"observed": 0, "target": 1, "projection": 2, "case": 3}, default=9
        ),
        maintain_order=True,
    )


def _gap(value: float, low: float, high: float | None) -> float:
    """``value`` minus the document's figure, or minus the nearest end of a quoted range."""
    if high is None:
        return value - low
    return value - low if value < low else (value - high if value > high else 0.0)


def document_vs_data(
    metric: str,
    value: float | None,
    *,
    lang: Lang | None = None,
    ci: tuple[float | None, float | None] | None = None,
    segment: str = "all",
    period: str | None = None,
    n: int | None = None,
    min_cell: int | None = None,
    statements: Sequence[DocKind] = ("observed", "target"),
) -> list[str]:
    """ "Document 000_….txt (§2.2) reports 35.0% (2024); this data: 35.2% (95% CI …), +0.2 points from the document."

    One sentence per document statement found for ``metric``/``segment``; an empty
    list when no document quotes it, when ``value`` is missing, when ``n`` is
    below ``min_cell`` (small cells are never shown), or when document comparisons
    are switched off (``ins.options(compare_documents=False)``). ``lang`` and
    ``min_cell`` default to the values set with ``ins.options``.

    Examples
    --------
    >>> document_vs_data("retention_d30", 0.352, lang="en", period="2024Q4")[0]
    'The Growth & Retention Strategy Report (§2.2) reports 35.0% (2024); this data: 35.2%, +0.2 points from the document.'
    """
    lang, min_cell = check_lang(lang), resolve_min_cell(min_cell)
    if is_missing(value) or (n is not None and n < min_cell) or not resolve_compare_documents():
        return []
    assert value is not None
    kind = metric_info(metric).unit
    docs = document_figures(metric, segment=segment, period=period, statements=statements)
    ci_text = fmt_ci(ci[0], ci[1], kind, lang=lang) if ci else ""
    ci_part = text_message("meta.paren", lang=lang, x=ci_text) if ci_text else ""
    out = []
    for row in docs.iter_rows(named=True):  # a handful of document statements
        if row["high"] is not None:
            doc_value = text_message(
                "doc.range",
                lang=lang,
                low=fmt_value(row["value"], kind, lang=lang),
                high=fmt_value(row["high"], kind, lang=lang),
            )
        elif row["transform"] == "complement":
            raw = fmt_value(row["raw_value"] / 100, "rate", lang=lang)
            doc_value = f"{text_metric(row['doc_metric'], lang=lang)} {raw}" + text_message(
                "doc.derived",
                lang=lang,
                derived=f"{text_metric(metric, lang=lang)} {fmt_value(row['value'], kind, lang=lang)}",
            )
        else:
            doc_value = fmt_value(row["value"], kind, lang=lang)
        period_text = (
            row["doc_period"]
            if row["doc_period"] and row["doc_period"] not in ("undated", "unspecified")
            else text_message("doc.undated", lang=lang)
        )
        out.append(
            text_message(
                f"doc.{row['kind']}",
                lang=lang,
                doc=document_title(row["seed"], lang=lang),
                section=document_section(str(row["section"]), lang=lang),
                doc_value=doc_value,
                period=period_text,
                value=fmt_value(value, kind, lang=lang),
                ci_part=ci_part,
                diff=fmt_diff(_gap(value, row["value"], row["high"]), kind, lang=lang),
            )
        )
    return out


def describe_documents(
    data: pl.DataFrame,
    *,
    period: str | None = None,
    statements: Sequence[DocKind] = ("observed", "target"),
    lang: Lang | None = None,
    min_cell: int | None = None,
) -> list[str]:
    """What the seed documents say next to this data, for every row of a tidy metric frame.

    One sentence per document statement quoting a row's metric (and segment), via
    :func:`document_vs_data`; rows below ``min_cell`` and suppressed rows are skipped.
    Nothing when document comparisons are switched off
    (``ins.options(compare_documents=False)``).

    Parameters
    ----------
    data
        Metric rows: ``metric, segment, value, ci_low, ci_high, n`` and ``period`` (or
        ``quarter``).
    period
        The period to match the documents' years against (default: each row's
        ``period`` or ``quarter`` value).
    statements
        Which kinds of document statement to quote (``observed``, ``target``,
        ``projection``, ``case``).
    lang, min_cell
        Default: the values set with ``ins.options``.

    Examples
    --------
    >>> import insights as ins
    >>> import polars as pl
    >>> rows = pl.DataFrame({"metric": ["retention_d30"], "segment": ["all"], "period": ["2024Q4"],
    ...                      "value": [0.352], "ci_low": [None], "ci_high": [None], "n": [5000]})
    >>> ins.describe_documents(rows, lang="en")[0][:45]
    'The Growth & Retention Strategy Report (§2.2)'
    """
    lang, min_cell = check_lang(lang), resolve_min_cell(min_cell)
    out: list[str] = []
    if not resolve_compare_documents():
        return out
    period_col = (
        "period" if "period" in data.columns else ("quarter" if "quarter" in data.columns else None)
    )
    for row in data.iter_rows(named=True):  # one row per metric x segment
        if row.get("suppressed") or row.get("metric") not in DOC_MAP:
            continue
        out += document_vs_data(
            str(row["metric"]),
            row.get("value"),
            lang=lang,
            ci=(row.get("ci_low"), row.get("ci_high")),
            segment=str(row.get("segment", "all")),
            period=period or (str(row[period_col]) if period_col and row.get(period_col) else None),
            n=row.get("n"),
            min_cell=min_cell,
            statements=statements,
        )
    return out
