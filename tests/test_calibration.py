"""Calibration: every document target within tolerance on a 200k simulation (the size targets are set for)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from insights.calibration import CALLS, calibrate, default_targets_path, load_targets
from insights.data.load import load_dataset

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "calibration_targets.csv"


def test_every_target_has_a_computation() -> None:
    assert {row["id"] for row in load_targets()} == set(CALLS)


@pytest.mark.skipif(not SHARED.exists(), reason="shared/ not beside the checkout")
def test_targets_copy_is_current() -> None:
    with open(SHARED, encoding="utf-8") as a, open(default_targets_path(), encoding="utf-8") as b:
        assert list(csv.reader(a)) == list(csv.reader(b))


def test_default_scenario_parameters_cite_targets() -> None:
    """Every block of the scenario names the targets it serves (the issue asks for citations)."""
    from insights.simulator.scenario import default_scenario_path

    text = default_scenario_path().read_text(encoding="utf-8")
    for block in (
        "acquisition",
        "lifetime",
        "activity",
        "interaction",
        "orders",
        "community",
        "spend",
    ):
        assert f"\n{block}:" in text
    assert text.count("serves") >= 15


@pytest.mark.slow
def test_simulated_data_meets_targets(sim200k_dir) -> None:
    """200k users, seed 7 (one of the ten seeds of benchmarks/calibration_seeds.py), no ``widen``.

    At 20k users the targets without a CI (I08) and the noisy ones (I06: SE about 17
    points) pass or fail with the seed, so the size is the one the targets are set for;
    only a target whose own 95% sampling error exceeds its tolerance (I06) is widened.
    """
    result = calibrate(load_dataset(sim200k_dir))
    assert result.height == 56 and result["error"].null_count() == 56
    failed = result.filter(~result["passed"])
    assert failed.height == 0, failed.select(
        "id", "target", "value", "ci_low", "ci_high", "tolerance_used"
    ).to_dicts()
    widened = result.filter(result["tolerance_used"] > result["tolerance"])["id"].to_list()
    assert "I06" in widened  # its SE (about 7 points) exceeds its tolerance (8) / 1.96


def test_widen_adds_the_sampling_error(sim_dir) -> None:
    """20k users with ``widen``: tolerance_used = sqrt(tol^2 + (1.96 se)^2), se from the CI."""
    result = calibrate(load_dataset(sim_dir), widen=True)
    for r in result.filter(result["ci_low"].is_not_null()).iter_rows(named=True):
        se = (r["ci_high"] - r["ci_low"]) / (2 * 1.959964)
        assert r["tolerance_used"] == pytest.approx(
            (r["tolerance"] ** 2 + (1.959964 * se) ** 2) ** 0.5
        )
        assert r["passed"] == (abs(r["value"] - r["target"]) <= r["tolerance_used"] + 1e-12)


@pytest.fixture(scope="module")
def small_frames_dataset(small_sim_frames):
    """The 2k-user simulation as in-memory frames: nothing is remembered, every call computes."""
    from insights.data.dataset import frames_dataset

    return frames_dataset(**small_sim_frames, as_of="2024-12-31")


def test_progress_bar_counts_targets_and_changes_nothing(small_frames_dataset, capsys) -> None:
    rows = load_targets()[:6]  # six targets, counted by hand
    shown = calibrate(small_frames_dataset, targets=rows, progress=True)
    err = capsys.readouterr().err
    assert "calibrate" in err and "6/6" in err
    silent = calibrate(small_frames_dataset, targets=rows, progress=False)
    assert capsys.readouterr().err == ""
    assert_frame_equal(shown, silent, rel_tol=1e-12, abs_tol=0.0)


def test_progress_is_silent_in_ci_and_a_callable_still_gets_each_id(
    small_frames_dataset, capsys, monkeypatch
) -> None:
    rows = load_targets()[:3]
    monkeypatch.setenv("CI", "true")
    calibrate(small_frames_dataset, targets=rows)
    assert capsys.readouterr().err == ""
    monkeypatch.delenv("CI")
    seen: list[str] = []
    calibrate(small_frames_dataset, targets=rows, progress=seen.append)  # the CLI's old way
    assert seen == [r["id"] for r in rows]
    assert capsys.readouterr().err == ""  # the caller shows progress its own way: no bar
