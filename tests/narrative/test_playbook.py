"""The playbook links open gaps to the documents' strategies and effects."""

from __future__ import annotations

import polars as pl

import insights as ins
from insights.narrative import PLAYBOOK, open_gaps
from insights.narrative.playbook import play_effect


def _values(**values: float) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "metric": list(values),
            "segment": ["all"] * len(values),
            "value": list(values.values()),
            "n": [1000] * len(values),
        }
    )


def test_every_play_points_at_a_document_row() -> None:
    for play in PLAYBOOK:
        row = play_effect(play)
        assert row["seed"].startswith(play.seed) and row["section"] == play.section


def test_gaps_open_against_targets_and_documents() -> None:
    gaps = open_gaps(
        _values(retention_d7=0.45, retention_d30=0.62, silent_reactivation_30d=0.22, cac=120.0)
    )
    state = {
        (g["strategy"], g["metric"]): (g["open"], g["benchmark"])
        for g in gaps.iter_rows(named=True)
    }
    assert state[("newcomer_7day_plan", "retention_d7")] == (
        True,
        0.5,
    )  # below the 50% target of 000 §1.3
    assert state[("comment_lottery", "retention_d30")] == (False, 0.6)  # above the 60% target
    assert state[("content_wakeup", "silent_reactivation_30d")] == (True, 0.4)
    assert state[("private_domain_shift", "cac")] == (
        False,
        142.0,
    )  # below the documents' 142 yuan
    assert set(gaps["metric"]) == {
        "retention_d7",
        "retention_d30",
        "silent_reactivation_30d",
        "cac",
    }


def test_a_significant_decline_opens_a_gap_even_above_the_benchmark() -> None:
    frame = _values(retention_d30=0.65).with_columns(
        change_previous=pl.lit(-0.05), p_previous=pl.lit(0.001)
    )
    assert open_gaps(frame)["open"].to_list() == [True]
    frame = frame.with_columns(p_previous=pl.lit(0.3))
    assert open_gaps(frame)["open"].to_list() == [False]


def test_describe_playbook_and_table_playbook() -> None:
    lines = ins.describe_playbook(_values(retention_d7=0.45), lang="en")
    assert lines == [
        "**High week-1 churn** → newcomer 7-day growth plan (daily live + points) "
        "(Growth & Retention Strategy Report §1.3): the document sets a D7 retention target of 50.0%; "
        "this data: D7 retention 45.0%."
    ]
    assert ins.describe_playbook(_values(retention_d7=0.60), lang="zh") == [
        "本季度没有与待改进指标对应的文档策略。"
    ]
    assert "新人7天成长计划" in ins.describe_playbook(_values(retention_d7=0.45), lang="zh")[0]
    table = ins.table_playbook(_values(retention_d7=0.45), lang="en")
    assert table.height == len(PLAYBOOK)
    assert table.row(0) == (
        "New",
        "newcomer 7-day growth plan (daily live + points)",
        "Growth & Retention Strategy Report §1.3",
        "the document sets a D7 retention target of 50.0%",
        "D7 retention",
        "45.0%",
        "−5.0 points",
    )


def test_small_cells_never_reach_the_playbook() -> None:
    frame = _values(retention_d7=0.30).with_columns(n=pl.lit(4))
    assert open_gaps(frame).is_empty()
    assert ins.table_playbook(frame, lang="en").row(0)[5] == "–"


def test_a_gap_opened_by_a_decline_says_so() -> None:
    frame = _values(retention_d7=0.54).with_columns(
        change_previous=pl.lit(-0.039), p_previous=pl.lit(0.0001), previous_quarter=pl.lit("2024Q3")
    )
    (line,) = ins.describe_playbook(frame, lang="en")
    assert line.endswith("this data: D7 retention 54.0%, down 3.9 points on 2024Q3.")
    assert ins.describe_playbook(frame, lang="zh")[0].endswith(
        "本数据：7日留存 54.0%，较2024Q3下降3.9个百分点。"
    )
