"""Bad input is stopped at the door: every refusal of the command line, end to end.

Each case writes one bad input (a hand-made change to a small simulated dataset, or a bad
option) and runs the command: the exit code is the documented one (2 refused, 1 a rule
broken for ``validate``), the message names the table/column/file or option it is about
(and the valid choices for options), stderr holds at most three lines and never a
traceback, and ``report`` refuses before any kernel starts (``render`` is replaced by a
function that fails the test if called).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import insights.report as report_module
from insights.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from insights.simulator import simulate

    out = tmp_path_factory.mktemp("door") / "base"
    simulate(out, users=1_500, seed=7)  # first user 2021-01-02, as_of 2024-12-31
    return out


def _rows(column: str, rows: dict[int, object], dtype: pl.DataType) -> pl.Expr:
    expr = pl.col(column)
    index = pl.int_range(pl.len())
    for row, value in rows.items():
        expr = pl.when(index == row).then(pl.lit(value, dtype)).otherwise(expr)
    return expr.alias(column)


def _edit_table(table: str, column: str, rows: dict[int, object]) -> Callable[[Path], None]:
    def change(d: Path) -> None:
        frame = pl.read_parquet(d / f"{table}.parquet")
        frame.with_columns(_rows(column, rows, pl.Float64)).write_parquet(d / f"{table}.parquet")

    return change


def _yaml(text: str) -> Callable[[Path], None]:
    def change(d: Path) -> None:
        (d / "dataset.yaml").write_text(text, encoding="utf-8")

    return change


def _users_csv(d: Path, data: bytes) -> None:
    (d / "users.parquet").unlink()
    (d / "users.csv").write_bytes(data)


def _gbk_with_bom(d: Path) -> None:
    users = pl.read_parquet(d / "users.parquet").with_columns(pl.lit("\u4e2d\u6587").alias("note"))
    _users_csv(d, b"\xef\xbb\xbf" + users.write_csv().encode("gbk"))


def _duplicate_header(d: Path) -> None:
    text = pl.read_parquet(d / "users.parquet").write_csv()
    head, rest = text.split("\n", 1)
    _users_csv(d, (head.replace("channel", "platform") + "\n" + rest).encode())


def _all_refunded_by_net(d: Path) -> None:
    orders = pl.read_parquet(d / "orders.parquet")
    pl.concat([orders, orders.with_columns(-pl.col("amount"))]).write_parquet(d / "orders.parquet")
    (d / "dataset.yaml").write_text("timezone: Asia/Shanghai\nas_of: 2024-12-31\nrefunds: net\n")


def _extra_columns(d: Path) -> None:
    users = pl.read_parquet(d / "users.parquet")
    users = users.with_columns(
        (pl.col("user_id") % 7).alias("score"),
        pl.when(pl.col("user_id") % 3 == 0).then(None).otherwise(pl.lit("a")).alias("club"),
    )
    users.write_parquet(d / "users.parquet")


#: under 400 bytes of nested aliases: 9**7 "lol"s twice when expanded (the "billion laughs")
LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "notes: *g\ntimezone: *g\n"
)


@dataclass(frozen=True)
class Bad:
    id: str
    args: tuple[str, ...]  # DIR stands for the dataset directory
    code: int
    names: tuple[str, ...]  # what the message must name
    change: Callable[[Path], None] | None = None
    stdout: bool = field(default=False)  # validate's rule report goes to stdout


CASES = [
    # values the contract forbids: validate exits 1, report and kpis refuse with exit 2
    Bad("validate_nan_amount", ("validate", "DIR"), 1, ("orders", "amount", "nonfinite"),
        _edit_table("orders", "amount", {0: float("nan"), 1: float("inf")}), stdout=True),
    Bad("validate_inf_watch", ("validate", "DIR"), 1, ("views", "watch_seconds", "nonfinite"),
        _edit_table("views", "watch_seconds", {2: float("-inf")}), stdout=True),
    Bad("report_nan_amount", ("report", "DIR", "--out", "OUT"), 2,
        ("orders.amount", "nonfinite", "2 rows", "insights validate"),
        _edit_table("orders", "amount", {0: float("nan"), 1: float("inf")})),
    Bad("kpis_nan_amount", ("kpis", "DIR"), 2, ("orders.amount", "nonfinite"),
        _edit_table("orders", "amount", {3: float("nan")})),
    Bad("report_all_refunded", ("report", "DIR", "--out", "OUT"), 2,
        ("orders.refunded", "refunded"), _all_refunded_by_net),
    # options checked against the data before any work
    Bad("kpis_by_nosuch", ("kpis", "DIR", "--by", "nosuch"), 2, ("--by", "nosuch", "platform")),
    Bad("kpis_compare_bogus", ("kpis", "DIR", "--compare-to", "bogus"), 2,
        ("--compare-to", "bogus", "previous", "year_ago")),
    Bad("kpis_quarter_before_data", ("kpis", "DIR", "--quarter", "2019Q1"), 2,
        ("--quarter", "2019Q1", "outside the data")),
    Bad("report_by_nosuch", ("report", "DIR", "--by", "nosuch", "--out", "OUT"), 2,
        ("--by", "nosuch", "channel")),
    Bad("report_by_integer", ("report", "DIR", "--by", "score", "--out", "OUT"), 2,
        ("users.score", "Int64", "platform"), _extra_columns),
    Bad("report_quarter_before_data", ("report", "DIR", "--quarter", "2020Q4", "--out", "OUT"),
        2, ("--quarter", "2020Q4")),
    Bad("report_quarter_after_data", ("report", "DIR", "--quarter", "2025Q2", "--out", "OUT"),
        2, ("--quarter", "2025Q2", "2024-12-31")),
    Bad("report_compare_bogus", ("report", "DIR", "--compare-to", "lastyear", "--out", "OUT"),
        2, ("--compare-to", "lastyear", "year_ago")),
    Bad("report_lang", ("report", "DIR", "--lang", "fr", "--out", "OUT"), 2,
        ("--lang", "fr", "zh", "en")),
    Bad("report_format", ("report", "DIR", "--format", "docx", "--out", "OUT"), 2,
        ("--format", "docx", "pdf", "html")),
    Bad("report_backend", ("report", "DIR", "--backend", "latex", "--out", "OUT"), 2,
        ("--backend", "latex", "builtin")),
    # option errors of the parser itself: one line, exit 2
    Bad("kpis_min_cell_zero", ("kpis", "DIR", "--min-cell", "0"), 2, ("--min-cell",)),
    Bad("report_jobs_text", ("report", "DIR", "--jobs", "two"), 2, ("--jobs",)),
    Bad("kpis_unknown_option", ("kpis", "DIR", "--quater", "2024Q4"), 2, ("--quater",)),
    Bad("kpis_missing_path", ("kpis",), 2, ("path",)),
    # dataset.yaml against its schema
    Bad("report_bad_as_of", ("report", "DIR", "--out", "OUT"), 2, ("dataset.yaml", "as_of"),
        _yaml("as_of: yesterday\n")),
    Bad("validate_impossible_as_of", ("validate", "DIR"), 2, ("dataset.yaml", "month"),
        _yaml("as_of: 2024-13-45\n")),
    Bad("validate_misspelt_nested_key", ("validate", "DIR"), 2,
        ("dataset.yaml", "titel", "title"), _yaml("report:\n  titel: Shop A\n")),
    Bad("kpis_wrong_type", ("kpis", "DIR"), 2, ("dataset.yaml", "churn_gap", "whole number"),
        _yaml("churn_gap: thirty\n")),
    Bad("validate_bad_mapping", ("validate", "DIR"), 2, ("dataset.yaml", "mapping"),
        _yaml("mapping:\n  orders:\n    amount: [a, b]\n")),
    Bad("report_billion_laughs", ("report", "DIR", "--out", "OUT"), 2,
        ("dataset.yaml", "aliases"), _yaml(LAUGHS)),
    # files that cannot be read as they are
    Bad("validate_broken_manifest", ("validate", "DIR"), 2, ("manifest.json", "JSON"),
        lambda d: (d / "manifest.json").write_text('{"generator": "insights.simulator", ')),
    Bad("report_broken_manifest", ("report", "DIR", "--out", "OUT"), 2, ("manifest.json",),
        lambda d: (d / "manifest.json").write_text("[1, 2")),
    Bad("validate_gbk_with_bom", ("validate", "DIR"), 2,
        ("users.csv", "table users", "encoding: gb18030"), _gbk_with_bom),
    Bad("kpis_duplicate_header", ("kpis", "DIR"), 2,
        ("users.csv", "table users", "'platform'", "twice"), _duplicate_header),
]  # fmt: skip


def _kernel_must_not_start(*args: object, **kwargs: object) -> list[Path]:
    raise AssertionError("render() was called: a kernel would have started")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_refused_in_one_short_message(
    case: Bad, base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_module, "render", _kernel_must_not_start)
    data = tmp_path / "data"
    shutil.copytree(base, data)
    if case.change is not None:
        case.change(data)
    out = tmp_path / "out"
    args = [str(data) if a == "DIR" else str(out) if a == "OUT" else a for a in case.args]
    res = runner.invoke(app, args)
    shown = res.stdout if case.stdout else res.stderr
    assert res.exit_code == case.code, (res.stdout, res.stderr)
    assert "Traceback" not in res.stdout + res.stderr
    assert 1 <= len(res.stderr.splitlines()) <= 3 or case.stdout, res.stderr
    assert len(res.stderr) < 1_000
    for name in case.names:
        assert name in shown, (name, shown)
    assert not out.exists()  # nothing written


def test_by_column_with_nulls_is_reported(base: Path, tmp_path: Path) -> None:
    from insights.cli_validate import check_options
    from insights.data.load import load_dataset

    data = tmp_path / "data"
    shutil.copytree(base, data)
    _extra_columns(data)
    ds = load_dataset(data)
    expected = sum(1 for u in pl.read_parquet(data / "users.parquet")["user_id"] if u % 3 == 0)
    quarter, compare, notes = check_options(ds, quarter=None, compare_to=" year_ago", by="club")
    assert (quarter, compare) == ("2024Q4", "year_ago")
    assert notes == [f"users.club: {expected:,} users have no value and are in no segment"]


def test_unexpected_error_is_one_line_and_debug_keeps_the_traceback(
    base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import insights.kpis as kpis_module

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom in the scorecard")

    monkeypatch.setattr(kpis_module, "kpi_scorecard", broken)
    res = runner.invoke(app, ["kpis", str(base), "--quarter", "2024Q4"])
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines() == [
        "insights: unexpected RuntimeError: boom in the scorecard (run with --debug for the traceback)"
    ]
    res = runner.invoke(app, ["kpis", str(base), "--quarter", "2024Q4", "--debug"])
    assert res.exit_code == 1
    assert "Traceback" in res.stderr and "boom in the scorecard" in res.stderr


def test_installed_command_refuses_nan_before_any_chapter(base: Path, tmp_path: Path) -> None:
    """The real entry point, in its own process: exit 2 naming amount, no report folder."""
    data = tmp_path / "data"
    shutil.copytree(base, data)
    _edit_table("orders", "amount", {5: float("nan")})(data)
    exe = Path(sys.executable).with_name("insights")
    if not exe.exists():
        pytest.skip(f"no insights console script next to {sys.executable}")
    env = {**os.environ, "INSIGHTS_PROGRESS": "off"}
    out = tmp_path / "out"
    proc = subprocess.run(
        [str(exe), "report", str(data), "--out", str(out), "--lang", "en"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "orders.amount" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) <= 3
    assert not out.exists()
