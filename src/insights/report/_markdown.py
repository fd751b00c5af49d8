"""An executed chapter notebook -> pandoc Markdown plus its figure files (nbconvert).

Markdown cells are kept in cell order, in the report's language (:func:`language_text`).
Code cells become Markdown by their ``#|`` options (see :mod:`insights.report._syntax`)
and their rich outputs: ``text/markdown`` (headings, bullets and tables from
:mod:`insights._display`, shown as a cell's result or with ``display``), images, HTML
tables and plain results. Printed text (stdout) is the notebook's, never the report's:
the renderer leaves it out, so a ``print`` for a check cannot change the report.
A "not available" note (``ins.text_not_available``) is told by its output metadata.
a labelled figure becomes ``![caption](figures/…png){#fig-x}``, a labelled table a
``::: {#tbl-x tbl-cap="…"}`` div that ``crossref.lua`` turns into a captioned table.
Figures are extracted by nbconvert's ``ExtractOutputPreprocessor``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.exporters import MarkdownExporter
from nbconvert.preprocessors import Preprocessor

from insights._display import NOTE_METADATA
from insights._options import Lang
from insights.report._chapters import Chapter
from insights.report._errors import RenderError
from insights.report._pandoc import html_to_markdown
from insights.report._syntax import CellOptions, QuartoSyntaxError, cell_options

__all__ = ["chapter_markdown", "language_text"]

_IMAGE_TYPES = ("image/png", "image/svg+xml", "image/jpeg")
_OBJECT_REPR = re.compile(r"^<[^\n]*>$")
_GLYPH_WARNING = re.compile(r"Glyph (\d+) .*missing from (current )?font")
# CJK punctuation, kana, ideographs, Hangul, compatibility ideographs and fullwidth forms
_CJK_RANGES = ((0x3000, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF))
_TABLE_LINE = re.compile(r"^\s*(\|.*\||\+[-=+:]+\+)\s*$", re.MULTILINE)
_SKIP_TAGS = {"parameters", "injected-parameters"}
_DIV_OPEN = re.compile(r"^\s*:::+\s*\S")
_DIV_CLOSE = re.compile(r"^\s*:::+\s*$")
_PROFILE_DIV = re.compile(r'^\s*:::+\s*\{\s*\.content-visible\s+when-profile="?(\w+)"?\s*\}\s*$')
# the same div written as HTML, which JupyterLab renders without showing the fences
_PROFILE_HTML_OPEN = re.compile(
    r'^\s*<div\s+class="content-visible"\s+when-profile="(\w+)"\s*>\s*$', re.IGNORECASE
)
_HTML_DIV_OPEN = re.compile(r"^\s*<div[\s>]", re.IGNORECASE)
_HTML_DIV_CLOSE = re.compile(r"^\s*</div>\s*$", re.IGNORECASE)


def chapter_markdown(
    nb: nbformat.NotebookNode,
    chapter: Chapter,
    *,
    meta: dict[str, Any],
    lang: Lang,
    workdir: Path,
    skip_tags: frozenset[str] = frozenset(),
) -> str:
    """Markdown of one executed chapter; figures are written under ``workdir/figures/<chapter>/``.

    Cells tagged with one of ``skip_tags`` are left out (``documents``: the text that
    explains a comparison with the industry documents, when comparisons are off).

    The chapter starts with a level-1 heading: the notebook's own (first Markdown) or
    the front matter's ``title-<lang>`` / ``title``, with the id ``sec-<name>`` (the
    name without its number, e.g. ``sec-retention`` for ``02-retention``).
    """
    nb = nbformat.from_dict(nb)  # a copy: never change the caller's notebook
    injected = [i for i, c in enumerate(nb.cells) if "injected-parameters" in _tags(c)]
    cells = _QuartoCells(
        chapter=chapter.name,
        defaults=meta.get("execute") or {},
        lang=lang,
        injected_at=injected[0] if injected else None,
        skip_tags=skip_tags,
    )
    exporter = MarkdownExporter()
    exporter.register_preprocessor(cells, enabled=True)
    given: dict[str, Any] = {
        "unique_key": chapter.name,
        "output_files_dir": f"figures/{chapter.name}",
    }
    body, resources = exporter.from_notebook_node(nb, resources=given)
    outputs: dict[str, bytes] = resources.get("outputs") or {}
    for name, data in outputs.items():
        target = workdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    body = body.strip() + "\n"
    if not re.match(r"#\s", body):
        title = meta.get(f"title-{lang}") or meta.get("title") or chapter.name
        ident = "sec-" + chapter.name.split("-", 1)[-1]
        body = f"# {title} {{#{ident}}}\n\n{body}"
    return body


class _QuartoCells(Preprocessor):
    """Replace each code cell by the Markdown its options and outputs call for."""

    def __init__(
        self,
        *,
        chapter: str,
        defaults: dict[str, Any],
        lang: Lang,
        injected_at: int | None,
        skip_tags: frozenset[str] = frozenset(),
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.chapter = chapter
        self.lang = lang
        self.defaults = defaults
        self.injected_at = injected_at
        self.skip_tags = _SKIP_TAGS | skip_tags

    def preprocess_cell(
        self, cell: nbformat.NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[nbformat.NotebookNode, dict[str, Any]]:
        skip = (index == 0 and cell.cell_type == "raw") or self.skip_tags & _tags(cell)
        if skip or cell.cell_type == "raw":
            return nbformat.v4.new_markdown_cell(""), resources
        if cell.cell_type == "markdown":
            return nbformat.v4.new_markdown_cell(language_text(cell.source, self.lang)), resources
        if cell.cell_type != "code":
            return cell, resources
        shift = 1 if self.injected_at is not None and index > self.injected_at else 0
        where = f"chapter {self.chapter}, cell {index - shift}"
        options, code = cell_options(
            cell.source, where=where, defaults=self.defaults, lang=self.lang
        )
        text = _cell_markdown(cell, options, code, where=where, auto_id=f"{self.chapter}-{index}")
        return nbformat.v4.new_markdown_cell(text), resources


def _cell_markdown(
    cell: nbformat.NotebookNode, options: CellOptions, code: str, *, where: str, auto_id: str
) -> str:
    if not options.include:
        return ""
    parts: list[str] = []
    if options.echo and code.strip():
        parts.append(f"```python\n{code.strip()}\n```")
    if options.output is False:
        return "\n\n".join(parts)
    asis = options.output == "asis"
    images: list[str] = []
    blocks: list[str] = []
    notes: list[str] = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            if out.name == "stderr":
                _check_stderr(out.text, where)
            continue  # printed text is the notebook's, not the report's
        if out.output_type not in ("display_data", "execute_result"):
            continue
        if _is_note(out):
            notes.append(str(out.data["text/markdown"]).strip())
            continue
        block = _rich_output(out, asis=asis, where=where, images=images)
        if block:
            blocks.append(block)

    is_figure = bool(options.fig_cap) or (options.label or "").startswith("fig-")
    is_table = bool(options.tbl_cap) or (options.label or "").startswith("tbl-")
    tables = [b for b in blocks if _TABLE_LINE.search(b)]
    if (is_figure or is_table) and not cell.get("outputs"):
        pass  # a section that is not available draws nothing here: its heading says why, once
    elif (is_figure or is_table) and notes and not images and not tables:
        # an optional table is absent: its sentence stands in for the figure or table
        parts += blocks
        parts += [f"*{_inline(note)}*" for note in notes]
    elif is_figure:
        if len(images) != 1:
            said = " ".join(" ".join(blocks).split())[:160]
            raise QuartoSyntaxError(
                f"{where}: a figure cell ({options.label or 'fig-cap'}) must draw exactly one "
                f"figure; it drew {len(images)}" + (f" and showed {said!r}" if said else "")
            )
        ident = f"#{options.label} " if options.label else ""
        parts += blocks
        parts.append(f"![{_inline(options.fig_cap or '')}]({images[0]}){{{ident}width=88%}}")
    elif is_table:
        if len(tables) != 1:
            raise QuartoSyntaxError(
                f"{where}: a table cell ({options.label or 'tbl-cap'}) must output exactly one "
                f"Markdown or HTML table; it output {len(tables)}"
            )
        ident = options.label or f"tbl-{auto_id}"
        caption = _attribute(options.tbl_cap or "")
        others = [b for b in blocks if b is not tables[0]]
        parts += others
        # one output may hold text around its table (notes, footnotes): only the table
        # goes in the captioned div (a div's other text is not part of a table float)
        before, table, after = _split_table(tables[0])
        parts.append(before)
        parts.append(f'::: {{#{ident} tbl-cap="{caption}"}}\n{table}\n:::')
        parts.append(after)
    else:
        parts += blocks + notes
        parts += [f"![]({path}){{width=88%}}" for path in images]
    return "\n\n".join(p for p in parts if p.strip())


def _split_table(block: str) -> tuple[str, str, str]:
    r"""``block`` as (text before its table, the table, text after it).

    The table is the first run of table lines (pipe or grid), with the caption-less
    lines between them (a grid table's rows); text around it is kept as it is.

    >>> _split_table("Intro.\n\n| a |\n|---|\n| 1 |\n\n† a note.")
    ('Intro.', '| a |\n|---|\n| 1 |', '† a note.')
    """
    lines = block.strip().splitlines()
    rows = [i for i, line in enumerate(lines) if _TABLE_LINE.match(line)]
    first = rows[0]
    last = first
    while (
        last + 1 < len(lines)
        and lines[last + 1].strip()
        and (_TABLE_LINE.match(lines[last + 1]) or lines[last + 1].lstrip().startswith(("|", "+")))
    ):
        last += 1
    before = "\n".join(lines[:first]).strip()
    after = "\n".join(lines[last + 1 :]).strip()
    return before, "\n".join(lines[first : last + 1]).strip(), after


def _rich_output(out: nbformat.NotebookNode, *, asis: bool, where: str, images: list[str]) -> str:
    data = out.get("data", {})
    if "text/markdown" in data:
        return str(data["text/markdown"])
    for mime in _IMAGE_TYPES:
        if mime in data:
            path = out.get("metadata", {}).get("filenames", {}).get(mime)
            if path is None:  # pragma: no cover - ExtractOutputPreprocessor names every image
                raise RenderError(f"{where}: figure output was not extracted")
            images.append(str(path))
            return ""
    if "text/html" in data:
        html = str(data["text/html"])
        if "<table" in html:
            return html_to_markdown(html)
        raise QuartoSyntaxError(
            f"{where}: HTML output that is not a table cannot go into the PDF; "
            "display Markdown, a figure or a table instead"
        )
    if "text/plain" in data:
        text = str(data["text/plain"])
        if _OBJECT_REPR.match(text.strip()):
            return ""
        return _text_block(text, asis)
    return ""


def language_text(text: str, lang: Lang) -> str:
    """A Markdown cell's text in ``lang``: the Quarto profile divs of the other language dropped.

    ``::: {.content-visible when-profile="zh"}`` ... ``:::`` holds text for the zh report
    only (Quarto shows it under ``--profile zh``, ``reports/_quarto-zh.yml``); the div's
    fences go, its text stays. Text outside such divs is in both languages; other divs
    (callouts, ids) are kept as they are.

    The same div may be written in HTML, ``<div class="content-visible"
    when-profile="zh">`` ... ``</div>`` (blank lines around the text), which pandoc and
    Quarto read as the same div and JupyterLab renders without showing any fence.

    >>> language_text('::: {.content-visible when-profile="zh"}\\nA\\n:::\\nB\\n'
    ...               '::: {.content-visible when-profile="en"}\\nC\\n:::', "en")
    'B\\nC'
    >>> language_text('<div class="content-visible" when-profile="zh">\\n\\nA\\n\\n</div>\\n'
    ...               '<div class="content-visible" when-profile="en">\\n\\nC\\n\\n</div>', "zh")
    'A'
    """
    kept: list[str] = []
    # per open div: (html?, its profile or None for any other div)
    stack: list[tuple[bool, str | None]] = []
    for line in text.splitlines():
        html_profile = _PROFILE_HTML_OPEN.match(line)
        if html_profile or _HTML_DIV_OPEN.match(line):
            stack.append((True, html_profile.group(1) if html_profile else None))
            if html_profile:
                continue
        elif _HTML_DIV_CLOSE.match(line) and any(h for h, _ in stack):
            while stack and not stack[-1][0]:
                stack.pop()
            if stack.pop()[1] is not None:
                continue
        elif _DIV_OPEN.match(line):
            profile = _PROFILE_DIV.match(line)
            stack.append((False, profile.group(1) if profile else None))
            if profile:
                continue
        elif _DIV_CLOSE.match(line) and stack:
            if stack.pop()[1] is not None:
                continue
        if all(p in (None, lang) for _, p in stack):
            kept.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")


def _is_note(out: nbformat.NotebookNode) -> bool:
    """A "not available" note (:class:`insights._display.NotAvailable`), told by its metadata."""
    meta = out.get("metadata", {}).get("text/markdown") or {}
    return (
        "text/markdown" in out.get("data", {}) and meta.get("insights") == NOTE_METADATA["insights"]
    )


def _tags(cell: nbformat.NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _text_block(text: str, asis: bool) -> str:
    if asis:
        return text.strip("\n")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)  # longer than any run of backticks in the text
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def _check_stderr(text: str, where: str) -> None:
    """A figure lacking CJK glyphs is an error (the report's own words need the CJK font);
    any other missing glyph (an emoji in a name from data) is drawn as a box."""
    codes = [int(m.group(1)) for m in _GLYPH_WARNING.finditer(text)]
    if any(_is_cjk(code) for code in codes):
        raise RenderError(
            f"{where}: a figure uses characters its font lacks ({_GLYPH_WARNING.search(text).group(0)}). "  # type: ignore[union-attr]
            "Install a CJK font (apt-get install fonts-noto-cjk) and draw with it "
            "(matplotlib font.family 'Noto Sans CJK SC')."
        )


def _is_cjk(code: int) -> bool:
    return any(low <= code <= high for low, high in _CJK_RANGES)


def _inline(text: str) -> str:
    """Caption text safe inside ``![...]``."""
    return text.replace("\n", " ").replace("[", "\\[").replace("]", "\\]")


def _attribute(text: str) -> str:
    """Caption text safe inside a double-quoted pandoc attribute."""
    return text.replace("\n", " ").replace("\\", "\\\\").replace('"', '\\"')
