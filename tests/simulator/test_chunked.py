"""Chunked simulation: the same platform as separate simulations, ids made unique, valid data."""

from __future__ import annotations

import json

import polars as pl

from insights.data import load_dataset
from insights.data._backend import collect
from insights.simulator import simulate, simulate_chunked
from insights.simulator.chunked import ORDER_ID_STRIDE


def test_chunks_are_the_separate_simulations_with_shifted_ids(tmp_path) -> None:
    m = simulate_chunked(tmp_path / "c", users=1500, chunk=1000, seed=5)
    one = simulate(tmp_path / "a", users=1000, seed=5)
    two = simulate(tmp_path / "b", users=500, seed=6)
    assert m["chunks"] == 2 and m["chunk_seeds"] == [5, 6]
    for table in ("users", "orders", "views", "interactions", "community", "experiments"):
        parts = sorted((tmp_path / "c" / table).glob("part-*.parquet"))
        assert len(parts) == 2
        assert pl.read_parquet(parts[0]).equals(
            pl.read_parquet(tmp_path / "a" / f"{table}.parquet")
        )
        shifted = pl.read_parquet(tmp_path / "b" / f"{table}.parquet")
        shifted = shifted.with_columns(
            pl.col(c) + k
            for c, k in (("user_id", 1000), ("order_id", ORDER_ID_STRIDE))
            if c in shifted.columns
        )
        assert pl.read_parquet(parts[1]).equals(shifted)
        assert m["rows"][table] == one["rows"][table] + two["rows"][table]
    spend = (
        pl.concat([pl.read_parquet(tmp_path / x / "spend.parquet") for x in ("a", "b")])
        .group_by("period_start", "channel")
        .agg(pl.col("amount").sum())
    )
    chunked = pl.read_parquet(tmp_path / "c" / "spend.parquet")
    joined = chunked.join(spend, on=["period_start", "channel"], how="full")
    assert joined.height == chunked.height == spend.height
    assert (joined["amount"] - joined["amount_right"]).abs().max() < 1e-6
    arms = m["experiments"]["newcomer_7day_plan"]["arms"]
    for arm, n in arms.items():
        parts_n = [x["experiments"]["newcomer_7day_plan"]["arms"].get(arm, 0) for x in (one, two)]
        assert n == sum(parts_n)
    assert json.loads((tmp_path / "c" / "manifest.json").read_text())["users"] == 1500


def test_chunked_directory_loads_as_one_valid_dataset(tmp_path) -> None:
    simulate_chunked(tmp_path / "c", users=2100, chunk=1000, seed=9)
    ds = load_dataset(tmp_path / "c")  # validates every contract rule (unique ids included)
    users = collect(ds.raw("users").select("user_id"))
    assert users.height == 2100 and users["user_id"].n_unique() == 2100
    orders = collect(ds.raw("orders").select("order_id"))
    assert orders["order_id"].n_unique() == orders.height
