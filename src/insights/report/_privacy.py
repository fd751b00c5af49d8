"""The last check before a report is written: it must not list user ids.

The rule, applied to the report's full text (the Markdown that becomes the PDF and the
HTML, including every table and printed output):

1. **An id column with values.** A line that names a user-id column as a table or
   listing column (``user_id``, ``userid``, ``uid``, ``user id``, ``openid``,
   ``unionid``, ``member_id``, ``customer_id``; between ``|``/``│``/``┆`` separators or
   as a word of a whitespace-separated header) followed, in the same table (the next
   non-blank lines, at most 20), by at least 3 rows that hold an id-like value: an
   integer of 6 or more digits, a token mixing letters and 4 or more digits
   (``u000123``), or a hex/UUID string of 16 or more characters.
2. **Known ids.** When the dataset's user ids are given, 5 or more distinct ids of 6 or
   more characters appearing anywhere in the text.

Prose that mentions ``user_id`` (a metric definition) passes; so do counts written
with thousands separators. Segments smaller than ``min_cell`` are the chapters' job
(they suppress them); ``--by`` skips segment values with fewer users.
"""

from __future__ import annotations

import re

import polars as pl

from insights.report._errors import RenderError

__all__ = ["PrivacyError", "check_privacy"]

_ID_COLUMN = re.compile(
    r"(?i)(?<![A-Za-z0-9])(user_?id|uid|user id|open_?id|union_?id|member_?id|customer_?id)(?![A-Za-z0-9])"
)
_ID_VALUE = re.compile(
    r"(?<![\w.,])(\d{6,}|[A-Za-z]+[-_]?\d{4,}|[0-9a-fA-F]{16,}|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27})(?![\w.,])"
)
_CELL_SEPARATORS = re.compile(r"[|│┆]")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{6,}")
_MIN_ROWS = 3
_MIN_KNOWN = 5


class PrivacyError(RenderError):
    """The rendered report would show user ids."""


def check_privacy(text: str, *, known_ids: pl.Series | None = None) -> None:
    """Raise :class:`PrivacyError` when ``text`` looks like it lists user ids (rules above).

    >>> check_privacy("Retention is measured per user_id; D30 = 35.0%.")
    >>> check_privacy("| user_id | gmv |\\n|---|---|\\n| 10000091 | 3 |\\n| 10000194 | 5 |\\n| 10000189 | 1 |")
    Traceback (most recent call last):
    ...
    insights.report._privacy.PrivacyError: the report lists user ids: a 'user_id' column with 3 id-like rows near line 1 ('| user_id | gmv |'); show aggregates only
    """
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not _ID_COLUMN.search(line) or not _is_header(line):
            continue
        rows = 0
        for row in lines[i + 1 : i + 21]:
            if not row.strip():
                break
            if _ID_VALUE.search(row):
                rows += 1
        if rows >= _MIN_ROWS:
            raise PrivacyError(
                f"the report lists user ids: a '{_ID_COLUMN.search(line).group(0)}' column "  # type: ignore[union-attr]
                f"with {rows} id-like rows near line {i + 1} ({line.strip()[:80]!r}); show "
                "aggregates only"
            )
    if known_ids is not None and known_ids.len() > 0:
        tokens = pl.Series(sorted(set(_TOKEN.findall(text))), dtype=pl.String)
        found = tokens.filter(tokens.is_in(known_ids.cast(pl.String).implode()))
        if found.len() >= _MIN_KNOWN:
            raise PrivacyError(
                f"the report lists user ids: {found.len()} ids of the dataset appear in its "
                f"text (e.g. {found.head(3).to_list()}); show aggregates only"
            )


def _is_header(line: str) -> bool:
    """The id name stands as a column: between cell separators or as a word of a header row."""
    if _CELL_SEPARATORS.search(line):
        cells = [c.strip().lower() for c in _CELL_SEPARATORS.split(line)]
        return any(_ID_COLUMN.fullmatch(c) for c in cells if c)
    words = line.split()
    return 1 < len(words) <= 30 and any(_ID_COLUMN.fullmatch(w) for w in words)
