"""Regenerate the executed reference notebooks of this folder (``make notebooks-reference``).

Each chapter ``notebooks/NN-*.ipynb`` is executed with papermill on a small simulated
dataset (``USERS`` users, seed ``SEED``, under the git-ignored ``data/nbval``) and saved
here with its outputs; ``pytest --nbval tests/notebooks/reference`` then re-runs every
saved notebook and compares each output with the saved one (``sanitize.cfg`` masks what
legitimately varies). Run it after an intended change to a chapter or to what it shows,
and review the diff of the saved outputs like any other change.

Before execution, one cell is added after the parameters cell: it builds the dataset
when it is missing, so a fresh clone needs nothing but ``make install``. One more is
appended: the chapter's facts from ``tests/notebooks/chapter_checks.py``, so strict nbval
also checks them, in the same execution. Saved figures
(``image/png``, which nbval does not compare) and papermill's timings are stripped, so a
regeneration that changes nothing leaves the files byte-identical.

    .venv/bin/python tests/notebooks/reference/regenerate.py [NN-name ...]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
NOTEBOOKS = ROOT / "notebooks"
#: the dataset, relative to this folder (the kernel's working directory under papermill and nbval)
DATA = "../../../data/nbval"
USERS = 4_000
SEED = 7
PARAMETERS = {"data": DATA, "lang": "zh"}
#: the cell added after the parameters cell; its tag lets the tests find it
DATA_TAG = "nbval-data"
#: the last cell: the chapter's facts, from tests/notebooks/chapter_checks.py
CHECKS_TAG = "checks"
DATA_CELL = f"""\
# NBVAL_IGNORE_OUTPUT
# added by tests/notebooks/reference/regenerate.py: the small CI dataset, built when missing
from pathlib import Path as _Path

import insights as _ins

if not (_Path(data) / "manifest.json").exists():
    _ = _ins.simulate(data, users={USERS:_}, seed={SEED})"""
#: outputs kept in the references; nbval compares text, not pixels
DROPPED = ("image/png", "image/jpeg", "image/svg+xml")


#: the tag of the cell papermill injected with the reference's parameters
PARAMS_TAG = "nbval-parameters"


def chapters() -> list[str]:
    """The chapter names, e.g. ``"00-summary"``."""
    return sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))


def with_data_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` with the dataset cell right after its parameters cell (papermill injects after that)."""
    cell = nbformat.v4.new_code_cell(DATA_CELL, metadata={"tags": [DATA_TAG]})
    at = next(
        (
            i
            for i, c in enumerate(nb.cells)
            if "parameters" in c.get("metadata", {}).get("tags", [])
        ),
        None,
    )
    if at is None:
        raise SystemExit("a chapter without a cell tagged 'parameters'")
    nb.cells.insert(at + 1, cell)
    return nb


def with_checks(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """``nb`` with the chapter's facts (``tests/notebooks/chapter_checks.py``) as a last cell.

    nbval runs it with the chapter's variables, so the facts hold in the same execution
    that compares the outputs; a chapter without an entry gets no cell.
    """
    sys.path.insert(0, str(HERE.parent))
    try:
        from chapter_checks import CHECKS
    finally:
        sys.path.remove(str(HERE.parent))
    if name in CHECKS:
        nb.cells.append(nbformat.v4.new_code_cell(CHECKS[name], metadata={"tags": [CHECKS_TAG]}))
    return nb


def tidy(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip what changes on every run and what nbval does not compare."""
    nb.metadata.pop("papermill", None)
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        # papermill's parameters cell of a reference is not a chapter's: tag it as ours
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags:
            cell.metadata["tags"] = [PARAMS_TAG if t == "injected-parameters" else t for t in tags]
        added = {PARAMS_TAG, DATA_TAG, CHECKS_TAG} & set(cell.metadata.get("tags", []))
        cell["id"] = added.pop() if added else cell.get("id") or f"cell-{i:02d}"  # no random ids
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data:
                for key in DROPPED:
                    data.pop(key, None)
            if "metadata" in out:
                out["metadata"] = {}
    return nb


def regenerate(name: str) -> float:
    """Execute one chapter and save its reference; the seconds it took."""
    import papermill
    from papermill.iorw import load_notebook_node

    nb = with_checks(with_data_cell(load_notebook_node(str(NOTEBOOKS / f"{name}.ipynb"))), name)
    start = time.perf_counter()
    out = papermill.execute_notebook(
        nb,
        None,
        parameters=PARAMETERS,
        cwd=str(HERE),
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
    )
    seconds = time.perf_counter() - start
    nbformat.write(tidy(out), HERE / f"{name}.ipynb")
    return seconds


def main(argv: list[str]) -> int:
    """Regenerate the chapters named in ``argv`` (all of them when none)."""
    os.environ["INSIGHTS_PROGRESS"] = "off"  # no progress bars in saved outputs
    names = argv or chapters()
    for stale in HERE.glob("[0-9][0-9]-*.ipynb"):
        if not argv and stale.stem not in names:
            stale.unlink()  # a chapter that no longer exists
    for name in names:
        print(f"{name}: {regenerate(name):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
