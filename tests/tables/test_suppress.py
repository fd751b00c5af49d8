"""Primary and complementary suppression, and ``by`` columns that identify people.

Every expected flag below is worked out by hand from the rule: hide counts below
``min_cell``; then, within a whole whose total is known, while the hidden parts are one
cell or add up to fewer than ``min_cell`` users, hide the smallest visible part (the
total when none is left).
"""

from __future__ import annotations

import itertools

import polars as pl
import pytest

import insights as ins
from insights.tables._suppress import by_values, check_by_column, suppress_cells


def _recoverable(frame: pl.DataFrame, *, total: str | None, min_cell: int) -> bool:
    """Can a hidden part be learnt from what is shown? (Independent brute force.)

    The visible total (or, with ``total=None``, the known sum of the parts) minus the
    visible parts gives the sum of the hidden parts; a single hidden part is then exact,
    and a hidden sum below ``min_cell`` describes a small group.
    """
    shown = frame.filter(~pl.col("suppressed"))
    parts = frame.filter(pl.col("segment") != (total or ""))
    whole = float(parts["n"].sum())
    if total is not None:
        row = frame.filter(pl.col("segment") == total)
        if row["suppressed"][0]:
            return False
    hidden = parts.filter(pl.col("suppressed"))
    if hidden.height == parts.height:
        return False  # nothing shown to subtract
    mass = whole - float(shown.filter(pl.col("segment") != (total or ""))["n"].sum())
    return hidden.height == 1 or (hidden.height > 1 and 0 < mass < min_cell)


def test_four_user_channel_among_channels_with_a_total():
    # users by channel with a total row: 4 = 1000 - 600 - 250 - 146 if only it were hidden
    f = pl.DataFrame(
        {"segment": ["all", "ads", "live", "organic", "referral"], "n": [1000, 600, 250, 146, 4]}
    )
    out = suppress_cells(f, part="segment", total="all", min_cell=10)
    assert out["suppressed"].to_list() == [False, False, False, True, True]
    assert out.drop("suppressed").equals(f)  # rows, order and values unchanged
    assert not _recoverable(out, total="all", min_cell=10)


def test_one_user_category_in_shares_that_sum_to_100_percent():
    # no total row: the shares add up to 100%, so the whole is known anyway
    f = pl.DataFrame({"segment": ["food", "beauty", "toys"], "n": [70, 29, 1]})
    out = suppress_cells(f, part="segment", min_cell=10)
    assert out["suppressed"].to_list() == [False, True, True]
    assert not _recoverable(out, total=None, min_cell=10)


def test_two_small_parts_whose_sum_is_still_small_take_a_third():
    # 3 + 4 = 7 < 10 users: hiding both would still publish a 7-user group
    f = pl.DataFrame({"segment": ["all", "a", "b", "c", "d"], "n": [107, 50, 50, 3, 4]})
    out = suppress_cells(f, part="segment", total="all", min_cell=10)
    assert out["suppressed"].to_list() == [False, True, False, True, True]


def test_two_hidden_parts_of_a_large_sum_are_safe():
    # 9 and 3 hidden, 12 shown: neither part can be told apart, and 12 users is no small group
    f = pl.DataFrame({"segment": ["all", "a", "b"], "n": [12, 9, 3]})
    out = suppress_cells(f, part="segment", total="all", min_cell=10)
    assert out["suppressed"].to_list() == [False, True, True]


def test_no_part_left_to_hide_hides_the_total():
    # 17 users without a value: 20 - 0 = 3 + (users without a value); only the total is left to hide
    f = pl.DataFrame({"segment": ["all", "a", "b"], "n": [20, 3, 0]})
    out = suppress_cells(f, part="segment", total="all", min_cell=10)
    assert out["suppressed"].to_list() == [True, True, True]


def test_wholes_are_separate_and_zero_cells_hide_nobody():
    f = pl.DataFrame(
        {
            "metric": ["m1"] * 3 + ["m2"] * 3,
            "segment": ["all", "a", "b"] * 2,
            "n": [50, 50, 0, 50, 45, 5],
        }
    )
    out = suppress_cells(f, part="segment", by=["metric"], total="all", min_cell=10)
    assert out["suppressed"].to_list() == [False, False, False, False, True, True]


def test_primary_only_without_part_and_flags_are_kept():
    f = pl.DataFrame({"n": [3, 30, None, 0], "suppressed": [False, False, False, True]})
    assert suppress_cells(f, min_cell=10)["suppressed"].to_list() == [True, False, True, True]
    with ins.options(min_cell=2):
        assert suppress_cells(f)["suppressed"].to_list() == [False, False, True, True]


def test_brute_force_no_hidden_cell_is_ever_recoverable():
    # every table of four parts with counts from a small grid, with and without a total
    grid = [0, 1, 4, 9, 10, 25]
    for counts in itertools.product(grid, repeat=4):
        parts = pl.DataFrame({"segment": ["a", "b", "c", "d"], "n": list(counts)})
        with_total = pl.concat([pl.DataFrame({"segment": ["all"], "n": [sum(counts)]}), parts])
        for frame, total in ((parts, None), (with_total, "all")):
            out = suppress_cells(frame, part="segment", total=total, min_cell=10)
            small = out.filter((pl.col("n") > 0) & (pl.col("n") < 10))
            assert small["suppressed"].all()
            if total is not None and out["suppressed"][0]:
                continue
            assert not _recoverable(out, total=total, min_cell=10), counts


@pytest.mark.parametrize(
    "name", ["user_id", "order_id", "referrer_id", "openid", "uid", "Device ID"]
)
def test_id_columns_are_refused_by_name(name):
    counts = pl.DataFrame({"segment": ["x"], "n": [500]})
    with pytest.raises(ValueError, match=f"users.{name} identifies individuals") as info:
        check_by_column(counts, name, users=500, min_cell=10)
    assert "x" not in str(info.value).replace(name, "")


def test_near_unique_and_mostly_tiny_columns_are_refused_without_values():
    users = pl.DataFrame(
        {
            "user_id": range(1000),
            "phone": [f"138{i:08d}" for i in range(1000)],
            "referrer": [f"ref{i // 6:04d}" for i in range(1000)],  # 6 users per referrer
            "platform": ["douyin"] * 600 + ["kuaishou"] * 390 + ["weibo"] * 10,
        }
    )
    with pytest.raises(ValueError, match="1,000 distinct values") as info:
        by_values(users, "phone", min_cell=10)
    assert "138" not in str(info.value)
    with pytest.raises(ValueError, match="values with fewer than min_cell=10") as info:
        by_values(users, "referrer", min_cell=10)
    assert "ref0" not in str(info.value)
    assert by_values(users, "platform", min_cell=11).rows() == [("douyin", 600), ("kuaishou", 390)]
