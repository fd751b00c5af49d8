"""Compile the report's Typst source to PDF with the ``typst`` package, fonts checked.

A missing font or a character no report font can draw is an error (never a silent
blank box): the message says what to install.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from insights.report._errors import RenderError

__all__ = [
    "BODY_FONT",
    "HEADING_FONT",
    "FontError",
    "check_fonts",
    "check_glyphs",
    "compile_pdf",
    "typst_string",
]

BODY_FONT = "Noto Serif CJK SC"
HEADING_FONT = "Noto Sans CJK SC"
_FONT_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype/noto")
_INSTALL = (
    "install the Noto CJK fonts (Debian/Ubuntu: apt-get install fonts-noto-cjk) or put "
    "their files in a directory named by INSIGHTS_FONT_PATH"
)


class FontError(RenderError):
    """A font the report needs is missing, or text has characters no report font has."""


def _font_paths() -> list[str]:
    """INSIGHTS_FONT_PATH, the Debian Noto folders, and matplotlib's DejaVu fonts."""
    import matplotlib

    extra = [p for p in os.environ.get("INSIGHTS_FONT_PATH", "").split(os.pathsep) if p]
    bundled = str(Path(matplotlib.get_data_path()) / "fonts" / "ttf")
    return [p for p in (*extra, *_FONT_DIRS, bundled) if Path(p).is_dir()]


@cache
def _fonts() -> tuple[tuple[str, str | None, int], ...]:
    import typst

    fonts = typst.Fonts(include_system_fonts=True, font_paths=_font_paths())
    return tuple((f.family, f.path, f.index) for f in fonts.fonts())


def check_fonts() -> None:
    """Fail unless the report fonts are available to typst."""
    families = {family for family, _, _ in _fonts()}
    missing = [f for f in (BODY_FONT, HEADING_FONT) if f not in families]
    if missing:
        raise FontError(f"font(s) {missing} not found: {_INSTALL}")


@cache
def _coverage(family: str) -> frozenset[int]:
    """Code points of one font family (its first face that has a file)."""
    from fontTools.ttLib import TTFont

    for name, path, index in _fonts():
        if name == family and path:
            with TTFont(path, fontNumber=index, lazy=True) as font:
                return frozenset(font.getBestCmap())
    return frozenset()


def check_glyphs(text: str) -> None:
    """Fail when ``text`` has characters that no font available to typst can draw.

    The report fonts are asked first; typst falls back to any other font with the
    glyph, so the other families are asked only for what the report fonts lack.
    """
    check_fonts()
    missing = {ord(ch) for ch in text if ord(ch) > 0x7E}
    others = {f for f, _, _ in _fonts() if not f.startswith("Last Resort")}  # boxes, not glyphs
    families = [BODY_FONT, HEADING_FONT, *sorted(others)]
    for family in dict.fromkeys(families):
        if not missing:
            return
        missing -= _coverage(family)
    if missing:
        shown = ", ".join(f"U+{c:04X} {chr(c)!r}" for c in sorted(missing)[:10])
        raise FontError(
            f"the report text has {len(missing)} character(s) no installed font can draw "
            f"({shown}); remove them or {_INSTALL}"
        )


def typst_string(value: str) -> str:
    """A Python string as a Typst string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def compile_pdf(main: Path, output: Path, *, root: Path) -> None:
    """Compile ``main`` (a .typ file under ``root``) to ``output``; warnings about fonts fail."""
    import typst

    try:
        _, warnings = typst.compile_with_warnings(
            str(main), output=str(output), root=str(root), font_paths=_font_paths()
        )
    except typst.TypstError as exc:
        detail = "\n".join([exc.message, *getattr(exc, "hints", []), *getattr(exc, "trace", [])])
        raise RenderError(f"typst could not compile the report: {detail}") from None
    font_warnings = [w.message for w in warnings if "font" in w.message or "glyph" in w.message]
    if font_warnings:
        output.unlink(missing_ok=True)
        raise FontError("; ".join(font_warnings) + f": {_INSTALL}")
