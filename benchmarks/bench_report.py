"""Report benchmark: ``insights report`` wall time on the 200k demo and 1M users.

Cases (each a fresh ``insights report`` process with an empty results cache, so nothing
computed by an earlier run is reused; within one run the chapters and the two
languages share the cache, which is the point of it):

``200k zh``       one language, PDF + HTML (goal ≤ 90 s)
``200k zh,en``    both languages in one call, PDF + HTML (goal ≤ 150 s)
``1M zh``         one language on 1M users (goal ≤ 180 s)

Wall and CPU seconds, the peak RSS of the run (the largest of the CLI and the processes
it started and waited for) and the 1-minute load average before/after are recorded
(``_harness.run``; the machine has 2 cores; chapters run two at a time). Results:
``results/report.json`` and ``report.md``.

Usage: ``python benchmarks/bench_report.py [--data200 DIR] [--data1m DIR]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from _harness import RESULTS, loadavg_cell, machine, markdown_table, run, write_results

GOALS = {("200k", "zh"): 90.0, ("200k", "zh,en"): 150.0, ("1M", "zh"): 180.0}


def run_report(data: Path, lang: str) -> dict:
    """One ``insights report`` run in a fresh process with an empty cache directory."""
    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    cmd = [
        Path(sys.executable).with_name("insights"), "report", data, "--quarter", "2024Q4",
        "--lang", lang, "--format", "pdf,html", "--out", work / "reports",
    ]  # fmt: skip
    res = run(cmd, env={"INSIGHTS_CACHE_DIR": str(work / "cache")})
    res["files"] = sorted(p.name for p in (work / "reports").rglob("insights-*"))
    shutil.rmtree(work, ignore_errors=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data200", type=Path, default=Path("data/demo"))
    ap.add_argument("--data1m", type=Path, default=Path("/tmp/bench/sim-1000000"))
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args()
    rows = []
    for size, data, lang in (
        ("200k", a.data200, "zh"),
        ("200k", a.data200, "zh,en"),
        ("1M", a.data1m, "zh"),
    ):
        if not (data / "manifest.json").exists():
            print(f"skipping {size}: no dataset at {data}")
            continue
        res = {"data": size, "lang": lang, **run_report(data, lang)}
        goal = GOALS[(size, lang)]
        res.update(goal_seconds=goal, met=res["exit"] == 0 and res["process_seconds"] <= goal)
        rows.append(res)
        print(json.dumps(res), flush=True)
    meta = machine(command="python benchmarks/bench_report.py")
    lines = [
        "# insights report: wall time of one run (PDF + HTML, empty results cache)",
        "",
        *markdown_table(
            [
                "data",
                "languages",
                "seconds",
                "CPU s",
                "peak MB",
                "goal",
                "met",
                "files",
                "load avg before/after",
            ],
            (
                [
                    r["data"],
                    r["lang"],
                    r["process_seconds"],
                    r["process_cpu_seconds"],
                    r["peak_mb"],
                    f"≤ {r['goal_seconds']:.0f} s",
                    "yes" if r["met"] else "no",
                    len(r["files"]),
                    loadavg_cell(r),
                ]
                for r in rows
            ),
        ),  # fmt: skip
    ]
    lines += ["", f"{meta}", ""]
    write_results(a.out, "report", "\n".join(lines), {"meta": meta, "rows": rows})
    print("\n".join(lines))


if __name__ == "__main__":
    main()
