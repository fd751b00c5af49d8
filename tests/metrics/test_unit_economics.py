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
    paid = out.filter(pl.col("group") == "paid").row(0, named=True)
    paid_spend = spend.filter(pl.col("channel") == "paid")["amount"].item()
    assert paid["cac"] == pytest.approx(paid_spend / paid["n"])
    assert paid["ltv_cac"] == pytest.approx(paid["ltv_gmv"] / paid["cac"])
    # payback: first day with margin x cumulative LTV >= CAC, else null
    row = out.filter(pl.col("group") == "organic").row(0, named=True)
    curve = projected_ltv(ds, period="2023", by="channel", curve=True).filter(
        pl.col("group") == "organic"
    )
    expected = curve.filter(pl.col("ltv") >= row["cac"])["t"].min()
    assert row["payback_days"] == expected


def test_elasticity_scales_hazard(sim_dir):
    ds = load_dataset(sim_dir)
    r = retention_ltv_elasticity(ds, period="2023", lift=0.10).row(0, named=True)
    assert r["retention_new"] == pytest.approx(1.1 * r["retention"])
    assert 0 < r["hazard_scale"] < 1
    curve = projected_ltv(ds, period="2023", curve=True)
    s, v = curve["survival"].to_numpy(), curve["value"].to_numpy()
    assert s[30] ** r["hazard_scale"] == pytest.approx(r["retention_new"])
    assert r["ltv_new"] == pytest.approx(float((v * s ** (r["hazard_scale"] - 1)).sum()))
    assert r["ltv_change"] > 0.10
    with pytest.raises(ValueError, match="lift"):
        retention_ltv_elasticity(ds, period="2023", lift=2.0)
    assert np.isfinite(r["elasticity"])
