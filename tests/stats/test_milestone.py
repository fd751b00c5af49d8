"""Milestone S(t*) and RMST(τ) differences against lifelines' curves and hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_waltons
from lifelines.utils import restricted_mean_survival_time
from scipy.stats import norm

from insights.stats.km import kaplan_meier
from insights.stats.milestone import milestone_difference, milestone_survival, rmst_difference

Z = norm.ppf(0.975)


def _waltons_km() -> tuple[pl.DataFrame, dict[str, KaplanMeierFitter]]:
    w = load_waltons()
    counts = (
        pl.from_pandas(w)
        .rename({"group": "segment"})
        .group_by("segment", pl.col("T").alias("duration"), pl.col("E").alias("event"))
        .agg(pl.len().alias("count"))
    )
    km = kaplan_meier(counts)
    fits = {g: KaplanMeierFitter().fit(sub["T"], sub["E"]) for g, sub in w.groupby("group")}
    return km, fits


def _greenwood_var(fit: KaplanMeierFitter, t: float) -> tuple[float, float]:
    s = float(fit.predict(t))
    cum = float(fit._cumulative_sq_[fit._cumulative_sq_.index <= t].iloc[-1])
    return s, s * s * cum


def test_hand_worked_greenwood() -> None:
    # 4 units, events at 1 and 2: S(1) = 3/4, Var = (3/4)^2 * 1/(4*3); S(2) = 1/2,
    # Var = (1/2)^2 * (1/12 + 1/(3*2))
    km = pl.DataFrame(
        {
            "segment": "a",
            "t": [0, 1, 2],
            "survival": [1.0, 0.75, 0.5],
            "at_risk": [4, 4, 3],
            "events": [0, 1, 1],
        }
    )
    out = milestone_survival(km, milestones=[0.5, 1, 2])
    assert out["survival"].to_list() == [1.0, 0.75, 0.5]
    assert out["variance"].to_list() == pytest.approx([0.0, 0.5625 / 12, 0.25 * (1 / 12 + 1 / 6)])


def test_waltons_difference_matches_lifelines_greenwood() -> None:
    km, fits = _waltons_km()
    out = milestone_difference(km, milestones=[30, 50], reference="control")
    assert out.select("segment_a", "segment_b").unique().rows() == [("miR-137", "control")]
    for row in out.iter_rows(named=True):
        sa, va = _greenwood_var(fits["miR-137"], row["t"])
        sb, vb = _greenwood_var(fits["control"], row["t"])
        se = math.sqrt(va + vb)
        assert row["survival_a"] == pytest.approx(sa, rel=1e-12)
        assert row["difference"] == pytest.approx(sa - sb, rel=1e-12)
        assert row["se"] == pytest.approx(se, rel=1e-10)
        assert row["ci_low"] == pytest.approx(sa - sb - Z * se, rel=1e-10)
        assert row["p_value"] == pytest.approx(2 * norm.sf(abs(sa - sb) / se), rel=1e-9)
        # ratio on the log scale: Var log S = Greenwood sum = Var / S^2
        log_se = math.sqrt(va / sa**2 + vb / sb**2)
        assert row["ratio"] == pytest.approx(sa / sb, rel=1e-12)
        assert row["ratio_ci_high"] == pytest.approx(sa / sb * math.exp(Z * log_se), rel=1e-10)
    # Holm over the single pair at each t leaves p unchanged
    assert out["p_adjusted"].to_list() == pytest.approx(out["p_value"].to_list())


def test_unknown_past_follow_up_and_zero_survival() -> None:
    km = pl.DataFrame(
        {
            "segment": ["a"] * 3 + ["b"] * 3,
            "t": [0, 1, 2, 0, 1, 3],
            "survival": [1.0, 0.5, 0.25, 1.0, 0.5, 0.0],
            "at_risk": [4, 4, 2, 2, 2, 1],
            "events": [0, 2, 1, 0, 1, 1],
        }
    )
    out = milestone_survival(km, milestones=[5])
    assert out.filter(pl.col("segment") == "a")["survival"].item() is None  # a censored at 2, S > 0
    b = out.filter(pl.col("segment") == "b")
    assert (b["survival"].item(), b["variance"].item()) == (0.0, 0.0)  # b reached 0 at 3
    diff = milestone_difference(km, milestones=[1, 5])
    assert diff.filter(pl.col("t") == 5)["difference"].item() is None
    assert diff.filter(pl.col("t") == 1)["ratio"].item() == pytest.approx(1.0)


def test_rmst_difference_waltons() -> None:
    km, fits = _waltons_km()
    tau = 40.0
    out = rmst_difference(km, tau=tau, reference="control")
    row = out.row(0, named=True)
    ra = restricted_mean_survival_time(fits["miR-137"], t=tau)
    rb = restricted_mean_survival_time(fits["control"], t=tau)
    assert row["rmst_a"] == pytest.approx(
        ra, rel=1e-9
    )  # lifelines' value is right (its variance is not)
    assert row["rmst_b"] == pytest.approx(rb, rel=1e-9)
    assert row["difference"] == pytest.approx(ra - rb, rel=1e-9)
    from insights.stats.rmst import rmst

    se = rmst(km, tau=tau).sort("segment")["se"].to_numpy()
    assert row["se"] == pytest.approx(math.sqrt(float(np.sum(se**2))), rel=1e-12)
    assert row["ci_high"] - row["ci_low"] == pytest.approx(2 * Z * row["se"])
    assert row["p_value"] < 1e-6  # miR-137 dies much earlier


def test_rmst_difference_hand_worked_and_pairs() -> None:
    km = pl.DataFrame(
        {
            "segment": ["a"] * 3 + ["b"] * 3 + ["c"] * 3,
            "t": [0, 1, 2] * 3,
            "survival": [1.0, 0.75, 0.5, 1.0, 0.5, 0.25, 1.0, 1.0, 0.75],
            "at_risk": [4, 4, 3] * 3,
            "events": [0, 1, 1, 0, 2, 1, 0, 0, 1],
        }
    )
    out = rmst_difference(km, tau=2, adjust="bh")
    assert out.select("segment_a", "segment_b").rows() == [("a", "b"), ("a", "c"), ("b", "c")]
    assert out["difference"].to_list() == pytest.approx([1.75 - 1.5, 1.75 - 2.0, 1.5 - 2.0])
    assert set(out["method"].to_list()) == {"bh"}
    before = km.clone()
    milestone_difference(km, milestones=1, sort=["c", "a", "b"])
    assert km.equals(before)


def test_bad_input() -> None:
    km, _ = _waltons_km()
    with pytest.raises(ValueError, match="milestone times"):
        milestone_survival(km, milestones=[-1])
    with pytest.raises(ValueError, match=r"lacks columns \['at_risk'\]"):
        milestone_survival(km.drop("at_risk"), milestones=10)
    with pytest.raises(ValueError, match="reference='x'"):
        milestone_difference(km, milestones=10, reference="x")
    with pytest.raises(ValueError, match="sort names unknown segments"):
        rmst_difference(km, tau=10, sort=["control", "nope"])
    censored = pl.DataFrame(
        {
            "segment": ["a", "a", "b", "b"],
            "t": [0, 2, 0, 9],
            "survival": [1.0, 0.5] * 2,
            "at_risk": [2, 2] * 2,
            "events": [0, 1] * 2,
        }
    )
    with pytest.raises(ValueError, match="beyond the curve"):
        rmst_difference(censored, tau=5)  # a's curve is unknown after 2
