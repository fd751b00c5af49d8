"""Coverage study of the 95% pointwise CI of S(t) from ``retention_curves``.

R repeated small simulations (seeds ``seed0 .. seed0 + R - 1``, ``--users`` users
each). In each run the simulator records the true D30 of every arm of the
``newcomer_7day_plan`` (2 arms) and ``comment_vs_danmaku_lottery`` (3 arms)
experiments in ``manifest.json`` (``experiments → <name> → true_effect → true_d30``:
the expected D30 of the enrolled users under the arm's churn hazard). We fit
``retention_curves(ds, origin="experiment", by="arm", where={"experiment": name})``
and check whether the log-log 95% CI of S(30) covers that truth. The share of
(run, arm) intervals that cover should be about 95%; it is reported with a
Wilson 95% interval, overall and per experiment arm.

Runs stop early when ``--minutes`` is used up (the report says how many ran).
Results: ``benchmarks/results/coverage_retention.json`` and ``.md``.

Usage: ``python benchmarks/coverage_retention.py [--runs 40] [--users 20000] [--minutes 10]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import polars as pl
from _harness import RESULTS, machine, write_results

from insights.data import load_dataset
from insights.metrics.retention import retention_curves
from insights.simulator import simulate
from insights.stats.proportions import wilson_interval

EXPERIMENTS = ("newcomer_7day_plan", "comment_vs_danmaku_lottery")
DAY = 30


def one_run(seed: int, *, users: int, work: Path, alpha: float = 0.05) -> list[dict]:
    """Simulate one dataset and return one row per experiment arm: estimate, CI, truth."""
    out = work / f"sim-{seed}"
    manifest = simulate(out, users=users, seed=seed)
    ds = load_dataset(out)
    rows = []
    for name in EXPERIMENTS:
        truth = manifest["experiments"][name]["true_effect"]["true_d30"]
        curves = retention_curves(
            ds, origin="experiment", by="arm", where={"experiment": name}, alpha=alpha
        )
        for r in curves.at(DAY).iter_rows(named=True):
            true = truth[r["segment"]]
            rows.append(
                {
                    "seed": seed,
                    "experiment": name,
                    "arm": r["segment"],
                    "n": int(manifest["experiments"][name]["arms"][r["segment"]]),
                    "survival": r["survival"],
                    "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"],
                    "truth": true,
                    "covered": bool(r["ci_low"] <= true <= r["ci_high"]),
                }
            )
    shutil.rmtree(out, ignore_errors=True)
    return rows


def summarise(runs: pl.DataFrame) -> pl.DataFrame:
    """Coverage share with Wilson 95% CI, per experiment arm and overall."""
    per_arm = (
        runs.group_by("experiment", "arm")
        .agg(
            pl.col("covered").sum().alias("covered"),
            pl.len().alias("intervals"),
            pl.col("n").mean().alias("mean_n"),
            (pl.col("survival") - pl.col("truth")).mean().alias("bias"),
            (pl.col("ci_high") - pl.col("ci_low")).mean().alias("mean_width"),
        )
        .sort("experiment", "arm")
    )
    total = pl.DataFrame(
        {
            "experiment": ["all"],
            "arm": ["all"],
            "covered": [int(runs["covered"].sum())],
            "intervals": [runs.height],
            "mean_n": [float(runs["n"].mean())],
            "bias": [float((runs["survival"] - runs["truth"]).mean())],
            "mean_width": [float((runs["ci_high"] - runs["ci_low"]).mean())],
        }
    )
    out = pl.concat([per_arm, total], how="vertical_relaxed")
    cis = [wilson_interval(c, n) for c, n in zip(out["covered"], out["intervals"], strict=True)]
    return out.with_columns(
        (pl.col("covered") / pl.col("intervals")).alias("coverage"),
        pl.Series("cov_ci_low", [c[0] for c in cis]),
        pl.Series("cov_ci_high", [c[1] for c in cis]),
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=40, help="repeated simulations R (upper bound)")
    ap.add_argument("--users", type=int, default=20_000, help="users per simulation")
    ap.add_argument("--seed0", type=int, default=1000, help="first seed")
    ap.add_argument(
        "--minutes", type=float, default=10.0, help="time budget; stop starting runs after it"
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="insights-coverage-"))
    rows: list[dict] = []
    start = time.perf_counter()
    done = 0
    for i in range(a.runs):
        if time.perf_counter() - start > a.minutes * 60:
            break
        rows += one_run(a.seed0 + i, users=a.users, work=work)
        done += 1
        cov = sum(r["covered"] for r in rows) / len(rows)
        print(
            f"run {done:3d} seed {a.seed0 + i}  {time.perf_counter() - start:6.0f} s  coverage so far {cov:.3f}",
            flush=True,
        )
    shutil.rmtree(work, ignore_errors=True)
    elapsed = time.perf_counter() - start
    runs = pl.DataFrame(rows)
    table = summarise(runs)
    load = os.getloadavg()
    meta = machine(
        runs=done,
        runs_requested=a.runs,
        users=a.users,
        seeds=[a.seed0, a.seed0 + done - 1],
        day=DAY,
        alpha=0.05,
        seconds=round(elapsed, 1),
        loadavg_1_5_15=[round(x, 2) for x in load],
    )
    lines = [
        "# Coverage of the 95% pointwise CI of S(30) (retention_curves, log-log Greenwood)",
        "",
        f"{done} simulations of {a.users:,} users (seeds {a.seed0}–{a.seed0 + done - 1}); truth = the "
        "simulator's `true_d30` per experiment arm (`manifest.json`); fit: "
        '`retention_curves(ds, origin="experiment", by="arm", where={"experiment": name}).at(30)`.',
        "Coverage = share of intervals containing the truth (target 0.95), with a Wilson 95% CI.",
        "",
        "| experiment | arm | mean n | intervals | covered | coverage | Wilson 95% CI | mean bias (pp) | mean CI width (pp) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.iter_rows(named=True):
        lines.append(
            f"| {r['experiment']} | {r['arm']} | {r['mean_n']:.0f} | {r['intervals']} | {r['covered']} | "
            f"{r['coverage']:.3f} | {r['cov_ci_low']:.3f}–{r['cov_ci_high']:.3f} | "
            f"{100 * r['bias']:+.2f} | {100 * r['mean_width']:.2f} |"
        )
    total = table.filter(pl.col("experiment") == "all").row(0, named=True)
    inside = total["cov_ci_low"] <= 0.95 <= total["cov_ci_high"]
    lines += [
        "",
        f"Overall: {total['coverage']:.3f} (Wilson 95% CI {total['cov_ci_low']:.3f}–{total['cov_ci_high']:.3f}); "
        f"0.95 {'is' if inside else 'is NOT'} inside that interval.",
        "",
        f"Wall {elapsed:.0f} s; load average (1/5/15 min) at the end {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f} "
        f"on {meta['machine']} (shared machine). {meta['date']}.",
        "",
        f"Command: `python benchmarks/coverage_retention.py --runs {a.runs} --users {a.users} "
        f"--seed0 {a.seed0} --minutes {a.minutes:g}`",
    ]
    text = "\n".join(lines) + "\n"
    record = {"meta": meta, "summary": table.to_dicts(), "runs": rows}
    write_results(a.out, "coverage_retention", text, record)
    print(text)


if __name__ == "__main__":
    main()
