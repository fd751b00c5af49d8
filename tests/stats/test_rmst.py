"""RMST and its Greenwood-type SE: published waltons values, lifelines' mean, a simulation."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_waltons
from lifelines.utils import restricted_mean_survival_time
from scipy.integrate import IntegrationWarning

from insights.stats.km import kaplan_meier
from insights.stats.rmst import rmst, rmst_arrays


def _waltons_km() -> pl.DataFrame:
    w = pl.from_pandas(load_waltons())
    counts = w.group_by("T", "E").agg(pl.len().alias("count"))
    return kaplan_meier(counts, duration="T", event="E", by=None)


@pytest.mark.parametrize(("tau", "value", "se"), [(30, 28.1868, 0.3940), (50, 43.1560, 0.9302)])
def test_waltons_reference_values(tau: float, value: float, se: float) -> None:
    """references.md: RMST and formula SE on all 163 waltons rows (bootstrap SE 0.384 / 0.903)."""
    km = _waltons_km()
    before = km.clone()
    out = rmst(km, tau=tau)
    assert km.equals(before)
    row = out.row(0, named=True)
    assert out.columns == ["segment", "tau", "rmst", "se", "ci_low", "ci_high"]
    assert row["segment"] == "all" and row["tau"] == tau
    assert row["rmst"] == pytest.approx(value, abs=5e-5)
    assert row["se"] == pytest.approx(se, abs=5e-5)
    assert row["ci_low"] == pytest.approx(value - 1.959964 * row["se"], abs=1e-4)
    assert row["ci_high"] == pytest.approx(value + 1.959964 * row["se"], abs=1e-4)


def test_mean_matches_lifelines() -> None:
    """lifelines' RMST value is right (its return_variance is not: 25.17 at tau 30, references.md)."""
    w = load_waltons()
    kmf = KaplanMeierFitter().fit(w["T"], w["E"])
    with warnings.catch_warnings():  # lifelines' quad integration of a step function complains
        warnings.simplefilter("ignore", IntegrationWarning)
        mean = restricted_mean_survival_time(kmf, t=30)
    ours = rmst(_waltons_km(), tau=30).row(0, named=True)
    assert ours["rmst"] == pytest.approx(mean, rel=1e-9)
    assert ours["se"] ** 2 < 25.17 / 100


def test_hand_worked_example() -> None:
    """4 units: events at 1 and 3, censored at 2 and 5.

    S = 1 on [0,1), 3/4 on [1,3), 3/4 * 1/2 = 3/8 on [3,5). RMST(4) = 1 + 2*0.75 + 0.375 = 2.875.
    A at t=1: 2.875 - 1 = 1.875, d=1, n=4 -> 1.875^2/12; at t=3: 0.375, d=1, n=2 -> 0.375^2/2.
    """
    km = pl.DataFrame(
        {
            "segment": ["x"] * 5,
            "t": [0, 1, 2, 3, 5],
            "survival": [1.0, 0.75, 0.75, 0.375, 0.375],
            "at_risk": [4, 4, 3, 2, 1],
            "events": [0, 1, 0, 1, 0],
        }
    )
    out = rmst(km, tau=4, by="segment", alpha=0.1).row(0, named=True)
    assert out["segment"] == "x"
    assert out["rmst"] == pytest.approx(2.875)
    assert out["se"] == pytest.approx(np.sqrt(1.875**2 / 12 + 0.375**2 / 2))
    # Same from lifelines' own KM of the raw rows
    raw = kaplan_meier(
        pl.DataFrame({"d": [1, 2, 3, 5], "e": [1, 0, 1, 0]}),
        duration="d",
        event="e",
        weight=None,
        by=None,
    )
    again = rmst(raw, tau=4, by="segment").row(0, named=True)
    assert again["rmst"] == pytest.approx(out["rmst"]) and again["se"] == pytest.approx(out["se"])


def test_curve_reaching_zero_and_tau_at_an_event_time() -> None:
    # all 3 units die (1, 2, 2): the last term has n = d but A = 0
    value, se = rmst_arrays(
        np.array([0.0, 1.0, 2.0]),
        np.array([1.0, 2 / 3, 0.0]),
        np.array([3, 3, 2]),
        np.array([0, 1, 2]),
        tau=10,
    )
    assert value == pytest.approx(1 + 2 / 3)
    assert se == pytest.approx(np.sqrt((2 / 3) ** 2 * 1 / (3 * 2)))
    value2, _ = rmst_arrays(
        np.array([0.0, 1.0, 2.0]),
        np.array([1.0, 2 / 3, 0.0]),
        np.array([3, 3, 2]),
        np.array([0, 1, 2]),
        tau=2,
    )
    assert value2 == pytest.approx(value)


def test_se_matches_the_spread_across_simulated_samples() -> None:
    """Integer exponential times (mean 40 d) with uniform censoring; SE vs SD of RMST(60)."""
    rng = np.random.default_rng(1)
    reps, n, tau = 200, 200, 60
    time = np.floor(rng.exponential(40.0, (reps, n))) + 1
    cens = rng.integers(20, 150, (reps, n))
    raw = pl.DataFrame(
        {
            "rep": np.repeat(np.arange(reps), n).astype(str),
            "duration": np.minimum(time, cens).ravel().astype(np.int64),
            "event": (time <= cens).ravel().astype(np.int64),
        }
    )
    counts = raw.group_by("rep", "duration", "event").agg(pl.len().alias("count"))
    out = rmst(kaplan_meier(counts, by="rep"), tau=tau, by="segment")
    sd = out["rmst"].std()
    mean_se = out["se"].mean()
    assert mean_se == pytest.approx(sd, rel=0.15)  # SD of 200 replicates is within ~5%
    # and it is centred on the truth E min(T, tau), T = floor(Exp(40)) + 1
    truth = sum(np.exp(-k / 40.0) for k in range(tau))  # sum over u < tau of P(T > u)
    assert out["rmst"].mean() == pytest.approx(truth, abs=3 * sd / np.sqrt(reps))


def test_bad_input() -> None:
    km = _waltons_km()
    with pytest.raises(ValueError, match="tau"):
        rmst(km, tau=0)
    assert rmst(km, tau=1_000)["rmst"].item() > 0  # every waltons unit dies: the curve is known
    censored_tail = km.with_columns(
        pl.when(pl.col("t") == pl.col("t").max()).then(0.01).otherwise("survival").alias("survival")
    )
    with pytest.raises(ValueError, match="beyond the curve's last observed time"):
        rmst(censored_tail, tau=1_000)
    with pytest.raises(ValueError, match="lacks columns"):
        rmst(km.drop("at_risk"), tau=10)
    with pytest.raises(ValueError, match="by=None"):
        rmst(km.drop("segment"), tau=10)
    single = rmst(km.drop("segment"), tau=30, by=None)
    assert single["segment"].to_list() == ["all"]
