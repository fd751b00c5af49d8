"""Comparing survival curves at a point: S(t*) differences and RMST(τ) differences.

Milestone survival (Klein, Logan, Harhoff & Andersen 2007, Stat Med 26:4505): for
independent groups a and b, Ŝ_a(t*) − Ŝ_b(t*) with variance Var_a + Var_b, each by
Greenwood's formula Var Ŝ(t) = Ŝ(t)² Σ_{t_j <= t} d_j / (n_j (n_j − d_j)) (n_j the
Kaplan–Meier risk set, entry < t_j <= duration under left truncation; n_j and d_j
numbers of units, i.e. frequency weights); a normal (Wald) CI and a two-sided z-test. The ratio Ŝ_a/Ŝ_b uses the log scale, whose
variance is the sum of the two Greenwood sums (delta method).

RMST difference (Royston & Parmar 2013, BMC Med Res Methodol 13:152): RMST_a(τ) −
RMST_b(τ) with SE sqrt(se_a² + se_b²), the per-group values and SEs from
:func:`insights.stats.rmst.rmst` (Greenwood-type delta method, not lifelines'
variance, which is wrong: lifelines issue 1682).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy.stats import norm

from insights.stats.adjust import Adjust, adjust_pvalues, comparison_pairs
from insights.stats.proportions import z_value
from insights.stats.rmst import rmst

__all__ = ["milestone_survival", "milestone_difference", "rmst_difference"]

_NEEDED = ("t", "survival", "at_risk", "events")


def _check_km(km: pl.DataFrame, group: str) -> None:
    missing = [c for c in (group, *_NEEDED) if c not in km.columns]
    if missing:
        raise ValueError(
            f"the Kaplan–Meier table lacks columns {missing}; it needs a full table with "
            f"'{group}, t, survival, at_risk, events' (e.g. SurvivalCurves.km)"
        )


def milestone_survival(
    data: pl.DataFrame, *, milestones: float | Sequence[float], by: str = "segment"
) -> pl.DataFrame:
    """Ŝ(t*) per segment with its Greenwood variance, from a full Kaplan–Meier table.

    Parameters
    ----------
    data
        ``segment, t, survival, at_risk, events``: every event time of each segment
        as a row (lifelines' timeline, ``SurvivalCurves.km``, or ``ins.kaplan_meier``).
    milestones
        Milestone time(s) t* >= 0.
    by
        The column whose values are the curves (default ``segment``).

    Returns
    -------
    polars.DataFrame
        ``segment, t, survival, variance, log_variance`` (log_variance = Greenwood
        sum, the variance of log Ŝ), one row per segment x t, sorted. Ŝ(t*) is the
        last step at or before t*; null past a segment's last time when its curve has
        not reached 0 (the curve is unknown there). Where Ŝ = 0 the variance is 0.

    Examples
    --------
    >>> import insights as ins
    >>> km = pl.DataFrame({"segment": "a", "t": [0, 1, 2], "survival": [1.0, 0.75, 0.5],
    ...                    "at_risk": [4, 4, 3], "events": [0, 1, 1]})
    >>> ins.milestone_survival(km, milestones=1).select("survival", "variance").rows()
    [(0.75, 0.046875)]
    """
    km, group = data, by
    _check_km(km, group)
    values = [milestones] if isinstance(milestones, int | float) else list(milestones)
    if not values or any(not np.isfinite(v) or v < 0 for v in values):
        raise ValueError(f"milestone times must be finite numbers >= 0, got {milestones!r}")
    n, d = pl.col("at_risk").cast(pl.Float64), pl.col("events").cast(pl.Float64)
    term = pl.when((d > 0) & (n > d)).then(d / (n * (n - d))).otherwise(0.0)
    steps = (
        km.select(
            pl.col(group).cast(pl.String).alias("__g"),
            pl.col("t").cast(pl.Float64),
            pl.col("survival").cast(pl.Float64),
            term.alias("__term"),
        )
        .sort("__g", "t")
        .with_columns(pl.col("__term").cum_sum().over("__g").alias("log_variance"))
        .with_columns(pl.col("t").max().over("__g").alias("__last"))
    )
    grid = (
        steps.select("__g")
        .unique()
        .join(pl.DataFrame({"__q": [float(v) for v in values]}), how="cross")
        .sort("__q")
    )
    joined = grid.join_asof(
        steps.with_columns(pl.col("t").alias("__q")).sort("__q"),
        on="__q",
        by="__g",
        strategy="backward",
        check_sortedness=False,
    )
    unknown = (pl.col("__q") > pl.col("__last")) & (pl.col("survival") > 0)
    survival = pl.when(unknown).then(None).otherwise(pl.col("survival"))
    log_var = pl.when(pl.col("survival") > 0).then(pl.col("log_variance")).otherwise(0.0)
    return joined.select(
        pl.col("__g").alias("segment"),
        pl.col("__q").alias("t"),
        survival.alias("survival"),
        (survival**2 * log_var).alias("variance"),
        pl.when(unknown).then(None).otherwise(log_var).alias("log_variance"),
    ).sort("segment", "t")


def milestone_difference(
    data: pl.DataFrame,
    *,
    milestones: float | Sequence[float],
    by: str = "segment",
    reference: str | None = None,
    sort: Sequence[str] | None = None,
    alpha: float = 0.05,
    adjust: Adjust = "holm",
) -> pl.DataFrame:
    """Difference (and ratio) of Ŝ(t*) between segments, with Wald CI and z-test.

    Parameters
    ----------
    data, milestones, by
        As :func:`milestone_survival`.
    reference, sort
        Pairs compared: all pairs in the order ``sort`` (default: sorted segments), or
        each segment against ``reference`` (difference = segment − reference).
    alpha
        1 − confidence level.
    adjust
        Multiple-testing adjustment of the p-values across the pairs at each t*.

    Returns
    -------
    polars.DataFrame
        ``segment_a, segment_b, t, survival_a, survival_b, difference, se, ci_low,
        ci_high, p_value, p_adjusted, method, ratio, ratio_ci_low, ratio_ci_high``:
        difference = Ŝ_a − Ŝ_b, se = sqrt(Var_a + Var_b) (independent segments,
        Greenwood), CI = difference ∓ z·se, p = 2(1 − Φ(|difference| / se));
        ratio = Ŝ_a / Ŝ_b with CI exp(log ratio ∓ z sqrt(G_a + G_b)), G the Greenwood
        sums (null when a survival is 0). Nulls where a curve is unknown at t*.

    Examples
    --------
    >>> import insights as ins
    >>> km = pl.DataFrame({"segment": ["a"] * 3 + ["b"] * 3, "t": [0, 1, 2] * 2,
    ...                    "survival": [1.0, 0.75, 0.5, 1.0, 0.5, 0.25],
    ...                    "at_risk": [4, 4, 3] * 2, "events": [0, 1, 1, 0, 2, 1]})
    >>> d = ins.milestone_difference(km, milestones=1)
    >>> d.select("segment_a", "segment_b", "difference").rows()
    [('a', 'b', 0.25)]
    """
    z = z_value(alpha)
    points = milestone_survival(data, milestones=milestones, by=by)
    pairs = _pairs(sorted(points["segment"].unique().to_list()), sort, reference)
    pair_frame = pl.DataFrame(
        pairs, schema={"segment_a": pl.String, "segment_b": pl.String}, orient="row"
    )
    a = points.rename(
        {"segment": "segment_a", "survival": "survival_a", "variance": "__va",
         "log_variance": "__ga"}
    )  # fmt: skip
    b = points.rename(
        {"segment": "segment_b", "survival": "survival_b", "variance": "__vb",
         "log_variance": "__gb"}
    )  # fmt: skip
    both = pair_frame.join(a, on="segment_a").join(b, on=["segment_b", "t"])
    diff = pl.col("survival_a") - pl.col("survival_b")
    se = (pl.col("__va") + pl.col("__vb")).sqrt()
    log_ratio = pl.col("survival_a").log() - pl.col("survival_b").log()
    log_se = (pl.col("__ga") + pl.col("__gb")).sqrt()
    positive = (pl.col("survival_a") > 0) & (pl.col("survival_b") > 0)
    out = both.with_columns(
        diff.alias("difference"),
        se.alias("se"),
        (diff - z * se).alias("ci_low"),
        (diff + z * se).alias("ci_high"),
        pl.when(positive).then(log_ratio.exp()).alias("ratio"),
        pl.when(positive).then((log_ratio - z * log_se).exp()).alias("ratio_ci_low"),
        pl.when(positive).then((log_ratio + z * log_se).exp()).alias("ratio_ci_high"),
    )
    zstat = (out["difference"] / out["se"]).to_numpy().astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2.0 * norm.sf(np.abs(zstat))
    p = np.where(np.isfinite(zstat), p, np.nan)
    out = out.with_columns(pl.Series("p_value", p).fill_nan(None))
    out = _adjust_within(out, by="t", method=adjust)
    return out.select(
        "segment_a",
        "segment_b",
        "t",
        "survival_a",
        "survival_b",
        "difference",
        "se",
        "ci_low",
        "ci_high",
        "p_value",
        "p_adjusted",
        "method",
        "ratio",
        "ratio_ci_low",
        "ratio_ci_high",
    ).sort("t", maintain_order=True)


def _pairs(
    labels: list[str], sort: Sequence[str] | None, reference: str | None
) -> list[tuple[str, str]]:
    if sort is not None:
        unknown = [g for g in sort if g not in labels]
        if unknown:
            raise ValueError(f"sort names unknown segments {unknown}; segments are {labels}")
    return comparison_pairs(list(sort) if sort is not None else labels, reference=reference)


def _adjust_within(frame: pl.DataFrame, *, by: str, method: Adjust) -> pl.DataFrame:
    """Add ``p_adjusted`` (adjusted within each value of ``by``) and ``method``."""
    adjusted = np.full(frame.height, np.nan)
    keys = frame[by].to_numpy()
    raw = frame["p_value"].fill_null(np.nan).to_numpy().astype(float)
    for key in np.unique(keys):  # a few milestone times
        rows = keys == key
        adjusted[rows] = adjust_pvalues(raw[rows], method=method)
    return frame.with_columns(
        pl.Series("p_adjusted", adjusted).fill_nan(None), pl.lit(method).alias("method")
    )


def rmst_difference(
    data: pl.DataFrame,
    *,
    tau: float,
    by: str = "segment",
    reference: str | None = None,
    sort: Sequence[str] | None = None,
    alpha: float = 0.05,
    adjust: Adjust = "holm",
) -> pl.DataFrame:
    """Difference of restricted mean survival times RMST(τ) between segments.

    Parameters
    ----------
    data
        Full Kaplan–Meier table (``segment, t, survival, at_risk, events``).
    tau
        Restriction time; it must not exceed any compared segment's last time unless
        that curve reached 0 (see ``ins.rmst``).
    by, reference, sort, alpha, adjust
        As :func:`milestone_difference`.

    Returns
    -------
    polars.DataFrame
        ``segment_a, segment_b, tau, rmst_a, rmst_b, difference, se, ci_low, ci_high,
        p_value, p_adjusted, method``: difference = RMST_a − RMST_b (days of the first
        τ days gained by a), se = sqrt(se_a² + se_b²) (independent segments), Wald CI
        and two-sided z-test.

    Examples
    --------
    >>> import insights as ins
    >>> km = pl.DataFrame({"segment": ["a"] * 3 + ["b"] * 3, "t": [0, 1, 2] * 2,
    ...                    "survival": [1.0, 0.75, 0.5, 1.0, 0.5, 0.25],
    ...                    "at_risk": [4, 4, 3] * 2, "events": [0, 1, 1, 0, 2, 1]})
    >>> ins.rmst_difference(km, tau=2).select("rmst_a", "rmst_b", "difference").rows()
    [(1.75, 1.5, 0.25)]
    """
    _check_km(data, by)
    z = z_value(alpha)
    per_group = rmst(data, tau=tau, alpha=alpha, by=by).rename({"segment": "__g"})
    pairs = _pairs(per_group["__g"].to_list(), sort, reference)
    pair_frame = pl.DataFrame(
        pairs, schema={"segment_a": pl.String, "segment_b": pl.String}, orient="row"
    )
    a = per_group.select(
        pl.col("__g").alias("segment_a"), pl.col("rmst").alias("rmst_a"), pl.col("se").alias("__sa")
    )
    b = per_group.select(
        pl.col("__g").alias("segment_b"), pl.col("rmst").alias("rmst_b"), pl.col("se").alias("__sb")
    )
    out = pair_frame.join(a, on="segment_a", how="left").join(b, on="segment_b", how="left")
    diff = pl.col("rmst_a") - pl.col("rmst_b")
    se = (pl.col("__sa") ** 2 + pl.col("__sb") ** 2).sqrt()
    out = out.with_columns(
        pl.lit(float(tau)).alias("tau"),
        diff.alias("difference"),
        se.alias("se"),
        (diff - z * se).alias("ci_low"),
        (diff + z * se).alias("ci_high"),
    )
    zstat = (out["difference"] / out["se"]).to_numpy().astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2.0 * norm.sf(np.abs(zstat))
    out = out.with_columns(
        pl.Series("p_value", np.where(np.isfinite(zstat), p, np.nan)).fill_nan(None)
    )
    out = _adjust_within(out, by="tau", method=adjust)
    return out.select(
        "segment_a",
        "segment_b",
        "tau",
        "rmst_a",
        "rmst_b",
        "difference",
        "se",
        "ci_low",
        "ci_high",
        "p_value",
        "p_adjusted",
        "method",
    )
