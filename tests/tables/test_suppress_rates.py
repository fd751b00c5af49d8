"""Rates that rest on few users, and wholes published in more than one place.

A proportion ``p`` of ``n`` users describes ``p·n`` users (the numerator) and
``(1 - p)·n`` (the complement): 3 of 40 retained is a group of 3, and so is the
2 of 40 who left when 38 stayed. Every expected flag below is worked out by hand.
The second half checks that one whole hides the same parts in every table it appears
in (with or without its total row, as a table or as a figure's rows), so that a total
printed in one chapter cannot be combined with the parts printed in another.
"""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import polars as pl
import pytest

import insights as ins
from insights.tables._suppress import few_in_rate, hide_small_numerators, suppress_table
from insights.tables.format import table_frame
from insights.viz._matrix_grid import matrix_grid

matplotlib.use("Agg")


@pytest.mark.parametrize(
    ("value", "n", "few"),
    [
        (3 / 40, 40, True),  # 3 retained
        (37 / 40, 40, True),  # 3 left
        (10 / 40, 40, False),  # 10 and 30
        (30 / 40, 40, False),  # 30 and 10
        (0.0, 40, False),  # nobody retained: describes nobody
        (1.0, 40, False),  # everybody retained
        (0.2375, 40, False),  # 9.5 rounds to 10 (a Kaplan-Meier estimate, not a count)
        (0.2, 40, True),  # 8
        (None, 40, False),
        (0.5, None, False),
        (1.5, 40, False),  # not a proportion
    ],
)
def test_a_rate_rests_on_few_users_when_its_numerator_or_complement_is_small(value, n, few):
    frame = pl.DataFrame({"value": [value], "n": [n]}, schema={"value": pl.Float64, "n": pl.Int64})
    assert frame.select(few_in_rate("value", "n", min_cell=10)).item() is few


RATES = pl.DataFrame(
    {
        "metric": "retention_d30",
        "segment": ["ios", "android", "web", "mini"],
        "value": [0.41, 0.38, 3 / 40, 36 / 40],
        "ci_low": [0.37, 0.34, 0.02, 0.77],
        "ci_high": [0.45, 0.42, 0.2, 0.96],
        "n": [800, 600, 40, 40],
    }
)


def test_a_table_hides_a_rate_of_3_in_40_but_shows_its_n() -> None:
    shown = table_frame(RATES, lang="en")
    assert shown.row(2) == ("D30 retention", "web", "–", "–", "40")
    assert shown.row(3) == ("D30 retention", "mini", "–", "–", "40")  # 4 of 40 left
    assert shown.row(0)[2] == "41.0%"
    text = ins.format_table(RATES, lang="en")
    assert "7.5%" not in text and "90.0%" not in text


def test_a_count_or_money_metric_is_not_a_proportion() -> None:
    aov = RATES.with_columns(metric=pl.lit("aov"))
    assert table_frame(aov, lang="en", ci=False)["Value"][2] != "–"


def test_effect_rows_hide_an_arm_whose_rate_rests_on_few_users() -> None:
    effects = pl.DataFrame(
        {
            "outcome": ["first_purchase_30d", "first_purchase_30d", "aov"],
            "arm": ["a", "b", "b"],
            "n_arm": [400, 40, 40],
            "n_control": [400, 400, 400],
            "value_arm": [0.3, 3 / 40, 55.0],
            "value_control": [0.25, 0.25, 60.0],
            "difference": [0.05, 0.075 - 0.25, -5.0],
        }
    )
    shown = table_frame(effects, lang="en", n_cols=("n_arm", "n_control"))
    assert shown.row(1)[2:] == ("40", "400", "–", "–", "–")  # 3 ordered: no rate, no difference
    assert "–" not in shown.row(0) and "–" not in shown.row(2)  # AOV is money, not a rate


def test_figure_rows_drop_a_rate_resting_on_few_users() -> None:
    out = hide_small_numerators(RATES, min_cell=10)
    assert out["n"].to_list() == [800, 600, None, None]
    ax = ins.plot_segment_rates(RATES, min_cell=10)
    labels = [t.get_text().split("\n")[0] for t in ax.get_xticklabels()]
    assert labels == ["iOS", "Android"] or labels == ["ios", "android"]


def test_matrix_cells_of_few_retained_or_few_lost_are_masked() -> None:
    matrix = pl.DataFrame(
        {
            "segment": "all",
            "cohort": ["2024-01"] * 4,
            "cohort_start": None,
            "period": [0, 1, 2, 3],
            "retained": [40, 37, 12, 3],
            "n": [40] * 4,
            "value": [1.0, 37 / 40, 12 / 40, 3 / 40],
            "complete": True,
        }
    )
    grid = matrix_grid(matrix, column="value", min_cell=10)
    # period 0: all 40 (nobody left); 1: 3 left; 2: 12 and 28; 3: 3 retained
    assert grid.suppressed[0].tolist() == [False, True, False, True]
    html = ins.table_retention_matrix(matrix, min_cell=10)
    assert "92.5%" not in html and "7.5%" not in html and "30.0%" in html


def test_publishable_keeps_rows_that_may_be_shown_on_their_own() -> None:
    kept = ins.publishable(RATES, min_cell=10)
    assert kept["segment"].to_list() == ["ios", "android"]
    flagged = RATES.with_columns(suppressed=pl.Series([True, False, False, False]))
    assert ins.publishable(flagged, min_cell=10)["segment"].to_list() == ["android"]
    with pytest.raises(ValueError, match="not a column"):
        ins.publishable(RATES, n="users")


# ---- one whole, many places ------------------------------------------------------------


def _hidden(shown: pl.DataFrame, parts: list[str]) -> set[str]:
    return {
        p for p, row in zip(parts, shown.iter_rows(), strict=True) if "–" in row or "<10" in row
    }


@pytest.mark.parametrize(
    "counts",
    [c for c in itertools.product([3, 9, 12, 40, 250], repeat=3) if min(c) < 10],
)
def test_one_whole_hides_the_same_parts_with_or_without_its_total(counts) -> None:
    """A total printed elsewhere minus the parts printed here never gives one part back.

    Table A prints the total row with the parts; table B (another chapter) the parts
    alone. Both must hide the same parts, and those parts are either two or more with
    at least 10 users between them, or nothing is recoverable because nothing is shown.
    """
    parts = ["a", "b", "c"]
    frame = pl.DataFrame({"segment": parts, "n": list(counts)})
    with_total = pl.concat([pl.DataFrame({"segment": ["all"], "n": [sum(counts)]}), frame])
    a = table_frame(with_total, lang="en")
    b = table_frame(frame, lang="en")
    hidden_a = _hidden(a.slice(1), parts)
    hidden_b = _hidden(b, parts)
    assert hidden_a == hidden_b
    mass = sum(n for p, n in zip(parts, counts, strict=True) if p in hidden_b)
    assert len(hidden_b) >= 2 and (mass >= 10 or len(hidden_b) == 3)
    # the whole, known from table A (or from any other chapter), minus B's visible parts
    shown_b = sum(n for p, n in zip(parts, counts, strict=True) if p not in hidden_b)
    assert sum(counts) - shown_b == mass


def test_shares_of_one_whole_hide_a_second_share_in_tables_and_figures() -> None:
    """100% minus the shares shown must not give a 3-user share back (no user counts given)."""
    mix = pl.DataFrame(
        {
            "metric": "user_share",
            "segment": ["douyin", "kuaishou", "weibo"],
            "value": [0.6, 397 / 1000, 3 / 1000],
            "n": 1000,
        }
    )
    table = table_frame(mix, lang="en")
    assert table["Value"].to_list() == ["60.0%", "–", "–"]
    assert table["n"].to_list() == ["1,000"] * 3  # the whole's size is not a small number
    drawn = hide_small_numerators(mix, min_cell=10, part="segment")
    assert drawn["value"].is_null().to_list() == [False, True, True]
    flags = suppress_table(mix, min_cell=10)
    assert "suppressed" not in flags.columns  # the n of each row is the whole's, never small


def test_a_total_in_one_table_and_parts_in_another_leave_no_single_part() -> None:
    """Brute force over small layer splits: the union of both tables never pins a part."""
    rng = np.random.default_rng(7)
    for _ in range(200):
        counts = rng.integers(0, 60, size=4).tolist()
        parts = ["new", "active", "silent", "churned"]
        frame = pl.DataFrame({"layer": parts, "users": counts, "n": sum(counts)})
        shown = table_frame(frame, lang="en", n_cols=("users",))
        hidden = [
            p for p, row in zip(parts, shown.iter_rows(), strict=True) if row[1] in ("–", "<10")
        ]
        small = [p for p, n in zip(parts, counts, strict=True) if 0 < n < 10]
        assert set(small) <= set(hidden)
        if hidden:
            mass = sum(n for p, n in zip(parts, counts, strict=True) if p in hidden)
            assert len(hidden) >= 2 or mass == 0
            assert len(hidden) == len(parts) or mass >= 10 or mass == 0
