"""The command line: exit codes and messages."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from insights.cli import app

runner = CliRunner()


def test_simulate_and_validate(tmp_path) -> None:
    out = tmp_path / "d"
    res = runner.invoke(app, ["simulate", "--out", str(out), "--users", "800", "--seed", "3"])
    assert res.exit_code == 0, res.output
    assert (out / "manifest.json").exists()
    res = runner.invoke(app, ["validate", str(out)])
    assert res.exit_code == 0, res.output


def test_validate_unreadable(tmp_path) -> None:
    res = runner.invoke(app, ["validate", str(tmp_path / "missing")])
    assert res.exit_code == 2
    assert "Traceback" not in res.output


def test_kpis_json_and_bad_quarter(sim_dir) -> None:
    res = runner.invoke(app, ["kpis", str(sim_dir), "--quarter", "2024Q4", "--json"])
    assert res.exit_code == 0, res.output
    records = json.loads(res.stdout)
    assert {"metric", "segment", "value", "ci_low", "ci_high", "n", "quarter"} <= set(records[0])
    res = runner.invoke(app, ["kpis", str(sim_dir), "--quarter", "2024Q5"])
    assert res.exit_code == 2


def test_calibrate_json(sim_dir) -> None:
    res = runner.invoke(app, ["calibrate", str(sim_dir), "--json", "--widen"])
    records = json.loads(res.stdout)
    assert len(records) == 56
    assert res.exit_code == (0 if all(r["passed"] for r in records) else 1)
