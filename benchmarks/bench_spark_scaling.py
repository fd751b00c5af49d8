"""Spark scaling: the peers' Spark case (curves + matrix) on ``local[1]``, ``local[2]``, ``local[*]``.

The case is ``bench_peers.case_ours("spark", ...)`` unchanged except for the master:
``retention_curves(ds, by="city_tier")`` and ``retention_matrix(ds, cohort_unit="month",
unit="month", kind="on", min_cell=0)`` on Spark DataFrames read with ``spark.read.parquet``
(driver memory ``BENCH_SPARK_MEMORY``, default 6g; ``spark.sql.shuffle.partitions`` 8 for
every master, so the plans are the same and only the number of task slots changes).
Each master runs in a fresh interpreter through ``_harness.run``: wall seconds, CPU seconds
of the process and its JVM (user + system, the JVM is waited for), peak RSS, load average.

Derived per master: speed-up = call seconds on ``local[1]`` / call seconds on this master;
efficiency = speed-up / task slots; CPU ratio = process CPU seconds / process CPU seconds on
``local[1]`` (the overhead of running in parallel). ``local[*]`` has as many slots as the
machine has cores (2 here, so it equals ``local[2]``: the row shows the run-to-run spread).

Equality: every master's curves and matrix counts are compared with ``local[1]`` and, when
``bench_peers.py`` left its dump (``<work>/<tier>-polars-*.parquet``), with our Polars
path (max |ΔS| <= 1e-9, identical matrix cells).

Usage::

    nice -n 10 python benchmarks/bench_spark_scaling.py                      # 1M users (M tier)
    nice -n 10 python benchmarks/bench_spark_scaling.py --data /tmp/bench_l/sim-10000000 \\
        --tier L                                                            # 10M: ~12 min a master
    python benchmarks/bench_spark_scaling.py --report-only

Results: ``results/spark_scaling.json`` (rows kept per tier and master across runs) and
``results/spark_scaling.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import polars as pl
from _harness import RESULTS, case_command, machine, markdown_table, run, serve_child, write_results
from bench_peers import CASE_TIMEOUT, case_ours, compare, spark_available

MASTERS = ("local[1]", "local[2]", "local[*]")


def slots(master: str) -> int:
    """Task slots of a ``local[n]`` / ``local[*]`` master."""
    inner = master.removeprefix("local[").removesuffix("]")
    return (os.cpu_count() or 1) if inner == "*" else int(inner)


def case(master: str, data: str, dump: str) -> dict:
    """Child: the peers' Spark case on ``master``; dumps ``<dump>-curves/-matrix.parquet``."""
    path = Path(data)
    as_of = json.loads((path / "manifest.json").read_text())["as_of"]
    out: dict[str, Any] = {"master": master, "slots": slots(master)}
    curves, matrix = case_ours("spark", path, as_of, out, master=master)
    curves.with_columns(pl.col("group").cast(pl.String)).write_parquet(f"{dump}-curves.parquet")
    matrix.select(
        pl.col("cohort").cast(pl.String),
        *(pl.col(c).cast(pl.Int64) for c in ("period", "retained", "n")),
    ).write_parquet(f"{dump}-matrix.parquet")
    return out


def order(master: str) -> tuple[int, str]:
    """Sort key: the masters in the order of ``MASTERS``, others after them."""
    return (MASTERS.index(master) if master in MASTERS else len(MASTERS), master)


def dump_name(work: Path, tier: str, master: str) -> Path:
    tag = master.replace("[", "").replace("]", "").replace("*", "all")
    return work / f"{tier}-spark-{tag}"


def pyspark_version() -> str:
    try:
        import pyspark
    except ImportError:
        return "not installed"
    return pyspark.__version__


def report(saved: dict) -> str:
    """Markdown: one row per tier x master, speed-up against local[1], equality."""
    lines = [
        '# Spark scaling: retention_curves(by="city_tier") + retention_matrix(month, kind="on")',
        "",
    ]
    head = [
        "tier", "users", "master", "slots", "call s", "curves s", "matrix s", "session s",
        "process s (wall / CPU)", "speed-up vs local[1]", "efficiency", "CPU vs local[1]",
        "peak MB (JVM)", "load avg", "equal",
    ]  # fmt: skip
    rows = []
    for r in saved["rows"]:
        base = next(
            (b for b in saved["rows"] if b["tier"] == r["tier"] and b["master"] == "local[1]"),
            None,
        )
        if r.get("exit") != 0:
            why = r.get("not_available") or r.get("timed_out") or f"failed (exit {r.get('exit')})"
            rows.append([r["tier"], f"{r['users']:,}", r["master"], "", why] + [""] * 10)
            continue
        ok = base is not None and base.get("exit") == 0
        speed = base["call"] / r["call"] if ok else None
        rows.append(
            [
                r["tier"],
                f"{r['users']:,}",
                r["master"],
                r["slots"],
                f"{r['call']:.1f}",
                f"{r['curves']:.1f}",
                f"{r['matrix']:.1f}",
                f"{r['session']:.1f}",
                f"{r['process_seconds']} / {r['process_cpu_seconds']}",
                f"{speed:.2f}x" if speed else "—",
                f"{speed / r['slots']:.0%}" if speed else "—",
                f"{r['process_cpu_seconds'] / base['process_cpu_seconds']:.2f}x" if ok else "—",
                f"{r['peak_mb']} ({r.get('peak_mb_jvm', 0):.0f})",
                f"{r['loadavg_before']}/{r['loadavg_after']}",
                r.get("equal", "—"),
            ]
        )
    lines += markdown_table(head, rows)
    lines += [
        "",
        "call = both calls in the case process after the session start and `load_dataset` "
        "(the Spark work happens in the JVM); process = the whole fresh interpreter with its "
        "JVM (CPU = user + system of both). speed-up = local[1] call s / this call s; "
        "efficiency = speed-up / task slots; CPU vs local[1] = process CPU s / local[1]'s. "
        "`spark.sql.shuffle.partitions` = 8 for every master. equal: max |ΔS| of the curves and "
        "matrix cells against local[1] and against our Polars path (when its dump exists). "
        "The machine is shared (load average before/after).",
        "",
        f"{saved.get('meta', {})}",
    ]
    return "\n".join(lines) + "\n"


def equality(work: Path, tier: str, master: str) -> str:
    """Equality with local[1] and with Polars ("yes"/"NO", max |ΔS|, matrix cells)."""
    ours = dump_name(work, tier, master)
    parts = []
    for label, ref in (
        ("local[1]", dump_name(work, tier, "local[1]")),
        ("polars", work / f"{tier}-polars"),
    ):
        if master == label or not Path(f"{ref}-curves.parquet").exists():
            continue
        chk = compare(ref, ours)
        parts.append(
            f"{'yes' if chk['equal'] else 'NO'} vs {label} (ΔS {chk['max_abs_dS']:.0e}, "
            f"{chk['matrix_cells'] - chk['matrix_cells_differing']}/{chk['matrix_cells']} cells)"
        )
    return "; ".join(parts) or "—"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=Path("/tmp/bench/sim-1000000"))
    ap.add_argument("--tier", default="M", help="label of --data in the results (M = 1M, L = 10M)")
    ap.add_argument("--masters", nargs="+", default=list(MASTERS))
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--work", type=Path, default=Path("/tmp/peers/work"), help="dumped aggregates")
    ap.add_argument("--report-only", action="store_true")
    a = ap.parse_args()
    saved_path = a.out / "spark_scaling.json"
    saved = json.loads(saved_path.read_text()) if saved_path.exists() else {"rows": []}
    if not a.report_only:
        a.work.mkdir(parents=True, exist_ok=True)
        users = json.loads((a.data / "manifest.json").read_text())["users"]
        why = spark_available()
        for master in a.masters:
            if why:
                res: dict[str, Any] = {"exit": None, "not_available": why, "master": master}
            else:
                cmd = case_command(__file__, master, a.data, dump_name(a.work, a.tier, master))
                res = run(cmd, timeout=CASE_TIMEOUT, child_json=True)
                res.setdefault("master", master)
            res.update(tier=a.tier, users=users, date=time.strftime("%Y-%m-%d %H:%M"))
            saved["rows"] = [
                r for r in saved["rows"] if (r["tier"], r["master"]) != (a.tier, master)
            ] + [res]
            print(json.dumps({k: v for k, v in res.items() if k != "tail"}), flush=True)
        saved["rows"].sort(key=lambda r: (r["users"], order(r["master"])))
        saved["meta"] = machine(polars=pl.__version__, pyspark=pyspark_version(), data=str(a.data))
        for r in saved["rows"]:
            if r["tier"] == a.tier and r.get("exit") == 0:
                r["equal"] = equality(a.work, a.tier, r["master"])
    text = report(saved)
    write_results(a.out, "spark_scaling", text, saved)
    print(text)


if __name__ == "__main__" and not serve_child(case):
    main()
