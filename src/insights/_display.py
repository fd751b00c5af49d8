"""Text blocks that display themselves: one path for JupyterLab and the report.

Headings, bullet lists, paragraphs, "not available" notes and tables are strings
(printing, joining and comparing them works as before) that also carry
``_repr_markdown_``: the last expression of a notebook cell becomes one
``text/markdown`` output, which JupyterLab renders (its table of contents lists the
headings), Quarto includes as Markdown, and the built-in renderer reads
(:mod:`insights.report._markdown`). Tables add ``_repr_html_``.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["Markdown", "NotAvailable", "Table", "show"]

#: Output metadata of a "not available" note (``metadata["text/markdown"]``): a figure
#: or table cell showing one instead of its figure or table is complete.
NOTE_METADATA = {"insights": {"block": "not-available"}}


class Markdown(str):
    """A block of Markdown text: a ``str`` that JupyterLab renders as Markdown.

    Examples
    --------
    >>> from insights._display import Markdown
    >>> block = Markdown("## Retention")
    >>> block._repr_markdown_(), block == "## Retention", block + "!"
    ('## Retention', True, '## Retention!')
    """

    __slots__ = ()

    def _repr_markdown_(self) -> Any:
        return str(self)


class NotAvailable(Markdown):
    """The sentence a figure or table cell shows when an optional table is absent.

    Its ``text/markdown`` output is marked (:data:`NOTE_METADATA`), so the report
    renderer sets the sentence in place of the figure or table.
    """

    __slots__ = ()

    def _repr_markdown_(self) -> Any:
        return str(self), NOTE_METADATA


class Table(Markdown):
    """A Markdown pipe table (from :func:`insights.format_table`) that also renders as HTML.

    Examples
    --------
    >>> from insights._display import Table
    >>> t = Table("| a | b |\\n|:---|---:|\\n| x<y | 1 |")
    >>> t._repr_html_()
    '<table class="insights-table"><thead><tr><th style="text-align: left">a</th><th style="text-align: right">b</th></tr></thead><tbody><tr><td style="text-align: left">x&lt;y</td><td style="text-align: right">1</td></tr></tbody></table>'
    """

    __slots__ = ()

    def _repr_html_(self) -> str:
        lines = [line for line in str(self).splitlines() if line.strip()]
        if len(lines) < 2:
            return f"<pre>{html.escape(str(self))}</pre>"
        head, rule, *body = (_cells(line) for line in lines)
        align = ["right" if r.endswith(":") and not r.startswith(":") else "left" for r in rule]

        def row(cells: list[str], tag: str) -> str:
            return (
                "<tr>"
                + "".join(
                    f'<{tag} style="text-align: {align[i] if i < len(align) else "left"}">'
                    f"{html.escape(c)}</{tag}>"
                    for i, c in enumerate(cells)
                )
                + "</tr>"
            )

        rows = "".join(row(cells, "td") for cells in body)
        return (
            f'<table class="insights-table"><thead>{row(head, "th")}</thead>'
            f"<tbody>{rows}</tbody></table>"
        )


_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _cells(line: str) -> list[str]:
    """The cells of one pipe-table line, as text (``\\|`` is a bar, ``\\*`` a star ...)."""
    text = line.strip()
    text = text[1:] if text.startswith("|") else text
    text = text[:-1] if text.endswith("|") and not text.endswith("\\|") else text
    cells, current, i = [], "", 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in _PUNCTUATION:
            current, i = current + text[i + 1], i + 2  # a Markdown escape: the character itself
            continue
        if text[i] == "|":
            cells.append(current.strip())
            current = ""
        else:
            current += text[i]
        i += 1
    cells.append(current.strip())
    return cells


def show(*data: str | None) -> Markdown:
    """One Markdown block of the text blocks ``data`` (blank lines between them; empty ones skipped).

    The last expression of a notebook cell, ``ins.show(heading, bullets)``, renders as
    one ``text/markdown`` output in JupyterLab and in the report.

    Examples
    --------
    >>> import insights as ins
    >>> print(ins.show("## Growth", "", "- One.", None))
    ## Growth
    <BLANKLINE>
    - One.
    """
    given = [b for b in data if b]
    if len(given) == 1 and isinstance(given[0], Markdown):
        return given[0]  # keeps its kind (a table, a "not available" note)
    return Markdown("\n\n".join(str(b).strip("\n") for b in given))
