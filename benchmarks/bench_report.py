"""Report benchmark: ``insights report`` at 0.2M, 1M and 10M users, with the time per chapter.

Cases (each a fresh ``insights report`` process with an empty results cache, so nothing
computed by an earlier run is reused; within one run the chapters and the two
languages share the cache and the shared active days, which is the point of them):

``200k zh``       one language, PDF + HTML (goal ≤ 90 s)
``200k zh,en``    both languages in one call, PDF + HTML (goal ≤ 150 s)
``1M zh``         one language on 1M users (goal ≤ 90 s, issue 17)
``10M zh``        one language on 10M users, the chunked simulator's L tier (goal ≤ 900 s
                  and ≤ 8 GB for the whole run, issue 17)

Wall and CPU seconds, the peak RSS of the largest single process (the CLI or one of the
chapter kernels it started), the peak of the *sum* of the run's processes' RSS
(sampled every second: two kernels run at a time, and the 8 GB goal is for the
whole run), and the 1-minute load average before/after are recorded
(``_harness.run``; the machine has 2 cores; chapters run two at a time). The time per
chapter (wall time of its kernel; two overlap) and its slowest cells come from
``INSIGHTS_TIMINGS`` (``insights.report._builtin._record_time``). Results:
``results/report.json`` and ``report.md`` (a growth table: seconds and memory against
users).

Usage: ``python benchmarks/bench_report.py [--data200 DIR] [--data1m DIR] [--data10m DIR]
[--cases 200k-zh 200k-zh,en 1M-zh 10M-zh]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _harness import RESULTS, loadavg_cell, machine, markdown_table, run, write_results

CASES = {
    "200k-zh": ("200k", "zh", 90.0, None),
    "200k-zh,en": ("200k", "zh,en", 150.0, None),
    "1M-zh": ("1M", "zh", 90.0, None),
    "10M-zh": ("10M", "zh", 900.0, 8192.0),
}
USERS = {"200k": 200_000, "1M": 1_000_000, "10M": 10_000_000}


def _descendants_rss_mb(root: int) -> float:
    """Sum of the RSS of the descendants of ``root`` (not ``root`` itself; Linux ``/proc``), in MB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            pid, ppid = int(entry.name), int(fields[1])
            rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
            children.setdefault(ppid, []).append(pid)
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / 2**20


class _TreeMemory(threading.Thread):
    """Samples the summed RSS of this process's children once a second; ``peak`` in MB."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self._done.is_set():
            self.peak = max(self.peak, _descendants_rss_mb(me))
            self._done.wait(1.0)

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak


def run_report(data: Path, lang: str, *, timeout: float) -> dict[str, Any]:
    """One ``insights report`` run in a fresh process with an empty cache directory."""
    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    timings = work / "timings.jsonl"
    cmd = [
        Path(sys.executable).with_name("insights"), "report", data, "--quarter", "2024Q4",
        "--lang", lang, "--format", "pdf,html", "--out", work / "reports",
    ]  # fmt: skip
    env = {
        "INSIGHTS_CACHE_DIR": str(work / "cache"),
        "INSIGHTS_CACHE_MAX_MB": "4096",  # the shared days of 10M users (~350 MB) are kept
        "INSIGHTS_TIMINGS": str(timings),
    }
    sampler = _TreeMemory()
    sampler.start()
    started = time.perf_counter()
    res = run(cmd, env=env, timeout=timeout)
    res["tree_peak_mb"] = round(sampler.stop(), 1)
    res["seconds_measured"] = round(time.perf_counter() - started, 1)
    res["files"] = sorted(p.name for p in (work / "reports").rglob("insights-*"))
    res["chapters"] = (
        [json.loads(line) for line in timings.read_text(encoding="utf-8").splitlines()]
        if timings.exists()
        else []
    )
    shutil.rmtree(work, ignore_errors=True)
    return res


def _chapter_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["", "## Time per chapter (wall seconds of its kernel; two chapters run at a time)", ""]
    cases = [r for r in rows if r.get("chapters")]
    names = sorted({c["chapter"] for r in cases for c in r["chapters"]})
    head = ["chapter", *[f"{r['data']} {r['lang']}" for r in cases]]
    body = []
    for name in names:
        cells = []
        for r in cases:
            hit = [c for c in r["chapters"] if c["chapter"] == name]
            cells.append(", ".join(f"{c['seconds']:.1f}" for c in hit) or "—")
        body.append([name, *cells])
    lines += markdown_table(head, body)
    lines += ["", "Slowest cells (largest run):", ""]
    if cases:
        big = cases[-1]
        for c in sorted(big["chapters"], key=lambda c: -c["seconds"]):
            slow = "; ".join(f"{x['seconds']:.1f} s `{x['cell']}`" for x in c.get("cells", [])[:3])
            lines.append(f"- {c['chapter']} ({c['seconds']:.1f} s): {slow}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data200", type=Path, default=Path("data/demo"))
    ap.add_argument("--data1m", type=Path, default=Path("/tmp/bench/sim-1000000"))
    ap.add_argument("--data10m", type=Path, default=Path("/tmp/bench_l/sim-10000000"))
    ap.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    ap.add_argument("--timeout", type=float, default=2700.0, help="seconds per case")
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args()
    data_of = {"200k": a.data200, "1M": a.data1m, "10M": a.data10m}
    rows = []
    for case in a.cases:
        size, lang, goal, memory_goal = CASES[case]
        data = data_of[size]
        if not (data / "manifest.json").exists():
            print(f"skipping {case}: no dataset at {data}")
            continue
        res = {
            "data": size,
            "users": USERS[size],
            "lang": lang,
            **run_report(data, lang, timeout=a.timeout),
        }
        met = res["exit"] == 0 and res["process_seconds"] <= goal
        if memory_goal is not None:
            met = met and res["tree_peak_mb"] <= memory_goal
        res.update(goal_seconds=goal, goal_mb=memory_goal, met=met)
        rows.append(res)
        print(json.dumps({k: v for k, v in res.items() if k != "chapters"}), flush=True)
    meta = machine(command="python benchmarks/bench_report.py " + " ".join(a.cases))
    lines = [
        "# insights report: one run per size (PDF + HTML, empty results cache)",
        "",
        *markdown_table(
            [
                "data",
                "users",
                "languages",
                "seconds",
                "CPU s",
                "peak MB (largest process)",
                "peak MB (whole run)",
                "goal",
                "met",
                "files",
                "load avg before/after",
            ],
            (
                [
                    r["data"],
                    f"{r['users']:,}",
                    r["lang"],
                    r["process_seconds"],
                    r["process_cpu_seconds"],
                    r["peak_mb"],
                    r["tree_peak_mb"],
                    f"≤ {r['goal_seconds']:.0f} s"
                    + (f", ≤ {r['goal_mb'] / 1024:.0f} GB" if r["goal_mb"] else ""),
                    "yes"
                    if r["met"]
                    else ("no" if r["exit"] == 0 else f"failed (exit {r['exit']})"),
                    len(r["files"]),
                    loadavg_cell(r),
                ]
                for r in rows
            ),
        ),  # fmt: skip
    ]
    lines += _chapter_lines(rows)
    lines += ["", f"{meta}", ""]
    write_results(a.out, "report", "\n".join(lines), {"meta": meta, "rows": rows})
    print("\n".join(lines))


if __name__ == "__main__":
    main()
