"""Out-of-core check (issue 6, capability 2): the L tier within 8 GB on one machine.

At 10M users (about 350M events, written by ``insights simulate --users 10000000`` chunk
by chunk as Parquet parts) each analysis runs in a fresh process on Polars (lazy scans,
streaming collects) with ``INSIGHTS_CACHE_DIR=off``; wall and CPU seconds and the
child's own peak RSS are recorded next to the 8 GB goal.

Cases: ``kpis`` (the 2024Q4 scorecard against 2024Q3), ``curves``
(``retention_curves(by="city_tier")``), ``matrix`` (``retention_matrix(cohort="month",
period="month", kind="on")``), ``cohort_ltv`` (monthly cohorts, 365 days, bootstrap CI).

Usage: ``python benchmarks/bench_outofcore.py [--data /tmp/bench_l/sim-10000000] [--cases ...]``
Results: ``results/outofcore.json`` and ``outofcore.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOAL_MB = 8 * 1024
CALLS = {
    "kpis": "from insights.kpis import kpi_scorecard as f; f(ds, quarter='2024Q4')",
    "curves": "from insights.metrics import retention_curves as f; f(ds, by='city_tier')",
    "matrix": "from insights.metrics import retention_matrix as f; f(ds, cohort='month', period='month', kind='on')",
    "cohort_ltv": "from insights.metrics import cohort_ltv as f; f(ds)",
}
CHILD = """
import json, resource, sys, time
from insights.data import load_dataset
ds = load_dataset(sys.argv[1], validate=False)
t, c = time.perf_counter(), time.process_time()
{call}
print(json.dumps({{"call": round(time.perf_counter() - t, 1), "call_cpu": round(time.process_time() - c, 1),
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}}))
"""


def run(case: str, data: Path) -> dict:
    env = {**os.environ, "INSIGHTS_CACHE_DIR": "off"}
    before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(call=CALLS[case]), str(data)],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    out = {"case": case, "process_seconds": round(time.perf_counter() - start, 1), "exit": proc.returncode}
    out["load_before"], out["load_after"] = round(before, 2), round(os.getloadavg()[0], 2)
    if proc.returncode == 0:
        out.update(json.loads(proc.stdout.strip().splitlines()[-1]))
        out["met"] = out["peak_mb"] <= GOAL_MB
    else:
        out["tail"] = proc.stderr[-600:]
        out["met"] = False
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/bench_l/sim-10000000"))
    ap.add_argument("--cases", nargs="+", choices=list(CALLS), default=list(CALLS))
    ap.add_argument("--out", type=Path, default=HERE / "results")
    a = ap.parse_args()
    if not (a.data / "manifest.json").exists():
        sys.exit(f"no dataset at {a.data}: simulate it with `insights simulate --out {a.data} --users 10000000`")
    manifest = json.loads((a.data / "manifest.json").read_text())
    rows = []
    for case in a.cases:
        rows.append(run(case, a.data))
        print(json.dumps(rows[-1]), flush=True)
    meta = {"users": manifest["users"], "events": sum(manifest["rows"][t] for t in ("views", "interactions", "orders")),
            "machine": f"{platform.machine()} {os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d %H:%M")}  # fmt: skip
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "outofcore.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = [
        f"# Out of core: {meta['users']:,} users, {meta['events']:,} events, Polars streaming (goal ≤ 8 GB)",
        "",
        "| analysis | call s (wall) | call CPU s | process s | peak MB | ≤ 8 GB | load avg before/after |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r.get('call', 'failed')} | {r.get('call_cpu', '')} | {r['process_seconds']} | "
            f"{r.get('peak_mb', '')} | {'yes' if r['met'] else 'no'} | {r['load_before']}/{r['load_after']} |"
        )
    lines += ["", f"Command: `python benchmarks/bench_outofcore.py --data {a.data}`; {meta}", ""]
    (a.out / "outofcore.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
