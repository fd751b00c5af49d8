"""The executive summary prints the same KPI numbers as ``insights kpis``.

00-summary is executed on the CI data (as the report renderer does); the scorecard
table it prints is parsed, and every number (this quarter, its 95% CI, the
comparison quarter, the year-ago quarter and both changes) must equal the value
that ``insights kpis --json`` gives for the same quarter, to the precision printed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from insights.cli import app
from insights.narrative import text_metric

papermill = pytest.importorskip("papermill")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
QUARTER = "2024Q4"
NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.(\d+))?")


def _kpis(data: Path, compare_to: str) -> dict[tuple[str, str], dict]:
    res = CliRunner().invoke(
        app, ["kpis", str(data), "--quarter", QUARTER, "--compare-to", compare_to, "--json"]
    )
    assert res.exit_code == 0, res.output
    return {(r["metric"], r["quarter"]): r for r in json.loads(res.stdout)}


def _numbers(cell: str) -> list[tuple[float, float]]:
    """The numbers of a printed cell in the unit printed (% and points as percent), with their half-precision."""
    text = cell.replace("\u2212", "-").replace("¥", "").replace("元", "")
    out = []
    for match in NUMBER.finditer(text):
        decimals = len(match.group(1) or "")
        out.append((float(match.group(0).replace(",", "")), 0.5 * 10.0**-decimals + 1e-9))
    return out


def _scale(cell: str) -> float:
    return 100.0 if ("%" in cell or "points" in cell) else 1.0


def _check(cell: str, *expected: float | None) -> None:
    if any(v is None for v in expected):
        assert cell.strip() in ("–", ""), cell
        return
    numbers = _numbers(cell)
    assert len(numbers) == len(expected), (cell, expected)
    for (shown, tolerance), value in zip(numbers, expected, strict=True):
        assert value is not None
        assert abs(shown - _scale(cell) * value) <= tolerance, (cell, value)


def _scorecard(nb) -> list[list[str]]:
    cell = next(c for c in nb.cells if "#| label: tbl-scorecard" in c.source)
    text = "".join(
        str(o["data"].get("text/markdown", ""))
        for o in cell.outputs
        if o.output_type in ("display_data", "execute_result")
    )
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in lines]


@pytest.mark.slow
def test_summary_scorecard_numbers_equal_insights_kpis(sim_dir: Path, tmp_path: Path) -> None:
    nb = papermill.execute_notebook(
        str(NOTEBOOKS / "00-summary.ipynb"),
        str(tmp_path / "00-summary.ipynb"),
        parameters={"data": str(sim_dir), "quarter": QUARTER, "lang": "en"},
        cwd=str(NOTEBOOKS),
        kernel_name="python3",
        progress_bar=False,
    )
    table = _scorecard(nb)
    head, rows = table[0], table[2:]
    previous, year_ago = _kpis(sim_dir, "previous"), _kpis(sim_dir, "year_ago")
    prev_q, year_q = head[3], head[5]
    assert head[1] == QUARTER and prev_q == "2024Q3" and year_q == "2023Q4", head
    by_name = {row[0]: row for row in rows}
    metrics = [m for m, q in previous if q == QUARTER]
    assert len(rows) == len(metrics) > 5, (len(rows), metrics)
    for metric in metrics:
        row = by_name[text_metric(metric, lang="en")]
        now, before, last_year = (
            previous[metric, QUARTER],
            previous.get((metric, prev_q)),
            year_ago.get((metric, year_q)),
        )
        assert year_ago[metric, QUARTER]["value"] == pytest.approx(
            now["value"], rel=1e-12
        )  # same quarter
        _check(row[1], now["value"])
        if now["ci_low"] is not None:
            _check(row[2], now["ci_low"], now["ci_high"])
        for shown, change, other in ((row[3], row[4], before), (row[5], row[6], last_year)):
            if other is None or other["value"] is None:
                continue
            _check(shown, other["value"])
            if "%" in row[1] or "¥" in row[1]:  # rates change in points, money in yuan
                _check(change.rstrip(" *"), now["value"] - other["value"])
