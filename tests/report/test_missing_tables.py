"""A dataset without the optional tables still renders: each section says what is missing.

``spend``, ``community`` and ``experiments`` are optional in the data contract. A section
that needs one says so once ("Not available: needs the spend table (spend.csv /
spend.parquet)"), in its heading cell or where its figure or table would be (no caption,
no empty figure).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from insights.narrative import text_message
from insights.report import render

pypdf = pytest.importorskip("pypdf")

OPTIONAL = ("spend", "community", "experiments")


@pytest.mark.slow
def test_report_without_optional_tables_says_what_is_missing(sim_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "core"
    data.mkdir()
    for item in sim_dir.iterdir():
        if item.name.split(".")[0] not in OPTIONAL and item.name != "manifest.json":
            (shutil.copytree if item.is_dir() else shutil.copy)(item, data / item.name)
    (pdf,) = render(
        data, quarter="2024Q4", lang="en", formats="pdf", out=tmp_path / "reports",
        backend="builtin", chapters=["01", "05", "07"], progress=False,
    )  # fmt: skip
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    text = " ".join(text.split())
    for table in OPTIONAL:
        needs = text_message("unavailable.table", lang="en", table=table)  # "the spend table (...)"
        assert " ".join(needs.split()) in text, table
    assert "insights:not-available" not in text
