"""The chapter notebooks are Quarto-compatible, parameterised and thin; they are the source.

A researcher edits them in JupyterLab and commits what it saves: every check reads the
notebook's normalised content (:func:`normalise`: cell types, sources and tags), so
outputs, execution counts, cell ids and other metadata never fail a test.
"""

from __future__ import annotations

import copy
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
    "churn_gap": None,
    "compare_documents": None,
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


#: Quarto profile divs: a Markdown cell's text for one language, as a fenced div or as
#: the HTML div JupyterLab renders without fences.
PROFILE_DIV = re.compile(
    r'^(?:::: \{\.content-visible when-profile="(zh|en)"\}\n(.+?)\n:::'
    r'|<div class="content-visible" when-profile="(zh|en)">\n(.+?)\n</div>)$',
    re.MULTILINE | re.DOTALL,
)


def profile_texts(source: str) -> list[tuple[str, str]]:
    """(language, text) of every profile div of a Markdown cell, in either spelling."""
    return [(a or c, b or d) for a, b, c, d in PROFILE_DIV.findall(source)]


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What a chapter *is*: cell types, sources and tags (no outputs, counts, ids or other metadata)."""
    clean = nbformat.v4.new_notebook()
    for cell in nb.cells:
        tags = list(cell.get("metadata", {}).get("tags", []))
        kept = {
            "cell_type": cell.cell_type,
            "source": cell.source,
            "metadata": {"tags": tags} if tags else {},
        }
        clean.cells.append(nbformat.from_dict(kept))
    return clean


def _read(name: str, folder: Path = NOTEBOOKS) -> nbformat.NotebookNode:
    return normalise(nbformat.read(folder / f"{name}.ipynb", as_version=4))


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
def test_front_matter_and_parameters(name: str) -> None:
    check_front_matter_and_parameters(_read(name), name)


def check_front_matter_and_parameters(nb: nbformat.NotebookNode, name: str) -> None:
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


@pytest.mark.parametrize("name", NAMES)
def test_cells_use_supported_options_and_hold_no_reusable_logic(name: str) -> None:
    check_cells(_read(name))


def check_cells(nb: nbformat.NotebookNode) -> None:
    for cell in nb.cells[1:]:
        if cell.cell_type == "markdown":
            continue  # checked by check_markdown
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
        assert not re.search(r"\bprint\(", cell.source), (
            f"Markdown is shown, never printed: {cell.source[:80]}"
        )
        assert not re.search(r"^\s*(def|class)\s|lambda\s", cell.source, re.MULTILINE), cell.source[
            :80
        ]


@pytest.mark.parametrize("name", NAMES)
def test_chapters_use_the_front_door_only(name: str) -> None:
    check_front_door(_read(name))


def check_front_door(nb: nbformat.NotebookNode) -> None:
    """Every call is ``ins.<name>`` of ``import insights as ins``: no submodule, no private helper."""
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    imported = set(re.findall(r"^\s*(?:from|import)\s+([\w.]+)", source, re.MULTILINE))
    assert imported <= {"polars", "insights", "json", "pathlib"}, imported
    assert "import insights as ins" in source
    assert not re.search(r"\binsights\.", source), "a submodule of insights"
    called = set(re.findall(r"\bins\.(\w+)", source))
    assert called and called <= set(ins.__all__), called - set(ins.__all__)
    assert not re.search(r"^\s*assert\b", source, re.MULTILINE), "checks live in tests/notebooks/"
    # the set-up is one call, from the parameters: it sets lang and min_cell once
    setup = nb.cells[2].source
    assert re.search(
        r"ctx = ins\.chapter\(data, quarter=quarter, compare_to=compare_to, by=segment_by, "
        r"where=filters,\s+lang=lang, min_cell=min_cell, churn_gap=churn_gap, "
        r"compare_documents=compare_documents\)",
        setup,
    ), setup
    assert "ins.options(" not in source and "ins.load_dataset(" not in source


@pytest.mark.parametrize("name", NAMES)
def test_markdown_cells_say_what_the_chapter_answers_in_both_languages(name: str) -> None:
    nb = _read(name)
    check_markdown(nb)
    zh = [t for lang, t in profile_texts(nb.cells[3].source) if lang == "zh"]
    assert zh and re.search(r"[\u4e00-\u9fff]", zh[0]), nb.cells[3].source


def check_markdown(nb: nbformat.NotebookNode) -> None:
    """Markdown cells: each language's text in its Quarto profile div; the first follows the set-up."""
    cells = [c for c in nb.cells if c.cell_type == "markdown"]
    assert cells and nb.cells[3].cell_type == "markdown", "the chapter opens with what it answers"
    for cell in cells:
        langs = [lang for lang, _ in profile_texts(cell.source)]
        if langs:
            assert sorted(set(langs)) == ["en", "zh"], cell.source[:80]
        en = "".join(t for lang, t in profile_texts(cell.source) if lang == "en")
        assert not re.search(r"[\u4e00-\u9fff]", en), en


def test_labels_are_unique_across_the_report() -> None:
    labels = [_options(c.source).get("label") for n in NAMES for c in _read(n).cells[1:]]
    labels = [x for x in labels if x]
    assert len(labels) == len(set(labels)) >= 25


def _as_jupyterlab_saves(
    nb: nbformat.NotebookNode, sentence: dict[str, str]
) -> nbformat.NotebookNode:
    """``nb`` opened, run, edited and saved in JupyterLab: new metadata, outputs, counts, a Markdown cell."""
    nb = copy.deepcopy(nb)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {
        "name": "python",
        "version": "3.12.3",
        "mimetype": "text/x-python",
    }
    nb.metadata["widgets"] = {}
    count = 0
    for cell in nb.cells:
        cell.id = f"{abs(hash(cell.source)) % 10**8:08x}"
        cell.metadata["collapsed"] = False
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            cell.metadata["execution"] = {"iopub.status.idle": "2026-12-07T00:00:00Z"}
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text="stale\n"),
                nbformat.v4.new_output(
                    "execute_result",
                    data={"text/markdown": "## STALE OUTPUT", "text/plain": "x"},
                    execution_count=count,
                ),
            ]
    text = (
        f'::: {{.content-visible when-profile="zh"}}\n{sentence["zh"]}\n:::\n\n'
        f'::: {{.content-visible when-profile="en"}}\n{sentence["en"]}\n:::'
    )
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata["editable"] = True
    nb.cells.insert(5, cell)
    nbformat.validate(nb)
    return nb


#: Two sentences only a test writes (ASCII: no Chinese in .py files); one per language.
SENTENCE = {
    "zh": "Zh-only sentence q7v3 from a JupyterLab edit.",
    "en": "En-only sentence k9w2 from a JupyterLab edit.",
}


def edited_chapter(folder: Path, name: str = "02-retention") -> Path:
    """Write ``name`` as JupyterLab would save it after an edit into ``folder``; its path."""
    nb = _as_jupyterlab_saves(nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4), SENTENCE)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_chapter_saved_by_jupyterlab_passes_the_structure_checks(tmp_path: Path) -> None:
    name = "02-retention"
    edited_chapter(tmp_path, name)
    nb = _read(name, tmp_path)
    check_front_matter_and_parameters(nb, name)
    check_cells(nb)
    check_front_door(nb)
    check_markdown(nb)
    execute = pytest.importorskip("insights.report._execute")
    chapters = pytest.importorskip("insights.report._chapters")
    assert execute.check_chapter(chapters.Chapter(tmp_path / f"{name}.ipynb", appendix=False))[
        "title"
    ]


@pytest.mark.slow
def test_the_report_of_a_chapter_saved_by_jupyterlab_has_the_new_text_in_its_language(
    sim_dir: Path, tmp_path: Path
) -> None:
    """The built-in renderer, one chapter: the new Markdown cell in zh only, no stale output."""
    pytest.importorskip("papermill")
    folder = tmp_path / "notebooks"
    edited_chapter(folder)
    [html] = ins.render_report(
        sim_dir, quarter="2024Q4", lang="zh", formats="html", out=tmp_path / "out",
        backend="builtin", notebooks=folder, jobs=1, progress=False,
    )  # fmt: skip
    text = html.read_text(encoding="utf-8")
    assert SENTENCE["zh"] in text and SENTENCE["en"] not in text
    assert "STALE OUTPUT" not in text


def test_the_report_renderer_accepts_every_chapter() -> None:
    execute = pytest.importorskip("insights.report._execute")
    chapters = pytest.importorskip("insights.report._chapters")
    for name in NAMES:
        meta = execute.check_chapter(
            chapters.Chapter(NOTEBOOKS / f"{name}.ipynb", appendix=name.startswith("08"))
        )
        assert meta["title"]
