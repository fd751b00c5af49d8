"""The edge rules of the headline builder: not-observed windows and the first day of the data."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import insights as ins
from insights.data.dataset import EmptyPeriodWarning
from insights.metrics._common import (
    data_start_day,
    headline,
    mark_observed,
    partial_expr,
    wilson_headline,
)

EPOCH = dt.date(1970, 1, 1)


def day(y: int, m: int, d: int) -> int:
    return (dt.date(y, m, d) - EPOCH).days


def test_headline_nulls_rows_not_observed():
    f = pl.DataFrame(
        {
            "segment": ["a", "b"],
            "n": [53, 40],
            "value": [0.0, 0.25],
            "ci_low": [0.0, 0.1],
            "ci_high": [0.0, 0.4],
            "status": ["not_observed", "observed"],
        }
    )
    out = headline(f, "retention_d60", "2024Q1")
    assert out.select("segment", "value", "ci_low", "ci_high", "n", "status").rows() == [
        ("a", None, None, None, 53, "not_observed"),
        ("b", 0.25, 0.1, 0.4, 40, "observed"),
    ]


def test_mark_observed_treats_unknown_as_not_observed():
    f = pl.DataFrame({"value": [1.0, 1.0], "at_risk": [None, 3]})
    out = mark_observed(f, pl.col("at_risk") > 0)
    assert out.rows() == [(None, None, "not_observed"), (1.0, 3, "observed")]


def test_wilson_window_with_nobody_observed_is_not_an_empty_period():
    c = pl.DataFrame({"segment": ["all"], "n": [0], "successes": [0]})
    with pytest.warns(EmptyPeriodWarning):  # without a window: n = 0 is an empty period
        plain = wilson_headline(c, "repurchase_60d", "2024Q4", alpha=0.05)
    assert "status" not in plain.columns
    out = wilson_headline(c, "repurchase_60d", "2024Q4", alpha=0.05, window=60)  # no warning
    assert out.select("value", "ci_low", "ci_high", "status").row(0) == (
        None, None, None, "not_observed",
    )  # fmt: skip
    seen = wilson_headline(
        pl.DataFrame({"segment": ["all"], "n": [4], "successes": [1]}), "m", "q", alpha=0.05,
        window=60,
    )  # fmt: skip
    assert seen.select("value", "status").row(0) == (0.25, "observed")


def test_data_start_and_partial_periods():
    users = pl.DataFrame(
        {"user_id": [1, 2], "first_seen_at": [dt.datetime(2024, 2, 3, 9), dt.datetime(2024, 5, 1)]}
    )
    ds = ins.load_dataset(users=users, as_of="2024-06-15")
    assert data_start_day(ds) == day(2024, 2, 3)
    q = pl.DataFrame(
        {
            "s": [day(2024, 1, 1), day(2024, 4, 1), day(2024, 3, 1)],
            "e": [day(2024, 3, 31), day(2024, 6, 30), day(2024, 3, 31)],
        }
    )
    # Q1 starts before the data, Q2 ends after as_of, March is inside
    assert q.select(partial_expr("s", "e", ds))["s"].to_list() == [True, True, False]
    started = ins.load_dataset(users=users, as_of="2024-06-15", export_start="2024-01-01")
    assert data_start_day(started) == day(2024, 1, 1)
