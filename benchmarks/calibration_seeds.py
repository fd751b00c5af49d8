"""Does calibration hold for any seed? Every target's spread over repeated 200k simulations.

For each seed, ``insights simulate --out WORK/s<seed> --users N --seed <seed>`` and
``insights calibrate WORK/s<seed> --json`` run as child processes (``nice -n 10``, results
cache and progress bars off); the simulated directory is deleted after calibrating. Per
target the table gives the band (target ± tolerance, as ``insights calibrate`` checks it,
without ``--widen``), the mean, sd, min and max of the value across seeds, how many seeds
pass, the mean sampling SE of one run (half-width of its 95% CI / 1.96) and the margin
``(tolerance - |mean - target|) / sd``: how many seed-to-seed sds the mean sits inside its
band. A target is flagged when a seed fails or the margin is below 2; ``best pass`` is
the share of seeds that would pass if the mean sat exactly on the target with the same
sd (``2 Φ(tol / sd) - 1``): below ~0.95 the band is narrower than the target's own
sampling spread at this size.

Each run is stored under a label (``--label``, e.g. ``before`` / ``after`` a simulator
change); the Markdown shows every label recorded in the JSON, so one file keeps both.

Usage: ``python benchmarks/calibration_seeds.py [--seeds 7 42 ...] [--users 200000]
[--label current] [--scenario FILE] [--only I06 ...] [--note TEXT]``; ``--render`` rewrites
the Markdown from the JSON without running (e.g. to set a label's ``--note``). The default
(10 seeds x 200k users) takes about 4 minutes on an idle 2-core machine, 13 under load.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _harness import RESULTS, machine, markdown_table, write_results

#: CI's seed (data/ci), the demo's (data/demo), the issue's failing seed, then seven more.
DEFAULT_SEEDS = (7, 42, 9291, 1001, 1002, 1003, 1004, 1005, 1006, 1007)
NAME = "calibration_seeds"
ENV = {"INSIGHTS_CACHE_DIR": "off", "INSIGHTS_PROGRESS": "off"}
#: margin (in seed-to-seed sds) under which a target is flagged although every seed passed
MIN_MARGIN = 2.0


def insights_cli() -> str:
    """The ``insights`` entry point next to this interpreter (the project's venv)."""
    here = Path(sys.executable).parent / "insights"
    return str(here) if here.exists() else "insights"


def one_seed(seed: int, *, users: int, work: Path, scenario: Path | None) -> dict[str, Any]:
    """Simulate and calibrate one seed; return its calibration records and timings."""
    out = work / f"s{seed}"
    env = {**os.environ, **ENV}
    cmd = ["nice", "-n", "10", insights_cli()]
    sim = [*cmd, "simulate", "--out", str(out), "--users", str(users), "--seed", str(seed)]
    if scenario is not None:
        sim += ["--scenario", str(scenario)]
    t0 = time.perf_counter()
    subprocess.run(sim, env=env, check=True, capture_output=True, text=True)
    t1 = time.perf_counter()
    cal = subprocess.run(
        [*cmd, "calibrate", str(out), "--json"], env=env, capture_output=True, text=True
    )
    t2 = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    if cal.returncode not in (0, 1):  # 1 = some target failed: still a result
        raise RuntimeError(f"calibrate failed for seed {seed}:\n{cal.stderr[-2000:]}")
    return {
        "seed": seed,
        "simulate_seconds": round(t1 - t0, 1),
        "calibrate_seconds": round(t2 - t1, 1),
        "records": json.loads(cal.stdout),
    }


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per target: band, mean/sd/min/max across seeds, passes, margin in sd units."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        for rec in run["records"]:
            by_id.setdefault(rec["id"], []).append(rec)
    rows = []
    for tid, recs in by_id.items():
        first = recs[0]
        target, tol = float(first["target"]), float(first["tolerance"])
        values = [r["value"] for r in recs if r["value"] is not None]
        ses = [
            (r["ci_high"] - r["ci_low"]) / (2 * 1.959964)
            for r in recs
            if r["ci_low"] is not None and r["ci_high"] is not None
        ]
        mean = statistics.fmean(values) if values else math.nan
        sd = statistics.stdev(values) if len(values) > 1 else math.nan
        margin = (tol - abs(mean - target)) / sd if sd and sd > 0 else math.inf
        passes = sum(bool(r["passed"]) for r in recs)
        rows.append(
            {
                "id": tid,
                "metric": first["metric"],
                "segment": first["segment"],
                "period": first["period"],
                "target": target,
                "tolerance": tol,
                "low": target - tol,
                "high": target + tol,
                "seeds": len(recs),
                "mean": mean,
                "sd": sd,
                "min": min(values) if values else math.nan,
                "max": max(values) if values else math.nan,
                "passes": passes,
                "sampling_se": statistics.fmean(ses) if ses else None,
                "margin_sd": margin,
                "best_pass": 2 * _phi(tol / sd) - 1 if sd and sd > 0 else 1.0,
                "flagged": passes < len(recs) or not margin >= MIN_MARGIN,
            }
        )
    # JSON has no NaN or infinity: an undefined figure is null
    return [{k: _finite(v) for k, v in row.items()} for row in rows]


def _finite(x: Any) -> Any:
    return None if isinstance(x, float) and not math.isfinite(x) else x


def _f(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "–"
    return f"{x:.{digits}f}"


def render(record: dict[str, Any]) -> str:
    """The Markdown of every label in ``record`` (oldest first)."""
    lines = [
        "# Calibration across seeds",
        "",
        "Each target's value over repeated simulations (`insights simulate` + `insights calibrate "
        "--json`, no `--widen`). margin = (tolerance − |mean − target|) / sd, in seed-to-seed sds; "
        "**flagged** = a seed fails or margin < 2. `se` = mean sampling SE of one run "
        "(95% CI half-width / 1.96); `best pass` = 2Φ(tol/sd) − 1, the pass share the band "
        "allows even with the mean on the target.",
    ]
    for label, entry in record["labels"].items():
        meta = entry["meta"]
        rows = entry["summary"]
        flagged = [r for r in rows if r["flagged"]]
        lines += [
            "",
            f"## {label}",
            "",
            f"{len(entry['runs'])} seeds ({', '.join(str(r['seed']) for r in entry['runs'])}), "
            f"{meta['users']:,} users each; scenario `{meta['scenario']}`; "
            f"{meta['seconds']:.0f} s on {meta['machine']} (shared machine), {meta['date']}.",
            "",
            f"Command: `{meta['command']}`",
            "",
            *([meta["note"], ""] if meta.get("note") else []),
            f"Flagged: {', '.join(r['id'] for r in flagged) or 'none'}.",
            "",
        ]
        head = [
            "id", "metric", "segment", "period", "band", "mean", "sd", "min", "max",
            "passes", "se", "margin (sd)", "best pass", "",
        ]  # fmt: skip
        body = [
            [
                r["id"],
                r["metric"],
                r["segment"],
                r["period"],
                f"{_f(r['low'], 1)}–{_f(r['high'], 1)}",
                _f(r["mean"]),
                _f(r["sd"]),
                _f(r["min"]),
                _f(r["max"]),
                f"{r['passes']}/{r['seeds']}",
                _f(r["sampling_se"]),
                _f(r["margin_sd"], 1),
                _f(r["best_pass"]),
                "**flagged**" if r["flagged"] else "",
            ]  # fmt: skip
            for r in rows
        ]
        lines += markdown_table(head, body)
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--label", default="current", help="name of this run in the results")
    ap.add_argument(
        "--scenario", type=Path, default=None, help="scenario YAML (default: the default)"
    )
    ap.add_argument("--only", nargs="+", default=None, help="keep only these target ids")
    ap.add_argument("--note", default=None, help="a paragraph shown under this label's heading")
    ap.add_argument(
        "--render",
        action="store_true",
        help="run nothing: rewrite the Markdown from the JSON (setting --note on --label)",
    )
    ap.add_argument("--work", type=Path, default=Path("/tmp/seeds"))
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args()
    path = a.out / f"{NAME}.json"
    if a.render:
        record = json.loads(path.read_text(encoding="utf-8"))
        if a.note is not None:
            record["labels"][a.label]["meta"]["note"] = a.note
        write_results(a.out, NAME, render(record), record)
        return
    a.work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    runs = []
    for seed in a.seeds:
        run = one_seed(seed, users=a.users, work=a.work, scenario=a.scenario)
        if a.only:
            run["records"] = [r for r in run["records"] if r["id"] in a.only]
        runs.append(run)
        failed = [r["id"] for r in run["records"] if not r["passed"]]
        print(
            f"seed {seed:6d}  simulate {run['simulate_seconds']:5.1f} s  calibrate "
            f"{run['calibrate_seconds']:5.1f} s  failed: {', '.join(failed) or 'none'}",
            flush=True,
        )
    command = "python benchmarks/calibration_seeds.py " + " ".join(sys.argv[1:])
    meta = machine(
        users=a.users,
        seeds=a.seeds,
        scenario=str(a.scenario or "data/scenarios/default.yaml"),
        seconds=round(time.perf_counter() - start, 1),
        command=command.strip(),
        note=a.note,
    )
    record: dict[str, Any] = {"labels": {}}
    if path.exists():
        record = json.loads(path.read_text(encoding="utf-8"))
    record["labels"][a.label] = {"meta": meta, "summary": summarise(runs), "runs": runs}
    text = render(record)
    write_results(a.out, NAME, text, record)
    print(text)


if __name__ == "__main__":
    main()
