"""Document vs data lines: the right document rows, converted units, suppression."""

from __future__ import annotations

import filecmp
from pathlib import Path

import polars as pl
import pytest

import insights as ins
from insights.narrative import document_figures, document_vs_data, seed_figures
from insights.narrative.documents import DOC_MAP, seed_figures_path
from insights.narrative.numbers import MINUS

SHARED = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "seed_figures.csv"


@pytest.mark.skipif(
    not SHARED.exists(), reason="../shared is not checked out next to the repository"
)
def test_packaged_seed_figures_equal_the_shared_file() -> None:
    assert filecmp.cmp(seed_figures_path(), SHARED, shallow=False)


def test_every_document_reference_exists_in_seed_figures() -> None:
    seeds = seed_figures()
    assert seeds.height == 1180
    for metric, segments in DOC_MAP.items():
        for refs in segments.values():
            for ref in refs:
                rows = seeds.filter(
                    (pl.col("metric") == ref.metric) & (pl.col("segment") == ref.segment)
                )
                assert rows.height, (metric, ref)


def test_document_figures_prefer_the_data_year_and_convert_units() -> None:
    d30 = document_figures("retention_d30", period="2021")
    assert d30.select("seed", "section", "kind", "value").rows() == [
        ("000_4a2f2b99f1c1976d.txt", "2.2", "observed", 0.48),
        ("000_4a2f2b99f1c1976d.txt", "1.3", "target", 0.6),
    ]
    d7 = document_figures("retention_d7", period="2024Q4")
    assert d7.filter(pl.col("kind") == "observed")["value"].to_list() == [
        pytest.approx(0.55)
    ]  # 100 - 45% week-1 churn
    cac = document_figures("cac", period="2024")
    assert cac["value"].to_list() == [142.0]
    assert document_figures("retention_d30", segment="no_such_segment").is_empty()


def test_document_vs_data_sentence_numbers() -> None:
    lines = document_vs_data("retention_d30", 0.352, lang="en", period="2024Q4", ci=(0.348, 0.356))
    assert lines == [
        "The Growth & Retention Strategy Report (§2.2) reports 35.0% (2024); this data: 35.2% (95% CI 34.8–35.6%), "
        "+0.2 points from the document.",
        "The Growth & Retention Strategy Report (§1.3) sets a target of 60.0%; this data: 35.2% (95% CI 34.8–35.6%), "
        f"{MINUS}24.8 points from the target.",
    ]
    zh = document_vs_data("cac", 138.5, lang="zh", period="2024Q4")
    assert zh == [
        f"《用户增长与留存策略报告》（§2.1）给出142.0元（2024）；本数据：138.5元，与文档相差{MINUS}3.5元。"
    ]


def test_a_quoted_range_counts_the_gap_to_its_nearest_end() -> None:
    inside = document_vs_data(
        "public_to_private_conversion_30d", 0.15, lang="en", statements=("observed",)
    )
    assert inside == [
        "The Live × Private-Domain Linkage (§1.KP6.3) reports 12.0%–18.0% (undated); this data: 15.0%, "
        "+0.0 points from the document."
    ]
    below = document_vs_data(
        "public_to_private_conversion_30d", 0.067, lang="en", statements=("observed",)
    )
    assert below[0].endswith(f"{MINUS}5.3 points from the document.")


def test_small_cells_and_unknown_metrics_give_no_line() -> None:
    assert document_vs_data("retention_d30", 0.35, lang="en", n=9) == []
    assert document_vs_data("retention_d30", 0.35, lang="en", n=9, min_cell=5) != []
    assert document_vs_data("retention_d30", None, lang="en") == []
    assert document_vs_data("active_users", 5000.0, lang="en") == []


def test_describe_documents_for_a_frame() -> None:
    frame = pl.DataFrame(
        {
            "metric": ["retention_d30", "retention_d30", "bounce_rate"],
            "segment": ["gen_z", "beauty", "all"],
            "period": ["2024", "2024", "2024"],
            "value": [0.42, 0.45, 0.62],
            "ci_low": [0.4, 0.43, 0.61],
            "ci_high": [0.44, 0.47, 0.63],
            "n": [2617, 5, 155_877],
        }
    )
    lines = ins.describe_documents(frame, lang="en")
    assert len(lines) == 2  # beauty has n = 5: never shown
    assert "reports 42.0% (2024); this data: 42.0%" in lines[0]
    assert "reports 62.0% (2024)" in lines[1]


@pytest.mark.skipif(
    not SHARED.exists(), reason="../shared is not checked out next to the repository"
)
def test_packaged_document_titles_equal_the_shared_file() -> None:
    packaged = Path(seed_figures_path()).with_name("documents.csv")
    assert filecmp.cmp(packaged, SHARED.with_name("documents.csv"), shallow=False)


def test_readers_see_document_titles_never_file_names() -> None:
    """Every sentence that cites a document names it by its short title (documents.csv)."""
    import re

    from insights.narrative.documents import document_title

    titles = pl.read_csv(Path(seed_figures_path()).with_name("documents.csv"))
    for row in titles.iter_rows(named=True):
        assert document_title(row["seed"], lang="en") == row["short_en"]
        assert document_title(row["seed"][:3], lang="zh") == row["short_zh"]
    rows = pl.DataFrame({"metric": ["retention_d30", "aov", "interaction_rate"], "segment": ["all"] * 3,
                         "period": ["2024Q4"] * 3, "value": [0.352, 142.0, 0.5], "ci_low": [None] * 3,
                         "ci_high": [None] * 3, "n": [5000] * 3})  # fmt: skip
    file_name = re.compile(r"\d{3}_[0-9a-f]{16}\.txt")
    for lang in ("zh", "en"):
        lines = ins.describe_documents(rows, lang=lang)
        assert lines and not [x for x in lines if file_name.search(x)], lines
        shorts = titles["short_zh" if lang == "zh" else "short_en"].to_list()
        assert all(any(t in x for t in shorts) for x in lines), lines
