"""CDNOW holdout: our projected LTV next to BG/NBD + Gamma–Gamma (weeks 40–78 GMV).

Reads ``CDNOW_sample.txt`` (or ``--master``) from the installed ``lifetimes`` wheel
(the file only; ``lifetimes`` itself is not imported). Calibration to 1997-09-30,
holdout 1997-10-01 .. 1998-06-30; same-day purchases merged. Prints the fitted
parameters and one table: actual holdout GMV of the cohort, the prediction of each
method and its relative error; the same text goes to ``results/cdnow.md``.

Run: ``.venv/bin/python benchmarks/bench_cdnow.py [--master] [--churn-gap 90]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from _harness import RESULTS, machine, write_results

from insights.data import frames_dataset
from insights.metrics.ltv_projection import projected_ltv
from insights.stats.btyd import expected_purchases, expected_spend, fit_bgnbd, fit_gamma_gamma

CAL_END = dt.date(1997, 9, 30)
HOLD_END = dt.date(1998, 6, 30)


def transactions(master: bool) -> pl.DataFrame:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "install the lifetimes wheel (it ships the CDNOW files): pip install lifetimes"
        )
    root = Path(next(iter(spec.submodule_search_locations))) / "datasets"
    name = "CDNOW_master.txt" if master else "CDNOW_sample.txt"
    lines = (root / name).read_text().splitlines()
    fields = [f for f in (line.split() for line in lines) if f and f[0].isdigit()]  # no header
    tx = pl.DataFrame(
        {
            "id": [int(f[0]) for f in fields],
            "date": [f[-3] for f in fields],
            "amount": [float(f[-1]) for f in fields],
        }  # fmt: skip
    ).with_columns(pl.col("date").str.to_date("%Y%m%d"))
    return tx.group_by("id", "date").agg(pl.col("amount").sum()).sort("id", "date")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--master", action="store_true", help="the full 23,570-customer file")
    ap.add_argument("--churn-gap", type=int, default=90)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    days = transactions(args.master)
    first = days.group_by("id").agg(pl.col("date").min().alias("first"))
    cal = days.filter(pl.col("date") <= CAL_END)
    actual = days.filter(pl.col("date") > CAL_END, pl.col("date") <= HOLD_END)["amount"].sum()

    t0 = time.perf_counter()
    summary = (
        cal.join(first, on="id")
        .group_by("id")
        .agg(
            (pl.len() - 1).alias("x"),
            ((pl.col("date").max() - pl.col("first").first()).dt.total_days() / 7).alias("t_x"),
            ((pl.lit(CAL_END) - pl.col("first").first()).dt.total_days() / 7).alias("T"),
            pl.col("amount").slice(1).mean().fill_null(0.0).alias("m"),
        )
    )
    x, t_x, T, m = (summary[c].to_numpy() for c in ("x", "t_x", "T", "m"))  # noqa: N806
    bg = fit_bgnbd(x, t_x, T)
    gg = fit_gamma_gamma(x, m)
    weeks = (HOLD_END - CAL_END).days / 7
    btyd = float((expected_purchases(bg, weeks, x, t_x, T) * expected_spend(gg, x, m)).sum())
    t_btyd = time.perf_counter() - t0

    t0 = time.perf_counter()
    to_dt = pl.col("date").cast(pl.Datetime("us")) + pl.duration(hours=12)
    users = first.select(
        pl.col("id").alias("user_id"),
        (pl.col("first").cast(pl.Datetime("us")) + pl.duration(hours=12)).alias("first_seen_at"),
    )
    orders = cal.with_row_index("order_id").select(
        "order_id", pl.col("id").alias("user_id"), to_dt.alias("ordered_at"), "amount"
    )
    ds = frames_dataset(users=users, orders=orders, as_of=CAL_END)
    horizon = (HOLD_END - dt.date(1997, 1, 1)).days + 1
    curve = projected_ltv(ds, horizon=horizon, churn_gap=args.churn_gap, curve=True)
    info = projected_ltv(ds, horizon=horizon, churn_gap=args.churn_gap).row(0, named=True)
    cum = np.append(0.0, curve["value"].to_numpy())  # cum[k] = LTV over days 0..k-1
    # holdout of a user = days age_cal+1 .. age_end since their first purchase
    ages = np.array([(CAL_END - d).days for d in first["first"].to_list()])
    ages_end = np.array([(HOLD_END - d).days for d in first["first"].to_list()])
    ours = float((cum[np.minimum(ages_end + 1, horizon)] - cum[ages + 1]).sum())
    t_ours = time.perf_counter() - t0

    which = "master" if args.master else "sample"
    lines = [
        f"CDNOW {which}: {summary.height} customers, {int(x.sum())} repeat purchases in calibration",
        f"BG/NBD r={bg.r:.3f} alpha={bg.alpha:.3f} a={bg.a:.3f} b={bg.b:.3f} LL={bg.log_likelihood:.1f}",
        f"Gamma-Gamma p={gg.p:.2f} q={gg.q:.2f} gamma={gg.gamma:.2f} LL={gg.log_likelihood:.2f}",
        f"projected_ltv: churn_gap={args.churn_gap}, model={info['model']}, t_km={info['t_km']}",
        "",
        f"{'method':<28}{'holdout GMV':>14}{'error':>9}{'seconds':>9}",
        f"{'actual (weeks 40-78)':<28}{actual:>14,.0f}{'':>9}{'':>9}",
    ]
    rows = (("BG/NBD + Gamma-Gamma", btyd, t_btyd), ("projected_ltv (KM+param.)", ours, t_ours))
    for name, value, secs in rows:
        lines.append(f"{name:<28}{value:>14,.0f}{value / actual - 1:>+9.1%}{secs:>9.2f}")
    text = "\n".join(lines)
    print(text)
    meta = machine(command=" ".join(["python benchmarks/bench_cdnow.py", *sys.argv[1:]]))
    write_results(args.out, "cdnow", f"# CDNOW holdout\n\n```\n{text}\n```\n\n{meta}\n")


if __name__ == "__main__":
    main()
