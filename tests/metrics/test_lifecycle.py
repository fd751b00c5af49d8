"""Lifecycle layers and silent reactivation against a hand-worked example, on Polars and DuckDB."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from insights.data import MissingTableError
from insights.metrics.lifecycle import lifecycle_layers, silent_reactivation

Z = 1.959963984540054


def wilson_ref(x: int, n: int) -> tuple[float, float]:
    z2 = Z * Z
    centre = (x + z2 / 2) / (n + z2)
    half = Z / (n + z2) * math.sqrt(x * (n - x) / n + z2 / 4)
    return centre - half, centre + half


def d(y: int, m: int, day: int) -> dt.datetime:
    return dt.datetime(y, m, day, 12)


# d = 2024-03-31 (end of 2024Q1). age = d - first_seen day, gap = d - last active day (first day counts).
#   A  first 03-15 (age 16)                                   -> new
#   B  first 01-01, view 03-20 (gap 11)                       -> active
#   C  first 2023-11-01, order 01-31 (gap 60)                 -> silent; interaction 04-15 (d+15) -> back
#   D  first 2023-10-01, view 01-01 (gap 90, edge)            -> silent; view 05-05 (d+35) -> not back
#   E  first 2023-06-01, nothing since (gap 304)              -> churned
#   F  first 2023-12-31, view 03-02 (gap 29, edge)            -> active
#   G  first 04-10 (after d)                                  -> not counted
#   H  first 2023-10-01, view 01-02 (gap 89)                  -> silent; view 04-30 (d+30, edge) -> back
#   I  first 2023-09-01, view 2023-12-31 (gap 91)             -> churned (view 04-02 irrelevant)
#   J  first 03-02 (age 29)                                   -> new
#   K  first 03-01 (age 30, no activity: gap 30)              -> silent
# Layers: new 2 (A, J), active 2 (B, F), silent 4 (C, D, H, K), churned 2 (E, I); 10 users.
# Reactivation: base C, D, H, K (n = 4); back C, H -> 2 / 4.
USERS = pl.DataFrame(
    {
        "user_id": list("ABCDEFGHIJK"),
        "first_seen_at": [d(2024, 3, 15), d(2024, 1, 1), d(2023, 11, 1), d(2023, 10, 1), d(2023, 6, 1),
                          d(2023, 12, 31), d(2024, 4, 10), d(2023, 10, 1), d(2023, 9, 1), d(2024, 3, 2),
                          d(2024, 3, 1)],
        "channel": ["a", "a", "a", "a", "a", "b", "b", "b", "b", "b", "b"],
    }
)  # fmt: skip
VIEWS = pl.DataFrame(
    {
        "user_id": ["B", "D", "D", "F", "H", "H", "I", "I"],
        "started_at": [d(2024, 3, 20), d(2024, 1, 1), d(2024, 5, 5), d(2024, 3, 2), d(2024, 1, 2),
                       d(2024, 4, 30), d(2023, 12, 31), d(2024, 4, 2)],
        "watch_seconds": [60.0] * 8,
    }
)  # fmt: skip
ORDERS = pl.DataFrame(
    {"order_id": [1], "user_id": ["C"], "ordered_at": [d(2024, 1, 31)], "amount": [10.0]}
)
INTERACTIONS = pl.DataFrame({"user_id": ["C"], "at": [d(2024, 4, 15)], "kind": ["like"]})
AS_OF = "2024-06-30"
FRAMES = {"users": USERS, "views": VIEWS, "orders": ORDERS, "interactions": INTERACTIONS}


def test_lifecycle_layers_hand_worked(make_dataset):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    out = lifecycle_layers(ds, at="2024Q1")
    assert out.columns == [
        "metric",
        "segment",
        "period",
        "value",
        "ci_low",
        "ci_high",
        "n",
        "layer",
        "users",
    ]
    assert out.select("layer", "users", "n").rows() == [
        ("new", 2, 10),
        ("active", 2, 10),
        ("silent", 4, 10),
        ("churned", 2, 10),
    ]
    assert out["value"].to_list() == pytest.approx([0.2, 0.2, 0.4, 0.2])
    assert set(out["metric"]) == {"lifecycle_layer_share"} and set(out["period"]) == {"2024Q1"}
    silent = out.filter(pl.col("layer") == "silent").row(0, named=True)
    assert (silent["ci_low"], silent["ci_high"]) == pytest.approx(wilson_ref(4, 10))
    # a date instead of a period: same day, labelled by the date
    same = lifecycle_layers(ds, at=dt.date(2024, 3, 31))
    assert same["users"].to_list() == [2, 2, 4, 2] and set(same["period"]) == {"2024-03-31"}


def test_lifecycle_layers_by_and_windows(make_dataset):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    out = lifecycle_layers(ds, at="2024-03-31", by="channel")
    # a: A new, B active, C and D silent, E churned; b: J new, F active, H and K silent, I churned
    assert out.select("segment", "layer", "users").rows() == [
        ("a", "new", 1), ("a", "active", 1), ("a", "silent", 2), ("a", "churned", 1),
        ("b", "new", 1), ("b", "active", 1), ("b", "silent", 2), ("b", "churned", 1),
    ]  # fmt: skip
    # silent_days=89: D (gap 90) becomes churned; new_days=17: A (age 16) still new, J (29) and K (30) not:
    # J has no activity but day 0 -> gap 29 -> active; K gap 30 -> silent
    out2 = lifecycle_layers(ds, at="2024-03-31", silent_days=89, new_days=17)
    assert out2["users"].to_list() == [1, 3, 3, 3]


def test_silent_reactivation_hand_worked(make_dataset):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    out = silent_reactivation(ds, at="2024Q1")
    row = out.row(0, named=True)
    assert (row["metric"], row["segment"], row["period"], row["n"]) == (
        "silent_reactivation_30d",
        "all",
        "2024Q1",
        4,
    )
    assert row["value"] == pytest.approx(0.5)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(wilson_ref(2, 4))
    # window 40: D's view on d+35 counts too -> 3 / 4
    assert silent_reactivation(ds, at="2024-03-31", window=40)["value"].item() == pytest.approx(
        0.75
    )
    # by channel: a -> C back, D not (1/2); b -> H back, K not (1/2)
    by = silent_reactivation(ds, at="2024Q1", by="channel")
    assert by.select("segment", "value", "n").rows() == [("a", 0.5, 2), ("b", 0.5, 2)]
    # silent band 60..89: C (60), H (89) -> both back
    assert silent_reactivation(ds, at="2024Q1", silent_from=60, silent_to=89).select(
        "value", "n"
    ).row(0) == (1.0, 2)


def test_silent_reactivation_needs_observed_window(make_dataset):
    ds = make_dataset(FRAMES, as_of="2024-04-29")  # d + 30 = 2024-04-30 not observed
    with pytest.raises(ValueError, match="2024-04-30"):
        silent_reactivation(ds, at="2024Q1")
    assert silent_reactivation(ds.with_as_of("2024-04-30"), at="2024Q1")["n"].item() == 4
    with pytest.raises(ValueError, match="as_of"):
        lifecycle_layers(ds, at="2024Q2")


def test_missing_users_table_raises(make_dataset):
    ds = make_dataset(views=VIEWS, as_of=AS_OF)
    with pytest.raises(MissingTableError, match="users"):
        lifecycle_layers(ds, at="2024Q1")


def test_does_not_mutate_input(make_dataset):
    before = {k: v.clone() for k, v in FRAMES.items()}
    ds = make_dataset(FRAMES, as_of=AS_OF)
    lifecycle_layers(ds, at="2024Q1", by="channel")
    silent_reactivation(ds, at="2024Q1")
    for k, v in FRAMES.items():
        assert v.equals(before[k])


def test_lifecycle_layers_at_several_dates_and_by_quarter(make_dataset):
    from insights.metrics._periods import quarter_ends

    ds = make_dataset(FRAMES, as_of=AS_OF)
    both = lifecycle_layers(ds, at=["2024Q1", dt.date(2024, 6, 30)])
    assert both["period"].unique(maintain_order=True).to_list() == ["2024Q1", "2024-06-30"]
    assert both.filter(pl.col("period") == "2024Q1")["users"].to_list() == [2, 2, 4, 2]
    # at 2024-06-30 (hand-worked, see test_transitions): G new? no (age 81) -> silent;
    # silent C (gap 76), D (56), G (81), H (61), I (89); churned A, B, E, F, J, K
    assert both.filter(pl.col("period") == "2024-06-30")["users"].to_list() == [0, 0, 5, 6]
    # quarter ends from E's quarter (2023Q2) to the last one fully observed by as_of (2024Q2)
    first = FRAMES["users"]["first_seen_at"].min()
    ends = quarter_ends(first.date(), ds.as_of.date())
    assert [q.label for q in ends] == ["2023Q2", "2023Q3", "2023Q4", "2024Q1", "2024Q2"]
    byq = lifecycle_layers(ds, at=[q.label for q in ends[2:]])
    assert byq["period"].unique(maintain_order=True).to_list() == ["2023Q4", "2024Q1", "2024Q2"]
    assert byq.filter(pl.col("period") == "2024Q1")["users"].to_list() == [2, 2, 4, 2]
    # 2023-12-31: first seen by then C, D, E, F, H, I. F new (age 0); I active (view that day, gap 0);
    # C (age 60, gap 60) silent, D (91) churned, E (213) churned, H (91) churned
    assert byq.filter(pl.col("period") == "2023Q4")["users"].to_list() == [1, 1, 1, 3]


def test_lifecycle_layers_bad_windows(make_dataset):
    ds = make_dataset(FRAMES, as_of=AS_OF)
    with pytest.raises(ValueError, match="silent_days"):
        lifecycle_layers(ds, at="2024Q1", active_days=60, silent_days=30)
    with pytest.raises(ValueError, match="at must"):
        lifecycle_layers(ds, at=[])
