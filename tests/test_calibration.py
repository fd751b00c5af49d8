"""Calibration at CI size: every document target within tolerance widened by sampling error."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from insights.calibration import CALLS, calibrate, default_targets_path, load_targets
from insights.data.load import load_dataset

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "calibration_targets.csv"


def test_every_target_has_a_computation() -> None:
    assert {row["id"] for row in load_targets()} == set(CALLS)


@pytest.mark.skipif(not SHARED.exists(), reason="shared/ not beside the checkout")
def test_targets_copy_is_current() -> None:
    with open(SHARED, encoding="utf-8") as a, open(default_targets_path(), encoding="utf-8") as b:
        assert list(csv.reader(a)) == list(csv.reader(b))


#: Targets the default scenario does not meet yet (issue 2, open): the repurchase block
#: (60-day repurchase vs median repurchase cycle vs top-20% GMV share pull the order process
#: in different directions) and the 2024 active-user index. Every other target must hold;
#: remove an id here as soon as the scenario meets it.
KNOWN_GAPS = {"P01", "P02", "P06", "P07", "P08", "G02", "G03", "I08"}


def test_simulated_data_meets_targets(sim_dir) -> None:
    """20k users: tolerance_eff = sqrt(tol^2 + (1.96 se)^2), se from each estimate's CI."""
    result = calibrate(load_dataset(sim_dir), widen=True)
    assert result.height == 56 and result["error"].null_count() == 56
    failed = result.filter(~result["passed"])
    unexpected = failed.filter(~failed["id"].is_in(sorted(KNOWN_GAPS)))
    assert unexpected.height == 0, unexpected.select("id", "target", "value", "ci_low", "ci_high", "tolerance_used").to_dicts()
    assert result.filter(result["passed"]).height >= 56 - len(KNOWN_GAPS)
