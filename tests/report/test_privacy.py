"""The privacy rule: no listing of user ids in a report."""

from __future__ import annotations

import polars as pl
import pytest

from insights.report._privacy import PrivacyError, check_privacy

POLARS_REPR = """\
shape: (3, 2)
┌──────────┬────────┐
│ user_id  ┆ amount │
│ ---      ┆ ---    │
│ i64      ┆ f64    │
╞══════════╪════════╡
│ 10000091 ┆ 34.6   │
│ 10000194 ┆ 62.92  │
│ 10000189 ┆ 84.5   │
└──────────┴────────┘"""

PIPE_TABLE = """\
| user_id | orders |
|--:|--:|
| u000123 | 3 |
| u000456 | 1 |
| u000789 | 2 |"""

PLAIN_LISTING = """\
   user_id  gmv
0  10000091  3.0
1  10000194  5.0
2  10000189  1.0"""


@pytest.mark.parametrize("text", [POLARS_REPR, PIPE_TABLE, PLAIN_LISTING])
def test_id_column_with_values_fails(text):
    with pytest.raises(PrivacyError, match="user ids"):
        check_privacy("Some prose.\n\n" + text + "\n\nMore prose.")


@pytest.mark.parametrize(
    "text",
    [
        "Retention is counted per user_id: a user_id is retained when active on day 30.",
        "| metric | definition |\n|--|--|\n| D30 | share of users (user_id) active on day 30 |\n| D7 | same on day 7 |",
        # counts of rows, not ids: thousands separators
        "| table | rows |\n|--|--:|\n| users (user_id) | 200,000 |\n| orders | 1,234,567 |\n| views | 9,876,543 |",
        # an id column with only two rows is not a dump
        "| user_id | n |\n|--|--|\n| 10000091 | 1 |\n| 10000194 | 2 |",
    ],
)
def test_prose_definitions_and_counts_pass(text):
    check_privacy(text)


def test_known_ids_anywhere_fail_from_five():
    ids = pl.Series("user_id", [10000091, 10000194, 10000189, 10000200, 10000201, 10000202])
    four = "Top buyers: 10000091, 10000194, 10000189 and 10000200."
    check_privacy(four, known_ids=ids)
    with pytest.raises(PrivacyError, match="5 ids"):
        check_privacy(four + " Also 10000201.", known_ids=ids)
    assert ids.to_list()[0] == 10000091  # the input is not changed
