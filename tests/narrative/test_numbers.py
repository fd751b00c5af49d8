"""How numbers are written: units, CIs, changes and p-values."""

from __future__ import annotations

import math

import pytest

from insights.narrative.numbers import (
    MINUS,
    fmt_change,
    fmt_ci,
    fmt_diff,
    fmt_p,
    fmt_range,
    fmt_value,
)


@pytest.mark.parametrize(
    ("value", "kind", "lang", "expected"),
    [
        (0.3517, "rate", "en", "35.2%"),
        (0.3517, "rate", "zh", "35.2%"),
        (128.84, "yuan", "en", "¥128.8"),
        (128.84, "yuan", "zh", "128.8元"),
        (17.0, "days", "en", "17 days"),
        (17.5, "days", "zh", "17.5天"),
        (7.01, "minutes", "en", "7.0 min"),
        (3.2260, "ratio", "en", "3.23×"),
        (3.2260, "ratio", "zh", "3.23倍"),
        (20_000, "count", "en", "20,000"),
        (0.272, "uplift", "en", "+27.2%"),
        (-0.055, "uplift", "en", f"{MINUS}5.5%"),
        (None, "rate", "en", "–"),
        (math.nan, "rate", "en", "–"),
    ],
)
def test_fmt_value(value: float, kind: str, lang: str, expected: str) -> None:
    assert fmt_value(value, kind, lang=lang) == expected  # type: ignore[arg-type]


def test_ci_and_range_write_the_unit_once() -> None:
    assert fmt_ci(0.348, 0.356, "rate", lang="en") == "95% CI 34.8–35.6%"
    assert fmt_ci(0.348, 0.356, "rate", lang="zh") == "95%置信区间 34.8–35.6%"
    assert fmt_ci(None, 0.3, "rate", lang="en") == ""
    assert fmt_range(15, 18, "days", lang="zh") == "15–18天"
    assert fmt_range(-0.061, 0.087, "rate", lang="en") == f"{MINUS}6.1–8.7%"


def test_changes_of_rates_are_points_and_of_others_relative() -> None:
    assert fmt_change(-0.021, "rate", lang="en") == "2.1 points"
    assert fmt_change(-0.021, "rate", lang="zh") == "2.1个百分点"
    assert fmt_change(5.0, "yuan", lang="en", previous=125.0) == "4.0%"
    assert fmt_change(5.0, "yuan", lang="en", previous=None) == "¥5.0"
    assert fmt_diff(0.0013, "rate", lang="en") == "+0.1 points"
    assert fmt_diff(-8.84, "yuan", lang="zh") == f"{MINUS}8.8元"
    assert fmt_diff(-0.0001, "rate", lang="en") == "+0.0 points"  # no "−0.0"


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.0004, "p < 0.001"),
        (0.001, "p = 0.001"),
        (0.01234, "p = 0.012"),
        (0.3391, "p = 0.34"),
        (0.999, "p > 0.99"),
        (1.0, "p > 0.99"),
        (None, "p = –"),
        (float("nan"), "p = –"),
    ],
)
def test_fmt_p(p: float | None, text: str) -> None:
    assert fmt_p(p) == text


def test_fmt_p_bare_table_cells_and_impossible_values() -> None:
    assert [fmt_p(p, prefix=False) for p in (0.0004, 0.0123, 0.5, 1.0, None)] == [
        "<0.001",
        "0.012",
        "0.50",
        ">0.99",
        "–",
    ]
    for bad in (-0.1, 1.5, float("inf")):
        with pytest.raises(ValueError, match="p-value must be a number in"):
            fmt_p(bad)
