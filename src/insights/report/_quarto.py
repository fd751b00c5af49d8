"""The ``quarto`` backend: ``quarto render`` of the book in ``reports/_quarto.yml``.

Used when the ``quarto`` executable is on PATH (``pip install "insights[quarto]"`` on a
machine with internet access). It assembles a throw-away Quarto project (the config,
``templates/`` and the selected ``notebooks/``), renders it with ``--execute`` and the
same parameters as the built-in backend, and returns the files for the caller to move
into place. Not exercised in CI: Quarto cannot be installed there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from insights.report._chapters import Chapter
from insights.report._errors import RenderError

__all__ = ["quarto_executable", "render_quarto"]


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
) -> dict[str, Path]:
    """Render with Quarto; ``{"pdf": file, "html": directory}`` inside ``workdir``."""
    exe = quarto_executable()
    if exe is None:
        raise RenderError("quarto executable not found; use backend='builtin'")
    project = workdir / "quarto"
    (project / "notebooks").mkdir(parents=True)
    shutil.copytree(templates, project / "templates")
    for chapter in chapters:
        shutil.copy2(chapter.path, project / "notebooks" / chapter.path.name)
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
