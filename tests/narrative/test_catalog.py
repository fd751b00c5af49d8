"""The zh and en catalogs say the same things: same keys, same placeholders, every id named."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

import insights as ins
from insights._registry import METRICS
from insights.narrative import catalog
from insights.narrative.catalog import check_lang
from insights.narrative.playbook import PLAYBOOK


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
        ids = [info.id(**dict.fromkeys(info.fields, 30)) for info in METRICS.values()]
        missing = [m for m in ids if ins.text_metric(m, lang=lang) == m]
        assert not missing, (lang, missing)
        # a family's name fills every field of its template
        for template, info in METRICS.items():
            assert _fields(catalog(lang)[f"metric.{template}"]) == set(info.fields), template


def test_every_unit_of_the_calibration_targets_has_a_name_in_both_languages() -> None:
    from insights.calibration import load_targets

    units = {row["unit"] for row in load_targets()}
    assert "pct" in units
    for lang in ("en", "zh"):
        missing = [u for u in units if f"unit_name.{u}" not in catalog(lang)]
        assert not missing, (lang, missing)
    assert ins.text_unit("pct", lang="en") == "%" and ins.text_unit("yuan", lang="zh") == "元"


def test_zh_texts_are_chinese_and_en_texts_are_not() -> None:
    def cjk(text: str) -> bool:
        return any("\u4e00" <= ch <= "\u9fff" for ch in text)

    assert cjk(ins.text_metric("retention_d30", lang="zh"))
    assert not any(cjk(v) for v in catalog("en").values())


def test_playbook_strategies_gaps_and_effects_are_in_the_catalogs() -> None:
    for play in PLAYBOOK:
        for lang in ("en", "zh"):
            assert ins.text_message(f"strategy.{play.strategy}", lang=lang)
            assert ins.text_message(f"gap.{play.gap}", lang=lang)
            assert "{value}" in catalog(lang)[f"effect.{play.strategy}.{play.gap}"]


def test_patterns_titles_headings_and_captions() -> None:
    assert ins.text_metric("retention_d14", lang="zh") == "14日留存"
    assert ins.text_metric("repurchase_90d", lang="en") == "90-day repurchase rate"
    assert ins.text_metric("not_a_metric", lang="en") == "not_a_metric"
    assert (
        ins.text_segment("gen_z", lang="zh") == "Z世代"
        and ins.text_segment("xyz", lang="zh") == "xyz"
    )
    assert [ins.text_chapter(i, lang="en") for i in (0, 7)] == [
        "Executive summary",
        "Strategy effects",
    ]
    assert ins.text_chapter("02", lang="zh") == "用户留存"
    assert ins.text_heading("alerts", lang="en", level=3) == "### Alerts"
    assert ins.text_caption("fig-km-new-users", lang="en").startswith("Retention")
    assert ins.text_caption("fig-unknown", lang="en", default="x") == "x"
    with pytest.raises(KeyError):
        ins.text_caption("fig-unknown", lang="en")
    with pytest.raises(ValueError, match="chapter must be 0-8"):
        ins.text_chapter(9, lang="en")


def test_bad_language_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"lang must be one of \('zh', 'en'\)"):
        check_lang("fr")
    with pytest.raises(ValueError, match="lang must be one of"):
        ins.text_message("sig.significant", lang="de", p="p = 0.1")
    with pytest.raises(KeyError, match="no message"):
        ins.text_message("no.such.key", lang="en")


def test_no_python_file_holds_chinese_text() -> None:
    """Every Chinese word a reader sees comes from catalog_zh.yaml, never from code."""
    package = Path(__file__).resolve().parents[2] / "src" / "insights"
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any("\u4e00" <= ch <= "\u9fff" for ch in line)
    ]
    assert not offenders, offenders
