"""Chapter discovery: the book in reports/_quarto.yml, else the notebook file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from insights.report._chapters import discover_chapters

ROOT = Path(__file__).resolve().parents[2]


def _touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("{}", encoding="utf-8")


def test_glob_orders_chapters_and_puts_the_appendix_last(tmp_path):
    _touch(
        tmp_path / "notebooks",
        "02-b.ipynb",
        "00-a.ipynb",
        "08-appendix.ipynb",
        "01-c.ipynb",
        "helpers.py",
        "scratch.ipynb",
    )
    chapters = discover_chapters(tmp_path / "notebooks")
    assert [(c.name, c.appendix) for c in chapters] == [
        ("00-a", False), ("01-c", False), ("02-b", False), ("08-appendix", True),
    ]  # fmt: skip


def test_quarto_yml_defines_the_book(tmp_path):
    _touch(tmp_path / "notebooks", "00-a.ipynb", "01-b.ipynb", "09-extra.ipynb", "99-notes.ipynb")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "_quarto.yml").write_text(
        "book:\n  chapters:\n    - index.qmd\n    - notebooks/01-b.ipynb\n"
        "    - part: Two\n      chapters: [notebooks/00-a.ipynb]\n"
        "  appendices:\n    - notebooks/99-notes.ipynb\n",
        encoding="utf-8",
    )
    chapters = discover_chapters(tmp_path / "notebooks")
    assert [(c.name, c.appendix) for c in chapters] == [
        ("01-b", False),
        ("00-a", False),
        ("99-notes", True),
    ]
    assert [c.name for c in discover_chapters(tmp_path / "notebooks", only=["00", "99-notes"])] == [
        "00-a",
        "99-notes",
    ]


def test_missing_listed_chapter_and_unknown_selection_are_errors(tmp_path):
    _touch(tmp_path / "notebooks", "00-a.ipynb")
    with pytest.raises(ValueError, match="chapters: unknown chapter"):
        discover_chapters(tmp_path / "notebooks", only=["05"])
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "_quarto.yml").write_text(
        "book:\n  chapters: [notebooks/01-gone.ipynb]\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="listed but missing"):
        discover_chapters(tmp_path / "notebooks")
    with pytest.raises(ValueError, match="notebooks: .* is not a directory"):
        discover_chapters(tmp_path / "nowhere")


def test_project_quarto_yml_lists_the_project_notebooks():
    chapters = discover_chapters(ROOT / "notebooks") if (ROOT / "notebooks").is_dir() else []
    listed = {c.path.name for c in chapters}
    on_disk = {p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")}
    assert listed == on_disk
