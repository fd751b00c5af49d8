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
    # every row says whether its number is final; the data end on 2024-12-31, so the D60 of
    # 2024Q4 is provisional (observed to 60 days before) and 2024Q3's is complete
    d60 = {r["quarter"]: r for r in records if r["metric"] == "retention_d60"}
    assert d60["2024Q3"]["complete"] is True and d60["2024Q3"]["observed_to"] is None
    assert d60["2024Q4"]["complete"] is False and d60["2024Q4"]["observed_to"] == "2024-11-01"
    res = runner.invoke(app, ["kpis", str(sim_dir), "--quarter", "2024Q5"])
    assert res.exit_code == 2


def test_calibrate_json(sim_dir) -> None:
    res = runner.invoke(app, ["calibrate", str(sim_dir), "--json", "--widen"])
    records = json.loads(res.stdout)
    assert len(records) == 56
    assert res.exit_code == (0 if all(r["passed"] for r in records) else 1)


def test_kpis_by_segment_are_each_segments_own_numbers(sim_dir) -> None:
    import math

    import polars as pl

    from insights.data import load_dataset
    from insights.kpis import kpi_scorecard

    res = runner.invoke(
        app, ["kpis", str(sim_dir), "--quarter", "2024Q4", "--by", "platform", "--json"]
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    # CAC was the platform-wide figure under segment "all"; spend has no platform column
    assert not any(r["metric"] == "cac" for r in rows)
    platform = pl.read_parquet(sim_dir / "users.parquet")["platform"].mode().sort()[0]
    alone, _ = kpi_scorecard(load_dataset(sim_dir), quarter="2024Q4", where={"platform": platform})
    mine = {(r["metric"], r["quarter"]): r for r in rows if r["segment"] == platform}
    assert len(mine) == alone.height > 10
    for r in alone.iter_rows(named=True):
        shown = mine[r["metric"], r["quarter"]]
        assert shown["n"] == r["n"], r
        for key in ("value", "ci_low", "ci_high"):
            assert (shown[key] is None and r[key] is None) or math.isclose(
                shown[key], r[key], rel_tol=1e-9
            ), (r, key)
    table = runner.invoke(app, ["kpis", str(sim_dir), "--quarter", "2024Q4", "--by", "platform"])
    assert "cac 2024Q4: not computable (spend has no column 'platform'" in table.output
