"""The one door to pandoc (the binary shipped by ``pypandoc_binary``).

Markdown -> Typst body (for the typst template) and Markdown -> self-contained HTML,
both through ``crossref.lua``; HTML tables in notebook outputs -> Markdown tables.
"""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

from insights._options import Lang
from insights.report._errors import RenderError

__all__ = [
    "PandocError",
    "html_to_markdown",
    "markdown_to_html",
    "markdown_to_typst",
    "pandoc_version",
]

# Dollar signs are money in this report, never TeX math.
_READER = "markdown-tex_math_dollars-raw_tex"
_FATAL_WARNINGS = ("Could not fetch resource", "Could not find", "not found")


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


def _run(args: list[str], text: str, *, what: str) -> str:
    proc = subprocess.run(
        [_pandoc(), *args], input=text, capture_output=True, text=True, encoding="utf-8"
    )
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
        # long pipe-table rows would get fixed relative widths; auto widths fit better
        "--columns=100000",
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
    """A self-contained HTML page (figures embedded as data URIs) written to ``output``."""
    args = [
        f"--from={_READER}",
        "--to=html5",
        "--standalone",
        "--embed-resources",
        f"--resource-path={resource_dir}",
        f"--css={templates / 'insights.css'}",
        f"--lua-filter={templates / 'crossref.lua'}",
        f"--metadata=lang:{_meta_lang(lang)}",
        f"--metadata=title:{title}",
        f"--metadata=toc-title:{toc_title}",
        "--toc",
        "--toc-depth=2",
        f"--output={output}",
    ]
    if subtitle:
        args.append(f"--metadata=subtitle:{subtitle}")
    if date:
        args.append(f"--metadata=date:{date}")
    _run(args, markdown, what="writing HTML")


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
