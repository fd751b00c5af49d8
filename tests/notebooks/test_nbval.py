"""Every chapter notebook passes nbval (lax mode) on the CI-sized simulated data.

The notebooks are written with the CI data path injected as parameters (papermill's
``parameterize_notebook``, nothing executed here) into a temporary folder, and one
``pytest --nbval-lax`` subprocess runs them all: a cell that raises, including a
chapter's ``assert`` cells that check its key numbers against an independent
computation from ``insights``, fails the run.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbval")
parameterize = pytest.importorskip("papermill.parameterize")
iorw = pytest.importorskip("papermill.iorw")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))


def _asserts(nb: nbformat.NotebookNode) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code" and re.search(r"^\s*assert ", c.source, re.M)]


def test_every_chapter_checks_its_numbers_with_assert_cells() -> None:
    assert len(NAMES) == 9, NAMES
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        cells = _asserts(nb)
        assert cells, f"{name}: no assert cell"
        # at least one comparison with a number computed another way (``==`` or a tolerance)
        assert any("==" in c or "< 1e-9" in c for c in cells), f"{name}: no cross-check"


@pytest.mark.slow
def test_chapters_pass_nbval_lax(sim_dir: Path, tmp_path: Path) -> None:
    for name in NAMES:
        nb = iorw.load_notebook_node(str(NOTEBOOKS / f"{name}.ipynb"))  # papermill's metadata (tags) on every cell
        nb = parameterize.parameterize_notebook(nb, {"data": str(sim_dir), "lang": "zh"})
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
    # no config of the project's: its filterwarnings=error and tests/ conftest stay out of this run
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts =\n", encoding="utf-8")
    start = time.perf_counter()
    run = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-c", str(tmp_path / "pytest.ini"),
            "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=600",
            *(f"{name}.ipynb" for name in NAMES),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    print(f"nbval, {len(NAMES)} notebooks: {time.perf_counter() - start:.1f} s")
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20000:]
    for name in NAMES:
        assert re.search(rf"{re.escape(name)}(?:\.|::)ipynb::Cell \d+ PASSED", output), f"{name} not run\n{output[-5000:]}"
    assert " failed" not in output.splitlines()[-1], output[-5000:]
