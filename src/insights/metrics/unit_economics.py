"""Unit economics: LTV/CAC with payback, and the retention → LTV elasticity.

LTV is the projected LTV(T) of :func:`insights.metrics.ltv_projection.projected_ltv` (GMV per
acquired user, times ``margin`` for contribution); CAC is
:func:`insights.metrics.growth.cac` (spend in the period / users acquired in it).
Payback = first day t with margin · cumulative LTV(t) >= CAC.

The elasticity scales the hazard, h'(t) = k·h(t), so S'(t) = S(t)^k with k chosen so
that S'(30) = (1 + lift) · S(30) (0 < k < 1 for a lift). The projection's daily value
per acquired user has two parts (:mod:`insights.metrics.ltv_projection`, g the churn
gap):

    a(t) = S(t)·m(t) + (1 - S(t - g))·ρ(t)

survivors' spend plus the spend of users who churned and came back. Holding the
per-head spends m (per survivor) and ρ (per churned user) fixed, only the head
counts change:

    a'(t) = S(t)^k·m(t) + (1 - S(t - g)^k)·ρ(t)
          = S(t)^(k-1) · [S·m](t)  +  (1 - S(t-g)^k) / (1 - S(t-g)) · [(1 - S(t-g))·ρ](t)

The survivors' part scales up by S^(k-1) >= 1; the churned part scales *down* by
(1 - S^k)/(1 - S), which lies in (k, 1): fewer users churn, so fewer are left to
come back (it tends to k as S(t - g) -> 1 and to 1 as S(t - g) -> 0; 0 < t <= g has
no churned spend). The two bracketed parts are read from the curve:
``daily_survivor_value`` and ``daily_value - daily_survivor_value``. With no reactivated spend (ρ = 0) this is the plain
scaled-hazard formula LTV' = Σ S(t)^(k-1)·a(t).

Measured on the simulator (200k users, seed 42, 2023 cohort, 365 days): D30
retention 0.391 -> 0.431 (+10%, k = 0.898) gives LTV +16.0% (survivors' part +24.1%,
churned part -2.6%, 30% of LTV); scaling the whole daily value gave +26.5%.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from insights.data.dataset import Dataset, churn_gap_of
from insights.metrics._periods import PeriodLike, parse_period
from insights.metrics._segments import Where
from insights.metrics.growth import cac
from insights.metrics.ltv_projection import projected_ltv

__all__ = ["ltv_cac", "retention_ltv_elasticity"]


def ltv_cac(
    dataset: Dataset,
    *,
    period: PeriodLike,
    by: str | None = "channel",
    where: Where = None,
    margin: float = 0.3,
    horizon: int = 365,
    discount_monthly: float = 0.0,
) -> pl.DataFrame:
    """LTV/CAC and payback days of the users acquired in ``period``, per ``by`` segment.

    ``by`` and the columns of ``where`` must be columns of both ``spend`` and
    ``users`` (``channel``, ``platform``): spend is not per user (see
    :func:`insights.metrics.growth.cac`).

    Returns
    -------
    polars.DataFrame
        ``segment, period, n, cac, ltv_gmv, ltv_margin, value, payback_days, model``:
        ``ltv_margin`` = margin · projected LTV(horizon); ``value`` = LTV/CAC =
        ltv_margin / cac (null without spend); ``payback_days`` null when not reached
        within the horizon. Needs the ``spend`` table.
    """
    if not 0 < margin <= 1:
        raise ValueError(f"margin must be in (0, 1] (contribution margin on GMV), got {margin!r}")
    p = parse_period(period)
    costs = cac(dataset, period=period, by=by, where=where)
    daily = projected_ltv(
        dataset,
        horizon=horizon,
        by=by,
        where=where,
        period=period,
        discount_monthly=discount_monthly,
        curve=True,
    )
    costs = costs.select("segment", pl.col("value").alias("cac"))
    out = (
        daily.group_by("segment")
        .agg(pl.col("value").last().alias("ltv"), pl.col("model").first(), pl.col("n").first())
        .join(costs, on="segment", how="left")
    )
    paid = daily.join(costs, on="segment", how="left").filter(
        pl.col("value") * margin >= pl.col("cac")
    )
    payback = paid.group_by("segment").agg(pl.col("t").min().alias("payback_days"))
    return (
        out.join(payback, on="segment", how="left")
        .select(
            "segment",
            pl.lit(p.label).alias("period"),
            "n",
            "cac",
            pl.col("ltv").alias("ltv_gmv"),
            (pl.col("ltv") * margin).alias("ltv_margin"),
            pl.when(pl.col("cac") > 0).then(pl.col("ltv") * margin / pl.col("cac")).alias("value"),
            pl.col("payback_days").cast(pl.Int64),
            "model",
        )
        .sort("segment")
    )


def _survivor_scale(s: np.ndarray, k: float) -> np.ndarray:
    """S(t)^(k-1): survivors' head count under the scaled hazard over the current one."""
    return np.where(s > 0, np.maximum(s, 1e-300) ** (k - 1), 0.0)


def _churned_scale(s: np.ndarray, k: float, churn_gap: int) -> np.ndarray:
    """(1 - S(t-g)^k) / (1 - S(t-g)): churned-and-past-the-gap head count, new over current.

    S(t - g) = 1 for t < g; the ratio's limit there (S -> 1) is k.
    """
    s_gap = np.concatenate([np.ones(min(churn_gap, s.size)), s])[: s.size]
    gone = 1.0 - s_gap
    return np.divide(1.0 - s_gap**k, gone, out=np.full(s.size, k), where=gone > 1e-12)


def retention_ltv_elasticity(
    dataset: Dataset,
    *,
    lift: float = 0.10,
    retention_day: int = 30,
    horizon: int = 365,
    by: str | None = None,
    where: Where = None,
    period: PeriodLike | None = None,
    discount_monthly: float = 0.0,
    churn_gap: int | None = None,
) -> pl.DataFrame:
    """LTV change when the hazard is scaled so that D``retention_day`` retention rises by ``lift``.

    Survivors' spend scales with S^(k-1), churned users' spend with
    (1 - S(t-g)^k) / (1 - S(t-g)); the derivation is in the module docstring.

    Parameters
    ----------
    dataset
        The data, as for :func:`insights.metrics.ltv_projection.projected_ltv`.
    lift
        Relative rise of D``retention_day`` retention (0.10 = +10%).
    retention_day
        The retention day the lift is set on (default 30).
    horizon, by, where, period, discount_monthly, churn_gap
        Passed to :func:`~insights.metrics.ltv_projection.projected_ltv` (``churn_gap``
        default: ``dataset.churn_gap``, else 30).

    Returns
    -------
    polars.DataFrame
        ``segment, retention, retention_new, hazard_scale, ltv, ltv_new, value,
        elasticity``: ``hazard_scale`` = k (S' = S^k), ``value`` = the relative LTV
        change ltv_new / ltv - 1, ``elasticity`` = value / lift.
    """
    churn_gap = churn_gap_of(dataset, churn_gap)
    if lift <= 0:
        raise ValueError(f"lift must be > 0 (0.10 = D30 retention up 10% relative), got {lift!r}")
    daily = projected_ltv(
        dataset, horizon=horizon, by=by, where=where, period=period,
        discount_monthly=discount_monthly, churn_gap=churn_gap, curve=True,
    )  # fmt: skip
    rows = []
    for group, part in daily.group_by("segment", maintain_order=True):
        s = part["survival"].to_numpy()
        v = part["daily_value"].to_numpy()
        s_day = float(s[min(retention_day, s.size - 1)])
        target = (1 + lift) * s_day
        if not 0 < s_day < 1 or target >= 1:
            raise ValueError(
                f"D{retention_day} retention of segment {group[0]!r} is {s_day:.3f}: a {lift:.0%} lift is not "
                "possible (it must stay below 1); choose a smaller lift"
            )
        k = float(np.log(target) / np.log(s_day))
        survivors = part["daily_survivor_value"].to_numpy()
        ltv = float(v.sum())
        ltv_new = float(
            (survivors * _survivor_scale(s, k)).sum()
            + ((v - survivors) * _churned_scale(s, k, churn_gap)).sum()
        )
        change = ltv_new / ltv - 1 if ltv > 0 else None
        rows.append(
            {
                "segment": group[0],
                "retention": s_day,
                "retention_new": target,
                "hazard_scale": k,
                "ltv": ltv,
                "ltv_new": ltv_new,
                "value": change,
                "elasticity": None if change is None else change / lift,
            }  # fmt: skip
        )
    return pl.DataFrame(rows).sort("segment")
