"""The one door to pandoc (the binary shipped by ``pypandoc_binary``).

Markdown -> Typst body (for the typst template) and Markdown -> self-contained HTML,
both through ``crossref.lua``; HTML tables in notebook outputs -> Markdown tables.

pandoc always runs with ``--sandbox``: it reads no file but the filters it is given,
so no Markdown can make it read or embed a local file. The HTML's figures are put in
by ``embed.lua`` (PNGs under ``figures/`` of the render folder only), its style sheet
is inlined here, and the page carries a Content-Security-Policy (:data:`CSP`) that
allows no script, no plugin and nothing outside the page itself.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

from insights._options import Lang
from insights.report._errors import RenderError

__all__ = [
    "CSP",
    "PandocError",
    "html_to_markdown",
    "markdown_to_html",
    "markdown_to_typst",
    "pandoc_version",
]

# Dollar signs are money in this report, never TeX math.
_READER = "markdown-tex_math_dollars-raw_tex"
_TIMEOUT = 600  # seconds: pandoc converts a whole report in a few
_FATAL_WARNINGS = ("Could not fetch resource", "Could not find", "not found")
#: The HTML report's Content-Security-Policy: it uses no script; images, style and
#: fonts are inline (data: URIs and <style>), nothing is loaded from elsewhere.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"
)
_HEAD = re.compile(r"<head>\s*", re.IGNORECASE)


class PandocError(RenderError):
    """pandoc failed, or warned about something that would leave the report broken."""


@cache
def _pandoc() -> str:
    try:
        import pypandoc
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise PandocError("pandoc is missing: pip install pypandoc_binary") from exc
    return str(pypandoc.get_pandoc_path())


def pandoc_version() -> str:
    """The pandoc version string, e.g. ``"3.9"``."""
    out = subprocess.run([_pandoc(), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


def _run(args: list[str], text: str, *, what: str, cwd: Path | None = None) -> str:
    try:
        proc = subprocess.run(
            [_pandoc(), "--sandbox", *args],
            input=text,
            capture_output=True,
            text=True,
            encoding="utf-8",
            cwd=cwd,
            timeout=_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise PandocError(f"pandoc took more than {_TIMEOUT} s while {what}") from None
    if proc.returncode != 0:
        raise PandocError(f"pandoc failed while {what}: {proc.stderr.strip()}")
    fatal = [
        line
        for line in proc.stderr.splitlines()
        if any(w in line for w in _FATAL_WARNINGS) and "translations" not in line
    ]
    if fatal:
        raise PandocError(f"pandoc warned while {what}: " + "; ".join(fatal))
    return proc.stdout


def _meta_lang(lang: Lang) -> str:
    return "zh-Hans" if lang == "zh" else "en-GB"


def markdown_to_typst(markdown: str, *, lang: Lang, templates: Path) -> str:
    """The Typst body of a report (no preamble: ``main.typ`` imports the template)."""
    args = [
        f"--from={_READER}",
        "--to=typst",
        f"--lua-filter={templates / 'crossref.lua'}",
        f"--metadata=lang:{_meta_lang(lang)}",
        "--wrap=preserve",
        # English: a pipe table with a row over 72 characters takes the page width, its
        # columns in proportion to the rule's dashes, which format_table sets from each
        # column's longest word and cell (typst's automatic widths let words run into the
        # next column). Chinese breaks between any two characters: typst's automatic
        # widths fit it better, so no row counts as long there.
        "--columns=72" if lang == "en" else "--columns=100000",
    ]
    return _run(args, markdown, what="converting Markdown to Typst")


def markdown_to_html(
    markdown: str,
    *,
    lang: Lang,
    templates: Path,
    resource_dir: Path,
    output: Path,
    title: str,
    subtitle: str | None = None,
    date: str | None = None,
    toc_title: str = "Contents",
) -> None:
    """A self-contained HTML page (figures embedded as data URIs) written to ``output``.

    Figure paths are relative to ``resource_dir`` (pandoc's working directory); the page
    gets ``insights.css`` inline and the :data:`CSP` meta tag.
    """
    args = [
        f"--from={_READER}",
        "--to=html5",
        "--standalone",
        "--embed-resources",
        f"--lua-filter={templates / 'embed.lua'}",
        f"--lua-filter={templates / 'crossref.lua'}",
        f"--metadata=lang:{_meta_lang(lang)}",
        f"--metadata=title:{title}",
        f"--metadata=toc-title:{toc_title}",
        "--toc",
        "--toc-depth=2",
    ]
    if subtitle:
        args.append(f"--metadata=subtitle:{subtitle}")
    if date:
        args.append(f"--metadata=date:{date}")
    page = _run(args, markdown, what="writing HTML", cwd=resource_dir)
    style = (templates / "insights.css").read_text(encoding="utf-8")
    head = (
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}" />\n'
        f"<style>\n{style}\n</style>\n"
    )
    page, found = _HEAD.subn(lambda m: m.group(0) + head, page, count=1)
    if not found:  # pragma: no cover - pandoc's standalone HTML always has a head
        raise PandocError("writing HTML: pandoc's page has no <head>")
    Path(output).write_text(page, encoding="utf-8")


def html_to_markdown(html: str) -> str:
    """An HTML table (e.g. a notebook's ``text/html`` output) as a pandoc Markdown table."""
    return _run(
        [
            "--from=html-native_divs-native_spans",
            "--to=markdown-raw_html-native_divs-simple_tables-multiline_tables",
            "--wrap=none",
        ],
        html,
        what="converting an HTML table",
    ).strip()
