"""Appendix parts: definitions in the report's language, parameters, method notes; the chapters' splits."""

from __future__ import annotations

import insights as ins
from insights.narrative import DEFAULT_SEGMENTS


def test_definitions_in_both_languages_cover_the_same_metrics() -> None:
    en, zh = ins.table_definitions(lang="en"), ins.table_definitions(lang="zh")
    assert en.height == zh.height >= 12
    assert "DN retention" in en["metric"].to_list() and "N日留存" in zh["metric"].to_list()
    assert all(len(text) > 20 for text in en["definition"])


def test_parameters_and_method_notes() -> None:
    table = ins.table_parameters({"quarter": "2024Q4", "filters": None, "min_cell": 10}, lang="en")
    assert table.rows() == [("quarter", "2024Q4"), ("filters", "–"), ("min_cell", "10")]
    notes = ins.describe_methods(lang="zh", min_cell=20)
    assert len(notes) == 5 and "少于20人" in notes[-1]
    assert DEFAULT_SEGMENTS[0] == "generation"


def test_segment_columns_default_and_leave_out_a_fixed_column() -> None:
    assert ins.segment_columns() == list(DEFAULT_SEGMENTS)
    assert ins.segment_columns(by="platform") == ["platform"]
    assert ins.segment_columns(by=["platform", "channel"], where={"platform": "douyin"}) == [
        "channel"
    ]
    # a split by the filtered column alone is kept (nothing would be left)
    assert ins.segment_columns(by="platform", where={"platform": "douyin"}) == ["platform"]
    assert "platform" in ins.segment_columns(where=None)


def test_the_options_give_the_defaults_and_an_argument_wins() -> None:
    with ins.options(lang="zh", min_cell=20):
        assert ins.describe_methods() == ins.describe_methods(lang="zh", min_cell=20)
        assert ins.describe_methods(lang="en", min_cell=5) == ins.describe_methods(
            lang="en", min_cell=5
        )
        assert "fewer than 5" in " ".join(ins.describe_methods(lang="en", min_cell=5))
