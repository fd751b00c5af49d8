"""Wilson and Newcombe intervals against hand computations and published values."""

from __future__ import annotations

import math

import polars as pl
import pytest

from insights.stats.proportions import (
    newcombe_diff_interval,
    wilson_frame,
    wilson_interval,
    z_value,
)


def test_z_value() -> None:
    assert z_value(0.05) == pytest.approx(1.959963985, abs=1e-9)
    with pytest.raises(ValueError):
        z_value(0)


def test_wilson_hand_worked() -> None:
    # x = 8, n = 10, z = 1.959964, z^2 = 3.841459
    # centre = (8 + 1.920730) / (10 + 3.841459) = 9.920730 / 13.841459 = 0.716738
    # half   = 1.959964 / 13.841459 * sqrt(8*2/10 + 0.960365) = 0.141600 * 1.600114 = 0.226577
    # -> (0.490161, 0.943315)
    lo, hi = wilson_interval(8, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.4902, 0.9433)
    z = 1.959963984540054
    centre = (8 + z * z / 2) / (10 + z * z)
    half = z / (10 + z * z) * math.sqrt(8 * 2 / 10 + z * z / 4)
    assert lo == pytest.approx(centre - half, abs=1e-12)
    assert hi == pytest.approx(centre + half, abs=1e-12)


def test_wilson_edges() -> None:
    # x = 0: lower bound 0, upper = z^2 / (n + z^2) = 3.841459 / 13.841459 = 0.277533
    lo, hi = wilson_interval(0, 10)
    assert lo == pytest.approx(0.0, abs=1e-12)
    assert hi == pytest.approx(0.2775328, abs=1e-6)
    lo, hi = wilson_interval(10, 10)
    assert hi == pytest.approx(1.0, abs=1e-12)
    assert lo == pytest.approx(1 - 0.2775328, abs=1e-6)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_wilson_alpha() -> None:
    # 90% interval is narrower than 95%
    lo90, hi90 = wilson_interval(8, 10, alpha=0.10)
    lo95, hi95 = wilson_interval(8, 10)
    assert lo95 < lo90 < hi90 < hi95


def test_wilson_frame_matches_scalar_and_does_not_mutate() -> None:
    frame = pl.DataFrame({"k": [8, 0, 37, 0], "m": [10, 10, 120, 0], "other": ["a", "b", "c", "d"]})
    before = frame.clone()
    out = wilson_frame(frame, successes="k", n="m", alpha=0.1)
    assert frame.equals(before)
    assert out.columns == ["k", "m", "other", "ci_low", "ci_high"]
    for k, m, lo, hi in out.select("k", "m", "ci_low", "ci_high").rows():
        if m == 0:
            assert lo is None and hi is None
        else:
            elo, ehi = wilson_interval(k, m, alpha=0.1)
            assert lo == pytest.approx(elo, abs=1e-12)
            assert hi == pytest.approx(ehi, abs=1e-12)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "expected"),
    [
        # Newcombe (1998), Stat Med 17:873-890, Table II, method 10
        (56, 70, 48, 80, (0.0524, 0.3339)),
        (9, 10, 3, 10, (0.1705, 0.8090)),
        (5, 56, 0, 29, (-0.0381, 0.1926)),
    ],
)
def test_newcombe_published(
    x1: int, n1: int, x2: int, n2: int, expected: tuple[float, float]
) -> None:
    lo, hi = newcombe_diff_interval(x1, n1, x2, n2)
    assert (round(lo, 4), round(hi, 4)) == expected


def test_newcombe_formula() -> None:
    # d = 0.8 - 0.6 = 0.2; lower = d - sqrt((p1-l1)^2 + (u2-p2)^2), upper symmetric
    l1, u1 = wilson_interval(8, 10)
    l2, u2 = wilson_interval(6, 10)
    lo, hi = newcombe_diff_interval(8, 10, 6, 10, alpha=0.05)
    assert lo == pytest.approx(0.2 - math.hypot(0.8 - l1, u2 - 0.6), abs=1e-12)
    assert hi == pytest.approx(0.2 + math.hypot(u1 - 0.8, 0.6 - l2), abs=1e-12)
    assert all(math.isnan(v) for v in newcombe_diff_interval(1, 0, 1, 2))
