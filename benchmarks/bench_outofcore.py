"""Out-of-core check (issue 6, capability 2): the L tier within 8 GB on one machine.

At 10M users (about 350M events, written by ``insights simulate --users 10000000`` chunk
by chunk as Parquet parts) each analysis runs in a fresh process on Polars (lazy scans,
streaming collects) with ``INSIGHTS_CACHE_DIR=off`` (``_harness.run``); wall and CPU
seconds and the child's own peak RSS are recorded next to the 8 GB goal.

Cases: ``kpis`` (the 2024Q4 scorecard against 2024Q3), ``curves``
(``retention_curves(by="city_tier")``), ``matrix`` (``retention_matrix(cohort_unit="month",
unit="month", kind="on")``), ``cohort_ltv`` (monthly cohorts, 365 days, bootstrap CI).

Usage: ``python benchmarks/bench_outofcore.py [--data /tmp/bench_l/sim-10000000] [--cases ...]``
Results: ``results/outofcore.json`` and ``outofcore.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from _harness import RESULTS, loadavg_cell, machine, markdown_table, run, write_results

GOAL_MB = 8 * 1024
CALLS = {
    "kpis": "from insights.kpis import kpi_scorecard as f; f(ds, quarter='2024Q4')",
    "curves": "from insights.metrics import retention_curves as f; f(ds, by='city_tier')",
    "matrix": "from insights.metrics import retention_matrix as f; f(ds, cohort_unit='month', unit='month', kind='on')",
    "cohort_ltv": "from insights.metrics import cohort_ltv as f; f(ds)",
}
CHILD = """
import json, sys, time
from insights.data import load_dataset
ds = load_dataset(sys.argv[1], validate=False)
t, c = time.perf_counter(), time.process_time()
{call}
print(json.dumps({{"call": round(time.perf_counter() - t, 1), "call_cpu": round(time.process_time() - c, 1)}}))
"""


def run_case(case: str, data: Path) -> dict:
    """One analysis in a fresh interpreter; the peak RSS is that process's own."""
    out = {
        "case": case,
        **run([sys.executable, "-c", CHILD.format(call=CALLS[case]), data], child_json=True),
    }
    out["met"] = out["exit"] == 0 and out["peak_mb"] <= GOAL_MB
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/bench_l/sim-10000000"))
    ap.add_argument("--cases", nargs="+", choices=list(CALLS), default=list(CALLS))
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args()
    if not (a.data / "manifest.json").exists():
        sys.exit(
            f"no dataset at {a.data}: simulate it with `insights simulate --out {a.data} --users 10000000`"
        )
    manifest = json.loads((a.data / "manifest.json").read_text())
    rows = []
    for case in a.cases:
        rows.append(run_case(case, a.data))
        print(json.dumps(rows[-1]), flush=True)
    meta = machine(users=manifest["users"],
                   events=sum(manifest["rows"][t] for t in ("views", "interactions", "orders")))  # fmt: skip
    lines = [
        f"# Out of core: {meta['users']:,} users, {meta['events']:,} events, Polars streaming (goal ≤ 8 GB)",
        "",
        *markdown_table(
            [
                "analysis",
                "call s (wall)",
                "call CPU s",
                "process s",
                "peak MB",
                "≤ 8 GB",
                "load avg before/after",
            ],
            (
                [
                    r["case"],
                    r.get("call", "failed"),
                    r.get("call_cpu", ""),
                    r["process_seconds"],
                    r["peak_mb"],
                    "yes" if r["met"] else "no",
                    loadavg_cell(r),
                ]
                for r in rows
            ),
        ),  # fmt: skip
    ]
    lines += ["", f"Command: `python benchmarks/bench_outofcore.py --data {a.data}`; {meta}", ""]
    write_results(a.out, "outofcore", "\n".join(lines), {"meta": meta, "rows": rows})
    print("\n".join(lines))


if __name__ == "__main__":
    main()
