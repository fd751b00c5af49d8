"""The scorecard at the edge of the data: windows nobody has been followed through."""

from __future__ import annotations

import datetime as dt

import polars as pl

import insights as ins
from insights.kpis import kpi_scorecard

d = dt.datetime


def test_a_kpi_nobody_was_followed_through_is_a_status_and_a_note_not_a_small_cell() -> None:
    # twelve buyers of 2024Q4 first order on 2024-12-02: nobody is followed 60 days by
    # 2024-12-31, so the repurchase rate has n = 0 followed buyers (nobody to hide, no number)
    users = pl.DataFrame({"user_id": range(12), "first_seen_at": [d(2024, 12, 1)] * 12})
    orders = pl.DataFrame(
        {"order_id": range(12), "user_id": range(12), "ordered_at": [d(2024, 12, 2)] * 12,
         "amount": [10.0] * 12}
    )  # fmt: skip
    ds = ins.frames_dataset(users=users, orders=orders, as_of="2024-12-31")
    card, notes = kpi_scorecard(ds, quarter="2024Q4")
    rep = card.filter((pl.col("metric") == "repurchase_60d") & (pl.col("quarter") == "2024Q4"))
    assert rep.select("value", "n", "status", "suppressed").row(0) == (
        None,
        0,
        "not_observed",
        False,
    )
    assert "repurchase_60d 2024Q4: not yet observable (nobody followed through the window)" in notes
    aov = card.filter((pl.col("metric") == "aov") & (pl.col("quarter") == "2024Q4"))
    assert aov.select("value", "status").row(0) == (10.0, None)  # no window: no status
    table = ins.table_scorecard(ins.kpi_summary(card, quarter="2024Q4"), lang="en")
    rows = {r[0]: r for r in table.rows()}
    assert rows["60-day repurchase rate"][1] == "not yet observable"
    assert not any(
        "60-day repurchase" in f for f in ins.describe_findings(card, quarter="2024Q4", lang="en")
    )


def test_orders_only_data_leave_out_kpis_they_cannot_give_a_meaning_to() -> None:
    """Users derived from orders: conversion is 100% by construction; orders-only activity: no idle-gap retention."""
    orders = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 3],
            "ordered_at": [dt.datetime(2024, m, d) for m, d in ((1, 5), (2, 9), (1, 20), (3, 2))],
            "amount": [10.0, 20.0, 30.0, 40.0],
        }
    )
    ds = ins.load_dataset(orders=orders, as_of="2024-06-30")
    card, notes = ins.kpi_scorecard(ds, quarter="2024Q2", min_cell=1)
    shown = set(card["metric"])
    assert not shown & {"first_purchase_30d", "retention_d7", "retention_d30", "retention_d60"}
    assert "aov" in shown
    assert any(n.startswith("first_purchase_30d: not shown") for n in notes)
    # a churn gap chosen for the data brings the retention KPIs back
    card, _ = ins.kpi_scorecard(ins.load_dataset(orders=orders, as_of="2024-06-30", churn_gap=60),
                                quarter="2024Q2", min_cell=1)  # fmt: skip
    assert "retention_d30" in set(card["metric"]) and "first_purchase_30d" not in set(
        card["metric"]
    )
