"""Value benchmark: one call of each issue-4 analysis at 1M users, Polars and DuckDB inputs.

Each (analysis, engine) case runs in a fresh interpreter (``_harness.run``): wall and
CPU seconds of the process and of the call alone, the child's own peak RSS and the
1-minute load average before and after (the machine is shared: read the timings next
to it). Children run with ``INSIGHTS_CACHE_DIR=off`` so the results cache never answers
for the engine.

The dataset is loaded with ``validate=False`` (validation is the foundation
benchmark's business) by ``_harness.open_dataset``: ``load_dataset(dir)`` on Polars
LazyFrames, or one ``con.read_parquet`` per table then ``load_dataset(**relations)`` on
DuckDB.

Results: ``benchmarks/results/value.json`` and ``value.md``.

Usage: ``python benchmarks/bench_value.py [--data /tmp/bench/sim-1000000]
[--engines polars duckdb] [--cases growth_table cohort_ltv ...] [--keep]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _harness import (
    ENGINES,
    RESULTS,
    case_command,
    machine,
    open_dataset,
    run,
    serve_child,
    write_results,
)

QUARTER_END = "2024-12-31"

#: case name -> (call shown in the table, function of the Dataset)
CALLS: dict[str, tuple[str, Callable[[Any], Any]]] = {}


def _case(name: str, shown: str) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    def register(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        CALLS[name] = (shown, fn)
        return fn

    return register


# the calls (child side; imports inside so the parent stays light) --------------------


@_case("growth_table", "growth_table(ds)")
def _growth(ds: Any) -> Any:
    from insights.metrics import growth_table

    return growth_table(ds)


@_case("cohort_ltv", "cohort_ltv(ds)  # monthly cohorts, 365 d, 200 bootstrap")
def _cohort_ltv(ds: Any) -> Any:
    from insights.metrics import cohort_ltv

    return cohort_ltv(ds)


@_case("projected_ltv", 'projected_ltv(ds, period="2023")')
def _projected(ds: Any) -> Any:
    from insights.metrics import projected_ltv

    return projected_ltv(ds, period="2023")


@_case("ltv_cac", 'ltv_cac(ds, period="2023")  # by channel')
def _ltv_cac(ds: Any) -> Any:
    from insights.metrics import ltv_cac

    return ltv_cac(ds, period="2023")


@_case("high_vs_ordinary", 'high_vs_ordinary(ds, period="2024Q1")')
def _high(ds: Any) -> Any:
    from insights.metrics import high_vs_ordinary

    return high_vs_ordinary(ds, period="2024Q1")


@_case("dose_response", 'interaction_dose_response(ds, period="2024Q1")')
def _dose(ds: Any) -> Any:
    from insights.metrics import interaction_dose_response

    return interaction_dose_response(ds, period="2024Q1")


@_case("private_funnel", 'private_funnel(ds, period="2024Q1")')
def _funnel(ds: Any) -> Any:
    from insights.metrics import private_funnel

    return private_funnel(ds, period="2024Q1")


@_case("member_comparison", 'member_comparison(ds, period="2024Q1")  # landmark 30 d')
def _members(ds: Any) -> Any:
    from insights.metrics import member_comparison

    return member_comparison(ds, period="2024Q1")


@_case("lifecycle_layers", f'lifecycle_layers(ds, at="{QUARTER_END}")')
def _layers(ds: Any) -> Any:
    from insights.metrics import lifecycle_layers

    return lifecycle_layers(ds, at=QUARTER_END)


@_case("transitions", f'lifecycle_transitions(ds, at=["2024-09-30", "{QUARTER_END}"])')
def _transitions(ds: Any) -> Any:
    from insights.metrics import lifecycle_transitions

    return lifecycle_transitions(ds, at=["2024-09-30", QUARTER_END])


@_case("rfm_segments", f'rfm_segments(ds, at="{QUARTER_END}")')
def _rfm(ds: Any) -> Any:
    from insights.metrics import rfm_segments

    return rfm_segments(ds, at=QUARTER_END)


@_case("pareto_curve", 'pareto_curve(ds, period="2024")')
def _pareto(ds: Any) -> Any:
    from insights.metrics import pareto_curve

    return pareto_curve(ds, period="2024")


@_case("experiment_effects", 'experiment_effects(ds, experiment="newcomer_7day_plan")')
def _experiment(ds: Any) -> Any:
    from insights.metrics import experiment_effects

    return experiment_effects(ds, experiment="newcomer_7day_plan")


def case(name: str, engine: str, data: str) -> dict:
    """Run one case in this process: import, load and call seconds."""
    t0 = time.perf_counter()
    import insights.data  # noqa: F401 - the import time of the package

    out: dict[str, Any] = {"import": time.perf_counter() - t0}
    t = time.perf_counter()
    ds = open_dataset(data, engine)
    out["load"] = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    result = CALLS[name][1](ds)
    out["call"] = time.perf_counter() - t
    out["call_cpu"] = time.process_time() - c
    frame = getattr(result, "summary", result)
    out["rows"] = int(getattr(frame, "height", 0))
    return out


# parent side ---------------------------------------------------------------------------


def run_case(name: str, engine: str, data: Path) -> dict:
    """The case in a fresh interpreter with the cache off; process wall/CPU, peak RSS, load."""
    res = run(case_command(__file__, name, engine, data), child_json=True)
    return {"case": name, "engine": engine, **res}


def report(rows: list[dict], meta: dict) -> str:
    """The Markdown page: one row per analysis, a column pair per engine."""
    engines = [e for e in ENGINES if any(r["engine"] == e for r in rows)]
    head = ["analysis", "call"]
    for e in engines:
        head += [f"{e} call s", f"{e} call CPU s", f"{e} process s", f"{e} peak MB", f"{e} load"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in dict.fromkeys(r["case"] for r in rows):
        cells = [name, f"`{CALLS[name][0]}`"]
        for e in engines:
            r = next((r for r in rows if r["case"] == name and r["engine"] == e), None)
            if r is None:
                cells += ["—"] * 5
            elif r["exit"] != 0:
                cells += ["failed", "—", str(r["process_seconds"]), "—", str(r["loadavg_before"])]
            else:
                cells += [
                    f"{r['call']:.1f}",
                    f"{r['call_cpu']:.1f}",
                    f"{r['process_seconds']:.1f}",
                    str(r["peak_mb"]),
                    f"{r['loadavg_before']:.1f}→{r['loadavg_after']:.1f}",
                ]
        lines.append("| " + " | ".join(cells) + " |")
    failed = [r for r in rows if r["exit"] != 0]
    notes = [f"\n**{r['case']} / {r['engine']} failed**:\n\n```\n{r['tail']}\n```" for r in failed]
    return (
        f"# Issue-4 analyses at {meta['users']:,} users\n\n"
        f"Command: `{meta['command']}`\n\n"
        "Each cell is one run in a fresh process (`INSIGHTS_CACHE_DIR=off`, "
        "`load_dataset(..., validate=False)`): *call* = the analysis call alone "
        "(wall and CPU seconds of the process; CPU > wall means the engine ran in "
        "parallel), *process* = interpreter start + import + load + call, *peak MB* the "
        "child's own peak RSS, *load* the 1-minute load average before → after the case "
        f"(shared machine, {meta['machine']}).\n\n" + "\n".join(lines) + "\n\n"
        f"{json.dumps(meta)}\n" + "".join(notes)
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=Path("/tmp/bench/sim-1000000"))
    ap.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    ap.add_argument("--cases", nargs="+", choices=list(CALLS), default=list(CALLS))
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--keep", action="store_true", help="keep other cases' rows of value.json")
    a = ap.parse_args()
    manifest = json.loads((a.data / "manifest.json").read_text())
    rows = []
    for name in a.cases:
        for engine in a.engines:
            res = run_case(name, engine, a.data)
            rows.append(res)
            shown = f"{res['call']:6.1f} s call" if res["exit"] == 0 else "FAILED"
            print(
                f"{name:20s} {engine:7s} {shown}  {res['process_seconds']:6.1f} s process  "
                f"{res['peak_mb'] or '-'} MB  load {res['loadavg_before']}",
                flush=True,
            )
    meta = machine(
        users=manifest["users"],
        data=str(a.data),
        command="python benchmarks/bench_value.py " + " ".join(sys.argv[1:]),
    )
    saved = a.out / "value.json"
    if a.keep and saved.exists():  # re-run some cases, keep the others' rows
        done = {(r["case"], r["engine"]) for r in rows}
        old = [
            r for r in json.loads(saved.read_text())["rows"] if (r["case"], r["engine"]) not in done
        ]
        rows = sorted(old + rows, key=lambda r: (list(CALLS).index(r["case"]), r["engine"]))
        meta["command"] = (
            json.loads(saved.read_text())["meta"]["command"] + "`, then `" + meta["command"]
        )
    text = report(rows, meta)
    write_results(a.out, "value", text, {"meta": meta, "rows": rows})
    print(text)


if __name__ == "__main__" and not serve_child(case):
    main()
