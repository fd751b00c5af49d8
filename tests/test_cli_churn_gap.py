"""``insights kpis --churn-gap N`` loads the data with that churn gap (as ``report`` does)."""

from __future__ import annotations

from typer.testing import CliRunner

import insights.data.load as load_module
from insights.cli import app
from insights.data._read import DataReadError

runner = CliRunner()


def _recording(seen: list[dict]):
    def fake_load(path, **kwargs):
        seen.append(kwargs)
        raise DataReadError("stopped after loading options were recorded")

    return fake_load


def test_kpis_passes_churn_gap_to_the_loader(tmp_path, monkeypatch) -> None:
    seen: list[dict] = []
    monkeypatch.setattr(load_module, "load_dataset", _recording(seen))
    result = runner.invoke(app, ["kpis", str(tmp_path), "--churn-gap", "45"])
    assert result.exit_code == 2, result.output
    assert seen[0]["churn_gap"] == 45
    runner.invoke(app, ["kpis", str(tmp_path)])
    assert seen[1]["churn_gap"] is None  # dataset.yaml's, else 30


def test_kpis_rejects_a_churn_gap_below_one_day(tmp_path) -> None:
    result = runner.invoke(app, ["kpis", str(tmp_path), "--churn-gap", "0"])
    assert result.exit_code == 2
    assert "churn-gap" in result.output
