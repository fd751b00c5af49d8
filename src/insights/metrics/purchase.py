"""Purchase metrics: 60-day repurchase, first-purchase conversion, AOV, repurchase cycle.

Refunded orders (``orders.refunded``, optional, default False) are left out unless
``include_refunded=True``. Order days are calendar days (``epoch_day``). Work stays
in the engine; each function collects its per-segment aggregates once.

``repurchase_of`` and ``aov_of`` (internal) compute the same metrics over a given set
of users with their own segments (e.g. the high/ordinary interaction classes): the
building blocks other metric modules use, so each definition lives in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import narwhals as nw
import numpy as np
import polars as pl
from scipy import sparse

from insights.data._backend import collect, epoch_day
from insights.data._cache import remembered
from insights.data.dataset import Dataset
from insights.metrics._common import days_in_period as _in_period
from insights.metrics._common import headline, two_arm_ratio, wilson_headline
from insights.metrics._periods import PeriodLike, parse_period
from insights.metrics._segments import Where, users_frame
from insights.metrics._windows import acquisition_clipped, outcome_window
from insights.metrics.activity_days import as_of_day
from insights.stats.km import kaplan_meier, median_survival
from insights.stats.proportions import z_value
from insights.stats.ratio import cluster_sums, ratio_frame

__all__ = [
    "repurchase_rate",
    "first_purchase_conversion",
    "aov",
    "aov_ratio",
    "repurchase_cycle",
]

#: ``repurchase_cycle(kind=...)``: gaps to the next order of any kind, or of the same value
CycleKind = Literal["any", "same"]


def order_days(
    dataset: Dataset, *, include_refunded: bool = False, extra: Sequence[str] = ()
) -> nw.LazyFrame[Any]:
    """Orders ``user_id, day`` (days since 1970-01-01), ``amount``, then ``extra`` columns; lazy.

    Refunded orders stay only with ``include_refunded`` (no ``refunded`` column: none).
    An ``extra`` column the orders table lacks raises ``ValueError`` naming it.
    """
    orders = dataset.table("orders")
    names = orders.collect_schema().names()
    if missing := [c for c in extra if c not in names]:
        raise ValueError(f"{missing} is not an orders column; available: {sorted(names)}")
    if not include_refunded and "refunded" in names:
        orders = orders.filter(~nw.col("refunded").fill_null(False))
    return orders.select(
        "user_id",
        epoch_day("ordered_at", like=orders).cast(nw.Int64).alias("day"),
        nw.col("amount").cast(nw.Float64),
        *extra,
    )


def _check_by(dataset: Dataset, by: str | None) -> None:
    names = dataset.table("users").collect_schema().names()
    if by is not None and by not in names:
        raise ValueError(f"by={by!r} is not a users column; available: {sorted(names)}")


def _scope(dataset: Dataset, by: str | None, where: Where) -> nw.LazyFrame[Any]:
    """Users in scope: ``user_id, first_seen_day, segment`` (lazy)."""
    _check_by(dataset, by)
    return users_frame(dataset, by=by, where=where).select("user_id", "first_seen_day", "segment")


def repurchase_of(
    dataset: Dataset,
    users: nw.LazyFrame[Any],
    *,
    period: PeriodLike,
    window: int = 60,
    include_refunded: bool = False,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """:func:`repurchase_rate` over ``users`` (lazy ``user_id, segment``), per their segment.

    A user listed under several segments counts in each.
    """
    p = parse_period(period)
    orders = order_days(dataset, include_refunded=include_refunded).select("user_id", "day")
    first = nw.col("day").min().over("user_id")
    w = outcome_window("repurchase", window)  # days 1 .. window after the first order
    followed = w.observable("first_day", as_of_day(dataset)).cast(nw.Int64)
    per_user = (
        orders.with_columns(first.alias("first_day"))
        .with_columns(w.contains("day", "first_day").cast(nw.Int64).alias("__rep"))
        .group_by("user_id")
        .agg(nw.col("first_day").min(), nw.col("__rep").max())
        .filter(_in_period("first_day", p))
        .with_columns(followed.alias("__seen"))
    )
    counts = (  # n: the new buyers followed through the window (0: none yet, not observed)
        per_user.join(users.select("user_id", "segment"), on="user_id", how="inner")
        .group_by("segment")
        .agg(
            nw.col("__seen").sum().alias("n"),
            (nw.col("__rep") * nw.col("__seen")).sum().alias("successes"),
        )
    )
    return wilson_headline(
        collect(counts), f"repurchase_{window}d", p.label, alpha=alpha, window=window
    )


def repurchase_rate(
    dataset: Dataset,
    *,
    period: PeriodLike,
    window: int = 60,
    by: str | None = None,
    where: Where = None,
    include_refunded: bool = False,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Share of new buyers who order again within ``window`` days of their first order.

    Denominator: buyers whose first order ever falls in ``period`` and is observable
    for the window (first_order_day + window <= as_of day). Numerator: those with
    another order on a later day d, 1 <= d - first_order_day <= window. Wilson CI.

    Returns
    -------
    polars.DataFrame
        Headline columns with metric ``"repurchase_{window}d"``, ``n`` = buyers,
        plus ``successes`` = repeat buyers and ``status``: ``"not_observed"`` (value
        and CI null) when no buyer of the segment is observable for the window
        (``n`` = 0), else ``"observed"``. One row per segment.

    Examples
    --------
    Buyer 1: first order 2024-01-05, again on 2024-02-20 (day 46): repurchased.
    Buyer 2: first order 2024-01-10, again on 2024-04-01 (day 82 > 60): not.
    Buyer 3: first order 2024-03-20 + 60 > as_of 2024-04-30, not observable. Value 1/2.

    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> d = dt.datetime
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2, 3], "first_seen_at": [d(2024, 1, 1)] * 3}),
    ...     orders=pl.DataFrame({"order_id": [1, 2, 3, 4, 5], "user_id": [1, 1, 2, 2, 3],
    ...         "ordered_at": [d(2024, 1, 5), d(2024, 2, 20), d(2024, 1, 10), d(2024, 4, 1),
    ...                        d(2024, 3, 20)], "amount": [10.0] * 5}),
    ...     as_of="2024-04-30",
    ... )
    >>> ins.repurchase_rate(ds, period="2024Q1").select("metric", "value", "n").row(0)
    ('repurchase_60d', 0.5, 2)
    """
    scope = _scope(dataset, by, where)
    return repurchase_of(
        dataset, scope, period=period, window=window, include_refunded=include_refunded,
        alpha=alpha,
    )  # fmt: skip


@remembered
def first_purchase_conversion(
    dataset: Dataset,
    *,
    period: PeriodLike,
    window: int = 30,
    by: str | None = None,
    where: Where = None,
    include_refunded: bool = False,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Share of new users with an order on day index 0 .. window-1 (default 30 days).

    Denominator: users acquired in ``period`` with first_seen_day + window <= as_of
    day. Order day index = order day - first_seen_day, clipped at 0. Wilson CI.

    Returns
    -------
    polars.DataFrame
        Headline columns with metric ``"first_purchase_{window}d"``, ``n`` = users,
        plus ``successes`` = converted users and ``status``: ``"not_observed"``
        (value and CI null) when no user of the segment is observable for the
        window (``n`` = 0), else ``"observed"``.

    Examples
    --------
    Three users acquired 2024-01-01 (as_of 2024-03-31): user 1 orders on day 29
    (converts), user 2 on day 30 (too late), user 3 never. Value = 1/3.

    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> d = dt.datetime
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2, 3], "first_seen_at": [d(2024, 1, 1, 20)] * 3}),
    ...     orders=pl.DataFrame({"order_id": [1, 2], "user_id": [1, 2],
    ...         "ordered_at": [d(2024, 1, 30, 9), d(2024, 1, 31)], "amount": [5.0, 5.0]}),
    ...     as_of="2024-03-31",
    ... )
    >>> ins.first_purchase_conversion(ds, period="2024Q1").select("value", "n", "successes").row(0)
    (0.3333333333333333, 3, 1)
    """
    p = parse_period(period)
    w = outcome_window("first_purchase", window)  # days 0 .. window - 1
    followed = w.observable("first_seen_day", as_of_day(dataset)).cast(nw.Int64)
    scope = (
        _scope(dataset, by, where)
        .filter(_in_period("first_seen_day", p))
        .with_columns(followed.alias("__seen"))
    )
    orders = order_days(dataset, include_refunded=include_refunded).select("user_id", "day")
    buyers = (
        orders.join(scope.select("user_id", "first_seen_day").unique(), on="user_id", how="inner")
        .filter(w.contains(acquisition_clipped("day", "first_seen_day"), "first_seen_day"))
        .group_by("user_id")
        .agg(nw.len().alias("__orders"))
    )
    counts = (  # n: the new users followed through the window (0: none yet, not observed)
        scope.join(buyers, on="user_id", how="left")
        .with_columns((~nw.col("__orders").is_null()).cast(nw.Int64).alias("__bought"))
        .group_by("segment")
        .agg(
            nw.col("__seen").sum().alias("n"),
            (nw.col("__bought") * nw.col("__seen")).sum().alias("successes"),
        )
    )
    return wilson_headline(
        collect(counts), f"first_purchase_{window}d", p.label, alpha=alpha, window=window
    )


def _aov_sums(
    dataset: Dataset, p: Any, users: nw.LazyFrame[Any], include_refunded: bool
) -> pl.DataFrame:
    orders = order_days(dataset, include_refunded=include_refunded).filter(_in_period("day", p))
    joined = orders.join(users.select("user_id", "segment"), on="user_id", how="inner")
    return collect(cluster_sums(joined, y="amount", cluster="user_id", by=("segment",)))


def aov_of(
    dataset: Dataset,
    users: nw.LazyFrame[Any],
    *,
    period: PeriodLike,
    include_refunded: bool = False,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """:func:`aov` over ``users`` (lazy ``user_id, segment``), per their segment."""
    p = parse_period(period)
    sums = ratio_frame(_aov_sums(dataset, p, users, include_refunded), alpha=alpha)
    df = sums.select(
        pl.col("segment").cast(pl.String),
        "value",
        "ci_low",
        "ci_high",
        pl.col("sum_x").round(0).alias("n"),
        pl.col("sum_y").cast(pl.Float64).alias("gmv"),
        pl.col("n_clusters").cast(pl.Int64).alias("buyers"),
        pl.col("se").cast(pl.Float64),
    )
    return headline(df, "aov", p.label)


def aov(
    dataset: Dataset,
    *,
    period: PeriodLike,
    by: str | None = None,
    where: Where = None,
    include_refunded: bool = False,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Average order value: GMV / orders over orders placed in ``period``.

    CI from the ratio estimator with users as clusters (delta method, see
    :func:`insights.stats.ratio_of_means_ci`).

    Returns
    -------
    polars.DataFrame
        Headline columns with metric ``"aov"`` (yuan), ``n`` = orders, plus ``gmv``,
        ``buyers`` and ``se``.

    Examples
    --------
    User 1: orders of 10 and 30; user 2: one order of 20 -> AOV = 60 / 3 = 20.

    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> d = dt.datetime(2024, 2, 1)
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2], "first_seen_at": [d, d]}),
    ...     orders=pl.DataFrame({"order_id": [1, 2, 3], "user_id": [1, 1, 2],
    ...                          "ordered_at": [d] * 3, "amount": [10.0, 30.0, 20.0]}),
    ... )
    >>> ins.aov(ds, period="2024Q1").select("value", "n", "buyers").row(0)
    (20.0, 3, 2)
    """
    scope = _scope(dataset, by, where)
    return aov_of(dataset, scope, period=period, include_refunded=include_refunded, alpha=alpha)


def aov_ratio(
    dataset: Dataset,
    *,
    period: PeriodLike,
    column: str,
    values: Sequence[str],
    where: Where = None,
    include_refunded: bool = False,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """AOV of users with ``users.<column>`` in ``values`` over AOV of the rest.

    Both AOVs over orders in ``period`` (as :func:`aov`); the groups are disjoint
    sets of users, so the two estimates are independent and the CI of the ratio is
    the log-scale delta interval of :func:`insights.stats.ratio_ci`. Users with a
    null ``column`` belong to the rest.

    Returns
    -------
    polars.DataFrame
        One headline row, metric ``"aov_ratio"``, segment ``"<column> in [a, b] vs rest"``,
        ``n`` = orders of both groups, plus ``aov_in``, ``aov_rest``, ``n_in``, ``n_rest``.

    Examples
    --------
    Users 1 and 2 (tier1) order 30 and 50, user 3 (tier3) orders 10 and 30 -> 40 / 20 = 2.

    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> d = dt.datetime(2024, 2, 1)
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2, 3], "first_seen_at": [d] * 3,
    ...                         "city_tier": ["tier1", "tier1", "tier3"]}),
    ...     orders=pl.DataFrame({"order_id": [1, 2, 3, 4], "user_id": [1, 2, 3, 3],
    ...                          "ordered_at": [d] * 4, "amount": [30.0, 50.0, 10.0, 30.0]}),
    ... )
    >>> ins.aov_ratio(ds, period="2024Q1", column="city_tier", values=["tier1"]).select(
    ...     "segment", "value", "n").row(0)
    ('city_tier in [tier1] vs rest', 2.0, 4)
    """
    if isinstance(values, str):
        values = [values]
    labels = [str(v) for v in values]
    p = parse_period(period)
    is_in = nw.col("segment").is_in(labels)
    scope = users_frame(dataset, by=column, where=where).with_columns(
        nw.when(is_in).then(nw.lit("in")).otherwise(nw.lit("rest")).alias("segment")
    )
    sums = ratio_frame(_aov_sums(dataset, p, scope, include_refunded), alpha=alpha)
    pick = {r["segment"]: r for r in sums.to_dicts()}
    a, b = pick.get("in", {}), pick.get("rest", {})
    est = two_arm_ratio(a.get("value"), a.get("se"), b.get("value"), b.get("se"), alpha=alpha)
    n_in, n_rest = round(a.get("sum_x") or 0), round(b.get("sum_x") or 0)
    row = {
        "metric": "aov_ratio",
        "segment": f"{column} in [{', '.join(labels)}] vs rest",
        "period": p.label,
        "value": est.estimate,
        "ci_low": est.ci_low,
        "ci_high": est.ci_high,
        "n": n_in + n_rest,
        "aov_in": a.get("value"),
        "aov_rest": b.get("value"),
        "n_in": n_in,
        "n_rest": n_rest,
    }
    return pl.DataFrame([row]).with_columns(
        pl.col("value", "ci_low", "ci_high", "aov_in", "aov_rest").cast(pl.Float64),
        pl.col("n", "n_in", "n_rest").cast(pl.Int64),
    )


def repurchase_cycle(
    dataset: Dataset,
    *,
    period: PeriodLike | None = None,
    by: str | None = None,
    where: Where = None,
    kind: CycleKind = "any",
    include_refunded: bool = False,
    alpha: float = 0.05,
    bootstrap: int = 200,
    seed: int = 0,
) -> pl.DataFrame:
    """Median days between consecutive orders (Kaplan–Meier on gaps), per segment.

    Per user, gaps between consecutive distinct order days (event 1); the gap after
    the last order is censored at as_of (as_of day - last order day, event 0). A gap
    belongs to the period of its starting order (``period=None``: all gaps). Value =
    KM median (first t with S(t) <= 0.5), CI Brookmeyer–Crowley (log-log): the days
    t where the test of S(t) = 0.5 is not rejected.

    A buyer contributes several gaps (2.4 on average in the demo) and a frequent
    buyer's gaps are all short: they are not independent, and Greenwood's variance,
    which treats them as independent, is too small: with about 3 gaps per buyer its
    SE of S(t) is 35–42% below the true spread and its CI covers the true median
    80–89% of the time instead of 95% (the buyer bootstrap: 93–97%,
    ``benchmarks/results/coverage_inference.md``). By
    default the variance of S(t) in the Brookmeyer–Crowley interval is therefore a
    cluster bootstrap over buyers: ``bootstrap`` resamples of the segment's buyers
    with replacement, each keeping all its gaps, give the variance of S(t) at every t
    (times G / (G − 1), G buyers; a segment with one buyer gets no CI). It is
    vectorised (sparse buyer x day counts) and reproducible (``seed``).

    ``kind="any"`` (default): gaps run between a user's consecutive orders of any
    kind; ``by`` is a users column (e.g. the preferred ``category``). ``kind="same"``:
    ``by`` is an orders column (e.g. the order's ``category``) and gaps run between a
    user's consecutive orders *with the same value* (time to buy the category again);
    each user's last order of a value is censored at as_of. ``where`` filters users in
    both cases, so several segments are pooled with it, e.g. beauty and apparel
    buyers with ``where={"category": ["beauty", "apparel"]}``.

    Parameters
    ----------
    bootstrap
        Resamples of buyers for the CI (default 200); ``0``: Greenwood's variance, as
        if every gap came from a different buyer (the earlier CI, too narrow).
    seed
        Random seed of the bootstrap.

    Returns
    -------
    polars.DataFrame
        Headline columns with metric ``"repurchase_cycle"`` (days; null when S never
        reaches 0.5), ``n`` = gaps (observed + censored), plus ``events`` = observed
        gaps and ``buyers`` = users with a gap (the bootstrap's clusters).

    Examples
    --------
    One buyer ordering on days 0, 10, 30 with as_of on day 60: gaps 10, 20 observed
    and 30 censored; S(10) = 2/3, S(20) = 1/3 -> median 20.

    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> t0 = dt.datetime(2024, 1, 1)
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1], "first_seen_at": [t0]}),
    ...     orders=pl.DataFrame({"order_id": [1, 2, 3], "user_id": [1] * 3, "amount": [1.0] * 3,
    ...         "ordered_at": [t0 + dt.timedelta(days=k) for k in (0, 10, 30)]}),
    ...     as_of="2024-03-01",
    ... )
    >>> ins.repurchase_cycle(ds).select("segment", "value", "n", "events", "buyers").row(0)
    ('all', 20.0, 3, 2, 1)
    """
    label = parse_period(period).label if period is not None else "all"
    if kind not in ("any", "same"):
        raise ValueError(f"kind must be 'any' or 'same', got {kind!r}")
    if kind == "same" and by is None:
        raise ValueError("kind='same' needs by= naming an orders column, e.g. 'category'")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise ValueError(f"bootstrap must be an int >= 0 (0: Greenwood CI), got {bootstrap!r}")
    if kind == "same":  # by is an orders column: gaps within each value
        days = order_days(dataset, include_refunded=include_refunded, extra=[str(by)])
        days = days.select(
            "user_id", "day", nw.col(str(by)).cast(nw.String).fill_null("unknown").alias("segment")
        )
        scope = users_frame(dataset, where=where).select("user_id")
    else:
        days = order_days(dataset, include_refunded=include_refunded).select("user_id", "day")
        scope = _scope(dataset, by, where).select("user_id", "segment")
    days = days.unique()
    nxt = nw.col("day").shift(-1).over("user_id", "segment", order_by="day")
    gaps = days.join(scope, on="user_id", how="inner").with_columns(nxt.alias("__next"))
    if period is not None:
        gaps = gaps.filter(_in_period("day", parse_period(period)))
    end = nw.col("__next").fill_null(nw.lit(as_of_day(dataset)))
    gaps = gaps.with_columns(
        (end - nw.col("day")).cast(nw.Int64).alias("duration"),
        (~nw.col("__next").is_null()).cast(nw.Int64).alias("event"),
    )
    per_user = collect(
        gaps.group_by("segment", "user_id", "duration", "event").agg(nw.len().alias("count"))
    ).with_columns(pl.col("segment").cast(pl.String), pl.col("count").cast(pl.Int64))
    counts = per_user.group_by("segment", "duration", "event").agg(pl.col("count").sum())
    km = kaplan_meier(counts, alpha=alpha)
    if bootstrap:
        km = _buyer_bootstrap_band(per_user, km, bootstrap=bootstrap, alpha=alpha, seed=seed)
    med = median_survival(km)
    totals = per_user.group_by("segment").agg(
        pl.col("count").sum().alias("n"),
        (pl.col("count") * pl.col("event")).sum().alias("events"),
        pl.col("user_id").n_unique().alias("buyers"),
    )
    out = med.join(totals, on="segment", how="left").select(
        "segment",
        pl.col("median").alias("value"),
        "ci_low",
        "ci_high",
        "n",
        pl.col("events").cast(pl.Int64),
        pl.col("buyers").cast(pl.Int64),
    )
    return headline(out, "repurchase_cycle", label)


def _bootstrap_survival_variance(
    user: np.ndarray,
    duration: np.ndarray,
    event: np.ndarray,
    count: np.ndarray,
    t: np.ndarray,
    *,
    bootstrap: int,
    rng: np.random.Generator,
    chunk: int = 25,
) -> np.ndarray:
    """Variance of the Kaplan–Meier S at times ``t`` over resamples of users (clusters).

    Each resample draws the G users with replacement (multinomial weights); the gaps
    are held as sparse user x time matrices of events and exits, so a resample's
    curve is two sparse products and a cumulative product. Returns the bootstrap
    variance times G / (G − 1); NaN when G < 2.
    """
    users, u = np.unique(user, return_inverse=True)
    times, j = np.unique(duration, return_inverse=True)
    g, m = users.size, times.size
    if g < 2:
        return np.full(t.size, np.nan)
    at = np.searchsorted(times, t, side="right") - 1  # S is a right-continuous step function
    shape = (g, m)
    exits = sparse.csr_matrix((count.astype(float), (u, j)), shape=shape).T.tocsr()
    events = sparse.csr_matrix(((count * event).astype(float), (u, j)), shape=shape).T.tocsr()
    total, total_sq = np.zeros(t.size), np.zeros(t.size)
    done = 0
    while done < bootstrap:
        c = min(chunk, bootstrap - done)
        draws = rng.integers(0, g, size=(c, g)) + (np.arange(c) * g)[:, None]
        weights = np.bincount(draws.ravel(), minlength=c * g).reshape(c, g).T.astype(float)
        out_b = np.asarray(exits @ weights).T  # c x m: weighted exits at each t
        ev_b = np.asarray(events @ weights).T
        at_risk = np.cumsum(out_b[:, ::-1], axis=1)[:, ::-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            hazard = np.where(at_risk > 0, ev_b / at_risk, 0.0)
        surv = np.cumprod(1.0 - hazard, axis=1)
        surv = np.where(at >= 0, surv[:, np.maximum(at, 0)], 1.0)
        total += surv.sum(axis=0)
        total_sq += (surv**2).sum(axis=0)
        done += c
    var = np.maximum(total_sq - total**2 / bootstrap, 0.0) / max(bootstrap - 1, 1)
    return var * g / (g - 1)


def _buyer_bootstrap_band(
    per_user: pl.DataFrame, km: pl.DataFrame, *, bootstrap: int, alpha: float, seed: int
) -> pl.DataFrame:
    """The KM table with its log-log band recomputed from the buyer-bootstrap variance."""
    z = z_value(alpha)
    parts = []
    for seg, curve in km.partition_by("segment", as_dict=True).items():
        curve = curve.sort("t")
        gaps = per_user.filter(pl.col("segment") == seg[0])
        var = _bootstrap_survival_variance(
            gaps["user_id"].to_numpy(),
            gaps["duration"].to_numpy(),
            gaps["event"].to_numpy(),
            gaps["count"].to_numpy(),
            curve["t"].to_numpy(),
            bootstrap=bootstrap,
            # one stream per segment from ``seed`` alone: a segment's CI is the same
            # whether it is computed with ``by=`` or alone with ``where=``
            rng=np.random.default_rng(seed),
        )
        s = curve["survival"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            log_s = np.log(s)
            se_theta = np.sqrt(var) / np.abs(s * log_s)
            theta = np.log(-log_s)
            low = np.exp(-np.exp(theta + z * se_theta))
            high = np.exp(-np.exp(theta - z * se_theta))
        inside = (s > 0) & (s < 1) & (var > 0)
        low = np.where(inside, low, np.where(np.isnan(var), np.nan, s))
        high = np.where(inside, high, np.where(np.isnan(var), np.nan, s))
        parts.append(curve.with_columns(pl.Series("ci_low", low), pl.Series("ci_high", high)))
    return pl.concat(parts) if parts else km
