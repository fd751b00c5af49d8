"""Bad parameters are refused with a clear message before any kernel starts."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

import insights.report._builtin as builtin
import insights.report.renderer as renderer
from insights.cli import app
from insights.report import FontError, QuartoSyntaxError, render

NOTEBOOKS = Path(__file__).parent / "notebooks"


@pytest.fixture
def no_kernel(monkeypatch):
    """Fail the test if a chapter would be executed."""

    def refuse(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(builtin, "execute_chapter", refuse)


@pytest.fixture
def tiny_data(tmp_path) -> Path:
    """A directory that passes the file checks (a users table); never read by a kernel."""
    import polars as pl

    folder = tmp_path / "data"
    folder.mkdir()
    pl.DataFrame({"user_id": [1, 2], "first_seen_at": ["2024-01-01", "2024-02-01"]}).write_csv(
        folder / "users.csv"
    )
    return folder


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quarter": "2024Q5"}, "quarter: '2024Q5' is not a quarter; write it like 2024Q4"),
        ({"quarter": "2024-12"}, "quarter"),
        ({"lang": "fr"}, r"lang: 'fr' is not supported; choose one of \['zh', 'en'\]"),
        ({"formats": "pdf,docx"}, r"formats: \['docx'\]"),
        ({"formats": ""}, "formats: nothing"),
        ({"backend": "latex"}, "backend: 'latex'"),
        ({"min_cell": 0}, "min_cell"),
        ({"compare_to": "last year"}, "compare_to"),
        ({"chapters": ["05"]}, r"chapters: unknown chapter\(s\) \['05'\]"),
    ],
)
def test_bad_parameters(no_kernel, tiny_data, tmp_path, kwargs, message):
    args = {
        "quarter": "2024Q4",
        "out": tmp_path / "out",
        "notebooks": NOTEBOOKS,
        "progress": False,
    } | kwargs
    with pytest.raises(ValueError, match=message):
        render(tiny_data, **args)
    assert not (tmp_path / "out").exists()


def test_bad_data_directory(no_kernel, tmp_path):
    with pytest.raises(ValueError, match="data: .*nowhere does not exist"):
        render(tmp_path / "nowhere", quarter="2024Q4", notebooks=NOTEBOOKS)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="data: .* has neither a users nor an orders table"):
        render(tmp_path / "empty", quarter="2024Q4", notebooks=NOTEBOOKS)


def test_quarter_after_the_data(no_kernel, sim_dir, tmp_path):
    with pytest.raises(
        ValueError, match=r"quarter: 2025Q2 starts after the data ends \(2024-12-31\)"
    ):
        render(sim_dir, quarter="2025Q2", out=tmp_path, notebooks=NOTEBOOKS, progress=False)


def test_unknown_by_column(no_kernel, sim_dir, tmp_path):
    with pytest.raises(ValueError, match="by: 'province' is not a users column; choose one of"):
        render(
            sim_dir,
            quarter="2024Q4",
            by="province",
            out=tmp_path,
            notebooks=NOTEBOOKS,
            progress=False,
        )


def test_quarto_backend_needs_quarto(no_kernel, tiny_data, monkeypatch):
    monkeypatch.setattr(renderer, "quarto_executable", lambda: None)
    with pytest.raises(ValueError, match="backend: 'quarto' needs the quarto executable"):
        render(tiny_data, quarter="2024Q4", backend="quarto", notebooks=NOTEBOOKS)


def test_unsupported_cell_option_is_found_before_running(no_kernel, tiny_data, tmp_path):
    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, folder)
    nb = nbformat.read(folder / "02-orders.ipynb", as_version=4)
    nb.cells[4].source = "#| fig-width: 8\n" + nb.cells[4].source
    nbformat.write(nb, folder / "02-orders.ipynb")
    with pytest.raises(
        QuartoSyntaxError, match=r"chapter 02-orders, cell 4: cell option\(s\) \['fig-width'\]"
    ):
        render(tiny_data, quarter="2024Q4", notebooks=folder)


def test_missing_font_says_what_to_install(no_kernel, tiny_data, monkeypatch):
    import insights.report._typst as typst_module

    monkeypatch.setattr(typst_module, "_fonts", lambda: (("DejaVu Sans", None, 0),))
    with pytest.raises(FontError, match="apt-get install fonts-noto-cjk"):
        render(tiny_data, quarter="2024Q4", formats="pdf", notebooks=NOTEBOOKS)


def test_cli_exit_code_2_and_message(no_kernel, tiny_data, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["report", str(tiny_data), "--quarter", "2024Q9", "--notebooks", str(NOTEBOOKS),
                              "--out", str(tmp_path / "out")])  # fmt: skip
    assert res.exit_code == 2
    assert "quarter" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "out").exists()
