"""Reproducible files (issue 16, point 6): same data and parameters, same bytes.

Nothing depends on the wall clock, the process time zone or the results cache: the
cover and HTML date is the dataset's ``as_of``, the PDF's creation date (which also
seeds typst's document ids and trailer ``/ID``) is ``SOURCE_DATE_EPOCH`` when set, else
``as_of``; ``insights kpis --json`` rounds floats at output.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from insights.cli import app

NOTEBOOKS = Path(__file__).parent / "notebooks"
#: 2023-11-14 22:13:20 UTC (``date -u -d @1700000000``), an independent reference
EPOCH, EPOCH_PDF = "1700000000", "D:20231114221320Z"


@pytest.fixture(scope="module")
def data4k(tmp_path_factory) -> Path:
    import insights as ins

    out = tmp_path_factory.mktemp("sim") / "d4k"
    ins.simulate(out, users=4_000, seed=7)
    return out


def _as_of(data: Path) -> dt.date:
    from insights.data import load_dataset

    return load_dataset(data, validate=False).as_of.date()


def _render(
    data: Path, out: Path, *, tz: str, cache: Path | str, epoch: str | None, notebooks: bool
) -> Path:
    env = {**os.environ, "TZ": tz, "INSIGHTS_CACHE_DIR": str(cache), "INSIGHTS_PROGRESS": "off"}
    env.pop("SOURCE_DATE_EPOCH", None)
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = epoch
    args = ["report", str(data), "--quarter", "2024Q4", "--lang", "en", "--format", "pdf,html",
            "--out", str(out), "--backend", "builtin", "--no-progress"]  # fmt: skip
    if notebooks:
        args += ["--notebooks", str(NOTEBOOKS)]
    proc = subprocess.run(
        [sys.executable, "-m", "insights.cli", *args], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out / "2024Q4"


def _same(a: Path, b: Path) -> None:
    for name in ("insights-2024Q4-en.pdf", "insights-2024Q4-en.html"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def _pdf_date(folder: Path) -> str:
    return str(PdfReader(folder / "insights-2024Q4-en.pdf").metadata["/CreationDate"])


def test_without_source_date_epoch_dates_come_from_as_of(data4k, tmp_path):
    """Two time zones, two cold caches, no SOURCE_DATE_EPOCH: the same bytes, dated as_of."""
    as_of = _as_of(data4k)
    one = _render(data4k, tmp_path / "a", tz="UTC", cache=tmp_path / "c1", epoch=None,
                  notebooks=True)  # fmt: skip
    two = _render(data4k, tmp_path / "b", tz="Asia/Shanghai", cache=tmp_path / "c2",
                  epoch=None, notebooks=True)  # fmt: skip
    _same(one, two)
    assert _pdf_date(one) == f"D:{as_of:%Y%m%d}000000Z"
    html = (one / "insights-2024Q4-en.html").read_text(encoding="utf-8")
    assert f'<p class="date">{as_of.isoformat()}</p>' in html
    assert dt.date.today().isoformat() not in html or dt.date.today() == as_of


def test_malformed_source_date_epoch_is_a_bad_parameter(data4k, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    res = CliRunner().invoke(
        app, ["report", str(data4k), "--quarter", "2024Q4", "--lang", "en", "--out",
              str(tmp_path / "r"), "--notebooks", str(NOTEBOOKS), "--backend", "builtin"],
    )  # fmt: skip
    assert res.exit_code == 2 and "SOURCE_DATE_EPOCH" in res.stderr
    assert "Traceback" not in res.output and not (tmp_path / "r").exists()


def test_kpis_json_is_identical_between_runs(data4k, monkeypatch):
    from insights.data import load_dataset
    from insights.kpis import kpi_scorecard

    monkeypatch.setenv("INSIGHTS_CACHE_DIR", "off")
    args = ["kpis", str(data4k), "--quarter", "2024Q4", "--by", "platform", "--json"]
    outputs = [CliRunner().invoke(app, args) for _ in range(3)]
    assert all(o.exit_code == 0 for o in outputs), outputs[0].output
    assert outputs[0].stdout == outputs[1].stdout == outputs[2].stdout
    # rounding at output keeps 12 significant digits of the scorecard's own values
    frame, _ = kpi_scorecard(load_dataset(data4k), quarter="2024Q4", by="platform")
    printed = json.loads(outputs[0].stdout)
    assert len(printed) == frame.height
    for row, exact in zip(printed, frame.iter_rows(named=True), strict=True):
        assert (row["metric"], row["segment"], row["quarter"]) == (
            exact["metric"], exact["segment"], exact["quarter"],
        )  # fmt: skip
        if exact["value"] is not None:
            assert row["value"] == pytest.approx(exact["value"], rel=1e-11, abs=1e-300)


@pytest.mark.slow
def test_full_report_is_byte_identical_across_time_zones_and_caches(data4k, tmp_path):
    """The whole report (every chapter) of the 4,000-user dataset, SOURCE_DATE_EPOCH set:
    UTC vs Asia/Shanghai with two cold caches, then a warm cache: ``cmp`` equal."""
    cold1 = _render(data4k, tmp_path / "a", tz="UTC", cache=tmp_path / "c1", epoch=EPOCH,
                    notebooks=False)  # fmt: skip
    cold2 = _render(data4k, tmp_path / "b", tz="Asia/Shanghai", cache=tmp_path / "c2",
                    epoch=EPOCH, notebooks=False)  # fmt: skip
    _same(cold1, cold2)
    assert _pdf_date(cold1) == EPOCH_PDF
    warm = _render(data4k, tmp_path / "c", tz="America/Los_Angeles", cache=tmp_path / "c1",
                   epoch=EPOCH, notebooks=False)  # fmt: skip
    _same(cold1, warm)
