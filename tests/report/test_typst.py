"""Fonts: a missing font is an error that says what to install; a missing glyph a placeholder.

The compiler is sandboxed: no package downloads, no file outside the render folder."""

from __future__ import annotations

import pytest

from insights.report._errors import RenderError
from insights.report._typst import FontError, check_glyphs, compile_pdf, typst_string


def test_chinese_and_symbols_are_drawable():
    check_glyphs("留存率 35.0%（95% CI 34.2–35.8%）✓ ≥ × → “quoted”")


def test_a_character_no_font_has_becomes_a_placeholder(monkeypatch, tmp_path):
    import insights.report._typst as module

    keep = (module.BODY_FONT, module.HEADING_FONT, "DejaVu Sans")
    fonts = tuple(f for f in module._fonts() if f[0] in keep)
    monkeypatch.setattr(module, "_fonts", lambda: fonts)  # the fallback scan stays short
    # a character no font has is reported, not refused (issue 16: never fails a render)
    assert check_glyphs("hieroglyph \U00013000 arm\u200d") == frozenset({"\U00013000"})
    main = tmp_path / "main.typ"
    main.write_text("Arm \U00013000 done", encoding="utf-8")
    compile_pdf(main, tmp_path / "out.pdf", root=tmp_path)
    assert (tmp_path / "out.pdf").read_bytes().startswith(b"%PDF")
    assert module.PLACEHOLDER in main.read_text(encoding="utf-8")


def test_package_imports_are_refused_before_compiling(tmp_path):
    main = tmp_path / "main.typ"
    main.write_text('#import "@preview/cetz:0.3.0": *\nHello', encoding="utf-8")
    with pytest.raises(RenderError, match="compile offline"):
        compile_pdf(main, tmp_path / "out.pdf", root=tmp_path)
    assert not (tmp_path / "out.pdf").exists()


def test_files_outside_the_root_cannot_be_read(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("TOP-SECRET", encoding="utf-8")
    main = root / "main.typ"
    main.write_text('#read("../secret.txt")', encoding="utf-8")
    with pytest.raises(RenderError, match="typst could not compile"):
        compile_pdf(main, root / "out.pdf", root=root)


def test_unknown_font_warning_fails_and_leaves_no_pdf(tmp_path):
    main = tmp_path / "main.typ"
    main.write_text('#set text(font: "No Such Font")\nHello', encoding="utf-8")
    with pytest.raises(FontError, match="unknown font family: no such font.*fonts-noto-cjk"):
        compile_pdf(main, tmp_path / "out.pdf", root=tmp_path)
    assert not (tmp_path / "out.pdf").exists()


def test_typst_string_escapes():
    assert typst_string('a "b" \\ c\nd') == '"a \\"b\\" \\\\ c\\nd"'


def test_a_runaway_document_is_stopped_by_the_memory_limit(tmp_path, monkeypatch):
    import insights.report._typst as module

    monkeypatch.setattr(module, "MEMORY", 1024**3)  # 1 GiB: the doubling string passes it fast
    main = tmp_path / "main.typ"
    main.write_text('#let s = "x"\n#for i in range(40) { s = s + s }\n#s.len()', encoding="utf-8")
    with pytest.raises(RenderError, match="typst needed more than 1 GiB"):
        compile_pdf(main, tmp_path / "out.pdf", root=tmp_path)
    assert not (tmp_path / "out.pdf").exists()


def test_a_runaway_document_is_stopped_by_the_time_limit(tmp_path, monkeypatch):
    import insights.report._typst as module

    monkeypatch.setattr(module, "TIMEOUT", 3)
    main = tmp_path / "main.typ"
    main.write_text(
        "#let n = 0\n#for i in range(100000) { for j in range(100000) { n = n + j } }\n#n",
        encoding="utf-8",
    )
    with pytest.raises(RenderError, match="more than 3 s"):
        compile_pdf(main, tmp_path / "out.pdf", root=tmp_path)
