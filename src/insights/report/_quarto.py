"""The ``quarto`` backend: ``quarto render`` of the book in ``reports/_quarto.yml``.

Used when the ``quarto`` executable is on PATH (``pip install "insights[quarto]"`` on a
machine with internet access). It assembles a throw-away Quarto project (the config,
``templates/`` and the selected ``notebooks/``), renders it with ``--execute`` and the
same parameters as the built-in backend, and returns the files for the caller to move
into place. Not exercised in CI: Quarto cannot be installed there.

The report's language: Quarto reads the English ``title`` and ``fig-cap``/``tbl-cap`` of a
notebook, so each chapter's copy is localized first (:func:`localize_notebook`: the
``title-<lang>`` and ``fig-cap-<lang>``/``tbl-cap-<lang>`` the notebooks carry take their
place), and ``quarto render --profile <lang>`` merges ``_quarto-<lang>.yml`` (``lang``,
cross-reference words) over ``_quarto.yml``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import nbformat
import yaml

from insights.report._chapters import Chapter
from insights.report._errors import RenderError

__all__ = ["localize_notebook", "quarto_executable", "render_quarto"]

_OPTION = re.compile(r"^#\|\s*([\w-]+):\s*(.*)$")
_LOCALIZED = ("fig-cap", "tbl-cap")


def quarto_executable() -> str | None:
    """Path of the ``quarto`` executable, or None."""
    return shutil.which("quarto")


def render_quarto(
    chapters: list[Chapter],
    *,
    config: Path,
    templates: Path,
    parameters: dict[str, Any],
    formats: tuple[str, ...],
    title: str,
    workdir: Path,
    lang: str = "en",
) -> dict[str, Path]:
    """Render with Quarto; ``{"pdf": file, "html": directory}`` inside ``workdir``."""
    exe = quarto_executable()
    if exe is None:
        raise RenderError("quarto executable not found; use backend='builtin'")
    project = workdir / "quarto"
    (project / "notebooks").mkdir(parents=True)
    shutil.copytree(templates, project / "templates")
    for chapter in chapters:
        nb = nbformat.read(chapter.path, as_version=4)
        nbformat.write(localize_notebook(nb, lang), project / "notebooks" / chapter.path.name)
    profile = config.parent / f"_quarto-{lang}.yml"
    if profile.is_file():
        shutil.copy2(profile, project / profile.name)
    settings: dict[str, Any] = (
        yaml.safe_load(config.read_text(encoding="utf-8")) if config.is_file() else {}
    )
    book = settings.setdefault("book", {})
    book["title"] = title
    book["chapters"] = ["index.qmd"] + [
        f"notebooks/{c.path.name}" for c in chapters if not c.appendix
    ]
    book["appendices"] = [f"notebooks/{c.path.name}" for c in chapters if c.appendix]
    settings.setdefault("project", {})["output-dir"] = "_book"
    (project / "_quarto.yml").write_text(
        yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8"
    )
    (project / "index.qmd").write_text(f"# {title} {{.unnumbered}}\n", encoding="utf-8")
    outputs: dict[str, Path] = {}
    for fmt in formats:
        to = "typst" if fmt == "pdf" else "html"
        cmd = [exe, "render", str(project), "--execute", "--to", to]
        if profile.is_file():
            cmd += ["--profile", lang]
        for key, value in parameters.items():
            cmd += ["-P", f"{key}:{json.dumps(value, ensure_ascii=False)}"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RenderError(f"quarto render failed:\n{proc.stderr[-4000:]}")
        book_dir = project / "_book"
        if fmt == "pdf":
            pdfs = sorted(book_dir.glob("*.pdf"))
            if not pdfs:
                raise RenderError(f"quarto render produced no PDF in {book_dir}")
            outputs["pdf"] = pdfs[0]
        else:
            outputs["html"] = book_dir
    return outputs


def localize_notebook(nb: nbformat.NotebookNode, lang: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose Quarto ``title`` and captions are those of ``lang``.

    The front matter's ``title`` becomes its ``title-<lang>``; in each code cell,
    ``#| fig-cap`` / ``#| tbl-cap`` take the value of ``#| fig-cap-<lang>`` /
    ``#| tbl-cap-<lang>``. Entries without a ``-<lang>`` twin stay as they are.
    """
    nb = nbformat.from_dict(nb)  # never change the caller's notebook
    for index, cell in enumerate(nb.cells):
        if index == 0 and cell.cell_type == "raw" and cell.source.startswith("---"):
            cell.source = _localize_front(cell.source, lang)
        elif cell.cell_type == "code":
            cell.source = _localize_options(cell.source, lang)
    return nb


def _localize_front(source: str, lang: str) -> str:
    lines = source.strip().split("\n")
    if len(lines) < 2 or lines[-1].strip() != "---":
        return source
    meta = yaml.safe_load("\n".join(lines[1:-1])) or {}
    if not isinstance(meta, dict) or f"title-{lang}" not in meta:
        return source
    meta["title"] = meta[f"title-{lang}"]
    return "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---"


def _localize_options(source: str, lang: str) -> str:
    lines = source.split("\n")
    values = {m[1]: m[2] for line in lines if (m := _OPTION.match(line))}
    for i, line in enumerate(lines):
        m = _OPTION.match(line)
        if m and m[1] in _LOCALIZED and f"{m[1]}-{lang}" in values:
            lines[i] = f"#| {m[1]}: {values[f'{m[1]}-{lang}']}"
    return "\n".join(lines)
