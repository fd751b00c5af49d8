"""The chapter notebooks are Quarto-compatible, parameterised, thin and committed clean."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

import insights as ins
from insights.narrative import catalog

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = [
    "00-summary",
    "01-growth",
    "02-retention",
    "03-value",
    "04-interaction",
    "05-private-domain",
    "06-lifecycle",
    "07-strategy-effects",
    "08-appendix",
]
PARAMETERS = {
    "data": "../data/demo",
    "quarter": "2024Q4",
    "compare_to": None,
    "segment_by": None,
    "filters": None,
    "lang": "zh",
    "min_cell": 10,
}
#: The ``#|`` options the chapters may use (the built-in renderer supports these).
OPTIONS = {
    "label",
    "fig-cap",
    "tbl-cap",
    "fig-cap-zh",
    "fig-cap-en",
    "tbl-cap-zh",
    "tbl-cap-en",
    "echo",
    "output",
}


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def _options(source: str) -> dict:
    lines = []
    for line in source.splitlines():
        if not line.startswith("#|"):
            break
        lines.append(line[2:].strip())
    return yaml.safe_load("\n".join(lines)) or {}


def test_one_notebook_per_chapter() -> None:
    found = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    assert found == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_front_matter_parameters_and_clean_cells(name: str) -> None:
    nb = _read(name)
    nbformat.validate(nb)
    first = nb.cells[0]
    assert (
        first.cell_type == "raw"
        and first.source.startswith("---\n")
        and first.source.endswith("---")
    )
    meta = yaml.safe_load(first.source.strip("-\n"))
    assert meta["title"] == ins.text_chapter(NAMES.index(name), lang="en")
    assert set(meta) <= {"title", "title-zh", "title-en", "jupyter", "execute"}
    assert meta["execute"] == {"echo": False}
    for lang in ("zh", "en"):  # the built-in renderer prints the report's language
        assert meta[f"title-{lang}"] == ins.text_chapter(NAMES.index(name), lang=lang)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "injected-parameters" not in json.dumps(
        [c.metadata for c in nb.cells]
    )
    values: dict = {}
    exec(tagged[0].source, values)  # noqa: S102 - the committed defaults
    assert {k: values[k] for k in PARAMETERS} == PARAMETERS and set(values) - {
        "__builtins__"
    } == set(PARAMETERS)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("name", NAMES)
def test_cells_use_supported_options_and_hold_no_reusable_logic(name: str) -> None:
    nb = _read(name)
    for cell in nb.cells[1:]:
        assert cell.cell_type == "code"
        options = _options(cell.source)
        assert set(options) <= OPTIONS, options
        label = options.get("label")
        if label:
            kind = "fig-cap" if label.startswith("fig-") else "tbl-cap"
            assert options[kind] == ins.text_caption(label, lang="en")
            assert f"caption.{label}" in catalog("zh")
            for lang in ("zh", "en"):  # per-language captions for the built-in renderer
                assert options[f"{kind}-{lang}"] == ins.text_caption(label, lang=lang)
            assert "output" not in options  # tables are shown as objects, not printed
        assert not re.search(r"\bprint\(", cell.source), f"Markdown is shown, never printed: {cell.source[:80]}"
        assert not re.search(r"^\s*(def|class)\s|lambda\s", cell.source, re.MULTILINE), cell.source[
            :80
        ]


@pytest.mark.parametrize("name", NAMES)
def test_chapters_use_the_front_door_only(name: str) -> None:
    """Every call is ``ins.<name>`` of ``import insights as ins``: no submodule, no private helper."""
    source = "\n".join(c.source for c in _read(name).cells if c.cell_type == "code")
    imported = set(re.findall(r"^\s*(?:from|import)\s+([\w.]+)", source, re.MULTILINE))
    assert imported <= {"polars", "insights", "json", "pathlib"}, imported
    assert "import insights as ins" in source
    assert not re.search(r"\binsights\.", source), "a submodule of insights"
    called = set(re.findall(r"\bins\.(\w+)", source))
    assert called and called <= set(ins.__all__), called - set(ins.__all__)
    # presentation is set once, from the parameters
    assert "ins.options(lang=lang, min_cell=min_cell)" in source


def test_labels_are_unique_across_the_report() -> None:
    labels = [_options(c.source).get("label") for n in NAMES for c in _read(n).cells[1:]]
    labels = [x for x in labels if x]
    assert len(labels) == len(set(labels)) >= 25


def test_committed_notebooks_equal_the_generator_output(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("nb_build", NOTEBOOKS / "_build.py")
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    for path in build.build(tmp_path):
        assert path.read_text(encoding="utf-8") == (NOTEBOOKS / path.name).read_text(
            encoding="utf-8"
        ), path.name


def test_the_report_renderer_accepts_every_chapter() -> None:
    execute = pytest.importorskip("insights.report._execute")
    chapters = pytest.importorskip("insights.report._chapters")
    for name in NAMES:
        meta = execute.check_chapter(
            chapters.Chapter(NOTEBOOKS / f"{name}.ipynb", appendix=name.startswith("08"))
        )
        assert meta["title"]
