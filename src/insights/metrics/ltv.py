"""Observed cohort LTV: cumulative GMV per acquired user by day since acquisition.

:func:`cohort_ltv` follows each acquisition cohort (month, quarter or year of
``first_seen_at``, the ``cohort_unit``) and reports, at a grid of days ``t`` since first_seen, the mean
cumulative GMV per *acquired* user (buyers and non-buyers alike) over days
``0..t`` (inclusive), with a bootstrap CI over users. A user counts at t only
when ``as_of`` is at least ``t`` days after their first_seen day; ``n`` is the
number of such users and ``complete`` says whether every user of the cohort is
observed that long. A t that no user of the cohort has reached yet keeps its row,
with ``n = 0``, a null value and ``complete`` False: LTV at a horizon the cohort
has not reached is never a number.

Projections (:func:`insights.metrics.ltv_projection.projected_ltv`) live next door.

The data engine does the heavy work: orders are bucketed on the day grid and
summed per user x bucket (only buyers come back, one row per buyer x bucket) and
users are counted per cohort x first_seen day. The bootstrap runs on those small
aggregates (multinomial resampling of the cohort's users, one draw per replicate
shared by the grid points, see ``_bootstrap_ltv``; non-buyers carry 0).
:func:`ltv_matrix` lays the result out as a cohort matrix (one row per cohort,
one column per t).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

import narwhals as nw
import numpy as np
import polars as pl

from insights.data._backend import collect, epoch_day
from insights.data.dataset import Dataset
from insights.metrics._segments import Where, acquired_users
from insights.metrics.activity_days import as_of_day

__all__ = [
    "DEFAULT_GRID",
    "LTV_COLUMNS",
    "cohort_ltv",
    "ltv_matrix",
]

Cohort = Literal["month", "quarter", "year"]
#: Days since first_seen at which cumulative LTV is reported (cut at ``horizon``).
DEFAULT_GRID: tuple[int, ...] = (0, 7, 14, 30, 60, 90, 180, 365)
LTV_COLUMNS = ("segment", "cohort", "t", "value", "ci_low", "ci_high", "n", "complete")


def order_gmv(dataset: Dataset, *, include_refunded: bool = False) -> nw.LazyFrame[Any]:
    """Orders as ``user_id, day, amount`` (lazy); refunded orders dropped unless asked.

    ``day`` is the epoch day of ``ordered_at``. Needs the ``orders`` table.
    """
    orders = dataset.table("orders", needed_for="LTV")
    if not include_refunded and "refunded" in orders.collect_schema().names():
        orders = orders.filter(~nw.col("refunded").fill_null(False))
    return orders.select(
        "user_id",
        epoch_day("ordered_at").alias("day"),
        nw.col("amount").cast(nw.Float64).fill_null(0.0).alias("amount"),
    )


def _cohort_key(cohort: str) -> nw.Expr:
    year = nw.col("first_seen_at").dt.year()
    if cohort == "year":
        return year * 100
    month = nw.col("first_seen_at").dt.month()
    if cohort == "quarter":
        return year * 100 + (month - 1) // 3 + 1
    return year * 100 + month


def _cohort_label(cohort: str) -> pl.Expr:
    y = (pl.col("cohort_key") // 100).cast(pl.String)
    r = pl.col("cohort_key") % 100
    if cohort == "year":
        return y
    if cohort == "quarter":
        return pl.concat_str([y, pl.lit("Q"), r.cast(pl.String)])
    return pl.concat_str([y, pl.lit("-"), r.cast(pl.String).str.zfill(2)])


def _grid(horizon: int, timeline: Sequence[int] | None) -> list[int]:
    points = sorted({int(t) for t in (timeline or DEFAULT_GRID) if 0 <= int(t) <= horizon})
    if not points or points[-1] != horizon:
        points.append(int(horizon))
    return points


def _bucket(age: nw.Expr, grid: Sequence[int]) -> nw.Expr:
    """Index of the first grid point g with age <= g (ages past the last point: null)."""
    out: nw.Expr = nw.when(age <= grid[-1]).then(nw.lit(len(grid) - 1))
    for i in range(len(grid) - 2, -1, -1):
        out = nw.when(age <= grid[i]).then(nw.lit(i)).otherwise(out)
    return out


def cohort_ltv(
    dataset: Dataset,
    *,
    cohort_unit: Cohort = "month",
    horizon: int = 365,
    by: str | None = None,
    where: Where = None,
    include_refunded: bool = False,
    bootstrap: int = 200,
    alpha: float = 0.05,
    seed: int = 0,
    timeline: Sequence[int] | None = None,
) -> pl.DataFrame:
    """Observed cumulative GMV per acquired user by day since first_seen, per cohort.

    Parameters
    ----------
    dataset
        The data (needs ``users`` and ``orders``; ``as_of`` = observation end).
    cohort_unit
        Acquisition cohort: ``"month"`` (label ``2024-01``), ``"quarter"``
        (``2024Q1``) or ``"year"`` (``2024``) of ``first_seen_at``.
    horizon
        Last day reported (default 365).
    by, where
        Segment column of ``users`` (column ``segment``; ``"all"`` when None) and a
        filter on users columns.
    include_refunded
        Count refunded orders in GMV (default False).
    bootstrap
        Bootstrap resamples of users for the CI (0: no CI).
    alpha
        1 - confidence level of the percentile bootstrap CI.
    seed
        Random seed of the bootstrap.
    timeline
        Days t reported (default 0, 7, 14, 30, 60, 90, 180, 365, cut at ``horizon``;
        ``horizon`` is always included). LTV(t) = GMV on days 0..t (inclusive) of
        the users observed at least t days / their number. Orders dated before
        first_seen (clock skew) count on day 0.

    Returns
    -------
    polars.DataFrame
        ``segment, cohort, t, value, ci_low, ci_high, n, complete``, one row per
        segment x cohort x t, sorted: ``value`` = LTV(t) of the ``n`` users observed
        at t. ``complete`` is True when all users of the cohort are observed at t;
        when False the value covers only the earliest-acquired part of the cohort
        (``n`` < cohort size), or nobody yet (``n`` = 0: value and CI null). Show
        incomplete values marked as such, or drop them.

    Examples
    --------
    Two users first seen 2024-01-01: user 1 buys 10 yuan on day 0 and 20 on day
    5, user 2 never buys. LTV(0) = 10 / 2 = 5, LTV(7) = 30 / 2 = 15.

    >>> import datetime as dt, polars as pl
    >>> import insights as ins
    >>> t0 = dt.datetime(2024, 1, 1, 12)
    >>> ds = ins.frames_dataset(
    ...     users=pl.DataFrame({"user_id": [1, 2], "first_seen_at": [t0, t0]}),
    ...     orders=pl.DataFrame({"order_id": [1, 2], "user_id": [1, 1], "amount": [10.0, 20.0],
    ...                          "ordered_at": [t0, t0 + dt.timedelta(days=5)]}),
    ...     as_of="2024-01-20",
    ... )
    >>> ins.cohort_ltv(ds, horizon=14, bootstrap=0).select("cohort", "t", "value", "n").rows()
    [('2024-01', 0, 5.0, 2), ('2024-01', 7, 15.0, 2), ('2024-01', 14, 15.0, 2)]

    With 19 days observed, day 30 is not reached:

    >>> ins.cohort_ltv(ds, horizon=30, timeline=(14,), bootstrap=0).select("t", "value", "n", "complete").rows()
    [(14, 15.0, 2, True), (30, None, 0, False)]
    """
    if cohort_unit not in get_args(Cohort):
        raise ValueError(f"cohort_unit must be one of {get_args(Cohort)}, got {cohort_unit!r}")
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 0:
        raise ValueError(
            f"horizon must be a whole number of days >= 0 (default 365), got {horizon!r}"
        )
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1 (0.05 for 95% intervals), got {alpha!r}")
    if bootstrap < 0:
        raise ValueError(f"bootstrap must be >= 0 resamples (0: no CI), got {bootstrap!r}")
    points = _grid(horizon, timeline)
    end = as_of_day(dataset)
    users = acquired_users(dataset, by=by, where=where).with_columns(
        _cohort_key(cohort_unit).alias("cohort_key")
    )
    sizes = collect(
        users.group_by("segment", "cohort_key", "first_seen_day").agg(nw.len().alias("users"))
    )
    orders = order_gmv(dataset, include_refunded=include_refunded)
    age = nw.max_horizontal(nw.col("day") - nw.col("first_seen_day"), nw.lit(0))
    buyers = collect(
        orders.join(users, on="user_id", how="inner")
        .filter(nw.col("day") <= end)
        .with_columns(_bucket(age, points).alias("bucket"))
        .filter(~nw.col("bucket").is_null())
        .group_by("user_id", "segment", "cohort_key", "first_seen_day", "bucket")
        .agg(nw.col("amount").sum().alias("gmv"))
    )
    out = _ltv_table(sizes, buyers, points, end, bootstrap=bootstrap, alpha=alpha, seed=seed)
    return out.with_columns(_cohort_label(cohort_unit).alias("cohort")).select(*LTV_COLUMNS)


def _bootstrap_ltv(
    wide: np.ndarray,
    buyer_day: np.ndarray,
    days: np.ndarray,
    counts: np.ndarray,
    points: list[int],
    end: int,
    *,
    bootstrap: int,
    alpha: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap CI of LTV at every grid point of one cohort: (low, high) arrays.

    ``wide``: cumulative GMV of each buyer at each grid point (buyers x points),
    ``buyer_day``: their first_seen days; ``days``/``counts``: users per first_seen
    day of the cohort (buyers included).

    One multinomial resample of the cohort's users per replicate, shared by every
    grid point (buyers one by one, non-buyers lumped per first_seen day), and all
    grid points from one matrix product: statistic at t = resampled GMV of the
    users observed at t / resampled number of them. Where every user of the cohort
    is observed at t (``complete``), the denominator is the cohort size and this is
    exactly the multinomial bootstrap of the n users' mean. Where only part is
    observed it is the domain (ratio) bootstrap of the observed users' mean: the
    number of observed users in a replicate varies around n instead of being fixed,
    which leaves the variance (var/n, delta method) and the percentile CI the same
    to first order; tests compare coverage with the per-point bootstrap. Drawing
    once per cohort instead of once per grid point is what makes it fast (1M
    users, 48 monthly cohorts x 8 points: 11 CPU s -> under 2).
    """
    b = wide.shape[0]
    total = int(counts.sum())
    lumps = counts - np.array([(buyer_day == d).sum() for d in days], dtype=np.int64)
    p = np.append(np.full(b, 1.0 / total), lumps / total)
    draws = rng.multinomial(total, np.clip(p, 0.0, 1.0), size=bootstrap).astype(np.float64)
    ts = np.asarray(points)
    seen_buyer = (buyer_day[:, None] + ts[None, :] <= end).astype(np.float64)  # b x k
    seen_day = (days[:, None] + ts[None, :] <= end).astype(np.float64)  # days x k
    gmv = draws[:, :b] @ (wide * seen_buyer)  # replicates x k
    size = draws[:, :b] @ seen_buyer + draws[:, b:] @ seen_day
    low = high = np.full(len(points), np.nan)
    some = (size > 0).any(axis=0)  # grid points with observed users
    if some.any():
        with np.errstate(invalid="ignore", divide="ignore"):
            stats = np.where(size[:, some] > 0, gmv[:, some] / size[:, some], np.nan)
        low, high = low.copy(), high.copy()
        low[some], high[some] = np.nanquantile(stats, [alpha / 2, 1 - alpha / 2], axis=0)
    return low, high


def _ltv_table(
    sizes: pl.DataFrame,
    buyers: pl.DataFrame,
    points: list[int],
    end: int,
    *,
    bootstrap: int,
    alpha: float,
    seed: int,
) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    k = len(points)
    # engines return groups in any order: sort, so the same seed gives the same draws
    buyers = buyers.sort("segment", "cohort_key", "first_seen_day", "user_id", "bucket")
    rows: list[dict[str, Any]] = []
    sizes = sizes.with_columns(pl.col("users").cast(pl.Int64))
    by_cohort = buyers.partition_by("segment", "cohort_key", as_dict=True)
    for (seg, key), part in sizes.sort("segment", "cohort_key", "first_seen_day").group_by(
        ["segment", "cohort_key"], maintain_order=True
    ):
        total = int(part["users"].sum())
        who = by_cohort.get((seg, key), buyers.clear())
        # one row per buyer, cumulative GMV at each grid point
        wide = np.zeros((0, k))
        first_day = np.zeros(0, dtype=np.int64)
        if who.height:
            ids = who.select("user_id", "first_seen_day").unique(maintain_order=True)
            idx = ids.with_row_index("i").join(who, on=["user_id", "first_seen_day"])
            wide = np.zeros((ids.height, k))
            np.add.at(wide, (idx["i"].to_numpy(), idx["bucket"].to_numpy()), idx["gmv"].to_numpy())
            wide = np.cumsum(wide, axis=1)
            first_day = ids["first_seen_day"].to_numpy()
        days = part["first_seen_day"].to_numpy()
        counts = part["users"].to_numpy()
        if bootstrap and first_day.size:
            lows, highs = _bootstrap_ltv(
                wide, first_day, days, counts, points, end,
                bootstrap=bootstrap, alpha=alpha, rng=rng,
            )  # fmt: skip
        for j, t in enumerate(points):
            n = int(counts[days + t <= end].sum())
            seen = first_day + t <= end
            values = wide[seen, j]
            ltv = float(values.sum() / n) if n else None
            low = high = None
            if not n:
                pass  # nobody of the cohort has reached t: no value, no CI
            elif bootstrap and first_day.size:
                low, high = float(lows[j]), float(highs[j])
            elif bootstrap:
                low = high = 0.0
            rows.append(
                {
                    "segment": seg,
                    "cohort_key": int(key),
                    "t": t,
                    "value": ltv,
                    "ci_low": low,
                    "ci_high": high,
                    "n": n,
                    "complete": n == total,
                }  # fmt: skip
            )
    schema = {"segment": pl.String, "cohort_key": pl.Int64, "t": pl.Int64, "value": pl.Float64,
              "ci_low": pl.Float64, "ci_high": pl.Float64, "n": pl.Int64, "complete": pl.Boolean}  # fmt: skip
    return pl.DataFrame(rows, schema=schema).sort("segment", "cohort_key", "t")


def ltv_matrix(data: pl.DataFrame, *, column: str = "value") -> pl.DataFrame:
    """The cohort-matrix layout of :func:`cohort_ltv`: one row per segment x cohort, one column per t.

    Columns ``segment, cohort, n`` (cohort size: the largest ``n``), ``complete_through``
    (the largest t at which every user of the cohort is observed, null when none; from
    ``complete``, null without it) then ``d{t}`` for every t holding ``column``
    (default the LTV ``value``; ``ci_low`` ...). Cells not observable are null; cells
    with t > ``complete_through`` cover only part of the cohort: mark them incomplete.

    Examples
    --------
    >>> import insights as ins
    >>> f = pl.DataFrame({"segment": "all", "cohort": ["2024-01", "2024-01", "2024-02"],
    ...                   "t": [0, 7, 0], "value": [5.0, 15.0, 4.0], "n": [2, 1, 3],
    ...                   "complete": [True, False, True]})
    >>> ins.ltv_matrix(f).rows()
    [('all', '2024-01', 2, 0, 5.0, 15.0), ('all', '2024-02', 3, 0, 4.0, None)]
    """
    missing = {"segment", "cohort", "t", "n", column} - set(data.columns)
    if missing:
        raise ValueError(f"data lacks columns {sorted(missing)}; pass the output of cohort_ltv")
    ts = sorted(data["t"].unique().to_list())
    through = (
        pl.col("t").filter(pl.col("complete")).max()
        if "complete" in data.columns
        else pl.lit(None, dtype=pl.Int64)
    )
    sizes = data.group_by("segment", "cohort").agg(
        pl.col("n").max(), through.cast(pl.Int64).alias("complete_through")
    )
    wide = data.select("segment", "cohort", pl.format("d{}", "t").alias("day"), column).pivot(
        on="day", index=["segment", "cohort"], values=column
    )
    cols = [f"d{t}" for t in ts]
    for c in cols:
        if c not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(c))
    return (
        sizes.join(wide, on=["segment", "cohort"])
        .select("segment", "cohort", "n", "complete_through", *cols)
        .sort("segment", "cohort")
    )
