"""Confidence intervals for proportions and differences of proportions.

Wilson score interval for one proportion (Wilson 1927); Newcombe's hybrid score
interval for a difference of two independent proportions (Newcombe 1998,
Statistics in Medicine 17:873-890, method 10); :func:`compare_proportions` tests a
segment table of counts: Pearson's chi-square test of homogeneity over all segments
and pooled two-proportion z-tests between pairs, adjusted by Holm or
Benjamini–Hochberg.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy.stats import chi2, norm

from insights.stats.adjust import Adjust, adjust_pvalues, comparison_pairs

__all__ = [
    "z_value",
    "wilson_interval",
    "wilson_frame",
    "newcombe_diff_interval",
    "compare_proportions",
]


def z_value(alpha: float = 0.05) -> float:
    """Two-sided standard normal quantile z_{1-alpha/2} (1.959964 for alpha = 0.05)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return float(norm.ppf(1 - alpha / 2))


def wilson_interval(successes: float, n: float, *, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for a proportion ``successes / n``.

    With z = z_{1-alpha/2} and p = x/n:
    centre = (x + z²/2) / (n + z²), half-width = z / (n + z²) · sqrt(x(n-x)/n + z²/4).

    Returns ``(nan, nan)`` when ``n == 0``.

    Examples
    --------
    >>> [round(v, 4) for v in wilson_interval(8, 10)]
    [0.4902, 0.9433]
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return (math.nan, math.nan)
    z = z_value(alpha)
    z2 = z * z
    centre = (successes + z2 / 2) / (n + z2)
    half = z / (n + z2) * math.sqrt(successes * (n - successes) / n + z2 / 4)
    return (max(0.0, centre - half), min(1.0, centre + half))


def wilson_frame(
    data: pl.DataFrame,
    *,
    successes: str = "x",
    n: str = "n",
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Add ``ci_low``/``ci_high`` (Wilson score interval of ``successes / n``) to a frame.

    Vectorised :func:`wilson_interval`; rows with ``n == 0`` get nulls. Returns a
    new frame (the input is not modified).

    Examples
    --------
    >>> f = pl.DataFrame({"x": [8, 0], "n": [10, 0]})
    >>> wilson_frame(f).select(pl.col("ci_low", "ci_high").round(4)).rows()
    [(0.4902, 0.9433), (None, None)]
    """
    z = z_value(alpha)
    z2 = z * z
    x = pl.col(successes).cast(pl.Float64)
    m = pl.col(n).cast(pl.Float64)
    centre = (x + z2 / 2) / (m + z2)
    half = z / (m + z2) * (x * (m - x) / m + z2 / 4).sqrt()
    ok = m > 0
    return data.with_columns(
        pl.when(ok).then((centre - half).clip(0.0, 1.0)).otherwise(None).alias("ci_low"),
        pl.when(ok).then((centre + half).clip(0.0, 1.0)).otherwise(None).alias("ci_high"),
    )


def newcombe_diff_interval(
    x1: float, n1: float, x2: float, n2: float, *, alpha: float = 0.05
) -> tuple[float, float]:
    """Newcombe hybrid score interval (method 10) for p1 - p2, independent samples.

    With Wilson intervals (l1, u1) for p1 = x1/n1 and (l2, u2) for p2 = x2/n2 and
    d = p1 - p2:
    lower = d - sqrt((p1 - l1)² + (u2 - p2)²), upper = d + sqrt((u1 - p1)² + (p2 - l2)²).

    Returns ``(ci_low, ci_high)`` of the difference; ``(nan, nan)`` if a sample is empty.

    Examples
    --------
    Newcombe (1998), Table II, example (a): 56/70 vs 48/80 gives (0.0524, 0.3339).

    >>> [round(v, 4) for v in newcombe_diff_interval(56, 70, 48, 80)]
    [0.0524, 0.3339]
    """
    if n1 == 0 or n2 == 0:
        return (math.nan, math.nan)
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, alpha=alpha)
    l2, u2 = wilson_interval(x2, n2, alpha=alpha)
    d = p1 - p2
    return (
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


_COMPARISON_SCHEMA = {
    "test": pl.String,
    "segment_a": pl.String,
    "segment_b": pl.String,
    "value_a": pl.Float64,
    "value_b": pl.Float64,
    "difference": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "statistic": pl.Float64,
    "df": pl.Int64,
    "p_value": pl.Float64,
    "p_adjusted": pl.Float64,
    "method": pl.String,
}


def _proportion_tests(
    x: np.ndarray,
    n: np.ndarray,
    labels: list[str],
    *,
    reference: str | None,
    adjust: Adjust,
    alpha: float,
) -> list[dict[str, object]]:
    k = len(labels)
    total_x, total_n = float(x.sum()), float(n.sum())
    pooled = total_x / total_n if total_n else math.nan
    observed = np.column_stack([x, n - x])
    expected = np.column_stack([n * pooled, n * (1 - pooled)])
    statistic, p_all = math.nan, math.nan
    if k >= 2 and 0 < pooled < 1:
        statistic = float(((observed - expected) ** 2 / expected).sum())
        p_all = float(chi2.sf(statistic, k - 1))
    rows: list[dict[str, object]] = [
        {
            "test": "chi_square",
            "statistic": statistic,
            "df": k - 1,
            "p_value": p_all,
            "p_adjusted": p_all,
            "method": "Pearson chi-square, all segments",
        }
    ]
    index = {segment: i for i, segment in enumerate(labels)}
    label = "unadjusted" if adjust == "none" else f"{adjust}-adjusted"
    pair_rows, raw = [], []
    for a, b in comparison_pairs(labels, reference=reference):
        xa, na, xb, nb = x[index[a]], n[index[a]], x[index[b]], n[index[b]]
        pa, pb = xa / na, xb / nb
        p_ab = (xa + xb) / (na + nb)
        se0 = math.sqrt(p_ab * (1 - p_ab) * (1 / na + 1 / nb))
        z = (pa - pb) / se0 if se0 > 0 else math.nan
        low, high = newcombe_diff_interval(xa, na, xb, nb, alpha=alpha)
        raw.append(float(2 * norm.sf(abs(z))) if not math.isnan(z) else math.nan)
        pair_rows.append(
            {
                "test": "two_proportion",
                "segment_a": a,
                "segment_b": b,
                "value_a": pa,
                "value_b": pb,
                "difference": pa - pb,
                "ci_low": low,
                "ci_high": high,
                "statistic": z,
                "method": f"pooled z-test, {label}; Newcombe CI",
            }
        )
    adjusted = adjust_pvalues(raw, method=adjust) if raw else np.array([])
    for row, p, q in zip(pair_rows, raw, adjusted, strict=True):
        row["p_value"], row["p_adjusted"] = p, float(q)
    return rows + pair_rows


def compare_proportions(
    data: pl.DataFrame,
    *,
    successes: str = "successes",
    n: str = "n",
    by: str = "segment",
    reference: str | None = None,
    adjust: Adjust = "holm",
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Chi-square and pairwise two-proportion tests for a segment table of counts.

    Pearson's chi-square test that all segments share one proportion,
    X² = Σ (O − E)² / E over the k x 2 table of successes and failures, E from the pooled proportion, k − 1 df (no
    continuity correction; the approximation needs expected counts of about 5 or
    more); then a two-sided pooled z-test for each pair, z = (p_a − p_b) /
    sqrt(p̄ (1 − p̄)(1/n_a + 1/n_b)) with p̄ the pair's pooled proportion (z² is the
    pair's 2 x 2 chi-square), its Newcombe CI of p_a − p_b, and the pairs' p-values
    adjusted together by ``adjust``.

    The counts must be binomial: every one of the n units had its whole window
    observed (e.g. ``repurchase_rate``'s ``successes`` and ``n``). Kaplan–Meier
    rates of censored data are not counts: compare them with
    :func:`insights.compare_survival` (log-rank, milestone differences).

    Parameters
    ----------
    data
        One row per segment with the counts (one table: filter a longer frame to one
        metric and period first); not modified.
    successes, n
        Columns of the successes and the number of units.
    by
        Column naming the segments.
    reference
        ``None``: all pairs; a segment: each other segment against it.
    adjust
        Multiple-testing adjustment of the pairwise p-values:
        ``"holm"`` (default), ``"bh"``, ``"bonferroni"`` or ``"none"``.
    alpha
        1 − confidence level of the Newcombe intervals.

    Returns
    -------
    polars.DataFrame
        ``test`` (``"chi_square"``: one row with
        ``statistic`` = X², ``df``, ``p_value`` (= ``p_adjusted``); ``"two_proportion"``:
        one row per pair with ``segment_a, segment_b, value_a, value_b, difference``
        (a − b), ``ci_low, ci_high``, ``statistic`` = z, ``p_value, p_adjusted``) and
        ``method``. Segments with n = 0 are left out; a test that cannot be run (all
        or no successes) has null statistic and p-values.

    Examples
    --------
    Two segments, 30/100 vs 45/100: X² = z² = 4.8, p = 0.0285.

    >>> f = pl.DataFrame({"segment": ["a", "b"], "successes": [30, 45], "n": [100, 100]})
    >>> out = compare_proportions(f)
    >>> out.select("test", pl.col("statistic", "p_value").round(4)).rows()
    [('chi_square', 4.8, 0.0285), ('two_proportion', -2.1909, 0.0285)]
    """
    missing = [c for c in (successes, n, by) if c not in data.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the frame (columns: {data.columns})")
    table = data.select(
        pl.col(by).cast(pl.String).alias("__segment"),
        pl.col(successes).cast(pl.Float64).alias("__x"),
        pl.col(n).cast(pl.Float64).alias("__n"),
    )
    if table.filter((pl.col("__x") < 0) | (pl.col("__x") > pl.col("__n"))).height:
        raise ValueError(f"need 0 <= {successes} <= {n} in every row")
    if table["__segment"].is_duplicated().any():
        raise ValueError(
            f"one row per {by!r} is needed; found duplicates (filter to one metric and period)"
        )
    table = table.filter(pl.col("__n") > 0)
    rows = _proportion_tests(
        table["__x"].to_numpy(),
        table["__n"].to_numpy(),
        table["__segment"].to_list(),
        reference=reference,
        adjust=adjust,
        alpha=alpha,
    )
    out = pl.DataFrame(rows, schema=_COMPARISON_SCHEMA, orient="row")
    return out.with_columns(pl.col(pl.Float64).fill_nan(None))
