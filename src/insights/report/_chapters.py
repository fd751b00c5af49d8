"""Which chapter notebooks make the report, in which order.

The book is declared in ``reports/_quarto.yml`` (``book.chapters`` and
``book.appendices``, paths relative to the project root that holds ``notebooks/``);
without it, the chapters are the sorted ``notebooks/[0-9][0-9]-*.ipynb`` files and a
notebook whose name contains ``appendix`` goes to the appendix. :func:`default_notebooks`
finds the chapters when none are named: the checkout's ``notebooks/``, or the copy a
wheel ships as ``insights/notebooks`` (with ``insights/reports/_quarto.yml`` beside it, so
:func:`quarto_config` reads the same book order either way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Chapter", "default_notebooks", "discover_chapters", "quarto_config"]


@dataclass(frozen=True)
class Chapter:
    """One chapter notebook; ``appendix`` chapters are lettered (A, B, …)."""

    path: Path
    appendix: bool = False

    @property
    def name(self) -> str:
        return self.path.stem


def default_notebooks() -> Path:
    """The chapter notebooks of this installation, wherever the command runs from.

    In a source checkout (``src/insights`` next to ``notebooks/``, also an editable
    install) it is the checkout's ``notebooks/``; in an installed wheel it is the copy
    packaged as ``insights/notebooks``. The working directory plays no part: pass
    ``notebooks=`` (``--notebooks``) to render your own chapters.

    Returns
    -------
    Path
        A directory holding ``00-summary.ipynb`` and the other chapters.

    Examples
    --------
    >>> folder = default_notebooks()
    >>> (folder / "00-summary.ipynb").is_file()
    True
    """
    package = Path(__file__).resolve().parents[1]
    candidates = [package / "notebooks"]
    if package.parent.name == "src":
        candidates.insert(0, package.parent.parent / "notebooks")
    for folder in candidates:
        if any(folder.glob("[0-9][0-9]-*.ipynb")):
            return folder
    raise ValueError(
        f"notebooks: no chapter notebooks found (looked in {[str(c) for c in candidates]}); "
        "reinstall insights or pass notebooks= (--notebooks) a directory of chapters"
    )


def quarto_config(notebooks: Path) -> Path:
    """The ``_quarto.yml`` that belongs to a notebooks directory (it may not exist)."""
    return notebooks.parent / "reports" / "_quarto.yml"


def discover_chapters(
    notebooks: Path, *, config: Path | None = None, only: Sequence[str] | None = None
) -> list[Chapter]:
    """The chapters in book order.

    Parameters
    ----------
    notebooks
        Directory of the chapter notebooks.
    config
        ``_quarto.yml`` to read the book from (default :func:`quarto_config`); when it
        does not exist or lists no notebook, the directory is globbed instead.
    only
        Keep these chapters (names such as ``"02-retention"`` or their two-digit
        prefix ``"02"``), in book order.
    """
    if not notebooks.is_dir():
        raise ValueError(f"notebooks: {notebooks} is not a directory of chapter notebooks")
    config = quarto_config(notebooks) if config is None else config
    chapters = _from_config(config, notebooks) if config.is_file() else []
    if not chapters:
        found = sorted(notebooks.glob("[0-9][0-9]-*.ipynb"))
        extra = sorted(p for p in notebooks.glob("*appendix*.ipynb") if p not in found)
        chapters = [Chapter(p, appendix="appendix" in p.stem) for p in [*found, *extra]]
        chapters.sort(key=lambda c: c.appendix)
    if not chapters:
        raise ValueError(
            f"notebooks: no chapter notebooks in {notebooks} (expected {config} or files "
            "named like 00-summary.ipynb)"
        )
    if only is None:
        return chapters
    wanted = list(only)
    unknown = [w for w in wanted if not any(_matches(c, w) for c in chapters)]
    if unknown:
        raise ValueError(
            f"chapters: unknown chapter(s) {unknown}; available: {[c.name for c in chapters]}"
        )
    return [c for c in chapters if any(_matches(c, w) for w in wanted)]


def _matches(chapter: Chapter, wanted: str) -> bool:
    wanted = Path(wanted).stem
    return chapter.name == wanted or chapter.name.split("-", 1)[0] == wanted


def _from_config(config: Path, notebooks: Path) -> list[Chapter]:
    try:
        data: Any = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{config}: not valid YAML: {exc}") from None
    book = data.get("book") or {}
    root = notebooks.parent
    chapters = [Chapter(p) for p in _paths(book.get("chapters") or [], root)]
    chapters += [Chapter(p, appendix=True) for p in _paths(book.get("appendices") or [], root)]
    missing = [str(c.path) for c in chapters if not c.path.is_file()]
    if missing:
        raise ValueError(f"{config}: chapter notebook(s) listed but missing: {missing}")
    return chapters


def _paths(entries: list[Any], root: Path) -> list[Path]:
    """Notebook paths of book entries (strings or ``{part:, chapters: [...]}``); ``.qmd`` skipped."""
    out: list[Path] = []
    for entry in entries:
        if isinstance(entry, dict):
            out += _paths(entry.get("chapters") or [], root)
        elif str(entry).endswith(".ipynb"):
            out.append(root / str(entry))
    return out
