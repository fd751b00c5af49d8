"""The edges of the data in tables: not observed, partial quarters, incomplete LTV cells."""

from __future__ import annotations

import polars as pl

from insights.tables import format_table, table_frame

# D60 of a cohort of 53 users nobody has been followed to day 60 yet (at risk 0)
RATES = pl.DataFrame(
    {
        "metric": ["retention_d7", "retention_d60"],
        "segment": ["all", "all"],
        "value": [0.4, None],
        "ci_low": [0.3, None],
        "ci_high": [0.5, None],
        "n": [53, 53],
        "at_risk": [20, 0],
        "status": ["observed", "not_observed"],
    }
)


def test_a_row_nobody_was_followed_through_shows_a_mark_not_a_number_or_a_small_cell() -> None:
    assert format_table(RATES, lang="en", n_cols=("n", "at_risk")) == "\n".join(
        [
            "| Metric | Segment | Value | 95% CI | n | At risk |",
            "|:---|:---|---:|---:|---:|---:|",
            "| D7 retention | All users | 40.0% | 30.0–50.0% | 53 | 20 |",
            "| D60 retention | All users | – (not yet observed) | – | 53 | 0 |",
        ]
    )
    zh = table_frame(RATES, lang="zh", n_cols=("n", "at_risk"))
    assert zh.row(1) == ("60日留存", "全部用户", "–（尚未观测到）", "–", "53", "0")


def test_a_small_cohort_not_observed_still_hides_its_count() -> None:
    small = RATES.with_columns(n=pl.lit(5))
    shown = table_frame(small, lang="en", n_cols=("n", "at_risk"))
    assert shown.row(1)[2:] == ("– (not yet observed)", "–", "<10", "<10")
    # the row's at-risk count (53) is hidden with it, but it is not below 10: "–"
    assert shown.row(0)[2:] == ("–", "–", "<10", "–")


GROWTH = pl.DataFrame(
    {  # the data start on 2018-03-31: one day of 2018Q1
        "metric": ["new_users", "new_users", "new_users", "new_users_qoq", "new_users_qoq"],
        "segment": ["all"] * 5,
        "period": ["2018Q1", "2018Q2", "2018Q3", "2018Q2", "2018Q3"],
        "value": [37.0, 1120.0, 980.0, None, -0.125],
        "n": [37, 1120, 980, 1120, 980],
        "base_period": [None, None, None, "2018Q1", "2018Q2"],
        "partial": [True, False, False, True, False],
    }
)


def test_partial_quarters_are_marked_and_their_growth_is_not_comparable() -> None:
    en = table_frame(GROWTH.drop("base_period"), lang="en")
    assert en["Period"].to_list()[:3] == ["2018Q1 (partial)", "2018Q2", "2018Q3"]
    shown = table_frame(GROWTH, lang="en")
    # a growth row is partial through its base: its own period label stays, the rate says why
    assert shown.row(3)[2:4] == ("2018Q2", "not comparable: partial quarter")
    assert shown.row(4)[3] == "−12.5%"
    assert "partial" not in shown.columns and "Compared with" in shown.columns
    zh = table_frame(GROWTH, lang="zh")
    assert zh.row(0)[2] == "2018Q1（数据不完整）" and zh.row(3)[3] == "不可比：季度数据不完整"


def test_cohort_ltv_cells_not_every_user_reached_are_marked_incomplete() -> None:
    ltv = pl.DataFrame(
        {
            "segment": ["all"] * 3,
            "cohort": ["2024-01", "2024-02", "2024-03"],
            "t": [30] * 3,
            "value": [15.0, 9.0, 3.0],
            "n": [40, 30, 4],
            "complete": [True, False, False],
        }
    )
    shown = table_frame(ltv, lang="en", kinds={"value": "money"})
    assert shown["Value"].to_list() == ["¥15.0", "¥9.0 (incomplete)", "–"]  # a small cell stays "–"
    assert table_frame(ltv, lang="zh", kinds={"value": "money"})["数值"][1] == "9.0元（未完整观测）"
    text = format_table(ltv, lang="en", kinds={"value": "money"})
    assert text.splitlines()[1].split("|")[4] == "---:"  # Value: still a column of numbers


def test_ltv_matrix_cells_beyond_complete_through_are_marked() -> None:
    matrix = pl.DataFrame(
        {
            "segment": ["all", "all"],
            "cohort": ["2024-01", "2024-02"],
            "n": [40, 30],
            "complete_through": [30, 0],
            "d0": [5.0, 4.0],
            "d30": [15.0, None],
        }
    )
    shown = table_frame(matrix, lang="en", kinds={"d0": "money", "d30": "money"})
    assert shown.columns == ["Segment", "Cohort", "n", "d0", "d30"]
    assert shown.rows() == [
        ("All users", "2024-01", "40", "¥5.0", "¥15.0"),
        ("All users", "2024-02", "30", "¥4.0", "–"),
    ]
    later = matrix.with_columns(d30=pl.Series([15.0, 9.0]))
    assert table_frame(later, lang="en")["d30"][1] == "9.0 (incomplete)"


def test_frames_without_edge_columns_are_unchanged_and_not_mutated() -> None:
    before = RATES.clone()
    plain = RATES.drop("status")
    # without ``status`` an at-risk count of 0 is a small cell, as before
    assert table_frame(plain, lang="en", n_cols=("n", "at_risk")).row(1)[2:] == (
        "–",
        "–",
        "–",  # n = 53 is hidden with the row, and is not small
        "<10",
    )
    table_frame(RATES, lang="en")
    assert RATES.equals(before)


def test_a_partial_period_is_marked_once_on_its_label() -> None:
    active = pl.DataFrame(
        {  # active_users: 2024Q2 ends after as_of, so it is partial and not complete
            "metric": ["active_users", "active_users"],
            "segment": ["all", "all"],
            "period": ["2024Q1", "2024Q2"],
            "value": [5.0, 1.0],
            "n": [50, 12],
            "complete": [True, False],
            "partial": [False, True],
        }
    )
    assert table_frame(active, lang="en").rows() == [
        ("Active users", "All users", "2024Q1", "5", "50"),
        ("Active users", "All users", "2024Q2 (partial)", "1", "12"),
    ]


def test_a_table_wider_than_the_page_sizes_its_columns_from_words_and_numbers() -> None:
    """Rows over 72 characters: pandoc sizes columns by the rule's dashes. Hand-worked:
    text column = max(longest word, min(longest cell, 12)) + 2; numbers = (longest cell + 2)
    x 1.4, rounded; the rule writes one dash fewer plus the alignment colon."""
    wide = pl.DataFrame(
        {"experiment": ["Comment vs danmaku lottery", "Private-domain invite"], "n": [3261, 2251]}
    ).with_columns(note=pl.lit("x" * 60))
    rule = format_table(wide, lang="en", n_cols=()).splitlines()[1]
    # Experiment: longest word "Private-domain" (14) > 12 -> 16; n: "3,261" -> round(7 x 1.4) = 10;
    # note: one 60-character word -> 62
    assert rule == "|:" + "-" * 15 + "|" + "-" * 9 + ":|:" + "-" * 61 + "|"
    narrow = format_table(wide.drop("note"), lang="en", n_cols=()).splitlines()[1]
    assert narrow == "|:---|---:|"  # fits in 72 characters: pandoc sizes it to its content
