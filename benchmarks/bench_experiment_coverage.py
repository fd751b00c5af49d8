"""Empirical coverage of the experiment-effect CIs over repeated simulations.

Simulates ``--runs`` datasets (``--users`` users each, seeds ``--seed0`` ...), runs
``experiment_effects`` on each experiment's primary outcome and counts how often the
``1 - alpha`` CI covers the simulator's true effect (``manifest.json``). Primary
estimands (each the true difference treatment − control, measured from assignment):

- ``newcomer_7day_plan``: D30 retention (KM S(30)) vs ``true_d30``; also the Cox hazard
  ratio over days 0-30 vs ``hazard_ratio_days_0_30`` (0.8).
- ``comment_vs_danmaku_lottery``: D30 retention of each lottery arm vs ``true_d30``.
- ``return_benefit_pack``: any order (refunds included, as the simulator counts them)
  within 90 days vs ``repurchase_90d``.
- ``private_domain_invite``: community join within 30 days vs ``join_30d``.

Usage: ``python benchmarks/bench_experiment_coverage.py [--runs 40] [--users 20000]``
(about 5 s per run on one core). Results go to ``benchmarks/results/experiment_coverage.json``
and ``.md``.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

from _harness import RESULTS, machine, write_results

from insights.data import load_dataset
from insights.metrics.experiments import experiment_effects
from insights.simulator import simulate

PRIMARY = {
    "newcomer_7day_plan": ("retention_d30", "true_d30"),
    "comment_vs_danmaku_lottery": ("retention_d30", "true_d30"),
    "return_benefit_pack": ("order_90d", "repurchase_90d"),
    "private_domain_invite": ("join_30d", "join_30d"),
}


def one_run(seed: int, users: int, alpha: float) -> list[dict]:
    """Covered or not, per experiment x arm (plus the newcomer hazard ratio), for one seed."""
    with tempfile.TemporaryDirectory() as tmp:
        manifest = simulate(Path(tmp) / "sim", users=users, seed=seed)
        ds = load_dataset(Path(tmp) / "sim")
        out = []
        for name, (outcome, key) in PRIMARY.items():
            truth = manifest["experiments"][name]["true_effect"][key]
            res = experiment_effects(
                ds, experiment=name, outcomes=[outcome], alpha=alpha, include_refunded=True,
                survival=name == "newcomer_7day_plan",
            )  # fmt: skip
            for row in res.summary.iter_rows(named=True):
                true = truth[row["arm"]] - truth[row["control"]]
                ok = row["ci_low"] is not None and row["ci_low"] <= true <= row["ci_high"]
                out.append(
                    {
                        "seed": seed,
                        "estimand": f"{name}:{row['arm']}:{outcome}",
                        "covered": ok,
                        "estimate": row["difference"],
                        "truth": true,
                    }
                )
            if name == "newcomer_7day_plan" and res.survival is not None:
                hr = res.survival.row(0, named=True)
                true_hr = manifest["experiments"][name]["true_effect"]["hazard_ratio_days_0_30"][
                    hr["arm"]
                ]
                out.append(
                    {
                        "seed": seed,
                        "estimand": f"{name}:{hr['arm']}:hazard_ratio_0_30",
                        "covered": hr["hr_ci_low"] <= true_hr <= hr["hr_ci_high"],
                        "estimate": hr["hazard_ratio"],
                        "truth": true_hr,
                    }
                )
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--runs", type=int, default=40, help="number of simulated datasets (default 40)"
    )
    ap.add_argument("--users", type=int, default=20_000, help="users per dataset (default 20000)")
    ap.add_argument("--seed0", type=int, default=1000, help="first seed (default 1000)")
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    start = time.perf_counter()
    rows: list[dict] = []
    for i in range(args.runs):
        rows += one_run(args.seed0 + i, args.users, args.alpha)
    seconds = time.perf_counter() - start
    table = {}
    for est in dict.fromkeys(r["estimand"] for r in rows):
        sel = [r for r in rows if r["estimand"] == est]
        cov = sum(r["covered"] for r in sel) / len(sel)
        bias = sum(r["estimate"] - r["truth"] for r in sel) / len(sel)
        table[est] = {
            "runs": len(sel),
            "coverage": cov,
            "mc_se": math.sqrt(cov * (1 - cov) / len(sel)),
            "mean_bias": bias,
        }
    pooled = sum(r["covered"] for r in rows) / len(rows)
    result = {
        "runs": args.runs,
        "users": args.users,
        "alpha": args.alpha,
        "seconds": round(seconds, 1),
        "pooled_coverage": pooled,
        "pooled_n": len(rows),
        "estimands": table,
        "meta": machine(),
    }
    lines = [
        f"# Experiment CI coverage ({args.runs} runs x {args.users} users, {1 - args.alpha:.0%} CIs, "
        f"{seconds:.0f} s)",
        "",
        "| estimand | runs | coverage | MC s.e. | mean bias |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {k} | {v['runs']} | {v['coverage']:.3f} | {v['mc_se']:.3f} | {v['mean_bias']:+.4f} |"
        for k, v in table.items()
    ]
    lines += ["", f"Pooled coverage: {pooled:.3f} over {len(rows)} intervals."]
    lines += ["", f"{result['meta']['machine']}; {result['meta']['date']}"]
    write_results(args.out, "experiment_coverage", "\n".join(lines) + "\n", result)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
