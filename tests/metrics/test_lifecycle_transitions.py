"""Lifecycle transition matrix against a hand-worked example, on Polars and DuckDB."""

from __future__ import annotations

import polars as pl
import pytest
from test_lifecycle import AS_OF, FRAMES, wilson_ref

from insights.metrics.lifecycle import lifecycle_layers
from insights.metrics.lifecycle_transitions import FROM_LAYERS, lifecycle_transitions

# Users of test_lifecycle; layers at 2024-03-31 (from) and 2024-06-30 (to):
#   A new -> churned (age 107, no activity)      B active -> churned (gap 102)
#   C silent -> silent (interaction 04-15, gap 76) D silent -> silent (view 05-05, gap 56)
#   E churned -> churned                          F active -> churned (gap 120)
#   G not yet acquired (first 04-10) -> silent (age 81, gap 81)
#   H silent -> silent (view 04-30, gap 61)       I churned -> silent (view 04-02, gap 89)
#   J new -> churned (gap 120)                    K silent -> churned (gap 121)
EXPECTED = {
    ("not_yet_acquired", "silent"): 1,
    ("new", "churned"): 2,
    ("active", "churned"): 2,
    ("silent", "silent"): 3,
    ("silent", "churned"): 1,
    ("churned", "silent"): 1,
    ("churned", "churned"): 1,
}
ROW_N = {"not_yet_acquired": 1, "new": 2, "active": 2, "silent": 4, "churned": 2}


def test_transitions_hand_worked(make_dataset):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    out = lifecycle_transitions(ds, at=["2024Q1", "2024-06-30"], min_cell=0)
    assert out.columns == [
        "metric", "segment", "period", "value", "ci_low", "ci_high", "n",
        "from_layer", "to_layer", "users", "suppressed",
    ]  # fmt: skip
    assert out.height == 5 * 4 and set(out["period"]) == {"2024Q1->2024-06-30"}
    assert out["from_layer"].unique(maintain_order=True).to_list() == list(FROM_LAYERS)
    for row in out.iter_rows(named=True):
        key = (row["from_layer"], row["to_layer"])
        x, n = EXPECTED.get(key, 0), ROW_N[row["from_layer"]]
        assert (row["users"], row["n"], row["suppressed"]) == (x, n, False)
        assert row["value"] == pytest.approx(x / n)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(wilson_ref(x, n))
    # column totals are the layer sizes at the end date
    ends = lifecycle_layers(ds, at="2024-06-30")
    totals = out.group_by("to_layer").agg(pl.col("users").sum())
    assert dict(totals.rows()) == dict(ends.select("layer", "users").rows())


def test_transitions_small_cells_flagged_not_dropped(make_dataset):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    out = lifecycle_transitions(ds, at=["2024Q1", "2024Q2"], min_cell=2)
    assert out.height == 20
    hidden = out.filter(pl.col("suppressed"))
    assert sorted(hidden.select("from_layer", "to_layer").rows()) == sorted(
        k for k, v in EXPECTED.items() if v == 1
    )
    assert hidden["users"].null_count() == hidden.height
    assert hidden["value"].null_count() == hidden.height and hidden["n"].null_count() == 0
    # zero cells are not suppressed (they reveal no one)
    assert (
        out.filter(pl.col("from_layer") == "new", pl.col("to_layer") == "active")["users"].item()
        == 0
    )


def test_transitions_by_segment(make_dataset):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    out = lifecycle_transitions(ds, at=["2024Q1", "2024Q2"], by="channel", min_cell=0)
    # channel b: F active->churned, G nya->silent, H silent->silent, I churned->silent,
    # J new->churned, K silent->churned
    b = out.filter(pl.col("segment") == "b", pl.col("users") > 0)
    assert sorted(b.select("from_layer", "to_layer", "users").rows()) == sorted(
        [
            ("active", "churned", 1), ("not_yet_acquired", "silent", 1), ("silent", "silent", 1),
            ("churned", "silent", 1), ("new", "churned", 1), ("silent", "churned", 1),
        ]
    )  # fmt: skip
    assert b.filter(pl.col("from_layer") == "silent")["value"].to_list() == [0.5, 0.5]


def test_transitions_at_several_quarters_match_pairs(make_dataset):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    byq = lifecycle_transitions(ds, at=["2023Q4", "2024Q1", "2024Q2"], min_cell=0)
    assert byq["period"].unique(maintain_order=True).to_list() == [
        "2023Q4->2024Q1",
        "2024Q1->2024Q2",
    ]
    last = byq.filter(pl.col("period") == "2024Q1->2024Q2")
    one = lifecycle_transitions(ds, at=["2024Q1", "2024Q2"], min_cell=0)
    assert last.drop("period").equals(one.drop("period"))
    # 2023Q4 -> 2024Q1: A, B, J, K acquired in Q1 (G after 03-31: left out) -> 4 not yet acquired
    first = byq.filter(
        pl.col("period") == "2023Q4->2024Q1", pl.col("from_layer") == "not_yet_acquired"
    )
    assert first["n"][0] == 4


def test_transitions_argument_errors(make_dataset):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    with pytest.raises(ValueError, match="increasing: 2024Q1 is not after 2024Q2"):
        lifecycle_transitions(ds, at=["2024Q2", "2024Q1"])
    with pytest.raises(ValueError, match="min_cell"):
        lifecycle_transitions(ds, at=["2024Q1", "2024Q2"], min_cell=-1)
    with pytest.raises(ValueError, match="at least two dates"):
        lifecycle_transitions(ds, at=["2024Q2"])
    with pytest.raises(ValueError, match="at least two dates"):
        lifecycle_transitions(ds, at="2024Q2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="need data up to"):
        lifecycle_transitions(ds, at=["2024Q2", "2024Q3"])
