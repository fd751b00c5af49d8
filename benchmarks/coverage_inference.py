"""Size of ``did_effect`` on a serially correlated panel; coverage of ``repurchase_cycle`` CIs.

Two studies with known truth (issue 15, point 5):

1. **DiD size.** Panels of units x periods, half the units treated from the middle
   period, no effect; y = unit effect + common trend + AR(1) error (rho = 0.8). Share of
   runs with p < 0.05 for ``did_effect(..., method="hc1")`` (the old default) and
   ``method="cluster"`` (the new default, CR1 by the panel's ``user_id``). Target 0.05.
2. **Repurchase-cycle coverage.** Buyers with heterogeneous order rates (gamma
   across buyers, exponential gaps rounded up to whole days) ordering over a
   fixed window, several gaps each. The truth is the limit of the pooled Kaplan–Meier
   median of the gaps, from one very large draw of the same world. Share of
   ``repurchase_cycle`` CIs containing it, for ``bootstrap=0`` (Greenwood: gaps
   independent, the old CI) and the default (cluster bootstrap over buyers). Target 0.95.
   CIs of a median of whole days are conservative when they are a few days wide (the
   truth sits on the grid), so the table also compares standard errors without that
   effect: the spread of Ŝ(truth) across runs against the mean Greenwood and bootstrap SE.

Usage: ``python benchmarks/coverage_inference.py [--did-runs 1000] [--cycle-runs 300] [--minutes 10]``
Results: ``benchmarks/results/coverage_inference.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

import numpy as np
import polars as pl
from _harness import RESULTS, machine, markdown_table, write_results

from insights.data.dataset import frames_dataset
from insights.metrics.purchase import _bootstrap_survival_variance, repurchase_cycle
from insights.stats.did import did_effect
from insights.stats.proportions import wilson_interval

RHO = 0.8
#: (units, periods) of the DiD panels
PANELS = ((100, 10), (50, 20))
#: buyers per simulated world of the repurchase-cycle study
BUYERS = (300, 1000)
WINDOW = 240  # days of orders
MEAN_GAP = 60.0  # days, mean over buyers of the mean gap (a median gap near the demo's ~30 days)
SHAPE = 1.0  # gamma shape of the buyers' order rates (1: exponential, strong heterogeneity)
T0 = dt.datetime(2024, 1, 1)


def ar1_panel(rng: np.random.Generator, units: int, periods: int) -> pl.DataFrame:
    """One null panel: unit effects, a common trend and AR(1) errors (stationary start)."""
    e = np.empty((units, periods))
    e[:, 0] = rng.normal(0, 1 / np.sqrt(1 - RHO**2), units)
    for t in range(1, periods):
        e[:, t] = RHO * e[:, t - 1] + rng.normal(0, 1, units)
    y = rng.normal(0, 1, units)[:, None] + 0.1 * np.arange(periods) + e
    return pl.DataFrame(
        {
            "user_id": np.repeat(np.arange(units), periods),
            "period": np.tile(np.arange(periods), units),
            "treated": np.repeat(np.arange(units) < units // 2, periods),
            "y": y.ravel(),
        }
    )


def did_size(runs: int, seed: int, deadline: float) -> tuple[list[dict], int]:
    rows, done = [], 0
    for units, periods in PANELS:
        rng = np.random.default_rng([seed, units, periods])
        post = list(range(periods // 2, periods))
        reject = {"hc1": 0, "cluster": 0}
        k = 0
        for k in range(1, runs + 1):  # noqa: B007 (k is the number run)
            panel = ar1_panel(rng, units, periods)
            for se in reject:
                res = did_effect(panel, outcome="y", treated="treated", time="period",
                                 post=post, method=se)  # type: ignore[arg-type]  # fmt: skip
                reject[se] += res.p_value < 0.05
            if time.perf_counter() > deadline:
                break
        done += k
        for se, r in reject.items():
            low, high = wilson_interval(r, k)
            rows.append({"units": units, "periods": periods, "se": se, "runs": k,
                         "rejections": r, "size": r / k, "size_ci_low": low,
                         "size_ci_high": high})  # fmt: skip
    return rows, done


def buyer_orders(rng: np.random.Generator, buyers: int) -> tuple[np.ndarray, np.ndarray]:
    """Order days (user, day) over [0, WINDOW): first order uniform, then gamma-mixed gaps."""
    rate = rng.gamma(SHAPE, 1 / (SHAPE * MEAN_GAP), buyers)
    first = rng.uniform(0, WINDOW * 0.5, buyers)
    k = 40
    gaps = np.ceil(rng.exponential(1.0, (buyers, k)) / rate[:, None])
    days = np.floor(first)[:, None] + np.concatenate([np.zeros((buyers, 1)), np.cumsum(gaps, 1)], 1)
    keep = days < WINDOW
    users = np.broadcast_to(np.arange(buyers)[:, None], days.shape)[keep]
    return users, days[keep].astype(np.int64)


def gap_table(users: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per gap: user, duration, event (the last gap of a buyer censored at WINDOW)."""
    order = np.lexsort((days, users))
    u, d = users[order], days[order]
    last = np.r_[u[1:] != u[:-1], True]
    nxt = np.r_[d[1:], 0]
    return u, np.where(last, WINDOW - d, nxt - d), (~last).astype(np.int64)


def km_survival(duration: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier S and Greenwood variance on days 0 .. max, by numpy."""
    horizon = int(duration.max()) + 1
    exits = np.bincount(duration, minlength=horizon).astype(float)
    events = np.bincount(duration[event == 1], minlength=horizon).astype(float)
    at_risk = np.cumsum(exits[::-1])[::-1]
    ok = at_risk > events
    surv = np.cumprod(1 - np.where(at_risk > 0, events / np.maximum(at_risk, 1), 0))
    green = np.cumsum(np.where(ok, events / np.maximum(at_risk * (at_risk - events), 1), 0))
    return surv, surv**2 * green


def km_median_of_gaps(users: np.ndarray, days: np.ndarray) -> float:
    """Pooled Kaplan–Meier median of the gaps (last gap censored at WINDOW)."""
    _, duration, event = gap_table(users, days)
    surv, _ = km_survival(duration, event)
    return float(np.flatnonzero(surv <= 0.5 + 1e-12)[0])


def cycle_dataset(users: np.ndarray, days: np.ndarray):  # type: ignore[no-untyped-def]
    ids = np.unique(users)
    orders = pl.DataFrame({"order_id": np.arange(users.size), "user_id": users, "day": days})
    orders = orders.select(
        "order_id",
        "user_id",
        pl.lit(1.0).alias("amount"),
        (pl.lit(T0) + pl.duration(days=pl.col("day"), hours=12)).alias("ordered_at"),
    )
    return frames_dataset(
        users=pl.DataFrame({"user_id": ids, "first_seen_at": [T0] * ids.size}),
        orders=orders,
        as_of=(T0 + dt.timedelta(days=WINDOW)).date().isoformat(),
    )


def cycle_coverage(
    runs: int, seed: int, deadline: float, truth_buyers: int
) -> tuple[list[dict], dict]:
    big_u, big_d = buyer_orders(np.random.default_rng([seed, 0]), truth_buyers)
    truth = km_median_of_gaps(big_u, big_d)
    gaps_per_buyer = (big_u.size - np.unique(big_u).size) / np.unique(big_u).size
    rows = []
    for buyers in BUYERS:
        rng = np.random.default_rng([seed, buyers])
        hits = {"greenwood": 0, "bootstrap": 0}
        width = {"greenwood": 0.0, "bootstrap": 0.0}
        at = int(truth)
        s_hat, se = [], {"greenwood": [], "bootstrap": []}
        k = 0
        for k in range(1, runs + 1):  # noqa: B007
            users, days = buyer_orders(rng, buyers)
            u, duration, event = gap_table(users, days)
            surv, green = km_survival(duration, event)
            s_hat.append(surv[at])
            se["greenwood"].append(np.sqrt(green[at]))
            boot = _bootstrap_survival_variance(u, duration, event, np.ones_like(u),
                                                np.array([at]), bootstrap=200,
                                                rng=np.random.default_rng([seed, buyers, k]))  # fmt: skip
            se["bootstrap"].append(float(np.sqrt(boot[0])))
            ds = cycle_dataset(users, days)
            for name, b in (("greenwood", 0), ("bootstrap", 200)):
                r = repurchase_cycle(ds, bootstrap=b, seed=k).row(0, named=True)
                lo = r["ci_low"] if r["ci_low"] is not None else -np.inf
                hi = r["ci_high"] if r["ci_high"] is not None else np.inf
                hits[name] += lo <= truth <= hi
                width[name] += hi - lo
            if time.perf_counter() > deadline:
                break
        for name in hits:
            low, high = wilson_interval(hits[name], k)
            rows.append({"buyers": buyers, "ci": name, "runs": k, "covered": hits[name],
                         "coverage": hits[name] / k, "coverage_ci_low": low,
                         "coverage_ci_high": high, "mean_width_days": width[name] / k,
                         "sd_of_s_at_truth": float(np.std(s_hat, ddof=1)),
                         "mean_se_of_s": float(np.mean(se[name]))})  # fmt: skip
    return rows, {"truth_median_days": truth, "truth_buyers": truth_buyers,
                  "gaps_per_buyer": round(gaps_per_buyer, 2)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--did-runs", type=int, default=600, help="null panels per design")
    ap.add_argument("--cycle-runs", type=int, default=300, help="simulated worlds per size")
    ap.add_argument("--truth-buyers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--minutes", type=float, default=10.0, help="time budget (split in two)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args()
    start = time.perf_counter()
    did_rows, _ = did_size(a.did_runs, a.seed, start + a.minutes * 60 * 0.4)
    print(pl.DataFrame(did_rows), flush=True)
    cyc_rows, truth = cycle_coverage(a.cycle_runs, a.seed, start + a.minutes * 60, a.truth_buyers)
    print(pl.DataFrame(cyc_rows), truth, flush=True)
    elapsed = time.perf_counter() - start
    load = os.getloadavg()
    meta = machine(rho=RHO, seed=a.seed, seconds=round(elapsed, 1), **truth,
                   loadavg_1_5_15=[round(x, 2) for x in load])  # fmt: skip
    lines = [
        "# Honest defaults: DiD size on an AR(1) panel and repurchase-cycle CI coverage",
        "",
        f"## 1. `did_effect` size under no effect (AR(1) errors, rho = {RHO})",
        "",
        "Half the units treated from the middle period; y = unit effect + trend + AR(1) error. "
        "Size = share of runs with p < 0.05 (target 0.05), Wilson 95% CI. `hc1` is the old "
        "default, `cluster` (CR1 by the panel's `user_id`) the new one.",
        "",
        *markdown_table(
            ["units", "periods", "SE", "runs", "size", "Wilson 95% CI"],
            [
                [
                    r["units"],
                    r["periods"],
                    r["se"],
                    r["runs"],
                    f"{r['size']:.3f}",
                    f"{r['size_ci_low']:.3f}–{r['size_ci_high']:.3f}",
                ]
                for r in did_rows
            ],  # fmt: skip
        ),
        "",
        "## 2. `repurchase_cycle` 95% CI coverage",
        "",
        f"Buyers order over {WINDOW} days from a uniform first order in the first half; order "
        f"rates gamma (shape {SHAPE}, mean gap {MEAN_GAP:g} days) across buyers, exponential gaps "
        f"rounded up to days; {truth['gaps_per_buyer']} observed gaps per buyer on average. Truth = "
        f"pooled KM median of {a.truth_buyers:,} buyers: {truth['truth_median_days']:g} days. "
        "`greenwood` = `bootstrap=0` (gaps independent, the old CI); `bootstrap` = the default "
        "(200 resamples of buyers).",
        "",
        *markdown_table(
            [
                "buyers",
                "CI",
                "runs",
                "coverage",
                "Wilson 95% CI",
                "mean width (days)",
                "SD of Ŝ(truth) over runs",
                "mean SE of Ŝ(truth)",
                "SE / SD",
            ],  # fmt: skip
            [
                [
                    r["buyers"],
                    r["ci"],
                    r["runs"],
                    f"{r['coverage']:.3f}",
                    f"{r['coverage_ci_low']:.3f}–{r['coverage_ci_high']:.3f}",
                    f"{r['mean_width_days']:.1f}",
                    f"{r['sd_of_s_at_truth']:.4f}",
                    f"{r['mean_se_of_s']:.4f}",
                    f"{r['mean_se_of_s'] / r['sd_of_s_at_truth']:.2f}",
                ]
                for r in cyc_rows
            ],  # fmt: skip
        ),
        "",
        f"Wall {elapsed:.0f} s; load average (1/5/15 min) at the end {load[0]:.2f}/{load[1]:.2f}/"
        f"{load[2]:.2f} on {meta['machine']} (shared machine). {meta['date']}.",
        "",
        f"Command: `python benchmarks/coverage_inference.py --did-runs {a.did_runs} --cycle-runs "
        f"{a.cycle_runs} --truth-buyers {a.truth_buyers} --seed {a.seed} --minutes {a.minutes:g}`",
    ]
    record = {"meta": meta, "did_size": did_rows, "cycle_coverage": cyc_rows}
    write_results(a.out, "coverage_inference", "\n".join(lines) + "\n", record)


if __name__ == "__main__":
    main()
