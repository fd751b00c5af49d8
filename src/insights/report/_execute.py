"""Run one chapter notebook with injected parameters (papermill), or say where it broke."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import nbformat

from insights.report._chapters import Chapter
from insights.report._errors import RenderError
from insights.report._syntax import QuartoSyntaxError, cell_options, check_markdown, front_matter

__all__ = ["ChapterError", "check_chapter", "execute_chapter"]

# Figures at twice the screen resolution: sharp in print and in HTML.
# The kernel's own log (transport warnings, interrupts at shutdown) stays quiet.
_KERNEL_ARGS = ["--InlineBackend.figure_formats=retina", "--IPKernelApp.log_level=CRITICAL"]
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class ChapterError(RenderError):
    """A cell of a chapter notebook raised: which chapter, which cell, which error."""

    def __init__(self, chapter: str, cell: int, source: str, ename: str, evalue: str, trace: str):
        self.chapter, self.cell, self.ename, self.evalue = chapter, cell, ename, evalue
        self.traceback = trace
        first = next(
            (line for line in source.splitlines() if line and not line.startswith("#|")), ""
        )
        super().__init__(
            f"chapter {chapter}, cell {cell} ({first.strip()[:80]!r}) failed: {ename}: {evalue}"
        )


def check_chapter(chapter: Chapter) -> dict[str, Any]:
    """Read a chapter and check its Quarto syntax before any kernel starts; return its front matter.

    Raises :class:`~insights.report._syntax.QuartoSyntaxError` on unsupported syntax and
    ``ValueError`` when the notebook has no (or several) ``parameters`` cells.
    """
    nb = nbformat.read(chapter.path, as_version=4)
    where = f"chapter {chapter.name}"
    if not nb.cells or nb.cells[0].cell_type != "raw":
        raise QuartoSyntaxError(f"{where}: the first cell must be a raw cell of YAML front matter")
    meta = front_matter(nb.cells[0].source, where=where)
    defaults = meta.get("execute") or {}
    tagged = [
        i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    if len(tagged) != 1:
        raise ValueError(
            f"{where}: needs exactly one cell tagged 'parameters' (found {len(tagged)})"
        )
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "raw" and i > 0:
            raise QuartoSyntaxError(
                f"{where}, cell {i}: raw cells other than the front matter are not supported"
            )
        if cell.cell_type == "code":
            cell_options(cell.source, where=f"{where}, cell {i}", defaults=defaults)
        elif cell.cell_type == "markdown":
            check_markdown(cell.source, where=f"{where}, cell {i}")
    return meta


def execute_chapter(
    chapter: Chapter, parameters: dict[str, Any], *, workdir: Path, timeout: int | None = None
) -> nbformat.NotebookNode:
    """Execute ``chapter`` with ``parameters`` injected; the executed notebook is returned.

    A copy of the notebook without outputs is executed (outputs saved by JupyterLab never
    reach the report). The kernel runs in the notebook's directory, like Quarto (this process does not
    change directory, so chapters may run in parallel threads). On a failing cell a
    :class:`ChapterError` names the chapter, the cell's index in the committed notebook
    and the error.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    logging.getLogger("papermill").setLevel(logging.ERROR)
    output = workdir / f"{chapter.name}.executed.ipynb"
    source = workdir / f"{chapter.name}.source.ipynb"
    nbformat.write(_without_outputs(nbformat.read(chapter.path, as_version=4)), source)
    try:
        return pm.execute_notebook(
            str(source),
            str(output),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            # the kernel's working directory, without chdir in this process (thread-safe)
            resources={"metadata": {"path": str(chapter.path.parent)}},
            execution_timeout=timeout,
            extra_arguments=_KERNEL_ARGS,
            # the kernel's connection file (ports and key) in the render's own folder
            kernel_manager_class=_kernel_manager(workdir / f"kernel-{chapter.name}.json"),
        )
    except PapermillExecutionError as exc:
        original = nbformat.read(chapter.path, as_version=4)
        cell = _original_index(original, exc.source, exc.cell_index)
        trace = _ANSI.sub("", "\n".join(exc.traceback))
        raise ChapterError(chapter.name, cell, exc.source, exc.ename, exc.evalue, trace) from None


def _kernel_manager(connection_file: Path) -> type:
    """A kernel manager class whose connection file is ``connection_file`` (not a
    ``tmp*.json`` in the system temporary folder, where a killed render would leave it)."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import Unicode

    return type(
        "WorkdirKernelManager",
        (AsyncKernelManager,),
        {"connection_file": Unicode(str(connection_file))},
    )


def _without_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy with no outputs or execution counts: a chapter saved from JupyterLab after a
    run carries them, and nothing of an earlier run may reach the report."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def _original_index(nb: nbformat.NotebookNode, source: str, executed_index: int) -> int:
    """Index of the failing cell in the committed notebook (papermill adds a parameters cell)."""
    matches = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source == source]
    if matches:
        return min(matches, key=lambda i: abs(i - executed_index))
    return max(executed_index - 1, 0)
