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
