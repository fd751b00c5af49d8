"""Size and coverage of the survival tests under delayed entry (left truncation).

Each replicate simulates two groups of units in whole days with known truth and
fits the survival counts frame (``segment, entry, duration, event, count``) with the
public functions:

- latent lifetime T ~ exponential, hazard ``BASE_HAZARD`` per day in group ``a`` and
  ``hr`` times it in group ``b``; the day of the event is ceil(T);
- delayed entry: group ``a`` (a new cohort) is followed from the origin (entry 0);
  in group ``b`` (an older cohort seen from the start of the data) 10% of the units
  enter at 0 and the others on a day drawn from 1..60: different entry patterns,
  the case where a wrong risk set biases the comparison; a unit is observed only if it is still alive at entry (ceil(T) > entry,
  left truncation), until ``n`` units per group are observed;
- censoring ``entry + 1 + U{0..60}`` days (administrative).

Two scenarios: ``null`` (hr = 1) gives the size of ``logrank_test`` (plain and
Fleming–Harrington G(1, 0)) and the coverage of each group's RMST(τ) CI from
``survival_curves`` (truth: the integral of the true step curve S(t) = exp(−λ⌊t⌋),
the KM estimand when some units enter at 0); ``hr`` (hr = 1.5) gives the bias and CI
coverage of ``cox_hazard_ratios`` (exact Efron engine).

A last table takes one data set of the Cox scenario with sampling weights 1, 2 or 5
and multiplies every weight by 1, 0.01 and 100: the p-values of the log-rank test and
of the Cox hazard ratio with ``weights_kind="frequency"`` (counts of units) move, those
with ``weights_kind="sampling"`` (robust variances) do not.

The risk set is the counting-process one, a unit at risk at t iff entry < t <=
duration (R ``Surv(entry, duration, event)``): the figures measured on the code
before this rule (at risk from entry <= t) are kept in ``BEFORE`` and printed next
to the current ones.

Usage: ``python benchmarks/coverage_truncation.py [--reps 1000] [--n 400] [--minutes 9]``
Results: ``benchmarks/results/coverage_truncation.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import polars as pl
from _harness import RESULTS, machine, markdown_table, write_results

import insights as ins
from insights.stats.proportions import wilson_interval

BASE_HAZARD = 1 / 40
TAU = 30
HR = 1.5
#: Entry design per group: (share followed from the origin, entry days of the others).
#: Group a is a new cohort followed from its origin; group b an older cohort mostly
#: observed from a later day (e.g. the start of the data), so its units enter late.
ENTRY = {"a": (1.0, np.array([0])), "b": (0.05, np.arange(1, 61))}
#: Measured with this script (``--reps 1000 --n 400 --seed0 0``) on the code before the
#: entry < t rule, when ``at_risk``, Greenwood, RMST SE, log-rank and Cox counted a unit at
#: risk from its entry day (entry <= t).
BEFORE: dict[str, float] = {
    "logrank_size": 0.078,
    "fh_size": 0.065,
    "rmst_coverage_a": 0.953,
    "rmst_coverage_b": 0.894,
    "rmst_bias_b": -0.0073,
    "cox_hr_geomean": 1.3945,
    "cox_coverage": 0.897,
}


def simulate(rng: np.random.Generator, *, n: int, hr: float) -> pl.DataFrame:
    """Survival counts of two groups of ``n`` observed (entered alive) units each."""
    parts = []
    for seg, rate in (("a", BASE_HAZARD), ("b", BASE_HAZARD * hr)):
        at_origin, days = ENTRY[seg]
        got: list[np.ndarray] = []
        have = 0
        while have < n:
            m = 3 * n
            day = np.ceil(rng.exponential(1 / rate, m)).astype(np.int64)
            entry = np.where(rng.random(m) < at_origin, 0, rng.choice(days, m))
            keep = day > entry  # left truncation: seen only if alive at entry
            cens = entry + 1 + rng.integers(0, 61, m)
            block = np.column_stack([entry, np.minimum(day, cens), (day <= cens).astype(np.int64)])
            got.append(block[keep])
            have += int(keep.sum())
        rows = np.concatenate(got)[:n]
        parts.append(
            pl.DataFrame(
                {"segment": seg, "entry": rows[:, 0], "duration": rows[:, 1], "event": rows[:, 2]}
            )
        )
    return (
        pl.concat(parts)
        .group_by("segment", "entry", "duration", "event")
        .agg(pl.len().cast(pl.Float64).alias("count"))
        .sort("segment", "entry", "duration", "event")
    )


def true_rmst(rate: float, tau: int) -> float:
    """∫_0^τ S(t) dt for the day-grouped curve S(t) = exp(−rate ⌊t⌋)."""
    return float(np.exp(-rate * np.arange(tau)).sum())


def one_rep(rng: np.random.Generator, *, n: int) -> dict[str, float]:
    out: dict[str, float] = {}
    null = simulate(rng, n=n, hr=1.0)
    out["p_logrank"] = ins.logrank_test(null).p_value
    out["p_fh"] = ins.logrank_test(null, test="fleming-harrington", rho=1.0).p_value
    curves = ins.survival_curves(null, tau=TAU)
    truth = true_rmst(BASE_HAZARD, TAU)
    for r in curves.summary.iter_rows(named=True):
        out[f"rmst_{r['segment']}"] = r["rmst"]
        out[f"rmst_cover_{r['segment']}"] = float(r["rmst_ci_low"] <= truth <= r["rmst_ci_high"])
    alt = simulate(rng, n=n, hr=HR)
    cox = ins.cox_hazard_ratios(alt).row(0, named=True)
    out["cox_coef"] = cox["coef"]
    out["cox_cover"] = float(cox["ci_low"] <= HR <= cox["ci_high"])
    return out


def summarise(runs: pl.DataFrame) -> dict[str, float]:
    """Size, coverage and bias figures of the replicates."""
    reps = runs.height
    coef = runs["cox_coef"].to_numpy()
    return {
        "reps": reps,
        "logrank_size": float((runs["p_logrank"] < 0.05).mean()),
        "fh_size": float((runs["p_fh"] < 0.05).mean()),
        "rmst_coverage_a": float(runs["rmst_cover_a"].mean()),
        "rmst_coverage_b": float(runs["rmst_cover_b"].mean()),
        "rmst_bias_b": float(runs["rmst_b"].mean() - true_rmst(BASE_HAZARD, TAU)),
        "cox_hr_geomean": float(np.exp(coef.mean())),
        "cox_coef_bias": float(coef.mean() - np.log(HR)),
        "cox_coef_mcse": float(coef.std(ddof=1) / np.sqrt(reps)),
        "cox_coverage": float(runs["cox_cover"].mean()),
    }


def weights_rescaling(seed: int, *, n: int) -> list[tuple[str, str, float, float, float]]:
    """p-values of one truncated data set (hr = 1.5, half the units, sampling weights
    1, 2 or 5 per unit) with every weight multiplied by 1, 0.01 and 100."""
    rng = np.random.default_rng(seed)
    units = (
        simulate(rng, n=n // 2, hr=HR)
        .select(pl.all().repeat_by("count").explode())
        .with_columns(pl.Series("count", rng.choice([1.0, 2.0, 5.0], n)))
    )
    rows = []
    for kind in ("frequency", "sampling"):
        for name, fit in (
            ("log-rank", lambda c, k: ins.logrank_test(c, weights_kind=k).p_value),
            ("Cox HR", lambda c, k: ins.cox_hazard_ratios(c, weights_kind=k)["p_value"][0]),
        ):
            p = [fit(units.with_columns(pl.col("count") * f), kind) for f in (1.0, 0.01, 100.0)]
            rows.append((name, kind, *p))
    return rows


def _wilson(share: float, trials: int) -> str:
    lo, hi = wilson_interval(round(share * trials), trials)
    return f"{lo:.3f}–{hi:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--reps", type=int, default=1000, help="replicates (upper bound)")
    ap.add_argument("--n", type=int, default=400, help="observed units per group")
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=9.0, help="stop starting replicates after it")
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed0)
    rows = []
    start = time.perf_counter()
    for i in range(a.reps):
        if time.perf_counter() - start > a.minutes * 60:
            break
        rows.append(one_rep(rng, n=a.n))
        if (i + 1) % 50 == 0:
            print(f"rep {i + 1:4d}  {time.perf_counter() - start:6.0f} s", flush=True)
    rescaled = weights_rescaling(a.seed0, n=a.n)
    elapsed = time.perf_counter() - start
    runs = pl.DataFrame(rows)
    s = summarise(runs)
    reps = int(s["reps"])
    load = os.getloadavg()
    meta = machine(
        reps=reps,
        reps_requested=a.reps,
        n_per_group=a.n,
        seed0=a.seed0,
        hazard=BASE_HAZARD,
        hr=HR,
        tau=TAU,
        seconds=round(elapsed, 1),
        loadavg_1_5_15=[round(x, 2) for x in load],
    )

    def before(key: str, fmt: str) -> str:
        return format(BEFORE[key], fmt) if key in BEFORE else "–"

    table = [
        ("log-rank size (nominal 0.05)", before("logrank_size", ".3f"),
         f"{s['logrank_size']:.3f}", _wilson(s["logrank_size"], reps)),
        ("Fleming–Harrington G(1,0) size (nominal 0.05)", before("fh_size", ".3f"),
         f"{s['fh_size']:.3f}", _wilson(s["fh_size"], reps)),
        (f"RMST({TAU}) 95% CI coverage, group b (delayed entry)", before("rmst_coverage_b", ".3f"),
         f"{s['rmst_coverage_b']:.3f}", _wilson(s["rmst_coverage_b"], reps)),
        (f"RMST({TAU}) 95% CI coverage, group a (entry 0)", before("rmst_coverage_a", ".3f"),
         f"{s['rmst_coverage_a']:.3f}", _wilson(s["rmst_coverage_a"], reps)),
        (f"RMST({TAU}) mean bias, group b (days)", before("rmst_bias_b", "+.3f"),
         f"{s['rmst_bias_b']:+.3f}", ""),
        (f"Cox HR (geometric mean; truth {HR})", before("cox_hr_geomean", ".3f"),
         f"{s['cox_hr_geomean']:.3f}",
         f"log-HR bias {s['cox_coef_bias']:+.4f} ± {1.96 * s['cox_coef_mcse']:.4f}"),
        ("Cox 95% CI coverage of the true HR", before("cox_coverage", ".3f"),
         f"{s['cox_coverage']:.3f}", _wilson(s["cox_coverage"], reps)),
    ]  # fmt: skip
    lines = [
        "# Survival tests under delayed entry (left truncation): size, coverage, bias",
        "",
        f"{reps} replicates, {a.n} observed units per group (seed {a.seed0}); exponential "
        f"lifetimes in whole days (hazard {BASE_HAZARD:.4g}/day; group b × {HR} in the Cox "
        "scenario), entry day 0 in group a; in group b 0 for 10% of units, else 1–60; left truncation at entry, censoring "
        "1–61 days after entry. Risk set: entry < t <= duration.",
        "",
        *markdown_table(("figure", "before (entry <= t)", "now (entry < t)", "95% CI"), table),
        "",
        f"Rescaling the weights: one data set of the Cox scenario ({a.n} units, each with "
        "a sampling weight 1, 2 or 5), every weight multiplied by the same factor. "
        "Frequency weights (the default, `count` = units; the only kind before) read the "
        'weights as numbers of units, so the p-value moves; `weights_kind="sampling"` '
        "uses robust variances and does not.",
        "",
        *markdown_table(
            ("p-value of", "weights_kind", "× 1", "× 0.01", "× 100"),
            [(n, k, *(f"{p:.3g}" for p in ps)) for n, k, *ps in rescaled],
        ),
        "",
        f"Wall {elapsed:.0f} s; load average (1/5/15 min) at the end "
        f"{load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f} on {meta['machine']} (shared machine). "
        f"{meta['date']}.",
        "",
        f"Command: `python benchmarks/coverage_truncation.py --reps {a.reps} --n {a.n} "
        f"--seed0 {a.seed0} --minutes {a.minutes:g}`",
    ]
    text = "\n".join(lines) + "\n"
    write_results(a.out, "coverage_truncation", text, {"meta": meta, "summary": s, "before": BEFORE,
                                                        "rescaled": rescaled, "runs": rows})  # fmt: skip
    print(text)


if __name__ == "__main__":
    main()
