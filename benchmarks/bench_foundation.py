"""Foundation benchmarks: simulate, calibrate and kpis at 200k and 1M users.

Each step runs in its own process with the results cache off (``_harness.run``: wall and
CPU seconds and that process's own peak RSS), so one step's memory does not hide
another's. Results go to ``benchmarks/results/foundation.json`` and a Markdown
table ``foundation.md``; the README quotes them.

Usage: ``python benchmarks/bench_foundation.py [--sizes 200000 1000000] [--out DIR]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _harness import RESULTS, loadavg_cell, machine, markdown_table, run, write_results

INSIGHTS = [sys.executable, "-m", "insights.cli"]
GOALS = {("simulate", 200_000): 30, ("simulate", 1_000_000): 150, ("kpis", 1_000_000): 15}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[200_000, 1_000_000])
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument(
        "--work", type=Path, default=None, help="where the datasets go (default: a temp dir)"
    )
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="insights-bench-"))
    rows = []
    for n in a.sizes:
        data = work / f"sim-{n}"
        for step, args in [
            (
                "simulate",
                INSIGHTS + ["simulate", "--out", str(data), "--users", str(n), "--seed", "42"],
            ),
            ("calibrate", INSIGHTS + ["calibrate", str(data), "--json"]),
            ("kpis", INSIGHTS + ["kpis", str(data), "--quarter", "2024Q4", "--json"]),
        ]:
            res = run(args)
            goal = GOALS.get((step, n))
            met = None if goal is None else res["exit"] == 0 and res["process_seconds"] <= goal
            res.update(step=step, users=n, goal_seconds=goal, met=met)
            rows.append(res)
            print(f"{step:10s} {n:>9,d} users  {res['process_seconds']:7.1f} s  {res['peak_mb']:6d} MB  "
                  f"exit {res['exit']}  goal {goal or '-'}")  # fmt: skip
    meta = machine()
    lines = markdown_table(
        ["step", "users", "seconds", "CPU s", "peak MB", "exit", "load avg", "goal (s)", "met"],
        ([r["step"], f"{r['users']:,}", r["process_seconds"], r["process_cpu_seconds"], r["peak_mb"],
          r["exit"], loadavg_cell(r), r["goal_seconds"] or "—",
          "—" if r["met"] is None else ("yes" if r["met"] else "no")] for r in rows),
    )  # fmt: skip
    write_results(
        a.out, "foundation", "\n".join(lines) + f"\n\n{meta}\n", {"meta": meta, "rows": rows}
    )


if __name__ == "__main__":
    main()
