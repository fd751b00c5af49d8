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
(they suppress them); ``--by`` refuses id-like columns and skips segment values with
fewer users (:mod:`insights.tables._suppress`).

:func:`check_published` then scans everything that leaves the machine, as it will be
published: the file names, the HTML (its text with embedded images left out, and its
metadata: ``<title>``, ``<meta>`` contents, ``alt``/``title`` attributes of figures),
and the typst source of the PDF (cover included). Beyond the two rules above:

3. **Known ids in names and metadata.** One id of the dataset in a file name, the
   HTML title or metadata, or a figure's alt text is a failure.
4. **No path of this machine.** The dataset's absolute directory, the home folder, the
   working folder or the installation anywhere in what is published is a failure:
   reports name the dataset by its directory's name. Path-like text from data (an arm
   named ``x ![f](/etc/hostname)``) is only text and passes.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from insights.report._errors import RenderError

__all__ = ["PrivacyError", "check_privacy", "check_published"]

_ID_COLUMN = re.compile(
    r"(?i)(?<![A-Za-z0-9])(user_?id|uid|user id|open_?id|union_?id|member_?id|customer_?id)(?![A-Za-z0-9])"
)
_ID_VALUE = re.compile(
    r"(?<![\w.,])(\d{6,}|[A-Za-z]+[-_]?\d{4,}|[0-9a-fA-F]{16,}|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27})(?![\w.,])"
)
_CELL_SEPARATORS = re.compile(r"[|│┆]")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{6,}")
# embedded images and fonts (src="data:..." / url(data:...)), not data: text in the report
_DATA_URI = re.compile(r"(?<=src=\")data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+|(?<=url\()data:[^)]*")
_META = re.compile(
    r"(?is)<title>(.*?)</title>|<meta\b[^>]*\bcontent\s*=\s*\"([^\"]*)\"|\b(?:alt|title|aria-label)\s*=\s*\"([^\"]*)\""
)
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


def check_published(
    files: Mapping[str, Path],
    *,
    names: Sequence[str] = (),
    known_ids: pl.Series | None = None,
    data: str | Path | None = None,
) -> None:
    """Raise :class:`PrivacyError` when what is about to be published shows ids or paths.

    Parameters
    ----------
    files
        ``{format: path}`` of the finished files (an HTML file or a folder of HTML
        files; a PDF is checked through the ``main.typ`` beside it, cover included).
    names
        The file names they will be published under.
    known_ids
        The dataset's user ids (rules 2 and 3).
    data
        The dataset's directory: its absolute form must not appear (rule 4).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "r.html").write_text("<title>Q4</title><p>read from /home/ana/data</p>")
    >>> check_published({"html": folder / "r.html"}, names=["insights-2024Q4-en.html"],
    ...                 data="/home/ana/data")
    Traceback (most recent call last):
    ...
    insights.report._privacy.PrivacyError: the report shows a path of this machine ('/home/ana/data') in r.html; name the dataset by its directory only

    A path-like name from data that is not one of this machine's folders is text:

    >>> _ = (folder / "r.html").write_text("<p>arm x ![f](/etc/hostname)</p>")
    >>> check_published({"html": folder / "r.html"}, names=["r.html"], data="/home/ana/data")
    """
    ids = _id_set(known_ids)
    for name in names:
        hit = _known_in(name, ids)
        if hit:
            raise PrivacyError(
                f"the report's file name {name!r} holds a user id of the dataset; "
                "split by a grouping column, not an id"
            )
    # this machine's own places, not any path-like text: a name from data such as
    # "x ![f](/etc/hostname)" is shown literally (tables/_escape.py) and is not a leak
    also = [*_absolute_forms(data), *_machine_roots()]
    for path in _texts(files):
        raw = path.read_text(encoding="utf-8", errors="replace")
        text = _DATA_URI.sub("", raw)
        local = [p for p in also if _shows(text, p)]
        if local:
            raise PrivacyError(
                f"the report shows a path of this machine ({local[0][:80]!r}) in {path.name}; "
                "name the dataset by its directory only"
            )
        if path.suffix == ".html":
            meta = " ".join(g for m in _META.finditer(text) for g in m.groups() if g)
            hit = _known_in(meta, ids)
            if hit:
                raise PrivacyError(
                    f"the report's title, metadata or figure text in {path.name} holds a "
                    "user id of the dataset; show aggregates only"
                )
        check_privacy(text, known_ids=known_ids)


def _texts(files: Mapping[str, Path]) -> list[Path]:
    out: list[Path] = []
    for source in files.values():
        if source.is_dir():
            out += sorted(p for p in source.rglob("*") if p.suffix in (".html", ".htm"))
        elif source.suffix in (".html", ".htm"):
            out.append(source)
        elif (source.parent / "main.typ").is_file():  # the PDF's source: cover and body
            out.append(source.parent / "main.typ")
    return out


def _machine_roots() -> list[str]:
    """Folders of this machine a report could reveal: the home folder, the working folder
    and the Python installation (where the package and its notebooks live)."""
    roots = {str(Path.home()), os.getcwd(), sys.prefix, str(Path(__file__).resolve().parents[2])}
    return sorted(r for r in roots if r.count("/") + r.count("\\") >= 2)


def _shows(text: str, root: str) -> bool:
    """``root`` in ``text`` as a path (followed by a separator, a quote, a space or the end)."""
    return re.search(re.escape(root) + r"(?=[\\/\s\"'<),;]|$)", text) is not None


def _absolute_forms(data: str | Path | None) -> list[str]:
    if data is None:
        return []
    path = Path(data)
    forms = {str(path.absolute()), str(path.resolve())}
    return sorted(f for f in forms if f.count("/") + f.count("\\") > 1)


def _id_set(known_ids: pl.Series | None) -> frozenset[str]:
    if known_ids is None or known_ids.len() == 0:
        return frozenset()
    return frozenset(str(v) for v in known_ids.drop_nulls().to_list() if len(str(v)) >= 6)


def _known_in(text: str, ids: frozenset[str]) -> list[str]:
    """Ids of ``ids`` in ``text`` as whole tokens, however joined (``-``, ``_``, ``.``)."""
    if not ids:
        return []
    tokens = set(_TOKEN.findall(text)) | set(re.findall(r"[A-Za-z0-9]+", text))
    tokens |= set(re.findall(r"[A-Za-z0-9_]+", text)) | set(re.findall(r"[A-Za-z0-9-]+", text))
    return sorted(t for t in tokens if t in ids)
