"""``insights``: the command line, a thin typer app over the public API."""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from insights.cli_validate import DoorGroup, OptionError, check_options, data_refusal, refuse

app = typer.Typer(
    help="Live-commerce retention, value and strategy analytics.",
    no_args_is_help=True,
    add_completion=False,
    cls=DoorGroup,  # option errors: one line, exit 2; no traceback without --debug
)
console = Console() if sys.stdout.isatty() else Console(width=160)
err = Console(stderr=True)

DataDir = Annotated[
    Path, typer.Argument(help="Dataset directory (Parquet/CSV files named after the tables).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON records instead of a table.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show Python tracebacks.")]
ProgressOpt = Annotated[
    bool | None,
    typer.Option(
        "--progress/--no-progress",
        help="Progress bars on stderr (default: when stderr is a terminal and CI is not set).",
    ),
]


ChurnGapOpt = Annotated[
    int | None,
    typer.Option(
        "--churn-gap",
        min=1,
        help="Days without activity after which a user counts as churned (default: dataset.yaml churn_gap, else 30).",
    ),
]


def _load(path: Path, debug: bool, progress: bool | None = None, *, churn_gap: int | None = None):
    """Load and validate a dataset, or exit 2 with one to three lines (unreadable, rules broken)."""
    from insights.data._read import DataReadError
    from insights.data.load import DataValidationError, load_dataset

    try:
        return load_dataset(path, progress=progress, churn_gap=churn_gap)
    except DataReadError as exc:
        refuse(f"cannot read {path}: {exc}", debug=debug)
    except DataValidationError as exc:
        refuse(data_refusal(exc.log, path), debug=debug)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Directory to write (replaced atomically).")],
    users: Annotated[int, typer.Option("--users", min=1, help="Number of users.")] = 200_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same bytes.")] = 42,
    scenario: Annotated[
        Path | None,
        typer.Option("--scenario", help="Scenario YAML (default: data/scenarios/default.yaml)."),
    ] = None,
    chunk: Annotated[
        int,
        typer.Option(
            "--chunk",
            min=1,
            help="Above this many users, simulate in chunks of it and write tables as Parquet parts (memory of one chunk).",
        ),
    ] = 1_000_000,
) -> None:
    """Generate a calibrated live-commerce dataset (2021-01-01 .. 2024-12-31)."""
    from insights.simulator import simulate as run
    from insights.simulator import simulate_chunked

    start = time.perf_counter()
    with console.status("simulating") as status:

        def say(s: str) -> None:
            status.update(f"simulating: {s}")

        if users > chunk:
            manifest = simulate_chunked(
                out, users=users, chunk=chunk, seed=seed, scenario=scenario, progress=say
            )
        else:
            manifest = run(out, users=users, seed=seed, scenario=scenario, progress=say)
    rows = ", ".join(f"{k} {v:,}" for k, v in manifest["rows"].items())
    console.print(f"wrote {out} in {time.perf_counter() - start:.1f} s: {rows}")


@app.command()
def validate(
    path: DataDir,
    json_out: JsonOpt = False,
    debug: DebugOpt = False,
    allow_unknown_labels: Annotated[
        bool,
        typer.Option(
            "--allow-unknown-labels",
            help="Map unknown category labels to 'other' (warned, counted).",
        ),
    ] = False,
) -> None:
    """Check every rule of the data contract; exit 0 clean, 1 rule broken, 2 unreadable."""
    from insights.cli_validate import validate_command

    raise typer.Exit(validate_command(path, json_out, debug, allow_unknown_labels))


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}" if unit in ("pct", "days", "money", "yuan", "index") else f"{value:.2f}"


@app.command()
def calibrate(
    path: DataDir,
    json_out: JsonOpt = False,
    debug: DebugOpt = False,
    widen: Annotated[
        bool,
        typer.Option(
            "--widen", help="Widen tolerances by each estimate's sampling error (small datasets)."
        ),
    ] = False,
    progress: ProgressOpt = None,
) -> None:
    """Compare the data with every calibration target; exit 1 if any fails."""
    from insights.calibration import calibrate as run

    ds = _load(path, debug, progress)
    result = run(ds, widen=widen, progress=progress)
    if json_out:
        print(json.dumps(result.to_dicts(), ensure_ascii=False, indent=1, default=str))
    else:
        table = Table(title=f"Calibration of {path}", show_lines=False)
        for col in (
            "id",
            "metric",
            "segment",
            "period",
            "target",
            "value",
            "95% CI",
            "tol",
            "pass",
        ):
            table.add_column(col, justify="right" if col in ("target", "value", "tol") else "left")
        for r in result.iter_rows(named=True):
            ci = (
                "—"
                if r["ci_low"] is None
                else f"{_fmt(r['ci_low'], r['unit'])}–{_fmt(r['ci_high'], r['unit'])}"
            )
            mark = (
                "[green]pass[/]"
                if r["passed"]
                else f"[red]FAIL[/]{' ' + r['error'] if r['error'] else ''}"
            )
            table.add_row(
                r["id"],
                r["metric"],
                r["segment"],
                r["period"],
                _fmt(r["target"], r["unit"]),
                _fmt(r["value"], r["unit"]),
                ci,
                f"±{r['tolerance_used']:.2g}",
                mark,
            )
        console.print(table)
        console.print(f"{result['passed'].sum()} of {result.height} targets within tolerance")
    raise typer.Exit(0 if bool(result["passed"].all()) else 1)


@app.command()
def kpis(
    path: DataDir,
    quarter: Annotated[
        str | None,
        typer.Option(
            "--quarter", help="Quarter such as 2024Q4 (default: the data's last full quarter)."
        ),
    ] = None,
    compare_to: Annotated[
        str, typer.Option("--compare-to", help="previous, year_ago or a quarter.")
    ] = "previous",
    by: Annotated[
        str | None, typer.Option("--by", help="Users column to split by (e.g. platform).")
    ] = None,
    min_cell: Annotated[
        int, typer.Option("--min-cell", min=1, help="Suppress segments smaller than this.")
    ] = 10,
    churn_gap: ChurnGapOpt = None,
    json_out: JsonOpt = False,
    debug: DebugOpt = False,
    progress: ProgressOpt = None,
) -> None:
    """The KPI scorecard of a quarter with 95% CI and n, next to the comparison quarter."""
    from insights._registry import metric_info
    from insights.kpis import kpi_scorecard

    ds = _load(path, debug, progress, churn_gap=churn_gap)
    try:
        quarter, compare_to, by_notes = check_options(
            ds, quarter=quarter, compare_to=compare_to, by=by
        )
    except OptionError as exc:
        refuse(f"insights kpis: {exc}")
    for note in by_notes:
        print(f"note: {note}", file=sys.stderr)
    try:  # a --by column that identifies individuals is refused, naming none of its values
        frame, notes = kpi_scorecard(
            ds, quarter=quarter, compare_to=compare_to, by=by, min_cell=min_cell, progress=progress
        )
    except ValueError as exc:
        refuse(f"insights kpis: {exc}", debug=debug)
    if json_out:
        from insights.kpis import json_records  # floats rounded: the same bytes every run

        print(json.dumps(json_records(frame), ensure_ascii=False, indent=1, default=str))
    else:
        quarters = sorted(frame["quarter"].unique().to_list())
        table = Table(title=f"KPI scorecard {quarter} (vs {compare_to}){' by ' + by if by else ''}")
        table.add_column("metric")
        table.add_column("segment")
        for q in quarters:
            table.add_column(f"{q}", justify="right")
            table.add_column("95% CI", justify="right")
            table.add_column("n", justify="right")
        for (metric, segment), part in frame.group_by(["metric", "segment"], maintain_order=True):
            cells: list[str] = [str(metric), str(segment)]
            for q in quarters:
                row = part.filter(part["quarter"] == q)
                if row.height == 0 or row["suppressed"][0]:
                    cells += [f"<{min_cell}" if row.height else "—", "", ""]
                    continue
                r = row.row(0, named=True)
                rate = metric_info(str(metric)).unit in ("rate", "uplift")
                f = (
                    (lambda v: "—" if v is None else f"{100 * v:.1f}%")
                    if rate
                    else (lambda v: "—" if v is None else f"{v:.1f}")
                )
                ci = "" if r["ci_low"] is None else f"{f(r['ci_low'])}–{f(r['ci_high'])}"
                mark = " †" if r.get("complete") is False and r["value"] is not None else ""
                cells += [f(r["value"]) + mark, ci, f"{r['n']:,}"]
            table.add_row(*cells)
        console.print(table)
        if frame["complete"].eq(False).any():
            console.print("† provisional: the window is still open for part of the quarter")
        for note in notes:
            console.print(f"[yellow]note[/]: {note}")


@app.command()
def report(
    path: DataDir,
    quarter: Annotated[
        str | None,
        typer.Option(
            "--quarter", help="Quarter such as 2024Q4 (default: the data's last quarter)."
        ),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh, en, or both: zh,en.")] = "zh",
    formats: Annotated[str, typer.Option("--format", help="pdf, html or pdf,html.")] = "pdf,html",
    out: Annotated[
        Path, typer.Option("--out", help="Output root: files go to OUT/<quarter>/.")
    ] = Path("reports"),
    backend: Annotated[
        str, typer.Option("--backend", help="auto (quarto when installed), quarto or builtin.")
    ] = "auto",
    by: Annotated[
        str | None,
        typer.Option("--by", help="One report per value of this users column (e.g. platform)."),
    ] = None,
    compare_to: Annotated[
        str, typer.Option("--compare-to", help="previous, year_ago or a quarter.")
    ] = "previous",
    min_cell: Annotated[
        int, typer.Option("--min-cell", min=1, help="Suppress segments smaller than this.")
    ] = 10,
    chapters: Annotated[
        str | None, typer.Option("--chapters", help="Only these chapters, e.g. 00,02-retention.")
    ] = None,
    notebooks: Annotated[
        Path | None,
        typer.Option(
            "--notebooks",
            help="Chapter notebooks directory (default: the project's notebooks/, else the packaged chapters).",
        ),
    ] = None,
    title: Annotated[
        str | None,
        typer.Option(
            "--title",
            help="Cover title (default: dataset.yaml report.title, else the standard title).",
        ),
    ] = None,
    subtitle: Annotated[
        str | None,
        typer.Option(
            "--subtitle",
            help="Cover subtitle (default: dataset.yaml report.subtitle, else the quarter).",
        ),
    ] = None,
    documents: Annotated[
        bool | None,
        typer.Option(
            "--documents/--no-documents",
            help="Compare with the industry documents' figures (default: dataset.yaml report.compare_documents, else yes).",
        ),
    ] = None,
    churn_gap: ChurnGapOpt = None,
    jobs: Annotated[
        int, typer.Option("--jobs", min=1, help="Chapters executed at once (one kernel each).")
    ] = 2,
    debug: DebugOpt = False,
    progress: ProgressOpt = None,
) -> None:
    """Execute the chapter notebooks and render the quarterly report (PDF/HTML); exit 2 on bad parameters, 1 on a failed render."""
    from rich.markup import escape

    from insights.report import RenderError, render

    if path.is_dir():  # the data and every option are checked before any kernel starts
        ds = _load(path, debug, progress, churn_gap=churn_gap)
        try:
            quarter, compare_to, by_notes = check_options(
                ds, quarter=quarter, compare_to=compare_to, by=by, lang=lang, formats=formats,
                backend=backend,
            )  # fmt: skip
        except OptionError as exc:
            refuse(f"insights report: {exc}")
        for note in by_notes:
            print(f"note: {note}", file=sys.stderr)
    start = time.perf_counter()
    try:  # every language and segment: all rendered, then all published, or nothing
        files = render(
            path, quarter=quarter or "", lang=lang, formats=formats, out=out, backend=backend,  # type: ignore[arg-type]
            by=by, min_cell=min_cell, compare_to=compare_to, notebooks=notebooks, jobs=jobs,
            chapters=chapters.split(",") if chapters else None, progress=progress,
            title=title, subtitle=subtitle, compare_documents=documents, churn_gap=churn_gap,
        )  # fmt: skip
    except RenderError as exc:
        if debug:
            traceback.print_exc()
        trace = getattr(exc, "traceback", None)
        if trace:
            err.print(trace, markup=False, highlight=False)
        err.print(
            f"[bold red]report failed[/]: {escape(str(exc))}; nothing was written to "
            f"{escape(str(out))} (files already there are unchanged)",
            highlight=False, soft_wrap=True,
        )  # fmt: skip
        raise typer.Exit(1) from None
    except ValueError as exc:
        if debug:
            traceback.print_exc()
        err.print(f"[bold red]bad parameter[/]: {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    for file in files:
        console.print(f"wrote {file}", soft_wrap=True, highlight=False)
    console.print(f"{len(files)} file(s) in {time.perf_counter() - start:.1f} s")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
