"""Sentences carry the right numbers; wording follows the p-value; small cells stay hidden."""

from __future__ import annotations

import polars as pl
import pytest

import insights as ins
from insights.narrative import significance
from insights.narrative.compare import Z95

NOW = {
    "metric": "retention_d30",
    "segment": "all",
    "quarter": "2024Q4",
    "value": 0.352,
    "ci_low": 0.348,
    "ci_high": 0.356,
    "n": 50_000,
}
PREV = {**NOW, "quarter": "2024Q3", "value": 0.339, "ci_low": 0.335, "ci_high": 0.343}


def test_describe_value_in_both_languages() -> None:
    assert (
        ins.describe_value(NOW, lang="en")
        == "D30 retention was 35.2% (95% CI 34.8–35.6%; n = 50,000)."
    )
    assert (
        ins.describe_value(NOW, lang="zh")
        == "30日留存为35.2%（95%置信区间 34.8–35.6%；n = 50,000）。"
    )
    seg = {**NOW, "segment": "gen_z", "n": 741}
    assert ins.describe_value(seg, lang="en").startswith("D30 retention for Gen Z was 35.2%")
    assert ins.describe_value(seg, lang="zh").startswith("Z世代的30日留存为35.2%")
    money = {
        "metric": "aov",
        "segment": "all",
        "value": 128.84,
        "ci_low": None,
        "ci_high": None,
        "n": 2103,
    }
    assert ins.describe_value(money, lang="en") == "AOV was ¥128.8 (n = 2,103)."


def test_describe_value_accepts_a_one_row_frame() -> None:
    assert ins.describe_value(pl.DataFrame([NOW]), lang="en") == ins.describe_value(NOW, lang="en")
    with pytest.raises(ValueError, match="one row"):
        ins.describe_value(pl.DataFrame([NOW, PREV]), lang="en")


def test_describe_change_numbers_direction_and_significance() -> None:
    text = ins.describe_change(NOW, previous=PREV, lang="en")
    assert text == (
        "D30 retention was 35.2% (95% CI 34.8–35.6%), up 1.3 points on 2024Q3 (33.9%), "
        "significant (p < 0.001)."
    )
    down = ins.describe_change(PREV, previous={**NOW, "quarter": "2024Q2"}, lang="zh")
    assert "下降1.3个百分点" in down and "差异显著" in down and "2024Q2（35.2%）" in down
    flat = ins.describe_change(NOW, previous={**PREV, "value": 0.3521}, lang="en")
    assert "unchanged from 2024Q3" in flat and "not significant" in flat
    aov = ins.describe_change(
        {
            "metric": "aov",
            "segment": "all",
            "quarter": "2024Q4",
            "value": 130.0,
            "ci_low": 120.0,
            "ci_high": 140.0,
            "n": 2000,
        },
        previous={
            "metric": "aov",
            "segment": "all",
            "quarter": "2024Q3",
            "value": 125.0,
            "ci_low": 115.0,
            "ci_high": 135.0,
            "n": 2000,
        },
        lang="en",
    )
    assert "up 4.0% on 2024Q3 (¥125.0)" in aov and "not significant" in aov


@pytest.mark.parametrize("z", [1.5, 1.95, 1.97, 2.6, 3.4])
def test_wording_follows_the_p_value(z: float) -> None:
    # two estimates with the same se; their difference is z standard errors apart
    se = 0.01
    half = Z95 * se
    a = {
        **NOW,
        "value": 0.4 + z * se * 2**0.5,
        "ci_low": 0.4 + z * se * 2**0.5 - half,
        "ci_high": 0.4 + z * se * 2**0.5 + half,
    }
    b = {**PREV, "value": 0.4, "ci_low": 0.4 - half, "ci_high": 0.4 + half}
    text = ins.describe_change(a, previous=b, lang="en")
    significant = z > Z95
    assert (", significant (" in text) is significant
    assert ("not significant" in text) is not significant
    assert ("差异显著" in ins.describe_change(a, previous=b, lang="zh")) is significant


def test_significance_wording_and_threshold() -> None:
    assert significance(0.0499, lang="en") == "significant (p = 0.050)"
    assert significance(0.05, lang="en") == "not significant (p = 0.050)"
    assert significance(0.02, lang="en", alpha=0.01) == "not significant (p = 0.020)"
    assert significance(None, lang="zh") == "未做显著性检验（无置信区间）"


@pytest.mark.parametrize(
    "change",
    [{"n": 9}, {"n": None}, {"suppressed": True}, {"at_risk": 3}],
)
def test_small_cells_are_suppressed(change: dict) -> None:
    small = {**NOW, **change}
    for text in (
        ins.describe_value(small, lang="en"),
        ins.describe_change(small, previous=PREV, lang="en"),
        ins.describe_change(PREV | {"quarter": "x"}, previous=small, lang="en"),
    ):
        assert text == "D30 retention: fewer than 10 users, not shown."
        assert "35.2" not in text and "33.9" not in text
    assert ins.describe_value(small, lang="zh") == "30日留存：样本少于10人，不予显示。"
    assert ins.describe_value({**NOW, "n": 12}, lang="en", min_cell=20).endswith("not shown.")


def test_describe_change_refuses_different_metrics_and_reports_missing_values() -> None:
    with pytest.raises(ValueError, match="same metric"):
        ins.describe_change(NOW, previous={**PREV, "metric": "retention_d7"}, lang="en")
    assert (
        ins.describe_change({**NOW, "value": None}, previous=PREV, lang="en")
        == "D30 retention: not available for 2024Q4."
    )


def test_describe_spread_leaves_small_segments_out() -> None:
    frame = pl.DataFrame(
        {
            "metric": ["retention_d30"] * 3,
            "segment": ["gen_z", "gen_x", "silver"],
            "value": [0.41, 0.28, 0.05],
            "n": [741, 262, 4],
        }
    )
    text = ins.describe_spread(frame, by="generation", lang="en")
    assert text == "D30 retention ranges from 28.0% (Gen X) to 41.0% (Gen Z) across generation."
    assert (
        ins.describe_spread(frame, by="generation", lang="zh")
        == "按代际划分，30日留存从28.0%（X世代）到41.0%（Z世代）不等。"
    )
    assert ins.describe_spread(frame.head(1), by="generation", lang="en") is None


def test_a_rate_of_few_users_gives_the_suppression_sentence() -> None:
    three = {**NOW, "value": 3 / 40, "n": 40, "ci_low": 0.02, "ci_high": 0.2}
    assert ins.describe_value(three, lang="en", min_cell=10) == (
        "D30 retention: fewer than 10 users, not shown."
    )
    frame = pl.DataFrame(
        {"metric": "retention_d30", "segment": ["gen_x", "gen_z", "silver"],
         "value": [0.28, 0.41, 38 / 40], "n": [400, 500, 40]}
    )  # fmt: skip
    assert "95.0%" not in (ins.describe_spread(frame, by="generation", lang="en") or "")


def test_inputs_are_not_mutated() -> None:
    now, prev = dict(NOW), dict(PREV)
    ins.describe_change(now, previous=prev, lang="en")
    assert now == NOW and prev == PREV


def test_lang_and_min_cell_come_from_the_options_and_an_argument_wins() -> None:
    small = {**NOW, "n": 30}  # 35.2% of 30: about 11 retained and 19 not, neither below 10
    with ins.options(lang="zh", min_cell=40):
        assert ins.describe_value(NOW) == ins.describe_value(NOW, lang="zh", min_cell=40)
        assert ins.describe_value(small) == "30日留存：样本少于40人，不予显示。"
        assert ins.describe_value(small, lang="en", min_cell=10).startswith(
            "D30 retention was 35.2%"
        )
        assert ins.describe_change(NOW, previous=PREV, lang="en") == (
            "D30 retention was 35.2% (95% CI 34.8–35.6%), up 1.3 points on 2024Q3 (33.9%), "
            "significant (p < 0.001)."
        )
    assert ins.options().lang == "en" and ins.options().min_cell == 10
