"""repurchase_cycle's CI: a bootstrap over buyers, checked against Greenwood and by coverage."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from insights.data.dataset import frames_dataset
from insights.metrics.purchase import _bootstrap_survival_variance, repurchase_cycle
from insights.stats.km import kaplan_meier, median_survival

T0 = dt.datetime(2024, 1, 1)


def _orders(rng: np.random.Generator, buyers: int, window: int = 120):
    """Buyers with gamma-distributed order rates (mean gap 30 days) over `window` days."""
    rate = rng.gamma(1.0, 1 / 30, buyers)
    first = np.floor(rng.uniform(0, window / 2, buyers))
    gaps = np.ceil(rng.exponential(1.0, (buyers, 30)) / rate[:, None])
    days = first[:, None] + np.concatenate([np.zeros((buyers, 1)), np.cumsum(gaps, 1)], 1)
    keep = days < window
    users = np.broadcast_to(np.arange(buyers)[:, None], days.shape)[keep]
    return users, days[keep].astype(np.int64)


def _gaps(users: np.ndarray, days: np.ndarray, window: int = 120) -> pl.DataFrame:
    """One row per gap: user, duration, event (the last gap censored at `window`)."""
    f = pl.DataFrame({"user_id": users, "day": days}).sort("user_id", "day")
    nxt = pl.col("day").shift(-1).over("user_id")
    return f.select(
        pl.lit("all").alias("segment"),
        "user_id",
        (nxt.fill_null(window) - pl.col("day")).alias("duration"),
        nxt.is_not_null().cast(pl.Int64).alias("event"),
        pl.lit(1, dtype=pl.Int64).alias("count"),
    )


def _greenwood_variance(duration: np.ndarray, event: np.ndarray, t: np.ndarray) -> np.ndarray:
    """S(t)^2 sum_{t_j <= t} d_j / (n_j (n_j - d_j)), written out (Greenwood 1926)."""
    times = np.unique(duration)
    d = np.array([((duration == x) & (event == 1)).sum() for x in times], dtype=float)
    n = np.array([(duration >= x).sum() for x in times], dtype=float)
    s = np.cumprod(1 - d / n)
    g = np.cumsum(np.where(n > d, d / (n * (n - d)), 0.0))
    idx = np.searchsorted(times, t, side="right") - 1
    return np.where(idx >= 0, s[np.maximum(idx, 0)] ** 2 * g[np.maximum(idx, 0)], 0.0)


def test_one_gap_per_buyer_bootstrap_variance_matches_greenwood() -> None:
    rng = np.random.default_rng(1)
    duration = rng.integers(1, 60, 400)
    event = (rng.uniform(size=400) < 0.8).astype(np.int64)
    t = np.array([10, 20, 30, 40])
    boot = _bootstrap_survival_variance(np.arange(400), duration, event, np.ones(400, np.int64),
                                        t, bootstrap=4000, rng=np.random.default_rng(2))  # fmt: skip
    assert boot == pytest.approx(_greenwood_variance(duration, event, t), rel=0.08)


def test_repeated_gaps_of_one_buyer_do_not_narrow_the_interval() -> None:
    """Counting every buyer's gaps three times narrows Greenwood, not the buyer bootstrap."""
    users, days = _orders(np.random.default_rng(3), 200)
    gaps = _gaps(users, days)
    t = np.arange(0, 80)
    args = (gaps["user_id"].to_numpy(), gaps["duration"].to_numpy(), gaps["event"].to_numpy())
    once = _bootstrap_survival_variance(*args, np.ones(gaps.height, np.int64), t, bootstrap=300,
                                        rng=np.random.default_rng(4))  # fmt: skip
    thrice = _bootstrap_survival_variance(*args, np.full(gaps.height, 3), t, bootstrap=300,
                                          rng=np.random.default_rng(4))  # fmt: skip
    assert thrice == pytest.approx(once, rel=1e-9, abs=1e-15)
    g1 = _greenwood_variance(gaps["duration"].to_numpy(), gaps["event"].to_numpy(), t)
    # several gaps per buyer, rates differing between buyers: Greenwood is too small
    mid = slice(5, 40)
    assert (once[mid] / g1[mid]).mean() > 1.3


def test_public_ci_is_wider_reproducible_and_buyers_counted() -> None:
    users, days = _orders(np.random.default_rng(5), 300)
    orders = pl.DataFrame({"order_id": np.arange(users.size), "user_id": users, "day": days})
    ds = frames_dataset(
        users=pl.DataFrame({"user_id": np.unique(users), "first_seen_at": T0}),
        orders=orders.select("order_id", "user_id", pl.lit(1.0).alias("amount"),
                             (pl.lit(T0) + pl.duration(days=pl.col("day"))).alias("ordered_at")),
        as_of="2024-04-30",
    )  # fmt: skip
    old = repurchase_cycle(ds, bootstrap=0).row(0, named=True)
    new = repurchase_cycle(ds).row(0, named=True)
    assert new == repurchase_cycle(ds, seed=0).row(0, named=True)
    assert new["value"] == old["value"] and new["buyers"] == 300
    assert new["ci_high"] - new["ci_low"] > old["ci_high"] - old["ci_low"]
    with pytest.raises(ValueError, match="bootstrap"):
        repurchase_cycle(ds, bootstrap=-1)


def test_coverage_over_simulated_buyers() -> None:
    """The buyer bootstrap covers the true median about 95% of the time; Greenwood less."""
    big_u, big_d = _orders(np.random.default_rng(99), 400_000)
    truth = median_survival(_gaps(big_u, big_d))["median"][0]
    assert truth == 16.0  # the pooled KM median of the gaps in this world
    hits = {0: 0, 200: 0}
    runs = 120
    rng = np.random.default_rng(7)
    for k in range(runs):
        gaps = _gaps(*_orders(rng, 300))
        counts = gaps.group_by("segment", "duration", "event").agg(pl.col("count").sum())
        km = kaplan_meier(counts)
        for b in hits:
            band = km
            if b:
                from insights.metrics.purchase import _buyer_bootstrap_band

                band = _buyer_bootstrap_band(gaps, km, bootstrap=b, alpha=0.05, seed=k)
            row = median_survival(band).row(0, named=True)
            hits[b] += row["ci_low"] <= truth <= (row["ci_high"] or np.inf)
    assert 0.89 <= hits[200] / runs <= 0.99
    assert hits[0] / runs < hits[200] / runs - 0.04
