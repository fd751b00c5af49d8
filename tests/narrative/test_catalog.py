"""The zh and en catalogs say the same things: same keys, same placeholders, every id named."""

from __future__ import annotations

import string

import pytest

from insights.narrative import (
    caption,
    catalog,
    chapter_title,
    heading,
    message,
    metric_label,
    unit_label,
    value_label,
)
from insights.narrative.catalog import check_lang
from insights.narrative.playbook import PLAYBOOK
from insights.narrative.registry import METRICS


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_zh_and_en_have_the_same_keys() -> None:
    en, zh = catalog("en"), catalog("zh")
    assert set(en) == set(zh), sorted(set(en) ^ set(zh))
    assert len(en) > 200


def test_zh_and_en_messages_use_the_same_placeholders() -> None:
    en, zh = catalog("en"), catalog("zh")
    different = {k for k in en if _fields(en[k]) != _fields(zh[k])}
    assert not different


def test_every_registered_metric_has_a_name_in_both_languages() -> None:
    for lang in ("en", "zh"):
        missing = [m for m in METRICS if metric_label(m, lang=lang) == m]
        assert not missing, (lang, missing)


def test_every_unit_of_the_calibration_targets_has_a_name_in_both_languages() -> None:
    from insights.calibration import load_targets

    units = {row["unit"] for row in load_targets()}
    assert "pct" in units
    for lang in ("en", "zh"):
        missing = [u for u in units if f"unit_name.{u}" not in catalog(lang)]
        assert not missing, (lang, missing)
    assert unit_label("pct", lang="en") == "%" and unit_label("yuan", lang="zh") == "元"


def test_zh_texts_are_chinese_and_en_texts_are_not() -> None:
    def cjk(text: str) -> bool:
        return any("\u4e00" <= ch <= "\u9fff" for ch in text)

    assert cjk(metric_label("retention_d30", lang="zh"))
    assert not any(cjk(v) for v in catalog("en").values())


def test_playbook_strategies_gaps_and_effects_are_in_the_catalogs() -> None:
    for play in PLAYBOOK:
        for lang in ("en", "zh"):
            assert message(f"strategy.{play.strategy}", lang=lang)
            assert message(f"gap.{play.gap}", lang=lang)
            assert "{value}" in catalog(lang)[f"effect.{play.strategy}.{play.gap}"]


def test_patterns_titles_headings_and_captions() -> None:
    assert metric_label("retention_d14", lang="zh") == "14日留存"
    assert metric_label("repurchase_90d", lang="en") == "90-day repurchase rate"
    assert metric_label("not_a_metric", lang="en") == "not_a_metric"
    assert value_label("gen_z", lang="zh") == "Z世代" and value_label("xyz", lang="zh") == "xyz"
    assert [chapter_title(i, lang="en") for i in (0, 7)] == [
        "Executive summary",
        "Strategy effects",
    ]
    assert chapter_title("02", lang="zh") == "用户留存"
    assert heading("alerts", lang="en", level=3) == "### Alerts"
    assert caption("fig-km-new-users", lang="en").startswith("Retention")
    assert caption("fig-unknown", lang="en", default="x") == "x"
    with pytest.raises(KeyError):
        caption("fig-unknown", lang="en")
    with pytest.raises(ValueError, match="chapter must be 0-8"):
        chapter_title(9, lang="en")


def test_bad_language_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"lang must be one of \('zh', 'en'\)"):
        check_lang("fr")
    with pytest.raises(ValueError, match="lang must be one of"):
        message("sig.significant", lang="de", p="p = 0.1")
    with pytest.raises(KeyError, match="no message"):
        message("no.such.key", lang="en")
