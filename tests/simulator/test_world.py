"""The simulator: determinism, contract shape, manifest and known truths."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from insights.data.load import load_dataset
from insights.data.validate import validate
from insights.simulator import lifetimes, load_scenario, population, simulate


def test_same_seed_same_bytes(tmp_path) -> None:
    a = simulate(tmp_path / "a", users=2_000, seed=11)
    b = simulate(tmp_path / "b", users=2_000, seed=11)
    c = simulate(tmp_path / "c", users=2_000, seed=12)
    assert a["files"] == b["files"]
    for name in a["files"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert a["files"] != c["files"]


def test_contract_shape_and_manifest(sim_dir) -> None:
    log = validate(sim_dir)
    assert log.ok, [e for e in log.errors]
    manifest = json.loads((sim_dir / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["users"] == 20_000
    assert set(manifest["experiments"]) == {
        "newcomer_7day_plan",
        "comment_vs_danmaku_lottery",
        "return_benefit_pack",
        "private_domain_invite",
    }
    assert (
        manifest["experiments"]["newcomer_7day_plan"]["true_effect"]["hazard_ratio_days_0_30"][
            "treatment"
        ]
        == 0.8
    )
    for name, rows in manifest["rows"].items():
        assert pl.read_parquet(sim_dir / f"{name}.parquet").height == rows
    users = pl.read_parquet(sim_dir / "users.parquet")
    assert users["first_seen_at"].min().year == 2021 and users["first_seen_at"].max().year == 2024


def test_lifetime_draws_follow_the_hazard() -> None:
    """Drawn lifetimes against the analytic survival exp(-Lambda(t)) of the same users."""
    sc = load_scenario()
    rng = np.random.default_rng(5)
    pop = population.draw_population(40_000, sc, rng)
    slopes = lifetimes.hazard_slopes(pop, sc, rng)
    knots = np.asarray(sc["lifetime"]["knots"], dtype=float)
    drawn = lifetimes.draw_lifetimes(slopes, knots, rng)
    for t in (7, 30, 60, 180):
        truth = np.mean(np.exp(-lifetimes.cumulative_hazard(slopes, knots, float(t))))
        se = np.sqrt(truth * (1 - truth) / pop.n)
        assert abs(np.mean(drawn >= t) - truth) < 4 * se


def test_retention_estimate_covers_the_truth(sim_dir) -> None:
    """KM D30 of the newcomer experiment's arms covers the manifest's true D30."""
    from insights.metrics import retention_rates

    manifest = json.loads((sim_dir / "manifest.json").read_text())
    truth = manifest["experiments"]["newcomer_7day_plan"]["true_effect"]["true_d30"]
    ds = load_dataset(sim_dir)
    exp = pl.read_parquet(sim_dir / "experiments.parquet").filter(
        pl.col("experiment") == "newcomer_7day_plan"
    )
    for arm in ("control", "treatment"):
        ids = exp.filter(pl.col("arm") == arm)["user_id"].to_list()
        out = retention_rates(ds, period=2024, timeline=(30,), where={"user_id": ids})
        row = out.row(0, named=True)
        # 99.9% interval so the test fails only on a real bias
        half = (row["ci_high"] - row["ci_low"]) / 2 * 3.29 / 1.96
        assert abs(row["value"] - truth[arm]) < half


def test_bad_arguments(tmp_path) -> None:
    with pytest.raises(ValueError):
        simulate(tmp_path / "x", users=0)
    with pytest.raises(FileNotFoundError):
        simulate(tmp_path / "x", users=10, scenario=tmp_path / "missing.yaml")
