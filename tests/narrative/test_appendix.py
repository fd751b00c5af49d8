"""Appendix parts: definitions in the report's language, parameters, method notes."""

from __future__ import annotations

from insights.narrative import DEFAULT_SEGMENTS, definitions_table, method_notes, parameters_table


def test_definitions_in_both_languages_cover_the_same_metrics() -> None:
    en, zh = definitions_table(lang="en"), definitions_table(lang="zh")
    assert en.height == zh.height >= 12
    assert "DN retention" in en["metric"].to_list() and "N日留存" in zh["metric"].to_list()
    assert all(len(text) > 20 for text in en["definition"])


def test_parameters_and_method_notes() -> None:
    table = parameters_table({"quarter": "2024Q4", "filters": None, "min_cell": 10}, lang="en")
    assert table.rows() == [("quarter", "2024Q4"), ("filters", "–"), ("min_cell", "10")]
    notes = method_notes(lang="zh", min_cell=20)
    assert len(notes) == 5 and "少于20人" in notes[-1]
    assert DEFAULT_SEGMENTS[0] == "generation"
