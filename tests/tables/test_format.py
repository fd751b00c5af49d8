"""Report tables: localized, units per metric, small cells hidden, user ids never shown."""

from __future__ import annotations

import polars as pl
import pytest

from insights.tables import format_table, table_frame

FRAME = pl.DataFrame(
    {
        "metric": ["retention_d30", "retention_d30", "retention_d30", "aov"],
        "segment": ["gen_z", "millennial", "silver", "all"],
        "value": [0.4071, 0.38, 0.5, 128.84],
        "ci_low": [0.3586, 0.341, 0.1, 118.34],
        "ci_high": [0.455, 0.42, 0.9, 139.33],
        "n": [741, 612, 4, 2103],
        "user_id": [101, 104, 102, 103],
    }
)


def test_markdown_table_in_english() -> None:
    assert format_table(FRAME, lang="en") == "\n".join(
        [
            "| Metric | Segment | Value | 95% CI | n |",
            "|:---|:---|---:|---:|---:|",
            "| D30 retention | Gen Z | 40.7% | 35.9–45.5% | 741 |",
            # hidden with Silver: the D30 cohort's size minus Gen Z and Millennials would give it
            "| D30 retention | Millennials | – | – | – |",
            "| D30 retention | Silver (50+) | – | – | <10 |",
            "| AOV | All users | ¥128.8 | ¥118.3–139.3 | 2,103 |",
        ]
    )


def test_chinese_headers_and_names() -> None:
    text = format_table(FRAME, lang="zh")
    assert text.splitlines()[0] == "| 指标 | 分群 | 数值 | 95%置信区间 | 样本数 |"
    assert "| 30日留存 | Z世代 | 40.7% | 35.9–45.5% | 741 |" in text
    assert "128.8元" in text


def test_user_ids_are_never_shown() -> None:
    for to in ("markdown", "html"):
        text = format_table(FRAME, lang="en", to=to)  # type: ignore[arg-type]
        assert "user_id" not in text and "101" not in text


def test_small_cells_are_suppressed_by_min_cell_and_flags() -> None:
    shown = table_frame(FRAME, lang="en", min_cell=800)
    assert shown["n"].to_list() == ["<800", "<800", "<800", "2,103"]
    assert shown["Value"].to_list()[:3] == ["–", "–", "–"]
    flagged = FRAME.drop("user_id").with_columns(suppressed=pl.Series([False, False, False, True]))
    out = table_frame(flagged, lang="en", min_cell=1)
    # a flagged row hides its numbers; its count of 2,103 is not small, so it reads "–", not "<1"
    assert out.row(3) == ("AOV", "All users", "–", "–", "–") and "suppressed" not in out.columns
    other = table_frame(
        pl.DataFrame({"layer": ["new"], "users": [3], "value": [0.01]}),
        lang="en",
        n_cols=("users",),
        percent_cols=("value",),
    )
    assert other.row(0) == ("New", "<10", "–")


def test_percent_kinds_plain_numbers_and_all_null_ci_columns() -> None:
    frame = pl.DataFrame(
        {
            "period": ["2024Q3", "2024Q4"],
            "share": [0.25, 0.3],
            "count": [1200, 1300],
            "ratio": [1.23456, -2.5],
            "ci_low": [None, None],
            "ci_high": [None, None],
        },
        schema_overrides={"ci_low": pl.Float64, "ci_high": pl.Float64},
    )
    out = table_frame(
        frame, lang="en", percent_cols=("share",), kinds={"ratio": "ratio"}, n_cols=()
    )
    assert out.columns == ["Period", "Share", "count", "ratio"]
    assert out.rows() == [
        ("2024Q3", "25.0%", "1,200", "1.23×"),
        ("2024Q4", "30.0%", "1,300", "−2.50×"),
    ]


def test_html_output_escapes_text() -> None:
    html = format_table(pl.DataFrame({"segment": ["<b>x</b>"], "n": [20]}), lang="en", to="html")
    assert html.startswith('<table class="insights-table">') and "&lt;b&gt;" in html
    with pytest.raises(ValueError, match="to must be"):
        format_table(FRAME, lang="en", to="pdf")  # type: ignore[arg-type]


def test_labels_override_headers_and_input_is_not_mutated() -> None:
    before = FRAME.clone()
    text = format_table(FRAME, lang="en", labels={"segment": "Group"})
    assert text.splitlines()[0].startswith("| Metric | Group |")
    assert FRAME.equals(before)


def test_group_values_of_relative_metrics_use_the_base_unit() -> None:
    frame = pl.DataFrame(
        {
            "metric": ["aov_uplift", "repurchase_uplift"],
            "value_high": [164.4, 0.42],
            "value_ordinary": [118.2, 0.30],
            "value": [0.391, 0.395],
            "n": [8461, 457],
        }
    )
    out = table_frame(frame, lang="en")
    assert out.rows() == [
        ("AOV uplift", "¥164.4", "¥118.2", "+39.1%", "8,461"),
        ("Repurchase uplift", "42.0%", "30.0%", "+39.5%", "457"),
    ]


def test_bad_language() -> None:
    with pytest.raises(ValueError, match="lang must be one of"):
        format_table(FRAME, lang="fr")
