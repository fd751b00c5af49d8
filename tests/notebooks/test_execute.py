"""The chapters' facts, and the English summary.

Every chapter runs once per ``make test``: as its strict-nbval reference notebook
(``tests/notebooks/reference``, ``test_nbval.py``), which ends with the chapter's facts
from ``chapter_checks.CHECKS`` (its numbers against the same numbers computed another
way) and whose saved outputs are checked for what the report renderer needs. Here: every
chapter has facts, and chapter 00 in English reads English.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest
import yaml

papermill = pytest.importorskip("papermill")

from chapter_checks import CHECKS  # noqa: E402 - tests/notebooks is on the path (rootdir import mode)

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
TABLE_LINE = re.compile(r"^\|.*\|$", re.MULTILINE)


def _options(source: str) -> dict:
    lines = [line[2:].strip() for line in source.splitlines() if line.startswith("#|")]
    return yaml.safe_load("\n".join(lines)) or {}


def _run(
    name: str, out: Path, *, checks: bool = False, **parameters: object
) -> nbformat.NotebookNode:
    source = NOTEBOOKS / f"{name}.ipynb"
    if checks:  # the chapter's facts, as a last cell of a copy (the chapter still runs once)
        nb = nbformat.read(source, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(CHECKS[name], metadata={"tags": ["checks"]}))
        source = out / f"{name}.checked.ipynb"
        nbformat.write(nb, source)
    start = time.perf_counter()
    nb = papermill.execute_notebook(
        str(source),
        str(out / f"{name}.ipynb"),
        parameters=parameters,
        cwd=str(NOTEBOOKS),
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
    )
    print(f"{name}: {time.perf_counter() - start:.1f} s")
    return nb


def test_every_chapter_has_its_facts_checked() -> None:
    assert sorted(CHECKS) == NAMES
    for name, source in CHECKS.items():  # a comparison with a number computed another way
        assert "==" in source or "< 1e-9" in source, name


@pytest.mark.slow
def test_summary_in_english_reads_english(sim_dir: Path, tmp_path: Path) -> None:
    nb = _run("00-summary", tmp_path, data=str(sim_dir), lang="en", compare_to="year_ago")
    out = "".join(
        str(o["data"].get("text/markdown", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type in ("display_data", "execute_result")
    )
    assert "## Key findings" in out and "2023Q4" in out
    assert not re.search(r"[\u4e00-\u9fff]", out)
