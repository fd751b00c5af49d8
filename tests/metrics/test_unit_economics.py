"""LTV/CAC, payback and the retention → LTV elasticity on the simulator."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from insights.data import load_dataset
from insights.metrics.ltv_projection import projected_ltv
from insights.metrics.unit_economics import ltv_cac, retention_ltv_elasticity


def test_ltv_cac_consistent_with_spend(sim_dir):
    ds = load_dataset(sim_dir)
    out = ltv_cac(ds, period="2023", margin=1.0)
    spend = (
        pl.read_parquet(sim_dir / "spend.parquet")
        .filter(pl.col("period_start").dt.year() == 2023)
        .group_by("channel")
        .agg(pl.col("amount").sum())
    )
    paid = out.filter(pl.col("segment") == "paid").row(0, named=True)
    paid_spend = spend.filter(pl.col("channel") == "paid")["amount"].item()
    assert paid["cac"] == pytest.approx(paid_spend / paid["n"])
    assert paid["value"] == pytest.approx(paid["ltv_gmv"] / paid["cac"])
    # payback: first day with margin x cumulative LTV >= CAC, else null
    row = out.filter(pl.col("segment") == "organic").row(0, named=True)
    curve = projected_ltv(ds, period="2023", by="channel", curve=True).filter(
        pl.col("segment") == "organic"
    )
    expected = curve.filter(pl.col("value") >= row["cac"])["t"].min()
    assert row["payback_days"] == expected
    # where= on a column of spend and users: the paid channel alone
    only = ltv_cac(ds, period="2023", margin=1.0, by=None, where={"channel": "paid"})
    assert only.select("segment", "n").row(0) == ("all", paid["n"])
    assert only["cac"].item() == pytest.approx(paid["cac"])


def _curve(survival, daily_value, daily_survivor_value):
    n = len(survival)
    return pl.DataFrame(
        {"segment": "all", "t": np.arange(n), "survival": survival,
         "value": np.cumsum(daily_value), "daily_value": daily_value,
         "daily_survivor_value": daily_survivor_value, "model": "none", "n": 100}
    )  # fmt: skip


def test_elasticity_hand_worked(monkeypatch):
    """S(t) = 0.25^t, D1 retention 0.25 -> 0.5 (lift 1.0): k = log 0.5 / log 0.25 = 1/2.

    Survivors' spend S·m = 1 a day scales by S^(k-1) = 1, 2, 4, 8 -> 15.
    Churned spend 0, 0, 3, 5 with gap 1: S(t-1) = 1, 1, 1/4, 1/16, so
    (1 - S(t-1)^k) / (1 - S(t-1)) = -, -, (1/2)/(3/4), (3/4)/(15/16) = 2/3, 4/5 -> 0 + 0 + 2 + 4.
    LTV 4 + 8 = 12 -> 15 + 6 = 21: +75%, elasticity 0.75 (the old whole-value
    scaling gave 1 + 2 + 16 + 48 = 67, +458%).
    """
    curve = _curve([1.0, 0.25, 0.0625, 0.015625], [1.0, 1.0, 4.0, 6.0], [1.0, 1.0, 1.0, 1.0])
    monkeypatch.setattr("insights.metrics.unit_economics.projected_ltv", lambda *a, **k: curve)
    r = retention_ltv_elasticity(None, lift=1.0, retention_day=1, churn_gap=1).row(0, named=True)  # type: ignore[arg-type]
    assert r["hazard_scale"] == pytest.approx(0.5)
    assert r["retention_new"] == pytest.approx(0.5)
    assert r["ltv"] == pytest.approx(12.0)
    assert r["ltv_new"] == pytest.approx(21.0)
    assert r["value"] == pytest.approx(0.75)
    assert r["elasticity"] == pytest.approx(0.75)


def test_elasticity_without_reactivation_is_scaled_hazard(monkeypatch):
    """No churned spend (daily_value == daily_survivor_value): LTV' = Σ S^(k-1)·a, the plain formula."""
    s = np.exp(-0.02 * np.arange(120))
    v = 0.5 * s + 0.01
    curve = _curve(s, v, v)
    monkeypatch.setattr("insights.metrics.unit_economics.projected_ltv", lambda *a, **k: curve)
    r = retention_ltv_elasticity(None, lift=0.1).row(0, named=True)  # type: ignore[arg-type]
    k = np.log(1.1 * s[30]) / np.log(s[30])
    assert r["hazard_scale"] == pytest.approx(k)
    assert r["ltv_new"] == pytest.approx(float((v * s ** (k - 1)).sum()))


def test_elasticity_scales_hazard(sim_dir):
    ds = load_dataset(sim_dir)
    r = retention_ltv_elasticity(ds, period="2023", lift=0.10).row(0, named=True)
    assert r["retention_new"] == pytest.approx(1.1 * r["retention"])
    assert 0 < r["hazard_scale"] < 1
    curve = projected_ltv(ds, period="2023", curve=True)
    s, v = curve["survival"].to_numpy(), curve["daily_value"].to_numpy()
    surv = curve["daily_survivor_value"].to_numpy()
    assert np.cumsum(v) == pytest.approx(curve["value"].to_numpy())
    k = r["hazard_scale"]
    assert s[30] ** k == pytest.approx(r["retention_new"])
    # churned spend scales by a factor in (k, 1): LTV' between these two bounds
    up = float((surv * s ** (k - 1)).sum())
    churned = float((v - surv).sum())
    assert up + k * churned <= r["ltv_new"] <= up + churned
    assert r["ltv_new"] < float((v * s ** (k - 1)).sum())  # below the whole-value scaling
    assert r["value"] > 0
    with pytest.raises(ValueError, match="lift"):
        retention_ltv_elasticity(ds, period="2023", lift=2.0)
    assert np.isfinite(r["elasticity"])
