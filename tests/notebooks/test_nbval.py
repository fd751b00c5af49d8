"""The executed reference notebooks of ``tests/notebooks/reference`` pass strict nbval, and it can fail.

``reference/NN-*.ipynb`` are the chapters executed on a small simulated dataset (built by
the notebooks themselves when missing) with their outputs saved; ``make notebooks-reference``
regenerates them after an intended change (see ``reference/README.md``). Here:

- every chapter has a reference whose cells are the chapter's cells (a chapter edited without
  regenerating its reference fails, naming the command), plus its facts from ``chapter_checks.py``
  as a last cell, and its saved outputs show what the renderer needs;
- one ``pytest --nbval tests/notebooks/reference`` subprocess (strict: every output compared,
  only ``reference/sanitize.cfg`` masks what varies) executes each chapter once and passes;
- a copy of a reference with one saved percentage raised by ten points fails strict nbval at that
  cell and nowhere else.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml

pytest.importorskip("nbval")
pytest.importorskip("papermill")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
REFERENCE = ROOT / "tests" / "notebooks" / "reference"
NAMES = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
REGENERATE = "make notebooks-reference"
#: the cells regenerate.py adds (papermill's parameters, the dataset); written here, not imported
ADDED_TAGS = {"nbval-parameters", "nbval-data", "checks"}
TABLE_LINE = re.compile(r"^\|.*\|$", re.MULTILINE)
PERCENT = re.compile(r"(?<![\d.])(\d{1,2})(\.\d)%")


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [
        (c.cell_type, c.source.strip())
        for c in nb.cells
        if not ADDED_TAGS & set(c.get("metadata", {}).get("tags", []))
    ]


def _markdown(output: dict) -> str:
    data = output.get("data", {}).get("text/markdown", "")
    return "".join(data) if isinstance(data, list) else str(data)


def test_every_chapter_has_a_reference_with_its_cells() -> None:
    assert len(NAMES) == 9, NAMES
    assert sorted(p.stem for p in REFERENCE.glob("[0-9][0-9]-*.ipynb")) == NAMES, (
        f"run `{REGENERATE}`"
    )
    for name in NAMES:
        chapter = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        reference = nbformat.read(REFERENCE / f"{name}.ipynb", as_version=4)
        assert _cells(reference) == _cells(chapter), (
            f"{name}: reference is stale, run `{REGENERATE}`"
        )
        tags = [t for c in reference.cells for t in c.get("metadata", {}).get("tags", [])]
        assert "nbval-parameters" in tags and "nbval-data" in tags, name
        assert reference.cells[-1].metadata.get("tags") == ["checks"], f"{name}: facts not checked"
        code = [c for c in reference.cells if c.cell_type == "code"]
        assert all(c.execution_count for c in code), f"{name}: not executed"
        outputs = [o for c in code for o in c.outputs]
        assert not [o for o in outputs if o.output_type == "error"], name
        # something to compare: saved Markdown with a number, and no progress bar among the outputs
        assert any(re.search(r"\d", _markdown(o)) for o in outputs), f"{name}: no saved number"
        streams = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
        assert "it/s" not in streams and "\r" not in streams, f"{name}: a progress bar was saved"
        _shows_what_the_renderer_needs(name, code)


#: Cells shown only for data whose activity is orders alone (chapter 02's purchase views).
PURCHASE_DATA_ONLY = {"fig-km-second-order", "tbl-repeat-purchase"}


def _shows_what_the_renderer_needs(name: str, code: list) -> None:
    """One figure per figure cell, a Markdown table per table cell, nothing printed, no user id.

    Read from the saved outputs, which strict nbval proves equal to a fresh run's (a figure's
    pixels aside: its ``text/plain`` ``<Figure size ...>`` is saved and compared).
    """
    for cell in code:
        head = [line[2:] for line in cell.source.splitlines() if line.startswith("#|")]
        label = (yaml.safe_load("\n".join(head)) or {}).get("label", "")
        if label in PURCHASE_DATA_ONLY and not cell.outputs:
            continue  # the reference data record views and interactions: these views stay empty
        plain = [str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs]
        markdown = "\n".join(_markdown(o) for o in cell.outputs)
        if label.startswith("fig-"):
            assert sum(p.startswith("<Figure size") for p in plain) == 1, f"{name} {label}"
        if label.startswith("tbl-"):
            assert TABLE_LINE.search(markdown), f"{name} {label}: no Markdown table"
        assert not [o for o in cell.outputs if o.get("name") == "stdout"], f"{name}: printed"
        assert "user_id" not in markdown, name


@pytest.mark.slow
def test_reference_notebooks_pass_strict_nbval() -> None:
    start = time.perf_counter()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-rA",
            "--color=no",
            "-p",
            "no:cacheprovider",
            "--nbval",
            "tests/notebooks/reference",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    print(f"strict nbval, {len(NAMES)} reference notebooks: {time.perf_counter() - start:.1f} s")
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20000:]
    for name in NAMES:
        assert re.search(rf"^PASSED \S*{re.escape(name)}\.ipynb::Cell \d+", output, re.M), (
            f"{name} not run"
        )
    assert not re.search(r"^(FAILED|SKIPPED|ERROR) ", output, re.M), output[-5000:]


def _raise_first_percentage(nb: nbformat.NotebookNode) -> tuple[int, str, str]:
    """Raise the first saved percentage of a Markdown output by ten points; drop the later cells."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            text = _markdown(output)
            found = PERCENT.search(text)
            if found:
                before = found.group(0)
                after = f"{int(found.group(1)) + 10}{found.group(2)}%"
                output["data"]["text/markdown"] = (
                    text[: found.start()] + after + text[found.end() :]
                )
                del nb.cells[index + 1 :]
                return index, before, after
    raise AssertionError("no saved percentage")


@pytest.mark.slow
def test_a_changed_saved_number_fails_strict_nbval(tmp_path: Path) -> None:
    nb = nbformat.read(REFERENCE / f"{NAMES[0]}.ipynb", as_version=4)
    index, before, after = _raise_first_percentage(nb)
    # the copy lives elsewhere: point it at the same dataset (sources are not compared, outputs are)
    for cell in nb.cells:
        if "nbval-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = re.sub(
                r"^data = .*$",
                f"data = {json.dumps(str(ROOT / 'data' / 'nbval'))}",
                cell.source,
                flags=re.M,
            )
    nbformat.write(nb, tmp_path / "changed.ipynb")
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts =\n", encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-rA",
            "--color=no",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tmp_path / "pytest.ini"),
            "--nbval",
            "--nbval-current-env",
            "--nbval-sanitize-with",
            str(REFERENCE / "sanitize.cfg"),
            "changed.ipynb",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 1, output[-5000:]
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    failed = re.findall(r"^FAILED changed\.ipynb::Cell (\d+)", output, re.M)
    assert failed == [str(code.index(index))], output[-5000:]
    passed = re.findall(r"^PASSED changed\.ipynb::Cell (\d+)", output, re.M)
    assert len(passed) == len(code) - 1, output[-5000:]
    assert before in output and after in output, output[-5000:]
