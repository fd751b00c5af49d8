"""Executed notebook -> Markdown: cell options decide what each code cell becomes."""

from __future__ import annotations

import base64
import copy
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from insights.report._chapters import Chapter
from insights.report._markdown import chapter_markdown
from insights.report._syntax import QuartoSyntaxError

# a 1x1 PNG
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
        "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def _figure_output():
    return new_output(
        "display_data", data={"image/png": PNG, "text/plain": "<Figure size 640x480 with 1 Axes>"}
    )


def _notebook(*cells):
    params = new_code_cell("lang = 'zh'")
    params.metadata["tags"] = ["parameters"]
    injected = new_code_cell("lang = 'en'")
    injected.metadata["tags"] = ["injected-parameters"]
    return new_notebook(
        cells=[
            new_raw_cell("---\ntitle: Growth\ntitle-en: User growth\n---"),
            params,
            injected,
            *cells,
        ]
    )


def _render(nb, tmp_path: Path, lang: str = "en") -> str:
    meta = {"title": "Growth", "title-en": "User growth", "execute": {"echo": False}}
    return chapter_markdown(
        nb, Chapter(Path("01-growth.ipynb")), meta=meta, lang=lang, workdir=tmp_path
    )


def _md(text, kind="execute_result", metadata=None):
    """The output of a cell whose result is Markdown (what ``ins.format_table`` & co. display)."""
    out = new_output(
        kind, data={"text/markdown": text, "text/plain": repr(text)}, metadata=metadata or {}
    )
    if kind == "execute_result":
        out.execution_count = 1
    return out


def test_figure_table_markdown_and_hidden_cells(tmp_path):
    nb = _notebook(
        new_markdown_cell("## Overview\n\nSee @fig-users and @tbl-orders."),
        new_code_cell(
            "x = 1", outputs=[new_output("stream", name="stdout", text="hidden? no: shown\n")]
        ),
        new_code_cell(
            "#| label: fig-users\n#| fig-cap: Users by platform\nax = plot()",
            outputs=[
                new_output("stream", name="stderr", text="UserWarning: something\n"),
                new_output("execute_result", data={"text/plain": "<Axes: >"}, execution_count=3),
                _figure_output(),
            ],
        ),
        new_code_cell(
            '#| label: tbl-orders\n#| tbl-cap: Orders "by" category\nt',
            outputs=[_md("| a | b |\n|--|--|\n| 1 | 2 |")],
        ),
        new_code_cell(
            "#| include: false\nprint('never')",
            outputs=[new_output("stream", name="stdout", text="never\n")],
        ),
        new_code_cell(
            "#| output: false\nprint('no')",
            outputs=[new_output("stream", name="stdout", text="no\n")],
        ),
        new_code_cell("#| echo: true\ny = 2"),
    )
    before = copy.deepcopy(nb)
    md = _render(nb, tmp_path)
    assert nb == before  # the executed notebook is not changed
    assert md.startswith("# User growth {#sec-growth}\n")
    assert "lang = " not in md  # parameters and injected parameters are not shown
    assert "hidden" not in md  # printed text is the notebook's, not the report's
    assert "![Users by platform](figures/01-growth/" in md and "{#fig-users width=88%}" in md
    assert "<Axes" not in md and "UserWarning" not in md
    assert '::: {#tbl-orders tbl-cap="Orders \\"by\\" category"}\n| a | b |' in md
    assert "never" not in md and "\nno\n" not in md
    assert "```python\ny = 2\n```" in md
    images = list((tmp_path / "figures" / "01-growth").iterdir())
    assert len(images) == 1 and images[0].read_bytes()[:4] == b"\x89PNG"


def test_title_follows_language_and_own_heading_wins(tmp_path):
    assert _render(_notebook(), tmp_path, lang="zh").startswith("# Growth {#sec-growth}")
    own = _notebook(
        new_code_cell("ins.text_heading('growth', level=1)", outputs=[_md("# 用户增长")])
    )
    assert _render(own, tmp_path).startswith("# 用户增长\n")


def test_html_table_output_becomes_a_markdown_table(tmp_path):
    html = "<style>td {}</style><table><thead><tr><th>seg</th><th>n</th></tr></thead><tbody><tr><td>a</td><td>12</td></tr></tbody></table>"
    nb = _notebook(
        new_code_cell(
            "#| tbl-cap: Segments\nshow(t)",
            outputs=[
                new_output(
                    "execute_result", data={"text/html": html, "text/plain": "t"}, execution_count=1
                )
            ],
        )
    )
    md = _render(nb, tmp_path)
    assert '::: {#tbl-01-growth-3 tbl-cap="Segments"}' in md
    assert "seg" in md and "12" in md and "<table" not in md


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (
            new_code_cell("#| label: fig-a\nplot()", outputs=[_md("no figure")]),
            "exactly one figure; it drew 0",
        ),
        (
            new_code_cell("#| label: fig-a\nplot()", outputs=[_figure_output(), _figure_output()]),
            "it drew 2",
        ),
        (
            new_code_cell(
                "#| label: tbl-a\nprint(1)",
                outputs=[new_output("stream", name="stdout", text="1\n")],
            ),
            "exactly one",
        ),
        (
            new_code_cell(
                "w", outputs=[new_output("display_data", data={"text/html": "<div>widget</div>"})]
            ),
            "HTML output that is not a table",
        ),
    ],
)
def test_cells_that_do_not_match_their_options_fail(tmp_path, cell, message):
    with pytest.raises(QuartoSyntaxError, match=message) as info:
        _render(_notebook(cell), tmp_path)
    assert "chapter 01-growth, cell 2" in str(info.value)  # index in the committed notebook


def test_a_figure_or_table_cell_without_output_is_left_out(tmp_path):
    """A section that is not available draws nothing; its heading says why, once."""
    nb = _notebook(
        new_code_cell("#| label: fig-a\n#| fig-cap: A\nax = plot() if ok else None", outputs=[]),
        new_code_cell("#| label: tbl-a\n#| tbl-cap: B\nt if ok else None", outputs=[]),
    )
    md = _render(nb, tmp_path)
    assert "fig-a" not in md and "tbl-a" not in md and "![" not in md


def test_missing_glyph_warning_of_a_figure_fails(tmp_path):
    from insights.report import RenderError

    warning = "UserWarning: Glyph 29992 (\\N{CJK UNIFIED IDEOGRAPH-7528}) missing from font(s) DejaVu Sans.\n"
    nb = _notebook(
        new_code_cell(
            "plot()", outputs=[new_output("stream", name="stderr", text=warning), _figure_output()]
        )
    )
    with pytest.raises(RenderError, match="fonts-noto-cjk"):
        _render(nb, tmp_path)


def test_printed_markdown_is_not_report_content(tmp_path):
    """Even with ``output: asis``, stdout never injects Markdown (no heading, no table)."""
    nb = _notebook(
        new_code_cell(
            "#| output: asis\nprint('## Injected')\nprint('| a |\\n|--|\\n| 1 |')",
            outputs=[new_output("stream", name="stdout", text="## Injected\n| a |\n|--|\n| 1 |\n")],
        ),
        new_code_cell("ins.show(h, b)", outputs=[_md("## Shown\n\n- One.", kind="display_data")]),
    )
    md = _render(nb, tmp_path)
    assert "Injected" not in md and "| a |" not in md
    assert "## Shown\n\n- One." in md


def test_displayed_objects_reach_the_report(tmp_path):
    """The outputs IPython makes of a table, a heading and a note are what the renderer reads."""
    import polars as pl
    from IPython.core.formatters import DisplayFormatter

    import insights as ins

    fmt = DisplayFormatter()

    def shown(obj, kind="execute_result"):
        data, metadata = fmt.format(obj)
        out = new_output(kind, data=data, metadata=metadata)
        if kind == "execute_result":
            out.execution_count = 1
        return out

    table = ins.format_table(pl.DataFrame({"segment": ["gen_z"], "n": [12]}), lang="en")
    note = ins.text_not_available("spend", lang="en")
    nb = _notebook(
        new_code_cell(
            "ins.text_heading('alerts')", outputs=[shown(ins.text_heading("alerts", lang="en"))]
        ),
        new_code_cell(
            "#| label: tbl-seg\n#| tbl-cap: Segments\nins.format_table(f)", outputs=[shown(table)]
        ),
        new_code_cell(
            "#| label: fig-spend\n#| fig-cap: Spend\nplot()", outputs=[shown(note, "display_data")]
        ),
        new_code_cell(
            "#| label: tbl-spend\n#| tbl-cap: CAC\nt", outputs=[shown(note, "display_data")]
        ),
    )
    md = _render(nb, tmp_path)
    assert "\n## Alerts\n" in md
    assert (
        '::: {#tbl-seg tbl-cap="Segments"}\n| Segment | n |\n|:---|---:|\n| Gen Z | 12 |\n:::' in md
    )
    sentence = "Not available: needs the spend table"
    assert md.count(f"*{sentence}") == 2  # in place of the figure and of the table, no caption
    assert "Spend" not in md.replace("spend", "") and "CAC" not in md


def test_a_note_outside_a_figure_or_table_cell_is_plain_text(tmp_path):
    note = _md(
        "Needs `spend`.",
        kind="display_data",
        metadata={"text/markdown": {"insights": {"block": "not-available"}}},
    )
    md = _render(_notebook(new_code_cell("n", outputs=[note])), tmp_path)
    assert "Needs `spend`." in md


def test_text_shown_with_a_table_stays_outside_its_float(tmp_path):
    """Footnotes displayed with a table (``ins.show(table, note)``) follow the captioned table."""
    block = "Read this first.\n\n| a | b |\n|:---|---:|\n| x | 1 † |\n\n† provisional.\n\n* p < 0.05."
    nb = _notebook(
        new_code_cell("#| label: tbl-s\n#| tbl-cap: Scores\nshow(t, note)", outputs=[_md(block)])
    )
    md = _render(nb, tmp_path)
    div = md.index('::: {#tbl-s tbl-cap="Scores"}')
    end = md.index(":::", div + 3)
    assert md.index("Read this first.") < div
    assert md[div:end].count("|") == 9 and "provisional" not in md[div:end]
    assert end < md.index("† provisional.") < md.index("* p < 0.05.")
