"""End to end with the built-in backend: tiny chapter notebooks on the CI simulation.

The notebooks in ``tests/report/notebooks`` are two chapters and an appendix: a figure
with a caption and a cross reference, a table, a callout, Chinese and English text.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import polars as pl
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from insights.cli import app
from insights.report import ChapterError, PrivacyError, render

NOTEBOOKS = Path(__file__).parent / "notebooks"


def _pdf_text(path: Path) -> tuple[int, str]:
    reader = PdfReader(path)
    return len(reader.pages), "\n".join(page.extract_text() or "" for page in reader.pages)


@pytest.fixture(scope="module")
def zh_report(sim_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    files = render(
        sim_dir, quarter="2024Q4", lang="zh", out=out, notebooks=NOTEBOOKS, progress=False
    )
    return out, files


def test_zh_report_pdf_has_chapters_captions_and_cjk(zh_report, sim_dir):
    out, files = zh_report
    pdf = out / "2024Q4" / "insights-2024Q4-zh.pdf"
    assert files == [pdf, pdf.with_suffix(".html")]
    pages, text = _pdf_text(pdf)
    assert pages >= 5  # cover, contents, two chapters, appendix
    for expected in ("直播电商用户增长与留存季度报告", "目录", "用户增长", "订单与复购", "附录", "参数",
                     "各平台用户数", "各品类订单", "图 1.1", "表 2.1"):  # fmt: skip
        assert expected in text, expected
    n_users = pl.read_parquet(sim_dir / "users.parquet").height
    assert f"{n_users:,}" in text  # the narrative's number comes from the data
    assert re.search(r"见\s*图 1.1", text)  # the cross reference resolved to the figure's number
    assert len(re.findall(r"[\u4e00-\u9fff]", text)) > 50


def test_zh_report_html_is_self_contained(zh_report):
    out, _ = zh_report
    html = (out / "2024Q4" / "insights-2024Q4-zh.html").read_text(encoding="utf-8")
    sources = re.findall(r'<img [^>]*src="([^"]*)"', html)
    assert len(sources) == 1 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert 'class="xref">图\u00a01.1</a>' in html and "各品类订单" in html
    assert "<link" not in html.replace('<link rel="stylesheet"', "")  # no external files
    assert sorted(p.name for p in (out / "2024Q4").iterdir()) == [
        "insights-2024Q4-zh.html",
        "insights-2024Q4-zh.pdf",
    ]


def test_en_report_by_segment(sim_dir, tmp_path):
    users = pl.read_parquet(sim_dir / "users.parquet")
    counts = users.group_by("platform").len().sort("len", descending=True)
    min_cell = int(counts["len"][1])  # exactly the two largest platforms qualify
    files = render(
        sim_dir, quarter="2024Q4", lang="en", formats="pdf", out=tmp_path, notebooks=NOTEBOOKS,
        by="platform", min_cell=min_cell, chapters=["01"], progress=False,
    )  # fmt: skip
    top = counts["platform"].to_list()[:2]
    assert [f.name for f in files] == [f"insights-2024Q4-en-{p}.pdf" for p in top]
    pages, text = _pdf_text(files[0])
    assert pages >= 3
    assert "User growth" in text and "Users by platform" in text and "Figure 1.1" in text
    assert f"platform: {top[0]}" in text
    assert f"{counts['len'][0]:,} users" in text  # the chapter saw only its segment


def _broken_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, folder)
    nb = nbformat.read(folder / "02-orders.ipynb", as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("share = 1 / 0"))
    nbformat.write(nb, folder / "02-orders.ipynb")
    return folder


def test_failing_cell_names_chapter_and_cell_and_writes_nothing(sim_dir, tmp_path):
    out = tmp_path / "reports"
    with pytest.raises(ChapterError) as info:
        render(
            sim_dir,
            quarter="2024Q4",
            lang="en",
            out=out,
            notebooks=_broken_copy(tmp_path),
            jobs=1,
            progress=False,
        )
    message = str(info.value)
    assert "chapter 02-orders" in message and "cell 3" in message and "ZeroDivisionError" in message
    assert info.value.cell == 3 and "1 / 0" in info.value.traceback
    assert not out.exists()


def test_cli_failing_cell_exits_1_with_chapter_cell_and_error(sim_dir, tmp_path):
    out = tmp_path / "reports"
    args = ["report", str(sim_dir), "--quarter", "2024Q4", "--lang", "zh", "--out", str(out),
            "--notebooks", str(_broken_copy(tmp_path)), "--chapters", "02"]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 1
    assert "chapter 02-orders, cell 3" in res.output and "ZeroDivisionError" in res.output
    assert not out.exists()


def test_user_id_dump_fails_the_privacy_check(sim_dir, tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.read(NOTEBOOKS / "99-appendix.ipynb", as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            f'pl.read_parquet("{sim_dir}/orders.parquet").select("user_id", "amount").head(5)'
        )
    )
    nb.cells.insert(2, nbformat.v4.new_code_cell("import polars as pl"))
    nbformat.write(nb, folder / "01-leak.ipynb")
    with pytest.raises(PrivacyError, match="user ids"):
        render(
            sim_dir,
            quarter="2024Q4",
            lang="en",
            out=tmp_path / "reports",
            notebooks=folder,
            progress=False,
        )
    assert not (tmp_path / "reports").exists()


def test_chapter_times_are_recorded_only_when_asked(tmp_path, monkeypatch):
    """``INSIGHTS_TIMINGS``: one JSON line per chapter with its slowest cells, slowest first."""
    import json

    from insights.report._builtin import _record_time

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# text"),
        nbformat.v4.new_code_cell(
            "# a comment\nfast = 1", metadata={"papermill": {"duration": 0.25}}
        ),
        nbformat.v4.new_code_cell("slow = 2", metadata={"papermill": {"duration": 3.5}}),
        nbformat.v4.new_code_cell("never_ran = 3"),
    ]
    monkeypatch.delenv("INSIGHTS_TIMINGS", raising=False)
    _record_time("01-growth", 4.0, nb)  # not asked: nothing written anywhere
    path = tmp_path / "t.jsonl"
    monkeypatch.setenv("INSIGHTS_TIMINGS", str(path))
    _record_time("01-growth", 4.0, nb)
    _record_time("02-retention", 1.234, nb)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(x["chapter"], x["seconds"]) for x in lines] == [
        ("01-growth", 4.0),
        ("02-retention", 1.23),
    ]
    assert lines[0]["cells"] == [
        {"seconds": 3.5, "cell": "slow = 2"},
        {"seconds": 0.25, "cell": "fast = 1"},
    ]
