"""Values from data as text: the one boundary between data and the report's Markdown.

Every value that comes from data (category labels, experiment and arm names, ``--by``
values, column names, manifest keys, dataset names) passes through one of these
functions on its way to a reader, so it appears literally and never becomes code:

- :func:`plain_text` neutralises what would change the layout: line breaks and tabs
  become spaces, control characters are removed, and so are the bidirectional
  overrides, embeddings, isolates and marks (U+202A–U+202E, U+2066–U+2069,
  U+200E, U+200F, U+061C) that would reorder the text around the value; a value
  longer than ``limit`` characters is cut and ends in "…".
- :func:`markdown_text` is :func:`plain_text` with every ASCII punctuation character
  pandoc's Markdown could read as syntax backslash-escaped (pandoc lets any ASCII
  punctuation be escaped), so no emphasis, link, image, raw attribute (``{=html}``,
  ``{=typst}``), HTML tag, math, heading, list or table cell can come from data;
  pandoc's HTML and Typst writers then escape the text for their own syntax.
- :func:`figure_text` is :func:`plain_text` for matplotlib: ``$`` is escaped, so a
  pair of them is never read as mathematics.

Names in tables, figures, headings and sentences are cut at :data:`LABEL_LIMIT`
(40) characters. CJK text, emoji (joiners and variation selectors included) and all
other printable characters are kept as they are.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["LABEL_LIMIT", "figure_text", "markdown_text", "plain_text"]

#: Longest data value shown in a table cell, figure label, heading or sentence (characters).
LABEL_LIMIT = 40
ELLIPSIS = "…"

# bidi embeddings/overrides/isolates and marks, the line/paragraph separators, the BOM
_INVISIBLE = frozenset(
    [0x061C, 0x200E, 0x200F, 0xFEFF, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
_SPACES = re.compile(r"[\s\u2028\u2029]+")
# Pandoc Markdown (any ASCII punctuation may be escaped with a backslash): characters
# special anywhere, then those special where they stand ("<" opening a tag, comment or
# autolink; "--" and "..." of smart dashes and ellipsis), matched in one pass
_SPECIAL = re.compile(r"""[\\`*_{}\[\]|!$&~^@#"']|<(?=[A-Za-z/!?])|-(?=-)|\.(?=\.)""")
# special at the start of a line: a list, quote, definition, heading underline, example list
_LEADING = re.compile(r"^([-+*:=>%(]|\d+(?=[.)](\s|$)))")


def plain_text(value: object, *, limit: int | None = None) -> str:
    """``value`` as one line of inert text: no control or bidi characters, cut at ``limit``.

    Parameters
    ----------
    value
        Any value (``str()`` of it is used).
    limit
        Most characters kept; a longer text keeps ``limit - 1`` and ends in "…".
        ``None``: no limit.

    Examples
    --------
    >>> plain_text("a\\nb\\tc\\x00d")
    'a b cd'
    >>> plain_text("\\u202eevil\\u202c"), plain_text("x" * 50, limit=10)
    ('evil', 'xxxxxxxxx…')
    """
    text = _SPACES.sub(" ", str(value))
    text = "".join(
        ch
        for ch in text
        if ord(ch) not in _INVISIBLE and unicodedata.category(ch) not in ("Cc", "Cs", "Co")
    ).strip()
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + ELLIPSIS
    return text


def markdown_text(value: object, *, limit: int | None = None, line_start: bool = True) -> str:
    """``value`` as pandoc Markdown text that reads back as exactly the same characters.

    :func:`plain_text`, then a backslash before each character that could start Markdown
    syntax: ``\\ ` * _ { } [ ] | ! $ & ~ ^ @ # " '`` everywhere, ``<`` before a letter,
    ``/``, ``!`` or ``?`` (a tag, comment or autolink), the dashes and dots of ``--`` and
    ``...`` (smart punctuation), and a leading ``- + * : = > % (`` or ``1.`` (a list,
    quote or heading). Numbers such as "41.0%", "<10" and "−1.2" are unchanged.

    Parameters
    ----------
    value
        Any value (``str()`` of it is used).
    limit
        Most characters kept (see :func:`plain_text`); ``None``: no limit.
    line_start
        Whether the text may start a line (a sentence, a heading). ``False`` for text
        that never does, such as a pipe-table cell: its leading characters stay as they are.

    Examples
    --------
    >>> print(markdown_text("<b>*x*</b> ![f](/etc/hostname)"))
    \\<b>\\*x\\*\\</b> \\!\\[f\\](/etc/hostname)
    >>> print(markdown_text('`#read("x")`{=typst}'))
    \\`\\#read(\\"x\\")\\`\\{=typst\\}
    >>> print(markdown_text("1. 41.0% <10 -- a"))
    1\\. 41.0% <10 \\-- a
    >>> markdown_text("Gen Z \\u7528\\u6237 \\U0001f389") == "Gen Z \\u7528\\u6237 \\U0001f389"
    True
    """
    text = _SPECIAL.sub(r"\\\g<0>", plain_text(value, limit=limit))
    lead = _LEADING.match(text) if line_start else None
    if lead and lead.group(1)[0].isdigit():  # "1. x", "2) x": escape the dot or bracket
        end = lead.end()
        return text[:end] + "\\" + text[end:]
    return "\\" + text if lead else text


def figure_text(value: object, *, limit: int | None = LABEL_LIMIT) -> str:
    """``value`` as matplotlib text: :func:`plain_text` with ``$`` escaped (never mathematics).

    Examples
    --------
    >>> figure_text("$x^2$ revenue")
    '\\\\$x^2\\\\$ revenue'
    """
    return plain_text(value, limit=limit).replace("$", r"\$")
