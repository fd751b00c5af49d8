"""Scorecard with targets, alerts and key findings, on a hand-made scorecard."""

from __future__ import annotations

import polars as pl
import pytest

import insights as ins
from insights.narrative import AlertRule, Target, default_alert_rules, default_targets
from insights.narrative.compare import Z95

SCHEMA = {
    "metric": pl.String,
    "segment": pl.String,
    "quarter": pl.String,
    "value": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "n": pl.Int64,
    "suppressed": pl.Boolean,
}


def _row(metric: str, quarter: str, value: float | None, se: float | None, n: int | None) -> dict:
    lo = None if se is None or value is None else value - Z95 * se
    hi = None if se is None or value is None else value + Z95 * se
    return {
        "metric": metric,
        "segment": "all",
        "quarter": quarter,
        "value": value,
        "ci_low": lo,
        "ci_high": hi,
        "n": n,
        "suppressed": n is None or n < 10,
    }


def scorecard(other: str = "2024Q3", **overrides: tuple) -> pl.DataFrame:
    spec = {
        # metric: (now, prev, se, n)
        "retention_d7": (0.43, 0.50, 0.01, 2000),  # big significant drop (−14% relative)
        "retention_d30": (0.35, 0.36, 0.01, 2000),  # small, not significant
        "active_90d": (0.40, 0.44, 0.005, 3000),  # significant drop (−9%)
        "interaction_rate": (0.36, 0.35, 0.002, 5000),  # significant rise (+2.9%)
        "aov": (150.0, 120.0, 5.0, 2000),  # significant rise (+25%)
        "repurchase_60d": (0.9, 0.1, 0.05, 8),  # huge change but a small cell
        "cac": (160.0, 140.0, None, 1600),  # no CI: never "significant"
    } | overrides
    rows = []
    for metric, (now, prev, se, n) in spec.items():
        rows += [_row(metric, "2024Q4", now, se, n), _row(metric, other, prev, se, n)]
    return pl.DataFrame(rows, schema=SCHEMA)


def test_default_targets_and_alerts_come_from_the_documents() -> None:
    targets = {t.metric: t for t in default_targets()}
    assert targets["retention_d30"].value == pytest.approx(0.60)
    assert targets["retention_d7"].value == pytest.approx(0.50)
    assert targets["silent_reactivation_30d"].value == pytest.approx(0.40)
    assert targets["repurchase_90d"].value == pytest.approx(0.30)
    assert targets["cac"].value == pytest.approx(-0.20) and targets["cac"].relative_to == "year_ago"
    assert all(t.seed.startswith("000_") and t.section == "1.3" for t in targets.values())
    (rule,) = default_alert_rules()
    assert (rule.metric, rule.threshold, rule.below, rule.section) == (
        "retention_d7",
        pytest.approx(0.45),
        True,
        "5.2",
    )


def test_kpi_summary_columns_changes_and_targets() -> None:
    prev, year = scorecard(), scorecard("2023Q4", cac=(160.0, 200.0, None, 1600))
    out = ins.kpi_summary(prev, year_ago=year, quarter="2024Q4")
    assert out["metric"].to_list() == list(dict.fromkeys(prev["metric"]))
    d7 = out.row(0, named=True)
    assert d7["previous_quarter"] == "2024Q3" and d7["year_ago_quarter"] == "2023Q4"
    assert d7["change_previous"] == pytest.approx(-0.07) and d7["p_previous"] < 0.001
    assert d7["target"] == pytest.approx(0.5) and d7["target_met"] is False
    cac = out.filter(pl.col("metric") == "cac").row(0, named=True)
    assert cac["target"] == pytest.approx(160.0)  # 20% below the year-ago 200
    assert cac["target_met"] is True and cac["p_previous"] is None
    assert out.filter(pl.col("metric") == "aov")["target"].to_list() == [None]


def test_kpi_summary_needs_exactly_one_comparison_quarter() -> None:
    both = pl.concat([scorecard(), scorecard("2023Q4").filter(pl.col("quarter") == "2023Q4")])
    with pytest.raises(ValueError, match="one comparison quarter"):
        ins.kpi_summary(both, quarter="2024Q4")


def test_table_scorecard_hides_small_cells_and_marks_significance() -> None:
    out = ins.kpi_summary(scorecard(), quarter="2024Q4")
    table = ins.table_scorecard(out, lang="en")
    assert table.columns[:4] == ["Metric", "2024Q4", "95% CI", "2024Q3"]
    rows = {r[0]: r for r in table.rows()}
    assert rows["D7 retention"][1] == "43.0%" and rows["D7 retention"][4].endswith("***")
    assert rows["D7 retention"][5] == "50.0% ✗"  # no year-ago quarter: its two columns are left out
    assert rows["60-day repurchase rate"][1:] == ("<10", "–", "–", "–", "–")
    assert not rows["CAC"][4].endswith("*")
    zh = ins.table_scorecard(out, lang="zh")
    assert zh.columns[0] == "指标" and "7日留存" in zh[:, 0].to_list()


def test_describe_alerts_fire_on_thresholds_and_cac_above_aov() -> None:
    sc = scorecard()
    lines = ins.describe_alerts(sc, quarter="2024Q4", lang="en")
    assert lines[0] == (
        "Alert: D7 retention is 43.0%, below the 45.0% alert line (Growth & Retention Strategy Report §5.2)."
    )
    assert lines[1].startswith("Alert: CAC (¥160.0) is above AOV (¥150.0)")
    calm = scorecard(retention_d7=(0.56, 0.55, 0.01, 2000), cac=(100.0, 90.0, None, 1600))
    assert ins.describe_alerts(calm, quarter="2024Q4", lang="zh") == ["本季度无预警。"]
    custom = [AlertRule("interaction_rate", 0.40, True, "001_x.txt", "3.3.3")]
    assert ins.describe_alerts(calm, rules=custom, quarter="2024Q4", lang="en") == [
        "Interaction participation rate is 36.0%, short of the 40.0% target (Interaction Strategy Study §3.3.3)."
    ]


def test_describe_alerts_never_use_small_cells() -> None:
    sc = scorecard(retention_d7=(0.30, 0.50, 0.01, 5))
    assert not any("D7" in line for line in ins.describe_alerts(sc, quarter="2024Q4", lang="en"))


def test_describe_findings_pick_the_largest_significant_changes() -> None:
    lines = ins.describe_findings(scorecard(), quarter="2024Q4", lang="en")
    # significant: AOV +25%, D7 −14%, activity −9%, interaction +2.9%; repurchase (n=8) never; CAC has no test
    assert len(lines) == 4
    assert lines[0].startswith("AOV was ¥150.0") and "significant" in lines[0]
    assert lines[1].startswith("D7 retention was 43.0%")
    assert lines[2].startswith("90-day activity was 40.0%")
    assert lines[3].startswith("Interaction participation rate was 36.0%")
    assert not any("60-day repurchase" in line for line in lines)
    assert len(ins.describe_findings(scorecard(), quarter="2024Q4", lang="en", max_findings=3)) == 3


def test_describe_findings_top_up_with_non_significant_changes_and_say_so() -> None:
    quiet = scorecard(
        **{
            m: (0.35, 0.351, 0.02, 2000) for m in ("retention_d7", "active_90d", "interaction_rate")
        },
        aov=(121.0, 120.0, 5.0, 2000),
    )
    lines = ins.describe_findings(quiet, quarter="2024Q4", lang="en")
    assert lines[0] == "No KPI changed significantly between 2024Q3 and 2024Q4."
    assert len(lines) == 4 and all("not significant" in x or "not assessed" in x for x in lines[1:])


def test_relative_targets_in_a_custom_list() -> None:
    out = ins.kpi_summary(
        scorecard(),
        year_ago=scorecard("2023Q4"),
        quarter="2024Q4",
        targets=[Target("aov", 0.10, "x", "1", relative_to="year_ago")],
    )
    assert out.filter(pl.col("metric") == "aov")["target"][0] == pytest.approx(132.0)


def test_table_scorecard_when_the_comparison_is_the_year_ago_quarter() -> None:
    year = scorecard("2023Q4")
    table = ins.table_scorecard(ins.kpi_summary(year, year_ago=year, quarter="2024Q4"), lang="en")
    assert table.columns[3] == "2023Q4" and table.columns[5] == "Same quarter last year"


def test_a_comparison_quarter_the_data_do_not_hold_leaves_its_columns_out() -> None:
    """First quarter of the data: no comparison quarter, no year-ago quarter, one KPI with nobody."""
    card = pl.DataFrame(
        {
            "metric": ["aov", "retention_d7"],
            "segment": ["all", "all"],
            "quarter": ["1997Q1", "1997Q1"],
            "value": [36.9, None],
            "ci_low": [35.8, None],
            "ci_high": [38.0, None],
            "n": [900, 0],
        }
    )
    summary = ins.kpi_summary(card, quarter="1997Q1", year_ago=card)
    assert summary["previous_quarter"].is_null().all() and summary["year_ago"].is_null().all()
    table = ins.table_scorecard(summary, lang="en")
    assert table.columns == ["Metric", "1997Q1", "95% CI", "Target"]
    rows = {r[0]: r for r in table.rows()}
    assert rows["D7 retention"][1] == "–"  # nobody in scope: nothing to hide, nothing to show
    findings = ins.describe_findings(card, quarter="1997Q1", lang="en")
    assert findings and findings[0].startswith("AOV was ¥36.9")  # values without a change
