"""Log-rank and Fleming–Harrington tests computed directly on aggregated survival counts.

The counts frame (``segment, entry, duration, event, count`` [+ ``stratum``]) holds one
row per distinct combination, so the risk sets are weighted sums: at each distinct
event time t_j (pooled over the groups) group g has n_gj units at risk (those with
entry < t_j <= duration, the counting-process risk interval (entry, duration] of R's
``Surv(entry, duration, event)``; entry 0 means at risk from t = 0 on, see
:mod:`insights.stats.km`) and d_gj events. With
N_j = Σ_g n_gj, D_j = Σ_g d_gj and a weight W_j, Klein & Moeschberger (2003,
*Survival Analysis*, 2nd ed., §7.3, eqs. 7.3.3-7.3.5) give

    Z_g = Σ_j W_j (d_gj − n_gj D_j / N_j)                                   (observed − expected)
    V_gh = Σ_j W_j² (n_gj / N_j)(δ_gh − n_hj / N_j) D_j (N_j − D_j) / (N_j − 1)

and the k-sample statistic Z' V⁻ Z ~ χ² with k − 1 degrees of freedom (V⁻ a
generalised inverse; the degrees of freedom are the rank of V, k − 1 unless a group
has nobody at risk at any event time, as R's ``survdiff``). W_j = 1 is the log-rank
test; the Fleming–Harrington G(ρ, γ) class (§7.3, eq. 7.3.6) uses
W_j = Ŝ(t_{j−1})^ρ (1 − Ŝ(t_{j−1}))^γ with Ŝ the pooled Kaplan–Meier estimate just
before t_j (ρ > 0 stresses early differences, γ > 0 late ones; G(1, 0) is the
Peto–Peto–Prentice Wilcoxon-type test, R's ``survdiff(rho=1)``). The stratified
test (§7.5, eq. 7.5.1) computes Z and V within each stratum (weights from the
stratum's own pooled curve) and sums them before forming the quadratic form.

Weights. ``count`` holds *frequency* weights by default (``weights_kind="frequency"``):
a row with count w is w identical units, and V above is the hypergeometric variance
of those units (multiplying every count by c multiplies the statistic by c). With
``weights_kind="sampling"`` the counts are sums of sampling (survey, inverse-probability)
weights: Z is unchanged but V is the robust (sandwich) variance of Lin & Wei (1989,
JASA 84:1074) for the score at β = 0, R's ``coxph(..., robust=TRUE)`` robust score
test generalised to the weights W_j,

    V_gh = Σ_i w_i² r_ig r_ih,   r_ig = Σ_j W_j (1[g_i = g] − n_gj / N_j)(dN_i(t_j) − Y_i(t_j) D_j / N_j),

with Y_i(t) = 1 when unit i is at risk at t and dN_i(t_j) = 1 for its event. Z and
V scale by c and c², so the statistic and p-value do not depend on the weights'
scale. Rows aggregating several units give Σ_i w_i² in an optional column
``count_sq``; without it each row is one unit (w² = count²).

Everything is vectorised NumPy over the pooled event times (no loop over users);
the cost depends on the number of distinct rows, not on the number of users.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import polars as pl
from scipy.stats import chi2

from insights.stats.adjust import Adjust, adjust_pvalues, comparison_pairs
from insights.stats.km import check_entry

__all__ = ["LogrankResult", "Weighting", "WeightsKind", "logrank_test", "pairwise_logrank"]

#: Weight functions of the weighted log-rank family.
Weighting = Literal["logrank", "fleming-harrington"]
#: What the ``count`` column holds: units (frequency weights) or summed sampling weights.
WeightsKind = Literal["frequency", "sampling"]

_COUNT_COLUMNS = ("duration", "event", "count")


@dataclass(frozen=True)
class LogrankResult:
    """A (weighted, possibly stratified) k-sample log-rank test.

    Attributes
    ----------
    test
        ``"logrank"`` or ``"fleming-harrington"``.
    statistic, df, p_value
        Z' V⁻ Z, its χ² degrees of freedom and upper-tail p-value.
    segments
        ``segment, n, observed, expected, score, variance``: units, events, events
        expected under H0 (unweighted sums), the weighted score Σ W (O − E) and its
        variance (the diagonal of V); summed over strata.
    rho, gamma
        Fleming–Harrington exponents (0, 0 for the log-rank test).
    strata
        The stratum column, or ``None``.
    weights_kind
        ``"frequency"`` (hypergeometric variance) or ``"sampling"`` (robust variance).
    """

    test: str
    statistic: float
    df: int
    p_value: float
    segments: pl.DataFrame
    rho: float = 0.0
    gamma: float = 0.0
    strata: str | None = None
    weights_kind: str = "frequency"


def _validate(counts: pl.DataFrame, group: str, strata: str | None) -> None:
    needed = [group, *_COUNT_COLUMNS] + ([strata] if strata is not None else [])
    missing = [c for c in needed if c not in counts.columns]
    if missing:
        raise ValueError(
            f"counts lacks columns {missing}; a survival counts frame has "
            f"'{group}, entry, duration, event, count' (entry optional; pass by= to name "
            "another segment column)"
            + (f" and the strata column {strata!r}" if strata is not None else "")
        )
    if counts.height == 0:
        raise ValueError("counts is empty: there is nobody to compare")
    bad = counts.filter(
        (pl.col("count") < 0) | ~pl.col("event").is_in([0, 1]) | (pl.col("duration") < 0)
    )
    if bad.height:
        raise ValueError(
            "counts has rows with a negative count, an event not in {0, 1} or a negative "
            f"duration, e.g. {bad.row(0, named=True)}"
        )
    if "entry" in counts.columns:
        check_entry(
            counts["entry"].cast(pl.Float64).to_numpy(),
            counts["duration"].cast(pl.Float64).to_numpy(),
            counts["count"].cast(pl.Float64).to_numpy(),
        )


def _check_weights_kind(counts: pl.DataFrame, weights_kind: str) -> None:
    if weights_kind not in get_args(WeightsKind):
        raise ValueError(
            f"weights_kind must be one of {get_args(WeightsKind)}, got {weights_kind!r}"
        )
    if "count_sq" in counts.columns and counts.filter(pl.col("count_sq") < 0).height:
        raise ValueError("count_sq (the sum of squared sampling weights) must be >= 0")


def _squares(counts: pl.DataFrame) -> pl.Expr:
    """Σ w² of each row: ``count_sq`` when given, else the row is one unit (count²)."""
    if "count_sq" in counts.columns:
        return pl.col("count_sq").cast(pl.Float64)
    return pl.col("count").cast(pl.Float64) ** 2


def _entry_expr(counts: pl.DataFrame) -> pl.Expr:
    return pl.col("entry") if "entry" in counts.columns else pl.lit(0)


def _arrays(
    counts: pl.DataFrame, group: str, strata: str | None
) -> tuple[
    list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray
]:
    """Group labels (sorted) and per-row arrays: code, stratum code, entry, duration, event,
    weight and Σ w² (see :func:`_squares`)."""
    frame = counts.select(
        pl.col(group).cast(pl.String).alias("g"),
        (pl.col(strata).cast(pl.String) if strata is not None else pl.lit("")).alias("s"),
        _entry_expr(counts).cast(pl.Float64).alias("entry"),
        pl.col("duration").cast(pl.Float64),
        pl.col("event").cast(pl.Int8),
        pl.col("count").cast(pl.Float64),
        _squares(counts).alias("sq"),
    ).filter(pl.col("count") > 0)
    labels, codes = np.unique(frame["g"].to_numpy().astype(str), return_inverse=True)
    _, scodes = np.unique(frame["s"].to_numpy().astype(str), return_inverse=True)
    return (
        [str(v) for v in labels],
        codes,
        scodes,
        frame["entry"].to_numpy(),
        frame["duration"].to_numpy(),
        frame["event"].to_numpy() == 1,
        frame["count"].to_numpy(),
        frame["sq"].to_numpy(),
    )


def first_at_risk(times: np.ndarray, entry: np.ndarray) -> np.ndarray:
    """Index of the first of the sorted ``times`` at which a unit entering at ``entry`` is at risk.

    Risk interval (entry, duration]: the first time > entry; entry <= 0 means from
    the origin on, t = 0 included (index 0).
    """
    return np.where(entry > 0, np.searchsorted(times, entry, side="right"), 0)


def _risk_sets(
    codes: np.ndarray,
    k: int,
    entry: np.ndarray,
    duration: np.ndarray,
    event: np.ndarray,
    weight: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pooled distinct event times, the (k, m) arrays at risk ``n`` and events ``d``, and
    each row's range [lo, hi) of event-time indices at which it is at risk.

    A row counts at risk at t_j when entry < t_j <= duration (entry <= 0: from the
    origin on, so entry = 0 means no truncation). Built with one difference array per
    group and a cumulative sum: O(rows + k·m), no loop over rows or times.
    """
    times = np.unique(duration[event])
    m = times.size
    lo = first_at_risk(times, entry)
    hi = np.searchsorted(times, duration, side="right")  # first event time > duration
    diff = np.zeros((k, m + 1))
    np.add.at(diff, (codes, lo), weight)
    np.add.at(diff, (codes, hi), -weight)
    n = np.cumsum(diff, axis=1)[:, :m]
    n[n < 1e-9 * max(1.0, float(np.abs(weight).max(initial=0.0)))] = (
        0.0  # rounding of non-integer weights
    )
    d = np.zeros((k, m))
    np.add.at(d, (codes[event], np.searchsorted(times, duration[event])), weight[event])
    return times, n, d, lo, hi


def _time_weights(
    n: np.ndarray, d: np.ndarray, weighting: str, rho: float, gamma: float
) -> np.ndarray:
    """W_j: 1 (log-rank) or Ŝ(t_{j−1})^rho (1 − Ŝ(t_{j−1}))^gamma from the pooled curve."""
    total_n, total_d = n.sum(axis=0), d.sum(axis=0)
    if weighting != "fleming-harrington":
        return np.ones_like(total_n)
    s_after = np.cumprod(1.0 - total_d / total_n)
    s_before = np.concatenate([[1.0], s_after[:-1]])
    return np.asarray(s_before**rho * (1.0 - s_before) ** gamma)


def _score_and_variance(
    n: np.ndarray, d: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted Z (k,), hypergeometric V (k, k), unweighted observed and expected (k,)."""
    total_n = n.sum(axis=0)
    total_d = d.sum(axis=0)
    expected = n * (total_d / total_n)
    score = ((d - expected) * w).sum(axis=1)
    ties = np.where(total_n > 1, (total_n - total_d) / np.where(total_n > 1, total_n - 1, 1.0), 1.0)
    factor = w**2 * total_d * ties / total_n**2
    v = np.diag((n * factor * total_n).sum(axis=1)) - (n * factor) @ n.T
    return score, v, d.sum(axis=1), expected.sum(axis=1)


def _robust_variance(
    codes: np.ndarray,
    k: int,
    duration: np.ndarray,
    event: np.ndarray,
    sq: np.ndarray,
    times: np.ndarray,
    n: np.ndarray,
    d: np.ndarray,
    w: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> np.ndarray:
    """Σ_i w_i² r_i r_i' of the per-unit score residuals r_i (module docstring), (k, k)."""
    total_n, total_d = n.sum(axis=0), d.sum(axis=0)
    share = n / total_n  # p_gj, (k, m)
    hazard = w * total_d / total_n  # W_j D_j / N_j
    c0 = np.concatenate([[0.0], np.cumsum(hazard)])
    cg = np.concatenate([np.zeros((k, 1)), np.cumsum(share * hazard, axis=1)], axis=1)
    j = np.minimum(np.searchsorted(times, duration), times.size - 1)
    jump = np.where(event, w[j], 0.0)  # W at the unit's own event time
    own = jump - (c0[hi] - c0[lo])  # Σ_j W_j (dN_i − Y_i D_j/N_j)
    mixed = jump[:, None] * share[:, j].T - (cg[:, hi] - cg[:, lo]).T  # (rows, k)
    resid = -mixed
    resid[np.arange(codes.size), codes] += own
    return np.asarray(resid.T @ (resid * sq[:, None]))


def _test(
    codes: np.ndarray,
    scodes: np.ndarray,
    k: int,
    entry: np.ndarray,
    duration: np.ndarray,
    event: np.ndarray,
    weight: np.ndarray,
    sq: np.ndarray,
    weighting: str,
    rho: float,
    gamma: float,
    weights_kind: str = "frequency",
) -> tuple[float, int, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    score, v = np.zeros(k), np.zeros((k, k))
    observed, expected = np.zeros(k), np.zeros(k)
    for s in np.unique(scodes):  # strata: few; each is fully vectorised
        rows = scodes == s
        if not np.any(event[rows] & (weight[rows] > 0)):
            continue
        args = (codes[rows], k, entry[rows], duration[rows], event[rows], weight[rows])
        times, n, d, lo, hi = _risk_sets(*args)
        w = _time_weights(n, d, weighting, rho, gamma)
        z_s, v_s, o_s, e_s = _score_and_variance(n, d, w)
        if weights_kind == "sampling":
            v_s = _robust_variance(
                codes[rows], k, duration[rows], event[rows], sq[rows], times, n, d, w, lo, hi
            )
        score, v, observed, expected = score + z_s, v + v_s, observed + o_s, expected + e_s
    scale = float(np.abs(np.diag(v)).max(initial=0.0))
    if scale == 0.0:
        return float("nan"), 0, float("nan"), score, v, observed, expected
    df = int(np.linalg.matrix_rank(v, tol=1e-10 * scale, hermitian=True))
    stat = float(score @ np.linalg.pinv(v, rtol=1e-10, hermitian=True) @ score)
    return stat, df, float(chi2.sf(stat, df)), score, v, observed, expected


def _check_options(weighting: str, rho: float, gamma: float) -> None:
    if weighting not in get_args(Weighting):
        raise ValueError(f"test must be one of {get_args(Weighting)}, got {weighting!r}")
    if rho < 0 or gamma < 0 or not np.isfinite(rho) or not np.isfinite(gamma):
        raise ValueError(f"rho and gamma must be finite and >= 0, got rho={rho!r}, gamma={gamma!r}")


def logrank_test(
    data: pl.DataFrame,
    *,
    by: str = "segment",
    test: Weighting = "logrank",
    rho: float = 0.0,
    gamma: float = 0.0,
    strata: str | None = None,
    weights_kind: WeightsKind = "frequency",
) -> LogrankResult:
    """k-sample (weighted, optionally stratified) log-rank test from aggregated counts.

    Parameters
    ----------
    data
        Survival counts: ``segment, [entry,] duration, event, count`` (+ the ``strata``
        column, + ``count_sq`` for aggregated sampling weights), one row per distinct
        combination; ``count`` is a number of units or a sum of case weights (see
        ``weights_kind``). A unit is at risk at t when entry < t <= duration (entry 0:
        from t = 0 on); rows with 0 < entry == duration are refused. Rows with count 0
        are ignored.
    by
        Column whose values are compared (k >= 2 of them; default ``segment``).
    test
        ``"logrank"`` (W = 1) or ``"fleming-harrington"`` (W = Ŝ(t−)^rho (1 − Ŝ(t−))^gamma,
        Ŝ the pooled Kaplan–Meier curve; lifelines' ``weightings="fleming-harrington",
        p=rho, q=gamma``).
    rho, gamma
        Fleming–Harrington exponents (>= 0); ignored by the log-rank test.
    strata
        Column of strata: Z and V are summed over strata (stratified test).
    weights_kind
        ``"frequency"`` (default): ``count`` is a number of identical units (frequency
        weights; hypergeometric variance, exactly the test on the expanded rows).
        ``"sampling"``: ``count`` sums sampling weights; robust (sandwich) variance,
        so the p-value does not change when every weight is multiplied by the same
        factor (module docstring).

    Returns
    -------
    LogrankResult
        Statistic, degrees of freedom, p-value and the per-segment O/E table
        (``segments``). Formulas in the module docstring (Klein & Moeschberger
        2003, ch. 7).

    Examples
    --------
    >>> import insights as ins
    >>> c = pl.DataFrame({"segment": ["a", "a", "b", "b"], "duration": [1, 3, 2, 4],
    ...                   "event": [1, 1, 1, 0], "count": [5.0, 5.0, 5.0, 5.0]})
    >>> r = ins.logrank_test(c)
    >>> (r.df, round(r.statistic, 4))
    (1, 4.4895)

    Sampling weights: the robust test does not depend on the weights' scale.

    >>> s1 = ins.logrank_test(c, weights_kind="sampling").p_value
    >>> s2 = ins.logrank_test(c.with_columns(pl.col("count") * 0.01),
    ...                       weights_kind="sampling").p_value
    >>> bool(abs(s1 - s2) < 1e-12)
    True
    """
    counts, group = data, by
    _check_options(test, rho, gamma)
    _check_weights_kind(counts, weights_kind)
    _validate(counts, group, strata)
    labels, codes, scodes, entry, duration, event, weight, sq = _arrays(counts, group, strata)
    if len(labels) < 2:
        raise ValueError(
            f"the log-rank test needs at least two segments in {group!r}, got {labels}"
        )
    if not np.any(event & (weight > 0)):
        raise ValueError("counts has no events (all units censored): nothing to test")
    k = len(labels)
    stat, df, p, score, v, observed, expected = _test(
        codes, scodes, k, entry, duration, event, weight, sq, test, rho, gamma, weights_kind
    )
    n = np.bincount(codes, weights=weight, minlength=k)
    table = pl.DataFrame(
        {
            "segment": labels,
            "n": n,
            "observed": observed,
            "expected": expected,
            "score": score,
            "variance": np.diag(v).copy(),
        }
    )
    fh = test == "fleming-harrington"
    return LogrankResult(
        test=test,
        statistic=stat,
        df=df,
        p_value=p,
        segments=table,
        rho=float(rho) if fh else 0.0,
        gamma=float(gamma) if fh else 0.0,
        strata=strata,
        weights_kind=weights_kind,
    )


def pairwise_logrank(
    data: pl.DataFrame,
    *,
    by: str = "segment",
    test: Weighting = "logrank",
    rho: float = 0.0,
    gamma: float = 0.0,
    strata: str | None = None,
    adjust: Adjust = "holm",
    reference: str | None = None,
    sort: Sequence[str] | None = None,
    weights_kind: WeightsKind = "frequency",
) -> pl.DataFrame:
    """Two-segment (weighted, stratified) log-rank tests for each pair, with adjusted p-values.

    Parameters
    ----------
    data, by, test, rho, gamma, strata, weights_kind
        As :func:`logrank_test`; each pair is tested on its own two segments' rows
        (Fleming–Harrington weights from the pair's pooled curve, as lifelines'
        ``pairwise_logrank_test``).
    adjust
        Multiple-testing adjustment over the family of pairs: ``"holm"`` (family-wise
        error), ``"bh"`` (false discovery rate), ``"bonferroni"`` or ``"none"``.
    reference
        ``None``: all k(k-1)/2 pairs; a segment label: each other segment against it
        (k - 1 comparisons, a smaller family).
    sort
        Segment order for the pairs (default: sorted labels).

    Returns
    -------
    polars.DataFrame
        ``segment_a, segment_b, statistic, df, p_value, p_adjusted, method``, one row
        per pair (``statistic`` is χ² with 1 df; null when the pair has no events).

    Examples
    --------
    >>> import insights as ins
    >>> c = pl.DataFrame({"segment": ["a", "b", "c"], "duration": [1, 2, 3],
    ...                   "event": [1, 1, 1], "count": [10.0, 10.0, 10.0]})
    >>> ins.pairwise_logrank(c, reference="a").select("segment_a", "segment_b").rows()
    [('b', 'a'), ('c', 'a')]
    """
    counts, group = data, by
    _check_options(test, rho, gamma)
    _check_weights_kind(counts, weights_kind)
    _validate(counts, group, strata)
    labels, codes, scodes, entry, duration, event, weight, sq = _arrays(counts, group, strata)
    if len(labels) < 2:
        raise ValueError(f"pairwise tests need at least two segments in {group!r}, got {labels}")
    if sort is not None:
        unknown = [g for g in sort if g not in labels]
        if unknown:
            raise ValueError(
                f"sort names segments not in {group!r}: {unknown}; segments are {labels}"
            )
    pairs = comparison_pairs(list(sort) if sort is not None else labels, reference=reference)
    index = {g: i for i, g in enumerate(labels)}
    rows = []
    for a, b in pairs:  # k(k-1)/2 pairs of segments, never a loop over users
        keep = (codes == index[a]) | (codes == index[b])
        pair_codes = (codes[keep] == index[b]).astype(np.intp)
        stat, df, p, *_ = _test(
            pair_codes,
            scodes[keep],
            2,
            entry[keep],
            duration[keep],
            event[keep],
            weight[keep],
            sq[keep],
            test,
            rho,
            gamma,
            weights_kind,
        )
        rows.append((a, b, None if np.isnan(stat) else stat, df, None if np.isnan(p) else p))
    frame = pl.DataFrame(
        rows,
        schema={
            "segment_a": pl.String,
            "segment_b": pl.String,
            "statistic": pl.Float64,
            "df": pl.Int64,
            "p_value": pl.Float64,
        },
        orient="row",
    )
    adjusted = adjust_pvalues(frame["p_value"].fill_null(np.nan).to_numpy(), method=adjust)
    return frame.with_columns(
        pl.Series("p_adjusted", adjusted).fill_nan(None),
        pl.lit(adjust).alias("method"),
    )
