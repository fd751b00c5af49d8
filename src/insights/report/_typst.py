"""Compile the report's Typst source to PDF with the ``typst`` package, fonts checked.

A missing report font is an error that says what to install. A character no
installed font can draw (an emoji in a name from data, with no emoji font) is printed
as :data:`PLACEHOLDER` and never fails the render.

The compiler runs in a child process, offline and bounded: files only from the
render folder (``root``), packages only from an empty folder in it (an ``@preview``
import is refused, nothing is downloaded), at most :data:`TIMEOUT` seconds and
:data:`MEMORY` bytes of address space.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

from insights.report._errors import RenderError

__all__ = [
    "BODY_FONT",
    "HEADING_FONT",
    "FontError",
    "check_fonts",
    "MEMORY",
    "PLACEHOLDER",
    "TIMEOUT",
    "check_glyphs",
    "compile_pdf",
    "missing_glyphs",
    "typst_string",
]

BODY_FONT = "Noto Serif CJK SC"
HEADING_FONT = "Noto Sans CJK SC"
_FONT_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype/noto")
_INSTALL = (
    "install the Noto CJK fonts (Debian/Ubuntu: apt-get install fonts-noto-cjk) or put "
    "their files in a directory named by INSIGHTS_FONT_PATH"
)


#: What the PDF shows for a character no installed font can draw (U+25A1 white square).
PLACEHOLDER = "\u25a1"
#: Longest typst compile (seconds) and most address space (bytes) it may take.
TIMEOUT = 300
MEMORY = 4 * 1024**3
_PACKAGE_IMPORT = re.compile(r'(?<!\\)#\s*(import|include)\s*"@')


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


def check_glyphs(text: str) -> frozenset[str]:
    """Fail unless the report fonts are installed; the characters of ``text`` no font can draw.

    Those characters do not fail the render: :func:`compile_pdf` prints them as
    :data:`PLACEHOLDER` (see :func:`missing_glyphs`).
    """
    check_fonts()
    return missing_glyphs(text)


def missing_glyphs(text: str) -> frozenset[str]:
    """The characters of ``text`` that no font available to typst can draw.

    The report fonts are asked first; typst falls back to any other font with the
    glyph, so the other families are asked only for what the report fonts lack.
    Joiners and variation selectors (parts of emoji sequences) are never missing.
    """
    missing = {ord(ch) for ch in text if ord(ch) > 0x7E and not _invisible(ord(ch))}
    others = {f for f, _, _ in _fonts() if not f.startswith("Last Resort")}  # boxes, not glyphs
    families = [BODY_FONT, HEADING_FONT, *sorted(others)]
    for family in dict.fromkeys(families):
        if not missing:
            return frozenset()
        missing -= _coverage(family)
    return frozenset(chr(c) for c in missing)


def _invisible(code: int) -> bool:
    """Zero-width joiners and variation selectors: drawn as part of their neighbours."""
    return (
        code in (0x200C, 0x200D, 0x20E3) or 0xFE00 <= code <= 0xFE0F or 0xE0020 <= code <= 0xE007F
    )


def typst_string(value: str) -> str:
    """A Python string as a Typst string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def compile_pdf(main: Path, output: Path, *, root: Path, timestamp: int | None = None) -> None:
    """Compile ``main`` (a .typ file under ``root``) to ``output``; warnings about fonts fail.

    Characters no font can draw are replaced by :data:`PLACEHOLDER` first. The compiler
    runs in a child process with no package downloads (``@preview`` imports are
    refused), at most :data:`TIMEOUT` seconds and :data:`MEMORY` bytes. ``timestamp``
    (UNIX seconds) is the PDF's creation date, which also seeds its document ids: the
    same source and timestamp give the same bytes.
    """
    source = main.read_text(encoding="utf-8")
    if _PACKAGE_IMPORT.search(source):
        raise RenderError("typst: the report imports a package; it must compile offline")
    missing = missing_glyphs(source)
    if missing:
        source = "".join(PLACEHOLDER if ch in missing else ch for ch in source)
        main.write_text(source, encoding="utf-8")
    packages = root / ".typst-packages"  # empty: nothing to import, nothing fetched
    packages.mkdir(exist_ok=True)
    job = {
        "input": str(main), "output": str(output), "root": str(root),
        "font_paths": _font_paths(), "package_path": str(packages), "timestamp": timestamp,
    }  # fmt: skip
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, json.dumps(job)],
            capture_output=True, text=True, encoding="utf-8", timeout=TIMEOUT,
            preexec_fn=_limit_memory, env=env, cwd=root,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        output.unlink(missing_ok=True)
        raise RenderError(f"typst took more than {TIMEOUT} s to compile the report") from None
    if proc.returncode != 0:
        output.unlink(missing_ok=True)
        lines = proc.stderr.strip().splitlines() or ["(no message)"]
        tail = next((x for x in lines if "memory allocation" in x or "Error" in x), lines[-1])
        if (
            "MemoryError" in proc.stderr
            or "memory allocation" in proc.stderr
            or proc.returncode < 0
        ):
            raise RenderError(
                f"typst needed more than {MEMORY / 1024**3:g} GiB (or was killed) compiling the "
                f"report: {tail}"
            )
        raise RenderError(f"typst could not compile the report: {tail}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["error"]:
        output.unlink(missing_ok=True)
        raise RenderError(f"typst could not compile the report: {result['error']}")
    font_warnings = [w for w in result["warnings"] if "font" in w or "glyph" in w]
    if font_warnings:
        output.unlink(missing_ok=True)
        raise FontError("; ".join(font_warnings) + f": {_INSTALL}")


def _limit_memory() -> None:  # pragma: no cover - runs in the child before exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


# The child: compile with the typst package, print {"error": ..., "warnings": [...]} as JSON.
_CHILD = """
import json, sys
import typst
job = json.loads(sys.argv[1])
try:
    _, warnings = typst.compile_with_warnings(
        job["input"], output=job["output"], root=job["root"], font_paths=job["font_paths"],
        package_path=job["package_path"], package_cache_path=job["package_path"],
        timestamp=job.get("timestamp"),
    )
    out = {"error": None, "warnings": [w.message for w in warnings]}
except typst.TypstError as exc:
    detail = [exc.message, *getattr(exc, "hints", []), *getattr(exc, "trace", [])]
    out = {"error": "\\n".join(str(d) for d in detail), "warnings": []}
print(json.dumps(out))
"""
