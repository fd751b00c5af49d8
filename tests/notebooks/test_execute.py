"""Every chapter runs top to bottom on the CI-sized simulated data (papermill, the renderer's engine).

Each notebook checks its key numbers with ``assert`` cells; here we also check what
the report renderer needs: one image per figure cell, one Markdown table per table
cell, no error, and no user id or small cell in what is printed.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest
import yaml

papermill = pytest.importorskip("papermill")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
TABLE_LINE = re.compile(r"^\|.*\|$", re.MULTILINE)


def _options(source: str) -> dict:
    lines = [line[2:].strip() for line in source.splitlines() if line.startswith("#|")]
    return yaml.safe_load("\n".join(lines)) or {}


def _run(name: str, out: Path, **parameters: object) -> nbformat.NotebookNode:
    start = time.perf_counter()
    nb = papermill.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(out / f"{name}.ipynb"),
        parameters=parameters,
        cwd=str(NOTEBOOKS),
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
    )
    print(f"{name}: {time.perf_counter() - start:.1f} s")
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_chapter_runs_and_prints_what_the_renderer_needs(
    name: str, sim_dir: Path, tmp_path: Path
) -> None:
    nb = _run(name, tmp_path, data=str(sim_dir), lang="zh")
    printed = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        options = _options(cell.source)
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        text = "\n".join(
            str(o["data"]["text/markdown"])
            for o in cell.outputs
            if o.output_type in ("display_data", "execute_result") and "text/markdown" in o["data"]
        )
        stdout = [o for o in cell.outputs if o.output_type == "stream" and o.name == "stdout"]
        assert not stdout, f"{name}: a chapter shows Markdown, it prints nothing: {cell.source[:80]}"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        stderr = "".join(
            o.get("text", "")
            for o in cell.outputs
            if o.output_type == "stream" and o.name == "stderr"
        )
        assert not errors and "Glyph" not in stderr, (cell.source[:80], stderr[:300])
        label = options.get("label", "")
        if label.startswith("fig-"):
            assert len(images) == 1, f"{name} {label}: {len(images)} figures"
        if label.startswith("tbl-"):
            assert TABLE_LINE.search(text), f"{name} {label}: no Markdown table"
        printed.append(text)
    out = "\n".join(printed)
    assert "user_id" not in out and "nan" not in out.lower().split()
    assert re.search(r"[\u4e00-\u9fff]", out), "lang=zh shows Chinese"


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
