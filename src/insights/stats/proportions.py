"""Confidence intervals for proportions and differences of proportions.

Wilson score interval for one proportion (Wilson 1927); Newcombe's hybrid score
interval for a difference of two independent proportions (Newcombe 1998,
Statistics in Medicine 17:873-890, method 10).
"""

from __future__ import annotations

import math

import polars as pl
from scipy.stats import norm

__all__ = ["z_value", "wilson_interval", "wilson_frame", "newcombe_diff_interval"]


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
