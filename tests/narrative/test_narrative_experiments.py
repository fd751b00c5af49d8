"""Arm balance (SRM) and verdict sentences for experiments."""

from __future__ import annotations

import polars as pl
import pytest
from scipy.stats import chi2

import insights as ins


def test_srm_test_is_the_chi_square_goodness_of_fit() -> None:
    # by hand: expected 511 each; (486-511)^2/511 + (536-511)^2/511 = 2.446
    # the one SRM test the sentence uses (ins.srm_test)
    result = ins.srm_test({"control": 486, "treatment": 536})
    assert result.chi2 == pytest.approx(2 * 25**2 / 511)
    assert result.p_value == pytest.approx(chi2.sf(2 * 25**2 / 511, df=1))
    assert ins.srm_test({"a": 300, "b": 100}, split={"a": 3, "b": 1}).chi2 == pytest.approx(0.0)
    with pytest.raises(ValueError, match="at least two arms"):
        ins.srm_test({"a": 1})
    with pytest.raises(ValueError, match="no share for arm"):
        ins.srm_test({"a": 1, "b": 2}, split={"a": 1})


def test_srm_sentences() -> None:
    assert ins.describe_srm({"control": 486, "treatment": 536}, lang="en") == (
        "Arm sizes Control 486, Treatment 536: no sample-ratio mismatch (χ² test p = 0.12)."
    )
    bad = ins.describe_srm({"control": 1000, "treatment": 800}, lang="zh")
    assert bad.startswith("各组人数对照组 1,000、实验组 800：存在样本比例失衡")
    assert "<10" in ins.describe_srm({"control": 500, "treatment": 5}, lang="en")


MILESTONES = pl.DataFrame(
    {
        "segment_a": ["treatment", "treatment", "arm_b"],
        "segment_b": ["control"] * 3,
        "t": [7.0, 30.0, 30.0],
        "survival_a": [0.62, 0.43, 0.30],
        "survival_b": [0.56, 0.34, 0.34],
        "difference": [0.06, 0.09, -0.04],
        "ci_low": [-0.001, 0.03, -0.07],
        "ci_high": [0.12, 0.15, -0.01],
        "p_value": [0.053, 0.003, 0.01],
        "p_adjusted": [0.053, 0.006, 0.02],
    }
)


def test_effect_verdicts_follow_p_and_direction() -> None:
    lines = ins.describe_effects(MILESTONES, lang="en")
    assert lines[0].endswith("not significant (p = 0.053); no detectable effect.")
    assert lines[1] == (
        "Treatment vs Control: D30 retention 43.0% vs 34.0% (+9.0 points, 95% CI 3.0–15.0%), "
        "significant (p = 0.006); the strategy improves D30 retention in this data."
    )
    assert lines[2].endswith("the strategy lowers D30 retention in this data.")
    assert "p = 0.003" in ins.describe_effects(MILESTONES, lang="en", adjusted=False)[1]
    assert "在本数据中该策略提升了30日留存" in ins.describe_effects(MILESTONES, lang="zh")[1]


def test_describe_effects_skips_small_arms() -> None:
    lines = ins.describe_effects(
        MILESTONES, lang="en", sizes={"treatment": 500, "control": 480, "arm_b": 7}
    )
    assert len(lines) == 2 and not any("arm_b" in x for x in lines)


def test_describe_simulator_truth_lines() -> None:
    manifest = {
        "experiments": {
            "return_benefit_pack": {
                "true_effect": {"repurchase_90d": {"control": 0.15, "treatment": 0.3}}
            }
        }
    }
    assert ins.describe_simulator_truth(manifest, lang="en") == [
        "Simulator truth for return\\_benefit\\_pack: repurchase\\_90d: control 0.15, treatment 0.3."
    ]  # Markdown: names from the manifest are escaped
    assert ins.describe_simulator_truth({}, lang="zh") == []
