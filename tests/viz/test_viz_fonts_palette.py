"""CJK font lookup, the group palette and the label catalog."""

from __future__ import annotations

import polars as pl
import pytest
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

from insights.viz import _fonts
from insights.viz._labels import LABELS, check_lang, label
from insights.viz._palette import ALL_COLOUR, BASE_COLOURS, group_palette
from insights.viz.survival import plot_survival


def test_cjk_font_has_every_chinese_label_glyph():
    family = _fonts.cjk_font()
    path = font_manager.findfont(
        font_manager.FontProperties(family=family), fallback_to_default=False
    )
    font = FT2Font(path)
    chars = {ch for text in LABELS["zh"].values() for ch in text if ord(ch) > 0x2E80}
    assert chars and all(font.get_char_index(ord(ch)) for ch in chars)


def test_missing_cjk_font_gives_a_clear_error(monkeypatch):
    monkeypatch.setattr(_fonts, "CJK_FAMILIES", ("No Such Font CJK",))
    monkeypatch.setattr(_fonts, "_register_system_cjk_files", lambda: None)
    monkeypatch.setattr(_fonts, "_symbol_font", lambda: None)  # no emoji font either
    _fonts.cjk_font.cache_clear()
    try:
        with pytest.raises(_fonts.MissingFontError, match="fonts-noto-cjk"):
            _fonts.cjk_font()
        table = pl.DataFrame(
            {"t": [0, 5], "survival": [1.0, 0.5], "ci_low": [1.0, 0.3], "ci_high": [1.0, 0.7],
             "at_risk": [20, 20], "events": [0, 10], "censored": [0, 0]}
        )  # fmt: skip
        with pytest.raises(_fonts.MissingFontError, match="lang='zh'"):
            plot_survival(table, lang="zh")
        assert _fonts.font_families("en") is None  # English still works without it
    finally:
        _fonts.cjk_font.cache_clear()


def test_group_palette_is_order_independent_and_stable():
    assert group_palette(["b", "a", "c", "a"]) == group_palette(["c", "b", "a"])
    palette = group_palette(["b", "a"])
    assert list(palette) == ["a", "b"] and palette["a"] == BASE_COLOURS[0].lower()
    assert group_palette(["all"]) == {"all": ALL_COLOUR}
    many = group_palette([f"g{i:02d}" for i in range(14)])
    assert len(set(many.values())) == 14  # distinct colours beyond the first six
    assert group_palette(["a", "b"], {"b": "red"}) == {"a": BASE_COLOURS[0].lower(), "b": "#ff0000"}
    assert group_palette(["a", "b"], ["#111111", "#222222"]) == {"a": "#111111", "b": "#222222"}
    assert len(set(group_palette(["a", "b", "c"], "viridis").values())) == 3
    with pytest.raises(ValueError, match="colormap"):
        group_palette(["a"], "not-a-cmap")


def test_label_catalog_is_complete_in_both_languages():
    assert set(LABELS["en"]) == set(LABELS["zh"])
    assert label("at_risk", "zh") == "风险人数"
    assert label("hidden_groups", "zh", k=2, m=10) == "2 个分组未显示（少于 10 人，或为保护小分组）"
    with pytest.raises(ValueError, match="lang must be one of"):
        check_lang("jp")


def test_an_emoji_in_a_label_is_drawn_or_boxed_never_an_error():
    """A name from data with an emoji: drawn with the symbol font when installed (issue 16)."""
    import io
    import warnings

    import matplotlib.pyplot as plt

    with warnings.catch_warnings(record=True) as caught, _fonts.font_context("en"):
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.set_title("arm \U0001f389 $x^2$", parse_math=False)
        fig.savefig(io.BytesIO(), format="png")
        plt.close(fig)
    missing = [w for w in caught if "missing from font" in str(w.message)]
    assert not missing or _fonts._symbol_font() is None, missing
