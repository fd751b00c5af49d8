"""The Quarto backend speaks the report's language: profiles and localized chapter copies.

Quarto cannot be installed in CI, so the profiles are checked structurally (valid YAML,
the keys Quarto reads) and against the words of the built-in backend, and the chapter
copies Quarto would read are checked for their title and captions.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

from insights.report._quarto import localize_notebook

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports"
NOTEBOOKS = ROOT / "notebooks"
CATALOGS = ROOT / "src" / "insights" / "narrative"


def _catalog(lang: str) -> dict:
    return yaml.safe_load((CATALOGS / f"catalog_{lang}.yaml").read_text(encoding="utf-8"))


def _lua_words(lang: str) -> dict[str, str]:
    lua = (REPORTS / "templates" / "crossref.lua").read_text(encoding="utf-8")
    line = re.search(rf"^\s*{lang} = \{{(.*?)\}}", lua, re.MULTILINE | re.DOTALL)
    assert line is not None
    return dict(re.findall(r'(\w+) = "([^"]*)"', line.group(1)))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_profile_sets_language_and_the_builtin_words(lang: str) -> None:
    profile = yaml.safe_load((REPORTS / f"_quarto-{lang}.yml").read_text(encoding="utf-8"))
    assert set(profile) == {"lang", "toc-title", "crossref"}
    assert profile["lang"] == lang
    assert profile["toc-title"] == _catalog(lang)["report"]["toc"]
    words = _lua_words(lang)
    cross = profile["crossref"]
    assert cross["fig-title"] == cross["fig-prefix"] == words["fig"]
    assert cross["tbl-title"] == cross["tbl-prefix"] == words["tbl"]
    assert set(cross) <= {
        "fig-title",
        "tbl-title",
        "fig-prefix",
        "tbl-prefix",
        "sec-prefix",
        "title-delim",
    }
    main = yaml.safe_load((REPORTS / "_quarto.yml").read_text(encoding="utf-8"))
    assert "lang" not in main  # the profile decides


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")))
def test_chapter_copy_carries_the_language_title_and_captions(lang: str, name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    before = nbformat.from_dict(nb)
    local = localize_notebook(nb, lang)
    assert nb == before  # the committed notebook is not changed
    front = yaml.safe_load(local.cells[0].source.strip().strip("-"))
    chapter = int(name[:2])
    assert front["title"] == _catalog(lang)["chapter"][f"{chapter:02d}"]
    assert front["execute"] == {"echo": False} and front["jupyter"] == "python3"
    captions = _catalog(lang)["caption"]
    seen = 0
    for cell in local.cells[1:]:
        head = [line[3:] for line in cell.source.splitlines() if line.startswith("#| ")]
        options = yaml.safe_load("\n".join(head)) or {}
        label = options.get("label")
        if label:  # the plain fig-cap / tbl-cap Quarto reads
            kind = "fig-cap" if label.startswith("fig-") else "tbl-cap"
            assert options[kind] == captions[label], label
            seen += 1
    assert seen == sum("#| label:" in c.source for c in nb.cells)


def test_localize_leaves_cells_without_language_twins() -> None:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_raw_cell('---\ntitle: "Only"\n---'),
        nbformat.v4.new_code_cell('#| label: fig-a\n#| fig-cap: "Plain"\nx = 1'),
    ])  # fmt: skip
    local = localize_notebook(nb, "zh")
    assert local.cells[0].source == nb.cells[0].source
    assert local.cells[1].source == nb.cells[1].source
