"""Foundation benchmarks: simulate, calibrate and kpis at 200k and 1M users.

Each step runs in its own process with the results cache off (``/usr/bin/time``-style: wall time and peak RSS
from ``resource.getrusage(RUSAGE_CHILDREN)``), so one step's memory does not hide
another's. Results go to ``benchmarks/results/foundation.json`` and a Markdown
table ``foundation.md``; the README quotes them.

Usage: ``python benchmarks/bench_foundation.py [--sizes 200000 1000000] [--out DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
INSIGHTS = [sys.executable, "-m", "insights.cli"]
GOALS = {("simulate", 200_000): 30, ("simulate", 1_000_000): 150, ("kpis", 1_000_000): 15}


def run(args: list[str]) -> dict:
    """Run one command in a child process; wall seconds and that child's peak RSS (MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    env = {**os.environ, "INSIGHTS_CACHE_DIR": "off"}  # measure the work, not the results cache
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": round(wall, 1), "peak_mb": round(max(peak, before) / 1024), "exit": proc.returncode,
            "tail": (proc.stdout + proc.stderr)[-400:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[200_000, 1_000_000])
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--work", type=Path, default=None, help="where the datasets go (default: a temp dir)")
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="insights-bench-"))
    rows = []
    for n in a.sizes:
        data = work / f"sim-{n}"
        for step, args in [
            ("simulate", INSIGHTS + ["simulate", "--out", str(data), "--users", str(n), "--seed", "42"]),
            ("calibrate", INSIGHTS + ["calibrate", str(data), "--json"]),
            ("kpis", INSIGHTS + ["kpis", str(data), "--quarter", "2024Q4", "--json"]),
        ]:
            # ru_maxrss of RUSAGE_CHILDREN is the max over all children so far: run each step
            # in a fresh interpreter so the figure is that step's own
            res = json.loads(subprocess.run([sys.executable, __file__, "--one", json.dumps(args)],
                                            capture_output=True, text=True, check=True).stdout)
            goal = GOALS.get((step, n))
            res.update(step=step, users=n, goal_seconds=goal, met=None if goal is None else res["seconds"] <= goal)
            rows.append(res)
            print(f"{step:10s} {n:>9,d} users  {res['seconds']:7.1f} s  {res['peak_mb']:6d} MB  goal {goal or '-'}")
    a.out.mkdir(parents=True, exist_ok=True)
    meta = {"machine": f"{platform.machine()} {os.cpu_count()} cores", "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d")}
    (a.out / "foundation.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = ["| step | users | seconds | peak MB | goal (s) | met |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['step']} | {r['users']:,} | {r['seconds']} | {r['peak_mb']} | {r['goal_seconds'] or '—'} | "
              f"{'—' if r['met'] is None else ('yes' if r['met'] else 'no')} |" for r in rows]
    (a.out / "foundation.md").write_text("\n".join(lines) + f"\n\n{meta}\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(run(json.loads(sys.argv[2]))))
    else:
        main()
