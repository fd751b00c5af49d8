"""Fonts: a missing font or glyph is an error that says what to install."""

from __future__ import annotations

import pytest

from insights.report._typst import FontError, check_glyphs, compile_pdf, typst_string


def test_chinese_and_symbols_are_drawable():
    check_glyphs("留存率 35.0%（95% CI 34.2–35.8%）✓ ≥ × → “quoted”")


def test_a_character_no_font_has_fails(monkeypatch):
    import insights.report._typst as module

    keep = (module.BODY_FONT, module.HEADING_FONT, "DejaVu Sans")
    fonts = tuple(f for f in module._fonts() if f[0] in keep)
    monkeypatch.setattr(module, "_fonts", lambda: fonts)  # the fallback scan stays short
    with pytest.raises(FontError, match=r"U\+13000 .*apt-get install fonts-noto-cjk"):
        check_glyphs("hieroglyph \U00013000")


def test_unknown_font_warning_fails_and_leaves_no_pdf(tmp_path):
    main = tmp_path / "main.typ"
    main.write_text('#set text(font: "No Such Font")\nHello', encoding="utf-8")
    with pytest.raises(FontError, match="unknown font family: no such font.*fonts-noto-cjk"):
        compile_pdf(main, tmp_path / "out.pdf", root=tmp_path)
    assert not (tmp_path / "out.pdf").exists()


def test_typst_string_escapes():
    assert typst_string('a "b" \\ c\nd') == '"a \\"b\\" \\\\ c\\nd"'
