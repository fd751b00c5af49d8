"""One complete-window rule in the scorecard: the quarter is the cohort, all data observe it.

References are independent of the metric code: hand-worked small worlds, and plain
Polars on the simulator's files.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import insights as ins
from insights.data.load import load_dataset
from insights.kpis import kpi_scorecard

d = dt.datetime


def _row(card: pl.DataFrame, metric: str, quarter: str) -> dict:
    return card.filter((pl.col("metric") == metric) & (pl.col("quarter") == quarter)).row(
        0, named=True
    )


def _world(as_of: str) -> ins.Dataset:
    """Twelve buyers: four first-order in 2024Q3, eight in 2024Q4 (hand-worked below)."""
    firsts = [d(2024, 7, 5), d(2024, 8, 20), d(2024, 9, 25), d(2024, 9, 30)]  # Q3
    firsts += [d(2024, 10, 1), d(2024, 10, 20), d(2024, 11, 1), d(2024, 11, 2)]  # Q4
    firsts += [d(2024, 11, 20), d(2024, 12, 1), d(2024, 12, 15), d(2024, 12, 30)]
    # days to the second order (None: never again)
    again = [30, 61, 59, None, 60, 10, 5, 3, 1, 2, None, None]
    rows = []
    for uid, (first, gap) in enumerate(zip(firsts, again, strict=True), start=1):
        rows.append((uid, first))
        if gap is not None:
            rows.append((uid, first + dt.timedelta(days=gap)))
    orders = pl.DataFrame(
        {
            "order_id": range(len(rows)),
            "user_id": [r[0] for r in rows],
            "ordered_at": [r[1] for r in rows],
            "amount": [10.0] * len(rows),
        }
    )
    users = pl.DataFrame({"user_id": range(1, 13), "first_seen_at": firsts})
    return ins.frames_dataset(users=users, orders=orders, as_of=as_of)


def test_past_quarter_uses_all_data_and_the_current_one_is_provisional() -> None:
    card, notes = kpi_scorecard(_world("2024-12-31"), quarter="2024Q4", min_cell=1)
    q3 = _row(card, "repurchase_60d", "2024Q3")
    # Q3: all four first orders are followed 60 days by Dec 31 (Sep 30 + 60 = Nov 29).
    # Again within 1..60 days: user 1 (30), user 3 (59); user 2 (61) and 4 (never) not: 2/4.
    # (Cut at Sep 30, only user 1 was followed: 1/1, the old artefact.)
    assert (q3["value"], q3["n"], q3["complete"], q3["observed_to"]) == (0.5, 4, True, None)
    q4 = _row(card, "repurchase_60d", "2024Q4")
    # Q4: only first orders to Nov 1 (Nov 1 + 60 = Dec 31) have their window observed:
    # users 5 (day 60: yes), 6 (10: yes), 7 (5: yes) -> 3/3; users 8..12 wait.
    assert (q4["value"], q4["n"], q4["complete"]) == (1.0, 3, False)
    assert q4["observed_to"] == dt.date(2024, 11, 1)
    assert any(
        n.startswith("repurchase_60d 2024Q4: provisional, only starts to 2024-11-01") for n in notes
    )
    # a KPI without a window of a quarter that is over is final
    assert _row(card, "aov", "2024Q4")["complete"] is True


def test_a_later_as_of_completes_the_quarter_and_keeps_final_rows() -> None:
    early, _ = kpi_scorecard(_world("2024-12-31"), quarter="2024Q4", min_cell=1)
    later, _ = kpi_scorecard(_world("2025-03-31"), quarter="2024Q4", min_cell=1)
    q4 = _row(later, "repurchase_60d", "2024Q4")
    # all eight Q4 first orders followed (Dec 30 + 60 = Feb 28): again within 60 days are
    # users 5, 6, 7, 8, 9, 10 -> 6/8
    assert (q4["value"], q4["n"], q4["complete"]) == (0.75, 8, True)
    for metric in ("repurchase_60d", "aov", "repurchase_cycle_median_days"):
        before, after = _row(early, metric, "2024Q3"), _row(later, metric, "2024Q3")
        if before["complete"]:  # a complete row is final: later data never move it
            assert (before["value"], before["n"]) == (after["value"], after["n"])


def test_quarter_not_over_is_provisional_for_every_kpi() -> None:
    card, notes = kpi_scorecard(_world("2024-11-15"), quarter="2024Q4", min_cell=1)
    now = card.filter(pl.col("quarter") == "2024Q4")
    assert now.height and not now["complete"].any()
    assert _row(card, "aov", "2024Q4")["observed_to"] == dt.date(2024, 11, 15)
    assert any("the quarter runs to 2024-12-31, the data to 2024-11-15" in n for n in notes)


def _plain_repurchase(directory, quarter_start: dt.date, quarter_end: dt.date, as_of: dt.date):
    """60-day repurchase of the first-time buyers of a quarter, from the files with plain Polars."""
    orders = pl.read_parquet(directory / "orders.parquet")
    if "refunded" in orders.columns:
        orders = orders.filter(~pl.col("refunded").fill_null(False))
    days = orders.select("user_id", pl.col("ordered_at").dt.date().alias("day")).unique()
    first = days.group_by("user_id").agg(pl.col("day").min().alias("first"))
    cohort = first.filter(pl.col("first").is_between(quarter_start, quarter_end))
    cohort = cohort.filter(pl.col("first") + pl.duration(days=60) <= as_of)
    again = (
        days.join(cohort, on="user_id")
        .filter(
            (pl.col("day") > pl.col("first"))
            & (pl.col("day") <= pl.col("first") + pl.duration(days=60))
        )
        .select("user_id")
        .unique()
    )
    return again.height / cohort.height, cohort.height


def test_scorecard_repurchase_matches_plain_polars_on_the_files(sim_dir) -> None:
    ds = load_dataset(sim_dir)
    as_of = ds.as_of.date()
    card, _ = kpi_scorecard(ds, quarter="2024Q3", compare_to="2024Q2")
    q2 = _row(card, "repurchase_60d", "2024Q2")
    value, n = _plain_repurchase(sim_dir, dt.date(2024, 4, 1), dt.date(2024, 6, 30), as_of)
    assert q2["n"] == n and q2["value"] == pytest.approx(value, abs=1e-12) and q2["complete"]
    card, _ = kpi_scorecard(ds, quarter="2024Q4")
    q4 = _row(card, "repurchase_60d", "2024Q4")
    value, n = _plain_repurchase(sim_dir, dt.date(2024, 10, 1), dt.date(2024, 12, 31), as_of)
    assert q4["n"] == n and q4["value"] == pytest.approx(value, abs=1e-12)
    assert q4["complete"] is False and q4["observed_to"] == as_of - dt.timedelta(days=60)
