"""Effect statistics against hand-worked values, scipy on raw rows and known DiD truth."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from insights.stats.did import PARALLEL_TRENDS, did_effect
from insights.stats.effects import (
    mde,
    normal_effect,
    proportion_effect,
    srm_test,
    welch_effect,
)


def test_srm_hand_worked() -> None:
    r = srm_test({"control": 60, "treatment": 40})
    assert r.chi2 == pytest.approx(4.0)
    assert r.df == 1
    assert r.p_value == pytest.approx(math.erfc(math.sqrt(2.0)))  # P(|Z| > 2)
    # designed 50/30/20 split met exactly: chi2 = 0
    exact = srm_test({"a": 50, "b": 30, "c": 20}, split={"a": 5, "b": 3, "c": 2})
    assert exact.chi2 == pytest.approx(0.0) and exact.p_value == pytest.approx(1.0)
    # 3 arms vs equal: E = 40; chi2 = (100 + 0 + 100) / 40 = 5, df 2, p = exp(-5/2)
    three = srm_test({"a": 50, "b": 40, "c": 30})
    assert three.chi2 == pytest.approx(5.0) and three.p_value == pytest.approx(math.exp(-2.5))


def test_srm_bad_input() -> None:
    with pytest.raises(ValueError, match="two arms"):
        srm_test({"a": 3})
    with pytest.raises(ValueError, match="split has no share"):
        srm_test({"a": 3, "b": 4}, split={"a": 1.0})


def test_proportion_effect_newcombe_published_and_tests() -> None:
    # Newcombe (1998) Table II (a): 56/70 vs 48/80 -> (0.0524, 0.3339)
    e = proportion_effect(56, 70, 48, 80)
    assert (round(e.ci_low, 4), round(e.ci_high, 4)) == (0.0524, 0.3339)
    # pooled z-test == Pearson chi-square without continuity correction
    chi2, p, _, _ = stats.chi2_contingency([[56, 14], [48, 32]], correction=False)
    assert e.p_value == pytest.approx(p)
    # Katz log risk-ratio interval, by hand
    rr = (56 / 70) / (48 / 80)
    se = math.sqrt(1 / 56 - 1 / 70 + 1 / 48 - 1 / 80)
    assert e.relative == pytest.approx(rr - 1)
    assert e.relative_ci_low == pytest.approx(rr * math.exp(-1.959964 * se) - 1, abs=1e-6)
    # MDE at 80% power: (1.959964 + 0.841621) * sqrt(p0 (1 - p0) (1/n1 + 1/n0))
    assert e.mde == pytest.approx(2.801585 * math.sqrt(0.6 * 0.4 * (1 / 70 + 1 / 80)), rel=1e-6)


def test_welch_effect_matches_scipy_on_raw_rows() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(5, 2, 40), rng.normal(4, 1, 25)
    e = welch_effect(a.mean(), a.var(ddof=1), a.size, b.mean(), b.var(ddof=1), b.size)
    ref = stats.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert e.p_value == pytest.approx(ref.pvalue)
    assert (e.ci_low, e.ci_high) == pytest.approx((ci.low, ci.high))
    assert e.difference == pytest.approx(a.mean() - b.mean())


def test_normal_effect_and_mde_hand_worked() -> None:
    e = normal_effect(0.5, 0.03, 0.4, 0.04, n1=100, n0=100)
    assert (e.ci_low, e.ci_high) == pytest.approx((0.1 - 1.959964 * 0.05, 0.1 + 1.959964 * 0.05))
    assert e.p_value == pytest.approx(2 * stats.norm.sf(2.0))
    assert e.mde == pytest.approx(2.801585 * 0.04 * math.sqrt(2), rel=1e-6)
    assert mde(0.01, power=0.9) == pytest.approx((1.959964 + 1.281552) * 0.01, rel=1e-6)
    with pytest.raises(ValueError, match="power"):
        mde(0.01, power=80)


def _panel(effect: float, pre_gap: float, seed: int) -> pl.DataFrame:
    """200 users x 4 quarters (2 pre); treated from Q3; unit effects + common trend."""
    rng = np.random.default_rng(seed)
    n, periods = 200, ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    treated = np.arange(n) < 80
    unit = rng.normal(0, 2, n) + 1.5 * treated
    rows = []
    for k, p in enumerate(periods):
        y = unit + 0.7 * k + rng.normal(0, 1, n)
        y = y + effect * treated * (k >= 2) + pre_gap * treated * (k == 0)
        rows.append(pl.DataFrame({"user": np.arange(n), "treated": treated, "quarter": p, "y": y}))
    return pl.concat(rows)


def test_did_recovers_known_effect_with_pre_trend_check() -> None:
    panel = _panel(effect=2.0, pre_gap=0.0, seed=11)
    res = did_effect(
        panel,
        outcome="y",
        treated="treated",
        time="quarter",
        post=["2024Q3", "2024Q4"],
        cluster="user",
    )
    assert res.ci_low < 2.0 < res.ci_high
    assert abs(res.estimate - 2.0) < 0.3
    # estimate = difference of the four cell means (balanced panel)
    c = {(r["treated"], r["phase"]): r["mean"] for r in res.cells.iter_rows(named=True)}
    assert res.estimate == pytest.approx(
        (c[True, "post"] - c[True, "pre"]) - (c[False, "post"] - c[False, "pre"])
    )
    assert res.pre_trend_p is not None and res.pre_trend_p > 0.05
    assert res.assumption == PARALLEL_TRENDS and "Parallel trends" in res._repr_html_()
    diverging = _panel(effect=2.0, pre_gap=-1.5, seed=11)
    bad = did_effect(
        diverging,
        outcome="y",
        treated="treated",
        time="quarter",
        post=["2024Q3", "2024Q4"],
        cluster="user",
    )
    assert bad.pre_trend_p < 0.001


def test_did_2x2_hc1_matches_hand_formula() -> None:
    rng = np.random.default_rng(5)
    sizes = {(0, "a_pre"): 30, (0, "b_post"): 25, (1, "a_pre"): 20, (1, "b_post"): 35}
    means = {(0, "a_pre"): 10.0, (0, "b_post"): 12.0, (1, "a_pre"): 11.0, (1, "b_post"): 16.0}
    frames = [
        pl.DataFrame({"g": g, "p": p, "y": rng.normal(means[g, p], 2.0, n)})
        for (g, p), n in sizes.items()
    ]
    f = pl.concat(frames)
    res = did_effect(f, outcome="y", treated="g", time="p", post=["b_post"])
    cell = f.group_by("g", "p").agg(
        pl.col("y").mean().alias("m"),
        ((pl.col("y") - pl.col("y").mean()) ** 2).sum().alias("ss"),
        pl.len().alias("n"),
    )
    m = {(r["g"], r["p"]): r for r in cell.iter_rows(named=True)}
    did = (m[1, "b_post"]["m"] - m[1, "a_pre"]["m"]) - (m[0, "b_post"]["m"] - m[0, "a_pre"]["m"])
    hc0 = sum(r["ss"] / r["n"] ** 2 for r in m.values())
    assert res.estimate == pytest.approx(did)
    assert res.se**2 == pytest.approx(hc0 * f.height / (f.height - 4))
    assert res.pre_trend is None and res.pre_trend_p is None


def test_did_bad_input() -> None:
    f = pl.DataFrame({"y": [1.0, 2.0], "g": [0, 1], "p": ["pre", "post"]})
    with pytest.raises(ValueError, match="outcome"):
        did_effect(f, outcome="nope", treated="g", time="p", post=["post"])
    with pytest.raises(ValueError, match="post must name"):
        did_effect(f, outcome="y", treated="g", time="p", post=["later"])
