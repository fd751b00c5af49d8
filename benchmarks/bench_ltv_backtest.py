"""Back-test of :func:`insights.metrics.ltv_projection.projected_ltv` on simulated data.

For each dataset, acquisition cohort and cut-off (1, 3 and 6 months after the end
of the cohort's acquisition period), the 12-month LTV per acquired user is
projected from the data up to the cut-off and compared with the realised value on
the full data. The goal (issue 4) is |error| < 10% at the 3- and 6-month cut-offs.
Each row also shows the pieces of the tail: the AIC-best survival model, ``t_km``
(last day of Kaplan–Meier), m̄ and b of the survivors' spend m(t) = m̄ (S/S(t_km))^(b-1)
and ρ̄, the daily GMV per churned user (reactivation).

Usage: ``python benchmarks/bench_ltv_backtest.py [DATA_DIR ...]`` (default
/tmp/bench/sim-200000); about 2 s per row at 200k users. Writes
``benchmarks/results/ltv_backtest.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from _harness import RESULTS, machine, write_results

from insights.data import load_dataset
from insights.metrics.ltv_projection import ltv_backtest, projected_ltv

COHORTS = {
    "2022H2": ("2022-07-01", "2022-12-31"),
    "2023H1": ("2023-01-01", "2023-06-30"),
    "2023Q3": ("2023-07-01", "2023-09-30"),
    "2023H2": ("2023-07-01", "2023-12-31"),
}


def _months_after(day: str, months: int) -> dt.date:
    """Last day of the month ``months`` months after ``day``'s month."""
    d = dt.date.fromisoformat(day)
    k = d.year * 12 + d.month + months  # month index of the month after the target
    return dt.date(k // 12, k % 12 + 1, 1) - dt.timedelta(days=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="*", default=["/tmp/bench/sim-200000"])
    ap.add_argument("--cohorts", default=",".join(COHORTS))
    ap.add_argument("--months", default="1,3,6")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    lines = [
        "# Projected LTV back-test (12-month LTV per acquired user)",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_ltv_backtest.py {' '.join(args.data)}`",
        "",
        "| data | seed | cohort | cut-off | months after | predicted | realised | error "
        "| model | t_km | m̄ | b | ρ̄ | s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for path in args.data:
        ds = load_dataset(path)
        seed = json.loads((Path(path) / "manifest.json").read_text()).get("seed", "?")
        for name in args.cohorts.split(","):
            period = COHORTS[name]
            for k in (int(x) for x in args.months.split(",")):
                cut = _months_after(period[1], k)
                t0 = time.perf_counter()
                r = ltv_backtest(ds, cutoff=cut.isoformat(), period=period).row(0, named=True)
                info = projected_ltv(ds.with_as_of(cut.isoformat()), period=period).row(
                    0, named=True
                )
                secs = time.perf_counter() - t0
                row = (f"| {Path(path).name} | {seed} | {name} | {cut} | {k} | {r['predicted']:.2f} "
                       f"| {r['realised']:.2f} | {r['value']:+.1%} | {r['model']} | {r['t_km']} "
                       f"| {info['m_tail']:.3f} | {info['b']:.2f} | {info['rho_tail']:.4f} | {secs:.1f} |")  # fmt: skip
                print(row, flush=True)
                lines.append(row)
    meta = machine()
    lines += ["", f"{meta['machine']}; {meta['date']}"]
    write_results(args.out, "ltv_backtest", "\n".join(lines) + "\n")
    print(f"wrote {args.out / 'ltv_backtest.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
