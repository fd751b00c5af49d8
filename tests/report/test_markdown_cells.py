"""Markdown cells reach the report in cell order, each language's text only in its report."""

from __future__ import annotations

from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from insights.report._chapters import Chapter
from insights.report._markdown import chapter_markdown, language_text
from insights.report._syntax import QuartoSyntaxError, check_markdown

# Quarto's profile divs, written out here (not built by the code under test)
ZH = '::: {.content-visible when-profile="zh"}\n'
EN = '::: {.content-visible when-profile="en"}\n'
CELL = f"Shared line.\n\n{ZH}Only in zh.\n:::\n\n{EN}Only in en.\n:::"


def _render(lang: str, tmp_path: Path, *cells) -> str:
    params = new_code_cell("lang = 'zh'")
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[new_raw_cell("---\ntitle: Growth\n---"), params, *cells])
    meta = {"title": "Growth", "execute": {"echo": False}}
    return chapter_markdown(
        nb, Chapter(Path("01-growth.ipynb")), meta=meta, lang=lang, workdir=tmp_path
    )


@pytest.mark.parametrize(
    ("lang", "kept", "dropped"),
    [("zh", "Only in zh.", "Only in en."), ("en", "Only in en.", "Only in zh.")],
)
def test_a_markdown_cell_shows_its_language_and_the_shared_text(lang, kept, dropped, tmp_path):
    shown = new_code_cell("ins.show(...)")
    shown.outputs = [
        new_output("execute_result", data={"text/markdown": "## From code"}, execution_count=1)
    ]
    body = _render(
        lang, tmp_path, new_markdown_cell(CELL), shown, new_markdown_cell("Closing words.")
    )
    assert kept in body and dropped not in body and "when-profile" not in body
    # cell order: the Markdown cell, the code cell's output, the last Markdown cell
    assert (
        body.index("Shared line.")
        < body.index(kept)
        < body.index("## From code")
        < body.index("Closing words.")
    )


def test_other_divs_inside_and_outside_a_language_stay():
    text = f"{ZH}::: {{.callout-note}}\nzh note\n:::\n:::\n\n::: {{.callout-tip}}\nboth\n:::"
    zh = ["::: {.callout-note}", "zh note", ":::", "::: {.callout-tip}", "both", ":::"]
    assert [line for line in language_text(text, "zh").splitlines() if line] == zh
    assert [line for line in language_text(text, "en").splitlines() if line] == zh[3:]


def test_an_unknown_profile_is_a_syntax_error():
    check_markdown(CELL, where="x")
    with pytest.raises(QuartoSyntaxError, match="when-profile='fr'"):
        check_markdown('::: {.content-visible when-profile="fr"}\nsalut\n:::', where="x")
