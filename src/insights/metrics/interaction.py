"""Interaction (互动) headlines: participation, intensity, and what high interaction goes with.

Purchase outcomes reuse :mod:`insights.metrics.purchase` (``aov``,
``repurchase_rate``) with a ``users_subset``, so their definitions live in one place.
"""

from __future__ import annotations

import math
from typing import Any

import narwhals as nw
import polars as pl

from insights.data._backend import collect
from insights.data._cache import remembered
from insights.data.dataset import Dataset
from insights.metrics._common import headline as _headline
from insights.metrics._common import in_period as _in_period
from insights.metrics._common import paid_orders as _paid_orders
from insights.metrics._common import period_viewers
from insights.metrics._common import wilson as _wilson
from insights.metrics._periods import PeriodLike, parse_period
from insights.metrics._segments import Where, users_frame
from insights.metrics.purchase import aov, repurchase_rate
from insights.stats.ratio import ratio_ci

__all__ = [
    "interaction_rate",
    "interaction_intensity",
    "interaction_uplift",
    "repurchase_after_interaction",
    "gmv_share_top_buyers",
]

HIGH, ORDINARY = "high", "ordinary"
# Guards "rank <= ceil(top * n)" against float noise such as 0.7 * 10 = 7.000000000000001.
_EPS = 1e-9


@remembered
def interaction_rate(
    dataset: Dataset,
    *,
    period: PeriodLike,
    by: str | None = None,
    where: Where = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Share of viewers in ``period`` with at least one interaction in ``period``.

    Denominator: users with a view started in the period; numerator: those with an
    interaction (any kind) whose ``at`` is in the period. Wilson interval; ``n`` =
    viewers. Needs ``views`` and ``interactions``.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from insights.data import frames_dataset
    >>> users = pl.DataFrame({"user_id": [1, 2], "first_seen_at": [dt.datetime(2024, 1, 1)] * 2})
    >>> views = pl.DataFrame({"user_id": [1, 2], "started_at": [dt.datetime(2024, 1, 5)] * 2, "watch_seconds": [60.0] * 2})
    >>> inter = pl.DataFrame({"user_id": [1], "at": [dt.datetime(2024, 1, 5)], "kind": ["like"]})
    >>> ds = frames_dataset(users=users, views=views, interactions=inter)
    >>> interaction_rate(ds, period="2024Q1").select("value", "n").row(0)
    (0.5, 2)
    """
    p = parse_period(period)
    viewers = period_viewers(dataset, p, by=by, where=where, needed_for="interaction rate")
    interacted = (
        dataset.table("interactions", needed_for="interaction rate")
        .filter(_in_period("at", p))
        .select("user_id")
        .unique()
        .with_columns(nw.lit(1).alias("_hit"))
    )
    agg = (
        viewers.join(interacted, on="user_id", how="left")
        .group_by("segment")
        .agg(
            nw.len().alias("n"),
            nw.col("_hit").fill_null(0).cast(nw.Int64).sum().alias("interacted"),
        )
    )
    df = _wilson(collect(agg), successes="interacted", n="n", alpha=alpha)
    return _headline(df, "interaction_rate", p.label)


def interaction_intensity(
    dataset: Dataset,
    *,
    period: PeriodLike,
    top: float = 0.2,
    where: Where = None,
) -> nw.LazyFrame[Any]:
    """Per viewer in ``period``: interactions per watch-hour and the high/ordinary class (lazy).

    Returns a narwhals LazyFrame (nothing collected) with ``user_id, interactions,
    watch_hours, intensity, segment``: ``interactions`` in the period, ``watch_hours``
    = Σ watch_seconds / 3600 of views started in the period, ``intensity`` =
    interactions / watch_hours (+inf when watch time is 0 but there are
    interactions; 0 when both are 0). ``segment`` is ``"high"`` for the top
    ``top`` share of viewers by intensity, i.e. users with fewer than
    ``ceil(top * n)`` viewers strictly more intense (ties at the cut are all high)
    and at least one interaction; everyone else is ``"ordinary"``. Usable as the
    ``users_subset`` of :mod:`insights.metrics.purchase` functions.
    """
    if not 0 < top < 1:
        raise ValueError(f"top must be in (0, 1), got {top}")
    p = parse_period(period)
    watch = (
        dataset.table("views", needed_for="interaction intensity")
        .filter(_in_period("started_at", p))
        .group_by("user_id")
        .agg((nw.col("watch_seconds").sum() / 3600.0).alias("watch_hours"))
        .join(users_frame(dataset, where=where).select("user_id"), on="user_id")
    )
    counts = (
        dataset.table("interactions", needed_for="interaction intensity")
        .filter(_in_period("at", p))
        .group_by("user_id")
        .agg(nw.len().alias("_k"))
    )
    k, h = nw.col("interactions"), nw.col("watch_hours")
    intensity = (
        nw.when(h > 0)
        .then(k / h)
        .otherwise(nw.when(k > 0).then(nw.lit(math.inf)).otherwise(nw.lit(0.0)))
    )
    viewers = (
        watch.join(counts, on="user_id", how="left")
        .with_columns(nw.col("_k").fill_null(0).cast(nw.Int64).alias("interactions"))
        .with_columns(intensity.cast(nw.Float64).alias("intensity"))
    )
    total = viewers.select(nw.len().alias("_n"))
    rank = nw.col("intensity").rank(method="min", descending=True)
    high = ((rank - 1) < nw.col("_n") * top - _EPS) & (k > 0)
    return viewers.join(total, how="cross").select(
        "user_id",
        "interactions",
        "watch_hours",
        "intensity",
        nw.when(high).then(nw.lit(HIGH)).otherwise(nw.lit(ORDINARY)).alias("segment"),
    )


def _arm(frame: pl.DataFrame, segment: str) -> dict[str, Any]:
    rows = frame.filter(pl.col("segment") == segment).to_dicts()
    return rows[0] if rows else {"value": None, "ci_low": None, "ci_high": None, "n": 0}


def _uplift_row(
    metric: str,
    high: dict[str, Any],
    ordinary: dict[str, Any],
    se: tuple[float | None, float | None],
    alpha: float,
) -> dict[str, Any]:
    v1, v2 = high["value"], ordinary["value"]
    se1, se2 = se
    value = lo = hi = None
    if v1 is not None and v2:
        value = v1 / v2 - 1.0
        if se1 is not None and se2 is not None and not (math.isnan(se1) or math.isnan(se2)):
            r = ratio_ci(v1, se1, v2, se2, alpha=alpha)
            if not math.isnan(r.ci_low):
                lo, hi = r.ci_low - 1.0, r.ci_high - 1.0
    return {
        "metric": metric,
        "segment": "high_interaction vs ordinary",
        "value": value,
        "ci_low": lo,
        "ci_high": hi,
        "n": int(high["n"] or 0) + int(ordinary["n"] or 0),
        "value_high": v1,
        "value_ordinary": v2,
        "n_high": int(high["n"] or 0),
        "n_ordinary": int(ordinary["n"] or 0),
    }


@remembered
def interaction_uplift(
    dataset: Dataset,
    *,
    period: PeriodLike,
    top: float = 0.2,
    window: int = 60,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """AOV and repurchase of high-interaction viewers relative to ordinary ones, minus 1.

    Classes from :func:`interaction_intensity` (viewers in ``period``). Rows:

    - ``aov_uplift``: AOV(high) / AOV(ordinary) - 1 over their orders in the period
      (:func:`insights.metrics.purchase.aov`; ``n_*`` = orders);
    - ``repurchase_uplift``: repurchase(high) / repurchase(ordinary) - 1 with the
      ``window``-day repurchase of buyers whose first order is in the period
      (:func:`insights.metrics.purchase.repurchase_rate`; ``n_*`` = buyers).

    CI: delta method on log(ratio) (``insights.stats.ratio.ratio_ci``), with the
    AOV standard errors of the user-clustered ratio estimator (``aov``'s ``se``) and
    binomial ones for repurchase (Katz); minus 1. Extra columns ``value_high``,
    ``value_ordinary``, ``n_high``, ``n_ordinary``.
    """
    p = parse_period(period)
    subset = interaction_intensity(dataset, period=p, top=top).select("user_id", "segment")
    a = aov(dataset, period=p, users_subset=subset, alpha=alpha)
    r = repurchase_rate(dataset, period=p, window=window, users_subset=subset, alpha=alpha)
    # the share from the counts; its binomial se on the log scale is Katz's
    r = r.with_columns(value=pl.col("successes").cast(pl.Float64) / pl.col("n"))

    def prop_se(arm: dict[str, Any]) -> float | None:
        v, n = arm["value"], arm["n"]
        return math.sqrt(v * (1 - v) / n) if v is not None and n else None

    ah, ao = _arm(a, HIGH), _arm(a, ORDINARY)
    rh, ro = _arm(r, HIGH), _arm(r, ORDINARY)
    rows = [
        _uplift_row("aov_uplift", ah, ao, (ah.get("se"), ao.get("se")), alpha),
        _uplift_row("repurchase_uplift", rh, ro, (prop_se(rh), prop_se(ro)), alpha),
    ]
    schema = {
        "metric": pl.String, "segment": pl.String, "value": pl.Float64, "ci_low": pl.Float64,
        "ci_high": pl.Float64, "n": pl.Int64, "value_high": pl.Float64, "value_ordinary": pl.Float64,
        "n_high": pl.Int64, "n_ordinary": pl.Int64,
    }  # fmt: skip
    return _headline(pl.DataFrame(rows, schema=schema), "", p.label, order=("metric",))


def repurchase_after_interaction(
    dataset: Dataset,
    *,
    period: PeriodLike,
    window: int = 60,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """``window``-day repurchase of buyers who interacted at or before their first order.

    :func:`insights.metrics.purchase.repurchase_rate` restricted to users with an
    interaction whose ``at`` <= the timestamp of their first (non-refunded) order
    ever; segment ``"interacted_before_first_order"``.
    """
    p = parse_period(period)
    first = (
        _paid_orders(dataset, include_refunded=False)
        .group_by("user_id")
        .agg(nw.col("ordered_at").min().alias("_first"))
    )
    subset = (
        dataset.table("interactions", needed_for="repurchase after interaction")
        .select("user_id", "at")
        .join(first, on="user_id")
        .filter(nw.col("at") <= nw.col("_first"))
        .select("user_id")
        .unique()
        .with_columns(nw.lit("interacted_before_first_order").alias("segment"))
    )
    return repurchase_rate(dataset, period=p, window=window, users_subset=subset, alpha=alpha)


def gmv_share_top_buyers(
    dataset: Dataset,
    *,
    period: PeriodLike,
    top: float = 0.2,
    by: str | None = None,
    where: Where = None,
    include_refunded: bool = False,
) -> pl.DataFrame:
    """Share of GMV in ``period`` that comes from the top ``top`` share of buyers.

    Buyers: users with >= 1 (non-refunded) order in the period; GMV per buyer in the
    period; the top ``ceil(top * n)`` buyers by GMV (ties do not change the sum).
    ``value`` = their GMV / total GMV; no CI; ``n`` = buyers; extra columns
    ``n_top``, ``gmv_top``, ``gmv_total``. Metric ``gmv_share_top{100*top}pct_buyers``.
    """
    if not 0 < top <= 1:
        raise ValueError(f"top must be in (0, 1], got {top}")
    p = parse_period(period)
    per_buyer = (
        _paid_orders(dataset, include_refunded)
        .filter(_in_period("ordered_at", p))
        .join(users_frame(dataset, by=by, where=where).select("user_id", "segment"), on="user_id")
        .group_by("segment", "user_id")
        .agg(nw.col("amount").sum().alias("_gmv"))
    )
    sizes = per_buyer.group_by("segment").agg(
        nw.len().alias("n"), nw.col("_gmv").sum().alias("gmv_total")
    )
    rank = nw.col("_gmv").rank(method="ordinal", descending=True).over("segment")
    in_top = (rank - 1) < nw.col("n") * top - _EPS
    agg = (
        per_buyer.join(sizes, on="segment")
        .with_columns(in_top.alias("_top"))
        .group_by("segment")
        .agg(
            nw.col("n").max().alias("n"),
            nw.col("gmv_total").max().alias("gmv_total"),
            nw.col("_top").cast(nw.Int64).sum().alias("n_top"),
            nw.when(nw.col("_top")).then(nw.col("_gmv")).otherwise(0.0).sum().alias("gmv_top"),
        )
    )
    df = collect(agg).with_columns(
        value=pl.when(pl.col("gmv_total") > 0)
        .then(pl.col("gmv_top") / pl.col("gmv_total"))
        .otherwise(None)
    )
    df = df.select("segment", "value", "n", pl.col("n_top").cast(pl.Int64), "gmv_top", "gmv_total")
    return _headline(df, f"gmv_share_top{round(top * 100)}pct_buyers", p.label)
