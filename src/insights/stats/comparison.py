"""Compare survival curves between segments in one call: tests, differences and hazard ratios.

:func:`compare_survival` takes a ``SurvivalCurves`` result (or anything with a
``.counts`` survival counts frame) or the counts frame itself, and returns a
:class:`SurvivalComparison` with tidy Polars frames: the overall k-group test
(log-rank or Fleming–Harrington, optionally stratified), pairwise tests with Holm or
Benjamini–Hochberg adjustment (all pairs or all versus a reference), milestone
differences of S(t*), RMST(τ) differences and Cox hazard ratios. Everything is
computed from aggregated counts (see :mod:`insights.stats.logrank`,
:mod:`insights.stats.milestone`, :mod:`insights.stats.cox`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import polars as pl

from insights.stats.adjust import Adjust
from insights.stats.cox import cox_hazard_ratios
from insights.stats.curves import default_tau
from insights.stats.km import kaplan_meier
from insights.stats.logrank import Weighting, WeightsKind, logrank_test, pairwise_logrank
from insights.stats.milestone import milestone_difference, rmst_difference

__all__ = ["SurvivalComparison", "compare_survival"]

_SUMMARY_SCHEMA = {
    "measure": pl.String,
    "segment_a": pl.String,
    "segment_b": pl.String,
    "estimate": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "statistic": pl.Float64,
    "p_value": pl.Float64,
    "p_adjusted": pl.Float64,
}


def _number(column: str) -> pl.Expr:
    """A time as text: ``30`` for whole numbers, ``30.5`` otherwise."""
    value = pl.col(column).cast(pl.Float64)
    return (
        pl.when(value == value.round(0))
        .then(value.cast(pl.Int64).cast(pl.String))
        .otherwise(value.round(6).cast(pl.String))
    )


@dataclass(frozen=True)
class SurvivalComparison:
    """Result of :func:`compare_survival`.

    Attributes
    ----------
    overall
        Read-only mapping ``test, statistic, df, p_value, rho, gamma, strata,
        weights_kind`` of the
        k-group test (``overall["p_value"]`` is a float).
    segments
        ``segment, n, observed, expected, score, variance``: the test's O/E table.
    pairwise
        ``segment_a, segment_b, statistic, df, p_value, p_adjusted, method`` or ``None``.
    milestones
        Differences of S(t*) (see ``milestone_difference``) or ``None``.
    rmst_difference
        Differences of RMST(τ) (see ``rmst_difference``) or ``None``.
    hazard_ratios
        Cox hazard ratios (see ``cox_hazard_ratios``) or ``None``.
    alpha, adjust, reference
        The options used.
    """

    overall: Mapping[str, Any]
    segments: pl.DataFrame
    pairwise: pl.DataFrame | None = None
    milestones: pl.DataFrame | None = None
    rmst_difference: pl.DataFrame | None = None
    hazard_ratios: pl.DataFrame | None = None
    alpha: float = 0.05
    adjust: str = "holm"
    reference: str | None = None

    @property
    def summary(self) -> pl.DataFrame:
        """One row per comparison: ``measure, segment_a, segment_b, estimate, ci_low,
        ci_high, statistic, p_value, p_adjusted`` (estimate = difference or hazard
        ratio; null for the χ² tests)."""
        test = str(self.overall["test"])
        parts = [
            pl.DataFrame(
                [
                    (
                        test,
                        None,
                        None,
                        None,
                        None,
                        None,
                        self.overall["statistic"],
                        self.overall["p_value"],
                        None,
                    )
                ],
                schema=_SUMMARY_SCHEMA,
                orient="row",
            )
        ]
        if self.pairwise is not None:
            parts.append(
                self.pairwise.select(
                    pl.lit(f"pairwise {test}").alias("measure"),
                    "segment_a",
                    "segment_b",
                    pl.lit(None, pl.Float64).alias("estimate"),
                    pl.lit(None, pl.Float64).alias("ci_low"),
                    pl.lit(None, pl.Float64).alias("ci_high"),
                    "statistic",
                    "p_value",
                    "p_adjusted",
                )
            )
        for frame, measure in (
            (self.milestones, pl.format("S({}) difference", _number("t"))),
            (self.rmst_difference, pl.format("RMST({}) difference", _number("tau"))),
        ):
            if frame is not None:
                parts.append(
                    frame.select(
                        measure.alias("measure"),
                        "segment_a",
                        "segment_b",
                        pl.col("difference").alias("estimate"),
                        "ci_low",
                        "ci_high",
                        pl.lit(None, pl.Float64).alias("statistic"),
                        "p_value",
                        "p_adjusted",
                    )
                )
        if self.hazard_ratios is not None:
            parts.append(
                self.hazard_ratios.select(
                    pl.lit("hazard ratio").alias("measure"),
                    pl.format("{}={}", "column", "level").alias("segment_a"),
                    pl.format("{}={}", "column", "reference").alias("segment_b"),
                    pl.col("hazard_ratio").alias("estimate"),
                    "ci_low",
                    "ci_high",
                    pl.lit(None, pl.Float64).alias("statistic"),
                    "p_value",
                    pl.lit(None, pl.Float64).alias("p_adjusted"),
                )
            )
        return pl.concat([p.cast(_SUMMARY_SCHEMA) for p in parts])  # type: ignore[arg-type]

    def _repr_html_(self) -> str:
        o = self.overall
        head = (
            f"<p><b>Survival comparison</b> — {o['test']}: χ² = {o['statistic']:.3f} on "
            f"{o['df']} df, p = {o['p_value']:.3g}"
            + (f" (stratified by {o['strata']})" if o.get("strata") else "")
            + f"; {int(round((1 - self.alpha) * 100))}% CIs"
            + (f", p-values adjusted by {self.adjust}" if self.adjust != "none" else "")
            + "</p>"
        )
        table = self.summary.with_columns(pl.selectors.float().round(4))
        return head + table._repr_html_()


def _counts_of(data: Any) -> pl.DataFrame:
    counts = getattr(data, "counts", data)
    if not isinstance(counts, pl.DataFrame):
        raise ValueError(
            "compare_survival needs a SurvivalCurves result (with .counts) or a Polars "
            f"survival counts frame, got {type(data).__name__}"
        )
    return counts


def _km_table(data: Any, counts: pl.DataFrame, by: str, alpha: float) -> pl.DataFrame:
    """The full Kaplan–Meier table: ``SurvivalCurves.km`` when given, else fitted on the counts.

    (``SurvivalCurves.table`` may be on a coarser requested timeline, where Greenwood
    sums and areas would be wrong, so it is never used.)
    """
    km = getattr(data, "km", None)
    needed = {"segment", "t", "survival", "at_risk", "events"}
    if isinstance(km, pl.DataFrame) and needed <= set(km.columns) and by == "segment":
        return km
    return kaplan_meier(
        counts,
        by=by,
        alpha=alpha,
        entry="entry" if "entry" in counts.columns else None,
    )


def compare_survival(
    data: Any,
    *,
    test: Weighting = "logrank",
    rho: float = 0.0,
    gamma: float = 0.0,
    pairwise: bool = True,
    adjust: Adjust = "holm",
    reference: str | None = None,
    strata: str | None = None,
    milestones: Sequence[float] = (),
    tau: float | None = None,
    cox: bool | str | Sequence[str] = False,
    alpha: float = 0.05,
    by: str = "segment",
    weights_kind: WeightsKind = "frequency",
) -> SurvivalComparison:
    """Compare survival between segments: k-group test, pairwise tests, milestones, RMST, Cox.

    Parameters
    ----------
    data
        A ``SurvivalCurves`` (its ``.counts``, and its full Kaplan–Meier table ``.km``
        for milestones and RMST) or a survival counts frame
        ``segment, [entry,] duration, event, count``.
    test, rho, gamma
        ``"logrank"`` or ``"fleming-harrington"`` with weights Ŝ(t−)^rho (1 − Ŝ(t−))^gamma
        (rho > 0: early differences count more; gamma > 0: late ones).
    pairwise
        Also test each pair of segments (or each segment against ``reference``).
    adjust
        Multiple-testing adjustment of pairwise, milestone and RMST p-values:
        ``"holm"`` (family-wise error), ``"bh"`` (false discovery rate),
        ``"bonferroni"`` or ``"none"``.
    reference
        Compare every segment with this one (k − 1 comparisons; differences are
        segment − reference; also the Cox reference level) instead of all pairs.
    strata
        Column of the counts to stratify the tests (and the Cox model) by; milestone
        and RMST differences stay unstratified.
    milestones
        Times t* at which to compare S(t*) (difference and ratio with CI).
    tau
        Restriction time of the RMST difference; default the curves' own ``tau`` when
        given a ``SurvivalCurves``, else min(90, the largest t at which every segment
        still has >= 10 units at risk). No RMST difference when that is 0.
    cox
        ``True``: Cox hazard ratios of the segments; a column name or list of names:
        hazard ratios for those columns of the counts (dummy-coded, additive).
    alpha
        1 − confidence level of all intervals.
    by
        The column of the counts whose values are compared (default ``segment``).
    weights_kind
        What ``count`` holds: ``"frequency"`` (default; units) or ``"sampling"``
        (summed sampling weights: the tests and the Cox model use robust variances
        that do not depend on the weights' scale; see ``logrank_test``). The
        milestone and RMST differences use Greenwood variances, which are for
        frequency weights: with ``"sampling"`` they are not computed (``milestones``
        must be empty and ``rmst_difference`` is ``None``).

    Returns
    -------
    SurvivalComparison
        Frames described on the class; ``summary`` puts them in one long table. Only
        small aggregated frames are involved (nothing is collected here).

    Examples
    --------
    >>> import insights as ins
    >>> c = pl.DataFrame({"segment": ["a", "a", "b", "b"], "duration": [1, 3, 2, 4],
    ...                   "event": [1, 1, 1, 0], "count": [5.0, 5.0, 5.0, 5.0]})
    >>> res = ins.compare_survival(c, milestones=[2], tau=3)
    >>> round(res.overall["p_value"], 4)
    0.0341
    >>> res.summary["measure"].to_list()
    ['logrank', 'pairwise logrank', 'S(2) difference', 'RMST(3) difference']
    """
    counts = _counts_of(data)
    if by not in counts.columns:
        raise ValueError(
            f"counts has no segment column {by!r} (columns: {counts.columns}); pass by=..."
        )
    labels = sorted(counts[by].cast(pl.String).unique().to_list())
    if reference is not None and reference not in labels:
        raise ValueError(f"reference={reference!r} is not one of the segments {labels}")
    sampling = weights_kind == "sampling"
    if sampling and len(milestones):
        raise ValueError(
            "milestone differences use Greenwood variances (frequency weights); they are "
            "not available with weights_kind='sampling': drop milestones="
        )
    result = logrank_test(
        counts, by=by, test=test, rho=rho, gamma=gamma, strata=strata, weights_kind=weights_kind
    )
    name = "logrank" if test == "logrank" else f"Fleming-Harrington G({rho:g}, {gamma:g})"
    if strata is not None:
        name = f"stratified {name}"
    overall = MappingProxyType(
        {
            "test": name,
            "statistic": result.statistic,
            "df": result.df,
            "p_value": result.p_value,
            "rho": result.rho,
            "gamma": result.gamma,
            "strata": strata,
            "weights_kind": weights_kind,
        }
    )
    pairs = (
        pairwise_logrank(
            counts,
            by=by,
            test=test,
            rho=rho,
            gamma=gamma,
            strata=strata,
            adjust=adjust,
            reference=reference,
            weights_kind=weights_kind,
        )
        if pairwise
        else None
    )
    km = _km_table(data, counts, by, alpha)
    options = {"reference": reference, "alpha": alpha, "adjust": adjust}
    miles = (
        milestone_difference(km, milestones=list(milestones), **options)  # type: ignore[arg-type]
        if len(milestones)
        else None
    )
    if tau is None:
        tau = getattr(data, "tau", None)
    if tau is None:
        tau = default_tau(km)
    rmst_diff = (
        rmst_difference(km, tau=float(tau), **options)  # type: ignore[arg-type]
        if tau > 0 and not sampling
        else None
    )
    hazard = None
    if cox is not False:
        columns = [by] if cox is True else cox
        hazard = cox_hazard_ratios(
            counts,
            by=columns,
            reference=reference,
            strata=strata,
            alpha=alpha,
            weights_kind=weights_kind,
        )
    return SurvivalComparison(
        overall=overall,
        segments=result.segments,
        pairwise=pairs,
        milestones=miles,
        rmst_difference=rmst_diff,
        hazard_ratios=hazard,
        alpha=alpha,
        adjust=adjust,
        reference=reference,
    )
