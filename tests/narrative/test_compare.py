"""The change test from two CIs equals the textbook unpooled two-proportion z-test."""

from __future__ import annotations

import math

import polars as pl
import pytest
from scipy.stats import norm

from insights.narrative.compare import Z95, change_test, compare_quarters


def _wald_row(p: float, n: int, **extra: object) -> dict[str, object]:
    se = math.sqrt(p * (1 - p) / n)
    return {"value": p, "ci_low": p - Z95 * se, "ci_high": p + Z95 * se, "n": n, **extra}


def test_change_test_is_the_unpooled_two_proportion_z_test() -> None:
    # 420/1000 vs 380/1200, computed by hand: se = sqrt(.42*.58/1000 + .31667*.68333/1200)
    p1, n1, p2, n2 = 0.42, 1000, 380 / 1200, 1200
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    z = (p1 - p2) / se
    expected_p = 2 * (1 - norm.cdf(abs(z)))
    ch = change_test(_wald_row(p1, n1), _wald_row(p2, n2))
    assert ch.diff == pytest.approx(p1 - p2)
    assert ch.p == pytest.approx(expected_p, rel=1e-9)
    assert ch.ci_low == pytest.approx(p1 - p2 - Z95 * se)
    assert ch.ci_high == pytest.approx(p1 - p2 + Z95 * se)
    assert ch.relative == pytest.approx((p1 - p2) / p2)


def test_change_test_without_ci_has_no_p_and_rejects_missing_values() -> None:
    ch = change_test(
        {"value": 138.5, "ci_low": None, "ci_high": None},
        {"value": 142.1, "ci_low": None, "ci_high": None},
    )
    assert ch.p is None and ch.ci_low is None
    assert ch.diff == pytest.approx(-3.6)
    with pytest.raises(ValueError, match="both have a value"):
        change_test({"value": None}, {"value": 1.0})


def test_change_test_with_zero_width_intervals() -> None:
    same = {"value": 0.5, "ci_low": 0.5, "ci_high": 0.5}
    assert change_test(same, same).p == 1.0
    assert change_test({**same, "value": 0.6, "ci_low": 0.6, "ci_high": 0.6}, same).p == 0.0


def test_compare_quarters_matches_change_test_row_by_row() -> None:
    rows = [
        {"metric": "retention_d30", "segment": "all", "quarter": "2024Q4", **_wald_row(0.35, 1600)},
        {"metric": "retention_d30", "segment": "all", "quarter": "2024Q3", **_wald_row(0.39, 1500)},
        {
            "metric": "aov",
            "segment": "all",
            "quarter": "2024Q4",
            "value": 128.8,
            "ci_low": 118.3,
            "ci_high": 139.3,
            "n": 2103,
        },
        {
            "metric": "aov",
            "segment": "all",
            "quarter": "2024Q3",
            "value": 123.9,
            "ci_low": 113.1,
            "ci_high": 134.6,
            "n": 2184,
        },
        {
            "metric": "cac",
            "segment": "all",
            "quarter": "2024Q4",
            "value": 138.5,
            "ci_low": None,
            "ci_high": None,
            "n": 1673,
        },
        {
            "metric": "cac",
            "segment": "all",
            "quarter": "2024Q3",
            "value": 142.1,
            "ci_low": None,
            "ci_high": None,
            "n": 1540,
        },
    ]
    frame = pl.DataFrame(rows)
    before = frame.clone()
    out = compare_quarters(frame, quarter="2024Q4", other="2024Q3")
    assert frame.equals(before)
    assert out["metric"].to_list() == ["retention_d30", "aov", "cac"]
    for i in range(2):
        ch = change_test(rows[2 * i], rows[2 * i + 1])
        r = out.row(i, named=True)
        assert r["diff"] == pytest.approx(ch.diff) and r["p"] == pytest.approx(ch.p)
        assert r["diff_ci_low"] == pytest.approx(ch.ci_low)
    assert out.row(2, named=True)["p"] is None


def test_compare_quarters_names_a_missing_column() -> None:
    with pytest.raises(ValueError, match="no column 'quarter'"):
        compare_quarters(
            pl.DataFrame(
                {
                    "metric": ["a"],
                    "segment": ["all"],
                    "value": [1.0],
                    "ci_low": [None],
                    "ci_high": [None],
                    "n": [10],
                }
            ),
            quarter="2024Q4",
            other="2024Q3",
        )
