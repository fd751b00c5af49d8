"""Data is text: hostile names from data appear literally in the PDF and the HTML (issue 16).

A 4,000-user simulation gets payloads in every free-text place a report shows:
experiment and arm names, a users category label (let through with
``allow_unknown_labels``) and the value of a ``--by`` column. The strategy-effects
chapter (experiment headings, sentences, tables, a figure) is rendered to PDF and HTML
with the built-in backend, and the files are checked from outside: ``pdftotext`` for
the PDF, headless Chromium's DOM (``--dump-dom``) for the HTML.

What must hold: each name appears as typed (after the documented neutralisation:
line breaks become spaces, bidi controls are dropped, names are cut at 40 characters
with "…"); no ``<script>``, link or image comes from data; no local file is read or
embedded (the render folder's ``main.typ`` is absent from both files; an absolute
path such as ``/etc/hostname`` is refused by pandoc's sandbox and ``embed.lua``, see
``test_pandoc_reads_no_file_but_the_report_figures``; the privacy check refuses to
publish a report showing one); no typst code from data runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from insights.report import render
from insights.report._pandoc import CSP
from insights.tables._escape import LABEL_LIMIT, markdown_text, plain_text

#: A secret in a file beside the dataset: no payload may bring it into a report.
SECRET = "SECRET-7f3a9c-NEVER-IN-REPORT"
LONG = "L" + "o" * 290 + "ng-name"  # 300 characters
#: experiment -> (new name, {arm: new name}); "control" stays the reference arm
EXPERIMENTS = {
    "newcomer_7day_plan": (
        "<script>alert('xss')</script>",
        {"treatment": "x ![f](main.typ) ![g](/etc/hostname)"},
    ),
    "return_benefit_pack": (
        '`#read("main.typ")`{=typst}',
        {"treatment": "$x^2$ [link](http://example.com/)"},
    ),
    "private_domain_invite": (
        '```{=typst}\n#read("main.typ")\n```',
        {"treatment": "RTL \u202eevil\u202c arm \U0001f389"},
    ),
    "comment_vs_danmaku_lottery": (
        LONG,
        {
            "comment_lottery": "< > & * _ # $ \\ | { } [ ] !",
            "danmaku_lottery": "用户\ttab\nline 🎉",
        },
    ),
}
BY_VALUE = "<b>region</b> *one* $y$"


def _names() -> list[str]:
    return [n for name, arms in EXPERIMENTS.values() for n in (name, *arms.values())]


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulation with payloads for names; a secret file next to it."""
    from insights.simulator import simulate

    root = tmp_path_factory.mktemp("hostile")
    out = root / "data"
    simulate(out, users=4_000, seed=7)
    (root / "secret.txt").write_text(SECRET, encoding="utf-8")
    path = out / "experiments.parquet"
    frame = pl.read_parquet(path)
    arm = pl.col("arm")
    for old, (_, arms) in EXPERIMENTS.items():
        mine = pl.col("experiment") == old
        for old_arm, new_arm in arms.items():
            arm = pl.when(mine & (pl.col("arm") == old_arm)).then(pl.lit(new_arm)).otherwise(arm)
    experiment = pl.col("experiment").replace({k: v[0] for k, v in EXPERIMENTS.items()})
    frame.with_columns(arm.alias("arm"), experiment.alias("experiment")).write_parquet(path)
    users = pl.read_parquet(out / "users.parquet")
    users.with_columns(region=pl.lit(BY_VALUE)).write_parquet(out / "users.parquet")
    config = out / "dataset.yaml"
    config.write_text(
        config.read_text(encoding="utf-8") + "allow_unknown_labels: true\n", encoding="utf-8"
    )
    return out


def _shown(name: str) -> str:
    """What a name looks like in the report: one line, inert, cut at LABEL_LIMIT."""
    return plain_text(name, limit=LABEL_LIMIT)


_EMOJI = re.compile("[\U0001f000-\U0001faff]")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _browser() -> str | None:
    names = ("chromium", "chromium-headless-shell", "chromium-browser", "google-chrome")
    return next((path for name in names if (path := shutil.which(name))), None)


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


# -- fast checks of the boundary itself -------------------------------------------------


#: Other Markdown a name could hold (the boundary is the grammar, not this list).
MORE = [
    "<!-- c --> &amp; &#60; @fig-x [^1] ^[note] ~~s~~ H~2~O 2^10^",
    "::: {.callout-note}",
    "# heading",
    "1. item",
    "2) item",
    "> quote",
    "+ item",
    "- item",
    "* item",
    ": definition",
    "| a | b |",
    "<http://x.y>",
    "back\\slash\\",
    "---",
    "***",
    "[span]{.x} {#id}",
    "'single' \"double\" -- --- ...",
    "a  ",
    "<div>x</div>",
    "=====",
    "`code` ``x``",
    "\\(x\\) \\[y\\]",
    "%title",
    "(@) example",
    "[x]: http://y",
]


@pytest.mark.parametrize("name", _names() + [BY_VALUE, *MORE])
def test_markdown_text_reads_back_as_the_same_text(name: str) -> None:
    """pandoc reads the escaped name back as exactly the neutralised name (no markup)."""
    from insights.report._pandoc import _run

    full = _run(["--from=markdown", "--to=plain", "--wrap=none"], markdown_text(name), what="test")
    assert full.strip() == plain_text(name).strip()
    html = _run(["--from=markdown", "--to=html"], "- " + markdown_text(name), what="test")
    assert "<script" not in html and "<img" not in html and "<a " not in html and "<em>" not in html


def test_a_table_of_hostile_names_reads_back_cell_by_cell() -> None:
    """format_table's Markdown, read by pandoc, holds each name as its cell's text."""
    import insights as ins
    from insights.report._pandoc import _run

    names = [*_names(), BY_VALUE, *MORE]
    frame = pl.DataFrame({"segment": names, "n": [100] * len(names), names[0]: [1] * len(names)})
    page = _run(["--from=markdown", "--to=html"], str(ins.format_table(frame)), what="test")
    dom = _Dom()
    dom.feed(page)
    assert {t for t, _ in dom.tags} <= {
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "colgroup",
        "col",
    }
    cells = [" ".join(c.split()) for c in dom.text if c.strip()]  # pandoc wraps long cells
    for name in names:
        assert _shown(name) in cells, name
    assert cells[:3] == ["Segment", "n", _shown(names[0])]  # a column named from data: a header


def test_neutralisation_is_documented_behaviour() -> None:
    assert plain_text("a\nb\tc") == "a b c"
    assert "\u202e" not in plain_text("RTL \u202eevil\u202c")
    assert plain_text(LONG, limit=LABEL_LIMIT) == LONG[: LABEL_LIMIT - 1] + "…"
    assert plain_text("用户 🎉 \u200d") == "用户 🎉 \u200d".strip()


def test_figure_labels_are_never_mathematics() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import cbook

    from insights.viz._labels import value_label

    for name in _names():
        shown = value_label(name, "en")
        assert not cbook.is_math_text(shown), shown
        assert "\n" not in shown and len(shown) <= LABEL_LIMIT


def test_pandoc_reads_no_file_but_the_report_figures(tmp_path: Path) -> None:
    """Second line of defence: were image syntax to reach pandoc, it embeds nothing outside."""
    from insights.report._pandoc import PandocError, markdown_to_html

    templates = Path(__file__).resolve().parents[2] / "reports" / "templates"
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    for target in ("/etc/hostname", "../secret.txt", "http://example.com/x.png"):
        with pytest.raises(PandocError, match="image outside the report's figures"):
            markdown_to_html(
                f"# T\n\n![x]({target})\n", lang="en", templates=templates,
                resource_dir=tmp_path, output=tmp_path / "out.html", title="<script>t</script>",
            )  # fmt: skip
    markdown_to_html(
        "# T\n\nText.\n", lang="en", templates=templates, resource_dir=tmp_path,
        output=tmp_path / "out.html", title="<script>t</script>", subtitle="$x$ *y*",
    )  # fmt: skip
    page = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert "<script" not in page and "&lt;script&gt;t&lt;/script&gt;" in page
    assert f'content="{CSP}"' in page and "$x$ *y*" in page


# -- the rendered report ----------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(hostile_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("pdftotext") is None:
        pytest.skip("no pdftotext (Debian: apt-get install poppler-utils)")
    out = tmp_path_factory.mktemp("hostile-reports")
    files = render(
        hostile_dir, quarter="2024Q4", lang="en", formats="pdf,html", out=out,
        backend="builtin", chapters=["07"], by="region", progress=False, jobs=1,
    )  # fmt: skip
    return {f.suffix[1:]: f for f in files}


@pytest.mark.slow
def test_pdf_shows_every_name_literally(rendered: dict[str, Path]) -> None:
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(rendered["pdf"]), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    flat = _squash(text)
    for name in _names():  # colour emoji are drawn as images: pdftotext lists them elsewhere
        assert _squash(_EMOJI.sub("", _shown(name))) in flat, name
    assert "\U0001f389" in text  # drawn, not replaced by the placeholder
    assert _squash(BY_VALUE) in flat  # on the cover, as written
    assert SECRET not in text and "insights-report.with" not in text  # main.typ not read


@pytest.mark.slow
def test_html_shows_every_name_literally_and_runs_nothing(rendered: dict[str, Path]) -> None:
    page = rendered["html"].read_text(encoding="utf-8")
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}" />' in page
    assert "script-src 'none'" in CSP
    assert page.count("<script") == 0  # the report needs no script, and data adds none
    assert SECRET not in page and "insights-report.with" not in page  # main.typ not embedded
    host = Path("/etc/hostname")
    if host.is_file() and len(host.read_text().strip()) >= 8:  # a local file outside: not embedded
        assert host.read_text().strip() not in page
    images = re.findall(r'<img[^>]*src="([^"]*)"', page)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    assert len(images) == 1  # the chapter's one figure: the render folder's main.typ was not
    dom_html = page
    browser = _browser()
    if browser is not None:
        run = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             f"--user-data-dir={rendered['html'].parent / 'profile'}", "--dump-dom",
             rendered["html"].as_uri()],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
        dom_html = run.stdout
    dom = _Dom()
    dom.feed(dom_html)
    tags = [t for t, _ in dom.tags]
    assert "script" not in tags and "iframe" not in tags and "object" not in tags
    assert not any(t == "a" and (a.get("href") or "").startswith("http") for t, a in dom.tags)
    assert "b" not in tags and "i" not in tags
    text = _squash("".join(dom.text))
    for name in _names():
        assert _squash(_shown(name)) in text, name
    assert _squash(BY_VALUE) in text  # the --by value in the subtitle, as written
