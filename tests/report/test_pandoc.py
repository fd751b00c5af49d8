"""pandoc with crossref.lua: labels, numbers, references and callouts in Typst and HTML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from insights.report._pandoc import PandocError, markdown_to_html, markdown_to_typst, pandoc_version

TEMPLATES = Path(__file__).resolve().parents[2] / "reports" / "templates"

DOC = """\
# Growth {#sec-growth}

See @fig-a, @tbl-b and @sec-growth.

![Users by platform](a.png){#fig-a width=88%}

::: {#tbl-b tbl-cap="Orders by *category*"}
| a | b |
|--|--|
| 1 | 2 |
:::

::: {.callout-warning}
## Watch out
Body text.
:::

# Second

![Second figure](a.png){#fig-c}

::: {.insights-appendix}
:::

# Notes

Back to @fig-c. Costs $5 and $6.
"""


def test_pandoc_is_version_3():
    assert int(pandoc_version().split(".")[0]) >= 3


def test_typst_gets_labels_and_references():
    typ = markdown_to_typst(DOC, lang="en", templates=TEMPLATES)
    assert re.search(r"caption: \[\s*Users by platform\s*\]\s*\)\s*<fig-a>", typ)
    assert re.search(r"kind: table\s*\)\s*<tbl-b>", typ)
    assert "@fig-a, @tbl-b and @sec-growth" in typ
    assert '#insights-callout(kind: "warning", title: [Watch out])[' in typ
    assert "#show: insights-appendix" in typ
    assert "$5" in typ.replace("\\$", "$")  # money, not math


def test_html_numbers_match_the_pdf_scheme(tmp_path):
    (tmp_path / "a.png").write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
            "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
        )
    )
    out = tmp_path / "r.html"
    markdown_to_html(
        DOC, lang="zh", templates=TEMPLATES, resource_dir=tmp_path, output=out, title="报告"
    )
    html = out.read_text(encoding="utf-8")
    refs = re.findall(r'class="xref">([^<]*)</a>', html)
    assert refs == [
        "图\u00a01.1",
        "表\u00a01.1",
        "第\u00a01\u00a0节",
        "图\u00a02.1",
    ]  # appendix -> chapter 2
    assert '<span class="header-section-number">A</span>' in html
    assert 'class="callout callout-warning"' in html
    assert re.findall(r'<img [^>]*src="([^"]{0,22})', html) == ["data:image/png;base64,"] * 2


def test_unknown_reference_and_citation_fail():
    with pytest.raises(PandocError, match="unknown cross reference @fig-nope"):
        markdown_to_typst("See @fig-nope.", lang="en", templates=TEMPLATES)
    with pytest.raises(PandocError, match="unsupported citation @smith2020"):
        markdown_to_typst("As @smith2020 says.", lang="en", templates=TEMPLATES)


def test_missing_image_fails_the_html(tmp_path):
    with pytest.raises(PandocError, match="gone.png"):
        markdown_to_html(
            "![Gone](gone.png)", lang="en", templates=TEMPLATES, resource_dir=tmp_path,
            output=tmp_path / "x.html", title="x",
        )  # fmt: skip
