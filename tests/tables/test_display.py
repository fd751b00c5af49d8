"""Text blocks display themselves: Markdown for JupyterLab and the report, HTML for tables."""

from __future__ import annotations

import html.parser
from pathlib import Path

import polars as pl
import yaml
from IPython.core.formatters import DisplayFormatter

import insights as ins
from insights._display import Markdown, NotAvailable, Table

CATALOG = yaml.safe_load(
    (Path(ins.__path__[0]) / "narrative" / "catalog_en.yaml").read_text(encoding="utf-8")
)


class _Cells(html.parser.HTMLParser):
    """The text of every th/td of an HTML table, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in = False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        self._in = tag in ("td", "th")
        if self._in:
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        self._in = False

    def handle_data(self, data):
        if self._in:
            self.rows[-1][-1] += data


def test_markdown_is_a_string_that_renders_as_markdown():
    block = Markdown("## Growth")
    assert block == "## Growth" and isinstance(block, str)
    assert block + "\n" == "## Growth\n" and f"{block}" == "## Growth" and str(block) == "## Growth"
    data, metadata = DisplayFormatter().format(block)
    assert data["text/markdown"] == "## Growth" and "text/html" not in data
    assert metadata == {}


def test_builders_return_markdown_blocks():
    heading = ins.text_heading("alerts", lang="en", level=3)
    assert isinstance(heading, Markdown) and heading == "### " + CATALOG["section"]["alerts"]
    bullets = ins.format_bullets(["One.", "", "Two."])
    assert isinstance(bullets, Markdown) and bullets._repr_markdown_() == "- One.\n- Two."
    assert isinstance(ins.format_paragraph(["A.", "B."], lang="en"), Markdown)
    note = ins.text_not_available("spend", lang="en")
    assert isinstance(note, NotAvailable)
    assert note == "Not available: needs the spend table (spend.csv / spend.parquet)."
    data, metadata = DisplayFormatter().format(note)
    assert data["text/markdown"] == str(note)
    assert metadata["text/markdown"] == {"insights": {"block": "not-available"}}


def test_table_has_markdown_and_escaped_html():
    frame = pl.DataFrame({"segment": ["<b>x</b> & y", "gen_z"], "n": [12, 30]})
    table = ins.format_table(frame, lang="en")
    assert isinstance(table, Table)
    lines = table.splitlines()
    assert lines[0] == "| Segment | n |" and lines[1] == "|:---|---:|"
    data, _ = DisplayFormatter().format(table)
    assert data["text/markdown"] == str(table)
    page = data["text/html"]
    assert "<b>" not in page and "&lt;b&gt;x&lt;/b&gt; &amp; y" in page
    parser = _Cells()
    parser.feed(page)
    assert parser.rows == [["Segment", "n"], ["<b>x</b> & y", "12"], ["Gen Z", "30"]]
    assert 'style="text-align: right">12<' in page  # numbers stay right-aligned


def test_table_html_keeps_escaped_bars():
    parser = _Cells()
    parser.feed(Table("| a | b |\n|:---|:---|\n| x \\| y | 2 |")._repr_html_())
    assert parser.rows == [["a", "b"], ["x | y", "2"]]


def test_show_joins_blocks_with_blank_lines():
    block = ins.show(ins.text_heading("alerts", lang="en"), "", None, "- One.\n")
    assert isinstance(block, Markdown)
    assert block == f"## {CATALOG['section']['alerts']}\n\n- One."
    table = Table("| a |\n|:---|\n| 1 |")
    assert ins.show(table) is table  # one block keeps its kind
    assert ins.show() == ""
