"""Sentences about strategy experiments: arm balance (SRM), effect verdicts, the simulator's truth.

At the front door: ``ins.describe_srm``, ``ins.describe_effects`` and
``ins.describe_simulator_truth``. The SRM test itself is ``ins.srm_test``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from insights._options import Lang, resolve_min_cell
from insights._registry import metric_id, metric_info
from insights.narrative.catalog import check_lang, text_message, text_metric, text_segment
from insights.narrative.numbers import fmt_ci, fmt_diff, fmt_p, fmt_value, is_missing
from insights.narrative.sentences import significance
from insights.stats.effects import srm_test
from insights.tables._escape import LABEL_LIMIT, markdown_text

__all__ = ["describe_srm", "describe_effects", "describe_simulator_truth"]


def describe_srm(
    data: Mapping[str, int],
    *,
    split: Mapping[str, float] | None = None,
    alpha: float = 0.001,
    lang: Lang | None = None,
    min_cell: int | None = None,
) -> str:
    """ "Arm sizes control 486, treatment 536: no sample-ratio mismatch (χ² test p = 0.12)."

    Parameters
    ----------
    data
        Users per arm (``{arm: n}``), tested with :func:`insights.stats.effects.srm_test`.
    split
        The planned share (or weight) of each arm; default equal shares.
    alpha
        SRM is flagged at ``p < alpha`` (conventionally 0.001).
    lang, min_cell
        Default: the values set with ``ins.options``; arms below ``min_cell`` show
        as "<10", and then no p-value is given (with the other arms' sizes it would
        give the small arm's size back).

    Examples
    --------
    >>> import insights as ins
    >>> ins.describe_srm({"control": 486, "treatment": 536}, lang="en")
    'Arm sizes Control 486, Treatment 536: no sample-ratio mismatch (χ² test p = 0.12).'
    >>> ins.describe_srm({"control": 40, "treatment": 4}, lang="en")[:54]
    'Arm sizes Control 40, Treatment <10: an arm has fewer '
    """
    lang, min_cell = check_lang(lang), resolve_min_cell(min_cell)
    sep = text_message("meta.list_sep", lang=lang)
    hidden = text_message("table.suppressed", lang=lang, min_cell=min_cell)
    text = sep.join(
        f"{text_segment(a, lang=lang)} {n:,}"
        if n >= min_cell
        else f"{text_segment(a, lang=lang)} {hidden}"
        for a, n in data.items()
    )
    if any(0 < n < min_cell for n in data.values()):
        # the test's p-value and the other arms' sizes would give the small arm's size back
        return text_message("experiment.srm_small", lang=lang, sizes=text, min_cell=min_cell)
    p = srm_test(data, split=split).p_value
    key = "experiment.srm_fail" if p < alpha else "experiment.srm_ok"
    return text_message(key, lang=lang, sizes=text, p=fmt_p(p))


def describe_effects(
    data: pl.DataFrame,
    *,
    sizes: Mapping[str, int] | None = None,
    alpha: float = 0.05,
    adjusted: bool = True,
    lang: Lang | None = None,
    min_cell: int | None = None,
) -> list[str]:
    """One verdict sentence per arm and milestone of a survival comparison.

    Parameters
    ----------
    data
        The ``milestones`` frame of a :func:`insights.stats.comparison.compare_survival`
        result: ``segment_a, segment_b, t, survival_a, survival_b, difference, ci_low,
        ci_high, p_value, p_adjusted`` (S(t) on the ``retention_curves`` scale, so
        S(30) is D30 retention).
    sizes
        Users per arm; arms below ``min_cell`` are left out.
    alpha
        Differences with ``p < alpha`` are called significant.
    adjusted
        Use the multiple-testing adjusted p-value (Holm by default in ``compare_survival``).
    lang, min_cell
        Default: the values set with ``ins.options``.

    Examples
    --------
    >>> import insights as ins
    >>> import polars as pl
    >>> m = pl.DataFrame({"segment_a": ["treatment"], "segment_b": ["control"], "t": [30.0],
    ...     "survival_a": [0.43], "survival_b": [0.34], "difference": [0.09],
    ...     "ci_low": [0.03], "ci_high": [0.15], "p_value": [0.003], "p_adjusted": [0.003]})
    >>> ins.describe_effects(m, lang="en")[0][:60]
    'Treatment vs Control: D30 retention 43.0% vs 34.0% (+9.0 poi'
    """
    lang, min_cell = check_lang(lang), resolve_min_cell(min_cell)
    out = []
    for r in data.iter_rows(named=True):  # one row per arm x milestone
        if sizes is not None and (
            sizes.get(r["segment_a"], 0) < min_cell or sizes.get(r["segment_b"], 0) < min_cell
        ):
            continue
        metric = metric_id("retention_d{day}", day=int(round(r["t"])))
        kind = metric_info(metric).unit
        p = r["p_adjusted"] if adjusted and not is_missing(r.get("p_adjusted")) else r["p_value"]
        better = metric_info(metric).better != "lower"
        if is_missing(p) or p >= alpha:
            key = "experiment.verdict_null"
        elif (r["difference"] > 0) == better:
            key = "experiment.verdict_better"
        else:
            key = "experiment.verdict_worse"
        out.append(
            text_message(
                key,
                lang=lang,
                arm=text_segment(r["segment_a"], lang=lang),
                control=text_segment(r["segment_b"], lang=lang),
                metric=text_metric(metric, lang=lang),
                value=fmt_value(r["survival_a"], kind, lang=lang),
                control_value=fmt_value(r["survival_b"], kind, lang=lang),
                diff=fmt_diff(r["difference"], kind, lang=lang),
                ci=fmt_ci(r["ci_low"], r["ci_high"], kind, lang=lang),
                sig=significance(p, lang=lang, alpha=alpha),
            )
        )
    return out


def _fmt_truth(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_fmt_truth(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def describe_simulator_truth(data: Mapping[str, Any], *, lang: Lang | None = None) -> list[str]:
    """The true effects the simulator built into each experiment, one line each.

    ``data`` is the simulator's manifest (``manifest.json`` of a simulated dataset).
    Only for showing next to the estimates (the appendix); never used to compute results.
    Names and keys from the manifest are Markdown text (escaped: they read as written).

    Examples
    --------
    >>> import insights as ins
    >>> manifest = {"experiments": {"return_benefit_pack": {"true_effect": {"repurchase_90d": 0.3}}}}
    >>> print(*ins.describe_simulator_truth(manifest, lang="en"))
    Simulator truth for return\\_benefit\\_pack: repurchase\\_90d: 0.3.
    """
    lang = check_lang(lang)
    out = []
    for name, spec in (data.get("experiments") or {}).items():
        truth = spec.get("true_effect") or {}
        text = "; ".join(f"{k}: {_fmt_truth(v)}" for k, v in truth.items())
        out.append(  # manifest keys and values are data: text, never Markdown
            text_message(
                "experiment.truth",
                lang=lang,
                experiment=markdown_text(name, limit=LABEL_LIMIT),
                truth=markdown_text(text, line_start=False),
            )
        )
    return out
