"""Sentences about strategy experiments: arm balance (SRM) and effect verdicts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl
from scipy.stats import chisquare

from insights.narrative.catalog import check_lang, message, metric_label, value_label
from insights.narrative.numbers import fmt_ci, fmt_diff, fmt_p, fmt_value, is_missing
from insights.narrative.registry import metric_info
from insights.narrative.sentences import significance

__all__ = ["srm_test", "srm_sentence", "effect_lines", "simulator_truth"]


def srm_test(
    sizes: Mapping[str, int], *, expected: Mapping[str, float] | None = None
) -> tuple[float, float]:
    """Sample-ratio-mismatch χ² goodness-of-fit test of arm sizes: ``(statistic, p)``.

    ``expected`` gives the planned share of each arm (default: equal shares).

    Examples
    --------
    >>> stat, p = srm_test({"control": 486, "treatment": 536})
    >>> round(stat, 3), round(p, 3)
    (2.446, 0.118)
    """
    if len(sizes) < 2:
        raise ValueError(f"sizes must name at least two arms, got {dict(sizes)}")
    arms = list(sizes)
    observed = [float(sizes[a]) for a in arms]
    total = sum(observed)
    if expected is None:
        shares = [1 / len(arms)] * len(arms)
    else:
        missing = set(arms) - set(expected)
        if missing:
            raise ValueError(f"expected has no share for arm(s) {sorted(missing)}")
        weight = sum(float(expected[a]) for a in arms)
        shares = [float(expected[a]) / weight for a in arms]
    result = chisquare(observed, [s * total for s in shares])
    return float(result.statistic), float(result.pvalue)


def srm_sentence(
    sizes: Mapping[str, int],
    *,
    lang: str,
    alpha: float = 0.001,
    min_cell: int = 10,
    expected: Mapping[str, float] | None = None,
) -> str:
    """ "Arm sizes control 486, treatment 536: no sample-ratio mismatch (χ² test p = 0.12)."

    SRM is conventionally flagged at ``p < 0.001``. Arms below ``min_cell`` show as "<10".
    """
    check_lang(lang)
    _, p = srm_test(sizes, expected=expected)
    sep = message("meta.list_sep", lang=lang)
    hidden = message("table.suppressed", lang=lang, min_cell=min_cell)
    text = sep.join(
        f"{value_label(a, lang=lang)} {n:,}"
        if n >= min_cell
        else f"{value_label(a, lang=lang)} {hidden}"
        for a, n in sizes.items()
    )
    key = "experiment.srm_fail" if p < alpha else "experiment.srm_ok"
    return message(key, lang=lang, sizes=text, p=fmt_p(p))


def effect_lines(
    milestones: pl.DataFrame,
    *,
    lang: str,
    sizes: Mapping[str, int] | None = None,
    alpha: float = 0.05,
    min_cell: int = 10,
    adjusted: bool = True,
) -> list[str]:
    """One verdict sentence per arm and milestone of a survival comparison.

    Parameters
    ----------
    milestones
        ``SurvivalComparison.milestones``: ``group_a, group_b, t, survival_a,
        survival_b, difference, ci_low, ci_high, p_value, p_adjusted`` (S(t) on the
        ``retention_curves`` scale, so S(30) is D30 retention).
    sizes
        Users per arm; arms below ``min_cell`` are left out.
    adjusted
        Use the multiple-testing adjusted p-value (Holm by default in ``compare_survival``).

    Examples
    --------
    >>> m = pl.DataFrame({"group_a": ["treatment"], "group_b": ["control"], "t": [30.0],
    ...     "survival_a": [0.43], "survival_b": [0.34], "difference": [0.09],
    ...     "ci_low": [0.03], "ci_high": [0.15], "p_value": [0.003], "p_adjusted": [0.003]})
    >>> effect_lines(m, lang="en")[0][:60]
    'Treatment vs Control: D30 retention 43.0% vs 34.0% (+9.0 poi'
    """
    check_lang(lang)
    out = []
    for r in milestones.iter_rows(named=True):  # one row per arm x milestone
        if sizes is not None and (
            sizes.get(r["group_a"], 0) < min_cell or sizes.get(r["group_b"], 0) < min_cell
        ):
            continue
        metric = f"retention_d{int(round(r['t']))}"
        kind = metric_info(metric).kind
        p = r["p_adjusted"] if adjusted and not is_missing(r.get("p_adjusted")) else r["p_value"]
        better = metric_info(metric).higher_is_better is not False
        if is_missing(p) or p >= alpha:
            key = "experiment.verdict_null"
        elif (r["difference"] > 0) == better:
            key = "experiment.verdict_better"
        else:
            key = "experiment.verdict_worse"
        out.append(
            message(
                key,
                lang=lang,
                arm=value_label(r["group_a"], lang=lang),
                control=value_label(r["group_b"], lang=lang),
                metric=metric_label(metric, lang=lang),
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


def simulator_truth(manifest: Mapping[str, Any], *, lang: str) -> list[str]:
    """The true effects the simulator built into each experiment (``manifest.json``), one line each.

    Only for showing next to the estimates (the appendix); never used to compute results.
    """
    check_lang(lang)
    out = []
    for name, spec in (manifest.get("experiments") or {}).items():
        truth = spec.get("true_effect") or {}
        text = "; ".join(f"{k}: {_fmt_truth(v)}" for k, v in truth.items())
        out.append(message("experiment.truth", lang=lang, experiment=name, truth=text))
    return out
