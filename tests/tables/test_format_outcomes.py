"""Experiment outcome tables (``experiment_effects(...).summary``): named headers and units per outcome."""

from __future__ import annotations

import polars as pl
import pytest

from insights.tables import format_table, table_frame

OUTCOMES = pl.DataFrame(
    {
        "experiment": ["comment_vs_danmaku_lottery"] * 3,
        "outcome": ["retention_d7", "aov", "order_90d"],
        "arm": ["comment_lottery", "comment_lottery", "comment_lottery"],
        "n_arm": [328, 26, 5],
        "n_control": [367, 18, 300],
        "value_arm": [0.5823, 89.27, 0.33],
        "value_control": [0.5313, 71.447, 0.1],
        "difference": [0.051, 17.823, 0.2],
        "ci_low": [-0.0234, -15.02, 0.1],
        "ci_high": [0.1251, 50.666, 0.3],
        "p_adjusted": [1.0, 0.0004, 0.01],
        "mde": [0.106, 43.763, 0.07],
    }
)


def test_outcome_table_in_english_names_every_column_and_uses_the_outcome_unit() -> None:
    text = format_table(OUTCOMES, lang="en", n_cols=("n_arm", "n_control"), digits=3)
    assert text.splitlines()[0] == (
        "| Experiment | Outcome | Arm | n (arm) | n (control) | Arm value | Control value | Difference"
        " | 95% CI | p (Holm) | MDE |"
    )
    # rates in % and their differences in points; AOV in yuan; p as fmt_p writes it: "<0.001", ">0.99"
    assert (
        "| D7 retention | Comment lottery | 328 | 367 | 58.2% | 53.1% | +5.1 points | −2.3 – 12.5 points | >0.99 | 10.6 points |"
        in text
    )
    assert (
        "| AOV | Comment lottery | 26 | 18 | ¥89.3 | ¥71.4 | +¥17.8 | ¥−15.0 – 50.7 | <0.001 | ¥43.8 |"
        in text
    )
    # an arm under min_cell hides every number of its row (the control's n is hidden, not small)
    assert "| 90-day order rate | Comment lottery | <10 | – | – | – | – | – | – | – |" in text


def test_outcome_table_in_chinese_has_no_raw_column_names() -> None:
    shown = table_frame(OUTCOMES, lang="zh", n_cols=("n_arm", "n_control"))
    assert shown.columns == [
        "实验", "结果指标", "实验组别", "实验组样本数", "对照组样本数", "实验组数值", "对照组数值",
        "差异", "95%置信区间", "p值（Holm校正）", "最小可检测差异",
    ]  # fmt: skip
    assert shown.row(0)[1] == "7日留存" and shown.row(0)[7] == "+5.1个百分点"
    assert shown.row(1)[5] == "89.3元"
    assert not any("_" in c for c in shown.columns)


def test_explicit_kinds_still_win_over_the_metric_unit() -> None:
    frame = pl.DataFrame(
        {"metric": ["retention_d30"], "value": [36.4], "difference": [-23.6], "n": [100]}
    )
    shown = table_frame(frame, lang="en", kinds={"value": "index", "difference": "index"})
    assert shown.row(0) == ("D30 retention", "36.4", "−23.6", "100")


def test_two_columns_under_one_header_are_refused() -> None:
    frame = pl.DataFrame({"p": [0.5], "p_value": [0.4]})  # both are "p"
    with pytest.raises(ValueError, match="share the header"):
        table_frame(frame, lang="en")
    assert table_frame(frame, lang="en", labels={"p_value": "p (raw)"}).columns == ["p", "p (raw)"]
