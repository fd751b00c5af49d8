"""Is a metric's change between two periods real? A test from the two estimates' CIs.

Each metric row carries a 95% CI. Its standard error is recovered as
``se = (ci_high - ci_low) / (2 · 1.96)`` and two independent estimates are compared
with the Wald statistic ``z = (v1 - v0) / sqrt(se1² + se0²)`` (Altman & Bland,
"How to obtain the P value from a confidence interval", BMJ 2011;343:d2304).
For a difference of two proportions with Wald intervals this is exactly the
unpooled two-proportion z-test. Quarters share users for some metrics (e.g. the
interaction rate of viewers), which makes the test conservative there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy.special import ndtr

from insights.narrative.numbers import is_missing
from insights.stats.proportions import z_value

__all__ = ["Change", "change_test", "compare_quarters", "as_row", "Z95"]

#: z quantile of the 95% intervals the library's metric frames carry.
Z95 = 1.959963984540054


def as_row(row: Mapping[str, Any] | pl.DataFrame) -> dict[str, Any]:
    """A metric row as a dict (a one-row frame is accepted too)."""
    if isinstance(row, pl.DataFrame):
        if row.height != 1:
            raise ValueError(f"row must be one row of a metric frame, got {row.height} rows")
        return row.row(0, named=True)
    return dict(row)


def _se(row: Mapping[str, Any]) -> float | None:
    lo, hi = row.get("ci_low"), row.get("ci_high")
    if is_missing(lo) or is_missing(hi):
        return None
    return (float(hi) - float(lo)) / (2 * Z95)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Change:
    """``now - previous`` with its CI and two-sided p-value (``None`` without CIs)."""

    diff: float
    ci_low: float | None
    ci_high: float | None
    p: float | None
    relative: float | None


def change_test(
    now: Mapping[str, Any] | pl.DataFrame,
    previous: Mapping[str, Any] | pl.DataFrame,
    *,
    alpha: float = 0.05,
) -> Change:
    """Difference of two metric rows (``value, ci_low, ci_high``) with CI and p-value.

    Parameters
    ----------
    now, previous
        Rows of a tidy metric frame (dicts or one-row frames) with 95% CIs.
    alpha
        1 - level of the returned CI of the difference.

    Examples
    --------
    Two proportions 0.40 (n = 1000) and 0.35 (n = 1000) with Wald intervals give the
    unpooled z-test: z = 0.05 / 0.02167 = 2.307, p = 0.021.

    >>> se = lambda p, n: (p * (1 - p) / n) ** 0.5
    >>> row = lambda p: {"value": p, "ci_low": p - Z95 * se(p, 1000), "ci_high": p + Z95 * se(p, 1000)}
    >>> round(change_test(row(0.40), row(0.35)).p, 3)
    0.021
    """
    a, b = as_row(now), as_row(previous)
    if is_missing(a.get("value")) or is_missing(b.get("value")):
        raise ValueError("now and previous must both have a value to compare")
    diff = float(a["value"]) - float(b["value"])
    rel = diff / float(b["value"]) if float(b["value"]) != 0 else None
    se_a, se_b = _se(a), _se(b)
    if se_a is None or se_b is None:
        return Change(diff, None, None, None, rel)
    se = math.hypot(se_a, se_b)
    if se == 0:
        return Change(diff, diff, diff, 1.0 if diff == 0 else 0.0, rel)
    z = abs(diff) / se
    p = float(2 * ndtr(-z))
    q = z_value(alpha)
    return Change(diff, diff - q * se, diff + q * se, p, rel)


def compare_quarters(
    frame: pl.DataFrame,
    *,
    quarter: str,
    other: str,
    period_col: str = "quarter",
    alpha: float = 0.05,
) -> pl.DataFrame:
    """One row per ``metric, segment``: ``quarter`` next to ``other`` with the change test.

    Parameters
    ----------
    frame
        A tidy metric frame with ``metric, segment, value, ci_low, ci_high, n`` and a
        period column (e.g. :func:`insights.kpis.kpi_scorecard`'s output).
    quarter, other
        The period labels to compare (``other`` is the reference).
    period_col
        Name of the period column (``quarter`` or ``period``).

    Returns
    -------
    polars.DataFrame
        ``metric, segment, value, ci_low, ci_high, n, prev_value, prev_ci_low,
        prev_ci_high, prev_n, diff, diff_ci_low, diff_ci_high, p, relative`` in the
        order of ``frame``; ``p`` is null where a CI is missing, and every derived
        column is null where a side is missing (suppressed or not computable).
    """
    for col in ("metric", "segment", "value", "ci_low", "ci_high", "n", period_col):
        if col not in frame.columns:
            raise ValueError(f"frame has no column {col!r}; expected a tidy metric frame")
    keep = ["metric", "segment", "value", "ci_low", "ci_high", "n"]
    order = frame.select("metric", "segment").unique(maintain_order=True)
    a = frame.filter(pl.col(period_col) == quarter).select(keep)
    b = frame.filter(pl.col(period_col) == other).select(keep)
    b = b.rename({c: f"prev_{c}" for c in keep[2:]})
    out = order.join(a, on=["metric", "segment"], how="left").join(
        b, on=["metric", "segment"], how="left"
    )
    z = Z95
    se_a = (pl.col("ci_high") - pl.col("ci_low")) / (2 * z)
    se_b = (pl.col("prev_ci_high") - pl.col("prev_ci_low")) / (2 * z)
    out = out.with_columns(
        (pl.col("value") - pl.col("prev_value")).alias("diff"),
        (se_a.pow(2) + se_b.pow(2)).sqrt().alias("_se"),
        pl.when(pl.col("prev_value") != 0)
        .then((pl.col("value") - pl.col("prev_value")) / pl.col("prev_value"))
        .alias("relative"),
    )
    zstat = (out["diff"].abs() / out["_se"]).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * ndtr(-zstat.astype(np.float64))
    q = z_value(alpha)
    out = out.with_columns(
        pl.Series("p", p, dtype=pl.Float64).fill_nan(None),
    ).with_columns(
        pl.when(pl.col("_se") == 0)
        .then(pl.when(pl.col("diff") == 0).then(1.0).otherwise(0.0))
        .otherwise(pl.col("p"))
        .alias("p"),
        (pl.col("diff") - q * pl.col("_se")).alias("diff_ci_low"),
        (pl.col("diff") + q * pl.col("_se")).alias("diff_ci_high"),
    )
    return out.select(
        *keep,
        "prev_value",
        "prev_ci_low",
        "prev_ci_high",
        "prev_n",
        "diff",
        "diff_ci_low",
        "diff_ci_high",
        "p",
        "relative",
    )
