"""Sentences and the scorecard at the edges of the data: not yet observable, partial quarters."""

from __future__ import annotations

import polars as pl

import insights as ins
from insights.narrative.compare import Z95

D60 = {"metric": "retention_d60", "segment": "all", "period": "2024Q4", "value": None,
       "ci_low": None, "ci_high": None, "n": 53, "day": 60, "at_risk": 0, "status": "not_observed"}  # fmt: skip


def test_a_value_nobody_was_followed_through_is_not_a_number() -> None:
    # at_risk 0 < min_cell would be "fewer than 10 users": the honest reason comes first
    assert ins.describe_value(D60, lang="en") == (
        "D60 retention: not yet observable (nobody followed to day 60)."
    )
    assert (
        ins.describe_value(D60, lang="zh") == "60日留存：尚无法观测（还没有用户被跟踪到第60天）。"
    )
    # the day is read from the id when the row has no ``day``
    repurchase = {"metric": "repurchase_90d", "segment": "all", "value": None, "n": 0,
                  "status": "not_observed"}  # fmt: skip
    assert ins.describe_value(repurchase, lang="en") == (
        "90-day repurchase rate: not yet observable (nobody followed to day 90)."
    )
    assert ins.describe_value(pl.DataFrame([D60]), lang="en").startswith("D60 retention: not yet")


def test_a_change_from_or_to_a_value_not_observed() -> None:
    prev = {**D60, "period": "2024Q3", "value": 0.2, "ci_low": 0.15, "ci_high": 0.25,
            "at_risk": 30, "status": "observed"}  # fmt: skip
    assert ins.describe_change(D60, previous=prev, lang="en") == (
        "D60 retention: not yet observable (nobody followed to day 60)."
    )
    # the later value stands alone when the earlier one was not observed
    assert ins.describe_change({**prev, "period": "2024Q4"}, previous=D60, lang="en") == (
        "D60 retention was 20.0% (95% CI 15.0–25.0%; n = 53)."
    )


Q1 = {"metric": "new_users", "segment": "all", "period": "2018Q1", "value": 37.0,
      "ci_low": None, "ci_high": None, "n": 37, "partial": True}  # fmt: skip
Q4 = {**Q1, "period": "2017Q4", "value": 1120.0, "n": 1120, "partial": False}


def test_a_partial_quarter_gets_no_growth_figure() -> None:
    # without the flag one day of 2018Q1 reads as a 96.7% fall
    plain = ins.describe_change({**Q1, "partial": None}, previous=Q4, lang="en")
    assert "96.7%" in plain
    assert ins.describe_change(Q1, previous=Q4, lang="en") == (
        "New users, 2018Q1: 37; not compared, as the data cover only part of 2018Q1."
    )
    assert ins.describe_change(Q1, previous=Q4, lang="zh") == (
        "新用户数（2018Q1）：37；数据只覆盖2018Q1的一部分（季度数据不完整），不作比较。"
    )
    # the earlier quarter partial: the later value, and which quarter is partial
    q2 = {**Q1, "period": "2018Q2", "value": 1200.0, "n": 1200, "partial": False}
    assert ins.describe_change(q2, previous=Q1, lang="en") == (
        "New users, 2018Q2: 1,200; not compared, as the data cover only part of 2018Q1."
    )
    assert ins.describe_change(q2, previous=Q1, previous_label="last quarter", lang="en").endswith(
        "only part of last quarter."
    )
    # a growth rate with a partial base has no value: the sentence says why
    rate = {"metric": "new_users_qoq", "segment": "all", "period": "2018Q2", "value": None,
            "n": 1200, "partial": True}  # fmt: skip
    assert ins.describe_change(rate, previous={**rate, "period": "2018Q1"}, lang="en") == (
        "New users, change on the previous quarter: not compared, as the data cover only part "
        "of 2018Q2, 2018Q1."
    )


def _card() -> pl.DataFrame:
    se = 0.01
    rows = []
    for q, d7, d60, status in (
        ("2024Q4", 0.30, None, "not_observed"),
        ("2024Q3", 0.50, 0.2, "observed"),
    ):
        rows += [
            {"metric": "retention_d7", "quarter": q, "value": d7, "n": 2000, "status": "observed"},
            {"metric": "retention_d60", "quarter": q, "value": d60, "n": 2000, "status": status},
        ]
    frame = pl.DataFrame(rows).with_columns(
        segment=pl.lit("all"),
        ci_low=pl.col("value") - Z95 * se,
        ci_high=pl.col("value") + Z95 * se,
        suppressed=pl.lit(False),
    )
    return frame.select("metric", "segment", "quarter", "value", "ci_low", "ci_high", "n",
                        "status", "suppressed")  # fmt: skip


def test_scorecard_shows_not_yet_observable_and_keeps_it_out_of_findings_and_alerts() -> None:
    card = _card()
    summary = ins.kpi_summary(card, quarter="2024Q4")
    d60 = summary.filter(pl.col("metric") == "retention_d60").row(0, named=True)
    assert (d60["status"], d60["previous_status"], d60["change_previous"]) == (
        "not_observed",
        "observed",
        None,
    )
    rows = {r[0]: r for r in ins.table_scorecard(summary, lang="en").rows()}
    # no year-ago quarter in the data: its columns are left out
    assert rows["D60 retention"][1:] == ("not yet observable", "–", "20.0%", "–", "–")
    assert rows["D7 retention"][1] == "30.0%"
    zh = {r[0]: r for r in ins.table_scorecard(summary, lang="zh").rows()}
    assert zh["60日留存"][1] == "尚无法观测"
    # the comparison quarter not observed: its cell says so, no change
    flipped = ins.kpi_summary(card.with_columns(
        pl.when(pl.col("quarter") == "2024Q4").then(pl.lit("2024Q3")).otherwise(pl.lit("2024Q4")).alias("quarter")
    ), quarter="2024Q4")  # fmt: skip
    back = {r[0]: r for r in ins.table_scorecard(flipped, lang="en").rows()}
    assert back["D60 retention"][1:5] == ("20.0%", "18.0–22.0%", "not yet observable", "–")
    findings = ins.describe_findings(card, quarter="2024Q4", lang="en")
    assert findings and not any("D60" in f for f in findings)
    # a stale value on a not-observed row is never used: no finding, no alert
    stale = card.with_columns(
        pl.when(pl.col("status") == "not_observed")
        .then(0.01)
        .otherwise(pl.col("value"))
        .alias("value")
    )
    assert not any("D60" in f for f in ins.describe_findings(stale, quarter="2024Q4", lang="en"))
    d7_unseen = stale.with_columns(
        pl.when(pl.col("metric") == "retention_d7")
        .then(pl.lit("not_observed"))
        .otherwise("status")
        .alias("status")
    )
    rule = ins.narrative.AlertRule("retention_d7", 0.45, True, "000_x", "5.2")
    assert ins.describe_alerts(d7_unseen, quarter="2024Q4", rules=[rule], lang="en") == (
        ins.describe_alerts(d7_unseen.filter(pl.col("metric") != "retention_d7"), quarter="2024Q4",
                            rules=[rule], lang="en")
    )  # fmt: skip


def test_a_scorecard_without_status_reads_as_before() -> None:
    card = _card().drop("status")
    summary = ins.kpi_summary(card, quarter="2024Q4")
    assert summary["status"].to_list() == [None, None]
    rows = {r[0]: r for r in ins.table_scorecard(summary, lang="en").rows()}
    assert rows["D60 retention"][1:] == ("–",) * 5  # no year-ago quarter: two columns fewer
