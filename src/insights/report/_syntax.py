"""The subset of Quarto notebook syntax the built-in renderer understands.

Chapter notebooks are Quarto-compatible ``.ipynb`` files. The built-in backend reads:

Front matter
    A first **raw** cell holding YAML between ``---`` lines. Keys: ``title`` (the chapter
    title), ``title-zh`` / ``title-en`` (the title in one language, used before ``title``
    when the report is rendered in that language), ``subtitle``, ``jupyter`` (kernel
    name, informational), ``execute`` (``echo``, ``warning``, ``output``: chapter
    defaults for the cell options below), ``lang``. Any other key is an error.
    When the chapter's Markdown already starts with a level-1 heading (for example
    ``ins.text_heading(key, level=1)`` shown by a cell) no title is added.
Parameters
    One code cell tagged ``parameters`` (papermill's convention, which Quarto uses too).
Cell options
    ``#|`` lines at the top of a code cell, YAML:

    - ``label``: ``fig-…`` for a figure, ``tbl-…`` for a table (cross-referenced from
      Markdown with ``@fig-…`` / ``@tbl-…``); ``sec-…`` ids go on headings
      (``## Title {#sec-x}``).
    - ``fig-cap`` / ``fig-alt``: caption / alt text of the cell's one figure.
    - ``tbl-cap``: caption of the cell's one table (a ``text/markdown`` output such as
      ``ins.format_table(...)`` as the cell's result, or an HTML table).
    - ``fig-cap-zh`` / ``fig-cap-en`` / ``tbl-cap-zh`` / ``tbl-cap-en``: the caption in
      one language, used instead of ``fig-cap`` / ``tbl-cap`` when the report is
      rendered in that language (an insights extension; the Quarto backend copies them
      into ``fig-cap`` / ``tbl-cap`` of the chapter copies it renders).
    - ``echo``: show the code (default ``false``, as ``reports/_quarto.yml`` sets).
    - ``output``: ``true`` / ``false`` / ``asis`` (``asis``: plain-text results are
      Markdown; printed text is never part of the report, see below).
    - ``include: false``: run the cell, show nothing.
    - ``warning``: accepted; the built-in backend never shows warnings.

    Any other option is an error naming the chapter and cell.
Markdown
    Pandoc Markdown with Quarto cross references (``@fig-x``, ``@tbl-x``, ``@sec-x``)
    and callouts (``::: {.callout-note}``; note, tip, warning, important, caution).
    Text for one language goes in a Quarto profile div, ``::: {.content-visible
    when-profile="zh"}`` ... ``:::`` (or ``"en"``): the report in that language shows it
    (Quarto through ``--profile zh``, ``reports/_quarto-zh.yml``), the other leaves it
    out; text outside such divs is in both. Markdown cells appear in the report in cell
    order. Another profile name is an error.
    Shortcodes (``{{< … >}}``) and inline code (`` `{python} x` ``) are errors.

Outputs are chosen per output in this order: ``text/markdown``, ``image/png``,
``image/svg+xml``, ``image/jpeg``, ``text/html`` (tables only), ``text/plain`` (shown as
a code block, or as Markdown with ``output: asis``). Object reprs such as
``<Axes: …>`` and ``stderr`` text are dropped. Printed text (``stdout``) is the
notebook's, not the report's: it is left out, so headings, sentences and tables reach
the report only as displayed objects (``insights._display``: the same ``text/markdown``
outputs JupyterLab renders and Quarto includes). A figure or table cell that displays a
"not available" note (``ins.text_not_available``, told by its output metadata) shows the
note in place of the figure or table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from insights._options import Lang
from insights.report._errors import RenderError

__all__ = [
    "CELL_OPTIONS",
    "FRONT_MATTER_KEYS",
    "CellOptions",
    "QuartoSyntaxError",
    "cell_options",
    "check_markdown",
    "front_matter",
]

_LANGS = ("zh", "en")
CELL_OPTIONS = frozenset(
    {"label", "fig-cap", "fig-alt", "tbl-cap", "echo", "output", "include", "warning"}
    | {f"{cap}-{lang}" for cap in ("fig-cap", "tbl-cap") for lang in _LANGS}
)
FRONT_MATTER_KEYS = frozenset(
    {"title", "title-zh", "title-en", "subtitle", "jupyter", "execute", "lang"}
)
_EXECUTE_KEYS = frozenset({"echo", "warning", "output"})
_OPTION_LINE = re.compile(r"^#\|\s?(.*)$")
_SHORTCODE = re.compile(r"\{\{<.*?>\}\}")
_PROFILE = re.compile(r'when-profile="?([\w-]+)"?')
_INLINE_CODE = re.compile(r"`\{(python|r|julia|ojs)\}[^`]*`")


class QuartoSyntaxError(RenderError, ValueError):
    """A notebook uses Quarto syntax outside the supported subset."""


@dataclass(frozen=True)
class CellOptions:
    """The ``#|`` options of one code cell, with chapter defaults applied."""

    label: str | None = None
    fig_cap: str | None = None
    fig_alt: str | None = None
    tbl_cap: str | None = None
    echo: bool = False
    output: bool | Literal["asis"] = True
    include: bool = True


def front_matter(source: str, *, where: str) -> dict[str, Any]:
    """Parse the YAML front matter of a raw first cell; unknown keys are an error.

    >>> front_matter("---\\ntitle: Growth\\n---", where="x")
    {'title': 'Growth'}
    """
    text = source.strip()
    if not text.startswith("---"):
        raise QuartoSyntaxError(
            f"{where}: the first raw cell must be YAML front matter between '---' lines"
        )
    body = text[3:]
    end = body.rfind("---")
    if end >= 0:
        body = body[:end]
    try:
        meta = yaml.safe_load(body) or {}
    except yaml.YAMLError as exc:
        raise QuartoSyntaxError(f"{where}: front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise QuartoSyntaxError(f"{where}: front matter must be a YAML mapping")
    unknown = sorted(set(meta) - FRONT_MATTER_KEYS)
    if unknown:
        raise QuartoSyntaxError(
            f"{where}: front matter key(s) {unknown} are not supported by the built-in renderer; "
            f"supported: {sorted(FRONT_MATTER_KEYS)}"
        )
    execute = meta.get("execute") or {}
    if not isinstance(execute, dict) or set(execute) - _EXECUTE_KEYS:
        raise QuartoSyntaxError(
            f"{where}: front matter 'execute' supports only {sorted(_EXECUTE_KEYS)}; got {execute!r}"
        )
    return meta


def cell_options(
    source: str, *, where: str, defaults: dict[str, Any] | None = None, lang: Lang | None = None
) -> tuple[CellOptions, str]:
    """Split a code cell's leading ``#|`` lines from its code and validate them.

    Returns the options (``defaults`` from the front matter's ``execute`` applied
    first; captions in ``lang`` preferred) and the code without the option lines.

    >>> opts, code = cell_options("#| label: fig-a\\n#| fig-cap: A\\nplot()", where="x")
    >>> opts.label, opts.fig_cap, code
    ('fig-a', 'A', 'plot()')
    """
    lines = source.splitlines()
    option_lines: list[str] = []
    for line in lines:
        match = _OPTION_LINE.match(line)
        if not match:
            break
        option_lines.append(match.group(1))
    code = "\n".join(lines[len(option_lines) :])
    values: dict[str, Any] = {}
    if option_lines:
        try:
            parsed = yaml.safe_load("\n".join(option_lines)) or {}
        except yaml.YAMLError as exc:
            raise QuartoSyntaxError(f"{where}: '#|' options are not valid YAML: {exc}") from None
        if not isinstance(parsed, dict):
            raise QuartoSyntaxError(f"{where}: '#|' options must be 'key: value' lines")
        unknown = sorted(set(parsed) - CELL_OPTIONS)
        if unknown:
            raise QuartoSyntaxError(
                f"{where}: cell option(s) {unknown} are not supported by the built-in renderer; "
                f"supported: {sorted(CELL_OPTIONS)}"
            )
        values = parsed
    merged = {k: v for k, v in (defaults or {}).items() if k in ("echo", "output")} | values
    output = merged.get("output", True)
    if output not in (True, False, "asis"):
        raise QuartoSyntaxError(f"{where}: 'output' must be true, false or asis; got {output!r}")
    for key in ("echo", "include", "warning"):
        if key in merged and not isinstance(merged[key], bool):
            raise QuartoSyntaxError(f"{where}: '{key}' must be true or false; got {merged[key]!r}")
    label = merged.get("label")
    if label is not None and not re.fullmatch(r"(fig|tbl)-[A-Za-z0-9_-]+", str(label)):
        raise QuartoSyntaxError(
            f"{where}: label {label!r} must look like fig-name or tbl-name (letters, digits, - and _)"
        )
    fig_cap, tbl_cap = merged.get("fig-cap"), merged.get("tbl-cap")
    for lang_key in _LANGS:  # a caption in any language makes the cell a figure / table
        fig_cap = fig_cap or merged.get(f"fig-cap-{lang_key}")
        tbl_cap = tbl_cap or merged.get(f"tbl-cap-{lang_key}")
    if lang is not None:
        fig_cap = merged.get(f"fig-cap-{lang}") or fig_cap
        tbl_cap = merged.get(f"tbl-cap-{lang}") or tbl_cap
    options = CellOptions(
        label=label,
        fig_cap=_text(fig_cap, "fig-cap", where),
        fig_alt=_text(merged.get("fig-alt"), "fig-alt", where),
        tbl_cap=_text(tbl_cap, "tbl-cap", where),
        echo=bool(merged.get("echo", False)),
        output=output,
        include=bool(merged.get("include", True)),
    )
    if options.tbl_cap and label and not label.startswith("tbl-"):
        raise QuartoSyntaxError(f"{where}: a cell with tbl-cap needs a tbl- label, not {label!r}")
    if options.fig_cap and label and not label.startswith("fig-"):
        raise QuartoSyntaxError(f"{where}: a cell with fig-cap needs a fig- label, not {label!r}")
    return options, code


def check_markdown(text: str, *, where: str) -> None:
    """Fail on Quarto Markdown features the built-in renderer does not support."""
    for profile in _PROFILE.findall(text):
        if profile not in _LANGS:
            raise QuartoSyntaxError(
                f"{where}: when-profile={profile!r}: the report's profiles are {list(_LANGS)}"
            )
    for pattern, what in ((_SHORTCODE, "shortcode"), (_INLINE_CODE, "inline code")):
        found = pattern.search(text)
        if found:
            raise QuartoSyntaxError(
                f"{where}: Quarto {what} {found.group(0)!r} is not supported by the built-in renderer"
            )


def _text(value: Any, key: str, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        raise QuartoSyntaxError(
            f"{where}: '{key}' must be one string (sub-figures are not supported)"
        )
    return str(value)
