"""The Quarto subset: front matter and ``#|`` cell options, parsed and refused."""

from __future__ import annotations

import pytest

from insights.report._syntax import (
    QuartoSyntaxError,
    cell_options,
    check_markdown,
    front_matter,
)


def test_front_matter_reads_known_keys():
    meta = front_matter(
        '---\ntitle: "Retention"\ntitle-zh: 用户留存\njupyter: python3\nexecute:\n  echo: false\n---',
        where="ch",
    )
    assert meta == {
        "title": "Retention",
        "title-zh": "用户留存",
        "jupyter": "python3",
        "execute": {"echo": False},
    }


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("title: x", "between '---'"),
        ("---\nformat: pdf\n---", "'format'"),
        ("---\nexecute:\n  freeze: true\n---", "execute"),
        ("---\n[a, b]\n---", "mapping"),
    ],
)
def test_front_matter_refuses_what_it_does_not_support(source, message):
    with pytest.raises(QuartoSyntaxError, match=message):
        front_matter(source, where="chapter x")


def test_cell_options_figure_and_code():
    opts, code = cell_options(
        '#| label: fig-km\n#| fig-cap: "KM curve"\n#| echo: true\nax = plot()\n#| not an option',
        where="c",
    )
    assert (opts.label, opts.fig_cap, opts.echo, opts.output, opts.include) == (
        "fig-km",
        "KM curve",
        True,
        True,
        True,
    )
    assert code == "ax = plot()\n#| not an option"


def test_cell_options_caption_in_the_report_language():
    source = "#| label: tbl-a\n#| tbl-cap: Table\n#| tbl-cap-zh: 表格\nprint(t)"
    assert cell_options(source, where="c", lang="zh")[0].tbl_cap == "表格"
    assert cell_options(source, where="c", lang="en")[0].tbl_cap == "Table"
    only_zh = cell_options("#| fig-cap-zh: 图\nplot()", where="c", lang="en")[0]
    assert only_zh.fig_cap == "图"


def test_cell_options_defaults_from_front_matter_and_asis():
    opts, _ = cell_options("#| output: asis\nprint('x')", where="c", defaults={"echo": True})
    assert opts.echo is True and opts.output == "asis"
    assert cell_options("x = 1", where="c")[0].echo is False


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("#| fig-width: 6\nplot()", r"cell option\(s\) \['fig-width'\]"),
        ("#| output: maybe\nx", "output"),
        ("#| echo: 1\nx", "echo"),
        ("#| label: figure one\nx", "label"),
        ("#| label: fig-a\n#| tbl-cap: T\nx", "tbl- label"),
        ("#| fig-cap: [a, b]\nx", "sub-figures"),
        ("#| label: [fig-a\nx", "valid YAML"),
    ],
)
def test_cell_options_fail_loudly(source, message):
    with pytest.raises(QuartoSyntaxError, match=message) as info:
        cell_options(source, where="chapter 02-x, cell 3")
    assert "chapter 02-x, cell 3" in str(info.value)


def test_markdown_shortcodes_and_inline_code_are_refused():
    check_markdown("See @fig-a and ::: {.callout-note}", where="c")
    with pytest.raises(QuartoSyntaxError, match="shortcode"):
        check_markdown("{{< pagebreak >}}", where="c")
    with pytest.raises(QuartoSyntaxError, match="inline code"):
        check_markdown("Users: `{python} n`", where="c")
