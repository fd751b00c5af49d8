"""The wheel holds everything an installed ``insights`` reads at run time.

``pip install .`` (not editable) must give a package that renders the report from any
directory: the chapter notebooks, the book order, the report templates, the default
scenario, the calibration targets and the narrative catalogs all ship inside it. The
wheel is built once with ``pip wheel --no-build-isolation`` (hatchling comes with the
dev group), its member list is compared with the checkout, and the packaged book is
read back with the same function the renderer uses.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from insights.report._chapters import discover_chapters

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("hatchling") is None:
        pytest.skip("hatchling is not installed (the dev dependency group has it: make install)")
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps"]
    cmd += ["--no-build-isolation", "--quiet", "--wheel-dir", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (built,) = out.glob("insights-*.whl")
    return built


@pytest.fixture(scope="module")
def members(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def _files(folder: Path, pattern: str = "*") -> list[Path]:
    return sorted(p for p in folder.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts)


def test_wheel_ships_the_package_sources(members: set[str]) -> None:
    src = ROOT / "src"
    expected = {p.relative_to(src).as_posix() for p in _files(src / "insights")}
    expected = {name for name in expected if not name.endswith(".pyc")}
    assert expected - members == set()


def test_wheel_ships_the_chapter_notebooks(members: set[str]) -> None:
    notebooks = [p.name for p in _files(ROOT / "notebooks", "*.ipynb")]
    assert len(notebooks) >= 9
    missing = [n for n in notebooks if f"insights/notebooks/{n}" not in members]
    assert missing == []
    assert "insights/notebooks/README.md" not in members
    assert not any(".ipynb_checkpoints" in m for m in members)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("reports/templates", "insights/report/templates"),
        ("data/scenarios", "insights/simulator/scenarios"),
    ],
)
def test_wheel_ships_data_folders(members: set[str], source: str, target: str) -> None:
    files = [p.relative_to(ROOT / source).as_posix() for p in _files(ROOT / source)]
    assert files
    assert [f for f in files if f"{target}/{f}" not in members] == []


@pytest.mark.parametrize(
    "member",
    [
        "insights/_data/calibration_targets.csv",
        "insights/reports/_quarto.yml",
        "insights/reports/_quarto-en.yml",
        "insights/reports/_quarto-zh.yml",
        "insights/narrative/catalog_en.yaml",
        "insights/narrative/catalog_zh.yaml",
        "insights/narrative/documents.csv",
        "insights/report/templates/insights.typ",
        "insights/simulator/scenarios/default.yaml",
    ],
)
def test_wheel_ships_data_files(members: set[str], member: str) -> None:
    assert member in members


def test_wheel_holds_only_the_package(members: set[str]) -> None:
    tops = {m.split("/", 1)[0] for m in members}
    extra = tops - {"insights"}
    assert len(extra) == 1 and extra.pop().endswith(".dist-info"), sorted(tops)


def test_wheel_declares_the_command(wheel: Path, members: set[str]) -> None:
    (entry_points,) = [m for m in members if m.endswith(".dist-info/entry_points.txt")]
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read(entry_points).decode()
    assert "insights = insights.cli:app" in text


def test_packaged_book_matches_the_checkout(wheel: Path, tmp_path: Path) -> None:
    """The unpacked wheel's notebooks and ``_quarto.yml`` give the checkout's book order."""
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(tmp_path)
    packaged = discover_chapters(tmp_path / "insights" / "notebooks")
    checkout = discover_chapters(ROOT / "notebooks")
    assert [(c.name, c.appendix) for c in packaged] == [(c.name, c.appendix) for c in checkout]
    assert [c.name for c in packaged][:2] == ["00-summary", "01-growth"]
    assert packaged[-1].appendix


def test_installed_copy_finds_its_notebooks(wheel: Path, tmp_path: Path) -> None:
    """Imported from the unpacked wheel (not the checkout), the default is the packaged copy."""
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    code = "import insights.report._chapters as c; print(c.__file__); print(c.default_notebooks())"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    module, folder = proc.stdout.split()
    assert Path(module).is_relative_to(site)
    assert Path(folder) == site / "insights" / "notebooks"
