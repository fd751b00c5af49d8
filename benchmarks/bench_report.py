"""Report benchmark: ``insights report`` wall time on the 200k demo and 1M users.

Cases (each a fresh ``insights report`` process with an empty results cache, so nothing
computed by an earlier run is reused; within one run the chapters and the two
languages share the cache, which is the point of it):

``200k zh``       one language, PDF + HTML (goal ≤ 90 s)
``200k zh,en``    both languages in one call, PDF + HTML (goal ≤ 150 s)
``1M zh``         one language on 1M users (goal ≤ 180 s)

Wall seconds and the 1-minute load average before/after are recorded (the machine has
2 cores; chapters run two at a time). Results: ``results/report.json`` and ``report.md``.

Usage: ``python benchmarks/bench_report.py [--data200 DIR] [--data1m DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOALS = {("200k", "zh"): 90.0, ("200k", "zh,en"): 150.0, ("1M", "zh"): 180.0}


def run(data: Path, lang: str) -> dict:
    """One ``insights report`` run in a fresh process with an empty cache directory."""
    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    env = {**os.environ, "INSIGHTS_CACHE_DIR": str(work / "cache")}
    cmd = [
        str(Path(sys.executable).with_name("insights")), "report", str(data), "--quarter", "2024Q4",
        "--lang", lang, "--format", "pdf,html", "--out", str(work / "reports"),
    ]  # fmt: skip
    before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    files = sorted(p.name for p in (work / "reports").rglob("insights-*"))
    shutil.rmtree(work, ignore_errors=True)
    return {
        "seconds": round(wall, 1),
        "exit": proc.returncode,
        "files": files,
        "load_before": round(before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "tail": (proc.stdout + proc.stderr)[-600:] if proc.returncode else "",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data200", type=Path, default=Path("data/demo"))
    ap.add_argument("--data1m", type=Path, default=Path("/tmp/bench/sim-1000000"))
    ap.add_argument("--out", type=Path, default=HERE / "results")
    a = ap.parse_args()
    rows = []
    for size, data, lang in (("200k", a.data200, "zh"), ("200k", a.data200, "zh,en"), ("1M", a.data1m, "zh")):
        if not (data / "manifest.json").exists():
            print(f"skipping {size}: no dataset at {data}")
            continue
        res = {"data": size, "lang": lang, **run(data, lang)}
        goal = GOALS[(size, lang)]
        res.update(goal_seconds=goal, met=res["exit"] == 0 and res["seconds"] <= goal)
        rows.append(res)
        print(json.dumps(res), flush=True)
    meta = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "command": "python benchmarks/bench_report.py",
    }
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "report.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = [
        "# insights report: wall time of one run (PDF + HTML, empty results cache)",
        "",
        "| data | languages | seconds | goal | met | files | load avg before/after |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['data']} | {r['lang']} | {r['seconds']} | ≤ {r['goal_seconds']:.0f} s | "
            f"{'yes' if r['met'] else 'no'} | {len(r['files'])} | {r['load_before']}/{r['load_after']} |"
        )
    lines += ["", f"{meta}", ""]
    (a.out / "report.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
