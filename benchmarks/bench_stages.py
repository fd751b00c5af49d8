"""Where the time of ``retention_curves`` goes above the scan floor (issue 6, goal "within 3x").

The peers benchmark compares our two calls with the time to scan their columns. This
script splits one call, ``retention_curves(by="city_tier")`` on Polars, into the steps
every correct implementation needs, each timed as its own query ending in a trivial
reduction (best of ``--repeat`` runs, in this process, results cache off):

1. ``scan``: read ``user_id`` and the timestamp of views, interactions and orders and
   turn the timestamps into day numbers (the floor of ``bench_peers.py`` plus the day);
2. ``+ join``: join the events to the users (first-seen day, dense unit index) and keep
   the days on or after the first;
3. ``+ sort``: one sort of the packed (unit, day) key and the per-unit gap summary
   (``_backend.gap_summary``), i.e. the churn lifetimes;
4. ``call``: the whole ``retention_curves`` call (segments, counts, Kaplan–Meier).

Usage: ``python benchmarks/bench_stages.py [--data /tmp/bench/sim-1000000] [--repeat 3]``
Results: ``results/stages.md`` and ``stages.json`` (read by ``bench_peers.py`` for its goals).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ["INSIGHTS_CACHE_DIR"] = "off"

import narwhals as nw  # noqa: E402
from _harness import RESULTS, machine, markdown_table, open_dataset, write_results  # noqa: E402

from insights.data._backend import collect, epoch_day, gap_summary  # noqa: E402
from insights.metrics import retention_curves  # noqa: E402
from insights.metrics._segments import users_frame  # noqa: E402
from insights.metrics.activity_days import active_user_days  # noqa: E402

EVENTS = (("views", "started_at"), ("interactions", "at"), ("orders", "ordered_at"))


def stages(ds) -> dict:
    """The four queries, as thunks."""
    parts = []
    for table, column in EVENTS:
        frame = ds.table(table)
        parts.append(frame.select("user_id", epoch_day(column, like=frame).alias("day")))
    scanned = nw.concat(parts, how="vertical")
    users = users_frame(ds).select("user_id", nw.col("first_seen_day").cast(nw.Int64))
    units = users.with_row_index("__unit", order_by=["user_id"])
    days = active_user_days(ds, users=units, distinct=False, carry=["__unit"])
    days = days.select("__unit", (nw.col("day") - nw.col("first_seen_day")).alias("day"))
    return {
        "scan": lambda: collect(scanned.select(nw.col("day").sum(), nw.col("user_id").sum())),
        "+ join": lambda: collect(days.select(nw.col("day").sum(), nw.col("__unit").sum())),
        "+ sort": lambda: collect(
            gap_summary(days, unit="__unit", day="day", gap=30).select(nw.len())
        ),
        "call": lambda: retention_curves(ds, by="city_tier"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/bench/sim-1000000"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args()
    if not (a.data / "manifest.json").exists():
        raise SystemExit(
            f"no dataset at {a.data}: `insights simulate --out {a.data} --users 1000000`"
        )
    ds = open_dataset(a.data, "polars")
    rows = []
    load = os.getloadavg()[0]
    for name, run in stages(ds).items():
        best = min(_timed(run) for _ in range(a.repeat))
        rows.append((name, best))
        print(f"{name:8s} {best:6.2f} s", flush=True)
    floor = rows[0][1]
    meta = machine()
    lines = [
        f'# Where `retention_curves(by="city_tier")` spends its time ({a.data.name}, Polars)',
        "",
        *markdown_table(
            ["step", f"seconds (best of {a.repeat})", "× scan"],
            ([name, f"{sec:.2f}", f"{sec / floor:.1f}"] for name, sec in rows),
        ),
        "",
        f"Command: `python benchmarks/bench_stages.py --data {a.data}`; load average before "
        f"{load:.2f}, after {os.getloadavg()[0]:.2f}; {meta['machine']}; {meta['date']}.",
        "",
    ]
    record = {"data": str(a.data), "steps": dict(rows), "load": load, "meta": meta}
    write_results(a.out, "stages", "\n".join(lines), record)


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
