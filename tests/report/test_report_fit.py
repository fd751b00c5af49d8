"""The report fits the data it describes: its title, its currency, its document comparisons.

A small simulated dataset is told it is in US dollars and given a title in
``dataset.yaml``; every text of the report (tables, sentences, figure labels, the
cover) must then speak of dollars and carry that title, and with
``compare_documents: false`` no document is cited.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from pypdf import PdfReader  # noqa: E402

import insights as ins  # noqa: E402
from insights.narrative.documents import comparable, document_source  # noqa: E402
from insights.report import render  # noqa: E402
from insights.report._chapters import default_notebooks  # noqa: E402
from insights.report._settings import report_settings  # noqa: E402

NOTEBOOKS = Path(__file__).parent / "notebooks"
TITLE = "Acme Outdoor: Customer Review"
SUBTITLE = "All stores, online and retail"
#: what must never appear when the currency is USD (元 as a currency: not in 单元, 美元)
FORBIDDEN = re.compile(r"¥|￥|(?<![单美])元|yuan|CNY|RMB|人民币", re.IGNORECASE)


def _documents() -> list[str]:
    titles = pl.read_csv(Path(ins.__file__).parent / "narrative" / "documents.csv")
    return [t for c in ("short_en", "short_zh") for t in titles[c].to_list()]


@pytest.fixture(scope="module")
def usd_dir(small_sim_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("usd") / "shop"
    shutil.copytree(small_sim_dir, out)
    path = out / "dataset.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    config["currency"] = "USD"
    config["report"] = {"title": TITLE, "subtitle": SUBTITLE}
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def usd(usd_dir):
    ds = ins.load_dataset(usd_dir)
    assert ds.currency == "USD"
    scorecard, _ = ins.kpi_scorecard(ds, quarter="2024Q4", progress=False)
    return ds, scorecard


def _texts(ds, scorecard, lang: str) -> list[str]:
    """Every kind of text a chapter writes about amounts: tables, sentences, figure labels."""
    now = scorecard.filter(pl.col("quarter") == "2024Q4")
    summary = ins.kpi_summary(scorecard, quarter="2024Q4")
    texts = [
        ins.format_table(ins.table_scorecard(summary)),
        ins.format_table(now),
        ins.format_table(ins.table_playbook(summary, period="2024Q4")),
        ins.format_table(ins.table_definitions()),
        *ins.describe_findings(scorecard, quarter="2024Q4", min_findings=20, max_findings=20),
        *ins.describe_alerts(scorecard, quarter="2024Q4"),
        *ins.describe_playbook(summary, period="2024Q4", only_open=False),
        *ins.describe_documents(now),
        *(ins.describe_value(r) for r in now.iter_rows(named=True)),
        ins.text_unit("money"),
    ]
    aov = ins.aov(ds, period="2024Q4", by="platform")
    texts.append(ins.format_table(aov))
    fig, (a, b) = plt.subplots(1, 2)
    ins.plot_ltv(ins.cohort_ltv(ds, cohort_unit="quarter", horizon=90, bootstrap=20), ax=a)
    ins.plot_segment_rates(aov, ax=b)
    texts += [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    plt.close(fig)
    return texts


@pytest.mark.parametrize(("lang", "money"), [("en", r"\$\d"), ("zh", r"\d美元")])
def test_usd_amounts_never_show_yuan(usd, lang, money) -> None:
    ds, scorecard = usd
    assert {"aov", "cac"} & set(scorecard["metric"]) and "aov_yuan" not in set(scorecard["metric"])
    with ins.options(lang=lang, currency=ds.currency):
        texts = _texts(ds, scorecard, lang)
    joined = "\n".join(texts)
    assert not FORBIDDEN.findall(joined), sorted(set(FORBIDDEN.findall(joined)))
    assert re.search(money, joined)  # amounts in dollars
    assert ("USD" if lang == "en" else "美元") in joined  # figure axes name the currency


def test_cny_is_still_the_default(usd) -> None:
    ds, _ = usd
    assert ins.format_table(ins.aov(ds, period="2024Q4"), lang="en").count("¥") >= 1


def test_documents_compare_like_with_like() -> None:
    assert comparable("retention_d30", "retention_30d", "pct")
    assert not comparable("retention_d30", "retention_rate_uplift", "pct")  # level vs uplift
    assert comparable("aov_uplift", "aov_premium_vs_public", "pct")
    assert not comparable("aov", "aov_yuan", "yuan", currency="USD")
    rows = pl.DataFrame(
        {"metric": ["retention_d30"], "segment": ["all"], "value": [0.386], "n": [5000]}
    )
    table = ins.table_playbook(rows, lang="en")
    lottery = table.filter(pl.col("Strategy").str.contains("(?i)lottery"))
    assert lottery.height == 1 and lottery["Difference"][0] == "–"  # an uplift is no level
    assert document_source("000 §2.2 (week-1 churn 45%)", lang="en").startswith(
        "Growth & Retention Strategy Report §2.2"
    )


def test_compare_documents_false_cites_no_document(usd) -> None:
    ds, scorecard = usd
    for lang in ("en", "zh"):
        with ins.options(lang=lang, currency="USD", compare_documents=False):
            texts = "\n".join(_texts(ds, scorecard, lang))
            summary = ins.kpi_summary(scorecard, quarter="2024Q4")
            bench = ins.format_benchmarks(ds)
        assert summary["target"].is_null().all()
        assert isinstance(bench, ins._display.NotAvailable)
        cited = [t for t in _documents() if t in texts]
        assert not cited, cited


def test_benchmarks_are_for_simulated_data_only(usd_dir, tmp_path) -> None:
    real = tmp_path / "real"
    shutil.copytree(usd_dir, real, ignore=shutil.ignore_patterns("manifest.json"))
    ds = ins.load_dataset(real)
    assert not ins.is_simulated(ds) and ins.is_simulated(ins.load_dataset(usd_dir))
    note = ins.format_benchmarks(ds, lang="en")
    assert isinstance(note, ins._display.NotAvailable) and "simulated" in note


def test_report_settings_from_yaml_and_options() -> None:
    config = {"report": {"title": "A", "subtitle": "B", "compare_documents": False}}
    assert report_settings(config) == report_settings(config, title=None)
    assert report_settings(config, title="C", compare_documents=True).title == "C"
    assert report_settings({}).compare_documents is True
    with pytest.raises(ValueError, match="unknown key"):
        report_settings({"report": {"titel": "A"}})


def test_default_notebooks_are_the_chapters() -> None:
    assert (default_notebooks() / "00-summary.ipynb").is_file()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_title_from_dataset_yaml_on_the_cover(usd_dir, tmp_path, lang) -> None:
    files = render(
        usd_dir, quarter="2024Q4", lang=lang, out=tmp_path, notebooks=NOTEBOOKS,
        chapters=["01"], progress=False, churn_gap=45,
    )  # fmt: skip
    pdf = next(f for f in files if f.suffix == ".pdf")
    cover = PdfReader(pdf).pages[0].extract_text() or ""
    assert TITLE in cover and SUBTITLE in cover
    html = next(f for f in files if f.suffix == ".html").read_text(encoding="utf-8")
    assert TITLE in html and SUBTITLE in html


def test_title_option_wins_over_the_file(usd_dir, tmp_path) -> None:
    files = render(
        usd_dir, quarter="2024Q4", lang="en", formats="html", out=tmp_path, notebooks=NOTEBOOKS,
        chapters=["01"], progress=False, title="Board pack", compare_documents=False,
    )  # fmt: skip
    html = files[0].read_text(encoding="utf-8")
    assert "Board pack" in html and TITLE not in html
