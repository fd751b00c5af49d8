"""Retention benchmark: ``retention_curves`` by 5 segments at the M (1M users) and L (10M) tiers.

Cases, each in a fresh process with the results cache off (``_harness.run``: wall and CPU
seconds, the child's own peak RSS, load average):

``polars``
    ``retention_curves(load_dataset(dir), by=BY)`` on Polars LazyFrames.
``duckdb``
    The same on DuckDB relations (``con.read_parquet`` per table, then
    ``load_dataset(**relations)``).
``lifelines``
    The way an analyst writes it without ``insights``: the Parquet columns read into
    pandas, per-user lifetimes with ``drop_duplicates`` / ``sort_values`` /
    ``groupby().diff()`` (:func:`pandas_lifetimes`, same definition as
    ``metrics.md``), then ``lifelines.KaplanMeierFitter`` per segment on the raw
    rows. Its time is split into "per-user rows" and "fit on raw rows". The child
    runs under an address-space limit (env ``BENCH_PANDAS_LIMIT_GB``, default 18) so
    that an out-of-memory at the L tier is reported instead of taking the machine down.

Within a process, ``load`` (building the Dataset, ``validate=False``: validation is
the foundation benchmark's business) and the analysis call are timed separately;
the goals of issue 3 are checked against the call. The survival values of
``polars`` and ``lifelines`` are compared at every time of either fit (goal: equal
to 1e-9). The load average is recorded next to every timing (shared machine).

Tiers: M = 1,000,000 users (~30M events), L = 10,000,000 users (~300M events),
written by the simulator chunk by chunk (``insights simulate --users 10000000``:
chunks of 1M users, tables as directories of Parquet parts). Results: ``benchmarks/results/retention.json``
and ``retention.md``.

Usage: ``python benchmarks/bench_retention.py [--tiers M L] [--data DIR_M] [--work /tmp/bench_l]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import polars as pl
from _harness import (
    RESULTS,
    case_command,
    ensure_simulated,
    machine,
    open_dataset,
    run,
    serve_child,
    write_results,
)

BY = "city_tier"  # 5 values: tier1, new_tier1, tier2, tier3, tier4_county
TIERS = {"M": 1_000_000, "L": 10_000_000}
CASES = ("polars", "duckdb", "lifelines")
PANDAS_LIMIT_GB = float(os.environ.get("BENCH_PANDAS_LIMIT_GB", "18"))


# --------------------------------------------------------------------------- cases (child side)


def pandas_lifetimes(data: Path, *, as_of: Any, churn_gap: int) -> Any:
    """One row per user ``group, duration, event``, the way an analyst writes it in pandas.

    Independent of ``insights``: reads the Parquet columns into pandas, cuts at
    ``as_of``, takes calendar days since the first-seen day (events before it count
    on day 0), drops repeated days, sorts, and finds the first gap longer than
    ``churn_gap`` with ``groupby().diff()``; censoring as ``metrics.md`` (censored
    at as_of - first_seen - churn_gap + 1). The lifelines baseline of issue 3.
    """
    import numpy as np
    import pandas as pd

    def path(table: str) -> Path:  # one file, or a directory of parts (chunked simulation)
        single = data / f"{table}.parquet"
        return single if single.exists() else data / table

    cut = pd.Timestamp(as_of)
    users = pd.read_parquet(path("users"), columns=["user_id", "first_seen_at", BY])
    users = users[users["first_seen_at"] <= cut]
    users["fs"] = users["first_seen_at"].dt.normalize()
    parts = [users[["user_id", "fs"]].rename(columns={"fs": "day"})]
    for table, column in (
        ("views", "started_at"),
        ("interactions", "at"),
        ("orders", "ordered_at"),
    ):
        ev = pd.read_parquet(path(table), columns=["user_id", column])
        ev = ev[ev[column] <= cut]
        parts.append(pd.DataFrame({"user_id": ev["user_id"], "day": ev[column].dt.normalize()}))
        del ev
    ev = pd.concat(parts, ignore_index=True).merge(users[["user_id", "fs"]], on="user_id")
    ev["d"] = ((ev["day"] - ev["fs"]).dt.days).clip(lower=0)
    ev = ev[["user_id", "d"]].drop_duplicates().sort_values(["user_id", "d"])
    ev["next_gap"] = -ev.groupby("user_id")["d"].diff(-1)
    churn = ev[ev["next_gap"] > churn_gap].groupby("user_id")["d"].min()
    last = ev.groupby("user_id")["d"].max()
    per = (
        users.set_index("user_id")[["fs", BY]].join(last.rename("last")).join(churn.rename("churn"))
    )
    horizon = (cut.normalize() - per["fs"]).dt.days
    churned = per["churn"].notna() | (horizon - per["last"] >= churn_gap)
    lifetime = per["churn"].fillna(per["last"])
    censored_at = np.maximum(horizon - churn_gap + 1, 0)
    return pd.DataFrame(
        {
            "group": per[BY].astype("string").fillna("unknown").to_numpy(),
            "duration": np.where(churned, lifetime + 1, censored_at).astype("int64"),
            "event": churned.astype("int64").to_numpy(),
        }
    )


def fits_table(fits: dict[Any, Any]) -> pl.DataFrame:
    """``group, t, survival`` of fitted lifelines ``KaplanMeierFitter`` objects by group."""
    return pl.concat(
        pl.DataFrame(
            {
                "group": g,
                "t": f.survival_function_.index.to_numpy().astype("int64"),
                "survival": f.survival_function_.iloc[:, 0].to_numpy(),
            }
        )
        for g, f in fits.items()
    )


def case(name: str, data: str, dump: str) -> dict:
    """Run one case in this process; phase seconds (and writes the fitted curves to ``dump``)."""
    if name not in CASES:
        raise ValueError(f"case must be one of {CASES}, got {name!r}")
    t0 = time.perf_counter()
    from insights.metrics.retention import retention_curves

    out: dict = {"import": time.perf_counter() - t0}
    t = time.perf_counter()
    ds = open_dataset(data, "duckdb" if name == "duckdb" else "polars")
    out["load"] = time.perf_counter() - t

    if name in ("polars", "duckdb"):
        t, c = time.perf_counter(), time.process_time()
        curves = retention_curves(ds, by=BY)
        out["call"] = time.perf_counter() - t
        out["call_cpu"] = time.process_time() - c
        from insights.stats.curves import survival_curves

        t = time.perf_counter()
        survival_curves(curves.counts, by=[BY])  # the fit alone, from the collected counts
        out["fit_counts"] = time.perf_counter() - t
        out["count_rows"] = curves.counts.height
        table = curves.table.select(pl.col("segment").alias("group"), "t", "survival")
        out["n"] = int(curves.summary["n"].sum())
        out["groups"] = curves.summary.height
    else:
        from lifelines import KaplanMeierFitter

        t, c = time.perf_counter(), time.process_time()
        pdf = pandas_lifetimes(Path(data), as_of=ds.as_of, churn_gap=30)
        out["per_user_rows"] = time.perf_counter() - t
        t = time.perf_counter()
        fits = {}
        for g, sub in pdf.groupby("group", sort=True):
            fits[g] = KaplanMeierFitter().fit(sub["duration"], event_observed=sub["event"])
        out["fit_raw_rows"] = time.perf_counter() - t
        out["call"] = out["per_user_rows"] + out["fit_raw_rows"]
        out["call_cpu"] = time.process_time() - c
        table = fits_table(fits)
        out["n"] = len(pdf)
        out["groups"] = len(fits)
    table.write_parquet(dump)
    return out


# --------------------------------------------------------------------------- parent side


def run_case(name: str, data: Path, dump: Path) -> dict:
    """The case in a fresh interpreter: wall and CPU seconds, peak RSS (MB), load average, phases.

    The pandas case runs under ``RLIMIT_AS`` = ``BENCH_PANDAS_LIMIT_GB`` (default 18 GB):
    pandas holds every event in memory, and a MemoryError is a result, not a crash.
    """
    limit = PANDAS_LIMIT_GB if name == "lifelines" else None
    cmd = case_command(__file__, name, data, dump)
    return {"case": name, **run(cmd, memory_limit_gb=limit, child_json=True)}


def max_difference(ours: pl.DataFrame, theirs: pl.DataFrame) -> float:
    """Largest |S_ours(t) - S_theirs(t)| over every time of either fit (step functions)."""

    def at(curve: pl.DataFrame, times: pl.DataFrame) -> pl.DataFrame:
        return (
            times.sort("group", "t")
            .join_asof(
                curve.sort("group", "t").rename({"survival": "s"}),
                on="t",
                by="group",
                strategy="backward",
                check_sortedness=False,
            )
            .with_columns(pl.col("s").fill_null(1.0))
        )

    times = pl.concat([ours.select("group", "t"), theirs.select("group", "t")]).unique()
    a = at(ours, times).rename({"s": "a"})
    b = at(theirs, times).rename({"s": "b"})
    diff = a.join(b, on=["group", "t"]).select((pl.col("a") - pl.col("b")).abs().max()).item()
    return float(diff)


def tier_dir(tier: str, a: argparse.Namespace) -> Path | None:
    """The dataset of a tier (building it if needed); None when it cannot be built."""
    users = TIERS[tier]
    if tier == "M":
        data = a.data or Path("/tmp/bench/sim-1000000")
        return ensure_simulated(data, users=users, seed=42)
    free = shutil.disk_usage(a.work).free / 2**30
    if free < 40:
        print(f"skipping tier L: only {free:.0f} GB free under {a.work} (needs ~40 GB)")
        return None
    # the simulator writes the L tier chunk by chunk (Parquet parts, memory of one chunk)
    return ensure_simulated(a.work / "sim-10000000", users=users, seed=42)


GOALS = {("M", "polars"): 5.0, ("M", "duckdb"): 5.0, ("L", "polars"): 60.0, ("L", "duckdb"): 60.0}
GOAL_MB = {"L": 8 * 1024}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tiers", nargs="+", choices=list(TIERS), default=["M"])
    ap.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    ap.add_argument(
        "--data",
        type=Path,
        default=None,
        help="M-tier dataset dir (default /tmp/bench/sim-1000000)",
    )
    ap.add_argument(
        "--work", type=Path, default=Path("/tmp/bench_l"), help="L-tier chunks and fitted curves"
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument(
        "--report-only", action="store_true", help="rewrite retention.md from retention.json"
    )
    a = ap.parse_args()
    if a.report_only:
        saved = json.loads((a.out / "retention.json").read_text())
        tiers = sorted({r["tier"] for r in saved["rows"]})
        text = report(saved["rows"], saved["checks"], saved["meta"], tiers)
        write_results(a.out, "retention", text)
        print(text)
        return
    a.work.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    checks: dict[str, dict] = {}
    for tier in a.tiers:
        data = tier_dir(tier, a)
        if data is None:
            rows.append({"tier": tier, "case": "all", "skipped": "not enough disk"})
            continue
        dumps = {}
        for name in a.cases:
            dumps[name] = a.work / f"curves-{tier}-{name}.parquet"
            res = run_case(name, data, dumps[name])
            goal = GOALS.get((tier, name))
            users = json.loads((data / "manifest.json").read_text())["users"]
            res.update(
                tier=tier,
                users=users,
                goal_seconds=goal,
                met=None if goal is None or "call" not in res else res["call"] <= goal,
            )
            if tier in GOAL_MB and name in ("polars", "duckdb"):
                res.update(
                    goal_mb=GOAL_MB[tier],
                    met_mb=None if res["peak_mb"] is None else res["peak_mb"] <= GOAL_MB[tier],
                )
            rows.append(res)
            print(json.dumps(res), flush=True)
        ok = {n: d for n, d in dumps.items() if d.exists()}
        check: dict = {}
        if "polars" in ok and "lifelines" in ok:
            check["max_abs_diff_vs_lifelines"] = max_difference(
                pl.read_parquet(ok["polars"]), pl.read_parquet(ok["lifelines"])
            )
        if "polars" in ok and "duckdb" in ok:
            check["max_abs_diff_duckdb_vs_polars"] = max_difference(
                pl.read_parquet(ok["polars"]), pl.read_parquet(ok["duckdb"])
            )
        byname = {r["case"]: r for r in rows if r.get("tier") == tier and "call" in r}
        if "polars" in byname and "lifelines" in byname:
            check["speedup_vs_lifelines"] = round(
                byname["lifelines"]["call"] / byname["polars"]["call"], 2
            )
            check["speedup_cpu_vs_lifelines"] = round(
                byname["lifelines"]["call_cpu"] / byname["polars"]["call_cpu"], 2
            )
            check["speedup_fit_only"] = round(
                byname["lifelines"]["fit_raw_rows"] / byname["polars"]["fit_counts"], 1
            )
        checks[tier] = check
        print(tier, json.dumps(check), flush=True)
    meta = machine(polars=pl.__version__, by=BY)
    text = report(rows, checks, meta, a.tiers)
    write_results(a.out, "retention", text, {"meta": meta, "rows": rows, "checks": checks})
    print(text)


def report(rows: list[dict], checks: dict, meta: dict, tiers: list[str]) -> str:
    """The Markdown table of the results, with goals and whether they are met."""
    yn = {True: "yes", False: "no", None: "—"}
    lines = [
        f'# retention_curves(dataset, by="{BY}") — 5 segments',
        "",
        "| tier | users | case | call s (wall) | call CPU s | load s | process s (wall / CPU) | peak MB "
        "| load avg (before/after) | goal | met |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "skipped" in r:
            lines.append(
                f"| {r['tier']} | {TIERS[r['tier']]:,} | — | skipped: {r['skipped']} | | | | | | | |"
            )
            continue
        if "call" not in r:
            lines.append(
                f"| {r['tier']} | {r['users']:,} | {r['case']} | failed (exit {r['exit']}) | | "
                f"{r['process_seconds']} | {r['peak_mb']} | | | | |"
            )
            continue
        call = f"{r['call']:.2f}"
        if r["case"] == "lifelines":
            call += f" ({r['per_user_rows']:.2f} per-user rows + {r['fit_raw_rows']:.2f} fit on raw rows)"
        else:
            call += f" (of which KM fit from {r['count_rows']:,} count rows {r['fit_counts']:.3f})"
        goal = f"≤ {r['goal_seconds']:g} s" if r.get("goal_seconds") else "—"
        met = yn[r.get("met")]
        if "goal_mb" in r:
            goal += f", ≤ {r['goal_mb'] // 1024} GB"
            met += f" / {yn[r['met_mb']]}"
        lines.append(
            f"| {r['tier']} | {r['users']:,} | {r['case']} | {call} | {r['call_cpu']:.2f} | {r['load']:.2f} | "
            f"{r['process_seconds']} / {r['process_cpu_seconds']} | {r['peak_mb']} | {r['loadavg_before']}/{r['loadavg_after']} | "
            f"{goal} | {met} |"
        )
    lines.append("")
    for tier, c in checks.items():
        parts = []
        if "max_abs_diff_vs_lifelines" in c:
            d = c["max_abs_diff_vs_lifelines"]
            parts.append(
                f"max |S_ours − S_lifelines| over all times = {d:.2e} (goal ≤ 1e-9: {yn[d <= 1e-9]})"
            )
        if "max_abs_diff_duckdb_vs_polars" in c:
            parts.append(f"DuckDB vs Polars max diff = {c['max_abs_diff_duckdb_vs_polars']:.2e}")
        if "speedup_vs_lifelines" in c:
            goal = " (goal ≥ 5x at L)" if tier == "L" else " (the ≥ 5x goal is set at L)"
            parts.append(
                f"speed-up vs lifelines (per-user rows + fit) = {c['speedup_vs_lifelines']}x wall, "
                f"{c['speedup_cpu_vs_lifelines']}x CPU{goal}; fit alone (KM from counts vs "
                f"KaplanMeierFitter on raw rows) {c['speedup_fit_only']}x"
            )
        lines.append(f"- {tier}: " + "; ".join(parts))
    if "L" not in tiers:
        lines.append(
            "- L tier (10M users): NOT run. Building it takes 10 simulations of 1M users (~6 min each "
            "and ~6 GB RAM on this shared, overloaded machine), which did not fit the session; the goals "
            "at L (≤ 60 s, ≤ 8 GB, ≥ 5x lifelines) are therefore unmeasured. Run "
            "`python benchmarks/bench_retention.py --tiers L` (simulates it first with `insights simulate --users 10000000`, chunked)."
        )
    lines += [
        "",
        "call = the analysis call in-process (retention_curves; for lifelines per-user rows + KM fits); "
        "load = load_dataset (validate=False); process = whole fresh interpreter incl. imports. "
        "Load average = 1-min `os.getloadavg()` before/after the case (2-core machine shared with other jobs).",
        "",
        f"{meta}",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__" and not serve_child(case):
    main()
