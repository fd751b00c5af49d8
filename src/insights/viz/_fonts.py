"""Finding a font that has Chinese glyphs, and applying it to a figure.

Matplotlib draws a blank box and warns "Glyph ... missing from font(s)" when the
font lacks a character. For ``lang="zh"`` we therefore look up a CJK font through
matplotlib's ``font_manager`` (refreshing it from the system font files when the
cache predates the font install) and fail with a clear message naming the package
to install when there is none. Families are given as a fallback list (CJK first,
then DejaVu Sans), which matplotlib >= 3.6 resolves glyph by glyph. A symbol font
(:data:`SYMBOL_FAMILIES`, Debian ``fonts-symbola``) ends the list when installed, so
emoji in names from data are drawn; without it they are blank boxes, never an error.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.ft2font import FT2Font

__all__ = [
    "CJK_FAMILIES",
    "SYMBOL_FAMILIES",
    "MissingFontError",
    "apply_fonts",
    "cjk_font",
    "font_context",
    "font_families",
]

#: Families tried in order (Simplified Chinese first).
CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "Heiti SC",
    "Arial Unicode MS",
)


#: Outline fonts with emoji and symbols, the last fallback of every figure (first found).
SYMBOL_FAMILIES: tuple[str, ...] = ("Symbola",)


class _NoBoldSymbols(logging.Filter):
    """Drop matplotlib's notice that a symbol font has no bold weight (it falls back to
    the regular one, which is what a bold title with an emoji should get); left in, the
    notice reaches a chapter's stderr, which the renderer treats as a failure."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            message.startswith("findfont: Failed to find font weight")
            and any(f"for {family}," in message for family in SYMBOL_FAMILIES)
        )


logging.getLogger(font_manager.__name__).addFilter(_NoBoldSymbols())


_INSTALL_HINT = (
    "no CJK font found for lang='zh' (needed to draw Chinese labels). Install Noto Sans "
    "CJK: `apt-get install fonts-noto-cjk` on Debian/Ubuntu, `dnf install "
    "google-noto-sans-cjk-fonts` on Fedora, `brew install --cask font-noto-sans-cjk` on "
    "macOS; then restart Python (matplotlib reads its font list once). Or use lang='en'."
)


class MissingFontError(RuntimeError):
    """No installed font can draw Chinese text."""


def _probe() -> str:
    """Characters every Chinese figure needs: the ``figure.*`` labels of the zh catalog."""
    from insights.viz._labels import label

    return "".join(label(key, "zh") for key in ("retained", "days", "at_risk", "cohort", "median"))


def _covers(path: str, text: str) -> bool:
    """Whether the font file at ``path`` has a glyph for every character of ``text``."""
    try:
        font = FT2Font(path)
    except (OSError, RuntimeError):
        return False
    return all(font.get_char_index(ord(ch)) != 0 for ch in text)


def _find_registered() -> str | None:
    by_name: dict[str, str] = {}
    for entry in font_manager.fontManager.ttflist:
        by_name.setdefault(entry.name, entry.fname)
    for family in CJK_FAMILIES:
        path = by_name.get(family)
        if path is not None and Path(path).exists() and _covers(path, _probe()):
            return family
    return None


def _register_system_cjk_files() -> None:
    """Add system font files that look like CJK fonts (cache older than the install)."""
    for path in font_manager.findSystemFonts():
        name = Path(path).name.lower()
        if any(key in name for key in ("cjk", "sourcehan", "wqy", "notosanssc", "simhei")):
            with contextlib.suppress(Exception):
                font_manager.fontManager.addfont(path)


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """Family name of an installed font with Chinese glyphs.

    Returns
    -------
    str
        The first available of :data:`CJK_FAMILIES` (e.g. ``"Noto Sans CJK SC"``)
        whose file covers the characters of the label catalog.

    Raises
    ------
    MissingFontError
        When no such font is installed; the message names the package to install.

    Examples
    --------
    >>> cjk_font()  # doctest: +SKIP
    'Noto Sans CJK SC'
    """
    family = _find_registered()
    if family is None:
        _register_system_cjk_files()
        family = _find_registered()
    if family is None:
        raise MissingFontError(_INSTALL_HINT)
    return family


def font_families(lang: str) -> list[str] | None:
    """Font fallback list for ``lang``: ``None`` keeps matplotlib's defaults.

    ``"zh"`` requires a CJK font (:class:`MissingFontError` otherwise); ``"en"``
    adds one as a fallback when installed, so Chinese group names still render.
    """
    symbols = _symbol_font()
    last = [symbols] if symbols else []
    if lang == "zh":
        return [cjk_font(), "DejaVu Sans", *last]
    try:
        return ["DejaVu Sans", cjk_font(), *last]
    except MissingFontError:
        return ["DejaVu Sans", *last] if last else None


@lru_cache(maxsize=1)
def _symbol_font() -> str | None:
    """The first installed :data:`SYMBOL_FAMILIES` font (registered with matplotlib if need be)."""
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    if not any(f in names for f in SYMBOL_FAMILIES):
        for path in font_manager.findSystemFonts():
            if any(f.lower() in Path(path).name.lower() for f in SYMBOL_FAMILIES):
                with contextlib.suppress(Exception):
                    font_manager.fontManager.addfont(path)
        names = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((f for f in SYMBOL_FAMILIES if f in names), None)


@contextlib.contextmanager
def font_context(lang: str) -> Iterator[list[str] | None]:
    """Set the font family for text created inside the block; yields the list used."""
    families = font_families(lang)
    if families is None:
        yield None
        return
    # Save and restore only font.family: matplotlib's rc_context restores *every*
    # rcParam on exit, including ``interactive``, which silently stops later figures
    # from showing in Jupyter/papermill.
    saved = mpl.rcParams["font.family"]
    mpl.rcParams["font.family"] = families
    try:
        yield families
    finally:
        mpl.rcParams["font.family"] = saved


def apply_fonts(ax: Axes, families: list[str] | None) -> None:
    """Make tick labels created later (at draw time) use ``families`` too, and the axis
    labels and titles (made with the axes, maybe outside the font context: an ``ax=``)."""
    if families is None:
        return
    titles = [getattr(ax, name, None) for name in ("title", "_left_title", "_right_title")]
    for text in (ax.xaxis.label, ax.yaxis.label, *titles):
        if text is not None:
            text.set_fontfamily(families)
    for axis in (ax.xaxis, ax.yaxis):
        for tick in axis.get_major_ticks() + axis.get_minor_ticks():
            for text in (tick.label1, tick.label2):
                text.set_fontfamily(families)
    ax.tick_params(axis="both", which="both", labelfontfamily=families)  # type: ignore[arg-type]
